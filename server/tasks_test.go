package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

// taskSeed: prog-echo (the example program) and model-sum (the example
// model) deployed; prog-analyze, the example program again, whose echo
// input protocol is a template; prog-caller, never deployed (the test
// invokes as it, in process); prog-manual, deployed at an in-process
// program the test drives by hand; prog-idle, not deployed.
const taskSeed = `
providers: [{id: isv, name: ISV}]
corps:
  - corpid: wwtask
    name: Task Corp
    members: [{userid: zhangsan, name: 张三}, {userid: lisi, name: 李四}]
    external_contacts: [{external_userid: wmc1, name: 客户甲}]
programs:
  - id: prog-echo
    provider: isv
    name: Echo
    deploy: {command: ["{{EXAMPLE}}", "--name", "echo-1"]}
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
      - id: summarize
        input: {"model_id": "", "escape_type": 0, "msg_list": [{"msgid": "", "encrypt_info": {"secret_key": ""}}]}
        output: {"errcode": 0, "errmsg": "", "jobid": "", "status": 0, "response_errcode": 0, "response_data": "", "fail_list": null}
  - id: prog-analyze
    provider: isv
    name: Analyzer
    deploy: {command: ["{{EXAMPLE}}", "--name", "analyze-1"]}
    abilities: [{id: echo, input: {"text": "对话：{chat}|内容：{chatcontent}|{knowledge}"}, output: {"text": "", "served_by": ""}}]
  - id: model-sum
    provider: isv
    kind: model
    name: Summariser
    deploy: {command: ["{{BIN:github.com/openzone/openzone/examples/zonemodel}}"]}
    abilities:
      - id: summarize
        input: {"task": "总结", "prompt": "{chat}", "content": "{chatcontent}", "kb": "{knowledge}", "tags": "{tagjson}"}
        output: {"summary": "", "messages": 0, "speakers": [""], "keywords": [""], "input": ""}
  - {id: prog-caller, provider: isv, name: Caller, abilities: [{id: run, input: {}, output: {}}]}
  - id: prog-manual
    provider: isv
    name: Manual
    deploy: {url: "%s"}
    abilities: [{id: work, input: {"n": 0}, output: {"n": 0, "ok": true}}]
  - {id: prog-idle, provider: isv, name: Idle, abilities: [{id: echo, input: {"text": ""}, output: {"text": ""}}]}
  - id: model-slow
    provider: isv
    kind: model
    name: Slow to acknowledge
    deploy: {url: "%s"}
    abilities: [{id: think, input: {"chat": "{chat}"}, output: {"answer": ""}}]
apps:
  - {corpid: wwtask, agentid: 1000002, type: self_built, secret: s1, programs: [prog-echo, prog-analyze, model-sum, prog-caller, prog-manual, prog-idle, model-slow]}
  - {corpid: wwtask, agentid: 1000003, type: self_built, secret: s2, programs: [prog-echo, prog-caller]}
`

type taskSuite struct {
	z      *testenv.Zone
	tok    string
	caller *zonesdk.Program
	manual *zonesdk.Program
	// jobs the manual program received: their request contexts.
	manualJobs chan *zonesdk.Request
	// slowCalls counts the deliveries model-slow received; the first one
	// it acknowledges only after 6 s.
	slowCalls atomic.Int32
	priv      *rsa.PrivateKey
}

