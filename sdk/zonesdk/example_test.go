package zonesdk_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

// A deployed program: configuration from the environment, one ability,
// one event handler, and the listener WeCom programs use (0.0.0.0:8080).
func ExampleNew() {
	cfg, err := zonesdk.ConfigFromEnv() // OPENZONE_API, OPENZONE_PROGRAM_ID, OPENZONE_SECRET
	if err != nil {
		log.Fatal(err)
	}
	p, err := zonesdk.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	p.Handle("echo", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		return req.Data, nil
	})
	p.HandleEvent(func(ctx context.Context, req *zonesdk.Request) error {
		slog.Info("event", "corpid", req.CorpID)
		return nil
	})
	log.Fatal(http.ListenAndServe(zonesdk.Addr(), p))
}

// An ability handler, called the way the zone calls it: a sealed POST to
// the program, answered with a sealed reply whose data becomes the app's
// response_data.
func ExampleProgram_Handle() {
	secret := zonewire.NewSecret(1)
	p, err := zonesdk.New(zonesdk.Config{ProgramID: "prog-echo", Secret: secret})
	if err != nil {
		log.Fatal(err)
	}
	p.Handle("echo", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		var in struct {
			Text string `json:"text"`
		}
		if err := json.Unmarshal([]byte(req.Data), &in); err != nil {
			return "", fmt.Errorf("request_data: %w", err)
		}
		out, err := json.Marshal(map[string]string{"text": in.Text, "served_by": "example"})
		return string(out), err
	})

	// What the zone does for sync_call_program(ability_id "echo").
	keys := zonewire.NewKeys(secret)
	hd := zonewire.Header{ProgramID: "prog-echo", SecretVer: 1, RequestID: zonewire.NewRequestID(), Timestamp: time.Now().Unix()}
	call, _ := json.Marshal(zonewire.Call{CorpID: "wwdemo", AgentID: 1000002, CallType: 1, AbilityID: "echo", Data: `{"text":"你好"}`})
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(keys.Seal(zonewire.PurposeCall, hd, call)))
	hd.Apply(r.Header, false)
	w := httptest.NewRecorder()
	p.ServeHTTP(w, r)

	plain, err := keys.Open(zonewire.PurposeReply, hd, w.Body.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	var reply zonewire.Reply
	json.Unmarshal(plain, &reply)
	fmt.Println(w.Code, reply.Data)
	// Output:
	// 200 {"served_by":"example","text":"你好"}
}

// Calling an SDK interface. Here the zone is an in-process fake that
// answers spec_notify_app; inside a handler the invoke context would come
// from the call itself.
func ExampleProgram_Invoke() {
	secret := zonewire.NewSecret(1)
	zone := httptest.NewServer(fakeNotifyZone(secret))
	defer zone.Close()

	p, err := zonesdk.New(zonesdk.Config{ZoneURL: zone.URL, ProgramID: "prog-echo", Secret: secret})
	if err != nil {
		log.Fatal(err)
	}
	ctx := zonesdk.WithInvokeContext(context.Background(), zonesdk.InvokeContext{CorpID: "wwdemo", AgentID: 1000002})
	reply, err := p.Invoke(ctx, "spec_notify_app", map[string]any{"notify_id": "n-123", "notify_scene": 1})
	if err != nil {
		log.Fatal(err) // an *zonesdk.InvokeError: the invoke itself failed
	}
	code, msg := zonesdk.Errcode(reply)
	fmt.Println(code, msg)
	fmt.Println(string(reply))
	// Output:
	// 0 ok
	// {"errcode":0,"errmsg":"ok","notify_id":"n-123","corpid":"wwdemo"}
}

// fakeNotifyZone is a minimal zone answering spec_notify_app invokes.
func fakeNotifyZone(secret zonewire.Secret) http.Handler {
	keys := zonewire.NewKeys(secret)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd, err := zonewire.ReadHeader(r.Header, "")
		body, _ := io.ReadAll(r.Body)
		var plain []byte
		if err == nil {
			plain, err = keys.Open(zonewire.PurposeInvoke, hd, body)
		}
		if err != nil {
			w.Header()[zonewire.HeaderException] = []string{strconv.Itoa(zonewire.ExceptionCode(err))}
			http.Error(w, `{"errcode":710677,"errmsg":"cannot open invoke"}`, http.StatusUnauthorized)
			return
		}
		var inv zonewire.Invoke
		var req struct {
			NotifyID string `json:"notify_id"`
		}
		json.Unmarshal(plain, &inv)
		json.Unmarshal(inv.Request, &req)
		out := fmt.Sprintf(`{"errcode":0,"errmsg":"ok","notify_id":%q,"corpid":%q}`, req.NotifyID, inv.CorpID)
		hd.Apply(w.Header(), false)
		w.Header().Set("Content-Type", zonewire.ContentType)
		w.Write(keys.Seal(zonewire.PurposeResult, hd, []byte(out)))
	})
}

// An async call is acknowledged at once; the result is reported with
// program_async_job_call_back, which carries the call's job_info.
func ExampleDetach() {
	var p *zonesdk.Program // from zonesdk.New
	p.Handle("summarise", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		if !req.IsAsync {
			return `{"summary":"…"}`, nil
		}
		ctx = zonesdk.Detach(ctx) // outlives this HTTP exchange, keeps the call
		go func() {
			reply, err := p.Invoke(ctx, zonesdk.AsyncJobCallback, map[string]any{
				"errcode": 0,
				"result":  `{"summary":"…"}`,
			})
			if err != nil {
				slog.Error("report async result", "err", err)
				return
			}
			if code, msg := zonesdk.Errcode(reply); code != 0 {
				slog.Error("report async result", "errcode", code, "errmsg", msg)
			}
		}()
		return "{}", nil
	})
}

func ExampleGenerateNotifyID() {
	id := zonesdk.GenerateNotifyID()
	fmt.Println(len(id))
	// Output: 32
}
