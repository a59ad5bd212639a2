package wire

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone/sdk/zonewire"
)

// Interop: the zone's implementation (this package) against the SDK's
// (zonewire), in memory and over HTTP.

func toZW(hd Header) zonewire.Header {
	return zonewire.Header{ProgramID: hd.ProgramID, SecretVer: hd.SecretVer, RequestID: hd.RequestID, Timestamp: hd.Timestamp}
}

func fromZW(hd zonewire.Header) Header {
	return Header{ProgramID: hd.ProgramID, SecretVer: hd.SecretVer, RequestID: hd.RequestID, Timestamp: hd.Timestamp}
}

func zwSecret(t testing.TB, s Secret) zonewire.Secret {
	t.Helper()
	zs, err := zonewire.ParseSecret(s.String())
	if err != nil {
		t.Fatal(err)
	}
	return zs
}

func TestInteropConstants(t *testing.T) {
	pairs := []struct {
		name string
		a, b any
	}{
		{"Version", Version, zonewire.Version},
		{"HeaderSecretVer", HeaderSecretVer, zonewire.HeaderSecretVer},
		{"HeaderRequestID", HeaderRequestID, zonewire.HeaderRequestID},
		{"HeaderTimestamp", HeaderTimestamp, zonewire.HeaderTimestamp},
		{"HeaderProgramID", HeaderProgramID, zonewire.HeaderProgramID},
		{"HeaderException", HeaderException, zonewire.HeaderException},
		{"ContentType", ContentType, zonewire.ContentType},
		{"Window", Window, zonewire.Window},
		{"NonceSize", NonceSize, zonewire.NonceSize},
		{"Overhead", Overhead, zonewire.Overhead},
		{"PurposeCall", string(PurposeCall), string(zonewire.PurposeCall)},
		{"PurposeReply", string(PurposeReply), string(zonewire.PurposeReply)},
		{"PurposeInvoke", string(PurposeInvoke), string(zonewire.PurposeInvoke)},
		{"PurposeResult", string(PurposeResult), string(zonewire.PurposeResult)},
		{"ExcMalformed", ExcMalformed, zonewire.ExcMalformed},
		{"ExcAuth", ExcAuth, zonewire.ExcAuth},
		{"ExcSecretVer", ExcSecretVer, zonewire.ExcSecretVer},
		{"ExcTimestamp", ExcTimestamp, zonewire.ExcTimestamp},
		{"ExcReplay", ExcReplay, zonewire.ExcReplay},
		{"ExcUnknownPrg", ExcUnknownPrg, zonewire.ExcUnknownPrg},
	}
	for _, p := range pairs {
		if p.a != p.b {
			t.Errorf("%s: wire %v, zonewire %v", p.name, p.a, p.b)
		}
	}
}

// TestInteropEnvelopes checks that both sides encode the envelopes to the
// same JSON and decode each other's.
func TestInteropEnvelopes(t *testing.T) {
	call := Call{CorpID: "wwdemo", AgentID: 1000002, CallType: CallTypeEvent, Data: `{"event_type":"hit_keyword"}`, IsAsync: true, JobInfo: "j", AbilityID: "a", NotifyID: "n"}
	inv := Invoke{Interface: "sync_msg", CorpID: "wwdemo", AgentID: 7, AbilityID: "a", JobInfo: "j", Request: json.RawMessage(`{"limit":1}`)}
	zcall := zonewire.Call{CorpID: "wwdemo", AgentID: 1000002, CallType: 2, Data: `{"event_type":"hit_keyword"}`, IsAsync: true, JobInfo: "j", AbilityID: "a", NotifyID: "n"}
	zinv := zonewire.Invoke{Interface: "sync_msg", CorpID: "wwdemo", AgentID: 7, AbilityID: "a", JobInfo: "j", Request: json.RawMessage(`{"limit":1}`)}
	for _, p := range []struct{ a, b any }{
		{call, zcall}, {inv, zinv}, {Reply{Data: "专区"}, zonewire.Reply{Data: "专区"}},
	} {
		ja, _ := json.Marshal(p.a)
		jb, _ := json.Marshal(p.b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("JSON differs:\n wire     %s\n zonewire %s", ja, jb)
		}
	}
}

