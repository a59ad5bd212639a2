package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone/internal/wecomcrypt"
)

const (
	testToken   = "cbToken"
	testAESKey  = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	testProgram = "prog-zone"
)

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func appKey(t *testing.T) *rsa.PrivateKey {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		testKey = k
	})
	return testKey
}

func testLog(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }

// zoneCrypto is the zone's side of the callback: it seals what the app opens.
func zoneCrypto(t *testing.T, corpID string) *wecomcrypt.Crypto {
	t.Helper()
	c, err := wecomcrypt.New(testToken, testAESKey, corpID)
	if err != nil {
		t.Fatal(err)
	}
	c.AgentID = "1000002"
	return c
}

// newTestApp returns an app on the fake zone, registered, and its server.
func newTestApp(t *testing.T, z *fakeZone) (*app, *httptest.Server) {
	t.Helper()
	cb, err := newCallbackCrypto(testToken, testAESKey, z.corpID)
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(t.Context(), newZoneClient(z.srv.URL, z.corpID, z.secret), cb, appKey(t), testProgram, testLog(t))
	pub, err := publicKeyPEM(a.key)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.register(t.Context(), pub, 1); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.handler())
	t.Cleanup(srv.Close)
	return a, srv
}

// notify posts a program_notify callback as the zone does; it returns the
// HTTP status and body.
func notify(t *testing.T, url, corpID, notifyID string) (int, string) {
	t.Helper()
	msg := wecomcrypt.EncodeProgramNotify(corpID, time.Now().Unix(), notifyID, 0)
	return postCallback(t, zoneCrypto(t, corpID), url, msg)
}

func postCallback(t *testing.T, c *wecomcrypt.Crypto, url string, msg []byte) (int, string) {
	t.Helper()
	q, body, err := c.SealCallback(msg, time.Now().Unix(), "")
	if err != nil {
		t.Fatal(err)
	}
	return post(t, url+"/callback?"+q.Encode(), body)
}

func post(t *testing.T, url string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "text/xml", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitApp(t *testing.T, a *app) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	if err := a.wait(ctx); err != nil {
		t.Fatal("choreography did not finish:", err)
	}
}

func getMessages(t *testing.T, url string) []shownMessage {
	t.Helper()
	resp, err := http.Get(url + "/messages")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("/messages Content-Type %q", ct)
	}
	var out []shownMessage
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func newMessageEvent(token string) string {
	return `{"event_type":"conversation_new_message","timestamp":1700000000,"conversation_new_message":{"token":"` + token + `"}}`
}

func TestChoreography(t *testing.T) {
	z := newFakeZone(t)
	a, srv := newTestApp(t, z)
	z.mu.Lock()
	receiver, pub, ver := z.receiver, z.pub, z.pubVer
	z.mu.Unlock()
	if receiver != testProgram || pub == nil || ver != 1 {
		t.Fatalf("register: receiver %q, key %v, ver %d", receiver, pub != nil, ver)
	}
	if !pub.Equal(&a.key.PublicKey) {
		t.Fatal("set_public_key got another key")
	}

	z.addMessage("m1", "你好 <world> & co")
	z.addMessage("m2", "second")
	z.addMessage("m3", "third")
	z.addEvent("nid-1", newMessageEvent("tok-1"))
	z.setPages(
		fakePage{cursor: "", next: "c1", msgIDs: []string{"m1", "m2"}, hasMore: 1},
		fakePage{cursor: "c1", next: "c2", msgIDs: []string{"m3"}, hasMore: 0},
	)
	if code, body := notify(t, srv.URL, z.corpID, "nid-1"); code != 200 || body != "success" {
		t.Fatalf("callback answered %d %q", code, body)
	}
	waitApp(t, a)
	got := getMessages(t, srv.URL)
	want := []shownMessage{{"m1", "alice", "你好 <world> & co"}, {"m2", "alice", "second"}, {"m3", "alice", "third"}}
	if !equalShown(got, want) {
		t.Fatalf("/messages = %+v, want %+v", got, want)
	}

	// A second event: the cursor goes on from c2; a message seen before is
	// not shown twice; an expired access_token is renewed.
	z.addMessage("m4", "fourth")
	z.addEvent("nid-2", newMessageEvent("tok-2"))
	z.setPages(fakePage{cursor: "c2", next: "c3", msgIDs: []string{"m3", "m4"}})
	z.mu.Lock()
	z.expireNext = true
	z.mu.Unlock()
	if code, _ := notify(t, srv.URL, z.corpID, "nid-2"); code != 200 {
		t.Fatalf("second callback: %d", code)
	}
	waitApp(t, a)
	got = getMessages(t, srv.URL)
	if !equalShown(got, append(want, shownMessage{"m4", "alice", "fourth"})) {
		t.Fatalf("/messages after the second event = %+v", got)
	}
	if a.cursor != "c3" {
		t.Fatalf("cursor = %q, want c3", a.cursor)
	}

	// The calls, in order.
	type call struct{ ability, notify, cursor, token string }
	var calls []call
	for _, c := range z.syncCalls() {
		var in struct{ Cursor, Token string }
		if c.AbilityID == "invoke_sync_msg" {
			json.Unmarshal([]byte(c.RequestData), &in)
		} else if c.RequestData != "{}" {
			t.Fatalf("get_callback_data request_data %q", c.RequestData)
		}
		calls = append(calls, call{c.AbilityID, c.NotifyID, in.Cursor, in.Token})
	}
	wantCalls := []call{
		{"get_callback_data", "nid-1", "", ""},
		{"invoke_sync_msg", "", "", "tok-1"},
		{"invoke_sync_msg", "", "c1", "tok-1"},
		{"get_callback_data", "nid-2", "", ""},
		{"invoke_sync_msg", "", "c2", "tok-2"},
	}
	if len(calls) != len(wantCalls) {
		t.Fatalf("calls = %+v", calls)
	}
	for i := range calls {
		if calls[i] != wantCalls[i] {
			t.Fatalf("call %d = %+v, want %+v", i, calls[i], wantCalls[i])
		}
	}
	z.mu.Lock()
	tokens := z.tokens
	z.mu.Unlock()
	if tokens != 2 {
		t.Fatalf("gettoken called %d times, want 2 (the second after 42001)", tokens)
	}
}

