package zonesdk_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

// testHandlers registers the abilities and event handler the ServeHTTP
// tests call; events are reported on the returned channel.
func testHandlers(p *zonesdk.Program) <-chan *zonesdk.Request {
	events := make(chan *zonesdk.Request, 10)
	p.Handle("echo", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		got, ok := zonesdk.RequestFrom(ctx)
		if !ok || got != req {
			return "", errors.New("ctx does not carry the request")
		}
		return `{"echo":` + strconv.Quote(req.Data) + `,"corpid":"` + req.CorpID + `","agentid":` +
			strconv.FormatInt(req.AgentID, 10) + `,"notify_id":"` + req.NotifyID + `","request_id":"` + req.RequestID + `"}`, nil
	})
	p.Handle("fail", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		return "", errors.New("the model is asleep")
	})
	p.Handle("panic", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		panic("boom")
	})
	p.HandleEvent(func(ctx context.Context, req *zonesdk.Request) error {
		events <- req
		return nil
	})
	return events
}

func TestProgram_ServeHTTP(t *testing.T) {
	t.Parallel()
	zoneKeys := zonewire.NewKeys(testSecret(1))
	appCall := zonewire.Call{CorpID: "wwdemo", AgentID: 1000002, CallType: 1, Data: `{"text":"hi"}`, AbilityID: "echo", NotifyID: "n1"}

	type want struct {
		status    int
		exception int    // 0: none expected
		data      string // substring of the opened reply's data ("" with status 200: empty reply)
		body      string // substring of a non-200 body
	}
	tests := []struct {
		name  string
		build func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header)
		want  want
	}{
		{
			name: "OKAbility",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				return callRequest(hd, sealCall(t, zoneKeys, hd, appCall), "lower"), hd
			},
			want: want{status: 200, data: `{"echo":"{\"text\":\"hi\"}","corpid":"wwdemo","agentid":1000002,"notify_id":"n1","request_id":"`},
		},
		{
			name: "OKUpperCaseHeaders",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				return callRequest(hd, sealCall(t, zoneKeys, hd, appCall), "upper"), hd
			},
			want: want{status: 200, data: `"corpid":"wwdemo"`},
		},
		{
			name: "OKCanonicalHeaders",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				return callRequest(hd, sealCall(t, zoneKeys, hd, appCall), "canonical"), hd
			},
			want: want{status: 200, data: `"corpid":"wwdemo"`},
		},
		{
			name: "OKEvent",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				c := zonewire.Call{CorpID: "wwdemo", CallType: 2, Data: `{"event_type":"conversation_new_message"}`}
				return callRequest(hd, sealCall(t, zoneKeys, hd, c), "lower"), hd
			},
			want: want{status: 200},
		},
		{
			name: "ErrUnknownAbility",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				c := appCall
				c.AbilityID = "nope"
				return callRequest(hd, sealCall(t, zoneKeys, hd, c), "lower"), hd
			},
			want: want{status: 404, body: `unknown ability "nope"`},
		},
		{
			name: "ErrHandler",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				c := appCall
				c.AbilityID = "fail"
				return callRequest(hd, sealCall(t, zoneKeys, hd, c), "lower"), hd
			},
			want: want{status: 500, body: "ability fail: the model is asleep"},
		},
		{
			name: "ErrHandlerPanic",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				c := appCall
				c.AbilityID = "panic"
				return callRequest(hd, sealCall(t, zoneKeys, hd, c), "lower"), hd
			},
			want: want{status: 500, body: "panic: boom"},
		},
		{
			name: "ErrUnknownCallType",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				c := appCall
				c.CallType = 7
				return callRequest(hd, sealCall(t, zoneKeys, hd, c), "lower"), hd
			},
			want: want{status: 400, body: "unknown call_type 7"},
		},
		{
			name: "ErrMethod",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				return httptest.NewRequest(http.MethodGet, "/", nil), zonewire.Header{}
			},
			want: want{status: 405},
		},
		{
			name: "ErrTamperedBody",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				body := sealCall(t, zoneKeys, hd, appCall)
				tamper(body)
				return callRequest(hd, body, "lower"), hd
			},
			want: want{status: 200, exception: zonewire.ExcAuth},
		},
		{
			name: "ErrWrongKey",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				other := zonewire.NewKeys(zonewire.NewSecret(1))
				return callRequest(hd, sealCall(t, other, hd, appCall), "lower"), hd
			},
			want: want{status: 200, exception: zonewire.ExcAuth},
		},
		{
			name: "ErrOtherProgramID",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				hd.ProgramID = "prog-other"
				r := callRequest(hd, sealCall(t, zoneKeys, hd, appCall), "lower")
				r.Header[zonewire.HeaderProgramID] = []string{"prog-other"}
				return r, hd
			},
			want: want{status: 200, exception: zonewire.ExcAuth},
		},
		{
			name: "ErrSecretVer",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				hd.SecretVer = 2
				return callRequest(hd, sealCall(t, zonewire.NewKeys(testSecret(2)), hd, appCall), "lower"), hd
			},
			want: want{status: 200, exception: zonewire.ExcSecretVer},
		},
		{
			name: "ErrStaleTimestamp",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				hd.Timestamp -= 301
				return callRequest(hd, sealCall(t, zoneKeys, hd, appCall), "lower"), hd
			},
			want: want{status: 200, exception: zonewire.ExcTimestamp},
		},
		{
			name: "ErrFutureTimestamp",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				hd.Timestamp += 301
				return callRequest(hd, sealCall(t, zoneKeys, hd, appCall), "lower"), hd
			},
			want: want{status: 200, exception: zonewire.ExcTimestamp},
		},
		{
			name: "ErrReplay",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				body := sealCall(t, zoneKeys, hd, appCall)
				rec := httptest.NewRecorder()
				p.ServeHTTP(rec, callRequest(hd, body, "lower"))
				if rec.Code != 200 || hget(rec.Header(), zonewire.HeaderException) != "" {
					t.Fatalf("first delivery: status %d, exception %q", rec.Code, hget(rec.Header(), zonewire.HeaderException))
				}
				return callRequest(hd, body, "lower"), hd
			},
			want: want{status: 200, exception: zonewire.ExcReplay},
		},
		{
			name: "ErrMissingHeaders",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(sealCall(t, zoneKeys, hd, appCall)))
				return r, hd
			},
			want: want{status: 200, exception: zonewire.ExcMalformed},
		},
		{
			name: "ErrDuplicateHeader", // the same header in two spellings
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				r := callRequest(hd, sealCall(t, zoneKeys, hd, appCall), "lower")
				r.Header["Ww-Request-Id"] = []string{zonewire.NewRequestID()}
				return r, hd
			},
			want: want{status: 200, exception: zonewire.ExcMalformed},
		},
		{
			name: "ErrNotACall",
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				body := zoneKeys.Seal(zonewire.PurposeCall, hd, []byte(`[1,2,3]`))
				return callRequest(hd, body, "lower"), hd
			},
			want: want{status: 200, exception: zonewire.ExcMalformed},
		},
		{
			name: "ErrReplySealedAsCall", // a packet of another purpose does not open
			build: func(t *testing.T, p *zonesdk.Program) (*http.Request, zonewire.Header) {
				hd := newHeader()
				body := zoneKeys.Seal(zonewire.PurposeReply, hd, []byte(`{"data":""}`))
				return callRequest(hd, body, "lower"), hd
			},
			want: want{status: 200, exception: zonewire.ExcAuth},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := newTestProgram(t, "")
			events := testHandlers(p)
			r, hd := tt.build(t, p)
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, r)
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)

			if res.StatusCode != tt.want.status {
				t.Fatalf("status = %d, want %d (body %q)", res.StatusCode, tt.want.status, body)
			}
			exc := hget(rec.Header(), zonewire.HeaderException)
			if tt.want.exception != 0 {
				if exc != strconv.Itoa(tt.want.exception) {
					t.Fatalf("ww-exception = %q, want %d", exc, tt.want.exception)
				}
				if len(body) != 0 {
					t.Errorf("exception answer has a body of %d bytes", len(body))
				}
				return
			}
			if exc != "" {
				t.Fatalf("unexpected ww-exception %q", exc)
			}
			if res.StatusCode != 200 {
				if !strings.Contains(string(body), tt.want.body) {
					t.Errorf("body = %q, want it to contain %q", body, tt.want.body)
				}
				return
			}
			// A served call: sealed reply, echoed headers.
			if ct := res.Header.Get("Content-Type"); ct != zonewire.ContentType {
				t.Errorf("Content-Type = %q", ct)
			}
			for name, v := range map[string]string{
				zonewire.HeaderRequestID: hd.RequestID,
				zonewire.HeaderSecretVer: "1",
				zonewire.HeaderTimestamp: strconv.FormatInt(hd.Timestamp, 10),
			} {
				if got := rec.Header()[name]; len(got) != 1 || got[0] != v {
					t.Errorf("reply header %s = %q, want [%q] (lower-case name)", name, got, v)
				}
			}
			rep := openReply(t, zoneKeys, hd, body)
			if tt.want.data == "" && rep.Data != "" {
				t.Errorf("reply data = %q, want empty", rep.Data)
			}
			if !strings.Contains(rep.Data, tt.want.data) {
				t.Errorf("reply data = %q, want it to contain %q", rep.Data, tt.want.data)
			}
			if tt.name == "OKEvent" {
				select {
				case ev := <-events:
					if ev.CallType != zonesdk.CallEvent || ev.Data != `{"event_type":"conversation_new_message"}` || ev.CorpID != "wwdemo" {
						t.Errorf("event request = %+v", ev)
					}
				default:
					t.Error("event handler was not called")
				}
			}
		})
	}
}