// prodSDK is an in-process program holding programID's production secret,
// as a deployed instance would.
func prodSDK(t *testing.T, z *testenv.Zone, programID string) *zonesdk.Program {
	t.Helper()
	sec, err := z.Store().ProgramSecretGet(context.Background(), programID)
	if err != nil {
		t.Fatal(err)
	}
	secret := zonewire.Secret{Ver: sec.Ver}
	copy(secret.Key[:], sec.Key)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	p, err := zonesdk.New(zonesdk.Config{ZoneURL: z.URL, ProgramID: programID, Secret: secret, HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func startTaskZone(t *testing.T, db string) *taskSuite {
	t.Helper()
	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := handler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	var slowHandler atomic.Pointer[http.Handler]
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := slowHandler.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	t.Cleanup(slow.Close)
	z := testenv.Start(t, testenv.Options{Seed: fmt.Sprintf(taskSeed, srv.URL, slow.URL), RetryBackoff: func(int) time.Duration { return 50 * time.Millisecond }, DB: db})
	s := &taskSuite{z: z, tok: z.Token("wwtask", "s1"), manualJobs: make(chan *zonesdk.Request, 16)}
	s.caller = prodSDK(t, z, "prog-caller")
	s.manual = prodSDK(t, z, "prog-manual")
	s.manual.Handle("work", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		if req.IsAsync {
			r := *req
			s.manualJobs <- &r
		}
		return "{}", nil
	})
	var h http.Handler = s.manual
	handler.Store(&h)

	sm := prodSDK(t, z, "model-slow")
	sm.Handle("think", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		if s.slowCalls.Add(1) == 1 {
			time.Sleep(6 * time.Second) // past the 5 s a model has to acknowledge
			return "{}", nil
		}
		go func() {
			ctx := zonesdk.Detach(ctx)
			sm.Invoke(ctx, zonesdk.AsyncJobCallback, map[string]any{"errcode": 0, "result": `{"answer":"42"}`})
		}()
		return "{}", nil
	})
	var hs http.Handler = sm
	slowHandler.Store(&hs)
	return s
}

func (s *taskSuite) app(path string, body map[string]any) map[string]any {
	return s.z.PostApp("/cgi-bin/chatdata/"+path, s.tok, body)
}

// result polls async_program_result until the task is no longer running.
func (s *taskSuite) result(t *testing.T, jobID string) map[string]any {
	t.Helper()
	var r map[string]any
	testenv.Eventually(t, "async_program_result of "+jobID, func() bool {
		r = s.app("async_program_result", map[string]any{"jobid": jobID})
		return testenv.Errcode(r) != openzone.ErrWaitingResult
	})
	return r
}

// invokeAs runs an SDK interface as p in the context of app 1000002
// (and the job, when jobInfo is set).
func invokeAs(t *testing.T, p *zonesdk.Program, ic zonesdk.InvokeContext, iface string, req any) sdkiReply {
	t.Helper()
	if ic.CorpID == "" {
		ic.CorpID, ic.AgentID = "wwtask", 1000002
	}
	raw, err := p.Invoke(zonesdk.WithInvokeContext(context.Background(), ic), iface, req)
	if err != nil {
		t.Fatalf("invoke %s: %v", iface, err)
	}
	var out sdkiReply
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("invoke %s: %s", iface, raw)
	}
	return out
}

func TestAsyncProgramTask(t *testing.T) {
	t.Parallel()
	testenv.Stores(t, testAsyncProgramTask)
}

