package nativetest_test

import (
	"crypto/ecdh"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone/sdk/zonewire"
)

const (
	programID   = "prog-native"
	debugToken  = "dt-native-debug-credential-0001"
	accessToken = "at-native-app-access-token-0001"
)

// secret is the production secret the drivers get in OPENZONE_SECRET.
var secret = zonewire.Secret{Ver: 4, Key: [32]byte{4, 4, 4, 4, 1, 2, 3}}

// fakeZone answers the invokes of programs under test, sealed with the
// production secret or the debug secrets it issued, echoing the interface
// and the context it received; it opens debug mode for debugToken and
// accessToken (corp wwdebug, app 1000009).
type fakeZone struct {
	t   testing.TB
	srv *httptest.Server

	mu      sync.Mutex
	debug   map[int]zonewire.Secret
	invokes []invoke
}

type invoke struct {
	zonewire.Invoke
	SecretVer int
}

func newFakeZone(t testing.TB) *fakeZone {
	z := &fakeZone{t: t, debug: map[int]zonewire.Secret{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /spec/v1/invoke", z.serveInvoke)
	mux.HandleFunc("POST /spec/v1/debug/open", z.serveOpen)
	z.srv = httptest.NewServer(mux)
	t.Cleanup(z.srv.Close)
	return z
}

func (z *fakeZone) keys(ver int) (*zonewire.Keys, bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if ver == secret.Ver {
		return zonewire.NewKeys(secret), true
	}
	if s, ok := z.debug[ver]; ok {
		return zonewire.NewKeys(s), true
	}
	return nil, false
}

func (z *fakeZone) serveInvoke(w http.ResponseWriter, r *http.Request) {
	hd, err := zonewire.ReadHeader(r.Header, "")
	var inv zonewire.Invoke
	if err == nil {
		keys, ok := z.keys(hd.SecretVer)
		if !ok {
			err = &zonewire.Error{Code: zonewire.ExcSecretVer}
		} else {
			body, _ := io.ReadAll(r.Body)
			var plain []byte
			if plain, err = keys.Open(zonewire.PurposeInvoke, hd, body); err == nil {
				err = json.Unmarshal(plain, &inv)
			}
		}
	}
	if err != nil {
		w.Header()[zonewire.HeaderException] = []string{strconv.Itoa(zonewire.ExceptionCode(err))}
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"errcode":710677,"errmsg":"does not open"}`)
		return
	}
	z.mu.Lock()
	z.invokes = append(z.invokes, invoke{inv, hd.SecretVer})
	z.mu.Unlock()
	reply, _ := json.Marshal(map[string]any{"errcode": 0, "errmsg": "ok", "interface": inv.Interface, "corpid": inv.CorpID,
		"agentid": inv.AgentID, "ability_id": inv.AbilityID, "job_info": inv.JobInfo, "request": inv.Request, "secret_ver": hd.SecretVer})
	keys, _ := z.keys(hd.SecretVer)
	hd.Apply(w.Header(), false)
	w.Write(keys.Seal(zonewire.PurposeResult, hd, reply))
}

func (z *fakeZone) serveOpen(w http.ResponseWriter, r *http.Request) {
	var req struct {
		DebugToken  string `json:"debug_token"`
		AccessToken string `json:"access_token"`
		PublicKey   string `json:"public_key"`
	}
	json.NewDecoder(r.Body).Decode(&req)
	if req.DebugToken != debugToken || req.AccessToken != accessToken {
		fmt.Fprint(w, `{"errcode":40014,"errmsg":"invalid access_token"}`)
		return
	}
	raw, _ := base64.StdEncoding.DecodeString(req.PublicKey)
	pub, err := ecdh.X25519().NewPublicKey(raw)
	if err != nil {
		fmt.Fprint(w, `{"errcode":40058,"errmsg":"public_key"}`)
		return
	}
	z.mu.Lock()
	sec := zonewire.NewSecret(zonewire.DebugSecretVerMin + len(z.debug) + 1)
	z.debug[sec.Ver] = sec
	z.mu.Unlock()
	sealed, err := zonewire.SealDebugSecret(pub, sec, programID, "wwdebug", 1000009)
	if err != nil {
		z.t.Errorf("SealDebugSecret: %v", err)
	}
	json.NewEncoder(w).Encode(map[string]any{"errcode": 0, "errmsg": "ok", "program_id": programID, "corpid": "wwdebug", "agentid": 1000009,
		"secret_ver": sec.Ver, "sealed_secret": base64.StdEncoding.EncodeToString(sealed), "expires_at": time.Now().Add(time.Hour).Unix(),
		"debug_mode_status": 2})
}

// lastDebug returns the debug secret issued last.
func (z *fakeZone) lastDebug() zonewire.Secret {
	z.mu.Lock()
	defer z.mu.Unlock()
	var last zonewire.Secret
	for _, s := range z.debug {
		if s.Ver > last.Ver {
			last = s
		}
	}
	return last
}

// sealCall returns the headers (name, value pairs) and body of c sealed as
// the zone sends it now.
func sealCall(sec zonewire.Secret, c zonewire.Call) ([][2]string, []byte, zonewire.Header) {
	hd := zonewire.Header{ProgramID: programID, SecretVer: sec.Ver, RequestID: zonewire.NewRequestID(), Timestamp: time.Now().Unix()}
	plain, _ := json.Marshal(c)
	body := zonewire.NewKeys(sec).Seal(zonewire.PurposeCall, hd, plain)
	return [][2]string{{"ww-secret-ver", strconv.Itoa(hd.SecretVer)}, {"ww-request-id", hd.RequestID}, {"ww-timestamp", strconv.FormatInt(hd.Timestamp, 10)}}, body, hd
}
