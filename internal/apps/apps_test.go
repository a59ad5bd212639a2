package apps_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/apps"
	"github.com/openzone/openzone/internal/events"
	"github.com/openzone/openzone/internal/gateway"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/sqlite"
	"github.com/openzone/openzone/internal/store/storetest"
	"github.com/openzone/openzone/internal/tasks"
	"github.com/openzone/openzone/internal/traffic"
)

// program answers every call with its reply, or the request when reply is "".
type program struct{ reply string }

func (p *program) Do(_ context.Context, c *gateway.Call) (*gateway.Result, error) {
	data := p.reply
	if data == "" {
		data = c.Data
	}
	return &gateway.Result{Data: data, Hop: traffic.Hop{Route: openzone.RouteDeployed, Instance: "i1"}}, nil
}

type taskStarter struct{ started []tasks.AppTask }

func (s *taskStarter) CreateAppTask(_ context.Context, t tasks.AppTask) (string, error) {
	s.started = append(s.started, t)
	return "job_1", nil
}

// notifies knows notify_id "n1" of app 1 and prog.
type notifies struct{}

func (notifies) CheckNotify(_ context.Context, c events.NotifyCheck) (*openzone.Notify, error) {
	if c.NotifyID != "n1" || c.AgentID != 1 {
		return nil, openzone.Errorf(openzone.ErrBadNotifyID, "notify_id %q is unknown", c.NotifyID)
	}
	return &openzone.Notify{NotifyID: "n1", Instance: "i2"}, nil
}

type fixture struct {
	svc   *apps.Service
	st    store.Store
	prog  *program
	tasks *taskStarter
	rec   *traffic.Recorder
	now   time.Time
	app   *openzone.App
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	st := storetest.MustOpen(t, sqlite.Open, filepath.Join(t.TempDir(), "zone.db"))
	app := &openzone.App{CorpID: "wwcorp", AgentID: 1, Type: openzone.AppSelfBuilt, Secret: "s1", ZonePermission: true}
	echo := []openzone.Ability{{ID: "echo", Input: json.RawMessage(`{"text":""}`), Output: json.RawMessage(`{"text":""}`)}}
	for _, err := range []error{
		st.ProviderUpsert(ctx, &openzone.Provider{ID: "isv"}),
		st.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp"}),
		st.AppUpsert(ctx, app),
		st.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 2, Type: openzone.AppSelfBuilt, Secret: "s2"}),
		st.ProgramUpsert(ctx, &openzone.Program{ID: "prog", ProviderID: "isv", Kind: openzone.KindProgram, Abilities: echo}),
		st.ProgramUpsert(ctx, &openzone.Program{ID: "other", ProviderID: "isv", Kind: openzone.KindProgram, Abilities: echo}),
		st.AppProgramsSet(ctx, store.AppProgramsSetParams{CorpID: "wwcorp", AgentID: 1, ProgramIDs: []string{"prog"}}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	rec := traffic.New(st, slog.New(slog.DiscardHandler))
	t.Cleanup(rec.Close)
	f := &fixture{st: st, prog: &program{}, tasks: &taskStarter{}, rec: rec, now: time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC), app: app}
	f.svc = apps.New(apps.Config{Store: st, Gateway: f.prog, Tasks: f.tasks, Notifies: notifies{}, Recorder: rec,
		Now: func() time.Time { return f.now }})
	return f
}

