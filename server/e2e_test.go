package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonewire"
)

const faultBin = "{{BIN:github.com/openzone/openzone/internal/testenv/faultprog}}"

// testSeed is the zone most tests run against. %[1]s and %[2]s are the URLs
// of two misbehaving HTTP programs started by the test.
const testSeed = `
providers:
  - {id: isv, name: Test ISV, test_corps: [wwtest]}
corps:
  - corpid: wwtest
    name: Test Corp
    members: [{userid: zhangsan, name: Zhang San}]
programs:
  - id: prog-echo
    provider: isv
    name: Echo
    deploy: {command: ["{{EXAMPLE}}", --name, deployed], instances: 2}
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
      - id: invoke_ping
        input: {}
        output: {"errcode": 0, "errmsg": "", "program_id": "", "corpid": "", "agentid": 0, "ability_id": "", "has_job_info": false, "request": null}
      - {id: invoke_no_such_interface, input: {}, output: {"errcode": 0, "errmsg": ""}}
  - id: prog-fault
    provider: isv
    name: Fault
    deploy: {command: ["` + faultBin + `"], instances: 1}
    abilities:
      - {id: text, input: {"text": ""}, output: {"text": ""}}
      - {id: sleep, input: {"ms": 0}, output: {}}
      - {id: fail, input: {}, output: {}}
      - {id: crash, input: {}, output: {}}
      - {id: echo, input: {"text": ""}, output: {"text": ""}}
  - id: prog-garble
    provider: isv
    name: Garbles its replies
    deploy: {url: "%[1]s"}
    abilities: [{id: echo, input: {"text": ""}, output: {"text": ""}}]
  - id: prog-exception
    provider: isv
    name: Cannot open requests
    deploy: {url: "%[2]s"}
    abilities: [{id: echo, input: {"text": ""}, output: {"text": ""}}]
  - id: prog-idle
    provider: isv
    name: Not deployed
    abilities: [{id: echo, input: {"text": ""}, output: {"text": ""}}]
  - id: prog-other
    provider: isv
    name: Not configured for the app
    abilities: [{id: echo, input: {"text": ""}, output: {"text": ""}}]
apps:
  - corpid: wwtest
    agentid: 1000002
    type: self_built
    secret: s1
    programs: [prog-echo, prog-fault, prog-garble, prog-exception, prog-idle]
  - corpid: wwtest
    agentid: 1000003
    type: self_built
    secret: s2
    zone_permission: false
    programs: [prog-echo]
`

// startTestZone boots the test zone with its two misbehaving HTTP programs.
func startTestZone(t *testing.T, db string) *testenv.Zone {
	t.Helper()
	garble := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 64)
		rand.Read(b)
		w.Write(b) // 200 with bytes that do not authenticate
	}))
	t.Cleanup(garble.Close)
	exception := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ww-exception", "-10004") // what the SDK answers when it cannot open a request
	}))
	t.Cleanup(exception.Close)
	return testenv.Start(t, testenv.Options{
		Seed:        fmt.Sprintf(testSeed, garble.URL, exception.URL),
		CallTimeout: 2 * time.Second,
		DB:          db,
	})
}

func syncCall(program, ability, data string) map[string]any {
	return map[string]any{"program_id": program, "ability_id": ability, "request_data": data}
}

func TestSyncCallProgram(t *testing.T) { testenv.Stores(t, testSyncCallProgram) }