func testAsyncProgramTask(t *testing.T, db string) {
	s := startTaskZone(t, db)

	t.Run("Result", func(t *testing.T) {
		r := s.app("async_program_task", map[string]any{"program_id": "prog-echo", "ability_id": "echo", "request_data": `{"text":"异步"}`})
		jobID, _ := r["jobid"].(string)
		if testenv.Errcode(r) != 0 || jobID == "" {
			t.Fatalf("async_program_task: %s", testenv.Describe(r))
		}
		res := s.result(t, jobID)
		if testenv.Errcode(res) != 0 || res["response_errcode"].(float64) != 0 {
			t.Fatalf("async_program_result: %s", testenv.Describe(res))
		}
		var out struct {
			Text     string `json:"text"`
			ServedBy string `json:"served_by"`
		}
		json.Unmarshal([]byte(res["response_data"].(string)), &out)
		if out.Text != "异步" || out.ServedBy != "echo-1" {
			t.Fatalf("response_data = %q", res["response_data"])
		}
		// Another app of the corp cannot read it.
		other := s.z.PostApp("/cgi-bin/chatdata/async_program_result", s.z.Token("wwtask", "s2"), map[string]any{"jobid": jobID})
		if testenv.Errcode(other) != openzone.ErrInvalidParam {
			t.Fatalf("another app's async_program_result: %s, want 40058", testenv.Describe(other))
		}
	})

	t.Run("Errcodes", func(t *testing.T) {
		tests := []struct {
			name string
			body map[string]any
			want int
		}{
			{"MissingProgramID", map[string]any{"ability_id": "echo", "request_data": `{}`}, openzone.ErrInvalidParam},
			{"MissingRequestData", map[string]any{"program_id": "prog-echo", "ability_id": "echo"}, openzone.ErrInvalidParam},
			{"UnknownProgram", map[string]any{"program_id": "nope", "ability_id": "echo", "request_data": `{}`}, openzone.ErrBadProgramID},
			{"UnknownAbility", map[string]any{"program_id": "prog-echo", "ability_id": "nope", "request_data": `{}`}, openzone.ErrAbilityNotFound},
			{"NotJSON", map[string]any{"program_id": "prog-echo", "ability_id": "echo", "request_data": `{`}, openzone.ErrBadRequestJSON},
			{"Mismatch", map[string]any{"program_id": "prog-echo", "ability_id": "echo", "request_data": `{"text":1}`}, openzone.ErrRequestMismatch},
			{"NotDeployed", map[string]any{"program_id": "prog-idle", "ability_id": "echo", "request_data": `{}`}, openzone.ErrNotDeployed},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if r := s.app("async_program_task", tc.body); testenv.Errcode(r) != tc.want {
					t.Fatalf("%s, want %d", testenv.Describe(r), tc.want)
				}
			})
		}
		for _, jobID := range []any{"job_unknown", ""} {
			if r := s.app("async_program_result", map[string]any{"jobid": jobID}); testenv.Errcode(r) != openzone.ErrInvalidParam {
				t.Fatalf("async_program_result %q: %s, want 40058", jobID, testenv.Describe(r))
			}
		}
	})

	t.Run("ReportRules", func(t *testing.T) {
		r := s.app("async_program_task", map[string]any{"program_id": "prog-manual", "ability_id": "work", "request_data": `{"n":7}`})
		jobID, _ := r["jobid"].(string)
		if jobID == "" {
			t.Fatalf("async_program_task: %s", testenv.Describe(r))
		}
		var job *zonesdk.Request
		select {
		case job = <-s.manualJobs:
		case <-time.After(15 * time.Second):
			t.Fatal("the task never reached the program")
		}
		if job.Data != `{"n":7}` || job.JobInfo == "" || job.AgentID != 1000002 {
			t.Fatalf("delivered %+v", job)
		}
		// Acknowledged, not reported: still running.
		if r := s.app("async_program_result", map[string]any{"jobid": jobID}); testenv.Errcode(r) != openzone.ErrWaitingResult {
			t.Fatalf("before the report: %s, want 710642", testenv.Describe(r))
		}
		ic := job.InvokeContext()
		report := func(p *zonesdk.Program, ic zonesdk.InvokeContext, body map[string]any) int {
			return invokeAs(t, p, ic, zonesdk.AsyncJobCallback, body).code()
		}
		forged := ic
		forged.JobInfo = ic.JobInfo[:len(ic.JobInfo)-2] + "AA"
		for name, c := range map[string]struct {
			p    *zonesdk.Program
			ic   zonesdk.InvokeContext
			body map[string]any
			want int
		}{
			"NoJobInfo":         {s.manual, zonesdk.InvokeContext{CorpID: "wwtask", AgentID: 1000002}, map[string]any{"errcode": 0, "result": `{"n":1}`}, openzone.ErrBadJobInfo},
			"ForgedJobInfo":     {s.manual, forged, map[string]any{"errcode": 0, "result": `{"n":1}`}, openzone.ErrBadJobInfo},
			"OtherProgram":      {s.caller, ic, map[string]any{"errcode": 0, "result": `{"n":1}`}, openzone.ErrBadJobInfo},
			"MissingErrcode":    {s.manual, ic, map[string]any{"result": `{"n":1}`}, openzone.ErrInvalidParam},
			"ResultNotJSON":     {s.manual, ic, map[string]any{"errcode": 0, "result": `{`}, openzone.ErrBadResultJSON},
			"ResultMismatch":    {s.manual, ic, map[string]any{"errcode": 0, "result": `{"n":"x"}`}, openzone.ErrResultMismatch},
			"ResultUnknownKeys": {s.manual, ic, map[string]any{"errcode": 0, "result": `{"zzz":1}`}, openzone.ErrResultMismatch},
		} {
			if got := report(c.p, c.ic, c.body); got != c.want {
				t.Errorf("%s: errcode %d, want %d", name, got, c.want)
			}
		}
		if got := report(s.manual, ic, map[string]any{"errcode": 0, "result": `{"n":8,"ok":true}`}); got != 0 {
			t.Fatalf("report: errcode %d", got)
		}
		if got := report(s.manual, ic, map[string]any{"errcode": 5, "result": `{"n":9}`}); got != openzone.ErrTaskNotRunning {
			t.Fatalf("second report: errcode %d, want 790010", got)
		}
		res := s.app("async_program_result", map[string]any{"jobid": jobID})
		if testenv.Errcode(res) != 0 || res["response_errcode"].(float64) != 0 || res["response_data"] != `{"n":8,"ok":true}` {
			t.Fatalf("after two reports: %s, want the first", testenv.Describe(res))
		}
	})

	t.Run("ReportedError", func(t *testing.T) {
		r := s.app("async_program_task", map[string]any{"program_id": "prog-manual", "ability_id": "work", "request_data": `{"n":1}`})
		job := <-s.manualJobs
		// An errcode other than 0 is stored as reported; result need not match.
		if got := invokeAs(t, s.manual, job.InvokeContext(), zonesdk.AsyncJobCallback, map[string]any{"errcode": 710660, "result": "boom"}).code(); got != 0 {
			t.Fatalf("report: %d", got)
		}
		res := s.app("async_program_result", map[string]any{"jobid": r["jobid"]})
		if testenv.Errcode(res) != 0 || res["response_errcode"].(float64) != 710660 || res["response_data"] != "boom" {
			t.Fatalf("%s", testenv.Describe(res))
		}
	})

	t.Run("DeadlineAndRetention", func(t *testing.T) {
		r := s.app("async_program_task", map[string]any{"program_id": "prog-manual", "ability_id": "work", "request_data": `{"n":2}`})
		job := <-s.manualJobs
		s.z.Clock.Advance(24*time.Hour + time.Second)
		s.tok = s.z.Token("wwtask", "s1")
		if res := s.app("async_program_result", map[string]any{"jobid": r["jobid"]}); testenv.Errcode(res) != openzone.ErrProgramTimeout {
			t.Fatalf("past the report deadline: %s, want 710675", testenv.Describe(res))
		}
		if got := invokeAs(t, s.manual, job.InvokeContext(), zonesdk.AsyncJobCallback, map[string]any{"errcode": 0, "result": `{"n":1}`}).code(); got != openzone.ErrTaskNotRunning {
			t.Fatalf("late report: %d, want 790010", got)
		}
		s.z.Clock.Advance(7 * 24 * time.Hour)
		s.z.Prune(context.Background())
		s.tok = s.z.Token("wwtask", "s1")
		if res := s.app("async_program_result", map[string]any{"jobid": r["jobid"]}); testenv.Errcode(res) != openzone.ErrInvalidParam {
			t.Fatalf("after retention: %s, want 40058", testenv.Describe(res))
		}
	})
}