func TestProgram_HandleFallback(t *testing.T) {
	t.Parallel()
	p := newTestProgram(t, "")
	testHandlers(p)
	p.HandleFallback(func(ctx context.Context, req *zonesdk.Request) (string, error) {
		if name, ok := strings.CutPrefix(req.AbilityID, "any_"); ok {
			return `{"fallback":"` + name + `"}`, nil
		}
		return "", fmt.Errorf("no such thing: %w", zonesdk.ErrUnknownAbility)
	})
	zoneKeys := zonewire.NewKeys(testSecret(1))
	tests := []struct {
		ability string
		status  int
		data    string
	}{
		{"echo", 200, `"corpid":"wwdemo"`}, // a registered ability keeps its handler
		{"any_thing", 200, `{"fallback":"thing"}`},
		{"other", 404, `unknown ability "other"`},
	}
	for _, tt := range tests {
		hd := newHeader()
		body := sealCall(t, zoneKeys, hd, zonewire.Call{CorpID: "wwdemo", CallType: 1, AbilityID: tt.ability, Data: "{}"})
		rec := httptest.NewRecorder()
		p.ServeHTTP(rec, callRequest(hd, body, "lower"))
		if rec.Code != tt.status {
			t.Fatalf("%s: status %d, want %d (%q)", tt.ability, rec.Code, tt.status, rec.Body.String())
		}
		got := rec.Body.String()
		if rec.Code == 200 {
			got = openReply(t, zoneKeys, hd, rec.Body.Bytes()).Data
		}
		if !strings.Contains(got, tt.data) {
			t.Errorf("%s: got %q, want it to contain %q", tt.ability, got, tt.data)
		}
	}
}

