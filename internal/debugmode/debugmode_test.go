package debugmode_test

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/sqlite"
	"github.com/openzone/openzone/internal/store/storetest"
)

// clock is the zone's clock, moved by the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// prober notes the probes debug mode asks for.
type prober struct {
	mu     sync.Mutex
	opened []string
}

func (p *prober) Opened(programID, corpID string, agentID int64) {
	p.mu.Lock()
	p.opened = append(p.opened, programID+"/"+corpID)
	p.mu.Unlock()
}

func (p *prober) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.opened...)
}

// apps authenticates access_token "T<agentid>" as that app of wwcorp.
type apps struct{ byToken map[string]*openzone.App }

func (a apps) Authenticate(_ context.Context, token string) (*openzone.App, error) {
	if app := a.byToken[token]; app != nil {
		return app, nil
	}
	return nil, openzone.Errorf(openzone.ErrInvalidToken, "invalid access_token")
}

type fixture struct {
	svc    *debugmode.Service
	routes *debugmode.Routes
	st     store.Store
	clock  *clock
	probes *prober
	self   *openzone.App // self-built: may debug
	custom *openzone.App // custom app of isv; wwcorp is not its test corp
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	st := storetest.MustOpen(t, sqlite.Open, filepath.Join(t.TempDir(), "zone.db"))
	self := &openzone.App{CorpID: "wwcorp", AgentID: 1, Type: openzone.AppSelfBuilt, Secret: "s1", ZonePermission: true}
	custom := &openzone.App{CorpID: "wwcorp", AgentID: 2, Type: openzone.AppCustom, ProviderID: "isv", Secret: "s2", ZonePermission: true}
	for _, err := range []error{
		st.ProviderUpsert(ctx, &openzone.Provider{ID: "isv"}),
		st.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp"}),
		st.ProgramUpsert(ctx, &openzone.Program{ID: "prog", ProviderID: "isv", Kind: openzone.KindProgram}),
		st.ProgramUpsert(ctx, &openzone.Program{ID: "lonely", ProviderID: "isv", Kind: openzone.KindProgram}),
		st.AppUpsert(ctx, self),
		st.AppUpsert(ctx, custom),
		st.AppProgramsSet(ctx, store.AppProgramsSetParams{CorpID: "wwcorp", AgentID: 1, ProgramIDs: []string{"prog"}}),
		st.AppProgramsSet(ctx, store.AppProgramsSetParams{CorpID: "wwcorp", AgentID: 2, ProgramIDs: []string{"prog"}}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	c := &clock{t: time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)}
	p := &prober{}
	routes := debugmode.NewRoutes(debugmode.RoutesConfig{Store: st, Now: c.now, Exclusive: true})
	svc := debugmode.New(debugmode.Config{Store: st, Now: c.now, Logger: slog.New(slog.DiscardHandler), Routes: routes,
		Prober: p, Apps: apps{map[string]*openzone.App{"T1": self, "T2": custom}}, AllowedHosts: []string{"127.0.0.1", "*.example.com"}})
	return &fixture{svc: svc, routes: routes, st: st, clock: c, probes: p, self: self, custom: custom}
}

func publicKey(t *testing.T) string {
	t.Helper()
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(k.PublicKey().Bytes())
}

func (f *fixture) status(t *testing.T, app *openzone.App) int {
	t.Helper()
	st, err := f.svc.Check(t.Context(), app, "prog")
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestToken: the same credential while it is valid, a new one after.
func TestToken(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	a, err := f.svc.IssueToken(ctx, "prog")
	if err != nil || !a.New || a.ExpiresAt.Sub(a.IssuedAt) != openzone.DebugTokenTTL {
		t.Fatalf("first: %+v, %v", a, err)
	}
	f.clock.add(time.Hour)
	b, err := f.svc.IssueToken(ctx, "prog")
	if err != nil || b.New || b.Token != a.Token || !b.ExpiresAt.Equal(a.ExpiresAt) {
		t.Fatalf("again within validity: %+v, %v", b, err)
	}
	f.clock.add(openzone.DebugTokenTTL)
	c, err := f.svc.IssueToken(ctx, "prog")
	if err != nil || !c.New || c.Token == a.Token {
		t.Fatalf("after expiry: %+v, %v", c, err)
	}
	ns, err := f.st.NotificationList(ctx, "isv", 10)
	if err != nil || len(ns) != 3 {
		t.Fatalf("notifications %d, %v: want one per issue", len(ns), err)
	}
	if _, err := f.svc.IssueToken(ctx, "nope"); !openzone.IsNotFound(err) {
		t.Fatalf("unknown program: %v", err)
	}
}

// TestHalves walks the state machine: on only with both halves under the
// current credential; close, expiry and a new credential end it.
func TestHalves(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	tok, err := f.svc.IssueToken(ctx, "prog")
	if err != nil {
		t.Fatal(err)
	}
	sdkOpen := func() (*debugmode.SDKOpenResult, error) {
		return f.svc.SDKOpen(ctx, debugmode.SDKOpenParams{DebugToken: tok.Token, AccessToken: "T1", PublicKey: publicKey(t)})
	}
	if err := f.svc.AppOpen(ctx, f.self, "prog", tok.Token); err != nil {
		t.Fatal(err)
	}
	if f.status(t, f.self) != debugmode.StatusOff || len(f.probes.seen()) != 0 {
		t.Fatalf("app half alone: status %d, probes %v", f.status(t, f.self), f.probes.seen())
	}
	res, err := sdkOpen()
	if err != nil || res.ProgramID != "prog" || res.Status != debugmode.StatusOn || res.SecretVer < 1<<30 || len(res.SealedSecret) == 0 {
		t.Fatalf("SDK half: %+v, %v", res, err)
	}
	if f.status(t, f.self) != debugmode.StatusOn || len(f.probes.seen()) != 1 || f.probes.seen()[0] != "prog/wwcorp" {
		t.Fatalf("both halves: status %d, probes %v", f.status(t, f.self), f.probes.seen())
	}
	if r, err := f.routes.Route(ctx, "wwcorp", 1, "prog"); err != nil || r == nil || r.Keys.Secret.Ver != res.SecretVer {
		t.Fatalf("route %+v, %v", r, err)
	}
	if k, sess, err := f.routes.InvokeKeys(ctx, "prog", res.SecretVer); err != nil || k == nil || sess.AgentID != 1 {
		t.Fatalf("invoke keys %v %+v %v", k, sess, err)
	}
	if on, err := f.routes.On(ctx, "prog"); err != nil || len(on) != 1 {
		t.Fatalf("sessions on %v, %v", on, err)
	}

	// The SDK opening again replaces the debug secret.
	again, err := sdkOpen()
	if err != nil || again.SecretVer == res.SecretVer {
		t.Fatalf("reopen: %+v, %v", again, err)
	}
	if k, _, _ := f.routes.InvokeKeys(ctx, "prog", res.SecretVer); k != nil {
		t.Fatal("the replaced debug secret still opens invokes")
	}

	if err := f.svc.AppClose(ctx, f.self, "prog"); err != nil {
		t.Fatal(err)
	}
	if f.status(t, f.self) != debugmode.StatusOff {
		t.Fatal("on after close_debug_mode")
	}
	if k, _, _ := f.routes.InvokeKeys(ctx, "prog", again.SecretVer); k != nil {
		t.Fatal("a closed session's debug secret still opens invokes")
	}

	// Expiry ends debug mode without anyone closing it.
	if err := f.svc.AppOpen(ctx, f.self, "prog", tok.Token); err != nil {
		t.Fatal(err)
	}
	if _, err := sdkOpen(); err != nil {
		t.Fatal(err)
	}
	f.clock.add(openzone.DebugTokenTTL)
	if f.status(t, f.self) != debugmode.StatusOff {
		t.Fatal("on after the credential expired")
	}
	if r, _ := f.routes.Route(ctx, "wwcorp", 1, "prog"); r != nil {
		t.Fatal("routed to the receiver after the credential expired")
	}
	if err := f.svc.AppOpen(ctx, f.self, "prog", tok.Token); openzone.ErrorCode(err) != openzone.ErrDebugTokenExp {
		t.Fatalf("open with the expired credential: %v, want 710671", err)
	}
}

// TestRefusals: the checks both halves make, in order, and the SDK half's own.
func TestRefusals(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	tok, err := f.svc.IssueToken(ctx, "prog")
	if err != nil {
		t.Fatal(err)
	}
	open := func(p debugmode.SDKOpenParams) error {
		if p.PublicKey == "" {
			p.PublicKey = publicKey(t)
		}
		_, err := f.svc.SDKOpen(ctx, p)
		return err
	}
	cases := []struct {
		name    string
		err     error
		errcode int
	}{
		{"UnknownProgram", f.svc.AppOpen(ctx, f.self, "nope", tok.Token), openzone.ErrBadProgramID},
		{"NotConfigured", f.svc.AppOpen(ctx, f.self, "lonely", tok.Token), openzone.ErrNotAssociated},
		{"NotTestScenario", f.svc.AppOpen(ctx, f.custom, "prog", tok.Token), openzone.ErrDebugNotAllowed},
		{"WrongToken", f.svc.AppOpen(ctx, f.self, "prog", "ozdbg_nope"), openzone.ErrInvalidParam},
		{"SDKBadKey", open(debugmode.SDKOpenParams{DebugToken: tok.Token, AccessToken: "T1", PublicKey: "xx"}), openzone.ErrInvalidParam},
		{"SDKUnknownToken", open(debugmode.SDKOpenParams{DebugToken: "ozdbg_nope", AccessToken: "T1"}), openzone.ErrInvalidParam},
		{"SDKUnknownProgram", open(debugmode.SDKOpenParams{ProgramID: "nope", DebugToken: tok.Token, AccessToken: "T1"}), openzone.ErrBadProgramID},
		{"SDKOtherProgramsToken", open(debugmode.SDKOpenParams{ProgramID: "lonely", DebugToken: tok.Token, AccessToken: "T1"}), openzone.ErrNotAssociated},
		{"SDKBadAccessToken", open(debugmode.SDKOpenParams{DebugToken: tok.Token, AccessToken: "X"}), openzone.ErrInvalidToken},
	}
	for _, tc := range cases {
		if openzone.ErrorCode(tc.err) != tc.errcode {
			t.Errorf("%s: %v, want %d", tc.name, tc.err, tc.errcode)
		}
	}
}

// TestScenarios: who may debug where (spec: test scenarios only).
func TestScenarios(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	if err := f.st.ProviderUpsert(ctx, &openzone.Provider{ID: "isv2", TestCorps: []string{"wwcorp"}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		app  openzone.App
		ok   bool
	}{
		{"SelfBuilt", openzone.App{CorpID: "wwcorp", Type: openzone.AppSelfBuilt}, true},
		{"CustomInTestCorp", openzone.App{CorpID: "wwcorp", Type: openzone.AppCustom, ProviderID: "isv2"}, true},
		{"CustomElsewhere", openzone.App{CorpID: "wwcorp", Type: openzone.AppCustom, ProviderID: "isv"}, false},
		{"CustomNoProvider", openzone.App{CorpID: "wwcorp", Type: openzone.AppCustom, ProviderID: "gone"}, false},
		{"ThirdPartyTestInstalled", openzone.App{CorpID: "wwcorp", Type: openzone.AppThirdParty, TestInstall: true}, true},
		{"ThirdParty", openzone.App{CorpID: "wwcorp", Type: openzone.AppThirdParty}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := debugmode.TestScenario(ctx, f.st, &tc.app)
			if tc.ok != (err == nil) || (err != nil && openzone.ErrorCode(err) != openzone.ErrDebugNotAllowed) {
				t.Fatalf("err %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// TestReceiver: a receiver URL is checked, stored, and probed.
func TestReceiver(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := t.Context()
	for _, bad := range []string{"", "ftp://127.0.0.1/", "http://user:pw@127.0.0.1/", "http://127.0.0.1/#x", "http://evil.test/"} {
		if _, err := f.svc.SetReceiver(ctx, "prog", bad); openzone.ErrorCode(err) != openzone.ErrInvalidParam {
			t.Errorf("receiver %q: %v, want 40058", bad, err)
		}
	}
	u, err := f.svc.SetReceiver(ctx, "prog", " http://dev.example.com:9100/cb ")
	if err != nil || u != "http://dev.example.com:9100/cb" {
		t.Fatalf("receiver: %q, %v", u, err)
	}
	if p := f.probes.seen(); len(p) != 1 || p[0] != "prog/" {
		t.Fatalf("probes %v, want one of every session", p)
	}
	page, err := f.svc.Page(ctx, "prog")
	if err != nil || page.ReceiverURL != u || page.Route != "receiver" {
		t.Fatalf("page %+v, %v", page, err)
	}
}