// taskMsgs are the archived messages the program and model tasks read, in
// send order; the texts hold every character escape_type treats.
var taskMsgs = []struct{ from, to, text string }{
	{"zhangsan", "wmc1", `你好"世界"/path\x`},
	{"wmc1", "zhangsan", "价格\t多少？\n请回复"},
	{"lisi", "wmc1", "好的"},
}

// archiveForTasks sets the app's key, archives taskMsgs plus an image and
// returns the msg_list items (msgid and the secret_key the app decrypts).
func (s *taskSuite) archiveForTasks(t *testing.T) (text []map[string]any, image map[string]any) {
	t.Helper()
	priv, pub := rsaKey(t)
	if r := s.app("set_public_key", map[string]any{"public_key": pub, "public_key_ver": 1}); testenv.Errcode(r) != 0 {
		t.Fatalf("set_public_key: %s", testenv.Describe(r))
	}
	now := s.z.Clock.Now().Unix()
	var ids []string
	for i, m := range taskMsgs {
		var out map[string]any
		if st := s.z.Admin("POST", "/admin/v1/corps/wwtask/messages", strings.NewReader(sdkiTextMsg(m.from, m.to, m.text, now-int64(300-100*i))), &out); st != 200 {
			t.Fatalf("ingest: %d %v", st, out)
		}
		ids = append(ids, out["msgid"].(string))
	}
	var out map[string]any
	s.z.Admin("POST", "/admin/v1/corps/wwtask/messages", strings.NewReader(fmt.Sprintf(`{"sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":2,"id":"wmc1"}],"msgtype":2,"send_time":%d,"image":{"md5sum":"x","filesize":1}}`, now)), &out)
	ids = append(ids, out["msgid"].(string))

	s.priv = priv
	item := s.item
	for _, id := range ids[:3] {
		text = append(text, item(t, id))
	}
	return text, item(t, ids[3])
}

// item is the msg_list entry of msgID: the caller reads it with sync_msg
// and the app decrypts its secret_key with its private key.
func (s *taskSuite) item(t *testing.T, msgID string) map[string]any {
	t.Helper()
	r := invokeAs(t, s.caller, zonesdk.InvokeContext{}, "sync_msg", map[string]any{"limit": 1000})
	if r.code() != 0 {
		t.Fatalf("sync_msg: %s", r)
	}
	for _, it := range r.list("msg_list") {
		if it["msgid"] != msgID {
			continue
		}
		enc := it["service_encrypt_info"].(map[string]any)["encrypted_secret_key"].(string)
		ct, _ := base64.StdEncoding.DecodeString(enc)
		pt, err := rsa.DecryptPKCS1v15(rand.Reader, s.priv, ct)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"msgid": msgID, "encrypt_info": map[string]any{"secret_key": string(pt)}}
	}
	t.Fatalf("sync_msg does not list %s", msgID)
	return nil
}

