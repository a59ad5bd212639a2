package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openzone/openzone/internal/docparse/doctest"
	"github.com/openzone/openzone/internal/testenv"
)

const crashSeed = `
providers: [{id: isv, name: ISV}]
corps: [{corpid: wwcrash, name: Crash Corp}]
programs:
  - id: prog-echo
    provider: isv
    name: Echo
    deploy: {command: ["%s", "--name", "crash", "--async-delay", "300ms"], instances: 2}
    abilities: [{id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}]
apps: [{corpid: wwcrash, agentid: 1000002, type: self_built, secret: s, programs: [prog-echo]}]
`

// crashZone is an "openzone serve" process on a fixed data dir.
type crashZone struct {
	t         *testing.T
	bin, dir  string
	addr      string
	cmd       *exec.Cmd
	log       *logBuffer
	client    *http.Client
	seed, tok string
}

func (c *crashZone) start() {
	c.t.Helper()
	c.log = &logBuffer{}
	// Port 0, read back from the zone's first line: a port picked in
	// advance could be taken by a parallel test while this zone is down.
	c.cmd = exec.Command(c.bin, "serve", "--addr", "127.0.0.1:0", "--data", c.dir, "--seed", c.seed, "--log-level", "warn")
	c.cmd.Env = append(os.Environ(), "OPENZONE_ADMIN_TOKEN=crash-admin")
	c.cmd.Stdout, c.cmd.Stderr = c.log, c.log
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	testenv.Eventually(c.t, "the zone to say where it listens", func() bool {
		m := listeningRE.FindStringSubmatch(c.log.String())
		if m == nil {
			return false
		}
		c.addr = strings.TrimPrefix(m[1], "http://")
		return true
	})
	testenv.Eventually(c.t, "the zone to be ready", func() bool {
		resp, err := c.client.Get("http://" + c.addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}

func (c *crashZone) post(path string, body any) (map[string]any, error) {
	b, _ := json.Marshal(body)
	resp, err := c.client.Post("http://"+c.addr+path, "application/json", strings.NewReader(string(b)))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	return out, json.NewDecoder(resp.Body).Decode(&out)
}

func (c *crashZone) tasks() map[string]int {
	req, _ := http.NewRequest("GET", "http://"+c.addr+"/admin/v1/tasks?limit=1000", nil)
	req.Header.Set("Authorization", "Bearer crash-admin")
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Tasks []struct {
			State string `json:"state"`
		} `json:"tasks"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	states := map[string]int{"total": len(out.Tasks)}
	for _, t := range out.Tasks {
		states[t.State]++
	}
	return states
}

// TestAsyncTasksSurviveKill starts 1,000 async tasks on a real zone
// process, kills it with SIGKILL while they are in flight (the program's
// instances die with it), starts it again on the same data, and ends with
// exactly 1,000 results, each the one its own request asked for.
func TestAsyncTasksSurviveKill(t *testing.T) {
	t.Parallel()
	const n = 1000
	dir := t.TempDir()
	c := &crashZone{t: t, bin: testenv.Build(t, "github.com/openzone/openzone/cmd/openzone"), dir: filepath.Join(dir, "data"),
		client: &http.Client{Timeout: 30 * time.Second}, seed: filepath.Join(dir, "seed.yaml")}
	if err := os.WriteFile(c.seed, []byte(fmt.Sprintf(crashSeed, testenv.Example(t))), 0o600); err != nil {
		t.Fatal(err)
	}
	c.start()
	t.Cleanup(func() { c.cmd.Process.Kill(); c.cmd.Wait() })
	tok, err := c.post("/cgi-bin/gettoken?corpid=wwcrash&corpsecret=s", nil)
	if err != nil {
		t.Fatal(err)
	}
	// gettoken is a GET in WeCom; the zone accepts both.
	token, _ := tok["access_token"].(string)
	if token == "" {
		t.Fatalf("gettoken: %v", tok)
	}

	jobIDs := make([]string, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				r, err := c.post("/cgi-bin/chatdata/async_program_task?access_token="+token, map[string]any{
					"program_id": "prog-echo", "ability_id": "echo", "request_data": fmt.Sprintf(`{"text":"task-%04d"}`, i)})
				if err != nil || r["errcode"] != float64(0) {
					t.Errorf("task %d: %v %v", i, r, err)
					return
				}
				jobIDs[i] = r["jobid"].(string)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	before := c.tasks()
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
	t.Logf("killed with SIGKILL; tasks at that moment: %v", before)
	if before["done"] == n {
		t.Fatalf("every task was done before the kill (%v): nothing was in flight", before)
	}

	c.start()
	results := make([]string, n)
	pending := n
	deadline := time.Now().Add(3 * time.Minute)
	for pending > 0 && time.Now().Before(deadline) {
		pending = 0
		for i, id := range jobIDs {
			if results[i] != "" {
				continue
			}
			r, err := c.post("/cgi-bin/chatdata/async_program_result?access_token="+token, map[string]any{"jobid": id})
			if err != nil {
				t.Fatal(err)
			}
			switch r["errcode"] {
			case float64(0):
				results[i] = r["response_data"].(string)
			case float64(710642):
				pending++
			default:
				t.Fatalf("task %d (%s): %v", i, id, r)
			}
		}
		if pending > 0 {
			time.Sleep(200 * time.Millisecond)
		}
	}
	if pending > 0 {
		t.Fatalf("%d tasks still running 3 minutes after the restart; zone log:\n%s", pending, c.log)
	}
	for i, res := range results {
		var out struct {
			Text string `json:"text"`
		}
		if json.Unmarshal([]byte(res), &out) != nil || out.Text != fmt.Sprintf("task-%04d", i) {
			t.Fatalf("task %d: result %q", i, res)
		}
	}
	after := c.tasks()
	if after["total"] != n || after["done"] != n {
		t.Fatalf("after the restart: %v, want exactly %d tasks, all done", after, n)
	}
	t.Logf("after the restart: %v", after)
}

// TestLearningSurvivesKill adds large documents to a knowledge set on a
// real zone process, kills it with SIGKILL while they are being learned
// (status 2), starts it again on the same data, and checks every document
// ends learned, each fragment once.
func TestLearningSurvivesKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &crashZone{t: t, bin: testenv.Build(t, "github.com/openzone/openzone/cmd/openzone"), dir: filepath.Join(dir, "data"),
		client: &http.Client{Timeout: 60 * time.Second}, seed: filepath.Join(dir, "seed.yaml")}
	seed := "corps: [{corpid: wwcrash, name: Crash Corp}]\n"
	if err := os.WriteFile(c.seed, []byte(seed), 0o600); err != nil {
		t.Fatal(err)
	}
	c.start()
	t.Cleanup(func() { c.cmd.Process.Kill(); c.cmd.Wait() })

	// Documents of ~1.5 MB of text each: long enough to learn that the
	// kill lands while some are being learned.
	const docs = 6
	var list []map[string]any
	for i := range docs {
		var paras []string
		for j := range 2500 {
			paras = append(paras, fmt.Sprintf("第%d号文档第%04d段：退货、换货、保修、发票与配送的规则说明，编号%d-%d。", i, j, i, j))
		}
		var m struct {
			MediaID string `json:"media_id"`
		}
		if err := c.admin("POST", "/admin/v1/corps/wwcrash/media", multipartBody(t, fmt.Sprintf("doc%d.docx", i), doctest.DOCX(t, paras...)), &m); err != nil {
			t.Fatal(err)
		}
		list = append(list, map[string]any{"doc_name": fmt.Sprintf("doc%d.docx", i), "type": 6, "file_media_id": m.MediaID})
	}
	var created struct {
		KBID string `json:"kb_id"`
	}
	b, _ := json.Marshal(map[string]any{"kb_name": "大文档", "doc_list": list})
	if err := c.admin("POST", "/admin/v1/corps/wwcrash/knowledge_bases", &multipartPart{ct: "application/json", r: bytes.NewReader(b)}, &created); err != nil {
		t.Fatal(err)
	}
	learning := func() (int, int) {
		var set struct {
			Fragments int `json:"fragments"`
			DocList   []struct {
				Status int `json:"status"`
			} `json:"doc_list"`
		}
		if err := c.admin("GET", "/admin/v1/corps/wwcrash/knowledge_bases/"+created.KBID, nil, &set); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, d := range set.DocList {
			if d.Status == 2 {
				n++
			}
		}
		return n, set.Fragments
	}
	time.Sleep(300 * time.Millisecond)
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
	c.start()
	before, _ := learning()
	t.Logf("killed with SIGKILL; %d of %d documents still being learned after the restart began", before, docs)
	if before == 0 {
		t.Fatal("every document was learned before the kill: nothing was in flight")
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		n, frags := learning()
		if n == 0 {
			var set struct {
				DocList []struct {
					Status    int `json:"status"`
					Fragments int `json:"fragments"`
				} `json:"doc_list"`
			}
			c.admin("GET", "/admin/v1/corps/wwcrash/knowledge_bases/"+created.KBID, nil, &set)
			sum := 0
			for _, d := range set.DocList {
				if d.Status != 0 {
					t.Fatalf("a document ended with status %d: %+v", d.Status, set)
				}
				sum += d.Fragments
			}
			if sum != frags || sum == 0 {
				t.Fatalf("the set counts %d fragments, its documents %d", frags, sum)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d documents still being learned 3 minutes after the restart; zone log:\n%s", n, c.log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// multipartPart is a request body with its content type.
type multipartPart struct {
	ct string
	r  io.Reader
}

func multipartBody(t *testing.T, name string, data []byte) *multipartPart {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("media", name)
	fw.Write(data)
	mw.Close()
	return &multipartPart{ct: mw.FormDataContentType(), r: &body}
}

// admin calls the zone's admin API.
func (c *crashZone) admin(method, path string, body *multipartPart, out any) error {
	var rd io.Reader
	if body != nil {
		rd = body.r
	}
	req, _ := http.NewRequest(method, "http://"+c.addr+path, rd)
	req.Header.Set("Authorization", "Bearer crash-admin")
	if body != nil {
		req.Header.Set("Content-Type", body.ct)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s %s: HTTP %d %s", method, path, resp.StatusCode, raw)
	}
	return json.Unmarshal(raw, out)
}
