package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/atrest"
	"github.com/openzone/openzone/internal/store/postgres"
	"github.com/openzone/openzone/internal/store/postgres/pgtest"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

// multiSeed: the example program deployed (one instance on every node),
// prog-dbg for debug mode, and prog-work, a program the test runs in
// process (reached at %[2]s) so it can hold deliveries open. App 1000002
// receives events with prog-echo and has its callback at %[1]s; app
// 1000003 receives them with prog-work.
const multiSeed = `
providers: [{id: isv, name: ISV, test_corps: [wwarc]}]
corps:
  - corpid: wwarc
    name: Archive Corp
    members: [{userid: zhangsan, name: 张三}]
    external_contacts: [{external_userid: wmcustomer1, name: 客户一}]
programs:
  - id: prog-echo
    provider: isv
    name: Echo
    deploy: {command: ["{{EXAMPLE}}", --name, deployed]}
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
      - {id: get_callback_data, input: {}, output: {"errcode": 0, "errmsg": "", "event_type": "", "timestamp": 0, "conversation_new_message": {"token": ""}, "hit_keyword": {"token": ""}, "chat_archive_audit_approved": {"userid": "", "external_userid": "", "chatid": ""}, "auth_knowledge_base": {"knowledge_base_id": "", "knowledge_base_name": ""}, "unauth_knowledge_base": {"knowledge_base_id": "", "knowledge_base_name": ""}, "delete_knowledge_base": {"knowledge_base_id": "", "knowledge_base_name": ""}, "knowledge_base_learn_done": {"knowledge_base_id": "", "knowledge_base_name": "", "doc_id": "", "learn_status": 0}, "chat_archive_export_finished": {"jobid": ""}}}
  - id: prog-dbg
    provider: isv
    name: Debugged
    abilities: [{id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}]
  - id: prog-lis
    provider: isv
    name: Listened
    abilities: [{id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}]
  - id: prog-work
    provider: isv
    name: Worker
    deploy: {url: "%[2]s"}
    abilities: [{id: work, input: {"n": 0}, output: {"n": 0}}]
apps:
  - corpid: wwarc
    agentid: 1000002
    type: self_built
    secret: s2
    callback: {url: "%[1]s", token: ` + cbToken + `, encoding_aes_key: ` + cbAESKey + `}
    programs: [prog-echo, prog-dbg, prog-lis]
  - {corpid: wwarc, agentid: 1000003, type: self_built, secret: s3, programs: [prog-work]}
`

// node is one `openzone serve` process.
type node struct {
	name string
	url  string
	cmd  *exec.Cmd
	done chan struct{}
}

var listeningRE = regexp.MustCompile(`listening on (http://\S+)`)

// startNode runs the real binary as zone node name on db, listening on
// addr. Every node gets the same admin token and archive key, as an
// operator configures them.
// nodesArchiveKey is the zone key every node of these tests shares.
const nodesArchiveKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func startNode(t *testing.T, bin, db, name, addr, dataDir string, extra ...string) *node {
	t.Helper()
	// A port picked in advance can be taken by a parallel test before the
	// node binds it: then try another.
	for try := 0; ; try++ {
		n, bindErr := startNodeOnce(t, bin, db, name, addr, dataDir, extra...)
		if !bindErr || try == 4 {
			if n == nil {
				t.Fatalf("node %s exited at start", name)
			}
			return n
		}
		addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	}
}

// startNodeOnce starts the node; bindErr reports it exited because its
// address was in use.
func startNodeOnce(t *testing.T, bin, db, name, addr, dataDir string, extra ...string) (n *node, bindErr bool) {
	t.Helper()
	args := append([]string{"serve", "--addr", addr, "--data", dataDir, "--db", db, "--node", name,
		"--admin-token", "multi-admin", "--log-level", "warn",
		"--job-timeout", "3s", "--job-rescue-after", "3s"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "OPENZONE_ARCHIVE_KEY="+nodesArchiveKey)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &logBuffer{}
	cmd.Stderr = io.MultiWriter(&prefixWriter{t: t, prefix: name + ": "}, stderr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n = &node{name: name, cmd: cmd, done: make(chan struct{})}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				urls <- m[1]
			}
		}
		io.Copy(io.Discard, stdout)
	}()
	go func() { cmd.Wait(); close(n.done) }()
	t.Cleanup(func() { n.kill() })
	select {
	case n.url = <-urls:
	case <-n.done:
		return nil, strings.Contains(stderr.String(), "address already in use")
	case <-time.After(60 * time.Second):
		t.Fatalf("node %s did not start", name)
	}
	return n, false
}