func equalShown(a, b []shownMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A message the zone will not display (its key does not open it) is
// logged and skipped; the others are shown.
func TestDisplayRefused(t *testing.T) {
	z := newFakeZone(t)
	a, srv := newTestApp(t, z)
	z.addMessage("ok", "fine")
	z.addEvent("n", newMessageEvent("t"))
	z.setPages(fakePage{next: "c1", msgIDs: []string{"unknown", "ok"}})
	notify(t, srv.URL, z.corpID, "n")
	waitApp(t, a)
	if got := getMessages(t, srv.URL); !equalShown(got, []shownMessage{{"ok", "alice", "fine"}}) {
		t.Fatalf("/messages = %+v", got)
	}
	z.mu.Lock()
	refused := z.displayErrs
	z.mu.Unlock()
	if refused != 1 {
		t.Fatalf("display refused %d times", refused)
	}
}

func TestCallbackRefusedOrIgnored(t *testing.T) {
	z := newFakeZone(t)
	a, srv := newTestApp(t, z)
	z.addEvent("nid-kw", `{"event_type":"hit_keyword","timestamp":1,"hit_keyword":{"token":"x"}}`)
	// A program may store the event as a JSON string.
	z.addEvent("nid-str", `"{\"event_type\":\"chat_archive_export_finished\",\"timestamp\":1}"`)
	c := zoneCrypto(t, z.corpID)
	msg := wecomcrypt.EncodeProgramNotify(z.corpID, 1, "nid-x", 0)

	q, body, _ := c.SealCallback(msg, 1700000000, "nonce")
	q.Set("msg_signature", strings.Repeat("0", 40))
	if code, _ := post(t, srv.URL+"/cb?"+q.Encode(), body); code != 400 {
		t.Fatalf("tampered signature: %d", code)
	}
	other := zoneCrypto(t, "wwother")
	if code, _ := postCallback(t, other, srv.URL, msg); code != 400 {
		t.Fatalf("other corp's callback: %d", code)
	}
	if code, _ := post(t, srv.URL+"/cb", []byte("<xml/>")); code != 400 {
		t.Fatalf("no Encrypt: %d", code)
	}
	// A text message to the app's URL: acknowledged, ignored.
	if code, body := postCallback(t, c, srv.URL, []byte("<xml><MsgType><![CDATA[text]]></MsgType><Content>hi</Content></xml>")); code != 200 || body != "success" {
		t.Fatalf("text message: %d %q", code, body)
	}
	// Events other than conversation_new_message: fetched, nothing synced.
	notify(t, srv.URL, z.corpID, "nid-kw")
	notify(t, srv.URL, z.corpID, "nid-str")
	// An unknown notify_id: get_callback_data answers an errcode.
	notify(t, srv.URL, z.corpID, "nid-unknown")
	waitApp(t, a)
	for _, c := range z.syncCalls() {
		if c.AbilityID != "get_callback_data" {
			t.Fatalf("unexpected call %+v", c)
		}
	}
	if n := len(z.syncCalls()); n != 3 {
		t.Fatalf("%d get_callback_data calls, want 3", n)
	}
	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/cb", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("PUT answered %d", resp.StatusCode)
	}
}

