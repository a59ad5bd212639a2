package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

const testProgramID = "prog-echo"

// fakeZone is an in-process zone: it calls the program (Call) and answers
// its invokes (spec_notify_app, program_async_job_call_back, and any other
// interface with {"errcode":0,"errmsg":"ok","interface",…,"request":…}).
type fakeZone struct {
	t       *testing.T
	secret  zonewire.Secret
	keys    *zonewire.Keys
	zone    *httptest.Server
	program *httptest.Server

	mu        sync.Mutex
	invokes   []zonewire.Invoke
	notifies  int
	callbacks chan zonewire.Invoke
}

// newFakeZone starts a fake zone and the example program (instance name
// "test-instance") wired to it.
func newFakeZone(t *testing.T) *fakeZone {
	z := &fakeZone{t: t, secret: zonewire.NewSecret(1), callbacks: make(chan zonewire.Invoke, 10)}
	z.keys = zonewire.NewKeys(z.secret)
	z.zone = httptest.NewServer(http.HandlerFunc(z.serveInvoke))
	t.Cleanup(z.zone.Close)

	log := slog.New(slog.DiscardHandler)
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	p, err := zonesdk.New(zonesdk.Config{ZoneURL: z.zone.URL, ProgramID: testProgramID, Secret: z.secret, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(p, "test-instance", log)
	z.program = httptest.NewServer(p)
	t.Cleanup(func() {
		z.program.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := a.wait(ctx); err != nil {
			t.Errorf("async jobs still running: %v", err)
		}
	})
	return z
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func (z *fakeZone) serveInvoke(w http.ResponseWriter, r *http.Request) {
	hd, err := zonewire.ReadHeader(r.Header, "")
	if err == nil && hd.ProgramID != testProgramID {
		err = &zonewire.Error{Code: zonewire.ExcUnknownPrg, Reason: "unknown program"}
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
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"errcode":710677,"errmsg":%q}`, err.Error())
		return
	}
	z.mu.Lock()
	z.invokes = append(z.invokes, inv)
	var reply string
	switch inv.Interface {
	case "spec_notify_app":
		z.notifies++
		var req struct {
			NotifyID string `json:"notify_id"`
		}
		json.Unmarshal(inv.Request, &req)
		reply = fmt.Sprintf(`{"errcode":0,"errmsg":"ok","notify_id":%q}`, req.NotifyID)
	case zonesdk.AsyncJobCallback:
		reply = `{"errcode":0,"errmsg":"ok"}`
		z.callbacks <- inv
	default:
		reply = fmt.Sprintf(`{"errcode":0,"errmsg":"ok","interface":%q,"corpid":%q,"agentid":%d,"ability_id":%q,"job_info":%q,"request":%s}`,
			inv.Interface, inv.CorpID, inv.AgentID, inv.AbilityID, inv.JobInfo, inv.Request)
	}
	z.mu.Unlock()
	hd.Apply(w.Header(), false)
	w.Header().Set("Content-Type", zonewire.ContentType)
	w.Write(z.keys.Seal(zonewire.PurposeResult, hd, []byte(reply)))
}

// call sends c to the program as the zone does and returns the status and
// the opened reply data.
func (z *fakeZone) call(c zonewire.Call) (int, string) {
	z.t.Helper()
	hd := zonewire.Header{ProgramID: testProgramID, SecretVer: 1, RequestID: zonewire.NewRequestID(), Timestamp: time.Now().Unix()}
	plain, _ := json.Marshal(c)
	req, _ := http.NewRequest(http.MethodPost, z.program.URL+"/", bytes.NewReader(z.keys.Seal(zonewire.PurposeCall, hd, plain)))
	hd.Apply(req.Header, false)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		z.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if exc := res.Header.Get(zonewire.HeaderException); exc != "" {
		z.t.Fatalf("program answered ww-exception %s", exc)
	}
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, string(body)
	}
	out, err := z.keys.Open(zonewire.PurposeReply, hd, body)
	if err != nil {
		z.t.Fatalf("open reply: %v", err)
	}
	var rep zonewire.Reply
	if err := json.Unmarshal(out, &rep); err != nil {
		z.t.Fatal(err)
	}
	return res.StatusCode, rep.Data
}

// callback waits for the next program_async_job_call_back.
func (z *fakeZone) callback() zonewire.Invoke {
	z.t.Helper()
	select {
	case inv := <-z.callbacks:
		return inv
	case <-time.After(5 * time.Second):
		z.t.Fatal("no program_async_job_call_back within 5 s")
		return zonewire.Invoke{}
	}
}

// lastInvoke returns the last invoke of iface.
func (z *fakeZone) lastInvoke(iface string) (zonewire.Invoke, bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	for i := len(z.invokes) - 1; i >= 0; i-- {
		if z.invokes[i].Interface == iface {
			return z.invokes[i], true
		}
	}
	return zonewire.Invoke{}, false
}

func appCall(ability, data string) zonewire.Call {
	return zonewire.Call{CorpID: "wwdemo", AgentID: 1000002, CallType: 1, AbilityID: ability, Data: data}
}

func TestEcho(t *testing.T) {
	t.Parallel()
	z := newFakeZone(t)

	t.Run("Sync", func(t *testing.T) {
		status, data := z.call(appCall("echo", `{"text":"你好, zone"}`))
		if status != 200 || data != `{"text":"你好, zone","served_by":"test-instance"}` {
			t.Fatalf("echo = %d %s", status, data)
		}
	})
	t.Run("ErrBadInput", func(t *testing.T) {
		status, body := z.call(appCall("echo", `not json`))
		if status != 500 || !strings.Contains(body, `request_data must be {"text":"…"}`) {
			t.Fatalf("echo = %d %q", status, body)
		}
	})
	t.Run("Async", func(t *testing.T) {
		c := appCall("echo", `{"text":"later"}`)
		c.IsAsync, c.JobInfo = true, "job-info-7"
		status, data := z.call(c)
		if status != 200 || data != "{}" {
			t.Fatalf("ack = %d %s", status, data)
		}
		cb := z.callback()
		if cb.CorpID != "wwdemo" || cb.AgentID != 1000002 || cb.AbilityID != "echo" || cb.JobInfo != "job-info-7" {
			t.Errorf("callback context = %+v", cb)
		}
		var res asyncResult
		if err := json.Unmarshal(cb.Request, &res); err != nil {
			t.Fatal(err)
		}
		if res.Errcode != 0 || res.Result != `{"text":"later","served_by":"test-instance"}` {
			t.Errorf("callback request = %s", cb.Request)
		}
	})
	t.Run("AsyncBadInput", func(t *testing.T) {
		c := appCall("echo", `[]`)
		c.IsAsync, c.JobInfo = true, "job-info-8"
		if status, data := z.call(c); status != 200 || data != "{}" {
			t.Fatalf("ack = %d %s", status, data)
		}
		cb := z.callback()
		var res asyncResult
		json.Unmarshal(cb.Request, &res)
		if cb.JobInfo != "job-info-8" || res.Errcode != errDemo {
			t.Errorf("callback = %+v, request %s", cb, cb.Request)
		}
	})
}

func TestInvokeAbilities(t *testing.T) {
	t.Parallel()
	z := newFakeZone(t)

	t.Run("Sync", func(t *testing.T) {
		status, data := z.call(appCall("invoke_sync_msg", `{"cursor":"c1","limit":10}`))
		want := `{"errcode":0,"errmsg":"ok","interface":"sync_msg","corpid":"wwdemo","agentid":1000002,"ability_id":"invoke_sync_msg","job_info":"","request":{"cursor":"c1","limit":10}}`
		if status != 200 || data != want {
			t.Fatalf("invoke_sync_msg = %d\n got %s\nwant %s", status, data, want)
		}
	})
	t.Run("EmptyRequestData", func(t *testing.T) {
		_, data := z.call(appCall("invoke_get_rule_list", ``))
		if !strings.Contains(data, `"request":{}`) {
			t.Fatalf("invoke_get_rule_list = %s", data)
		}
	})
	t.Run("ErrInvalidJSON", func(t *testing.T) {
		status, data := z.call(appCall("invoke_search_msg", `query_word=hi`))
		if code, _ := zonesdk.Errcode(json.RawMessage(data)); status != 200 || code != zonesdk.CodeInvalidJSON {
			t.Fatalf("invoke_search_msg = %d %s", status, data)
		}
	})
	t.Run("Async", func(t *testing.T) {
		c := appCall("invoke_ping", `{"hello":1}`)
		c.IsAsync, c.JobInfo = true, "job-ping"
		if status, data := z.call(c); status != 200 || data != "{}" {
			t.Fatalf("ack = %d %s", status, data)
		}
		cb := z.callback()
		if cb.JobInfo != "job-ping" {
			t.Errorf("callback job_info = %q", cb.JobInfo)
		}
		ping, ok := z.lastInvoke("ping")
		if !ok || ping.JobInfo != "" || ping.AbilityID != "invoke_ping" {
			t.Errorf("ping invoke = %+v (job_info goes only with the callback)", ping)
		}
		var res asyncResult
		json.Unmarshal(cb.Request, &res)
		if res.Errcode != 0 || !strings.Contains(res.Result, `"interface":"ping"`) || !strings.Contains(res.Result, `"request":{"hello":1}`) {
			t.Errorf("callback request = %s", cb.Request)
		}
	})
	t.Run("UnlistedInterface", func(t *testing.T) {
		status, data := z.call(appCall("invoke_knowledge_base_list", `{}`))
		if status != 200 || !strings.Contains(data, `"interface":"knowledge_base_list"`) {
			t.Fatalf("invoke_knowledge_base_list = %d %s", status, data)
		}
	})
	t.Run("ErrUnknownAbility", func(t *testing.T) {
		for _, async := range []bool{false, true} {
			for _, ability := range []string{"nope", "invoke_"} {
				c := appCall(ability, `{}`)
				c.IsAsync, c.JobInfo = async, "j"
				if status, body := z.call(c); status != 404 {
					t.Errorf("%s (async %v) = %d %q, want 404", ability, async, status, body)
				}
			}
		}
	})
	t.Run("AllInterfaces", func(t *testing.T) {
		for _, iface := range sdkInterfaces {
			if iface == "spec_notify_app" {
				continue // answered differently by the fake zone
			}
			_, data := z.call(appCall("invoke_"+iface, `{}`))
			if !strings.Contains(data, `"interface":"`+iface+`"`) {
				t.Errorf("invoke_%s = %s", iface, data)
			}
		}
	})
}

func TestEventRoundTrip(t *testing.T) {
	t.Parallel()
	z := newFakeZone(t)
	event := `{"event_type":"conversation_new_message","timestamp":1408091189,"conversation_new_message":{"token":"tok-1"}}`

	status, data := z.call(zonewire.Call{CorpID: "wwdemo", CallType: 2, Data: event})
	if status != 200 || data != "" {
		t.Fatalf("event = %d %q", status, data)
	}
	notify, ok := z.lastInvoke("spec_notify_app")
	var sent struct {
		NotifyID string `json:"notify_id"`
	}
	json.Unmarshal(notify.Request, &sent)
	if !ok || notify.CorpID != "wwdemo" || len(sent.NotifyID) != 32 {
		t.Fatalf("spec_notify_app invoke = %+v, %v: want the notify_id the program made", notify, ok)
	}

	c := appCall("get_callback_data", "{}")
	c.NotifyID = sent.NotifyID
	status, data = z.call(c)
	if want := event; status != 200 || data != want {
		t.Fatalf("get_callback_data = %d\n got %s\nwant %s", status, data, want)
	}

	for _, id := range []string{"notify-404", ""} {
		c.NotifyID = id
		_, data = z.call(c)
		if code, msg := zonesdk.Errcode(json.RawMessage(data)); code != errDemo || msg == "" {
			t.Errorf("get_callback_data(%q) = %s", id, data)
		}
	}
}

func TestEventStore_Expiry(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_750_000_000, 0)
	s := newEventStore(eventTTL, func() time.Time { return now })
	s.put("n1", json.RawMessage(`{"a":1}`))
	now = now.Add(eventTTL - time.Second)
	if ev, ok := s.get("n1"); !ok || string(ev) != `{"a":1}` {
		t.Fatalf("get before expiry = %s, %v", ev, ok)
	}
	now = now.Add(time.Second)
	if _, ok := s.get("n1"); ok {
		t.Fatal("event still there after 20 minutes")
	}
	s.put("n2", json.RawMessage(`{}`))
	if len(s.events) != 1 {
		t.Errorf("expired events not swept: %d left", len(s.events))
	}
}

func TestLoadConfig(t *testing.T) {
	t.Setenv(zonesdk.EnvAPI, "")
	t.Setenv(zonesdk.EnvProgramID, "prog-echo")
	t.Setenv(zonesdk.EnvSecret, zonewire.NewSecret(1).String())

	if _, err := loadConfig("", false); err == nil || !strings.Contains(err.Error(), zonesdk.EnvAPI) {
		t.Errorf("without --api: err = %v, want it to name %s", err, zonesdk.EnvAPI)
	}
	cfg, err := loadConfig("http://127.0.0.1:8780", false)
	if err != nil || cfg.ZoneURL != "http://127.0.0.1:8780" || cfg.ProgramID != "prog-echo" {
		t.Errorf("with --api: cfg %+v, err %v", cfg, err)
	}
	t.Setenv(zonesdk.EnvSecret, "")
	if _, err := loadConfig("http://127.0.0.1:8780", false); err == nil || !strings.Contains(err.Error(), zonesdk.EnvSecret) {
		t.Errorf("without secret: err = %v", err)
	}
	// Debug mode needs no production secret, but still a zone URL.
	if cfg, err := loadConfig("http://127.0.0.1:8780", true); err != nil || cfg.Secret.Ver != 0 {
		t.Errorf("debug mode without secret: cfg %+v, err %v", cfg.Secret.Ver, err)
	}
	if _, err := loadConfig("", true); err == nil || !strings.Contains(err.Error(), zonesdk.EnvAPI) || strings.Contains(err.Error(), zonesdk.EnvSecret) {
		t.Errorf("debug mode without --api: err = %v, want it to name %s only", err, zonesdk.EnvAPI)
	}
	t.Setenv(zonesdk.EnvSecret, "1:short")
	if _, err := loadConfig("http://127.0.0.1:8780", true); err == nil || !strings.Contains(err.Error(), zonesdk.EnvSecret) {
		t.Errorf("debug mode with a malformed secret: err = %v", err)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// run starts, serves, and stops on cancellation.
func TestRun(t *testing.T) {
	t.Setenv(zonesdk.EnvAPI, "")
	t.Setenv(zonesdk.EnvProgramID, "prog-echo")
	t.Setenv(zonesdk.EnvSecret, zonewire.NewSecret(1).String())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out syncBuffer
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"--addr", "127.0.0.1:0", "--api", "http://127.0.0.1:1", "--name", "n1"}, &out)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "msg=listening") {
		if time.Now().After(deadline) {
			t.Fatalf("not listening after 5 s; log:\n%s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("run did not return after cancellation")
	}
	log := out.String()
	for _, want := range []string{"program_id=prog-echo", "debug_mode=false", "msg=stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestRun_ErrConfig(t *testing.T) {
	t.Setenv(zonesdk.EnvAPI, "")
	t.Setenv(zonesdk.EnvProgramID, "")
	t.Setenv(zonesdk.EnvSecret, "")
	err := run(context.Background(), []string{"--addr", "127.0.0.1:0"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), zonesdk.EnvProgramID) {
		t.Fatalf("run = %v, want an error naming %s", err, zonesdk.EnvProgramID)
	}
}
