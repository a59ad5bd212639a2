package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

// logsSeed deploys prog-log at %[1]s, a program the test runs itself, and
// prog-other, which no app of wwlog is configured with.
const logsSeed = `
providers: [{id: isv, name: ISV}]
corps: [{corpid: wwlog, name: Log Corp}]
programs:
  - id: prog-log
    provider: isv
    name: Logger
    released: true
    deploy: {url: "%[1]s"}
    abilities: [{id: work, input: {"n": 0}, output: {}}]
  - {id: prog-other, provider: isv, name: Other, released: true, abilities: [{id: x, input: {}, output: {}}]}
apps:
  - {corpid: wwlog, agentid: 1000002, type: self_built, secret: log-secret, programs: [prog-log]}
`

type logPage struct {
	Lines []struct {
		ID       int64     `json:"id"`
		Time     time.Time `json:"time"`
		Level    int       `json:"level"`
		ReqID    string    `json:"req_id"`
		File     string    `json:"file"`
		Line     int       `json:"line"`
		Text     string    `json:"text"`
		Instance string    `json:"instance"`
		Debug    bool      `json:"debug"`
	} `json:"lines"`
	Hours []struct {
		Lines, Bytes, Dropped, Filtered, Rejected int64
	} `json:"hours"`
	LogLevel int `json:"log_level"`
}

func (p logPage) texts() []string {
	var out []string
	for _, l := range p.Lines {
		out = append(out, l.Text)
	}
	return out
}

func searchLogs(t *testing.T, z *testenv.Zone, q url.Values) logPage {
	t.Helper()
	var page logPage
	if st := z.Admin("GET", "/admin/v1/logs?"+q.Encode(), nil, &page); st != http.StatusOK {
		t.Fatalf("GET /admin/v1/logs?%s: HTTP %d", q.Encode(), st)
	}
	return page
}

// logZone starts a zone whose prog-log is a zonesdk program of this test:
// ability work logs one ERR, one INFO and one DBG line with Logf.
func logZone(t *testing.T, db string, hourly int64) (*testenv.Zone, *zonesdk.Program) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	z := testenv.Start(t, testenv.Options{Seed: fmt.Sprintf(logsSeed, "http://"+ln.Addr().String()), DB: db, LogHourlyBytes: hourly})
	sec, err := z.Store().ProgramSecretGet(context.Background(), "prog-log")
	if err != nil {
		t.Fatal(err)
	}
	secret := zonewire.Secret{Ver: sec.Ver}
	copy(secret.Key[:], sec.Key)
	prog, err := zonesdk.New(zonesdk.Config{ZoneURL: z.URL, ProgramID: "prog-log", Secret: secret, Instance: "prog-log/t", LogOutput: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	prog.Handle("work", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		prog.Logf(ctx, zonesdk.LogError, "failed, once: %s", req.Data)
		prog.Logf(ctx, zonesdk.LogInfo, "working on %s, with a comma", req.Data)
		prog.Logf(ctx, zonesdk.LogDebug, "detail of %s\nsecond line", req.Data)
		return "{}", nil
	})
	srv := &http.Server{Handler: prog}
	go srv.Serve(ln)
	t.Cleanup(func() { prog.Close(context.Background()); srv.Close() })
	return z, prog
}

// callWork makes a sync call of ability work and returns its request id
// as the traffic inspector recorded it.
func callWork(t *testing.T, z *testenv.Zone, tok string, n int) string {
	t.Helper()
	r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, map[string]any{"program_id": "prog-log", "ability_id": "work", "request_data": fmt.Sprintf(`{"n":%d}`, n)})
	if testenv.Errcode(r) != 0 {
		t.Fatalf("sync_call_program: %s", testenv.Describe(r))
	}
	z.FlushTraffic(context.Background())
	var tr struct {
		Traffic []struct {
			RequestID string `json:"request_id"`
		} `json:"traffic"`
	}
	z.Admin("GET", "/admin/v1/traffic?kind=call&limit=1&program_id=prog-log", nil, &tr)
	if len(tr.Traffic) != 1 || tr.Traffic[0].RequestID == "" {
		t.Fatalf("no call recorded: %+v", tr)
	}
	return tr.Traffic[0].RequestID
}