func TestInteropSealOpen(t *testing.T) {
	sec := NewSecret(3)
	zk := zonewire.NewKeys(zwSecret(t, sec))
	k := NewKeys(sec)
	big := make([]byte, 64<<10)
	rand.Read(big)
	plaintexts := [][]byte{nil, []byte(`{"data":"ok"}`), []byte("会话内容存档 · 加解密"), big}
	for _, p := range purposes {
		for _, pt := range plaintexts {
			hd := Header{ProgramID: "prog-echo", SecretVer: 3, RequestID: NewRequestID(), Timestamp: time.Now().Unix()}
			if got, want := AAD(p, hd), zonewire.AAD(zonewire.Purpose(p), toZW(hd)); !bytes.Equal(got, want) {
				t.Fatalf("%s: AAD differs: %q vs %q", p, got, want)
			}
			if got, want := DeriveKey(sec, p), zonewire.DeriveKey(zwSecret(t, sec), zonewire.Purpose(p)); got != want {
				t.Fatalf("%s: key differs", p)
			}
			// wire → zonewire
			body := k.Seal(p, hd, pt)
			out, err := zk.Open(zonewire.Purpose(p), toZW(hd), body)
			if err != nil || !bytes.Equal(out, pt) {
				t.Fatalf("%s: zonewire cannot open wire's packet: %v", p, err)
			}
			// zonewire → wire
			body = zk.Seal(zonewire.Purpose(p), toZW(hd), pt)
			out, err = k.Open(p, hd, body)
			if err != nil || !bytes.Equal(out, pt) {
				t.Fatalf("%s: wire cannot open zonewire's packet: %v", p, err)
			}
			// and each refuses the packet in any other purpose
			for _, q := range purposes {
				if q == p {
					continue
				}
				if _, err := k.Open(q, hd, body); ExceptionCode(err) != ExcAuth {
					t.Errorf("%s packet opened as %s: %v", p, q, err)
				}
			}
		}
	}
}

// program is a test program built on zonewire, as the SDK would build one:
// it answers calls at / and can invoke the zone.
type program struct {
	id    string
	keys  *zonewire.Keys
	guard *zonewire.Guard
	now   func() time.Time

	// reply, when set, replaces the normal reply (to test bad replies).
	reply func(w http.ResponseWriter, hd zonewire.Header, call zonewire.Call)
}

func (pr *program) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(err error) {
		w.Header()[zonewire.HeaderException] = []string{strconv.Itoa(zonewire.ExceptionCode(err))}
		w.WriteHeader(http.StatusOK)
	}
	hd, err := zonewire.ReadHeader(r.Header, pr.id)
	if err != nil {
		fail(err)
		return
	}
	body, _ := io.ReadAll(r.Body)
	pt, err := pr.keys.Open(zonewire.PurposeCall, hd, body)
	if err != nil {
		fail(err)
		return
	}
	if err := pr.guard.Check(hd, pr.now()); err != nil {
		fail(err)
		return
	}
	var call zonewire.Call
	if err := json.Unmarshal(pt, &call); err != nil {
		fail(err)
		return
	}
	if pr.reply != nil {
		pr.reply(w, hd, call)
		return
	}
	out, _ := json.Marshal(zonewire.Reply{Data: "echo:" + call.Data})
	w.Header().Set("Content-Type", zonewire.ContentType)
	w.Write(pr.keys.Seal(zonewire.PurposeReply, hd, out))
}

// invoke posts an SDK interface request to the zone at base and returns
// the result's plaintext, or the exception code the zone answered.
func (pr *program) invoke(t *testing.T, base string, hd zonewire.Header, inv zonewire.Invoke, mutate func(*http.Request, []byte) []byte) ([]byte, int) {
	t.Helper()
	pt, _ := json.Marshal(inv)
	body := pr.keys.Seal(zonewire.PurposeInvoke, hd, pt)
	req, _ := http.NewRequest(http.MethodPost, base+"/spec/v1/invoke", nil)
	hd.Apply(req.Header, true)
	req.Header.Set("Content-Type", zonewire.ContentType)
	if mutate != nil {
		body = mutate(req, body)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("zone answered HTTP %d", resp.StatusCode)
	}
	if v := resp.Header.Get(zonewire.HeaderException); v != "" {
		code, _ := strconv.Atoi(v)
		return nil, code
	}
	out, err := pr.keys.Open(zonewire.PurposeResult, hd, rb)
	if err != nil {
		t.Fatalf("program cannot open the zone's result: %v", err)
	}
	return out, 0
}

