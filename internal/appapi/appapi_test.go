package appapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/appapi"
	"github.com/openzone/openzone/internal/apps"
)

// fakeApps is the apps service as the face sees it: every call is noted.
type fakeApps struct {
	calls []apps.Call
	err   error // what Sync and Async fail with
}

var theApp = &openzone.App{CorpID: "wwcorp", AgentID: 1000002, Type: openzone.AppSelfBuilt, ZonePermission: true}

func (f *fakeApps) Token(_ context.Context, corpID, secret string) (*openzone.AccessToken, error) {
	if secret != "s" {
		return nil, openzone.Errorf(openzone.ErrInvalidSecret, "invalid credential")
	}
	return &openzone.AccessToken{Token: "T", CorpID: corpID, ExpiresAt: t0.Add(7200 * time.Second)}, nil
}

func (f *fakeApps) Authenticate(_ context.Context, token string) (*openzone.App, error) {
	if token != "T" {
		return nil, openzone.Errorf(openzone.ErrInvalidToken, "invalid access_token")
	}
	return theApp, nil
}

func (f *fakeApps) Sync(_ context.Context, _ *openzone.App, c apps.Call) (string, openzone.TrafficRecord, error) {
	f.calls = append(f.calls, c)
	return `{"echo":` + c.RequestData + `}`, openzone.TrafficRecord{}, f.err
}

func (f *fakeApps) Async(_ context.Context, _ *openzone.App, c apps.Call) (string, openzone.TrafficRecord, error) {
	f.calls = append(f.calls, c)
	return "job_1", openzone.TrafficRecord{}, f.err
}

func (f *fakeApps) SetReceiveProgram(context.Context, *openzone.App, string) error { return nil }
func (f *fakeApps) Program(context.Context, *openzone.App, string) (*openzone.Program, error) {
	return &openzone.Program{}, nil
}

type fakeTasks struct{}

func (fakeTasks) AppResult(_ context.Context, _ *openzone.App, jobID string) (int, string, error) {
	if jobID != "job_1" {
		return 0, "", openzone.Errorf(openzone.ErrInvalidParam, "invalid jobid")
	}
	return 0, `{"done":true}`, nil
}

type fakeDebug struct{}

func (fakeDebug) AppOpen(context.Context, *openzone.App, string, string) error { return nil }
func (fakeDebug) AppClose(context.Context, *openzone.App, string) error        { return nil }
func (fakeDebug) Check(context.Context, *openzone.App, string) (int, error)    { return 2, nil }

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func newFace(t *testing.T) (*httptest.Server, *fakeApps) {
	t.Helper()
	fa := &fakeApps{}
	mux := http.NewServeMux()
	appapi.New(appapi.Config{Apps: fa, Tasks: fakeTasks{}, Debug: fakeDebug{},
		Now: func() time.Time { return t0 }, Logger: slog.New(slog.DiscardHandler)}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, fa
}

// answer is a reply as a WeCom client reads it.
type answer struct {
	status int
	ctype  string
	body   map[string]any
}

func (a answer) errcode() int { n, _ := a.body["errcode"].(float64); return int(n) }

func (a answer) errmsg() string { s, _ := a.body["errmsg"].(string); return s }

func do(t *testing.T, method, url, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type")}
	if err := json.NewDecoder(resp.Body).Decode(&a.body); err != nil {
		t.Fatalf("%s %s: the reply is not JSON: %v", method, url, err)
	}
	return a
}

// TestWeComShaped: every /cgi-bin answer is HTTP 200 JSON with an errcode,
// whatever the path, method or failure.
func TestWeComShaped(t *testing.T) {
	t.Parallel()
	srv, _ := newFace(t)
	cases := []struct {
		name, method, path, body string
		errcode                  int
		errmsg                   string
	}{
		{"UnknownChatdataAPI", "POST", "/cgi-bin/chatdata/no_such_api?access_token=T", `{}`, openzone.ErrNotFound, "API /cgi-bin/chatdata/no_such_api is not available"},
		{"UnknownPath", "GET", "/cgi-bin/user/get?userid=x", "", openzone.ErrNotFound, "API /cgi-bin/user/get is not available"},
		{"UnknownDeepChatdata", "POST", "/cgi-bin/chatdata/a/b", `{}`, openzone.ErrNotFound, "API /cgi-bin/chatdata/a/b is not available"},
		{"GetTokenBadSecret", "GET", "/cgi-bin/gettoken?corpid=wwcorp&corpsecret=bad", "", openzone.ErrInvalidSecret, "invalid credential"},
		{"NotPost", "GET", "/cgi-bin/chatdata/sync_call_program?access_token=T", "", openzone.ErrInvalidParam, "must be called with POST"},
		{"BadToken", "POST", "/cgi-bin/chatdata/sync_call_program?access_token=X", `{}`, openzone.ErrInvalidToken, "invalid access_token"},
		{"EmptyBody", "POST", "/cgi-bin/chatdata/sync_call_program?access_token=T", "", openzone.ErrBadBodyJSON, "request body is empty"},
		{"NotAnObject", "POST", "/cgi-bin/chatdata/sync_call_program?access_token=T", `[1]`, openzone.ErrBadBodyJSON, "not a JSON object"},
		{"MissingProgram", "POST", "/cgi-bin/chatdata/sync_call_program?access_token=T", `{"ability_id":"a"}`, openzone.ErrInvalidParam, "missing required parameter program_id"},
		{"RequestDataObject", "POST", "/cgi-bin/chatdata/sync_call_program?access_token=T", `{"program_id":"p","ability_id":"a","request_data":{"x":1}}`, openzone.ErrInvalidParam, "must be a string holding JSON"},
		{"AsyncResultUnknown", "POST", "/cgi-bin/chatdata/async_program_result?access_token=T", `{"jobid":"nope"}`, openzone.ErrInvalidParam, "invalid jobid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := do(t, tc.method, srv.URL+tc.path, tc.body)
			if a.status != http.StatusOK || !strings.HasPrefix(a.ctype, "application/json") {
				t.Errorf("HTTP %d %s, want 200 JSON", a.status, a.ctype)
			}
			if a.errcode() != tc.errcode || !strings.Contains(a.errmsg(), tc.errmsg) || !strings.Contains(a.errmsg(), ", hint: [") {
				t.Errorf("reply %v, want errcode %d with %q and a hint", a.body, tc.errcode, tc.errmsg)
			}
		})
	}
}