func testSyncCallProgram(t *testing.T, db string) {
	z := startTestZone(t, db)
	tok := z.Token("wwtest", "s1")
	noPerm := z.Token("wwtest", "s2")
	const path = "/cgi-bin/chatdata/sync_call_program"

	t.Run("OK", func(t *testing.T) {
		r := z.PostApp(path, tok, syncCall("prog-echo", "echo", `{"text":"你好"}`))
		if testenv.Errcode(r) != 0 {
			t.Fatalf("reply %s", testenv.Describe(r))
		}
		var out map[string]string
		if err := json.Unmarshal([]byte(r["response_data"].(string)), &out); err != nil {
			t.Fatalf("response_data is not a JSON string: %v", err)
		}
		if out["text"] != "你好" || out["served_by"] != "deployed" {
			t.Fatalf("response_data = %v", out)
		}
	})
	t.Run("EmptyNotifyIDAccepted", func(t *testing.T) {
		body := syncCall("prog-echo", "echo", `{"text":"x"}`)
		body["notify_id"] = ""
		if r := z.PostApp(path, tok, body); testenv.Errcode(r) != 0 {
			t.Fatalf("reply %s", testenv.Describe(r))
		}
	})

	cases := []struct {
		name    string
		token   string
		body    any
		errcode int
		msgHas  string
	}{
		{"ErrMissingToken", "", syncCall("prog-echo", "echo", `{}`), openzone.ErrMissingToken, "access_token"},
		{"ErrInvalidToken", "nope", syncCall("prog-echo", "echo", `{}`), openzone.ErrInvalidToken, "access_token"},
		{"ErrZonePermission", noPerm, syncCall("prog-echo", "echo", `{}`), openzone.ErrZonePermission, "permission"},
		{"ErrBodyNotJSON", tok, `{"program_id":`, openzone.ErrBadBodyJSON, "JSON"},
		{"ErrBodyEmpty", tok, ``, openzone.ErrBadBodyJSON, "empty"},
		{"ErrMissingProgramID", tok, map[string]any{"ability_id": "echo", "request_data": "{}"}, openzone.ErrInvalidParam, "program_id"},
		{"ErrProgramIDNotString", tok, map[string]any{"program_id": 7, "ability_id": "echo", "request_data": "{}"}, openzone.ErrInvalidParam, "program_id"},
		{"ErrMissingAbilityID", tok, map[string]any{"program_id": "prog-echo", "request_data": "{}"}, openzone.ErrInvalidParam, "ability_id"},
		{"ErrMissingRequestData", tok, map[string]any{"program_id": "prog-echo", "ability_id": "echo"}, openzone.ErrInvalidParam, "request_data"},
		{"ErrRequestDataObject", tok, map[string]any{"program_id": "prog-echo", "ability_id": "echo", "request_data": map[string]any{"text": "x"}}, openzone.ErrInvalidParam, "request_data"},
		{"ErrUnknownProgram", tok, syncCall("prog-nope", "echo", `{}`), openzone.ErrBadProgramID, "prog-nope"},
		{"ErrNotAssociated", tok, syncCall("prog-other", "echo", `{}`), openzone.ErrNotAssociated, "prog-other"},
		{"ErrUnknownAbility", tok, syncCall("prog-echo", "nope", `{}`), openzone.ErrAbilityNotFound, "nope"},
		{"ErrRequestNotJSON", tok, syncCall("prog-echo", "echo", `{"text":`), openzone.ErrBadRequestJSON, "request_data"},
		{"ErrRequestMismatchType", tok, syncCall("prog-echo", "echo", `{"text":1}`), openzone.ErrRequestMismatch, "text"},
		{"ErrRequestMismatchKey", tok, syncCall("prog-echo", "echo", `{"foo":"x"}`), openzone.ErrRequestMismatch, "foo"},
		// The input check comes before the deployment check, as in WeCom.
		{"ErrMismatchBeforeNotDeployed", tok, syncCall("prog-idle", "echo", `{"foo":1}`), openzone.ErrRequestMismatch, "foo"},
		{"ErrNotDeployed", tok, syncCall("prog-idle", "echo", `{"text":"x"}`), openzone.ErrNotDeployed, "prog-idle"},
		{"ErrResultNotJSON", tok, syncCall("prog-fault", "text", `{"text":"not json"}`), openzone.ErrBadResultJSON, "JSON"},
		{"ErrResultMismatch", tok, syncCall("prog-fault", "text", `{"text":"{\"x\":1}"}`), openzone.ErrResultMismatch, "x"},
		{"ErrResultExtraKey", tok, syncCall("prog-fault", "echo", `{"text":"a"}`), openzone.ErrResultMismatch, "served_by"},
		{"ErrProgramStatus", tok, syncCall("prog-fault", "fail", `{}`), openzone.ErrProgramStatus, "500"},
		{"ErrProgramTimeout", tok, syncCall("prog-fault", "sleep", `{"ms":4000}`), openzone.ErrProgramTimeout, "prog-fault"},
		{"ErrReplyDoesNotAuthenticate", tok, syncCall("prog-garble", "echo", `{"text":"x"}`), openzone.ErrProgramDecrypt, "authenticate"},
		{"ErrProgramException", tok, syncCall("prog-exception", "echo", `{"text":"x"}`), openzone.ErrProgramDecrypt, "-10004"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := z.PostApp(path, tc.token, tc.body)
			if got := testenv.Errcode(r); got != tc.errcode {
				t.Fatalf("errcode = %d, want %d (%s)", got, tc.errcode, testenv.Describe(r))
			}
			msg, _ := r["errmsg"].(string)
			if !strings.Contains(msg, tc.msgHas) || !strings.Contains(msg, "hint: [") {
				t.Fatalf("errmsg %q should name %q and carry a hint", msg, tc.msgHas)
			}
			if _, ok := r["response_data"]; ok {
				t.Fatalf("an error reply carries response_data: %s", testenv.Describe(r))
			}
		})
	}

	t.Run("ErrBodyTooLarge", func(t *testing.T) {
		big := `{"program_id":"prog-echo","ability_id":"echo","request_data":"{\"text\":\"` + strings.Repeat("a", 3<<20) + `\"}"}`
		r := z.PostApp(path, tok, big)
		if got := testenv.Errcode(r); got != openzone.ErrRequestTooLarge {
			t.Fatalf("errcode = %d, want %d", got, openzone.ErrRequestTooLarge)
		}
	})
	t.Run("ErrTokenExpired", func(t *testing.T) {
		z2 := startTestZone(t, testenv.Fresh(t, db))
		tok2 := z2.Token("wwtest", "s1")
		z2.Clock.Advance(openzone.TokenTTL + time.Second)
		r := z2.PostApp(path, tok2, syncCall("prog-echo", "echo", `{"text":"x"}`))
		if got := testenv.Errcode(r); got != openzone.ErrTokenExpired {
			t.Fatalf("errcode = %d, want %d", got, openzone.ErrTokenExpired)
		}
		if fresh := z2.Token("wwtest", "s1"); fresh == tok2 {
			t.Fatal("gettoken after expiry returned the expired token")
		}
	})
	t.Run("UnknownChatdataAPI", func(t *testing.T) {
		r := z.PostApp("/cgi-bin/chatdata/no_such_api", tok, `{}`)
		if got := testenv.Errcode(r); got == 0 {
			t.Fatalf("unknown API answered errcode 0")
		}
	})
	// Last: the crash takes the only fault instance down.
	t.Run("CrashedInstanceRestarted", func(t *testing.T) {
		r := z.PostApp(path, tok, syncCall("prog-fault", "crash", `{}`))
		if got := testenv.Errcode(r); got != openzone.ErrCallProgram {
			t.Fatalf("errcode = %d, want %d (%s)", got, openzone.ErrCallProgram, testenv.Describe(r))
		}
		testenv.Eventually(t, "the crashed instance to be restarted", func() bool {
			for _, in := range z.Supervisor().Instances("prog-fault") {
				if in.Restarts >= 1 && in.State == "healthy" {
					return true
				}
			}
			return false
		})
		r = z.PostApp(path, tok, syncCall("prog-fault", "text", `{"text":"{\"text\":\"back\"}"}`))
		if testenv.Errcode(r) != 0 || r["response_data"] != `{"text":"back"}` {
			t.Fatalf("after restart: %s", testenv.Describe(r))
		}
	})
}