// Hand-written expansions of taskMsgs: {chat} lines "<name>说：<text>" in
// send order, {chatcontent} the texts; escape_type 1 JSON-escapes " \ /
// and control characters, 0 turns them into spaces.
const (
	chatEsc1    = `张三说：你好\"世界\"\/path\\x\n客户甲说：价格\t多少？\n请回复\n李四说：好的`
	contentEsc1 = `你好\"世界\"\/path\\x\n价格\t多少？\n请回复\n好的`
	chatEsc0    = `张三说：你好 世界  path x 客户甲说：价格 多少？ 请回复 李四说：好的`
	contentEsc0 = `你好 世界  path x 价格 多少？ 请回复 好的`
)

// waitTask polls get_<kind>_task_result until status is no longer 0.
func waitTask(t *testing.T, p *zonesdk.Program, ic zonesdk.InvokeContext, iface, jobID string) sdkiReply {
	t.Helper()
	var r sdkiReply
	testenv.Eventually(t, iface+" "+jobID, func() bool {
		r = invokeAs(t, p, ic, iface, map[string]any{"jobid": jobID})
		return r.code() != 0 || r.num("status") != 0
	})
	return r
}

func TestProgramAndModelTasks(t *testing.T) {
	t.Parallel()
	testenv.Stores(t, testProgramAndModelTasks)
}

