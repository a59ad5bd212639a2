// Package wecomflows runs the flows every port of WeCom's sample program
// (专区程序示例) must pass on a real zone, whatever language and SDK it is
// written in: the Go example on zonesdk, and the Python, Java and C++ ones
// on OpenZone's drop-ins of WeCom's SDKs. One harness, so the languages are
// held to exactly the same flows:
//
//   - deployed: the zone starts the program from its seed's deploy.command;
//     a sync call, an SDK invoke from inside a call, an async call with its
//     report, and the choreography of new messages (event →
//     spec_notify_app → program_notify to the app → get_callback_data →
//     invoke_sync_msg → decrypted and displayed), driven by the real
//     example app (examples/zoneapp), and the line the program logged
//     about the event found in the zone's logs by the event's request id;
//   - debug (receiver URL): the program runs "on the developer's machine"
//     with only OPENZONE_API and the two tokens, and the same flows reach it;
//   - debug (listener): the same, through `openzone debug listen`;
//   - exceptions: tampered bodies, raw v1 bodies, missing and wrong-case
//     headers get the SDK's exception answer (200 with ww-exception); a GET
//     gets 405.
package wecomflows

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/freeport"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonewire"
)

// Program is a port of WeCom's sample program. Both commands serve the
// sample's abilities (echo, invoke_<interface>, get_callback_data), handle
// events and async calls, and find the zone through the environment:
// OPENZONE_API, OPENZONE_PROGRAM_ID, OPENZONE_SECRET, PORT and HOST when
// deployed or run with a secret; OPENZONE_API, OPENZONE_DEBUG_TOKEN and
// OPENZONE_ACCESS_TOKEN in debug mode (then it opens the SDK half itself,
// and prints "debug mode: SDK half open" once the zone accepted).
type Program struct {
	// Deploy is the seed's deploy.command for an instance named name (the
	// echo ability answers served_by: name).
	Deploy func(name string) []string
	// Local returns the command that runs the program on this machine,
	// listening on 127.0.0.1:port, answering served_by: name. The harness
	// adds the environment to what cmd.Env holds.
	Local func(port int, name string) *exec.Cmd
}

// The app's callback (program_notify) settings.
const (
	cbToken  = "flowtoken"
	cbAESKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	corpID   = "wwflow"
	secret   = "flow-secret"
)

// output protocol of get_callback_data: the union of every event's fields
// beside errcode/errmsg, as WeCom's sample declares it.
const callbackOutput = `{"errcode": 0, "errmsg": "", "event_type": "", "timestamp": 0, "conversation_new_message": {"token": ""}, "hit_keyword": {"token": ""}, "chat_archive_audit_approved": {"userid": "", "external_userid": "", "chatid": ""}, "auth_knowledge_base": {"knowledge_base_id": "", "knowledge_base_name": ""}, "unauth_knowledge_base": {"knowledge_base_id": "", "knowledge_base_name": ""}, "delete_knowledge_base": {"knowledge_base_id": "", "knowledge_base_name": ""}, "knowledge_base_learn_done": {"knowledge_base_id": "", "knowledge_base_name": "", "doc_id": "", "learn_status": 0}, "chat_archive_export_finished": {"jobid": ""}}`

const seed = `
providers: [{id: isv, name: ISV}]
corps:
  - corpid: ` + corpID + `
    name: Flow Corp
    members: [{userid: zhangsan, name: 张三}]
    external_contacts: [{external_userid: wmcustomer1, name: 客户一}]
programs:
  - id: prog-deployed
    provider: isv
    name: Deployed sample
    deploy: {command: %[1]s, instances: 1}
    abilities: &abilities
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
      - {id: get_callback_data, input: {}, output: ` + callbackOutput + `}
      - id: invoke_sync_msg
        input: {"cursor": "", "token": "", "limit": 0}
        output: {"errcode": 0, "errmsg": "", "has_more": 0, "next_cursor": "", "msg_list": null}
      - id: invoke_ping
        input: {}
        output: {"errcode": 0, "errmsg": "", "program_id": "", "corpid": "", "agentid": 0, "ability_id": "", "has_job_info": false, "request": null}
  - id: prog-dev
    provider: isv
    name: Sample in development
    abilities: *abilities
apps:
  - corpid: ` + corpID + `
    agentid: 1000002
    type: self_built
    secret: ` + secret + `
    callback: {url: "%[2]s", token: ` + cbToken + `, encoding_aes_key: ` + cbAESKey + `}
    programs: [prog-deployed, prog-dev]
`

