package server_test

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/archive"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/server"
)

// Regression tests of issue 16 (hardening), one group per finding.

// hits is an HTTP server standing for an internal service the zone must
// not reach on a caller's behalf: it counts requests and answers a secret.
func hits(t *testing.T, status int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(status)
		fmt.Fprint(w, "internal-secret: s3cr3t-metadata-credentials")
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// TestOutboundRedirect (1): a receiver URL that answers a redirect does not
// make the zone post the sealed packet where it points, and the errmsg the
// app gets quotes no reply body.
func TestOutboundRedirect(t *testing.T) {
	z, _ := startDebugZone(t, "")
	tok := z.Token("wwtest", "s1")
	openDebug(t, z, tok)
	internal, n := hits(t, http.StatusForbidden)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal.URL+"/latest/meta-data/", http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)
	failing, _ := hits(t, http.StatusBadGateway)

	for _, tc := range []struct {
		name, url string
		want      string
	}{
		{"Redirect", redirect.URL, "a redirect"},
		{"ErrorPage", failing.URL, "HTTP 502"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setReceiver(t, z, "prog-dbg", tc.url)
			r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-dbg", "echo", `{"text":"x"}`))
			if got := testenv.Errcode(r); got != openzone.ErrProgramStatus {
				t.Fatalf("errcode %d, want 710676: %s", got, testenv.Describe(r))
			}
			msg := r["errmsg"].(string)
			if strings.Contains(msg, "s3cr3t") || !strings.Contains(msg, tc.want) {
				t.Fatalf("errmsg %q: want %q and no reply body", msg, tc.want)
			}
		})
	}
	if n.Load() != 0 {
		t.Fatalf("the internal service behind the redirect got %d requests, want 0", n.Load())
	}
}

// TestOutboundStrict (1): in strict mode a receiver on loopback is refused
// at dial time, however its address is written, and the allow list admits
// it again.
func TestOutboundStrict(t *testing.T) {
	for _, tc := range []struct {
		name  string
		allow []string
	}{{"Strict", nil}, {"StrictAllowed", []string{"127.0.0.0/8"}}} {
		t.Run(tc.name, func(t *testing.T) {
			z := testenv.Start(t, testenv.Options{Seed: debugSeed, CallTimeout: 2 * time.Second,
				Configure: func(c *server.Config) { c.OutboundStrict, c.OutboundAllow = true, tc.allow }})
			tok := z.Token("wwtest", "s1")
			_, srv, _ := openDebug(t, z, tok)
			port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
			// localhost passes any check of the name; [::ffff:127.0.0.1]
			// is loopback written as IPv6.
			for _, host := range []string{"127.0.0.1", "localhost", "[::ffff:127.0.0.1]"} {
				setReceiver(t, z, "prog-dbg", "http://"+host+":"+port+"/")
				r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-dbg", "echo", `{"text":"x"}`))
				got := testenv.Errcode(r)
				if tc.allow != nil {
					if got != 0 && host != "[::ffff:127.0.0.1]" { // the test server may not listen on IPv6
						t.Fatalf("%s: errcode %d, want 0: %s", host, got, testenv.Describe(r))
					}
					continue
				}
				if got != openzone.ErrProgramConnect || !strings.Contains(r["errmsg"].(string), "outbound policy") {
					t.Fatalf("%s: %s, want 710674 naming the outbound policy", host, testenv.Describe(r))
				}
			}
		})
	}
}

