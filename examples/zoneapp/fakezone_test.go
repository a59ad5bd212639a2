package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// fakeZone is the zone as the example app sees it: gettoken,
// set_public_key, set_receive_callback, sync_call_program (the program's
// get_callback_data and invoke_sync_msg abilities) and /display/message.
type fakeZone struct {
	t      *testing.T
	srv    *httptest.Server
	corpID string
	secret string

	mu          sync.Mutex
	tokens      int               // access_tokens issued
	expireNext  bool              // answer the next chatdata call with 42001
	pub         *rsa.PublicKey    // from set_public_key
	pubVer      int               // public_key_ver
	receiver    string            // set_receive_callback's program_id
	events      map[string]string // notify_id → event JSON
	pages       []fakePage        // sync_msg pages, by cursor
	keys        map[string]string // msgid → secret_key
	texts       map[string]string // msgid → text
	calls       []fakeCall        // sync_call_program calls
	displayErrs int               // display requests refused
}

type fakePage struct {
	cursor, next string // request cursor → next_cursor
	msgIDs       []string
	hasMore      int
}

type fakeCall struct {
	ProgramID   string `json:"program_id"`
	AbilityID   string `json:"ability_id"`
	NotifyID    string `json:"notify_id"`
	RequestData string `json:"request_data"`
}

func newFakeZone(t *testing.T) *fakeZone {
	z := &fakeZone{
		t: t, corpID: "wwapp", secret: "app-secret",
		events: map[string]string{}, keys: map[string]string{}, texts: map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /cgi-bin/gettoken", z.gettoken)
	mux.HandleFunc("POST /cgi-bin/chatdata/{api}", z.chatdata)
	mux.HandleFunc("GET /display/message", z.display)
	z.srv = httptest.NewServer(mux)
	t.Cleanup(z.srv.Close)
	return z
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func errReply(w http.ResponseWriter, code int, msg string) {
	reply(w, map[string]any{"errcode": code, "errmsg": msg})
}

func (z *fakeZone) gettoken(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("corpid") != z.corpID || r.URL.Query().Get("corpsecret") != z.secret {
		errReply(w, 40001, "invalid credential")
		return
	}
	z.mu.Lock()
	z.tokens++
	tok := fmt.Sprint("TOKEN", z.tokens)
	z.mu.Unlock()
	reply(w, map[string]any{"errcode": 0, "errmsg": "ok", "access_token": tok, "expires_in": 7200})
}

func (z *fakeZone) chatdata(w http.ResponseWriter, r *http.Request) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if r.URL.Query().Get("access_token") != fmt.Sprint("TOKEN", z.tokens) {
		errReply(w, 40014, "invalid access_token")
		return
	}
	if z.expireNext {
		z.expireNext = false
		errReply(w, 42001, "access_token expired")
		return
	}
	var req map[string]any
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		errReply(w, 47001, "bad json")
		return
	}
	switch r.PathValue("api") {
	case "set_public_key":
		p, _ := req["public_key"].(string)
		block, _ := pem.Decode([]byte(p))
		if block == nil || block.Type != "PUBLIC KEY" {
			errReply(w, 40058, "public_key is not PEM PUBLIC KEY")
			return
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			errReply(w, 40058, err.Error())
			return
		}
		ver, _ := req["public_key_ver"].(float64)
		if z.pub != nil && int(ver) <= z.pubVer {
			errReply(w, 40058, fmt.Sprintf("public_key_ver %d must be greater than the current version %d", int(ver), z.pubVer))
			return
		}
		z.pub = k.(*rsa.PublicKey)
		z.pubVer = int(ver)
		reply(w, map[string]any{"errcode": 0, "errmsg": "ok"})
	case "set_receive_callback":
		z.receiver, _ = req["program_id"].(string)
		reply(w, map[string]any{"errcode": 0, "errmsg": "ok"})
	case "sync_call_program":
		var c fakeCall
		b, _ := json.Marshal(req)
		json.Unmarshal(b, &c)
		z.calls = append(z.calls, c)
		out, code := z.ability(c)
		if code != 0 {
			errReply(w, code, "ability failed")
			return
		}
		reply(w, map[string]any{"errcode": 0, "errmsg": "ok", "response_data": out})
	default:
		errReply(w, 60011, "no such api")
	}
}

