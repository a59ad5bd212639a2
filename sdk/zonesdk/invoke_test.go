package zonesdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

// callCtx returns the ctx a handler gets for an async call of ability
// "summarise" from app 1000002 of wwdemo, by running one through ServeHTTP.
func callCtx(t *testing.T, p *zonesdk.Program, ability string, c zonewire.Call) context.Context {
	t.Helper()
	var got context.Context
	p.Handle(ability, func(ctx context.Context, req *zonesdk.Request) (string, error) {
		got = zonesdk.Detach(ctx)
		return "{}", nil
	})
	hd := newHeader()
	c.CallType, c.AbilityID = 1, ability
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, callRequest(hd, sealCall(t, zonewire.NewKeys(testSecret(1)), hd, c), "lower"))
	if rec.Code != 200 || got == nil {
		t.Fatalf("call not served: %d", rec.Code)
	}
	return got
}

func TestProgram_Invoke_Context(t *testing.T) {
	t.Parallel()
	z := newFakeZone(t)
	z.Reply = func(inv zonewire.Invoke) string {
		return `{"errcode":0,"errmsg":"ok","interface":"` + inv.Interface + `"}`
	}
	p := newTestProgram(t, z.URL())
	call := zonewire.Call{CorpID: "wwdemo", AgentID: 1000002, IsAsync: true, JobInfo: "job-42", Data: "{}"}
	ctx := callCtx(t, p, "summarise", call)

	tests := []struct {
		name    string
		ctx     context.Context
		iface   string
		request any
		want    zonewire.Invoke
	}{
		{
			name: "FromCall", ctx: ctx, iface: "sync_msg", request: `{"cursor":"c1"}`,
			want: zonewire.Invoke{Interface: "sync_msg", CorpID: "wwdemo", AgentID: 1000002, AbilityID: "summarise", Request: json.RawMessage(`{"cursor":"c1"}`)},
		},
		{
			name: "FromCallJobInfoOnCallback", ctx: ctx, iface: zonesdk.AsyncJobCallback, request: map[string]any{"errcode": 0, "result": "{}"},
			want: zonewire.Invoke{Interface: zonesdk.AsyncJobCallback, CorpID: "wwdemo", AgentID: 1000002, AbilityID: "summarise", JobInfo: "job-42", Request: json.RawMessage(`{"errcode":0,"result":"{}"}`)},
		},
		{
			name: "ExplicitContext", iface: "spec_notify_app", request: nil,
			ctx:  zonesdk.WithInvokeContext(context.Background(), zonesdk.InvokeContext{CorpID: "wwother", AgentID: 7, AbilityID: "a", JobInfo: "j"}),
			want: zonewire.Invoke{Interface: "spec_notify_app", CorpID: "wwother", AgentID: 7, AbilityID: "a", Request: json.RawMessage(`{}`)},
		},
		{
			name: "ExplicitContextJobInfoOnCallback", iface: zonesdk.AsyncJobCallback, request: json.RawMessage(`{"errcode":0}`),
			ctx:  zonesdk.WithInvokeContext(context.Background(), zonesdk.InvokeContext{CorpID: "wwother", JobInfo: "j"}),
			want: zonewire.Invoke{Interface: zonesdk.AsyncJobCallback, CorpID: "wwother", JobInfo: "j", Request: json.RawMessage(`{"errcode":0}`)},
		},
		{
			name: "ExplicitContextOverridesCall", iface: "ping", request: []byte(`{"x":1}`),
			ctx:  zonesdk.WithInvokeContext(ctx, zonesdk.InvokeContext{CorpID: "wwother"}),
			want: zonewire.Invoke{Interface: "ping", CorpID: "wwother", Request: json.RawMessage(`{"x":1}`)},
		},
		{
			name: "NoContext", ctx: context.Background(), iface: "ping", request: struct {
				A int `json:"a"`
			}{1},
			want: zonewire.Invoke{Interface: "ping", Request: json.RawMessage(`{"a":1}`)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, err := p.Invoke(tt.ctx, tt.iface, tt.request)
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			if code, msg := zonesdk.Errcode(reply); code != 0 || msg != "ok" {
				t.Errorf("Errcode = %d, %q", code, msg)
			}
			if !strings.Contains(string(reply), `"interface":"`+tt.iface+`"`) {
				t.Errorf("reply = %s", reply)
			}
			invs, hds := z.Invokes()
			got, hd := invs[len(invs)-1], hds[len(hds)-1]
			if string(got.Request) != string(tt.want.Request) {
				t.Errorf("request = %s, want %s", got.Request, tt.want.Request)
			}
			got.Request, tt.want.Request = nil, nil
			if got.Interface != tt.want.Interface || got.CorpID != tt.want.CorpID || got.AgentID != tt.want.AgentID ||
				got.AbilityID != tt.want.AbilityID || got.JobInfo != tt.want.JobInfo {
				t.Errorf("invoke = %+v, want %+v", got, tt.want)
			}
			if hd.ProgramID != testProgramID || hd.SecretVer != 1 || hd.Timestamp != testNow.Unix() || len(hd.RequestID) != 32 {
				t.Errorf("header = %+v", hd)
			}
		})
	}

	// Each invoke has its own request id.
	_, hds := z.Invokes()
	seen := map[string]bool{}
	for _, hd := range hds {
		if seen[hd.RequestID] {
			t.Errorf("request id %s reused", hd.RequestID)
		}
		seen[hd.RequestID] = true
	}
}