// TestFailedAttemptsLimited (3): failed gettoken and /spec/v1/debug/open
// attempts are counted per source, together, and a source over its
// budget waits (45009) even with the right secret.
func TestFailedAttemptsLimited(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: debugSeed, Configure: func(c *server.Config) { c.FailedAttempts = 4 }})
	tok := z.Token("wwtest", "s1") // a success costs nothing
	for i, path := range []string{
		"/cgi-bin/gettoken?corpid=wwtest&corpsecret=wrong",
		"/cgi-bin/gettoken?corpid=nope&corpsecret=s1",
	} {
		var out map[string]any
		z.GetJSON(path, &out)
		if c := testenv.Errcode(out); c != openzone.ErrInvalidSecret && c != openzone.ErrInvalidCorpID {
			t.Fatalf("attempt %d: %s", i, testenv.Describe(out))
		}
	}
	open := func(accessToken string) map[string]any {
		return z.PostApp("/spec/v1/debug/open", "", map[string]any{"debug_token": "ozdbg_guess", "access_token": accessToken,
			"public_key": "9/hgDcsXdXNbUI7NTlfOrpOdKBcodkSzlbTUmUO0mkk="})
	}
	for range 2 {
		if r := open("guessed-token"); testenv.Errcode(r) != openzone.ErrInvalidToken {
			t.Fatalf("debug/open with a guessed token: %s", testenv.Describe(r))
		}
	}
	var out map[string]any
	z.GetJSON("/cgi-bin/gettoken?corpid=wwtest&corpsecret=s1", &out)
	if testenv.Errcode(out) != openzone.ErrFreqLimit {
		t.Fatalf("gettoken after 4 failures: %s, want 45009", testenv.Describe(out))
	}
	if r := open(tok); testenv.Errcode(r) != openzone.ErrFreqLimit {
		t.Fatalf("debug/open after 4 failures: %s, want 45009", testenv.Describe(r))
	}
}

// TestSpecBodyCaps (3): the program API refuses what is over its limits
// before reading it: an invoke from its Content-Length (413, 45002), the
// SDK half of debug mode past 64 KiB (45002).
func TestSpecBodyCaps(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: debugSeed})
	conn, err := net.Dial("tcp", z.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /spec/v1/invoke HTTP/1.1\r\nHost: zone\r\nww-program-id: prog-dbg\r\nww-secret-ver: 1\r\nContent-Length: %d\r\n\r\n", 1<<30)
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "45002") {
		t.Fatalf("1 GiB invoke: HTTP %d %s, want 413 with 45002", resp.StatusCode, b)
	}
	r := z.PostApp("/spec/v1/debug/open", "", strings.Repeat(" ", 80<<10)+`{"debug_token":"x","access_token":"y","public_key":"z"}`)
	if testenv.Errcode(r) != openzone.ErrRequestTooLarge {
		t.Fatalf("80 KiB debug/open: %s, want 45002", testenv.Describe(r))
	}
}

// TestSeedBounds (4, 5): a seed file or admin API body with a count the
// zone cannot afford, or an id the protocol cannot carry, is refused
// whole where it enters, naming the field (and the line); nothing is
// stored and no process starts.
func TestSeedBounds(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: debugSeed, Configure: func(c *server.Config) { c.MaxInstances = 4 }})
	const head = "providers: [{id: isv2}]\ncorps: [{corpid: ww2}]\n"
	for _, tc := range []struct {
		name, seed, want string
	}{
		{"Instances", head + "programs: [{id: p1, provider: isv2, deploy: {command: [sleep, '1000'], instances: 100000}}]\n",
			"programs[0].deploy.instances: must be from 1 to 16, got 100000"},
		{"ZoneInstances", head + "programs:\n  - {id: p1, provider: isv2, deploy: {command: [sleep, '1000'], instances: 3}}\n  - {id: p2, provider: isv2, deploy: {command: [sleep, '1000'], instances: 3}}\n",
			"over its limit of 4"},
		{"ProgramIDSpace", head + "programs: [{id: 'p 1', provider: isv2}]\n", `programs[0].id: "p 1" has " "`},
		{"ProgramIDNonASCII", head + "programs: [{id: '程序', provider: isv2}]\n", "programs[0].id:"},
		{"ProgramIDLong", head + "programs: [{id: " + strings.Repeat("p", 300) + ", provider: isv2}]\n", "over the limit of 64"},
		{"CorpIDNUL", "corps: [{corpid: \"ww\\0x\"}]\n", "corps[0].corpid:"},
		{"AgentID", head + "apps: [{corpid: ww2, agentid: 1099511627776, type: self_built, secret: s}]\n", "apps[0].agentid: must be an integer from 1 to 2147483647"},
		{"UserID", "corps: [{corpid: ww2, members: [{userid: 'zhang san'}]}]\n", "corps[0].members[0].userid:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out map[string]any
			st := z.Admin("POST", "/admin/v1/seed?name=t.yaml", strings.NewReader(tc.seed), &out)
			msg, _ := out["errmsg"].(string)
			if st != http.StatusBadRequest || testenv.Errcode(out) != openzone.ErrInvalidParam || !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "t.yaml:") {
				t.Fatalf("HTTP %d %v, want 400 40058 with %q and a line", st, out, tc.want)
			}
		})
	}
	var progs struct{ Programs []openzone.Program }
	z.Admin("GET", "/admin/v1/programs", nil, &progs)
	for _, p := range progs.Programs {
		if p.ProviderID == "isv2" {
			t.Fatalf("a refused seed stored program %q", p.ID)
		}
	}

	var out map[string]any
	if st := z.Admin("PUT", "/admin/v1/programs/bad%20id", strings.NewReader(`{"provider":"isv","name":"x"}`), &out); st != 400 || !strings.HasPrefix(out["errmsg"].(string), "program_id:") {
		t.Fatalf("PUT program with a space in its id: HTTP %d %v", st, out)
	}
	if st := z.Admin("PUT", "/admin/v1/programs/prog-big", strings.NewReader(`{"provider":"isv","name":"x","deploy":{"command":["sleep","1000"],"instances":5}}`), &out); st != 400 || !strings.Contains(out["errmsg"].(string), "deploy.instances") {
		t.Fatalf("PUT program with 5 instances in a zone of 4: HTTP %d %v", st, out)
	}
	if st := z.Admin("POST", "/admin/v1/corps/wwtest/messages", strings.NewReader(`{"msgid":"消息 1","sender":{"type":3,"id":"bot"},"chatid":"","receiver_list":[{"type":3,"id":"bot2"}],"msgtype":1,"text":{"content":"hi"}}`), &out); st != 400 || !strings.HasPrefix(out["errmsg"].(string), "msgid:") {
		t.Fatalf("message with a non-ASCII msgid: HTTP %d %v", st, out)
	}
}