func TestProgramLogs(t *testing.T) {
	testenv.Stores(t, func(t *testing.T, db string) {
		z, prog := logZone(t, db, 0)
		ctx := context.Background()
		tok := z.Token("wwlog", "log-secret")

		// The default level is 2: ERR and INFO are kept, DBG is not; the
		// lines carry the call's request id, the file and line of Logf's
		// caller, the instance, and the text cut as WeCom cuts it.
		rid := callWork(t, z, tok, 1)
		if err := prog.FlushLogs(ctx); err != nil {
			t.Fatal(err)
		}
		page := searchLogs(t, z, url.Values{"program_id": {"prog-log"}, "req_id": {rid}})
		if got := strings.Join(page.texts(), "|"); got != `working on {"n":1}, with a comma|failed, once: {"n":1}` {
			t.Fatalf("lines of call %s: %q", rid, got)
		}
		l := page.Lines[0]
		if l.Level != openzone.LogLevelInfo || l.ReqID != rid || l.File != "logs_test.go" || l.Line == 0 || l.Instance != "prog-log/t" || l.Debug {
			t.Errorf("line = %+v", l)
		}
		if page.LogLevel != 2 || len(page.Hours) != 1 || page.Hours[0].Lines != 2 || page.Hours[0].Filtered != 1 {
			t.Errorf("level %d, hours %+v: want level 2 and one hour of 2 lines, 1 above the level", page.LogLevel, page.Hours)
		}

		// get_log_level / set_log_level (app API), with WeCom's errcodes.
		api := func(name string, body any) map[string]any {
			return z.PostApp("/cgi-bin/chatdata/"+name, tok, body)
		}
		for _, tt := range []struct {
			name string
			body any
			code int
		}{
			{"get_log_level", map[string]any{}, openzone.ErrInvalidParam},
			{"get_log_level", map[string]any{"program_id": "prog-none"}, openzone.ErrBadProgramID},
			{"get_log_level", map[string]any{"program_id": "prog-other"}, openzone.ErrNotAssociated},
			{"set_log_level", map[string]any{"program_id": "prog-log"}, openzone.ErrInvalidParam},
			{"set_log_level", map[string]any{"program_id": "prog-log", "log_level": 0}, openzone.ErrInvalidParam},
			{"set_log_level", map[string]any{"program_id": "prog-log", "log_level": 4}, openzone.ErrInvalidParam},
			{"set_log_level", map[string]any{"program_id": "prog-log", "log_level": "DBG"}, openzone.ErrInvalidParam},
			{"set_log_level", map[string]any{"program_id": "prog-other", "log_level": 3}, openzone.ErrNotAssociated},
		} {
			r := api(tt.name, tt.body)
			if testenv.Errcode(r) != tt.code {
				t.Errorf("%s %v: %s, want errcode %d", tt.name, tt.body, testenv.Describe(r), tt.code)
			}
			if msg, _ := r["errmsg"].(string); tt.code == openzone.ErrInvalidParam && !strings.Contains(msg, "program_id") && !strings.Contains(msg, "log_level") {
				t.Errorf("%s %v: errmsg %q names no field", tt.name, tt.body, msg)
			}
		}
		if r := api("get_log_level", map[string]any{"program_id": "prog-log"}); testenv.Errcode(r) != 0 || r["log_level"] != float64(2) {
			t.Fatalf("get_log_level: %s, want 2", testenv.Describe(r))
		}
		if r := api("set_log_level", map[string]any{"program_id": "prog-log", "log_level": 3}); testenv.Errcode(r) != 0 {
			t.Fatalf("set_log_level 3: %s", testenv.Describe(r))
		}
		if r := api("get_log_level", map[string]any{"program_id": "prog-log"}); r["log_level"] != float64(3) {
			t.Fatalf("get_log_level after set 3: %s", testenv.Describe(r))
		}
		// At level 3 the DBG line is kept too (its line break written as a
		// space). The SDK learns the level from the zone's answer; its
		// next batch carries DBG lines again.
		prog.FlushLogs(ctx)
		rid2 := callWork(t, z, tok, 2)
		prog.FlushLogs(ctx)
		page = searchLogs(t, z, url.Values{"req_id": {rid2}})
		if got := strings.Join(page.texts(), "|"); got != `detail of {"n":2} second line|working on {"n":2}, with a comma|failed, once: {"n":2}` {
			t.Fatalf("lines at level 3: %q", got)
		}

		// Search by level (ERR only) and time.
		page = searchLogs(t, z, url.Values{"program_id": {"prog-log"}, "level": {"ERR"}})
		if len(page.Lines) != 2 || page.Lines[0].Level != 1 || page.Lines[1].Level != 1 {
			t.Errorf("level=ERR: %q", page.texts())
		}
		page = searchLogs(t, z, url.Values{"program_id": {"prog-log"}, "since": {z.Clock.Now().Add(time.Minute).Format(time.RFC3339)}})
		if len(page.Lines) != 0 {
			t.Errorf("since the future: %q", page.texts())
		}
		page = searchLogs(t, z, url.Values{"program_id": {"prog-log"}, "limit": {"2"}})
		older := searchLogs(t, z, url.Values{"program_id": {"prog-log"}, "before_id": {fmt.Sprint(page.Lines[1].ID)}})
		if len(page.Lines) != 2 || len(older.Lines) != 3 {
			t.Errorf("paging: %q then %q", page.texts(), older.texts())
		}
		for _, q := range []string{"level=WARN", "since=yesterday", "limit=0", "before_id=x"} {
			var e map[string]any
			if st := z.Admin("GET", "/admin/v1/logs?program_id=prog-log&"+q, nil, &e); st != http.StatusBadRequest {
				t.Errorf("%s: HTTP %d %v, want 400", q, st, e)
			}
		}
		if st := z.Admin("GET", "/admin/v1/logs?program_id=prog-none", nil, nil); st != http.StatusNotFound {
			t.Errorf("unknown program: HTTP %d, want 404", st)
		}

		// Retention: lines go after 30 days (the default).
		z.Clock.Advance(31 * 24 * time.Hour)
		z.Prune(ctx)
		if page := searchLogs(t, z, url.Values{"program_id": {"prog-log"}}); len(page.Lines) != 0 {
			t.Errorf("after 31 days: %q", page.texts())
		}
	})
}