// zone is a test zone built on this package: it calls programs and answers
// invokes at /spec/v1/invoke, remembering request ids as the database would.
type zone struct {
	keys map[string]*Keys // by program id
	now  func() time.Time

	mu   sync.Mutex
	seen map[string]time.Time
}

func (z *zone) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(err error) {
		w.Header()[HeaderException] = []string{strconv.Itoa(ExceptionCode(err))}
		w.WriteHeader(http.StatusOK)
	}
	hd, err := ReadHeader(r.Header, "")
	if err != nil {
		fail(err)
		return
	}
	k, ok := z.keys[hd.ProgramID]
	if !ok {
		fail(&Error{Code: ExcUnknownPrg, Reason: "unknown program"})
		return
	}
	body, _ := io.ReadAll(r.Body)
	pt, err := k.Open(PurposeInvoke, hd, body)
	if err != nil {
		fail(err)
		return
	}
	now := z.now()
	if err := CheckTimestamp(hd.Timestamp, now); err != nil {
		fail(err)
		return
	}
	z.mu.Lock()
	_, replay := z.seen[hd.ProgramID+"/"+hd.RequestID]
	z.seen[hd.ProgramID+"/"+hd.RequestID] = now
	z.mu.Unlock()
	if replay {
		fail(&Error{Code: ExcReplay, Reason: "replay"})
		return
	}
	var inv Invoke
	if err := json.Unmarshal(pt, &inv); err != nil {
		fail(err)
		return
	}
	out, _ := json.Marshal(map[string]any{"errcode": 0, "errmsg": "ok", "interface": inv.Interface, "request": inv.Request})
	w.Write(k.Seal(PurposeResult, hd, out))
}

// call sends a Call to the program at url and returns the reply's data,
// or the exception code the program answered, or -1 when the reply does not
// open (the zone's 710677).
func (z *zone) call(t *testing.T, url, programID string, hd Header, c Call, mutate func(*http.Request, []byte) []byte) (string, int) {
	t.Helper()
	pt, _ := json.Marshal(c)
	k := z.keys[programID]
	body := k.Seal(PurposeCall, hd, pt)
	req, _ := http.NewRequest(http.MethodPost, url, nil)
	hd.Apply(req.Header, false)
	req.Header.Set("Content-Type", ContentType)
	if mutate != nil {
		body = mutate(req, body)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("program answered HTTP %d", resp.StatusCode)
	}
	if v := resp.Header.Get(HeaderException); v != "" {
		code, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("bad %s %q", HeaderException, v)
		}
		return "", code
	}
	out, err := k.Open(PurposeReply, hd, rb) // the reply is bound to our request's header
	if err != nil {
		return "", -1
	}
	var rep Reply
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatal(err)
	}
	return rep.Data, 0
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock(unix int64) *clock     { return &clock{t: time.Unix(unix, 0)} }
func (c *clock) unix() int64         { return c.now().Unix() }
func setHeader(name, v string) func(*http.Request, []byte) []byte {
	return func(r *http.Request, b []byte) []byte {
		for k := range r.Header {
			if strings.EqualFold(k, name) {
				delete(r.Header, k)
			}
		}
		r.Header[name] = []string{v}
		return b
	}
}