func TestProgram_ServeHTTP_EventWithoutHandler(t *testing.T) {
	t.Parallel()
	p := newTestProgram(t, "")
	zoneKeys := zonewire.NewKeys(testSecret(1))
	hd := newHeader()
	body := sealCall(t, zoneKeys, hd, zonewire.Call{CallType: 2, Data: `{"event_type":"hit_keyword"}`})
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, callRequest(hd, body, "lower"))
	if rec.Code != 200 || hget(rec.Header(), zonewire.HeaderException) != "" {
		t.Fatalf("status %d, exception %q", rec.Code, hget(rec.Header(), zonewire.HeaderException))
	}
	if rep := openReply(t, zoneKeys, hd, rec.Body.Bytes()); rep.Data != "" {
		t.Errorf("reply data = %q, want empty", rep.Data)
	}
}

// The zone's pre-flight probe is answered by the SDK itself, with empty
// data, and reaches no handler; one sealed with the wrong key is refused.
func TestProgram_ServeHTTP_Probe(t *testing.T) {
	t.Parallel()
	p := newTestProgram(t, "")
	p.HandleFallback(func(ctx context.Context, req *zonesdk.Request) (string, error) {
		t.Errorf("a handler ran for the probe")
		return "", nil
	})
	p.HandleEvent(func(ctx context.Context, req *zonesdk.Request) error {
		t.Errorf("the event handler ran for the probe")
		return nil
	})
	tests := []struct {
		name string
		keys *zonewire.Keys
		exc  string
	}{
		{"Opened", zonewire.NewKeys(testSecret(1)), ""},
		{"WrongKey", zonewire.NewKeys(zonewire.NewSecret(1)), "-10004"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hd := newHeader()
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, callRequest(hd, sealCall(t, tc.keys, hd, zonewire.Call{CorpID: "wwdemo", CallType: zonesdk.CallProbe}), "lower"))
			if got := hget(rec.Header(), zonewire.HeaderException); rec.Code != 200 || got != tc.exc {
				t.Fatalf("status %d, ww-exception %q; want 200, %q", rec.Code, got, tc.exc)
			}
			if tc.exc == "" {
				if rep := openReply(t, tc.keys, hd, rec.Body.Bytes()); rep.Data != "" {
					t.Errorf("reply data = %q, want empty", rep.Data)
				}
			}
		})
	}
}

