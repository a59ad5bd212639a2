package zonesdk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/openzone/openzone/sdk/internal/osthread"
	"github.com/openzone/openzone/sdk/zonewire"
)

// LogLevel is the level of a log line, numbered as WeCom's set_log_level
// numbers them: the zone keeps lines at or below the program's log level
// (default LogInfo; DBG lines are kept only at level 3).
type LogLevel int

const (
	LogError LogLevel = zonewire.LogLevelError // ERR
	LogInfo  LogLevel = zonewire.LogLevelInfo  // INFO
	LogDebug LogLevel = zonewire.LogLevelDebug // DBG
)

// Log shipping (docs/protocol.md §16): lines wait in a buffer and a
// goroutine sends them to the zone in sealed batches, at least every
// logFlushEvery, at once when logBatchLines are waiting.
const (
	logFlushEvery  = time.Second
	logBatchLines  = 500
	logMaxPending  = 10_000 // beyond it the oldest lines are dropped, and counted
	logSendTimeout = 10 * time.Second
	logMaxBackoff  = 30 * time.Second
	// logLevelFor is how long the level the zone said holds: lines above
	// it are not sent meanwhile, and after it they are sent again (the
	// answer says the level anew), so set_log_level takes effect within
	// that time even for a program that logs only DBG lines.
	logLevelFor = 10 * time.Second
)

// Logf writes one log line in WeCom's format
// (<pid,tid>,datetime,level,req_id,file,line,text): to Config.LogOutput,
// and to the zone, which keeps it with the program's logs if the level is
// within the program's log level. req_id is the request id of the call ctx
// carries (see RequestFrom), so the zone's inspector links the call to its
// lines; file and line are Logf's caller's. The text is cut at 128 bytes,
// as WeCom's SDK cuts it.
func (p *Program) Logf(ctx context.Context, level LogLevel, format string, args ...any) {
	l := zonewire.LogLine{PID: int64(os.Getpid()), TID: osthread.ID(), Time: p.now(), Level: int(level),
		Text: fmt.Sprintf(format, args...)}
	if req, ok := RequestFrom(ctx); ok {
		l.ReqID = req.RequestID
	}
	if _, file, line, ok := runtime.Caller(1); ok {
		l.File, l.Line = filepath.Base(file), line
	}
	if w := p.cfg.LogOutput; w != nil {
		b := append(zonewire.AppendLogLine(nil, l), '\n')
		p.logs.outMu.Lock()
		w.Write(b)
		p.logs.outMu.Unlock()
	}
	p.ShipLog(l)
}

// ShipLog sends a log line to the zone, without writing it anywhere else:
// for code that writes its own lines (OpenZone's native library does). It
// never blocks: the line waits in a buffer of 10,000 lines, beyond which
// the oldest are dropped and the zone is told how many.
func (p *Program) ShipLog(l zonewire.LogLine) {
	p.logs.add(p, l)
}

// FlushLogs sends the lines waiting to be sent — at least one batch, if
// empty, so the Program learns the program's log level anew — and returns
// when the zone has answered, or with ctx's error. It fails when the zone
// cannot be reached or the Program holds no secret yet (debug mode not
// opened); the lines then wait for the next attempt.
func (p *Program) FlushLogs(ctx context.Context) error {
	if p.cfg.ZoneURL == "" {
		return &InvokeError{Code: CodeInternal, Msg: "no zone URL configured (Config.ZoneURL, " + EnvAPI + ")", op: "log batch"}
	}
	return p.logs.flush(ctx, p, true)
}

// Close sends the lines waiting to be sent (bounded by ctx) and stops the
// goroutine that sends them. Lines logged afterwards are still sent, by a
// new one.
func (p *Program) Close(ctx context.Context) error {
	err := p.logs.flush(ctx, p, false)
	p.logs.stop()
	return err
}

// logShipper holds a Program's unsent lines.
type logShipper struct {
	outMu sync.Mutex // serialises writes to Config.LogOutput

	mu      sync.Mutex
	pending []pendingLine
	dropped int           // lines dropped since the last batch the zone accepted
	level   int           // the program's log level as the zone last said; 0 unknown
	levelAt time.Time     // when it said it
	running bool          // the sender goroutine runs
	wake    chan struct{} // buffered(1): many lines are waiting
	quit    chan struct{} // closed to stop the sender

	sendMu sync.Mutex // one batch in flight at a time
}

type pendingLine struct {
	offset int // seconds east of UTC of the line's datetime
	text   string
}