func TestInteropCall(t *testing.T) {
	clk := newClock(1767225600)
	sec := NewSecret(1)
	pr := &program{id: "prog-echo", keys: zonewire.NewKeys(zwSecret(t, sec)), guard: zonewire.NewGuard(), now: clk.now}
	srv := httptest.NewServer(pr)
	defer srv.Close()
	z := &zone{keys: map[string]*Keys{"prog-echo": NewKeys(sec)}, now: clk.now, seen: map[string]time.Time{}}
	call := Call{CorpID: "wwdemo", AgentID: 1000002, CallType: CallTypeApp, Data: `{"text":"你好"}`, AbilityID: "echo"}
	hdr := func() Header {
		return Header{ProgramID: "prog-echo", SecretVer: 1, RequestID: NewRequestID(), Timestamp: clk.unix()}
	}

	t.Run("ok", func(t *testing.T) {
		data, code := z.call(t, srv.URL, "prog-echo", hdr(), call, nil)
		if code != 0 || data != "echo:"+call.Data {
			t.Fatalf("got %q, %d", data, code)
		}
	})
	t.Run("event", func(t *testing.T) {
		ev := call
		ev.CallType, ev.Data = CallTypeEvent, `{"event_type":"conversation_new_message","timestamp":1767225600,"conversation_new_message":{"token":"T"}}`
		if data, code := z.call(t, srv.URL, "prog-echo", hdr(), ev, nil); code != 0 || data != "echo:"+ev.Data {
			t.Fatalf("got %q, %d", data, code)
		}
	})
	t.Run("canonical header names", func(t *testing.T) {
		hd := hdr()
		data, code := z.call(t, srv.URL, "prog-echo", hd, call, func(r *http.Request, b []byte) []byte {
			r.Header = http.Header{}
			r.Header.Set("Ww-Secret-Ver", "1")
			r.Header.Set("Ww-Request-Id", hd.RequestID)
			r.Header.Set("Ww-Timestamp", strconv.FormatInt(hd.Timestamp, 10))
			return b
		})
		if code != 0 || data != "echo:"+call.Data {
			t.Fatalf("got %q, %d", data, code)
		}
	})
	refused := []struct {
		name   string
		hd     func() Header
		mutate func(*http.Request, []byte) []byte
		want   int
	}{
		{"tampered body", hdr, func(_ *http.Request, b []byte) []byte { return tamper(b) }, ExcAuth},
		{"truncated body", hdr, func(_ *http.Request, b []byte) []byte { return b[:Overhead-1] }, ExcMalformed},
		{"tampered request id", hdr, setHeader(HeaderRequestID, NewRequestID()), ExcAuth},
		{"tampered timestamp", hdr, func(r *http.Request, b []byte) []byte {
			return setHeader(HeaderTimestamp, strconv.FormatInt(clk.unix()+1, 10))(r, b)
		}, ExcAuth},
		{"program id of another program", hdr, setHeader(HeaderProgramID, "prog-other"), ExcAuth},
		{"other secret version", hdr, setHeader(HeaderSecretVer, "2"), ExcSecretVer},
		{"missing timestamp", hdr, setHeader(HeaderTimestamp, ""), ExcMalformed},
		{"sealed with another version", func() Header { h := hdr(); h.SecretVer = 2; return h }, nil, ExcSecretVer},
		{"timestamp 301 s old", func() Header { h := hdr(); h.Timestamp -= 301; return h }, nil, ExcTimestamp},
		{"timestamp 301 s ahead", func() Header { h := hdr(); h.Timestamp += 301; return h }, nil, ExcTimestamp},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			_, code := z.call(t, srv.URL, "prog-echo", tc.hd(), call, tc.mutate)
			if code != tc.want {
				t.Fatalf("exception %d, want %d", code, tc.want)
			}
		})
	}
	t.Run("timestamp 300 s off is accepted", func(t *testing.T) {
		for _, d := range []int64{-300, 300} {
			hd := hdr()
			hd.Timestamp += d
			if _, code := z.call(t, srv.URL, "prog-echo", hd, call, nil); code != 0 {
				t.Fatalf("%+d s: exception %d", d, code)
			}
		}
	})
	t.Run("replay", func(t *testing.T) {
		hd := hdr()
		var first []byte
		keep := func(_ *http.Request, b []byte) []byte { first = bytes.Clone(b); return b }
		if _, code := z.call(t, srv.URL, "prog-echo", hd, call, keep); code != 0 {
			t.Fatalf("first: %d", code)
		}
		again := func(_ *http.Request, _ []byte) []byte { return first }
		for _, wait := range []time.Duration{0, 299 * time.Second} {
			clk.add(wait)
			if _, code := z.call(t, srv.URL, "prog-echo", hd, call, again); code != ExcReplay {
				t.Fatalf("replay after %v: exception %d, want %d", wait, code, ExcReplay)
			}
		}
		clk.add(2 * time.Second) // now stale, and still refused
		if _, code := z.call(t, srv.URL, "prog-echo", hd, call, again); code != ExcTimestamp {
			t.Fatalf("late replay: exception %d, want %d", code, ExcTimestamp)
		}
	})

	// Replies that must not open at the zone (710677).
	badReplies := []struct {
		name  string
		reply func(w http.ResponseWriter, hd zonewire.Header, call zonewire.Call)
	}{
		{"reply sealed as a call", func(w http.ResponseWriter, hd zonewire.Header, _ zonewire.Call) {
			w.Write(pr.keys.Seal(zonewire.PurposeCall, hd, []byte(`{"data":"x"}`)))
		}},
		{"reply bound to another request", func(w http.ResponseWriter, hd zonewire.Header, _ zonewire.Call) {
			hd.RequestID = zonewire.NewRequestID()
			w.Write(pr.keys.Seal(zonewire.PurposeReply, hd, []byte(`{"data":"x"}`)))
		}},
		{"reply with another timestamp", func(w http.ResponseWriter, hd zonewire.Header, _ zonewire.Call) {
			hd.Timestamp++
			w.Write(pr.keys.Seal(zonewire.PurposeReply, hd, []byte(`{"data":"x"}`)))
		}},
		{"plaintext reply", func(w http.ResponseWriter, _ zonewire.Header, _ zonewire.Call) {
			w.Write([]byte(`{"data":"this reply is not sealed at all"}`))
		}},
	}
	for _, tc := range badReplies {
		t.Run(tc.name, func(t *testing.T) {
			pr.reply = tc.reply
			defer func() { pr.reply = nil }()
			if _, code := z.call(t, srv.URL, "prog-echo", hdr(), call, nil); code != -1 {
				t.Fatalf("code %d, want the reply refused", code)
			}
		})
	}
}