// ability is the program: get_callback_data and invoke_sync_msg.
func (z *fakeZone) ability(c fakeCall) (string, int) {
	if c.ProgramID != z.receiver {
		return "", 790001
	}
	switch c.AbilityID {
	case "get_callback_data":
		ev, ok := z.events[c.NotifyID]
		if !ok || c.RequestData != "{}" {
			return `{"errcode":710660,"errmsg":"no callback data for this notify_id"}`, 0
		}
		return ev, 0
	case "invoke_sync_msg":
		var in struct {
			Cursor string `json:"cursor"`
			Token  string `json:"token"`
			Limit  int    `json:"limit"`
		}
		if err := json.Unmarshal([]byte(c.RequestData), &in); err != nil || in.Token == "" || in.Limit != 100 {
			return `{"errcode":40058,"errmsg":"bad sync_msg request"}`, 0
		}
		for _, p := range z.pages {
			if p.cursor != in.Cursor {
				continue
			}
			var list []map[string]any
			for _, id := range p.msgIDs {
				ct, err := rsa.EncryptPKCS1v15(rand.Reader, z.pub, []byte(z.keys[id]))
				if err != nil {
					z.t.Errorf("encrypt secret_key: %v", err)
				}
				list = append(list, map[string]any{
					"msgid": id, "sender": map[string]any{"type": 1, "id": "alice"},
					"receiver_list": []map[string]any{{"type": 2, "id": "wmbob"}},
					"send_time":     1700000000, "msgtype": 1,
					"service_encrypt_info": map[string]any{
						"encrypted_secret_key": base64.StdEncoding.EncodeToString(ct), "public_key_ver": z.pubVer,
					},
				})
			}
			b, _ := json.Marshal(map[string]any{"errcode": 0, "errmsg": "ok", "next_cursor": p.next, "has_more": p.hasMore, "msg_list": list})
			return string(b), 0
		}
		return `{"errcode":0,"errmsg":"ok","next_cursor":"` + in.Cursor + `","has_more":0,"msg_list":[]}`, 0
	}
	return "", 710676
}

func (z *fakeZone) display(w http.ResponseWriter, r *http.Request) {
	z.mu.Lock()
	defer z.mu.Unlock()
	id, key := r.URL.Query().Get("msgid"), r.URL.Query().Get("secret_key")
	if key == "" || z.keys[id] != key {
		z.displayErrs++
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte("<html><body><p>消息不存在或密钥不正确</p></body></html>"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!doctype html>
<html><head><meta charset="utf-8"><title>会话内容 · message %[1]s</title><style>body{color:#222}</style></head>
<body><div class="msg" data-msgid="%[1]s">
<div class="meta">成员 <b>alice</b> · 2023-11-14 22:13:20 · msgtype 1</div>
<div class="text" id="text">%[2]s</div>
</div></body></html>`, id, html.EscapeString(z.texts[id]))
}

// addMessage makes a message the zone archives, with its secret_key.
func (z *fakeZone) addMessage(id, text string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.keys[id] = "sk-" + base64.RawURLEncoding.EncodeToString([]byte(id+"0123456789abcdef"))
	z.texts[id] = text
}

// addEvent is what the program stored under notifyID.
func (z *fakeZone) addEvent(notifyID, eventJSON string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.events[notifyID] = eventJSON
}

func (z *fakeZone) setPages(p ...fakePage) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.pages = p
}

func (z *fakeZone) syncCalls() []fakeCall {
	z.mu.Lock()
	defer z.mu.Unlock()
	return append([]fakeCall(nil), z.calls...)
}