func TestProgram_ServeHTTP_EventError(t *testing.T) {
	t.Parallel()
	p := newTestProgram(t, "")
	p.HandleEvent(func(ctx context.Context, req *zonesdk.Request) error { return errors.New("store full") })
	hd := newHeader()
	body := sealCall(t, zonewire.NewKeys(testSecret(1)), hd, zonewire.Call{CallType: 2, Data: `{}`})
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, callRequest(hd, body, "lower"))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "event: store full") {
		t.Fatalf("status %d, body %q", rec.Code, rec.Body.String())
	}
}

// Over a real connection Go canonicalises header names (Ww-Secret-Ver);
// the program must still read them, and its reply names stay lower-case.
func TestProgram_ServeHTTP_RealHTTP(t *testing.T) {
	t.Parallel()
	p := newTestProgram(t, "")
	testHandlers(p)
	srv := httptest.NewServer(p)
	defer srv.Close()
	zoneKeys := zonewire.NewKeys(testSecret(1))

	for _, nameCase := range []string{"lower", "upper"} {
		hd := newHeader()
		body := sealCall(t, zoneKeys, hd, zonewire.Call{CorpID: "wwdemo", CallType: 1, Data: "{}", AbilityID: "echo"})
		r := callRequest(hd, body, nameCase)
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		req.Header = r.Header
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || hget(res.Header, zonewire.HeaderException) != "" {
			t.Fatalf("%s: status %d, exception %q", nameCase, res.StatusCode, hget(res.Header, zonewire.HeaderException))
		}
		if rep := openReply(t, zoneKeys, hd, rb); !strings.Contains(rep.Data, `"corpid":"wwdemo"`) {
			t.Errorf("%s: reply data %q", nameCase, rep.Data)
		}
	}
}

