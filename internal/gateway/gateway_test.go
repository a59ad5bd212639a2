package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/gateway"
	"github.com/openzone/openzone/internal/listener"
	"github.com/openzone/openzone/internal/listener/frame"
	"github.com/openzone/openzone/internal/store/sqlite"
	"github.com/openzone/openzone/internal/store/storetest"
	"github.com/openzone/openzone/internal/supervisor"
	"github.com/openzone/openzone/internal/wire"
)

// program serves calls sealed with sec the way a program does: it opens
// the call and answers with handle's data, sealed; handle may write an
// answer of its own instead (and return ok false).
func program(t *testing.T, sec wire.Secret, handle func(w http.ResponseWriter, c *wire.Call) (string, bool)) *httptest.Server {
	t.Helper()
	keys := wire.NewKeys(sec)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd, err := wire.ReadHeader(r.Header, "prog")
		body, _ := io.ReadAll(r.Body)
		var pt []byte
		if err == nil {
			pt, err = keys.Open(wire.PurposeCall, hd, body)
		}
		if err != nil {
			w.Header()[wire.HeaderException] = []string{"-10001"}
			w.WriteHeader(http.StatusOK)
			return
		}
		var c wire.Call
		json.Unmarshal(pt, &c)
		data, ok := handle(w, &c)
		if !ok {
			return
		}
		reply, _ := json.Marshal(wire.Reply{Data: data})
		hd.Apply(w.Header(), false)
		w.Write(keys.Seal(wire.PurposeReply, hd, reply))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// echo answers every call with its data, or as the ability id says.
func echo(w http.ResponseWriter, c *wire.Call) (string, bool) {
	switch c.AbilityID {
	case "fail":
		http.Error(w, "boom", http.StatusInternalServerError)
		return "", false
	case "slow":
		time.Sleep(time.Second)
	case "retry":
		w.Header().Set(gateway.HeaderRetryNotify, "later")
		w.WriteHeader(http.StatusOK)
		return "", false
	}
	return c.Data, true
}

type zone struct {
	gw   *gateway.Gateway
	sup  *supervisor.Supervisor
	prog *openzone.Program
	sec  wire.Secret
}

// newZone is a gateway over a store holding program "prog" (secret v1),
// routed by debug and listeners (either may be nil).
func newZone(t *testing.T, debug gateway.Debug, listeners gateway.Listeners) *zone {
	t.Helper()
	ctx := t.Context()
	st := storetest.MustOpen(t, sqlite.Open, filepath.Join(t.TempDir(), "zone.db"))
	prog := &openzone.Program{ID: "prog", ProviderID: "isv", Kind: openzone.KindProgram}
	sec := wire.NewSecret(1)
	for _, err := range []error{
		st.ProviderUpsert(ctx, &openzone.Provider{ID: "isv"}),
		st.ProgramUpsert(ctx, prog),
		st.ProgramSecretPut(ctx, &openzone.ProgramSecret{ProgramID: "prog", Ver: 1, Key: sec.Key[:]}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	sup := supervisor.New(supervisor.Config{})
	t.Cleanup(func() { sup.Shutdown(context.Background()) })
	gw := gateway.New(gateway.Config{Store: st, Supervisor: sup, Timeout: 300 * time.Millisecond, Debug: debug, Listeners: listeners})
	return &zone{gw: gw, sup: sup, prog: prog, sec: sec}
}

func (z *zone) deploy(t *testing.T, url string) {
	t.Helper()
	if err := z.sup.Deploy(t.Context(), supervisor.Spec{ProgramID: "prog", URL: url}); err != nil {
		t.Fatal(err)
	}
}

func (z *zone) call(ability string) (*gateway.Result, error) {
	return z.gw.Do(context.Background(), &gateway.Call{Program: z.prog, CorpID: "wwcorp", AgentID: 1, CallType: 1,
		Data: `{"n":1}`, AbilityID: ability})
}

// closedURL is a URL nothing listens on.
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/"
	ln.Close()
	return url
}

// TestDeployed: a call reaches the deployed instance sealed, and every way
// it can fail has its errcode (docs/decisions.md).
func TestDeployed(t *testing.T) {
	t.Parallel()
	z := newZone(t, nil, nil)
	if _, err := z.call("echo"); openzone.ErrorCode(err) != openzone.ErrNotDeployed {
		t.Fatalf("before deploy: %v, want 800002", err)
	}
	z.deploy(t, program(t, z.sec, echo).URL)
	res, err := z.call("echo")
	if err != nil || res.Data != `{"n":1}` || res.Route != openzone.RouteDeployed || res.Instance == "" || res.RequestID == "" {
		t.Fatalf("call = %+v, %v", res, err)
	}
	for _, tc := range []struct {
		ability string
		errcode int
	}{
		{"fail", openzone.ErrProgramStatus},
		{"slow", openzone.ErrProgramTimeout},
		{"retry", openzone.ErrProgramStatus},
	} {
		if _, err := z.call(tc.ability); openzone.ErrorCode(err) != tc.errcode {
			t.Errorf("%s: %v, want %d", tc.ability, err, tc.errcode)
		}
	}
	// A program that cannot open the call answers with an exception.
	other := newZone(t, nil, nil)
	other.deploy(t, program(t, wire.NewSecret(1), echo).URL)
	if _, err := other.call("echo"); openzone.ErrorCode(err) != openzone.ErrProgramDecrypt {
		t.Fatalf("wrong secret: %v, want 710677", err)
	}
}

// fakeDebug routes every call of corp wwdebug to its route.
type fakeDebug struct {
	route *debugmode.Route
	keys  *wire.Keys
}

func (d *fakeDebug) Route(_ context.Context, corpID string, _ int64, _ string) (*debugmode.Route, error) {
	if corpID != "wwdebug" {
		return nil, nil
	}
	return d.route, nil
}

func (d *fakeDebug) InvokeKeys(context.Context, string, int) (*wire.Keys, *openzone.DebugSession, error) {
	return d.keys, &openzone.DebugSession{CorpID: "wwdebug"}, nil
}

func (z *zone) debugCall(c *gateway.Call) (*gateway.Result, error) {
	c.Program, c.CorpID, c.AgentID = z.prog, "wwdebug", 1
	if c.AbilityID == "" {
		c.AbilityID = "echo"
	}
	return z.gw.Do(context.Background(), c)
}

// TestDebugReceiver: in debug mode calls go to the receiver URL, sealed
// with the debug secret, with debug mode's errcodes.
func TestDebugReceiver(t *testing.T) {
	t.Parallel()
	dsec := wire.NewSecret(1 << 30)
	d := &fakeDebug{route: &debugmode.Route{Keys: wire.NewKeys(dsec)}}
	z := newZone(t, d, nil)
	if _, err := z.debugCall(&gateway.Call{CallType: 1}); openzone.ErrorCode(err) != openzone.ErrProgramConnect {
		t.Fatalf("no receiver URL: %v, want 710674", err)
	}
	d.route.ReceiverURL = closedURL(t)
	if _, err := z.debugCall(&gateway.Call{CallType: 1}); openzone.ErrorCode(err) != openzone.ErrProgramConnect {
		t.Fatalf("receiver down: %v, want 710674", err)
	}
	d.route.ReceiverURL = program(t, dsec, echo).URL
	res, err := z.debugCall(&gateway.Call{CallType: 1, Data: `{"d":1}`})
	if err != nil || res.Data != `{"d":1}` || res.Route != openzone.RouteDebug || res.Instance != "receiver" {
		t.Fatalf("debug call = %+v, %v", res, err)
	}
	// Outside its corp the program is called as deployed.
	if _, err := z.call("echo"); openzone.ErrorCode(err) != openzone.ErrNotDeployed {
		t.Fatalf("another corp: %v, want 800002", err)
	}
	if p := z.gw.Probe(t.Context(), "prog", "wwdebug", 1); p == nil || !p.OK || p.Via != "receiver" {
		t.Fatalf("probe = %+v", p)
	}
	if p := z.gw.Probe(t.Context(), "prog", "wwcorp", 1); p != nil {
		t.Fatalf("probe outside debug mode = %+v", p)
	}
}

// fakeListeners answers every round trip with err, or echoes its message.
type fakeListeners struct {
	err   error
	trips []listener.Trip
}

func (f *fakeListeners) RoundTrip(_ context.Context, t listener.Trip) (*frame.Message, listener.Reach, error) {
	f.trips = append(f.trips, t)
	if f.err != nil {
		return nil, listener.Reach{Via: "listener", Reason: "closed by the CLI"}, f.err
	}
	return &frame.Message{Status: 200, ErrorKind: frame.ErrKindConnect, Error: "refused"}, listener.Reach{Via: "listener@n2"}, nil
}

// TestDebugListener: in listener mode calls go through the listener; a
// durable delivery is gated behind held work and, when no listener can
// take it, carries listener.ErrAbsent so it waits instead of failing.
func TestDebugListener(t *testing.T) {
	t.Parallel()
	d := &fakeDebug{route: &debugmode.Route{Keys: wire.NewKeys(wire.NewSecret(1 << 30)),
		Listener: &openzone.DebugListener{State: openzone.ListenerConnected, Node: "n2"}}}
	cases := []struct {
		name    string
		err     error
		call    gateway.Call
		errcode int
		absent  bool // listener.ErrAbsent in the chain
		gate    bool
	}{
		{"Absent", listener.ErrAbsent, gateway.Call{CallType: 1}, openzone.ErrProgramConnect, true, false},
		{"Closed", listener.ErrClosed, gateway.Call{CallType: 1}, openzone.ErrProgramConnect, true, false},
		{"Lost", listener.ErrLost, gateway.Call{CallType: 2}, openzone.ErrProgramTimeout, true, true},
		{"NotReady", listener.ErrNotReady, gateway.Call{CallType: 1, IsAsync: true}, openzone.ErrProgramConnect, true, true},
		{"HeldGoesFirst", listener.ErrNotReady, gateway.Call{CallType: 2, Drain: true}, openzone.ErrProgramConnect, true, false},
		{"Timeout", context.DeadlineExceeded, gateway.Call{CallType: 1}, openzone.ErrProgramTimeout, false, false},
		{"LocalProgramDown", nil, gateway.Call{CallType: 1}, openzone.ErrProgramConnect, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := &fakeListeners{err: tc.err}
			z := newZone(t, d, l)
			c := tc.call
			res, err := z.debugCall(&c)
			if openzone.ErrorCode(err) != tc.errcode || errors.Is(err, listener.ErrAbsent) != tc.absent {
				t.Fatalf("err %v, want %d (absent %v)", err, tc.errcode, tc.absent)
			}
			if len(l.trips) != 1 || l.trips[0].Gate != tc.gate || l.trips[0].Listener.Node != "n2" {
				t.Fatalf("trips %+v, want one with gate %v", l.trips, tc.gate)
			}
			if tc.err == nil && res.Instance != "listener@n2" {
				t.Fatalf("instance %q, want listener@n2", res.Instance)
			}
		})
	}
	t.Run("NoListeners", func(t *testing.T) {
		t.Parallel()
		z := newZone(t, d, nil)
		if _, err := z.debugCall(&gateway.Call{CallType: 2}); !errors.Is(err, listener.ErrAbsent) {
			t.Fatalf("err %v, want listener.ErrAbsent", err)
		}
	})
}

// TestInvokeKeys: an invoke opens with the production secret of the
// version it names, or with a live debug secret.
func TestInvokeKeys(t *testing.T) {
	t.Parallel()
	dkeys := wire.NewKeys(wire.NewSecret(wire.DebugSecretVerMin))
	z := newZone(t, &fakeDebug{keys: dkeys}, nil)
	ctx := t.Context()
	if k, sess, err := z.gw.InvokeKeys(ctx, "prog", 1); err != nil || k == nil || k.Secret.Ver != 1 || sess != nil {
		t.Fatalf("production: %v %v %v", k, sess, err)
	}
	if k, _, err := z.gw.InvokeKeys(ctx, "prog", 2); err != nil || k != nil {
		t.Fatalf("no such version: %v %v", k, err)
	}
	if k, sess, err := z.gw.InvokeKeys(ctx, "prog", wire.DebugSecretVerMin); err != nil || k != dkeys || sess == nil {
		t.Fatalf("debug: %v %v %v", k, sess, err)
	}
	if _, _, err := z.gw.InvokeKeys(ctx, "nope", wire.DebugSecretVerMin); !openzone.IsNotFound(err) {
		t.Fatalf("unknown program: %v", err)
	}
}
