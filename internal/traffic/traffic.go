// Package traffic records what crosses the zone — app calls, events, SDK
// invokes — for the inspector (GET /admin/v1/traffic). Recording is off the
// hot path: Record queues, a background writer batches into the store.
// Payloads are masked before they are queued, so no secret reaches the
// store, the logs or the inspector.
package traffic

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/fold"
	"github.com/openzone/openzone/internal/store"
)

// Linger is how long the writer waits after a record for more to join its
// transaction. The inspector's reads Flush first, so they never wait it out.
const Linger = 20 * time.Millisecond

// Recorder batches traffic records into the store.
type Recorder struct {
	st      store.Store
	log     *slog.Logger
	ch      chan *openzone.TrafficRecord
	flush   chan chan struct{}
	done    chan struct{}
	once    sync.Once
	dropped atomic.Int64
	obs     Observer
}

// Observer sees every record as it is made, before it is queued (the
// zone's metrics).
type Observer interface {
	Observe(rec *openzone.TrafficRecord)
}

// Observe makes every record from now on seen by o as well; call it
// before the zone serves.
func (r *Recorder) Observe(o Observer) { r.obs = o }

// Queued is the number of records waiting to be written.
func (r *Recorder) Queued() int { return len(r.ch) }

// New returns a started Recorder; Close stops it after writing what is queued.
func New(st store.Store, log *slog.Logger) *Recorder {
	r := &Recorder{
		st:    st,
		log:   log,
		ch:    make(chan *openzone.TrafficRecord, 4096),
		flush: make(chan chan struct{}),
		done:  make(chan struct{}),
	}
	go r.loop()
	return r
}

// Record queues rec. When the queue is full the record is dropped and
// counted, never blocking the call it describes.
func (r *Recorder) Record(rec *openzone.TrafficRecord) {
	if r.obs != nil {
		r.obs.Observe(rec)
	}
	select {
	case r.ch <- rec:
	default:
		r.dropped.Add(1)
	}
}

// Dropped returns how many records were dropped because the queue was full.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Flush waits until everything queued before the call is written.
func (r *Recorder) Flush(ctx context.Context) {
	c := make(chan struct{})
	select {
	case r.flush <- c:
	case <-r.done:
		return
	case <-ctx.Done():
		return
	}
	select {
	case <-c:
	case <-ctx.Done():
	}
}

// Close writes what is queued and stops the writer. Safe to call twice.
func (r *Recorder) Close() {
	r.once.Do(func() { close(r.ch) })
	<-r.done
}

func (r *Recorder) loop() {
	defer close(r.done)
	batch := make([]*openzone.TrafficRecord, 0, 256)
	write := func() {
		if len(batch) == 0 {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := r.st.InTx(ctx, func(tx store.Executor) error {
			for _, rec := range batch {
				if err := tx.TrafficInsert(ctx, rec); err != nil {
					return err
				}
			}
			return nil
		})
		cancel()
		if err != nil {
			r.log.Error("traffic: write batch", "records", len(batch), "err", err)
		}
		batch = batch[:0]
	}
	// flushTo writes everything queued, then tells c.
	flushTo := func(c chan struct{}) (closed bool) {
		defer close(c)
		for {
			select {
			case rec, ok := <-r.ch:
				if !ok {
					write()
					return true
				}
				batch = append(batch, rec)
				continue
			default:
			}
			write()
			return false
		}
	}
	for {
		select {
		case rec, ok := <-r.ch:
			if !ok {
				write()
				return
			}
			batch = append(batch, rec)
			// Gather what arrives within Linger into the same transaction:
			// one commit per batch, not per call.
			timer := time.NewTimer(Linger)
		gather:
			for len(batch) < cap(batch) {
				select {
				case rec, ok := <-r.ch:
					if !ok {
						timer.Stop()
						write()
						return
					}
					batch = append(batch, rec)
				case <-timer.C:
					break gather
				case c := <-r.flush:
					timer.Stop()
					if flushTo(c) {
						return
					}
					continue
				}
			}
			timer.Stop()
			write()
		case c := <-r.flush:
			if flushTo(c) {
				return
			}
		}
	}
}

// sensitive reports whether a JSON key names a secret or personal datum whose
// value must not be kept.
func sensitive(key string) bool {
	k := strings.ToLower(key)
	for _, s := range sensitiveWords {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

var sensitiveWords = []string{"secret", "token", "password", "passwd", "private_key", "aes_key", "aeskey", "mobile", "phone", "email", "idcard", "id_card", "bankno", "bank_card"}

// plain reports that payload cannot hold a sensitive key: none of the
// words appears in it in any case, and no \u escape could spell one. Most
// payloads are plain, and are then kept as they are without a parse.
func plain(payload string) bool {
	if strings.Contains(payload, `\u`) {
		return false
	}
	for _, w := range sensitiveWords {
		if fold.Contains(payload, w) {
			return false
		}
	}
	return true
}

// Mask returns payload with the values of sensitive keys replaced by "***",
// at any depth, including JSON documents nested in string values (WeCom's
// request_data and response_data are JSON strings). Non-JSON text is kept as
// it is, truncated to 64 KiB.
func Mask(payload string) string {
	const max = 64 << 10
	if payload == "" {
		return ""
	}
	if len(payload) <= max && plain(payload) {
		return payload
	}
	var v any
	if err := json.Unmarshal([]byte(payload), &v); err != nil {
		if len(payload) > max {
			return payload[:max] + "…(truncated)"
		}
		return payload
	}
	out, err := json.Marshal(mask(v, 0))
	if err != nil {
		return ""
	}
	if len(out) > max {
		return string(out[:max]) + "…(truncated)"
	}
	return string(out)
}

func mask(v any, depth int) any {
	if depth > 32 {
		return "…"
	}
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if sensitive(k) {
				if x != nil && x != "" {
					t[k] = "***"
				}
				continue
			}
			t[k] = mask(x, depth+1)
		}
		return t
	case []any:
		for i := range t {
			t[i] = mask(t[i], depth+1)
		}
		return t
	case string:
		// A JSON object or array inside a string is masked too.
		if s := strings.TrimSpace(t); len(s) > 1 && (s[0] == '{' || s[0] == '[') {
			var inner any
			if json.Unmarshal([]byte(s), &inner) == nil {
				b, err := json.Marshal(mask(inner, depth+1))
				if err == nil {
					return string(b)
				}
			}
		}
		return t
	}
	return v
}