func TestGetToken(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: `
corps: [{corpid: wwa, name: A}]
apps: [{corpid: wwa, agentid: 1000001, type: self_built, secret: sa}]
`})
	cases := []struct {
		name    string
		query   string
		errcode int
	}{
		{"ErrMissingCorpID", "corpsecret=sa", openzone.ErrMissingCorpID},
		{"ErrMissingSecret", "corpid=wwa", openzone.ErrMissingSecret},
		{"ErrBadCorpID", "corpid=wwnope&corpsecret=sa", openzone.ErrInvalidCorpID},
		{"ErrBadSecret", "corpid=wwa&corpsecret=wrong", openzone.ErrInvalidSecret},
		{"OK", "corpid=wwa&corpsecret=sa", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var r map[string]any
			if st := z.GetJSON("/cgi-bin/gettoken?"+tc.query, &r); st != 200 {
				t.Fatalf("HTTP %d", st)
			}
			if got := testenv.Errcode(r); got != tc.errcode {
				t.Fatalf("errcode = %d, want %d (%s)", got, tc.errcode, testenv.Describe(r))
			}
		})
	}
	t.Run("SameTokenWhileValid", func(t *testing.T) {
		a := z.Token("wwa", "sa")
		z.Clock.Advance(time.Hour)
		var r map[string]any
		z.GetJSON("/cgi-bin/gettoken?corpid=wwa&corpsecret=sa", &r)
		if r["access_token"] != a {
			t.Fatalf("second gettoken returned a different token")
		}
		if exp := r["expires_in"].(float64); exp > 3601 || exp < 3500 {
			t.Fatalf("expires_in = %v, want the remaining ~3600 s", exp)
		}
	})
}

