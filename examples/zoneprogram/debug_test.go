package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

const (
	testDebugToken  = "dt-example-debug-credential-0001"
	testAccessToken = "at-example-app-access-token-0001"
)

// debugZone is a fake zone with the SDK half of debug mode: it answers
// /spec/v1/debug/open with a debug secret (or with errcode, when set) and
// /spec/v1/invoke under that secret.
type debugZone struct {
	t       *testing.T
	srv     *httptest.Server
	errcode int

	mu     sync.Mutex
	secret *zonewire.Secret
	sealed string
}

func newDebugZone(t *testing.T, errcode int) *debugZone {
	z := &debugZone{t: t, errcode: errcode}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /spec/v1/debug/open", z.serveOpen)
	mux.HandleFunc("POST /spec/v1/invoke", z.serveInvoke)
	z.srv = httptest.NewServer(mux)
	t.Cleanup(z.srv.Close)
	return z
}

func (z *debugZone) serveOpen(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ProgramID   string `json:"program_id"`
		DebugToken  string `json:"debug_token"`
		AccessToken string `json:"access_token"`
		PublicKey   string `json:"public_key"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	w.Header().Set("Content-Type", "application/json")
	if z.errcode != 0 {
		fmt.Fprintf(w, `{"errcode":%d,"errmsg":"debug token expired"}`, z.errcode)
		return
	}
	// The credential names the program: program_id may be left out.
	if req.ProgramID != "" && req.ProgramID != testProgramID || req.DebugToken != testDebugToken || req.AccessToken != testAccessToken {
		fmt.Fprint(w, `{"errcode":40014,"errmsg":"invalid access_token"}`)
		return
	}
	raw, _ := base64.StdEncoding.DecodeString(req.PublicKey)
	pub, err := ecdh.X25519().NewPublicKey(raw)
	if err != nil {
		fmt.Fprint(w, `{"errcode":40058,"errmsg":"bad public_key"}`)
		return
	}
	sec := zonewire.NewSecret(zonewire.DebugSecretVerMin + 42)
	sealed, err := zonewire.SealDebugSecret(pub, sec, testProgramID, "wwdemo", 1000002)
	if err != nil {
		z.t.Errorf("SealDebugSecret: %v", err)
		return
	}
	z.mu.Lock()
	z.secret, z.sealed = &sec, base64.StdEncoding.EncodeToString(sealed)
	z.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{
		"errcode": 0, "errmsg": "ok", "program_id": testProgramID, "corpid": "wwdemo", "agentid": 1000002, "secret_ver": sec.Ver,
		"sealed_secret": z.sealed, "expires_at": time.Now().Add(72 * time.Hour).Unix(), "debug_mode_status": 2,
	})
}

func (z *debugZone) keys() *zonewire.Keys {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.secret == nil {
		z.t.Fatal("no debug secret issued")
	}
	return zonewire.NewKeys(*z.secret)
}

func (z *debugZone) serveInvoke(w http.ResponseWriter, r *http.Request) {
	keys := z.keys()
	hd, err := zonewire.ReadHeader(r.Header, "")
	var plain []byte
	if err == nil {
		body, _ := io.ReadAll(r.Body)
		plain, err = keys.Open(zonewire.PurposeInvoke, hd, body)
	}
	var inv zonewire.Invoke
	if err == nil {
		err = json.Unmarshal(plain, &inv)
	}
	if err != nil {
		w.Header()[zonewire.HeaderException] = []string{fmt.Sprint(zonewire.ExceptionCode(err))}
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	reply := fmt.Sprintf(`{"errcode":0,"errmsg":"ok","interface":%q,"corpid":%q,"agentid":%d,"secret_ver":%d}`, inv.Interface, inv.CorpID, inv.AgentID, hd.SecretVer)
	hd.Apply(w.Header(), false)
	w.Header().Set("Content-Type", zonewire.ContentType)
	w.Write(keys.Seal(zonewire.PurposeResult, hd, []byte(reply)))
}

// callProgram sends the program at url a call sealed with keys and
// returns the opened reply data.
func callProgram(t *testing.T, url string, keys *zonewire.Keys, c zonewire.Call) string {
	t.Helper()
	hd := zonewire.Header{ProgramID: testProgramID, SecretVer: keys.Secret.Ver, RequestID: zonewire.NewRequestID(), Timestamp: time.Now().Unix()}
	plain, _ := json.Marshal(c)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(keys.Seal(zonewire.PurposeCall, hd, plain)))
	hd.Apply(req.Header, false)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if exc := res.Header.Get(zonewire.HeaderException); exc != "" || res.StatusCode != 200 {
		t.Fatalf("status %d, ww-exception %q, body %q", res.StatusCode, exc, body)
	}
	out, err := keys.Open(zonewire.PurposeReply, hd, body)
	if err != nil {
		t.Fatalf("open reply: %v", err)
	}
	var rep zonewire.Reply
	json.Unmarshal(out, &rep)
	return rep.Data
}

// waitLog waits until log holds want, and returns it.
func waitLog(t *testing.T, out *syncBuffer, want string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %q after 5 s:\n%s", want, out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return out.String()
}

// In debug mode the program needs no OPENZONE_SECRET and no
// OPENZONE_PROGRAM_ID: it opens the SDK half once it listens, then serves
// the zone's calls under the debug secret and invokes with it.
func TestRun_DebugMode(t *testing.T) {
	for _, via := range []string{"flags", "env"} {
		t.Run(via, func(t *testing.T) {
			z := newDebugZone(t, 0)
			t.Setenv(zonesdk.EnvAPI, z.srv.URL)
			t.Setenv(zonesdk.EnvProgramID, "")
			t.Setenv(zonesdk.EnvSecret, "")
			args := []string{"--addr", "127.0.0.1:0", "--name", "local"}
			if via == "flags" {
				t.Setenv(envDebugToken, "")
				t.Setenv(envAccessToken, "")
				args = append(args, "--debug-token", testDebugToken, "--access-token", testAccessToken)
			} else {
				t.Setenv(envDebugToken, testDebugToken)
				t.Setenv(envAccessToken, testAccessToken)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var out syncBuffer
			errc := make(chan error, 1)
			go func() { errc <- run(ctx, args, &out) }()

			log := waitLog(t, &out, "debug mode: SDK half open")
			m := regexp.MustCompile(`msg=listening addr=(\S+)`).FindStringSubmatch(log)
			if m == nil {
				t.Fatalf("no listening address in the log:\n%s", log)
			}
			for _, want := range []string{"corpid=wwdemo", "agentid=1000002", "status=2", "expires_at="} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
			url := "http://" + m[1] + "/"
			keys := z.keys()
			if got := callProgram(t, url, keys, appCall("echo", `{"text":"hi"}`)); got != `{"text":"hi","served_by":"local"}` {
				t.Errorf("echo = %s", got)
			}
			got := callProgram(t, url, keys, appCall("invoke_ping", `{}`))
			if want := fmt.Sprintf(`"corpid":"wwdemo","agentid":1000002,"secret_ver":%d`, keys.Secret.Ver); !strings.Contains(got, want) {
				t.Errorf("invoke_ping = %s, want it to hold %s", got, want)
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
			log = out.String()
			z.mu.Lock()
			leaks := []string{testDebugToken, testAccessToken, z.sealed, base64.StdEncoding.EncodeToString(z.secret.Key[:])}
			z.mu.Unlock()
			for _, s := range leaks {
				if strings.Contains(log, s) {
					t.Errorf("log leaks %q:\n%s", s, log)
				}
			}
		})
	}
}

// A refused opening stops the program with the zone's errcode and a hint.
func TestRun_DebugModeRefused(t *testing.T) {
	z := newDebugZone(t, 710671)
	t.Setenv(zonesdk.EnvAPI, z.srv.URL)
	t.Setenv(zonesdk.EnvProgramID, testProgramID)
	t.Setenv(zonesdk.EnvSecret, "")
	t.Setenv(envDebugToken, "")
	t.Setenv(envAccessToken, "")
	var out syncBuffer
	err := run(context.Background(), []string{"--addr", "127.0.0.1:0", "--debug-token", testDebugToken, "--access-token", testAccessToken}, &out)
	if err == nil {
		t.Fatal("run succeeded")
	}
	for _, want := range []string{"debug mode could not be opened", "errcode 710671", "debug token expired", "get a new one on the program's debug page"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	log := out.String()
	if !strings.Contains(log, "errcode=710671") || strings.Contains(log, testDebugToken) || strings.Contains(log, testAccessToken) {
		t.Errorf("log:\n%s", log)
	}
}

func TestRun_DebugModeUsage(t *testing.T) {
	t.Setenv(zonesdk.EnvAPI, "http://127.0.0.1:1")
	t.Setenv(zonesdk.EnvProgramID, testProgramID)
	t.Setenv(zonesdk.EnvSecret, "")
	for _, tc := range []struct {
		name     string
		args     []string
		env      [2]string // debug token, access token
		wantFlag string
	}{
		{"OnlyDebugToken", []string{"--debug-token", "dt"}, [2]string{}, "--access-token"},
		{"OnlyAccessToken", []string{"--access-token", "at"}, [2]string{}, "--debug-token"},
		{"OnlyEnvDebugToken", nil, [2]string{"dt", ""}, "--access-token"},
		{"OnlyEnvAccessToken", nil, [2]string{"", "at"}, "--debug-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(envDebugToken, tc.env[0])
			t.Setenv(envAccessToken, tc.env[1])
			err := run(context.Background(), append([]string{"--addr", "127.0.0.1:0"}, tc.args...), io.Discard)
			if err == nil || !strings.Contains(err.Error(), "usage") || !strings.Contains(err.Error(), tc.wantFlag+" ") {
				t.Errorf("run = %v, want a usage error naming %s", err, tc.wantFlag)
			}
		})
	}
}
