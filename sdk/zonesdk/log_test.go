package zonesdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

// logZone is a zone that takes log batches (docs/protocol.md §16).
type logZone struct {
	mu      sync.Mutex
	batches []zonewire.LogBatch
	level   int
}

func (z *logZone) lines() []string {
	z.mu.Lock()
	defer z.mu.Unlock()
	var out []string
	for _, b := range z.batches {
		out = append(out, b.Lines...)
	}
	return out
}

func (z *logZone) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != zonewire.LogPath {
		http.NotFound(w, r)
		return
	}
	hd, err := zonewire.ReadHeader(r.Header, "")
	body, _ := io.ReadAll(r.Body)
	keys := zonewire.NewKeys(testSecret(1))
	plain, oerr := keys.Open(zonewire.PurposeLog, hd, body)
	if err != nil || oerr != nil || hd.ProgramID != testProgramID {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var b zonewire.LogBatch
	json.Unmarshal(plain, &b)
	z.mu.Lock()
	z.batches = append(z.batches, b)
	level := z.level
	z.mu.Unlock()
	ans, _ := json.Marshal(zonewire.LogAnswer{Errmsg: "ok", Accepted: len(b.Lines), LogLevel: level})
	w.Write(keys.Seal(zonewire.PurposeResult, hd, ans))
}

func TestLogf(t *testing.T) {
	zone := &logZone{level: 2}
	srv := httptest.NewServer(zone)
	defer srv.Close()
	var out bytes.Buffer
	p, err := zonesdk.New(zonesdk.Config{ZoneURL: srv.URL, ProgramID: testProgramID, Secret: testSecret(1), Instance: "i-1",
		Now: func() time.Time { return testNow }, Logger: slog.New(slog.DiscardHandler), LogOutput: &out})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := &zonesdk.Request{RequestID: "0123456789abcdef0123456789abcdef"}
	p.Logf(zonesdk.WithRequest(ctx, req), zonesdk.LogInfo, "served %d, with %s", 7, "a comma")
	p.Logf(ctx, zonesdk.LogDebug, "a detail\non two lines")
	if err := p.FlushLogs(ctx); err != nil {
		t.Fatal(err)
	}
	local := strings.Split(strings.TrimSpace(out.String()), "\n")
	sent := zone.lines()
	// Before the zone said its level, the SDK sends every line; written
	// locally, every line too, DBG included, as WeCom's SDK prints it.
	if len(local) != 2 || len(sent) != 2 || local[0] != sent[0] || local[1] != sent[1] {
		t.Fatalf("local %q, sent %q", local, sent)
	}
	if want := ",INFO,0123456789abcdef0123456789abcdef,log_test.go,"; !strings.Contains(sent[0], want) || !strings.HasSuffix(sent[0], ",served 7, with a comma") {
		t.Errorf("line %q lacks %q", sent[0], want)
	}
	if !strings.Contains(sent[1], ",DBG,,log_test.go,") || !strings.HasSuffix(sent[1], ",a detail on two lines") {
		t.Errorf("line %q", sent[1])
	}
	if b := zone.batches[0]; b.Instance != "i-1" {
		t.Errorf("batch instance %q", b.Instance)
	}
	// The zone said level 2: DBG lines are not sent now.
	p.Logf(ctx, zonesdk.LogDebug, "not sent")
	p.Logf(ctx, zonesdk.LogError, "sent")
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if sent := zone.lines(); len(sent) != 3 || !strings.Contains(sent[2], ",ERR,") || !strings.HasSuffix(sent[2], ",sent") {
		t.Errorf("after level 2: %q", sent)
	}
}

func TestFlushLogsWithoutSecretOrZone(t *testing.T) {
	p, err := zonesdk.New(zonesdk.Config{ZoneURL: "http://127.0.0.1:1", LogOutput: io.Discard, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	p.Logf(context.Background(), zonesdk.LogInfo, "kept until debug mode opens")
	var ie *zonesdk.InvokeError
	if err := p.FlushLogs(context.Background()); !errors.As(err, &ie) || ie.Code != zonesdk.CodeSecretVer {
		t.Errorf("no secret: %v, want code %d", err, zonesdk.CodeSecretVer)
	}
	p2 := newTestProgram(t, "")
	if err := p2.FlushLogs(context.Background()); !errors.As(err, &ie) || ie.Code != zonesdk.CodeInternal {
		t.Errorf("no zone URL: %v, want code %d", err, zonesdk.CodeInternal)
	}
}