func TestSetReceiveCallback(t *testing.T) {
	testenv.Stores(t, testSetReceiveCallback)
}

func testSetReceiveCallback(t *testing.T, db string) {
	z := startTestZone(t, db)
	tok := z.Token("wwtest", "s1")
	const path = "/cgi-bin/chatdata/set_receive_callback"
	for _, tc := range []struct {
		name    string
		body    any
		errcode int
	}{
		{"ErrMissingProgramID", map[string]any{}, openzone.ErrInvalidParam},
		{"ErrUnknownProgram", map[string]any{"program_id": "prog-nope"}, openzone.ErrBadProgramID},
		{"ErrNotAssociated", map[string]any{"program_id": "prog-other"}, openzone.ErrNotAssociated},
		{"OK", map[string]any{"program_id": "prog-echo"}, 0},
		{"Replace", map[string]any{"program_id": "prog-fault"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := z.PostApp(path, tok, tc.body)
			if got := testenv.Errcode(r); got != tc.errcode {
				t.Fatalf("errcode = %d, want %d (%s)", got, tc.errcode, testenv.Describe(r))
			}
		})
	}
	app, err := z.Store().AppGet(context.Background(), "wwtest", 1000002)
	if err != nil {
		t.Fatal(err)
	}
	if app.ReceiveProgramID != "prog-fault" {
		t.Fatalf("receive program = %q, want the last one set", app.ReceiveProgramID)
	}
}

// TestInvokeThroughSDK drives the whole loop: app → zone → example program
// → SDK invoke → zone → program → app, and the spread over instances.
func TestInvokeThroughSDK(t *testing.T) { testenv.Stores(t, testInvokeThroughSDK) }

func testInvokeThroughSDK(t *testing.T, db string) {
	z := startTestZone(t, db)
	tok := z.Token("wwtest", "s1")
	r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-echo", "invoke_ping", `{}`))
	if testenv.Errcode(r) != 0 {
		t.Fatalf("reply %s", testenv.Describe(r))
	}
	var ping map[string]any
	json.Unmarshal([]byte(r["response_data"].(string)), &ping)
	if ping["program_id"] != "prog-echo" || ping["corpid"] != "wwtest" || ping["agentid"] != float64(1000002) || ping["ability_id"] != "invoke_ping" {
		t.Fatalf("the SDK context seen by the zone = %v", ping)
	}
	r = z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-echo", "invoke_no_such_interface", `{}`))
	var unk map[string]any
	json.Unmarshal([]byte(r["response_data"].(string)), &unk)
	if unk["errcode"] != float64(openzone.ErrUnknownInterface) || !strings.Contains(unk["errmsg"].(string), "no_such_interface") {
		t.Fatalf("unknown interface reply = %v", unk)
	}

	// Calls spread over healthy instances: wait until both are (a loaded
	// machine may still be starting the second).
	testenv.Eventually(t, "both prog-echo instances healthy", func() bool {
		n := 0
		for _, in := range z.Supervisor().Instances("prog-echo") {
			if in.State == "healthy" {
				n++
			}
		}
		return n == 2
	})
	for i := 0; i < 8; i++ {
		z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-echo", "echo", `{"text":"x"}`))
	}
	var tr struct {
		Traffic []openzone.TrafficRecord `json:"traffic"`
	}
	if st := z.Admin("GET", "/admin/v1/traffic?program_id=prog-echo&limit=50", nil, &tr); st != 200 {
		t.Fatalf("traffic: HTTP %d", st)
	}
	instances := map[string]bool{}
	kinds := map[string]int{}
	for _, rec := range tr.Traffic {
		kinds[rec.Kind]++
		if rec.Kind == openzone.TrafficCall && rec.AbilityID == "echo" {
			instances[rec.Instance] = true
			if rec.Route != openzone.RouteDeployed || rec.TotalMS <= 0 {
				t.Fatalf("call record = %+v", rec)
			}
		}
	}
	if len(instances) != 2 {
		t.Fatalf("calls went to instances %v, want both", instances)
	}
	if kinds[openzone.TrafficInvoke] != 2 || kinds[openzone.TrafficCall] != 10 {
		t.Fatalf("traffic kinds = %v, want 2 invokes and 10 calls", kinds)
	}
}