// stop ends the node as an operator does (SIGTERM) and waits.
func (n *node) stop(t *testing.T) {
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("node %s did not stop", n.name)
	}
}

// kill ends the node at once, as a crash or kill -9 does, and its process
// group with it (the program instances it supervises).
func (n *node) kill() {
	n.cmd.Process.Kill()
	<-n.done
}

type prefixWriter struct {
	t      *testing.T
	prefix string
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// zoneClient talks to whichever node a test names.
type zoneClient struct {
	t *testing.T
}

func (c zoneClient) app(n *node, tok, path string, body map[string]any) map[string]any {
	c.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(n.url+"/cgi-bin/chatdata/"+path+"?access_token="+tok, "application/json", strings.NewReader(string(b)))
	if err != nil {
		c.t.Fatalf("%s via %s: %v", path, n.name, err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	return out
}

func (c zoneClient) token(n *node, secret string) string {
	c.t.Helper()
	resp, err := http.Get(n.url + "/cgi-bin/gettoken?corpid=wwarc&corpsecret=" + secret)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	if out.AccessToken == "" {
		c.t.Fatalf("gettoken via %s failed", n.name)
	}
	return out.AccessToken
}

func (c zoneClient) admin(n *node, method, path, body string, out any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, n.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer multi-admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		c.t.Fatalf("%s %s via %s: HTTP %d %s", method, path, n.name, resp.StatusCode, b)
	}
	if out != nil {
		json.Unmarshal(b, out)
	}
}

// workProgram is prog-work: it records events by id and acknowledges async
// calls, then reports them through the node reportTo names. While held it
// keeps every delivery open until the delivering node drops it.
type workProgram struct {
	p *zonesdk.Program

	mu       sync.Mutex
	held     bool
	inFlight int
	events   map[string]int // event id → completed deliveries
	reported map[string]bool
}

func (w *workProgram) hold(ctx context.Context) error {
	w.mu.Lock()
	if !w.held {
		w.mu.Unlock()
		return nil
	}
	w.inFlight++
	w.mu.Unlock()
	<-ctx.Done() // the node that delivers died
	w.mu.Lock()
	w.inFlight--
	w.mu.Unlock()
	return ctx.Err()
}

func (w *workProgram) count() (inFlight, events int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.inFlight, len(w.events)
}

// TestTwoNodes runs two zone processes on one PostgreSQL database and
// moves consecutive requests between them: a token, debug mode, a
// notify_id, an async task; then kills one node in the middle of its
// deliveries and checks the other finishes every task and event.
func TestTwoNodes(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	bin := testenv.Build(t, "github.com/openzone/openzone/cmd/openzone")
	c := zoneClient{t}
	appSide := newAppSide(t)

	addrA, addrB := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	work := &workProgram{events: map[string]int{}, reported: map[string]bool{}}
	workSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if work.p == nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		work.p.ServeHTTP(w, r)
	}))
	t.Cleanup(workSrv.Close)

	seed := strings.ReplaceAll(fmt.Sprintf(multiSeed, appSide.srv.URL, workSrv.URL), "{{EXAMPLE}}", testenv.Example(t))
	dir := t.TempDir()
	seedPath := filepath.Join(dir, "seed.yaml")
	if err := os.WriteFile(seedPath, []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startNode(t, bin, db, "node-a", addrA, filepath.Join(dir, "a"), "--seed", seedPath)
	b := startNode(t, bin, db, "node-b", addrB, filepath.Join(dir, "b"))

	st, err := postgres.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// The nodes seal secrets at rest with the zone key: read them with it.
	key, _ := base64.StdEncoding.DecodeString(nodesArchiveKey)
	box, err := atrest.New(key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SealSecrets(context.Background(), box); err != nil {
		t.Fatal(err)
	}
	sec, err := st.ProgramSecretGet(context.Background(), "prog-work")
	if err != nil {
		t.Fatal(err)
	}
	secret := zonewire.Secret{Ver: sec.Ver}
	copy(secret.Key[:], sec.Key)
	// prog-work reports through node B: the node that survives.
	work.p, err = zonesdk.New(zonesdk.Config{ZoneURL: b.url, ProgramID: "prog-work", Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	work.p.Handle("work", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		if err := work.hold(ctx); err != nil {
			return "", err
		}
		go func() {
			ictx := zonesdk.WithInvokeContext(context.Background(), req.InvokeContext())
			reply, err := work.p.Invoke(ictx, zonesdk.AsyncJobCallback, map[string]any{"errcode": 0, "result": req.Data})
			if code, _ := zonesdk.Errcode(reply); err == nil && code == 0 {
				work.mu.Lock()
				work.reported[req.Data] = true
				work.mu.Unlock()
			}
		}()
		return "{}", nil
	})
	work.p.HandleEvent(func(ctx context.Context, req *zonesdk.Request) error {
		if err := work.hold(ctx); err != nil {
			return err
		}
		work.mu.Lock()
		work.events[req.EventID]++
		work.mu.Unlock()
		return nil
	})

	t.Run("ConcurrentGettokenOneToken", func(t *testing.T) {
		// Eight apps' servers ask at once, half through each node: WeCom
		// gives one token while it is valid, whichever node answers.
		toks := make([]string, 8)
		var wg sync.WaitGroup
		for i := range toks {
			n := a
			if i%2 == 1 {
				n = b
			}
			wg.Go(func() { // no t.Fatal off the test goroutine: a failure leaves ""
				resp, err := http.Get(n.url + "/cgi-bin/gettoken?corpid=wwarc&corpsecret=s3")
				if err != nil {
					return
				}
				defer resp.Body.Close()
				var out struct {
					AccessToken string `json:"access_token"`
				}
				json.NewDecoder(resp.Body).Decode(&out)
				toks[i] = out.AccessToken
			})
		}
		wg.Wait()
		for _, tok := range toks {
			if tok == "" || tok != toks[0] {
				t.Fatalf("concurrent gettoken gave %q: want one token", toks)
			}
		}
	})

	tok2 := c.token(a, "s2")
	t.Run("TokenFromAWorksOnB", func(t *testing.T) {
		r := c.app(b, tok2, "sync_call_program", syncCall("prog-echo", "echo", `{"text":"跨节点"}`))
		if out := responseData(t, r); out["text"] != "跨节点" || out["served_by"] != "deployed" {
			t.Fatalf("response_data = %v", out)
		}
	})

	t.Run("DebugModeOpenedOnARoutesCallsOnB", func(t *testing.T) {
		var dt struct {
			DebugToken string `json:"debug_token"`
		}
		c.admin(a, "POST", "/admin/v1/programs/prog-dbg/debug/token", "", &dt)
		port := freePort(t)
		c.admin(b, "PUT", "/admin/v1/programs/prog-dbg/debug/receiver", fmt.Sprintf(`{"url":"http://127.0.0.1:%d/"}`, port), nil)
		if r := c.app(a, tok2, "open_debug_mode", map[string]any{"program_id": "prog-dbg", "debug_token": dt.DebugToken}); testenv.Errcode(r) != 0 {
			t.Fatalf("open_debug_mode via A: %s", testenv.Describe(r))
		}
		// The developer's program opens the SDK half through node A.
		dev := exec.Command(testenv.Example(t), "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--name", "local",
			"--api", a.url, "--debug-token", dt.DebugToken, "--access-token", tok2)
		dev.Env = append(os.Environ(), "OPENZONE_PROGRAM_ID=prog-dbg", "OPENZONE_SECRET=")
		if err := dev.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { dev.Process.Kill(); dev.Wait() })
		testenv.Eventually(t, "debug mode on, seen through B", func() bool {
			r := c.app(b, tok2, "check_debug_mode", map[string]any{"program_id": "prog-dbg"})
			return r["debug_mode_status"] == float64(2)
		})
		r := c.app(b, tok2, "sync_call_program", syncCall("prog-dbg", "echo", `{"text":"调试"}`))
		if out := responseData(t, r); out["served_by"] != "local" {
			t.Fatalf("call through B in debug mode: %v, want the developer's program", out)
		}
	})

	t.Run("ListenerOnAServesCallsThroughB", func(t *testing.T) {
		// `openzone debug listen` holds its connection to node A; a call
		// that reaches node B is relayed through A to it.
		var dt struct {
			DebugToken string `json:"debug_token"`
		}
		c.admin(a, "POST", "/admin/v1/programs/prog-lis/debug/token", "", &dt)
		if r := c.app(b, tok2, "open_debug_mode", map[string]any{"program_id": "prog-lis", "debug_token": dt.DebugToken}); testenv.Errcode(r) != 0 {
			t.Fatalf("open_debug_mode via B: %s", testenv.Describe(r))
		}
		port := freePort(t)
		dev := exec.Command(testenv.Example(t), "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--name", "listened",
			"--api", a.url, "--debug-token", dt.DebugToken, "--access-token", tok2)
		dev.Env = append(os.Environ(), "OPENZONE_PROGRAM_ID=prog-lis", "OPENZONE_SECRET=")
		lis := exec.Command(bin, "debug", "listen", "prog-lis", "--forward-to", fmt.Sprintf("http://127.0.0.1:%d/", port),
			"--zone", a.url, "--admin-token", "multi-admin")
		lis.Stderr = &prefixWriter{t: t, prefix: "listen: "}
		for _, cmd := range []*exec.Cmd{dev, lis} {
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		}
		var last map[string]any
		testenv.Eventually(t, "a call through B served by the program behind A's listener", func() bool {
			last = c.app(b, tok2, "sync_call_program", syncCall("prog-lis", "echo", `{"text":"中继"}`))
			return testenv.Errcode(last) == 0 && strings.Contains(fmt.Sprint(last["response_data"]), `"served_by":"listened"`)
		})
	})

	t.Run("NotifyIDRoutesAcrossNodes", func(t *testing.T) {
		_, pub := rsaKey(t)
		tok3 := c.token(b, "s3")
		for _, call := range []struct {
			n    *node
			tok  string
			path string
			body map[string]any
		}{
			{a, tok2, "set_public_key", map[string]any{"public_key": pub, "public_key_ver": 1}},
			{b, tok2, "set_receive_callback", map[string]any{"program_id": "prog-echo"}},
			{b, tok3, "set_public_key", map[string]any{"public_key": pub, "public_key_ver": 1}},
			{a, tok3, "set_receive_callback", map[string]any{"program_id": "prog-work"}},
		} {
			if r := c.app(call.n, call.tok, call.path, call.body); testenv.Errcode(r) != 0 {
				t.Fatalf("%s: %s", call.path, testenv.Describe(r))
			}
		}
		msg := `{"sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":2,"id":"wmcustomer1"}],"msgtype":1,"text":{"content":"你好"}}`
		c.admin(b, "POST", "/admin/v1/corps/wwarc/messages", msg, nil)
		notifyID := appSide.next(t)
		n, err := st.NotifyGet(context.Background(), notifyID)
		if err != nil {
			t.Fatal(err)
		}
		// Ask through the node that did not mint it, several times.
		other := a
		if strings.HasPrefix(n.Instance, "node-a/") {
			other = b
		}
		t.Logf("notify_id minted by instance %s; asking through %s", n.Instance, other.name)
		body := syncCall("prog-echo", "get_callback_data", `{}`)
		body["notify_id"] = notifyID
		// The example program stores the event once spec_notify_app has
		// answered, so the app's callback may come a moment before it.
		// Only the minting instance ever has it: a call routed elsewhere
		// never succeeds.
		testenv.Eventually(t, "the event stored under the notify_id", func() bool {
			r := c.app(other, tok2, "sync_call_program", body)
			return testenv.Errcode(r) == 0 && strings.Contains(fmt.Sprint(r["response_data"]), `"event_type"`)
		})
		for range 3 {
			out := responseData(t, c.app(other, tok2, "sync_call_program", body))
			if out["event_type"] != "conversation_new_message" {
				rows, _ := st.Pool().Query(context.Background(), `SELECT name || ' ' || url || ' ' || seen_at FROM zone_instance`)
				var published []string
				for rows.Next() {
					var r string
					rows.Scan(&r)
					published = append(published, r)
				}
				t.Fatalf("get_callback_data through %s: %v, want the event the minting instance kept (published at %d: %v)",
					other.name, out, time.Now().UnixMilli(), published)
			}
		}
	})

	t.Run("ReplayRefusedOnTheOtherNode", func(t *testing.T) {
		// A program packet accepted by A is a replay when sent again to B.
		keys := zonewire.NewKeys(secret)
		body, _ := json.Marshal(zonewire.Invoke{Interface: "ping", CorpID: "wwarc", AgentID: 1000003, Request: json.RawMessage(`{}`)})
		hd := zonewire.Header{ProgramID: "prog-work", SecretVer: secret.Ver, RequestID: zonewire.NewRequestID(), Timestamp: time.Now().Unix()}
		sealed := keys.Seal(zonewire.PurposeInvoke, hd, body)
		for _, tc := range []struct {
			n      *node
			status int
		}{{a, http.StatusOK}, {b, http.StatusUnauthorized}} {
			req, _ := http.NewRequest("POST", tc.n.url+"/spec/v1/invoke", bytes.NewReader(sealed))
			hd.Apply(req.Header, true)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("through %s: HTTP %d (ww-exception %q), want %d", tc.n.name, resp.StatusCode, resp.Header.Get("ww-exception"), tc.status)
			}
		}
	})

	t.Run("AsyncTaskFromAResultOnB", func(t *testing.T) {
		r := c.app(a, tok2, "async_program_task", map[string]any{"program_id": "prog-echo", "ability_id": "echo", "request_data": `{"text":"异步"}`})
		jobID, _ := r["jobid"].(string)
		if jobID == "" {
			t.Fatalf("async_program_task via A: %s", testenv.Describe(r))
		}
		var res map[string]any
		testenv.Eventually(t, "the task's result through B", func() bool {
			res = c.app(b, tok2, "async_program_result", map[string]any{"jobid": jobID})
			return testenv.Errcode(res) != openzone.ErrWaitingResult
		})
		if testenv.Errcode(res) != 0 || !strings.Contains(fmt.Sprint(res["response_data"]), "异步") {
			t.Fatalf("async_program_result via B: %s", testenv.Describe(res))
		}
	})

	t.Run("KnowledgeSetFromAQueriedOnB", func(t *testing.T) {
		page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<html><body><p>退货政策：签收后七天内可以无理由退货。</p></body></html>")
		}))
		defer page.Close()
		var set struct {
			KBID string `json:"kb_id"`
		}
		c.admin(a, "POST", "/admin/v1/corps/wwarc/knowledge_bases", `{"kb_name":"售后","doc_list":[{"doc_name":"政策","type":101,"web_url":"`+page.URL+`/p"}]}`, &set)
		testenv.Eventually(t, "the set learned, seen through B", func() bool {
			var kb struct {
				Fragments int `json:"fragments"`
			}
			c.admin(b, "GET", "/admin/v1/corps/wwarc/knowledge_bases/"+set.KBID, "", &kb)
			return kb.Fragments == 1
		})
		var q struct {
			Knowledge string `json:"knowledge"`
		}
		c.admin(b, "POST", "/admin/v1/corps/wwarc/knowledge_bases/"+set.KBID+"/query", `{"text":"怎么退货"}`, &q)
		if q.Knowledge != "文档1：退货政策：签收后七天内可以无理由退货。" {
			t.Fatalf("query through B: %q", q.Knowledge)
		}
	})

	t.Run("KillANothingLost", func(t *testing.T) {
		// B steps away, so A alone takes the work below; back with the
		// deliveries open on A, then A dies.
		b.stop(t)
		work.mu.Lock()
		work.held = true
		work.mu.Unlock()
		tok3 := c.token(a, "s3")
		const tasks, events = 3, 2
		var jobIDs []string
		for i := range tasks {
			r := c.app(a, tok3, "async_program_task", map[string]any{"program_id": "prog-work", "ability_id": "work", "request_data": fmt.Sprintf(`{"n":%d}`, i)})
			jobID, _ := r["jobid"].(string)
			if jobID == "" {
				t.Fatalf("async_program_task: %s", testenv.Describe(r))
			}
			jobIDs = append(jobIDs, jobID)
		}
		_, before := work.count()
		for i := range events {
			msg := fmt.Sprintf(`{"sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":2,"id":"wmcustomer1"}],"msgtype":1,"text":{"content":"m%d"}}`, i)
			c.admin(a, "POST", "/admin/v1/corps/wwarc/messages", msg, nil)
		}
		// The tasks and the first event are open on A; the second event
		// waits for the first (a corp's events arrive in order).
		testenv.Eventually(t, "every delivery open on node A", func() bool {
			inFlight, _ := work.count()
			var out struct {
				Events []openzone.Event `json:"events"`
			}
			c.admin(a, "GET", "/admin/v1/events?program_id=prog-work", "", &out)
			return inFlight == tasks+1 && len(out.Events) >= events &&
				strings.HasPrefix(out.Events[0].LastError, "held: waiting for earlier event "+out.Events[1].ID)
		})
		b = startNode(t, bin, db, "node-b", addrB, filepath.Join(dir, "b"))
		a.kill()
		work.mu.Lock()
		work.held = false
		work.mu.Unlock()

		deadline := time.Now().Add(90 * time.Second)
		for _, jobID := range jobIDs {
			for {
				r := c.app(b, tok3, "async_program_result", map[string]any{"jobid": jobID})
				if testenv.Errcode(r) == 0 {
					break
				}
				if testenv.Errcode(r) != openzone.ErrWaitingResult || time.Now().After(deadline) {
					t.Fatalf("task %s after node A died: %s", jobID, testenv.Describe(r))
				}
				time.Sleep(200 * time.Millisecond)
			}
		}
		for {
			if _, n := work.count(); n == before+events {
				break
			}
			if time.Now().After(deadline) {
				_, n := work.count()
				t.Fatalf("%d of %d events delivered after node A died", n-before, events)
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
}