// Run runs every flow against p, each as a subtest, on one zone.
func Run(t *testing.T, p Program) {
	appPort := port(t)
	cmd, _ := json.Marshal(p.Deploy("deployed"))
	z := testenv.Start(t, testenv.Options{
		Seed:        fmt.Sprintf(seed, cmd, fmt.Sprintf("http://127.0.0.1:%d/callback", appPort)),
		CallTimeout: 10 * time.Second,
	})
	f := &flows{t: t, z: z, p: p, appPort: appPort}
	t.Run("deployed", func(t *testing.T) {
		testenv.Eventually(t, "the deployed instance to answer", func() bool {
			r := z.PostApp("/cgi-bin/chatdata/sync_call_program", f.token(), echoCall("prog-deployed", "up"))
			return testenv.Errcode(r) == 0
		})
		f.calls(t, "prog-deployed", "deployed")
		f.choreography(t, "prog-deployed")
	})
	t.Run("debug-receiver", func(t *testing.T) {
		local := f.debugLocal(t, "prog-dev", "local")
		f.setReceiver(t, "prog-dev", local.url)
		f.openAppHalf(t, "prog-dev")
		f.calls(t, "prog-dev", "local")
		f.choreography(t, "prog-dev")
	})
	t.Run("debug-listen", func(t *testing.T) {
		local := f.debugLocal(t, "prog-dev", "listened")
		// The receiver URL names a closed port: while it is connected, the
		// listener is the receiver, and only it can reach the program.
		f.setReceiver(t, "prog-dev", fmt.Sprintf("http://127.0.0.1:%d/", port(t)))
		f.openAppHalf(t, "prog-dev")
		lc := exec.Command(testenv.CLI(t), "debug", "listen", "prog-dev", "--zone", z.URL, "--admin-token", z.AdminToken(),
			"--debug-token", f.debugToken(t, "prog-dev"), "--forward-to", local.url, "--json")
		out := start(t, lc)
		testenv.Eventually(t, "the listener to connect", func() bool { return strings.Contains(out.String(), `"type":"connected"`) })
		f.calls(t, "prog-dev", "listened")
		f.choreography(t, "prog-dev")
		if !strings.Contains(out.String(), `"kind":"call"`) || !strings.Contains(out.String(), `"kind":"event"`) {
			t.Errorf("the listener did not carry the call and the event:\n%s", out.String())
		}
	})
	t.Run("exceptions", func(t *testing.T) { exceptions(t, p) })
}

type flows struct {
	t       *testing.T
	z       *testenv.Zone
	p       Program
	appPort int
	keyVer  int
}

func (f *flows) token() string { return f.z.Token(corpID, secret) }

func echoCall(program, text string) map[string]any {
	return map[string]any{"program_id": program, "ability_id": "echo", "request_data": `{"text":"` + text + `"}`, "notify_id": ""}
}

// calls: a sync call, an invoke from inside a call, an async call and its
// reported result, all served by the instance named servedBy.
func (f *flows) calls(t *testing.T, program, servedBy string) {
	tok := f.token()
	r := f.z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, echoCall(program, "你好，专区"))
	if want := `{"text":"你好，专区","served_by":"` + servedBy + `"}`; testenv.Errcode(r) != 0 || !jsonEqual(r["response_data"], want) {
		t.Fatalf("sync echo: %s, want response_data %s", testenv.Describe(r), want)
	}
	r = f.z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, map[string]any{"program_id": program, "ability_id": "invoke_ping", "request_data": `{}`})
	var ping struct {
		Errcode   int    `json:"errcode"`
		ProgramID string `json:"program_id"`
		CorpID    string `json:"corpid"`
		AgentID   int64  `json:"agentid"`
		AbilityID string `json:"ability_id"`
	}
	json.Unmarshal([]byte(fmt.Sprint(r["response_data"])), &ping)
	if testenv.Errcode(r) != 0 || ping.Errcode != 0 || ping.ProgramID != program || ping.CorpID != corpID || ping.AgentID != 1000002 || ping.AbilityID != "invoke_ping" {
		t.Fatalf("invoke_ping: %s", testenv.Describe(r))
	}
	r = f.z.PostApp("/cgi-bin/chatdata/async_program_task", tok, echoCall(program, "later"))
	jobID, _ := r["jobid"].(string)
	if testenv.Errcode(r) != 0 || jobID == "" {
		t.Fatalf("async_program_task: %s", testenv.Describe(r))
	}
	testenv.Eventually(t, "the async result", func() bool {
		r = f.z.PostApp("/cgi-bin/chatdata/async_program_result", tok, map[string]any{"jobid": jobID})
		return testenv.Errcode(r) != openzone.ErrWaitingResult
	})
	if want := `{"text":"later","served_by":"` + servedBy + `"}`; testenv.Errcode(r) != 0 || !jsonEqual(r["response_data"], want) {
		t.Fatalf("async_program_result: %s, want response_data %s", testenv.Describe(r), want)
	}
}