// TestCalls: the face reads a call's fields and hands them to the apps
// service; the service's failure becomes the reply's errcode.
func TestCalls(t *testing.T) {
	t.Parallel()
	t.Run("Sync", func(t *testing.T) {
		t.Parallel()
		srv, fa := newFace(t)
		a := do(t, "POST", srv.URL+"/cgi-bin/chatdata/sync_call_program?access_token=T",
			`{"program_id":"p","ability_id":"echo","notify_id":"","request_data":"{\"x\":1}"}`)
		if a.errcode() != 0 || a.errmsg() != "ok" || a.body["response_data"] != `{"echo":{"x":1}}` {
			t.Fatalf("reply %v", a.body)
		}
		if want := (apps.Call{ProgramID: "p", AbilityID: "echo", RequestData: `{"x":1}`}); len(fa.calls) != 1 || fa.calls[0] != want {
			t.Fatalf("calls %+v, want %+v", fa.calls, want)
		}
	})
	t.Run("AsyncIgnoresNotifyID", func(t *testing.T) {
		t.Parallel()
		srv, fa := newFace(t)
		a := do(t, "POST", srv.URL+"/cgi-bin/chatdata/async_program_task?access_token=T",
			`{"program_id":"p","ability_id":"echo","notify_id":"n1","request_data":"{}"}`)
		if a.errcode() != 0 || a.body["jobid"] != "job_1" {
			t.Fatalf("reply %v", a.body)
		}
		if len(fa.calls) != 1 || fa.calls[0].NotifyID != "" {
			t.Fatalf("calls %+v", fa.calls)
		}
	})
	t.Run("ServiceFails", func(t *testing.T) {
		t.Parallel()
		srv, fa := newFace(t)
		fa.err = openzone.Errorf(openzone.ErrNotDeployed, `program "p" is not deployed`)
		a := do(t, "POST", srv.URL+"/cgi-bin/chatdata/sync_call_program?access_token=T",
			`{"program_id":"p","ability_id":"echo","request_data":"{}"}`)
		if a.errcode() != openzone.ErrNotDeployed || !strings.HasPrefix(a.errmsg(), `program "p" is not deployed, hint: [`) {
			t.Fatalf("reply %v", a.body)
		}
	})
	t.Run("InternalErrorHidden", func(t *testing.T) {
		t.Parallel()
		srv, fa := newFace(t)
		fa.err = errors.New("sqlite: disk I/O error")
		a := do(t, "POST", srv.URL+"/cgi-bin/chatdata/sync_call_program?access_token=T",
			`{"program_id":"p","ability_id":"echo","request_data":"{}"}`)
		if a.errcode() != openzone.ErrSystem || strings.Contains(a.errmsg(), "sqlite") {
			t.Fatalf("reply %v", a.body)
		}
	})
}

func TestGetToken(t *testing.T) {
	t.Parallel()
	srv, _ := newFace(t)
	a := do(t, "GET", srv.URL+"/cgi-bin/gettoken?corpid=wwcorp&corpsecret=s", "")
	if a.errcode() != 0 || a.body["access_token"] != "T" || a.body["expires_in"] != float64(7200) {
		t.Fatalf("reply %v", a.body)
	}
}