// postLogs posts a log batch to the zone sealed with sec as program, and
// opens the answer.
func postLogs(t *testing.T, z *testenv.Zone, program string, sec zonewire.Secret, b zonewire.LogBatch) (int, *zonewire.LogAnswer) {
	t.Helper()
	plain, _ := json.Marshal(b)
	keys := zonewire.NewKeys(sec)
	hd := zonewire.Header{ProgramID: program, SecretVer: sec.Ver, RequestID: zonewire.NewRequestID(), Timestamp: time.Now().Unix()}
	req, _ := http.NewRequest(http.MethodPost, z.URL+zonewire.LogPath, bytes.NewReader(keys.Seal(zonewire.PurposeLog, hd, plain)))
	hd.Apply(req.Header, true)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	out, err := keys.Open(zonewire.PurposeResult, hd, body)
	if err != nil {
		t.Fatalf("answer does not open: %v", err)
	}
	var ans zonewire.LogAnswer
	json.Unmarshal(out, &ans)
	return resp.StatusCode, &ans
}

// TestProgramLogsBatches: what the zone does with a batch's lines — kept,
// above the level, over the hour's cap, not lines, dropped by the SDK — and
// the packets it refuses.
func TestProgramLogsBatches(t *testing.T) {
	testenv.Stores(t, func(t *testing.T, db string) {
		// 320 bytes an hour: the first two lines (158 and 157 bytes) fit.
		z, _ := logZone(t, db, 320)
		stored, err := z.Store().ProgramSecretGet(context.Background(), "prog-log")
		if err != nil {
			t.Fatal(err)
		}
		sec := zonewire.Secret{Ver: stored.Ver}
		copy(sec.Key[:], stored.Key)
		line := func(level, text string) string {
			return "<1,2>,2026-01-01 08:00:00.000," + level + ",0123456789abcdef0123456789abcdef,main.go,7," + text
		}
		long := strings.Repeat("x", 80)
		st, ans := postLogs(t, z, "prog-log", sec, zonewire.LogBatch{UTCOffset: 8 * 3600, Dropped: 4, Lines: []string{
			line("INFO", long), line("DBG", "above the level"), "not a line", line("ERR", long), line("INFO", long),
		}})
		if st != 200 || ans.Errcode != 0 || ans.Accepted != 2 || ans.Filtered != 1 || ans.Rejected != 1 || ans.Dropped != 1 || ans.LogLevel != 2 {
			t.Fatalf("HTTP %d, answer %+v: want 2 accepted, 1 filtered, 1 rejected, 1 dropped, level 2", st, ans)
		}
		page := searchLogs(t, z, url.Values{"program_id": {"prog-log"}})
		if len(page.Lines) != 2 || !page.Lines[1].Time.Equal(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("kept %+v: want 2 lines, the first at 2026-01-01T00:00:00Z (08:00 at UTC+8)", page.Lines)
		}
		if h := page.Hours; len(h) != 1 || h[0].Lines != 2 || h[0].Dropped != 1+4 || h[0].Filtered != 1 || h[0].Rejected != 1 {
			t.Errorf("hours %+v: want 2 lines, 5 dropped (1 over the cap, 4 by the SDK), 1 filtered, 1 rejected", h)
		}
		// A batch of the wrong shape is answered with an errcode; a packet
		// that is not the program's is refused before it is read.
		if _, ans := postLogs(t, z, "prog-log", sec, zonewire.LogBatch{UTCOffset: 99 * 3600}); ans == nil || ans.Errcode != openzone.ErrInvalidParam {
			t.Errorf("utc_offset 99 h: %+v", ans)
		}
		many := make([]string, zonewire.MaxLogBatchLines+1)
		if _, ans := postLogs(t, z, "prog-log", sec, zonewire.LogBatch{Lines: many}); ans == nil || ans.Errcode != openzone.ErrInvalidParam {
			t.Errorf("%d lines: %+v", len(many), ans)
		}
		if st, _ := postLogs(t, z, "prog-log", zonewire.NewSecret(sec.Ver), zonewire.LogBatch{}); st != http.StatusUnauthorized {
			t.Errorf("a batch under another key: HTTP %d, want 401", st)
		}
		if st, _ := postLogs(t, z, "prog-none", sec, zonewire.LogBatch{}); st != http.StatusUnauthorized {
			t.Errorf("a batch of an unknown program: HTTP %d, want 401", st)
		}
	})
}