func TestInteropInvoke(t *testing.T) {
	clk := newClock(1767225600)
	sec := NewSecret(4)
	z := &zone{keys: map[string]*Keys{"prog-echo": NewKeys(sec)}, now: clk.now, seen: map[string]time.Time{}}
	srv := httptest.NewServer(z)
	defer srv.Close()
	pr := &program{id: "prog-echo", keys: zonewire.NewKeys(zwSecret(t, sec)), guard: zonewire.NewGuard(), now: clk.now}
	inv := zonewire.Invoke{Interface: "sync_msg", CorpID: "wwdemo", AgentID: 1000002, AbilityID: "invoke_sync_msg", Request: json.RawMessage(`{"cursor":"","limit":10}`)}
	hdr := func() zonewire.Header {
		return zonewire.Header{ProgramID: "prog-echo", SecretVer: 4, RequestID: zonewire.NewRequestID(), Timestamp: clk.unix()}
	}
	t.Run("ok", func(t *testing.T) {
		out, code := pr.invoke(t, srv.URL, hdr(), inv, nil)
		if code != 0 {
			t.Fatalf("exception %d", code)
		}
		var res struct {
			Errcode   int             `json:"errcode"`
			Interface string          `json:"interface"`
			Request   json.RawMessage `json:"request"`
		}
		if err := json.Unmarshal(out, &res); err != nil || res.Interface != "sync_msg" || string(res.Request) != string(inv.Request) {
			t.Fatalf("result %s (%v)", out, err)
		}
	})
	t.Run("upper-case header names", func(t *testing.T) {
		_, code := pr.invoke(t, srv.URL, hdr(), inv, func(r *http.Request, b []byte) []byte {
			h := http.Header{}
			for k, v := range r.Header {
				h[strings.ToUpper(k)] = v
			}
			r.Header = h
			return b
		})
		if code != 0 {
			t.Fatalf("exception %d", code)
		}
	})
	refused := []struct {
		name   string
		hd     func() zonewire.Header
		mutate func(*http.Request, []byte) []byte
		want   int
	}{
		{"unknown program", func() zonewire.Header { h := hdr(); h.ProgramID = "prog-nobody"; return h }, nil, ExcUnknownPrg},
		{"no program id", hdr, setHeader(HeaderProgramID, ""), ExcMalformed},
		{"program id changed", hdr, setHeader(HeaderProgramID, "prog-other"), ExcUnknownPrg},
		{"tampered body", hdr, func(_ *http.Request, b []byte) []byte { return tamper(b) }, ExcAuth},
		{"tampered request id", hdr, setHeader(HeaderRequestID, NewRequestID()), ExcAuth},
		{"old secret version", func() zonewire.Header { h := hdr(); h.SecretVer = 3; return h }, nil, ExcSecretVer},
		{"timestamp 301 s old", func() zonewire.Header { h := hdr(); h.Timestamp -= 301; return h }, nil, ExcTimestamp},
		{"timestamp 301 s ahead", func() zonewire.Header { h := hdr(); h.Timestamp += 301; return h }, nil, ExcTimestamp},
		{"duplicate header", hdr, func(r *http.Request, b []byte) []byte {
			r.Header["Ww-Timestamp"] = []string{strconv.FormatInt(clk.unix(), 10)}
			return b
		}, ExcMalformed},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			if _, code := pr.invoke(t, srv.URL, tc.hd(), inv, tc.mutate); code != tc.want {
				t.Fatalf("exception %d, want %d", code, tc.want)
			}
		})
	}
	t.Run("replay", func(t *testing.T) {
		hd := hdr()
		var first []byte
		if _, code := pr.invoke(t, srv.URL, hd, inv, func(_ *http.Request, b []byte) []byte { first = bytes.Clone(b); return b }); code != 0 {
			t.Fatalf("first: %d", code)
		}
		if _, code := pr.invoke(t, srv.URL, hd, inv, func(_ *http.Request, _ []byte) []byte { return first }); code != ExcReplay {
			t.Fatalf("replay: exception %d, want %d", code, ExcReplay)
		}
	})
}