func TestProgram_Handle_Panics(t *testing.T) {
	t.Parallel()
	ok := func(context.Context, *zonesdk.Request) (string, error) { return "{}", nil }
	for name, f := range map[string]func(p *zonesdk.Program){
		"EmptyID":   func(p *zonesdk.Program) { p.Handle("", ok) },
		"NilFunc":   func(p *zonesdk.Program) { p.Handle("a", nil) },
		"Duplicate": func(p *zonesdk.Program) { p.Handle("a", ok); p.Handle("a", ok) },
	} {
		t.Run(name, func(t *testing.T) {
			p := newTestProgram(t, "")
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f(p)
		})
	}
}

func TestNew(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     zonesdk.Config
		wantErr string
	}{
		{"OK", zonesdk.Config{ProgramID: "p", Secret: testSecret(1), ZoneURL: "http://127.0.0.1:8780/"}, ""},
		{"OKNoZoneURL", zonesdk.Config{ProgramID: "p", Secret: testSecret(1)}, ""},
		{"ErrProgramID", zonesdk.Config{Secret: testSecret(1)}, "ProgramID"},
		{"ErrProgramIDSpace", zonesdk.Config{ProgramID: "prog echo", Secret: testSecret(1)}, "ProgramID"},
		{"OKNoSecret", zonesdk.Config{ProgramID: "p", ZoneURL: "http://127.0.0.1:8780"}, ""},
		{"ErrSecretKeyWithoutVersion", zonesdk.Config{ProgramID: "p", Secret: zonewire.Secret{Key: testSecret(1).Key}}, "Secret"},
		{"ErrSecretNegativeVersion", zonesdk.Config{ProgramID: "p", Secret: testSecret(-1)}, "Secret"},
		{"ErrZoneURL", zonesdk.Config{ProgramID: "p", Secret: testSecret(1), ZoneURL: "127.0.0.1:8780"}, "ZoneURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := zonesdk.New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if p.ProgramID() != "p" {
					t.Errorf("ProgramID = %q", p.ProgramID())
				}
				if strings.HasSuffix(p.ZoneURL(), "/") {
					t.Errorf("ZoneURL %q keeps its trailing slash", p.ZoneURL())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to mention %s", err, tt.wantErr)
			}
		})
	}
}