// TestInvokeRefusals sends hand-made packets to /spec/v1/invoke: every one
// that is tampered, stale, replayed or under the wrong key is refused.
func TestInvokeRefusals(t *testing.T) {
	testenv.Stores(t, testInvokeRefusals)
}

func testInvokeRefusals(t *testing.T, db string) {
	z := startTestZone(t, db)
	sec, err := z.Store().ProgramSecretGet(context.Background(), "prog-echo")
	if err != nil {
		t.Fatal(err)
	}
	good := zonewire.Secret{Ver: sec.Ver}
	copy(good.Key[:], sec.Key)
	keys := zonewire.NewKeys(good)
	body, _ := json.Marshal(zonewire.Invoke{Interface: "ping", CorpID: "wwtest", AgentID: 1000002, Request: json.RawMessage(`{}`)})

	send := func(hd zonewire.Header, sealed []byte) (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", z.URL+"/spec/v1/invoke", bytes.NewReader(sealed))
		hd.Apply(req.Header, true)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		return resp, buf.Bytes()
	}
	header := func() zonewire.Header {
		return zonewire.Header{ProgramID: "prog-echo", SecretVer: good.Ver, RequestID: zonewire.NewRequestID(), Timestamp: time.Now().Unix()}
	}

	t.Run("OK", func(t *testing.T) {
		hd := header()
		resp, raw := send(hd, keys.Seal(zonewire.PurposeInvoke, hd, body))
		if resp.StatusCode != 200 {
			t.Fatalf("HTTP %d: %s", resp.StatusCode, raw)
		}
		pt, err := keys.Open(zonewire.PurposeResult, hd, raw)
		if err != nil {
			t.Fatalf("reply does not open: %v", err)
		}
		if !bytes.Contains(pt, []byte(`"program_id":"prog-echo"`)) {
			t.Fatalf("reply = %s", pt)
		}
	})
	other := zonewire.NewKeys(zonewire.NewSecret(good.Ver))
	cases := []struct {
		name string
		make func() (zonewire.Header, []byte)
		exc  int
	}{
		{"ErrTamperedBody", func() (zonewire.Header, []byte) {
			hd := header()
			b := keys.Seal(zonewire.PurposeInvoke, hd, body)
			tamper(b)
			return hd, b
		}, zonewire.ExcAuth},
		{"ErrTamperedHeader", func() (zonewire.Header, []byte) {
			hd := header()
			b := keys.Seal(zonewire.PurposeInvoke, hd, body)
			hd.Timestamp--
			return hd, b
		}, zonewire.ExcAuth},
		{"ErrWrongKey", func() (zonewire.Header, []byte) {
			hd := header()
			return hd, other.Seal(zonewire.PurposeInvoke, hd, body)
		}, zonewire.ExcAuth},
		{"ErrWrongPurpose", func() (zonewire.Header, []byte) {
			hd := header()
			return hd, keys.Seal(zonewire.PurposeCall, hd, body)
		}, zonewire.ExcAuth},
		{"ErrSecretVersion", func() (zonewire.Header, []byte) {
			hd := header()
			hd.SecretVer = good.Ver + 1
			return hd, keys.Seal(zonewire.PurposeInvoke, hd, body)
		}, zonewire.ExcSecretVer},
		{"ErrStaleTimestamp", func() (zonewire.Header, []byte) {
			hd := header()
			hd.Timestamp -= 301
			return hd, keys.Seal(zonewire.PurposeInvoke, hd, body)
		}, zonewire.ExcTimestamp},
		{"ErrFutureTimestamp", func() (zonewire.Header, []byte) {
			hd := header()
			hd.Timestamp += 301
			return hd, keys.Seal(zonewire.PurposeInvoke, hd, body)
		}, zonewire.ExcTimestamp},
		{"ErrUnknownProgram", func() (zonewire.Header, []byte) {
			hd := header()
			hd.ProgramID = "prog-nope"
			return hd, keys.Seal(zonewire.PurposeInvoke, hd, body)
		}, zonewire.ExcUnknownPrg},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hd, b := tc.make()
			resp, raw := send(hd, b)
			if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("ww-exception") != fmt.Sprint(tc.exc) {
				t.Fatalf("HTTP %d ww-exception %q, want 401 %d (%s)", resp.StatusCode, resp.Header.Get("ww-exception"), tc.exc, raw)
			}
		})
	}
	t.Run("ErrReplay", func(t *testing.T) {
		hd := header()
		b := keys.Seal(zonewire.PurposeInvoke, hd, body)
		if resp, raw := send(hd, b); resp.StatusCode != 200 {
			t.Fatalf("first send: HTTP %d %s", resp.StatusCode, raw)
		}
		resp, _ := send(hd, b)
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("ww-exception") != fmt.Sprint(zonewire.ExcReplay) {
			t.Fatalf("replay: HTTP %d ww-exception %q", resp.StatusCode, resp.Header.Get("ww-exception"))
		}
	})
	t.Run("ErrContextNotAssociated", func(t *testing.T) {
		hd := header()
		b, _ := json.Marshal(zonewire.Invoke{Interface: "ping", CorpID: "wwtest", AgentID: 1000002})
		resp, raw := send(hd, keys.Seal(zonewire.PurposeInvoke, hd, b))
		pt, err := keys.Open(zonewire.PurposeResult, hd, raw)
		if resp.StatusCode != 200 || err != nil {
			t.Fatalf("HTTP %d err %v", resp.StatusCode, err)
		}
		// App 1000002 has prog-echo configured: allowed. App 1000003 has it
		// too but lacks the zone permission: 710641. App 9 does not exist.
		if !bytes.Contains(pt, []byte(`"errcode":0`)) {
			t.Fatalf("reply = %s", pt)
		}
		hd = header()
		b, _ = json.Marshal(zonewire.Invoke{Interface: "ping", CorpID: "wwtest", AgentID: 1000003})
		_, raw = send(hd, keys.Seal(zonewire.PurposeInvoke, hd, b))
		pt, _ = keys.Open(zonewire.PurposeResult, hd, raw)
		if !bytes.Contains(pt, []byte(`"errcode":710641`)) {
			t.Fatalf("invoke for an app without the zone permission: %s, want 710641", pt)
		}
		hd = header()
		b, _ = json.Marshal(zonewire.Invoke{Interface: "ping", CorpID: "wwtest", AgentID: 9})
		_, raw = send(hd, keys.Seal(zonewire.PurposeInvoke, hd, b))
		pt, _ = keys.Open(zonewire.PurposeResult, hd, raw)
		if bytes.Contains(pt, []byte(`"errcode":0`)) {
			t.Fatalf("invoke for an unknown app succeeded: %s", pt)
		}
	})
}

// tamper changes one base64 character in the middle of a sealed body to
// another valid one, so the body still decodes but no longer authenticates.
func tamper(b []byte) []byte {
	b[len(b)/2] = map[bool]byte{true: 'B', false: 'A'}[b[len(b)/2] == 'A']
	return b
}