func (s *logShipper) add(p *Program, l zonewire.LogLine) {
	if p.cfg.ZoneURL == "" {
		return // nowhere to send it
	}
	_, offset := l.Time.Zone()
	line := string(zonewire.AppendLogLine(nil, l))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.level != 0 && l.Level > s.level && time.Since(s.levelAt) < logLevelFor {
		return // the zone would not keep it
	}
	if len(s.pending) >= logMaxPending {
		s.pending = s.pending[1:]
		s.dropped++
	}
	s.pending = append(s.pending, pendingLine{offset, line})
	if !s.running {
		s.running = true
		s.wake, s.quit = make(chan struct{}, 1), make(chan struct{})
		go s.run(p, s.wake, s.quit)
	}
	if len(s.pending) >= logBatchLines {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

func (s *logShipper) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		close(s.quit)
		s.running = false
	}
}

// run sends batches until quit: every logFlushEvery, sooner when woken,
// later after a failure (doubling up to logMaxBackoff).
func (s *logShipper) run(p *Program, wake, quit chan struct{}) {
	wait := logFlushEvery
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-wake:
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), logSendTimeout)
		err := s.flush(ctx, p, false)
		cancel()
		if err != nil {
			wait = min(wait*2, logMaxBackoff)
		} else {
			wait = logFlushEvery
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(wait)
	}
}

// flush sends every waiting line, batch after batch; always one batch, if
// empty, when ask.
func (s *logShipper) flush(ctx context.Context, p *Program, ask bool) error {
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	for first := true; ; first = false {
		s.mu.Lock()
		n := 0
		for n < len(s.pending) && n < zonewire.MaxLogBatchLines && s.pending[n].offset == s.pending[0].offset {
			n++
		}
		if n == 0 && s.dropped == 0 && !(ask && first) {
			s.mu.Unlock()
			return nil
		}
		batch := zonewire.LogBatch{Instance: p.instance, Dropped: s.dropped, Lines: make([]string, n)}
		_, batch.UTCOffset = time.Now().Zone()
		if n > 0 {
			batch.UTCOffset = s.pending[0].offset
		}
		for i := range n {
			batch.Lines[i] = s.pending[i].text
		}
		s.mu.Unlock()

		ans, err := p.sendLogs(ctx, batch)
		if err != nil {
			return err
		}
		s.mu.Lock()
		// The sent lines are the first n: add only appends, and drops from
		// the front only when the buffer is full (then fewer are left).
		gone := min(n, len(s.pending))
		s.pending = s.pending[gone:]
		s.dropped -= batch.Dropped
		if ans.LogLevel >= zonewire.LogLevelError && ans.LogLevel <= zonewire.LogLevelDebug {
			s.level, s.levelAt = ans.LogLevel, time.Now()
		}
		s.mu.Unlock()
	}
}

// sendLogs posts one sealed batch and opens the zone's answer.
func (p *Program) sendLogs(ctx context.Context, batch zonewire.LogBatch) (*zonewire.LogAnswer, error) {
	sec := p.keys.any()
	if sec == nil {
		return nil, &InvokeError{Code: CodeSecretVer, Msg: "no secret to seal log lines with: no production secret, and debug mode is not open", op: "log batch"}
	}
	plain, err := json.Marshal(batch)
	if err != nil {
		return nil, &InvokeError{Code: CodeInternal, Msg: err.Error(), op: "log batch"}
	}
	hd := zonewire.Header{ProgramID: p.ProgramID(), SecretVer: sec.ver(), RequestID: zonewire.NewRequestID(), Timestamp: p.now().Unix()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.ZoneURL+zonewire.LogPath,
		bytes.NewReader(sec.keys.Seal(zonewire.PurposeLog, hd, plain)))
	if err != nil {
		return nil, &InvokeError{Code: CodeInternal, Msg: err.Error(), op: "log batch"}
	}
	hd.Apply(req.Header, true)
	req.Header.Set("Content-Type", zonewire.ContentType)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, &InvokeError{Code: CodeNetwork, Msg: err.Error(), Err: err, op: "log batch"}
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, &InvokeError{Code: CodeNetwork, Msg: err.Error(), Err: err, op: "log batch"}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &InvokeError{Code: CodeHTTPStatus, Msg: "HTTP " + strconv.Itoa(resp.StatusCode) + zoneErrmsg(rb), op: "log batch"}
	}
	res, err := sec.keys.Open(zonewire.PurposeResult, hd, rb)
	if err != nil {
		return nil, &InvokeError{Code: CodeSignature, Msg: "the zone's answer does not authenticate", Err: err, op: "log batch"}
	}
	var ans zonewire.LogAnswer
	if err := json.Unmarshal(res, &ans); err != nil {
		return nil, &InvokeError{Code: CodeInvalidJSON, Msg: "the zone's answer is not a log answer", op: "log batch"}
	}
	if ans.Errcode != 0 {
		return nil, &InvokeError{Code: CodeInternal, Msg: fmt.Sprintf("the zone refused the batch: errcode %d, %s", ans.Errcode, ans.Errmsg), op: "log batch"}
	}
	return &ans, nil
}
