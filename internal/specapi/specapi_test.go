package specapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/specapi"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/sqlite"
	"github.com/openzone/openzone/internal/store/storetest"
	"github.com/openzone/openzone/internal/traffic"
	"github.com/openzone/openzone/internal/wire"
)

// keys holds program "prog" at secret version 1.
type keys struct{ k *wire.Keys }

func (k keys) InvokeKeys(_ context.Context, programID string, ver int) (*wire.Keys, *openzone.DebugSession, error) {
	if programID != "prog" {
		return nil, nil, openzone.NotFound.Errorf("program %q not found", programID)
	}
	if ver != k.k.Secret.Ver {
		return nil, nil, nil
	}
	return k.k, nil, nil
}

// debug opens the SDK half for debug_token "good".
type debug struct{}

func (debug) SDKOpen(_ context.Context, p debugmode.SDKOpenParams) (*debugmode.SDKOpenResult, error) {
	if p.DebugToken != "good" {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "invalid debug_token")
	}
	return &debugmode.SDKOpenResult{ProgramID: "prog", CorpID: "wwcorp", AgentID: 1, SecretVer: 1 << 30,
		SealedSecret: []byte{1, 2}, ExpiresAt: time.Unix(1700000000, 0), Status: debugmode.StatusOn}, nil
}

type face struct {
	url  string
	keys *wire.Keys
	st   store.Store
	rec  *traffic.Recorder
}

func newFace(t *testing.T) *face {
	t.Helper()
	ctx := t.Context()
	st := storetest.MustOpen(t, sqlite.Open, filepath.Join(t.TempDir(), "zone.db"))
	for _, err := range []error{
		st.ProviderUpsert(ctx, &openzone.Provider{ID: "isv"}),
		st.CorpUpsert(ctx, &openzone.Corp{CorpID: "wwcorp"}),
		st.ProgramUpsert(ctx, &openzone.Program{ID: "prog", ProviderID: "isv", Kind: openzone.KindProgram}),
		st.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 1, Type: openzone.AppSelfBuilt, Secret: "s1", ZonePermission: true}),
		st.AppUpsert(ctx, &openzone.App{CorpID: "wwcorp", AgentID: 2, Type: openzone.AppSelfBuilt, Secret: "s2"}),
		st.AppProgramsSet(ctx, store.AppProgramsSetParams{CorpID: "wwcorp", AgentID: 1, ProgramIDs: []string{"prog"}}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	rec := traffic.New(st, slog.New(slog.DiscardHandler))
	t.Cleanup(rec.Close)
	k := wire.NewKeys(wire.NewSecret(1))
	mux := http.NewServeMux()
	specapi.New(specapi.Config{Store: st, Keys: keys{k}, Debug: debug{}, Registry: specapi.NewRegistry(), Recorder: rec,
		Now: time.Now, Logger: slog.New(slog.DiscardHandler)}).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &face{url: srv.URL, keys: k, st: st, rec: rec}
}

// invoke posts inv sealed with keys under hd; it returns the HTTP status,
// the ww-exception and the opened reply (or the plain refusal).
func (f *face) invoke(t *testing.T, keys *wire.Keys, hd wire.Header, inv any) (int, string, map[string]any) {
	t.Helper()
	pt, _ := json.Marshal(inv)
	req, _ := http.NewRequest("POST", f.url+"/spec/v1/invoke", bytes.NewReader(keys.Seal(wire.PurposeInvoke, hd, pt)))
	hd.Apply(req.Header, true)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	exc := resp.Header.Get(wire.HeaderException)
	if resp.StatusCode == http.StatusOK {
		if body, err = keys.Open(wire.PurposeResult, hd, body); err != nil {
			t.Fatalf("the reply does not open: %v", err)
		}
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatalf("reply is not JSON: %s", body)
	}
	return resp.StatusCode, exc, out
}

func header(programID string, ver int) wire.Header {
	return wire.Header{ProgramID: programID, SecretVer: ver, RequestID: wire.NewRequestID(), Timestamp: time.Now().Unix()}
}

var ping = wire.Invoke{Interface: "ping", CorpID: "wwcorp", AgentID: 1, AbilityID: "echo", Request: json.RawMessage(`{"x":1}`)}