func TestProgram_Invoke_Errors(t *testing.T) {
	t.Parallel()

	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()

	tests := []struct {
		name     string
		zone     func(t *testing.T) string // returns the zone URL
		client   *http.Client
		request  any
		wantCode int
		wantMsg  string
	}{
		{
			name:     "ErrConnectRefused",
			zone:     func(t *testing.T) string { return refused },
			wantCode: zonesdk.CodeNetwork,
		},
		{
			name: "ErrTimeout",
			zone: func(t *testing.T) string {
				done := make(chan struct{})
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					select {
					case <-done:
					case <-time.After(5 * time.Second):
					}
				}))
				t.Cleanup(func() { close(done); srv.Close() })
				return srv.URL
			},
			client:   &http.Client{Timeout: 50 * time.Millisecond},
			wantCode: zonesdk.CodeNetwork,
		},
		{
			name: "ErrStatus500",
			zone: func(t *testing.T) string {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Error(w, "zone on fire", http.StatusInternalServerError)
				}))
				t.Cleanup(srv.Close)
				return srv.URL
			},
			wantCode: zonesdk.CodeHTTPStatus,
			wantMsg:  "HTTP 500: zone on fire",
		},
		{
			name: "ErrStatusJSON",
			zone: func(t *testing.T) string {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header()["ww-exception"] = []string{"-10012"}
					w.WriteHeader(http.StatusUnauthorized)
					w.Write([]byte(`{"errcode":710677,"errmsg":"unknown program"}`))
				}))
				t.Cleanup(srv.Close)
				return srv.URL
			},
			wantCode: zonesdk.CodeHTTPStatus,
			wantMsg:  "HTTP 401 (ww-exception -10012): errcode 710677, unknown program",
		},
		{
			name: "ErrTamperedReply",
			zone: func(t *testing.T) string {
				z := newFakeZone(t)
				z.Respond = func(w http.ResponseWriter, hd zonewire.Header, sealed []byte) {
					tamper(sealed)
					w.Write(sealed)
				}
				return z.URL()
			},
			wantCode: zonesdk.CodeSignature,
		},
		{
			name: "ErrReplyForAnotherRequest",
			zone: func(t *testing.T) string {
				z := newFakeZone(t)
				z.Respond = func(w http.ResponseWriter, hd zonewire.Header, sealed []byte) {
					hd.RequestID = zonewire.NewRequestID()
					w.Write(z.keys.Seal(zonewire.PurposeResult, hd, []byte(`{"errcode":0}`)))
				}
				return z.URL()
			},
			wantCode: zonesdk.CodeSignature,
		},
		{
			name: "ErrShortReply",
			zone: func(t *testing.T) string {
				z := newFakeZone(t)
				z.Respond = func(w http.ResponseWriter, hd zonewire.Header, sealed []byte) { w.Write([]byte("ok")) }
				return z.URL()
			},
			wantCode: zonesdk.CodeDecrypt,
		},
		{
			name: "ErrReplyNotJSON",
			zone: func(t *testing.T) string {
				z := newFakeZone(t)
				z.Reply = func(zonewire.Invoke) string { return "not json" }
				return z.URL()
			},
			wantCode: zonesdk.CodeInvalidJSON,
		},
		{
			name: "ErrZoneSecretVer",
			zone: func(t *testing.T) string {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header()["ww-exception"] = []string{"-10008"}
					w.WriteHeader(http.StatusUnauthorized)
					w.Write([]byte(`{"errcode":710677,"errmsg":"secret version 1 is not current"}`))
				}))
				t.Cleanup(srv.Close)
				return srv.URL
			},
			wantCode: zonesdk.CodeSecretVer,
			wantMsg:  "secret version 1 is not current",
		},
		{
			name: "ErrWrongSecretVerAtZone", // the real fake zone, holding version 2
			zone: func(t *testing.T) string {
				z := newFakeZone(t)
				z.keys = zonewire.NewKeys(testSecret(2))
				return z.URL()
			},
			wantCode: zonesdk.CodeSecretVer,
		},
		{
			name: "ErrReplySecretVer",
			zone: func(t *testing.T) string {
				z := newFakeZone(t)
				z.Respond = func(w http.ResponseWriter, hd zonewire.Header, sealed []byte) {
					hd.SecretVer = 2
					hd.Apply(w.Header(), false)
					w.Write(sealed)
				}
				return z.URL()
			},
			wantCode: zonesdk.CodeSecretVer,
		},
		{
			name:     "ErrRequestNotJSON",
			zone:     func(t *testing.T) string { return refused }, // never reached
			request:  "cursor=1",
			wantCode: zonesdk.CodeInvalidJSON,
		},
		{
			name:     "ErrRequestUnmarshallable",
			zone:     func(t *testing.T) string { return refused },
			request:  map[string]any{"f": func() {}},
			wantCode: zonesdk.CodeInvalidJSON,
		},
		{
			name:     "ErrNoZoneURL",
			zone:     func(t *testing.T) string { return "" },
			wantCode: zonesdk.CodeInternal,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := zonesdk.New(zonesdk.Config{
				ZoneURL:    tt.zone(t),
				ProgramID:  testProgramID,
				Secret:     testSecret(1),
				HTTPClient: tt.client,
				Now:        func() time.Time { return testNow },
			})
			if err != nil {
				t.Fatal(err)
			}
			req := tt.request
			if req == nil {
				req = `{}`
			}
			reply, err := p.Invoke(context.Background(), "sync_msg", req)
			var ie *zonesdk.InvokeError
			if !errors.As(err, &ie) {
				t.Fatalf("Invoke = %s, %v; want an *InvokeError", reply, err)
			}
			if ie.Code != tt.wantCode {
				t.Errorf("code = %d, want %d (%v)", ie.Code, tt.wantCode, err)
			}
			if !strings.Contains(ie.Msg, tt.wantMsg) {
				t.Errorf("msg = %q, want it to contain %q", ie.Msg, tt.wantMsg)
			}
			if reply != nil {
				t.Errorf("reply = %s, want nil", reply)
			}
		})
	}
}

