package adminapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/adminapi"
	"github.com/openzone/openzone/internal/apps"
	"github.com/openzone/openzone/internal/deploy"
	"github.com/openzone/openzone/internal/listener"
	"github.com/openzone/openzone/internal/listener/frame"
	"github.com/openzone/openzone/internal/sandbox"
	"github.com/openzone/openzone/internal/store/sqlite"
	"github.com/openzone/openzone/internal/store/storetest"
	"github.com/openzone/openzone/internal/traffic"
)

const token = "admin-T"

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// fakeDeploy fails to apply a seed file with err.
type fakeDeploy struct{ err error }

func (f fakeDeploy) ApplySeed(context.Context, string, []byte, string) (*deploy.Summary, error) {
	return &deploy.Summary{}, f.err
}
func (f fakeDeploy) SaveProgram(context.Context, *openzone.Program) error { return f.err }
func (f fakeDeploy) Isolation(*openzone.Program) sandbox.Decision         { return sandbox.Decision{} }

// fakeApps notes the calls the replay makes as their app.
type fakeApps struct{ calls []string }

func (f *fakeApps) TokenForApp(context.Context, *openzone.App) (*openzone.AccessToken, error) {
	return &openzone.AccessToken{Token: "app-T", ExpiresAt: t0.Add(time.Hour)}, nil
}

func (f *fakeApps) Sync(_ context.Context, app *openzone.App, c apps.Call) (string, openzone.TrafficRecord, error) {
	f.calls = append(f.calls, "sync "+app.CorpID+" "+c.ProgramID+" "+c.AbilityID+" "+c.RequestData)
	return `{"text":"again","token":"secret"}`, openzone.TrafficRecord{Route: openzone.RouteDeployed, Instance: "i1", TotalMS: 2, ProgramMS: 1.5, ZoneMS: 0.5}, nil
}

func (f *fakeApps) Async(_ context.Context, app *openzone.App, c apps.Call) (string, openzone.TrafficRecord, error) {
	f.calls = append(f.calls, "async "+c.ProgramID)
	return "job_9", openzone.TrafficRecord{Response: `{"jobid":"job_9"}`}, nil
}

func (f *fakeApps) Invalidate() {}

// fakeRelay answers every relayed delivery.
type fakeRelay struct{}

func (fakeRelay) Relayed(_ context.Context, req *listener.RelayRequest) *listener.RelayReply {
	return &listener.RelayReply{Answer: &frame.Message{Status: 200, Label: req.ProgramID}}
}

type face struct {
	url  string
	st   *sqlite.DB
	apps *fakeApps
}

func newFace(t *testing.T, d adminapi.Deploy, relay adminapi.Relay) *face {
	t.Helper()
	st := storetest.MustOpen(t, sqlite.Open, filepath.Join(t.TempDir(), "zone.db"))
	ctx := t.Context()
	for _, err := range []error{
		st.ProviderUpsert(ctx, &openzone.Provider{ID: "isv"}),
		st.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp"}),
		st.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 1000002, Type: openzone.AppSelfBuilt, Secret: "s", ZonePermission: true}),
		st.ProgramUpsert(ctx, &openzone.Program{ID: "prog", ProviderID: "isv", Kind: openzone.KindProgram}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	rec := traffic.New(st, slog.New(slog.DiscardHandler))
	t.Cleanup(rec.Close)
	fa := &fakeApps{}
	mux := http.NewServeMux()
	adminapi.New(adminapi.Config{Store: st, Recorder: rec, Logger: slog.New(slog.DiscardHandler), AdminToken: token,
		Deploy: d, Apps: fa, Relay: relay, Now: func() time.Time { return t0 }}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &face{url: srv.URL, st: st, apps: fa}
}

func (f *face) do(t *testing.T, method, path, auth, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s %s: HTTP %d, not JSON: %s", method, path, resp.StatusCode, b)
	}
	return resp.StatusCode, out
}