// openDebugFor turns debug mode on for the app of tok and program, with an
// in-process SDK program (served_by "in-process") as the receiver.
func openDebugFor(t *testing.T, z *testenv.Zone, tok, program string) {
	t.Helper()
	dt, _ := debugToken(t, z, program)
	p, srv := sdkProgram(t, z, "", nil)
	setReceiver(t, z, program, srv.URL)
	if r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, map[string]any{"program_id": program, "debug_token": dt}); testenv.Errcode(r) != 0 {
		t.Fatalf("open_debug_mode: %s", testenv.Describe(r))
	}
	if _, err := p.OpenDebugMode(context.Background(), dt, tok); err != nil {
		t.Fatalf("OpenDebugMode: %v", err)
	}
	if st := checkDebug(t, z, tok, program); st != 2 {
		t.Fatalf("check_debug_mode %d, want 2", st)
	}
}

// TestScenarioNow (2): the test-scenario rules hold at every call and every
// debug route as they stand now: a corp removed from the provider's test
// corps stops its custom app calling an unreleased program (710672) and
// ends its debug session; a test install undone sends a released
// program's traffic back to its deployed instance.
func TestScenarioNow(t *testing.T) {
	z, _ := startDebugZone(t, "")
	custom := z.Token("wwtest", "s2")     // custom app 2000001, wwtest is a test corp of isv
	thirdParty := z.Token("wwtest", "s5") // third-party app 3000002, test-installed
	openDebugFor(t, z, custom, "prog-dbg")
	openDebugFor(t, z, thirdParty, "prog-rel")
	servedBy := func(tok, program string) (int, string) {
		r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall(program, "echo", `{"text":"x"}`))
		var out struct {
			ServedBy string `json:"served_by"`
		}
		if s, ok := r["response_data"].(string); ok {
			json.Unmarshal([]byte(s), &out)
		}
		return testenv.Errcode(r), out.ServedBy
	}
	if c, by := servedBy(custom, "prog-dbg"); c != 0 || by != "in-process" {
		t.Fatalf("custom app in debug mode: errcode %d served by %q", c, by)
	}
	if c, by := servedBy(thirdParty, "prog-rel"); c != 0 || by != "in-process" {
		t.Fatalf("third-party app in debug mode: errcode %d served by %q", c, by)
	}

	var out map[string]any
	if st := z.Admin("PUT", "/admin/v1/providers/isv/test_corps", strings.NewReader(`{"test_corps":[]}`), &out); st != 200 {
		t.Fatalf("test corps: HTTP %d %v", st, out)
	}
	if c, _ := servedBy(custom, "prog-dbg"); c != openzone.ErrDebugNotAllowed {
		t.Fatalf("custom app calling an unreleased program outside its test corp: errcode %d, want 710672", c)
	}
	r := z.PostApp("/cgi-bin/chatdata/async_program_task", custom, syncCall("prog-dbg", "echo", `{"text":"x"}`))
	if testenv.Errcode(r) != openzone.ErrDebugNotAllowed {
		t.Fatalf("async task of an unreleased program outside a test corp: %s, want 710672", testenv.Describe(r))
	}
	if st := checkDebug(t, z, custom, "prog-dbg"); st != 1 {
		t.Fatalf("check_debug_mode after the test corp went: %d, want 1", st)
	}
	var page struct {
		Sessions []struct {
			AgentID int64 `json:"agentid"`
			AppHalf bool  `json:"app_half"`
			SDKHalf bool  `json:"sdk_half"`
		}
	}
	z.Admin("GET", "/admin/v1/programs/prog-dbg/debug", nil, &page)
	for _, s := range page.Sessions {
		if s.AgentID == 2000001 && (s.AppHalf || s.SDKHalf) {
			t.Fatalf("the custom app's debug session is still open: %+v", page.Sessions)
		}
	}

	if st := z.Admin("PUT", "/admin/v1/corps/wwtest/apps/3000002/test_install", strings.NewReader(`{"test_install":false}`), &out); st != 200 {
		t.Fatalf("test install: HTTP %d %v", st, out)
	}
	if c, by := servedBy(thirdParty, "prog-rel"); c != 0 || by != "deployed" {
		t.Fatalf("released program after the test install was undone: errcode %d served by %q, want the deployed instance", c, by)
	}
	if st := checkDebug(t, z, thirdParty, "prog-rel"); st != 1 {
		t.Fatalf("check_debug_mode after the test install was undone: %d, want 1", st)
	}
}

// TestDisplaySameMsgIDInTwoCorps (6): the display page finds a message by
// what its secret_key proves, so a msgid archived in two corps shows each
// corp's message with that corp's key (the first corp hid the second).
func TestDisplaySameMsgIDInTwoCorps(t *testing.T) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	z := testenv.Start(t, testenv.Options{Seed: debugSeed, ArchiveKey: base64.StdEncoding.EncodeToString(key)})
	for _, corp := range []string{"wwtest", "wwprod"} {
		// A member takes part: only chats with an authorised member are archived.
		if err := z.Store().MemberUpsert(context.Background(), &openzone.Member{CorpID: corp, UserID: "zhangsan"}); err != nil {
			t.Fatal(err)
		}
		body := `{"msgid":"dup-1","sender":{"type":3,"id":"bot"},"receiver_list":[{"type":1,"id":"zhangsan"}],"msgtype":1,"text":{"content":"hello from ` + corp + `"}}`
		var out map[string]any
		if st := z.Admin("POST", "/admin/v1/corps/"+corp+"/messages", strings.NewReader(body), &out); st != 200 {
			t.Fatalf("archive in %s: HTTP %d %v", corp, st, out)
		}
	}
	// Messages archived before key tags existed are tagged at start.
	if _, err := z.Store().(interface{ SQL() *sql.DB }).SQL().Exec(`UPDATE message SET key_tag = NULL`); err != nil {
		t.Fatal(err)
	}
	z.Restart()
	arc := archive.New(archive.Config{Key: key})
	for _, corp := range []string{"wwtest", "wwprod"} {
		m, err := z.Store().MessageGet(context.Background(), corp, "dup-1")
		if err != nil {
			t.Fatal(err)
		}
		sk, err := arc.SecretKey(m)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(z.URL + "/display/message?msgid=dup-1&secret_key=" + sk)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), "hello from "+corp) {
			t.Fatalf("display of corp %s's dup-1: HTTP %d %.300s", corp, resp.StatusCode, b)
		}
	}
}