func testProgramAndModelTasks(t *testing.T, db string) {
	s := startTaskZone(t, db)
	text, image := s.archiveForTasks(t)
	// Given out of order; the zone orders by send time.
	msgList := []map[string]any{text[2], text[0], text[1]}
	prog, err := s.z.Store().ProgramGet(context.Background(), "model-sum")
	if err != nil {
		t.Fatal(err)
	}
	modelInput := string(prog.Ability("summarize").Input)

	for _, esc := range []struct {
		escapeType    int
		chat, content string
		tags          string
	}{
		{1, chatEsc1, contentEsc1, `{\"tag_group\":[]}`},
		{0, chatEsc0, contentEsc0, `{ tag_group :[]}`},
	} {
		t.Run(fmt.Sprintf("Model/escape_type=%d", esc.escapeType), func(t *testing.T) {
			r := invokeAs(t, s.caller, zonesdk.InvokeContext{}, "create_model_task", map[string]any{
				"model_id": "model-sum", "ability_id": "summarize", "msg_list": msgList, "escape_type": esc.escapeType,
				"tag_group_list": []map[string]any{{"group_id": "g1"}}})
			if r.code() != 0 || r.str("jobid") == "" {
				t.Fatalf("create_model_task: %s", r)
			}
			if fl := r.list("fail_list"); len(fl) != 0 {
				t.Fatalf("fail_list = %v", fl)
			}
			if g, _ := r["fail_tag_group_id_list"].([]any); len(g) != 1 || g[0] != "g1" {
				t.Fatalf("fail_tag_group_id_list = %v (no tag groups exist yet)", r["fail_tag_group_id_list"])
			}
			res := waitTask(t, s.caller, zonesdk.InvokeContext{}, "get_model_task_result", r.str("jobid"))
			if res.code() != 0 || res.num("status") != 1 || res.num("response_errcode") != 0 {
				t.Fatalf("get_model_task_result: %s", res)
			}
			var out struct {
				Input    string
				Messages int
				Speakers []string
				Keywords []string
			}
			if err := json.Unmarshal([]byte(res.str("response_data")), &out); err != nil {
				t.Fatalf("response_data %q: %v", res.str("response_data"), err)
			}
			want := strings.NewReplacer("{chat}", esc.chat, "{chatcontent}", esc.content, "{knowledge}", "", "{tagjson}", esc.tags).Replace(modelInput)
			if out.Input != want {
				t.Fatalf("the model received\n%s\nwant (byte for byte)\n%s", out.Input, want)
			}
			if esc.escapeType == 1 && (out.Messages != 3 || strings.Join(out.Speakers, ",") != "客户甲,张三,李四" || strings.Join(out.Keywords, ",") != "价格") {
				t.Fatalf("summary = %+v", out)
			}
			// The caller reads it with the model interface only.
			if got := invokeAs(t, s.caller, zonesdk.InvokeContext{}, "get_program_task_result", map[string]any{"jobid": r.str("jobid")}).code(); got != openzone.ErrTaskTypeMismatch {
				t.Fatalf("get_program_task_result of a model task: %d, want 710616", got)
			}
		})
	}

	t.Run("ExampleChain", func(t *testing.T) {
		// An app calls the example program, which chains to the example
		// model with create_model_task and waits for its report.
		data, _ := json.Marshal(map[string]any{"model_id": "model-sum", "escape_type": 1, "msg_list": msgList})
		r := s.app("sync_call_program", map[string]any{"program_id": "prog-echo", "ability_id": "summarize", "request_data": string(data)})
		if testenv.Errcode(r) != 0 {
			t.Fatalf("sync_call_program summarize: %s", testenv.Describe(r))
		}
		var out struct {
			Status       int    `json:"status"`
			ResponseData string `json:"response_data"`
		}
		json.Unmarshal([]byte(r["response_data"].(string)), &out)
		if out.Status != 1 || !strings.Contains(out.ResponseData, `"summary":"3条消息，3位参与者`) {
			t.Fatalf("response_data = %s", r["response_data"])
		}
	})

	t.Run("Program", func(t *testing.T) {
		bad := map[string]any{"msgid": text[0]["msgid"], "encrypt_info": map[string]any{"secret_key": strings.Repeat("A", 43)}}
		list := append(append([]map[string]any{}, msgList...), text[0], image, bad,
			map[string]any{"msgid": "no-such-msg", "encrypt_info": map[string]any{"secret_key": "k"}})
		r := invokeAs(t, s.caller, zonesdk.InvokeContext{}, "create_program_task", map[string]any{
			"program_id": "prog-analyze", "ability_id": "echo", "msg_list": list, "escape_type": 1})
		if r.code() != 0 {
			t.Fatalf("create_program_task: %s", r)
		}
		var codes []string
		for _, f := range r.list("fail_list") {
			codes = append(codes, fmt.Sprintf("%s:%v", f["msgid"], f["errcode"]))
		}
		wantFails := []string{
			fmt.Sprintf("%s:%d", text[0]["msgid"], openzone.ErrDuplicateMsgID),
			fmt.Sprintf("%s:%d", image["msgid"], openzone.ErrBadMsgType),
			fmt.Sprintf("%s:%d", text[0]["msgid"], openzone.ErrDuplicateMsgID), // bad key, but a duplicate first
			fmt.Sprintf("no-such-msg:%d", openzone.ErrBadMsgID),
		}
		if strings.Join(codes, " ") != strings.Join(wantFails, " ") {
			t.Fatalf("fail_list = %v, want %v", codes, wantFails)
		}
		res := waitTask(t, s.caller, zonesdk.InvokeContext{}, "get_program_task_result", r.str("jobid"))
		if res.num("status") != 1 || len(res.list("fail_list")) != 4 {
			t.Fatalf("get_program_task_result: %s", res)
		}
		var out struct {
			Text     string `json:"text"`
			ServedBy string `json:"served_by"`
		}
		json.Unmarshal([]byte(res.str("response_data")), &out)
		var wantText string
		json.Unmarshal([]byte(`"对话：`+chatEsc1+`|内容：`+contentEsc1+`|{knowledge}"`), &wantText)
		if out.Text != wantText || out.ServedBy != "analyze-1" {
			t.Fatalf("the program received %q, want %q ({knowledge} is not a program placeholder)", out.Text, wantText)
		}
		// A wrong key alone is 710603.
		r = invokeAs(t, s.caller, zonesdk.InvokeContext{}, "create_program_task", map[string]any{
			"program_id": "prog-analyze", "ability_id": "echo", "msg_list": []any{text[1], bad}})
		if fl := r.list("fail_list"); r.code() != 0 || len(fl) != 1 || fl[0]["errcode"].(float64) != openzone.ErrBadMsgKey {
			t.Fatalf("wrong key: %s", r)
		}
	})

	t.Run("Errcodes", func(t *testing.T) {
		tests := []struct {
			name, iface string
			req         map[string]any
			want        int
		}{
			{"NoModelID", "create_model_task", map[string]any{"ability_id": "summarize", "msg_list": msgList}, openzone.ErrInvalidParam},
			{"NoMsgList", "create_model_task", map[string]any{"model_id": "model-sum", "ability_id": "summarize"}, openzone.ErrInvalidParam},
			{"BadEscapeType", "create_model_task", map[string]any{"model_id": "model-sum", "ability_id": "summarize", "msg_list": msgList, "escape_type": 2}, openzone.ErrInvalidParam},
			{"ProgramAsModel", "create_model_task", map[string]any{"model_id": "prog-echo", "ability_id": "echo", "msg_list": msgList}, openzone.ErrBadProgramID},
			{"ModelAsProgram", "create_program_task", map[string]any{"program_id": "model-sum", "ability_id": "summarize", "msg_list": msgList}, openzone.ErrBadProgramID},
			{"UnknownAbility", "create_model_task", map[string]any{"model_id": "model-sum", "ability_id": "nope", "msg_list": msgList}, openzone.ErrAbilityNotFound},
			{"KnowledgeBase", "create_model_task", map[string]any{"model_id": "model-sum", "ability_id": "summarize", "msg_list": msgList, "kb_id": "kb1"}, openzone.ErrKnowledgePerm},
			{"AllFailed", "create_model_task", map[string]any{"model_id": "model-sum", "ability_id": "summarize", "msg_list": []any{image}}, openzone.ErrAllMsgsFailed},
			{"TooMany", "create_program_task", map[string]any{"program_id": "prog-analyze", "ability_id": "echo", "msg_list": make([]map[string]any, 1001)}, openzone.ErrTooManyMsgs},
			{"NotDeployed", "create_program_task", map[string]any{"program_id": "prog-idle", "ability_id": "echo", "msg_list": msgList}, openzone.ErrNotDeployed},
			{"NotConfigured", "create_program_task", map[string]any{"program_id": "prog-other", "ability_id": "echo", "msg_list": msgList}, openzone.ErrBadProgramID},
			{"UnknownJob", "get_model_task_result", map[string]any{"jobid": "job_nope"}, openzone.ErrInvalidParam},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if got := invokeAs(t, s.caller, zonesdk.InvokeContext{}, tc.iface, tc.req); got.code() != tc.want {
					t.Fatalf("%s, want %d", got, tc.want)
				}
			})
		}
	})

	t.Run("ModelAckTimeout", func(t *testing.T) {
		t.Parallel()
		r := invokeAs(t, s.caller, zonesdk.InvokeContext{}, "create_model_task", map[string]any{
			"model_id": "model-slow", "ability_id": "think", "msg_list": msgList})
		if r.code() != 0 {
			t.Fatalf("create_model_task: %s", r)
		}
		res := waitTask(t, s.caller, zonesdk.InvokeContext{}, "get_model_task_result", r.str("jobid"))
		if res.num("status") != 1 || res.str("response_data") != `{"answer":"42"}` {
			t.Fatalf("get_model_task_result: %s", res)
		}
		var out struct {
			Tasks []struct {
				JobID     string `json:"jobid"`
				Attempts  int    `json:"attempts"`
				LastError string `json:"last_error"`
			} `json:"tasks"`
		}
		s.z.Admin("GET", "/admin/v1/tasks?program_id=model-slow", nil, &out)
		if len(out.Tasks) != 1 || out.Tasks[0].Attempts != 2 || !strings.Contains(out.Tasks[0].LastError, "710675") {
			t.Fatalf("tasks = %+v: want the first delivery timed out (710675) and the second acknowledged", out.Tasks)
		}
	})

	t.Run("TooLong", func(t *testing.T) {
		long := strings.Repeat("长", 15001)
		var out map[string]any
		if st := s.z.Admin("POST", "/admin/v1/corps/wwtask/messages", strings.NewReader(sdkiTextMsg("zhangsan", "wmc1", long, s.z.Clock.Now().Unix())), &out); st != 200 {
			t.Fatalf("ingest: %v", out)
		}
		// {chat} and {chatcontent} both hold the text: over 30,000 characters.
		r := invokeAs(t, s.caller, zonesdk.InvokeContext{}, "create_model_task", map[string]any{
			"model_id": "model-sum", "ability_id": "summarize", "msg_list": []any{s.item(t, out["msgid"].(string))}})
		if r.code() != openzone.ErrInputTooLong {
			t.Fatalf("create_model_task: %s, want 790040", r)
		}
		// The same message fits a program whose protocol uses it once.
		r = invokeAs(t, s.caller, zonesdk.InvokeContext{}, "create_program_task", map[string]any{
			"program_id": "prog-echo", "ability_id": "echo", "msg_list": []any{s.item(t, out["msgid"].(string))}})
		if r.code() != 0 {
			t.Fatalf("create_program_task: %s", r)
		}
	})
}