func TestConfigFromEnv(t *testing.T) {
	secret := testSecret(3).String()
	tests := []struct {
		name     string
		env      map[string]string
		wantVars []string // variables named in the error
	}{
		{"OK", map[string]string{zonesdk.EnvAPI: "http://127.0.0.1:8780/", zonesdk.EnvProgramID: "prog-echo", zonesdk.EnvSecret: secret}, nil},
		{"ErrAllMissing", map[string]string{}, []string{zonesdk.EnvAPI, zonesdk.EnvProgramID, zonesdk.EnvSecret}},
		{"ErrBadSecret", map[string]string{zonesdk.EnvAPI: "http://z", zonesdk.EnvProgramID: "p", zonesdk.EnvSecret: "3:c2hvcnQ="}, []string{zonesdk.EnvSecret}},
		{"ErrBadAPI", map[string]string{zonesdk.EnvAPI: "zone:8780", zonesdk.EnvProgramID: "p", zonesdk.EnvSecret: secret}, []string{zonesdk.EnvAPI}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{zonesdk.EnvAPI, zonesdk.EnvProgramID, zonesdk.EnvSecret} {
				t.Setenv(k, tt.env[k])
			}
			cfg, err := zonesdk.ConfigFromEnv()
			if tt.wantVars == nil {
				if err != nil {
					t.Fatalf("ConfigFromEnv: %v", err)
				}
				if cfg.ZoneURL != "http://127.0.0.1:8780" || cfg.ProgramID != "prog-echo" || cfg.Secret != testSecret(3) {
					t.Errorf("cfg = %+v", cfg)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, v := range tt.wantVars {
				if !strings.Contains(err.Error(), v) {
					t.Errorf("error %q does not name %s", err, v)
				}
				var ee *zonesdk.EnvError
				if !errors.As(err, &ee) {
					t.Errorf("error %v is not an *EnvError", err)
				}
			}
			if strings.Contains(err.Error(), "c2hvcnQ") {
				t.Errorf("error %q leaks the secret", err)
			}
		})
	}
}

func TestAddr(t *testing.T) {
	for _, tc := range []struct{ host, port, want string }{
		{"", "", ":8080"},
		{"", "9123", ":9123"},
		{"127.0.0.1", "9123", "127.0.0.1:9123"},
	} {
		t.Setenv(zonesdk.EnvHost, tc.host)
		t.Setenv(zonesdk.EnvPort, tc.port)
		if got := zonesdk.Addr(); got != tc.want {
			t.Errorf("HOST=%q PORT=%q: Addr() = %q, want %q", tc.host, tc.port, got, tc.want)
		}
	}
}

func TestDetach(t *testing.T) {
	t.Parallel()
	p := newTestProgram(t, "")
	var detached context.Context
	p.Handle("x", func(ctx context.Context, r *zonesdk.Request) (string, error) {
		detached = zonesdk.Detach(ctx)
		return "{}", nil
	})
	hd := newHeader()
	body := sealCall(t, zonewire.NewKeys(testSecret(1)), hd, zonewire.Call{CorpID: "wwdemo", CallType: 1, AbilityID: "x", Data: "{}"})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	r := callRequest(hd, body, "lower").WithContext(ctx)
	p.ServeHTTP(httptest.NewRecorder(), r)
	cancel()
	if detached == nil {
		t.Fatal("handler not called")
	}
	if detached.Err() != nil {
		t.Errorf("detached context is done: %v", detached.Err())
	}
	if _, ok := detached.Deadline(); ok {
		t.Error("detached context has a deadline")
	}
	got, ok := zonesdk.RequestFrom(detached)
	if !ok || got.CorpID != "wwdemo" {
		t.Errorf("RequestFrom(detached) = %+v, %v", got, ok)
	}
}

// countingReader counts what the program read of a body.
type countingReader struct {
	n   int64
	max int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	if c.n >= c.max {
		return 0, io.EOF
	}
	k := min(int64(len(b)), c.max-c.n)
	c.n += k
	return int(k), nil
}

// TestProgram_ServeHTTP_BodyCaps (issue 16): a call over MaxCallBytes is
// 413 and is not read past the limit; a request whose headers name no
// secret of the program is answered before its body is read at all.
func TestProgram_ServeHTTP_BodyCaps(t *testing.T) {
	t.Parallel()
	p := newTestProgram(t, "")
	testHandlers(p)

	body := &countingReader{max: zonesdk.MaxCallBytes + 1<<20}
	hd := newHeader()
	r := callRequest(hd, nil, "lower")
	r.Body, r.ContentLength = io.NopCloser(body), -1 // no Content-Length: judged while reading
	w := httptest.NewRecorder()
	p.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge || body.n > zonesdk.MaxCallBytes+64<<10 {
		t.Fatalf("chunked call over the limit: HTTP %d after reading %d bytes, want 413 near %d", w.Code, body.n, zonesdk.MaxCallBytes)
	}

	r = callRequest(hd, nil, "lower")
	r.ContentLength = zonesdk.MaxCallBytes + 1
	w = httptest.NewRecorder()
	p.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("Content-Length over the limit: HTTP %d, want 413", w.Code)
	}

	body = &countingReader{max: 1 << 20}
	hd = newHeader()
	hd.SecretVer = 99 // a secret the program does not hold
	r = callRequest(hd, nil, "lower")
	r.Body = io.NopCloser(body)
	w = httptest.NewRecorder()
	p.ServeHTTP(w, r)
	if hget(w.Header(), zonewire.HeaderException) == "" || body.n != 0 {
		t.Fatalf("unknown secret version: exception %q after reading %d bytes, want an exception and nothing read", hget(w.Header(), zonewire.HeaderException), body.n)
	}
}