// TestInvoke: an authenticated invoke runs its interface for the corp and
// app of its context, and is recorded with the reply's errcode.
func TestInvoke(t *testing.T) {
	t.Parallel()
	f := newFace(t)
	st, _, out := f.invoke(t, f.keys, header("prog", 1), ping)
	if st != 200 || out["errcode"] != float64(0) || out["program_id"] != "prog" || out["agentid"] != float64(1) {
		t.Fatalf("ping: HTTP %d %v", st, out)
	}
	cases := []struct {
		name    string
		inv     wire.Invoke
		errcode int
	}{
		{"UnknownInterface", wire.Invoke{Interface: "nope", CorpID: "wwcorp", AgentID: 1}, openzone.ErrUnknownInterface},
		{"NoCorp", wire.Invoke{Interface: "ping", AgentID: 1}, openzone.ErrInvalidParam},
		{"NoAgent", wire.Invoke{Interface: "ping", CorpID: "wwcorp"}, openzone.ErrInvalidParam},
		{"NoSuchApp", wire.Invoke{Interface: "ping", CorpID: "wwcorp", AgentID: 9}, openzone.ErrInvalidParam},
		{"NoZonePermission", wire.Invoke{Interface: "ping", CorpID: "wwcorp", AgentID: 2}, openzone.ErrZonePermission},
	}
	for _, tc := range cases {
		if st, _, out := f.invoke(t, f.keys, header("prog", 1), tc.inv); st != 200 || out["errcode"] != float64(tc.errcode) {
			t.Errorf("%s: HTTP %d %v, want sealed errcode %d", tc.name, st, out, tc.errcode)
		}
	}
	f.rec.Flush(t.Context())
	recs, err := f.st.TrafficList(t.Context(), openzone.TrafficFilter{Kind: openzone.TrafficInvoke})
	if err != nil || len(recs) != 1+len(cases) {
		t.Fatalf("%d invoke records, %v", len(recs), err)
	}
	if r := recs[len(recs)-1]; r.Interface != "ping" || r.Errcode != 0 || r.Errmsg != "ok" || r.Route != openzone.RouteDeployed || r.Request != `{"x":1}` {
		t.Fatalf("the ping's record: %+v", r)
	}
	if r := recs[0]; r.Errcode != openzone.ErrZonePermission || r.Errmsg == "" {
		t.Fatalf("a refused interface's record: %+v", r)
	}
}

// TestRefused: a packet the zone cannot open is answered in clear, HTTP 401
// with a ww-exception, and is not recorded.
func TestRefused(t *testing.T) {
	t.Parallel()
	f := newFace(t)
	replayed := header("prog", 1)
	f.invoke(t, f.keys, replayed, ping)
	stale := header("prog", 1)
	stale.Timestamp -= 3600
	cases := []struct {
		name    string
		keys    *wire.Keys
		hd      wire.Header
		exc     int
		errcode int
	}{
		{"UnknownProgram", f.keys, header("nope", 1), wire.ExcUnknownPrg, openzone.ErrBadProgramID},
		{"SecretVersion", f.keys, header("prog", 2), wire.ExcSecretVer, openzone.ErrProgramDecrypt},
		{"WrongKey", wire.NewKeys(wire.NewSecret(1)), header("prog", 1), wire.ExcAuth, openzone.ErrProgramDecrypt},
		{"Stale", f.keys, stale, wire.ExcTimestamp, openzone.ErrProgramDecrypt},
		{"Replayed", f.keys, replayed, wire.ExcReplay, openzone.ErrProgramDecrypt},
	}
	for _, tc := range cases {
		st, exc, out := f.invoke(t, tc.keys, tc.hd, ping)
		if st != http.StatusUnauthorized || exc != strconv.Itoa(tc.exc) || out["errcode"] != float64(tc.errcode) {
			t.Errorf("%s: HTTP %d ww-exception %q %v, want 401 %d errcode %d", tc.name, st, exc, out, tc.exc, tc.errcode)
		}
	}
	f.rec.Flush(t.Context())
	if recs, _ := f.st.TrafficList(t.Context(), openzone.TrafficFilter{}); len(recs) != 1 {
		t.Fatalf("%d records, want only the first ping's", len(recs))
	}
}

// TestDebugOpen: the SDK half is plain JSON; the face checks the fields
// and hands the rest to debug mode.
func TestDebugOpen(t *testing.T) {
	t.Parallel()
	f := newFace(t)
	post := func(body string) map[string]any {
		resp, err := http.Post(f.url+"/spec/v1/debug/open", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
			t.Fatalf("HTTP %d", resp.StatusCode)
		}
		return out
	}
	for _, tc := range []struct {
		name, body string
		errcode    int
	}{
		{"NotJSON", `{`, openzone.ErrBadBodyJSON},
		{"NoDebugToken", `{"access_token":"a","public_key":"k"}`, openzone.ErrInvalidParam},
		{"NoPublicKey", `{"debug_token":"good","access_token":"a"}`, openzone.ErrInvalidParam},
		{"Refused", `{"debug_token":"bad","access_token":"a","public_key":"k"}`, openzone.ErrInvalidParam},
	} {
		if out := post(tc.body); out["errcode"] != float64(tc.errcode) {
			t.Errorf("%s: %v, want errcode %d", tc.name, out, tc.errcode)
		}
	}
	out := post(`{"debug_token":"good","access_token":"a","public_key":"k"}`)
	if out["errcode"] != float64(0) || out["program_id"] != "prog" || out["sealed_secret"] != "AQI=" || out["debug_mode_status"] != float64(2) {
		t.Fatalf("open: %v", out)
	}
}