func TestURLVerification(t *testing.T) {
	z := newFakeZone(t)
	_, srv := newTestApp(t, z)
	c := zoneCrypto(t, z.corpID)
	q, err := c.SealVerifyURL([]byte("8734521098"), time.Now().Unix(), "")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(srv.URL + "/callback?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "8734521098" {
		t.Fatalf("URL check answered %d %q", resp.StatusCode, b)
	}
	q.Set("timestamp", "1")
	resp, err = http.Get(srv.URL + "/callback?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("bad URL check answered %d", resp.StatusCode)
	}
}

func TestPageText(t *testing.T) {
	page := `<!doctype html><html><head><title>T</title><style>a{}</style></head>
<body><div class="meta">成员 <b>alice</b> &middot; x</div>
<div class="text" id="text">a &lt;b&gt;
 c</div><script>var x = "<p>";</script></body></html>`
	if got := pageText(page); got != "成员 alice · x a <b> c" {
		t.Fatalf("pageText = %q", got)
	}
	if got := messageText(page); got != "a <b> c" {
		t.Fatalf("messageText = %q", got)
	}
	if got := messageText("<p>only <i>this</i></p>"); got != "only this" {
		t.Fatalf("messageText without #text = %q", got)
	}
}

// TestRun drives the command: --gen-key makes the key, --set-key
// registers it with public_key_ver from --key-ver, and the callback URL
// and /messages are served until the context ends.
func TestRun(t *testing.T) {
	z := newFakeZone(t)
	keyPath := filepath.Join(t.TempDir(), "app.pem")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	var stdout bytes.Buffer
	go func() {
		done <- run(ctx, []string{
			"--addr", "127.0.0.1:0", "--zone", z.srv.URL, "--corpid", z.corpID, "--secret", z.secret,
			"--token", testToken, "--aes-key", testAESKey, "--program", testProgram,
			"--key", keyPath, "--gen-key", "--set-key", "--key-ver", "3",
		}, &stdout, t.Output(), func(a net.Addr) { addrc <- a })
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a.String()
	case err := <-done:
		t.Fatal("run:", err)
	}
	if !strings.HasPrefix(stdout.String(), "-----BEGIN PUBLIC KEY-----\n") {
		t.Fatalf("stdout = %q", stdout.String())
	}
	z.mu.Lock()
	ver, receiver := z.pubVer, z.receiver
	z.mu.Unlock()
	if ver != 3 || receiver != testProgram {
		t.Fatalf("registered ver %d program %q", ver, receiver)
	}
	fi, err := os.Stat(keyPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}

	z.addMessage("m1", "hello from run")
	z.addEvent("n1", newMessageEvent("tok"))
	z.setPages(fakePage{next: "c1", msgIDs: []string{"m1"}})
	if code, _ := notify(t, base, z.corpID, "n1"); code != 200 {
		t.Fatalf("callback: %d", code)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := getMessages(t, base)
		if len(got) == 1 && got[0] == (shownMessage{"m1", "alice", "hello from run"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/messages = %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal("run after cancel:", err)
	}
}

func TestRunKeyOnlyAndFlags(t *testing.T) {
	keyPath := filepath.Join(t.TempDir(), "k.pem")
	var out1, out2 bytes.Buffer
	if err := run(t.Context(), []string{"--key", keyPath, "--gen-key"}, &out1, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"--key", keyPath, "--gen-key"}, &out2, io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	if out1.String() != out2.String() || !strings.Contains(out1.String(), "END PUBLIC KEY") {
		t.Fatalf("public keys differ or missing:\n%s\n%s", out1.String(), out2.String())
	}
	b, _ := os.ReadFile(keyPath)
	if k, err := parseKey(b); err != nil || k.N.BitLen() != 2048 {
		t.Fatalf("generated key: %v", err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "--key is required"},
		{[]string{"--key", filepath.Join(t.TempDir(), "none.pem")}, "--gen-key creates it"},
		{[]string{"--key", keyPath}, "missing --corpid, --secret, --token, --aes-key, --program"},
		{[]string{"--key", keyPath, "--corpid", "c", "--secret", "s", "--token", "t", "--aes-key", "short", "--program", "p"}, "--aes-key"},
		{[]string{"--key", keyPath, "extra"}, "unexpected arguments"},
	} {
		err := run(t.Context(), tc.args, io.Discard, io.Discard, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("run %q: %v, want %q", tc.args, err, tc.want)
		}
	}
}

// Setting the key again with the same version is refused by the zone; the
// error says what to do.
func TestSetKeyAgain(t *testing.T) {
	z := newFakeZone(t)
	a, _ := newTestApp(t, z) // registered with version 1
	pub, _ := publicKeyPEM(a.key)
	err := a.register(t.Context(), pub, 1)
	if err == nil || !strings.Contains(err.Error(), "40058") || !strings.Contains(err.Error(), "--key-ver") {
		t.Fatalf("second set_public_key: %v", err)
	}
	if err := a.register(t.Context(), pub, 2); err != nil {
		t.Fatal(err)
	}
}