func TestProgram_Invoke_Cancelled(t *testing.T) {
	t.Parallel()
	z := newFakeZone(t)
	p := newTestProgram(t, z.URL())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Invoke(ctx, "ping", nil)
	var ie *zonesdk.InvokeError
	if !errors.As(err, &ie) || ie.Code != zonesdk.CodeNetwork || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want code %d wrapping context.Canceled", err, zonesdk.CodeNetwork)
	}
}

// The reply is returned as is, whatever its errcode.
func TestProgram_Invoke_ErrcodeReply(t *testing.T) {
	t.Parallel()
	z := newFakeZone(t)
	z.Reply = func(zonewire.Invoke) string { return `{"errcode":710611,"errmsg":"cursor incorrect"}` }
	p := newTestProgram(t, z.URL())
	reply, err := p.Invoke(context.Background(), "sync_msg", `{"cursor":"bad"}`)
	if err != nil {
		t.Fatal(err)
	}
	if code, msg := zonesdk.Errcode(reply); code != 710611 || msg != "cursor incorrect" {
		t.Errorf("Errcode = %d, %q", code, msg)
	}
}

func TestErrcode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		reply string
		code  int
		msg   string
	}{
		{`{"errcode":0,"errmsg":"ok","notify_id":"n"}`, 0, "ok"},
		{`{"errcode":40058,"errmsg":"missing"}`, 40058, "missing"},
		{`{"has_more":0}`, 0, ""},
		{`[1]`, zonesdk.CodeInvalidJSON, "reply is not a JSON object with errcode and errmsg"},
		{`{"errcode":"x"}`, zonesdk.CodeInvalidJSON, "reply is not a JSON object with errcode and errmsg"},
	}
	for _, tt := range tests {
		code, msg := zonesdk.Errcode(json.RawMessage(tt.reply))
		if code != tt.code || msg != tt.msg {
			t.Errorf("Errcode(%s) = %d, %q; want %d, %q", tt.reply, code, msg, tt.code, tt.msg)
		}
	}
}

func TestGenerateNotifyID(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		id := zonesdk.GenerateNotifyID()
		if len(id) == 0 || len(id) > 64 {
			t.Fatalf("len(%q) = %d", id, len(id))
		}
		for _, c := range id {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
				t.Fatalf("%q is not URL-safe", id)
			}
		}
		if seen[id] {
			t.Fatalf("%q generated twice", id)
		}
		seen[id] = true
	}
}