// TestTasksInDebugMode chains a caller in debug mode (the test's own SDK,
// no production secret) to the example model running "on the developer's
// machine" in debug mode: the zone fills the placeholders from debug_info
// and never reads the archive.
func TestTasksInDebugMode(t *testing.T) {
	t.Parallel()
	testenv.Stores(t, testTasksInDebugMode)
}

func testTasksInDebugMode(t *testing.T, db string) {
	s := startTaskZone(t, db)
	z, tok := s.z, s.tok

	// The model, locally, with its debug credential.
	mdt, _ := debugToken(t, z, "model-sum")
	port := freePort(t)
	setReceiver(t, z, "model-sum", fmt.Sprintf("http://127.0.0.1:%d/", port))
	if r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, map[string]any{"program_id": "model-sum", "debug_token": mdt}); testenv.Errcode(r) != 0 {
		t.Fatalf("open_debug_mode model-sum: %s", testenv.Describe(r))
	}
	cmd := exec.Command(testenv.Build(t, "github.com/openzone/openzone/examples/zonemodel"), "--addr", fmt.Sprintf("127.0.0.1:%d", port),
		"--api", z.URL, "--debug-token", mdt, "--access-token", tok)
	cmd.Env = append(os.Environ(), "OPENZONE_PROGRAM_ID=model-sum", "OPENZONE_SECRET=")
	var out logBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	testenv.Eventually(t, "model-sum in debug mode", func() bool { return checkDebug(t, z, tok, "model-sum") == 2 })

	// The caller, in this process, with its own credential.
	cdt, _ := debugToken(t, z, "prog-caller")
	caller, _ := sdkProgram(t, z, "prog-caller", nil)
	if r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, map[string]any{"program_id": "prog-caller", "debug_token": cdt}); testenv.Errcode(r) != 0 {
		t.Fatalf("open_debug_mode prog-caller: %s", testenv.Describe(r))
	}
	if _, err := caller.OpenDebugMode(context.Background(), cdt, tok); err != nil {
		t.Fatal(err)
	}
	prod := s.caller // the same program with its production secret: not in debug mode

	// msg_list names messages that do not exist: in debug mode it is
	// required but never read, so nothing fails.
	bogus := []map[string]any{{"msgid": "never-archived", "encrypt_info": map[string]any{"secret_key": "x"}}}
	info := map[string]any{"chat": "甲说：要退款\n乙说：好/的", "chat_content": "要退款\n好/的", "knowledge": `文档1："退款"政策`, "tagjson": `{"tag_group":[{"group_id":"g"}]}`}
	prog, _ := z.Store().ProgramGet(context.Background(), "model-sum")
	modelInput := string(prog.Ability("summarize").Input)

	r := invokeAs(t, caller, zonesdk.InvokeContext{}, "create_model_task", map[string]any{
		"model_id": "model-sum", "ability_id": "summarize", "msg_list": bogus, "debug_info": info, "escape_type": 1, "kb_id": "ignored-in-debug"})
	if r.code() != 0 || len(r.list("fail_list")) != 0 {
		t.Fatalf("create_model_task in debug mode: %s", r)
	}
	res := waitTask(t, caller, zonesdk.InvokeContext{}, "get_model_task_result", r.str("jobid"))
	var got struct {
		Input    string   `json:"input"`
		Keywords []string `json:"keywords"`
	}
	json.Unmarshal([]byte(res.str("response_data")), &got)
	want := strings.NewReplacer("{chat}", `甲说：要退款\n乙说：好\/的`, "{chatcontent}", `要退款\n好\/的`,
		"{knowledge}", `文档1：\"退款\"政策`, "{tagjson}", `{\"tag_group\":[{\"group_id\":\"g\"}]}`).Replace(modelInput)
	if res.num("status") != 1 || got.Input != want {
		t.Fatalf("the local model received\n%s\nwant\n%s\n(%s)", got.Input, want, res)
	}
	var tr struct {
		Traffic []openzone.TrafficRecord `json:"traffic"`
	}
	z.Admin("GET", "/admin/v1/traffic?program_id=model-sum", nil, &tr)
	delivered := false
	for _, rec := range tr.Traffic {
		delivered = delivered || rec.Interface == "create_model_task:deliver" && rec.Route == openzone.RouteDebug && rec.Errcode == 0
	}
	if !delivered {
		t.Fatalf("the model task did not go to the debug receiver: %+v", tr.Traffic)
	}

	for _, tc := range []struct {
		name string
		p    *zonesdk.Program
		req  map[string]any
		want int
	}{
		{"MissingChat", caller, map[string]any{"model_id": "model-sum", "ability_id": "summarize", "msg_list": bogus,
			"debug_info": map[string]any{"chat_content": "x"}}, openzone.ErrInvalidParam},
		{"MissingMsgList", caller, map[string]any{"model_id": "model-sum", "ability_id": "summarize", "debug_info": info}, openzone.ErrInvalidParam},
		{"CalleeNotInDebug", caller, map[string]any{"program_id": "prog-analyze", "ability_id": "echo", "msg_list": bogus, "debug_info": info}, openzone.ErrNotInDebugMode},
		{"CallerNotInDebug", prod, map[string]any{"model_id": "model-sum", "ability_id": "summarize", "msg_list": bogus, "debug_info": info}, openzone.ErrNotInDebugMode},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iface := "create_model_task"
			if _, ok := tc.req["program_id"]; ok {
				iface = "create_program_task"
			}
			if got := invokeAs(t, tc.p, zonesdk.InvokeContext{}, iface, tc.req); got.code() != tc.want {
				t.Fatalf("%s, want %d", got, tc.want)
			}
		})
	}
}