// TestApplyOnTheWire checks that Apply's headers leave Go's HTTP client in
// lower case, as WeCom's ww-* headers do, for both implementations.
func TestApplyOnTheWire(t *testing.T) {
	// req.Write writes what the client sends on a connection.
	hd := Header{ProgramID: "prog-echo", SecretVer: 1, RequestID: NewRequestID(), Timestamp: 1767225600}
	for i, apply := range []func(http.Header){
		func(h http.Header) { hd.Apply(h, true) },
		func(h http.Header) { toZW(hd).Apply(h, true) },
	} {
		req, _ := http.NewRequest(http.MethodPost, "http://example/spec/v1/invoke", strings.NewReader("x"))
		req.Header.Set("Ww-Secret-Ver", "9") // replaced, not duplicated
		apply(req.Header)
		var raw bytes.Buffer
		if err := req.Write(&raw); err != nil {
			t.Fatal(err)
		}
		s := raw.String()
		for _, line := range []string{
			"ww-secret-ver: 1\r\n", "ww-request-id: " + hd.RequestID + "\r\n",
			"ww-timestamp: 1767225600\r\n", "ww-program-id: prog-echo\r\n",
		} {
			if !strings.Contains(s, line) {
				t.Errorf("impl %d: request lacks %q:\n%s", i, line, s)
			}
		}
		if strings.Contains(s, "Ww-Secret-Ver") {
			t.Errorf("impl %d: canonical duplicate left in:\n%s", i, s)
		}
		back, err := http.ReadRequest(bufio.NewReader(strings.NewReader(s)))
		if err != nil {
			t.Fatal(err)
		}
		if rhd, err := ReadHeader(back.Header, ""); err != nil || rhd != hd {
			t.Errorf("impl %d: ReadHeader after the wire = %+v, %v", i, rhd, err)
		}
	}
}