// choreography: a new message → conversation_new_message to program →
// spec_notify_app → program_notify to the example app → get_callback_data
// → invoke_sync_msg → the message decrypted and shown by the app.
func (f *flows) choreography(t *testing.T, program string) {
	f.keyVer++ // each run of the app sets a new key: versions only go up
	app := exec.Command(testenv.Build(t, "github.com/openzone/openzone/examples/zoneapp"),
		"--addr", fmt.Sprintf("127.0.0.1:%d", f.appPort), "--zone", f.z.URL, "--corpid", corpID, "--secret", secret,
		"--token", cbToken, "--aes-key", cbAESKey, "--program", program,
		"--key", filepath.Join(t.TempDir(), "app.pem"), "--gen-key", "--set-key", "--key-ver", strconv.Itoa(f.keyVer))
	appLog := start(t, app)
	if !eventually(20*time.Second, func() bool {
		a, err := f.z.Store().AppGet(context.Background(), corpID, 1000002)
		_, kerr := f.z.Store().AppPublicKeyGet(context.Background(), corpID, 1000002)
		return err == nil && kerr == nil && a.ReceiveProgramID == program
	}) {
		t.Fatalf("the example app did not set its public key and receiving program %s; its log:\n%s", program, appLog.String())
	}
	text := "您好，" + program + " " + strconv.FormatInt(time.Now().UnixNano(), 36)
	var out map[string]any
	msg := `{"sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":2,"id":"wmcustomer1"}],"msgtype":1,"text":{"content":"` + text + `"}}`
	if st := f.z.Admin("POST", "/admin/v1/corps/"+corpID+"/messages", strings.NewReader(msg), &out); st != 200 {
		t.Fatalf("ingest: HTTP %d %v", st, out)
	}
	var shown []struct{ MsgID, Sender, Text string }
	ok := eventually(30*time.Second, func() bool {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/messages", f.appPort))
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		shown = nil
		json.NewDecoder(resp.Body).Decode(&shown)
		for _, m := range shown {
			if m.MsgID == out["msgid"] && m.Sender == "zhangsan" && strings.Contains(m.Text, text) {
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("the example app did not display message %v (it shows %+v)\napp log:\n%s", out["msgid"], shown, appLog.String())
	}
	f.eventLogged(t, program)
}

// eventLogged: the line the program logged through its SDK while it served
// the event reaches the zone's logs (日志查询) under the event call's
// request id, as the inspector finds it.
func (f *flows) eventLogged(t *testing.T, program string) {
	var rid string
	var page struct {
		Lines []struct {
			ReqID string `json:"req_id"`
			Text  string `json:"text"`
			Level int    `json:"level"`
		} `json:"lines"`
	}
	ok := eventually(20*time.Second, func() bool {
		var tr struct {
			Traffic []struct {
				RequestID string `json:"request_id"`
				Errcode   int    `json:"errcode"`
			} `json:"traffic"`
		}
		f.z.Admin("GET", "/admin/v1/traffic?kind=event&limit=1&program_id="+program, nil, &tr)
		if len(tr.Traffic) == 0 || tr.Traffic[0].Errcode != 0 {
			return false
		}
		rid = tr.Traffic[0].RequestID
		page.Lines = nil
		f.z.Admin("GET", "/admin/v1/logs?program_id="+program+"&req_id="+rid, nil, &page)
		for _, l := range page.Lines {
			if strings.Contains(l.Text, "stored under notify_id") && l.Level == openzone.LogLevelInfo {
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("no INFO line \"… stored under notify_id …\" with the event's request id %s in the zone's logs of %s: %+v", rid, program, page.Lines)
	}
}

func (f *flows) debugToken(t *testing.T, program string) string {
	var out struct {
		DebugToken string `json:"debug_token"`
	}
	if st := f.z.Admin("POST", "/admin/v1/programs/"+program+"/debug/token", nil, &out); st != 200 || out.DebugToken == "" {
		t.Fatalf("debug token: HTTP %d %+v", st, out)
	}
	return out.DebugToken
}

func (f *flows) setReceiver(t *testing.T, program, url string) {
	var out map[string]any
	if st := f.z.Admin("PUT", "/admin/v1/programs/"+program+"/debug/receiver", strings.NewReader(`{"url":"`+url+`"}`), &out); st != 200 {
		t.Fatalf("set receiver: HTTP %d %v", st, out)
	}
}

// openAppHalf opens the app's half of debug mode and waits until both are.
func (f *flows) openAppHalf(t *testing.T, program string) {
	tok := f.token()
	if r := f.z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, map[string]any{"program_id": program, "debug_token": f.debugToken(t, program)}); testenv.Errcode(r) != 0 {
		t.Fatalf("open_debug_mode: %s", testenv.Describe(r))
	}
	testenv.Eventually(t, "debug mode on (both halves)", func() bool {
		r := f.z.PostApp("/cgi-bin/chatdata/check_debug_mode", tok, map[string]any{"program_id": program})
		return r["debug_mode_status"] == float64(2)
	})
}

type local struct {
	url string
	log *buffer
}

// debugLocal starts the program on this machine in debug mode: only
// OPENZONE_API and the two tokens (no program id, no secret).
func (f *flows) debugLocal(t *testing.T, program, name string) local {
	p := port(t)
	cmd := f.p.Local(p, name)
	cmd.Env = append(append(cleanEnv(), cmd.Env...), "OPENZONE_API="+f.z.URL, "OPENZONE_DEBUG_TOKEN="+f.debugToken(t, program),
		"OPENZONE_ACCESS_TOKEN="+f.token())
	out := start(t, cmd)
	waitPort(t, p, out)
	// Until the program has opened its SDK half, the zone may still hold
	// the debug secret of the previous run's program (debug mode already
	// says 2) and seal calls this one cannot open.
	if !eventually(20*time.Second, func() bool { return strings.Contains(out.String(), "debug mode: SDK half open") }) {
		t.Fatalf("the program did not print %q; its output:\n%s", "debug mode: SDK half open", out.String())
	}
	return local{url: fmt.Sprintf("http://127.0.0.1:%d/", p), log: out}
}

// exceptions runs the program with a production secret and sends it
// refused and accepted packets directly.
func exceptions(t *testing.T, p Program) {
	const program = "prog-exc"
	sec := zonewire.NewSecret(1)
	keys := zonewire.NewKeys(sec)
	pt := port(t)
	cmd := p.Local(pt, "exc")
	cmd.Env = append(append(cleanEnv(), cmd.Env...), "OPENZONE_API=http://127.0.0.1:1", "OPENZONE_PROGRAM_ID="+program, "OPENZONE_SECRET="+sec.String())
	log := start(t, cmd)
	waitPort(t, pt, log)
	url := fmt.Sprintf("http://127.0.0.1:%d/", pt)
	call, _ := json.Marshal(zonewire.Call{CorpID: corpID, AgentID: 1000002, CallType: 1, Data: `{"text":"x"}`, AbilityID: "echo"})
	header := func() zonewire.Header {
		return zonewire.Header{ProgramID: program, SecretVer: 1, RequestID: zonewire.NewRequestID(), Timestamp: time.Now().Unix()}
	}
	names := func(style string) func(string) string {
		switch style {
		case "canonical":
			return http.CanonicalHeaderKey
		case "upper":
			return strings.ToUpper
		}
		return func(s string) string { return s }
	}
	send := func(hd zonewire.Header, body []byte, name func(string) string, drop string) (int, http.Header, []byte) {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		for k, v := range map[string]string{zonewire.HeaderSecretVer: strconv.Itoa(hd.SecretVer), zonewire.HeaderRequestID: hd.RequestID,
			zonewire.HeaderTimestamp: strconv.FormatInt(hd.Timestamp, 10)} {
			if k != drop {
				req.Header[name(k)] = []string{v}
			}
		}
		req.Header.Set("Content-Type", zonewire.ContentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v\nprogram log:\n%s", url, err, log.String())
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	for _, style := range []string{"lower", "canonical", "upper"} {
		t.Run("accepted/"+style, func(t *testing.T) {
			hd := header()
			st, h, b := send(hd, keys.Seal(zonewire.PurposeCall, hd, call), names(style), "")
			if st != 200 || h.Get(zonewire.HeaderException) != "" {
				t.Fatalf("HTTP %d, ww-exception %q, body %q\nprogram log:\n%s", st, h.Get(zonewire.HeaderException), b, log.String())
			}
			pt, err := keys.Open(zonewire.PurposeReply, hd, b)
			var rep zonewire.Reply
			if err != nil || json.Unmarshal(pt, &rep) != nil || !jsonEqual(rep.Data, `{"text":"x","served_by":"exc"}`) {
				t.Fatalf("reply %q: %v", pt, err)
			}
		})
	}
	tamper := func(b []byte) []byte {
		i := len(b) / 2
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return b
	}
	for _, tc := range []struct {
		name string
		body func(zonewire.Header) []byte
		drop string
		exc  int
	}{
		{"tampered-body", func(hd zonewire.Header) []byte { return tamper(keys.Seal(zonewire.PurposeCall, hd, call)) }, "", zonewire.ExcAuth},
		{"wrong-key", func(hd zonewire.Header) []byte {
			return zonewire.NewKeys(zonewire.NewSecret(1)).Seal(zonewire.PurposeCall, hd, call)
		}, "", zonewire.ExcAuth},
		{"raw-v1-body", func(hd zonewire.Header) []byte {
			raw := make([]byte, len(call)+zonewire.Overhead)
			copy(raw, call)
			return raw
		}, "", zonewire.ExcMalformed},
		{"missing-timestamp", func(hd zonewire.Header) []byte { return keys.Seal(zonewire.PurposeCall, hd, call) }, zonewire.HeaderTimestamp, zonewire.ExcMalformed},
		{"missing-secret-ver", func(hd zonewire.Header) []byte { return keys.Seal(zonewire.PurposeCall, hd, call) }, zonewire.HeaderSecretVer, zonewire.ExcMalformed},
	} {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			hd := header()
			st, h, b := send(hd, tc.body(hd), names("lower"), tc.drop)
			if got := h.Get(zonewire.HeaderException); st != 200 || got != strconv.Itoa(tc.exc) {
				t.Fatalf("HTTP %d, ww-exception %q (body %q), want 200 with %d\nprogram log:\n%s", st, got, b, tc.exc, log.String())
			}
		})
	}
	t.Run("refused/GET", func(t *testing.T) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("GET: HTTP %d, want 405", resp.StatusCode)
		}
	})
}

// cleanEnv is this process's environment without OPENZONE_* variables.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OPENZONE_") && !strings.HasPrefix(kv, "PORT=") && !strings.HasPrefix(kv, "HOST=") {
			env = append(env, kv)
		}
	}
	return env
}

// start starts cmd, collecting its output, and kills it when the test ends.
func start(t *testing.T, cmd *exec.Cmd) *buffer {
	t.Helper()
	out := &buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return out
}

func waitPort(t *testing.T, p int, log *buffer) {
	t.Helper()
	if !eventually(20*time.Second, func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}) {
		t.Fatalf("the program did not listen on port %d; its output:\n%s", p, log.String())
	}
}

func port(t *testing.T) int {
	t.Helper()
	p, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func eventually(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// jsonEqual reports whether got (a string) holds the JSON value want.
func jsonEqual(got any, want string) bool {
	s, ok := got.(string)
	if !ok {
		return false
	}
	var a, b any
	return json.Unmarshal([]byte(s), &a) == nil && json.Unmarshal([]byte(want), &b) == nil && fmt.Sprint(a) == fmt.Sprint(b)
}

// buffer is a goroutine-safe output collector.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
