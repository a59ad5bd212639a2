package zonesdk_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

const testProgramID = "prog-test"

// testNow is the fixed clock of the tests.
var testNow = time.Unix(1_750_000_000, 0)

// testSecret returns a fixed secret with version ver.
func testSecret(ver int) zonewire.Secret {
	s := zonewire.Secret{Ver: ver}
	for i := range s.Key {
		s.Key[i] = byte(i + 1)
	}
	return s
}

// newTestProgram returns a Program for testProgramID with secret version 1,
// the fixed clock, a silent logger and zoneURL (may be "").
func newTestProgram(t testing.TB, zoneURL string) *zonesdk.Program {
	t.Helper()
	p, err := zonesdk.New(zonesdk.Config{
		ZoneURL:   zoneURL,
		ProgramID: testProgramID,
		Secret:    testSecret(1),
		Now:       func() time.Time { return testNow },
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// newHeader returns a call header with a fresh request id at testNow.
func newHeader() zonewire.Header {
	return zonewire.Header{
		ProgramID: testProgramID,
		SecretVer: 1,
		RequestID: zonewire.NewRequestID(),
		Timestamp: testNow.Unix(),
	}
}

// sealCall seals c as the zone would.
func sealCall(t testing.TB, keys *zonewire.Keys, hd zonewire.Header, c zonewire.Call) []byte {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return keys.Seal(zonewire.PurposeCall, hd, b)
}

// callRequest builds the zone's POST carrying body, with the ww-* header
// names spelt in the given case: "lower", "upper" or "canonical".
func callRequest(hd zonewire.Header, body []byte, nameCase string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	vals := map[string]string{
		zonewire.HeaderSecretVer: strconv.Itoa(hd.SecretVer),
		zonewire.HeaderRequestID: hd.RequestID,
		zonewire.HeaderTimestamp: strconv.FormatInt(hd.Timestamp, 10),
	}
	for k, v := range vals {
		switch nameCase {
		case "upper":
			r.Header[string(bytes.ToUpper([]byte(k)))] = []string{v}
		case "canonical":
			r.Header.Set(k, v)
		default:
			r.Header[k] = []string{v}
		}
	}
	r.Header.Set("Content-Type", zonewire.ContentType)
	return r
}

// openReply opens a program's sealed reply to the call with header hd.
func openReply(t testing.TB, keys *zonewire.Keys, hd zonewire.Header, body []byte) zonewire.Reply {
	t.Helper()
	plain, err := keys.Open(zonewire.PurposeReply, hd, body)
	if err != nil {
		t.Fatalf("open reply: %v", err)
	}
	var rep zonewire.Reply
	if err := json.Unmarshal(plain, &rep); err != nil {
		t.Fatalf("reply is not JSON: %v", err)
	}
	return rep
}

// fakeZone is an in-process zone that answers /spec/v1/invoke: it opens
// each invoke, records it, and seals the reply of Reply (default
// {"errcode":0,"errmsg":"ok"}). Respond, when set, replaces the answer.
type fakeZone struct {
	t    testing.TB
	keys *zonewire.Keys
	srv  *httptest.Server

	Reply   func(inv zonewire.Invoke) string
	Respond func(w http.ResponseWriter, hd zonewire.Header, sealed []byte)

	mu      sync.Mutex
	invokes []zonewire.Invoke
	headers []zonewire.Header
}

func newFakeZone(t testing.TB) *fakeZone {
	z := &fakeZone{t: t, keys: zonewire.NewKeys(testSecret(1))}
	z.srv = httptest.NewServer(http.HandlerFunc(z.serve))
	t.Cleanup(z.srv.Close)
	return z
}

func (z *fakeZone) URL() string { return z.srv.URL }

func (z *fakeZone) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/spec/v1/invoke" {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	hd, err := zonewire.ReadHeader(r.Header, "")
	if err == nil && hd.ProgramID != testProgramID {
		err = &zonewire.Error{Code: zonewire.ExcUnknownPrg, Reason: "unknown program " + hd.ProgramID}
	}
	var plain []byte
	if err == nil {
		body, _ := io.ReadAll(r.Body)
		plain, err = z.keys.Open(zonewire.PurposeInvoke, hd, body)
	}
	var inv zonewire.Invoke
	if err == nil {
		err = json.Unmarshal(plain, &inv)
	}
	if err != nil {
		w.Header()[zonewire.HeaderException] = []string{strconv.Itoa(zonewire.ExceptionCode(err))}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"errcode": 710677, "errmsg": err.Error()})
		return
	}
	z.mu.Lock()
	z.invokes = append(z.invokes, inv)
	z.headers = append(z.headers, hd)
	z.mu.Unlock()

	reply := `{"errcode":0,"errmsg":"ok"}`
	if z.Reply != nil {
		reply = z.Reply(inv)
	}
	sealed := z.keys.Seal(zonewire.PurposeResult, hd, []byte(reply))
	if z.Respond != nil {
		z.Respond(w, hd, sealed)
		return
	}
	hd.Apply(w.Header(), false)
	w.Header().Set("Content-Type", zonewire.ContentType)
	w.Write(sealed)
}

// Invokes returns the invokes received so far.
func (z *fakeZone) Invokes() ([]zonewire.Invoke, []zonewire.Header) {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]zonewire.Invoke(nil), z.invokes...), append([]zonewire.Header(nil), z.headers...)
}

// hget reads header name from h in any letter case (a recorder keeps the
// lower-case names the program wrote; a real connection canonicalises them).
func hget(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return h.Get(name)
}

// tamper changes one base64 character in the middle of a sealed body to
// another valid one, so the body still decodes but no longer authenticates.
func tamper(b []byte) []byte {
	b[len(b)/2] = map[bool]byte{true: 'B', false: 'A'}[b[len(b)/2] == 'A']
	return b
}