// TestSync: WeCom's checks in WeCom's order, then the call; every call
// that got past the face is recorded.
func TestSync(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		call    apps.Call
		reply   string
		errcode int
	}{
		{"OK", apps.Call{ProgramID: "prog", AbilityID: "echo", RequestData: `{"text":"hi"}`}, "", 0},
		{"NoProgram", apps.Call{ProgramID: "nope", AbilityID: "echo", RequestData: `{}`}, "", openzone.ErrBadProgramID},
		{"NotConfigured", apps.Call{ProgramID: "other", AbilityID: "echo", RequestData: `{}`}, "", openzone.ErrNotAssociated},
		{"NoAbility", apps.Call{ProgramID: "prog", AbilityID: "nope", RequestData: `{}`}, "", openzone.ErrAbilityNotFound},
		{"NotJSON", apps.Call{ProgramID: "prog", AbilityID: "echo", RequestData: `{`}, "", openzone.ErrBadRequestJSON},
		{"InputMismatch", apps.Call{ProgramID: "prog", AbilityID: "echo", RequestData: `{"text":1}`}, "", openzone.ErrRequestMismatch},
		{"BadNotify", apps.Call{ProgramID: "prog", AbilityID: "echo", RequestData: `{}`, NotifyID: "nx"}, "", openzone.ErrBadNotifyID},
		{"Notify", apps.Call{ProgramID: "prog", AbilityID: "echo", RequestData: `{}`, NotifyID: "n1"}, "", 0},
		{"ResultNotJSON", apps.Call{ProgramID: "prog", AbilityID: "echo", RequestData: `{}`}, `oops`, openzone.ErrBadResultJSON},
		{"OutputMismatch", apps.Call{ProgramID: "prog", AbilityID: "echo", RequestData: `{}`}, `{"other":1}`, openzone.ErrResultMismatch},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.prog.reply = tc.reply
			data, rec, err := f.svc.Sync(t.Context(), f.app, tc.call)
			if openzone.ErrorCode(err) != tc.errcode {
				t.Fatalf("err %v, want %d", err, tc.errcode)
			}
			if err == nil && data != tc.call.RequestData {
				t.Fatalf("data %q", data)
			}
			if rec.Errcode != tc.errcode || rec.ProgramID != tc.call.ProgramID || rec.Kind != openzone.TrafficCall || rec.StartedAt != f.now {
				t.Fatalf("record %+v", rec)
			}
			f.rec.Flush(t.Context())
			if recs, _ := f.st.TrafficList(t.Context(), openzone.TrafficFilter{}); len(recs) != 1 {
				t.Fatalf("%d records stored, want 1", len(recs))
			}
		})
	}
}

func TestAsync(t *testing.T) {
	t.Parallel()
	f := setup(t)
	jobID, rec, err := f.svc.Async(t.Context(), f.app, apps.Call{ProgramID: "prog", AbilityID: "echo", RequestData: `{"text":"later"}`})
	if err != nil || jobID != "job_1" || rec.Response != `{"jobid":"job_1"}` || rec.Interface != "async_program_task" {
		t.Fatalf("async: %q %+v %v", jobID, rec, err)
	}
	if len(f.tasks.started) != 1 || f.tasks.started[0].Program.ID != "prog" || f.tasks.started[0].RequestData != `{"text":"later"}` {
		t.Fatalf("tasks %+v", f.tasks.started)
	}
	if _, rec, err := f.svc.Async(t.Context(), f.app, apps.Call{ProgramID: "prog", AbilityID: "echo", RequestData: `{"text":1}`}); openzone.ErrorCode(err) != openzone.ErrRequestMismatch || rec.Response != "" {
		t.Fatalf("a refused task: %+v %v", rec, err)
	}
}

// TestTokens: gettoken's checks, one token while it is valid, and the
// first checks of every chatdata API.
func TestTokens(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	for _, tc := range []struct {
		name, corp, secret string
		errcode            int
	}{
		{"NoCorp", "", "s1", openzone.ErrMissingCorpID},
		{"NoSecret", "wwcorp", "", openzone.ErrMissingSecret},
		{"UnknownCorp", "nope", "s1", openzone.ErrInvalidCorpID},
		{"WrongSecret", "wwcorp", "x", openzone.ErrInvalidSecret},
	} {
		if _, err := f.svc.Token(ctx, tc.corp, tc.secret); openzone.ErrorCode(err) != tc.errcode {
			t.Errorf("%s: %v, want %d", tc.name, err, tc.errcode)
		}
	}
	a, err := f.svc.Token(ctx, "wwcorp", "s1")
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(time.Hour)
	if b, err := f.svc.Token(ctx, "wwcorp", "s1"); err != nil || b.Token != a.Token {
		t.Fatalf("again within validity: %+v, %v", b, err)
	}
	if app, err := f.svc.Authenticate(ctx, a.Token); err != nil || app.AgentID != 1 {
		t.Fatalf("authenticate: %+v, %v", app, err)
	}
	noPerm, err := f.svc.Token(ctx, "wwcorp", "s2")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, token string
		errcode     int
	}{
		{"Missing", "", openzone.ErrMissingToken},
		{"Invalid", "nope", openzone.ErrInvalidToken},
		{"NoPermission", noPerm.Token, openzone.ErrZonePermission},
	} {
		if _, err := f.svc.Authenticate(ctx, tc.token); openzone.ErrorCode(err) != tc.errcode {
			t.Errorf("%s: %v, want %d", tc.name, err, tc.errcode)
		}
	}
	f.now = f.now.Add(openzone.TokenTTL)
	if _, err := f.svc.Authenticate(ctx, a.Token); openzone.ErrorCode(err) != openzone.ErrTokenExpired {
		t.Fatalf("expired: %v", err)
	}
}