// TestErrors: the one writer answers each kind of error with its HTTP
// status and the kind's errcode (or the WeCom errcode the error carries).
func TestErrors(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name         string
		deploy       adminapi.Deploy
		method, path string
		auth, body   string
		status       int
		errcode      int
	}{
		{"Unauthorized", fakeDeploy{}, "GET", "/admin/v1/programs", "", "", http.StatusUnauthorized, openzone.ErrUnauthorizedAdmin},
		{"WrongToken", fakeDeploy{}, "GET", "/admin/v1/programs", "nope", "", http.StatusUnauthorized, openzone.ErrUnauthorizedAdmin},
		{"NoRoute", fakeDeploy{}, "GET", "/admin/v1/nothing", token, "", http.StatusNotFound, openzone.ErrNotFound},
		{"NotFound", fakeDeploy{}, "GET", "/admin/v1/corps/nope/apps", token, "", http.StatusNotFound, openzone.ErrNotFound},
		{"Invalid", fakeDeploy{}, "GET", "/admin/v1/traffic?kind=bogus", token, "", http.StatusBadRequest, openzone.ErrInvalidParam},
		{"WeComCode", fakeDeploy{err: openzone.Errorf(openzone.ErrBadProtocol, "bad protocol")}, "POST", "/admin/v1/seed", token, "x: 1", http.StatusBadRequest, openzone.ErrBadProtocol},
		{"Conflict", fakeDeploy{err: openzone.Conflict.Errorf("taken")}, "POST", "/admin/v1/seed", token, "x: 1", http.StatusConflict, openzone.ErrConflict},
		{"TooLarge", fakeDeploy{}, "POST", "/admin/v1/seed", token, strings.Repeat("x", adminapi.MaxSeedBytes+1), http.StatusRequestEntityTooLarge, openzone.ErrRequestTooLarge},
		{"Internal", fakeDeploy{err: errors.New("disk on fire")}, "POST", "/admin/v1/seed", token, "x: 1", http.StatusInternalServerError, openzone.ErrSystem},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFace(t, tc.deploy, nil)
			st, out := f.do(t, tc.method, tc.path, tc.auth, tc.body)
			if st != tc.status || out["errcode"] != float64(tc.errcode) {
				t.Fatalf("HTTP %d %v, want %d errcode %d", st, out, tc.status, tc.errcode)
			}
			if tc.errcode == openzone.ErrSystem && strings.Contains(out["errmsg"].(string), "fire") {
				t.Fatalf("an internal error's text reached the caller: %v", out)
			}
		})
	}
}

// TestReplay: a recorded app call is made again through the apps service,
// as its app, with the recorded or edited payload.
func TestReplay(t *testing.T) {
	t.Parallel()
	f := newFace(t, fakeDeploy{}, nil)
	ctx := t.Context()
	sync := &openzone.TrafficRecord{Kind: openzone.TrafficCall, CorpID: "wwcorp", AgentID: 1000002, ProgramID: "prog",
		AbilityID: "echo", Request: `{"text":"hi"}`, StartedAt: t0}
	async := &openzone.TrafficRecord{Kind: openzone.TrafficCall, Interface: "async_program_task", CorpID: "wwcorp", AgentID: 1000002,
		ProgramID: "prog", AbilityID: "echo", Request: `{"text":"later"}`, StartedAt: t0}
	invoke := &openzone.TrafficRecord{Kind: openzone.TrafficInvoke, Interface: "sync_msg", CorpID: "wwcorp", AgentID: 1000002,
		ProgramID: "prog", Request: `{}`, StartedAt: t0}
	for _, r := range []*openzone.TrafficRecord{sync, async, invoke} {
		if err := f.st.TrafficInsert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	path := func(r *openzone.TrafficRecord) string { return "/admin/v1/traffic/" + jsonNum(r.ID) + "/replay" }

	st, out := f.do(t, "POST", path(sync), token, "")
	if st != 200 || out["result_errcode"] != float64(0) || out["route"] != "deployed" || out["total_ms"] != float64(2) ||
		!strings.Contains(out["response"].(string), `"token":"***"`) {
		t.Fatalf("sync replay: HTTP %d %v", st, out)
	}
	st, out = f.do(t, "POST", path(sync), token, `{"request":"{\"text\":\"edited\"}"}`)
	if st != 200 || out["edited"] != true {
		t.Fatalf("edited replay: HTTP %d %v", st, out)
	}
	st, out = f.do(t, "POST", path(async), token, "")
	if st != 200 || out["response"] != `{"jobid":"job_9"}` {
		t.Fatalf("async replay: HTTP %d %v", st, out)
	}
	want := []string{`sync wwcorp prog echo {"text":"hi"}`, `sync wwcorp prog echo {"text":"edited"}`, "async prog"}
	if strings.Join(f.apps.calls, "|") != strings.Join(want, "|") {
		t.Fatalf("calls %q, want %q", f.apps.calls, want)
	}
	if st, out = f.do(t, "POST", path(invoke), token, ""); st != http.StatusBadRequest {
		t.Fatalf("an SDK invoke replayed: HTTP %d %v", st, out)
	}
}

// TestRelayRoute: the relay is served only where a relay is configured
// (several nodes), behind the admin token.
func TestRelayRoute(t *testing.T) {
	t.Parallel()
	body := `{"program_id":"prog","message":{"type":"request"}}`
	alone := newFace(t, fakeDeploy{}, nil)
	if st, out := alone.do(t, "POST", listener.RelayPath, token, body); st != http.StatusNotFound {
		t.Fatalf("relay on a lone node: HTTP %d %v", st, out)
	}
	nodes := newFace(t, fakeDeploy{}, fakeRelay{})
	if st, _ := nodes.do(t, "POST", listener.RelayPath, "", body); st != http.StatusUnauthorized {
		t.Fatalf("relay without the token: HTTP %d", st)
	}
	if st, out := nodes.do(t, "POST", listener.RelayPath, token, `{}`); st != http.StatusBadRequest {
		t.Fatalf("relay of nothing: HTTP %d %v", st, out)
	}
	st, out := nodes.do(t, "POST", listener.RelayPath, token, body)
	if ans, _ := out["answer"].(map[string]any); st != 200 || ans["label"] != "prog" {
		t.Fatalf("relay: HTTP %d %v", st, out)
	}
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }
