package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/internal/wecomcrypt"
)

const cbToken, cbAESKey = "cbtoken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"

// archiveSeed: a corp with people and a group, the example program deployed
// as two instances, and an app whose callback URL is %[1]s.
const archiveSeed = `
providers: [{id: isv, name: ISV, test_corps: [wwarc]}]
corps:
  - corpid: wwarc
    name: Archive Corp
    members: [{userid: zhangsan, name: 张三}, {userid: lisi, name: 李四}]
    external_contacts: [{external_userid: wmcustomer1, name: 客户一}]
    chats: [{chatid: wrchat1, name: 项目群, owner: zhangsan, members: [zhangsan, lisi, wmcustomer1]}]
programs:
  - id: prog-echo
    provider: isv
    name: Echo
    deploy: {command: ["{{EXAMPLE}}", --name, deployed], instances: 2}
    abilities:
      - {id: get_callback_data, input: {}, output: {"errcode": 0, "errmsg": "", "event_type": "", "timestamp": 0, "conversation_new_message": {"token": ""}, "hit_keyword": {"token": ""}, "chat_archive_audit_approved": {"userid": "", "external_userid": "", "chatid": ""}, "auth_knowledge_base": {"knowledge_base_id": "", "knowledge_base_name": ""}, "unauth_knowledge_base": {"knowledge_base_id": "", "knowledge_base_name": ""}, "delete_knowledge_base": {"knowledge_base_id": "", "knowledge_base_name": ""}, "knowledge_base_learn_done": {"knowledge_base_id": "", "knowledge_base_name": "", "doc_id": "", "learn_status": 0}, "chat_archive_export_finished": {"jobid": ""}}}
      - id: invoke_sync_msg
        input: {"cursor": "", "token": "", "limit": 0, "mode": 0}
        output: {"errcode": 0, "errmsg": "", "has_more": 0, "next_cursor": "", "msg_list": null, "page_id_list": null}
      - id: invoke_get_group_chat
        input: {"chatid": ""}
        output: {"errcode": 0, "errmsg": "", "creator": "", "room_create_time": 0, "members": null}
      - id: invoke_search_msg
        input: {"query_word": "", "limit": 0}
        output: {"errcode": 0, "errmsg": "", "has_more": 0, "next_cursor": "", "msg_list": null}
apps:
  - corpid: wwarc
    agentid: 1000002
    type: self_built
    secret: arc-secret
    callback: {url: "%[1]s", token: ` + cbToken + `, encoding_aes_key: ` + cbAESKey + `}
    programs: [prog-echo]
`

// appSide is the app's callback server: it opens program_notify callbacks
// with WeCom's scheme and hands their notify_ids to the test.
type appSide struct {
	srv     *httptest.Server
	notifys chan string
	mu      sync.Mutex
	bad     []string
}

func newAppSide(t *testing.T) *appSide {
	a := &appSide{notifys: make(chan string, 16)}
	c, err := wecomcrypt.New(cbToken, cbAESKey, "wwarc")
	if err != nil {
		t.Fatal(err)
	}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		msg, err := c.OpenCallback(r.URL.Query(), body)
		if err != nil {
			a.mu.Lock()
			a.bad = append(a.bad, err.Error())
			a.mu.Unlock()
			http.Error(w, "bad callback", 400)
			return
		}
		n, err := wecomcrypt.DecodeProgramNotify(msg)
		if err != nil {
			http.Error(w, "not program_notify", 400)
			return
		}
		a.notifys <- n.NotifyID
		w.Write([]byte("success"))
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *appSide) next(t *testing.T) string {
	t.Helper()
	select {
	case id := <-a.notifys:
		return id
	case <-time.After(20 * time.Second):
		a.mu.Lock()
		defer a.mu.Unlock()
		t.Fatalf("no program_notify callback arrived (bad callbacks: %v)", a.bad)
		return ""
	}
}

func rsaKey(t testing.TB) (*rsa.PrivateKey, string) {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func responseData(t *testing.T, r map[string]any) map[string]any {
	t.Helper()
	if testenv.Errcode(r) != 0 {
		t.Fatalf("call failed: %s", testenv.Describe(r))
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(r["response_data"].(string)), &out); err != nil {
		t.Fatalf("response_data: %v", err)
	}
	return out
}

// TestArchiveChoreography runs the new-message choreography (docs/wecom.md) on real processes: a message is
// archived → the program receives conversation_new_message → notifies the
// app → the app gets the callback, fetches the event with
// get_callback_data and the message with invoke_sync_msg → decrypts the key
// with its private key → the display page shows the text.
func TestArchiveChoreography(t *testing.T) { testenv.Stores(t, testArchiveChoreography) }

func testArchiveChoreography(t *testing.T, db string) {
	app := newAppSide(t)
	z := testenv.Start(t, testenv.Options{Seed: fmt.Sprintf(archiveSeed, app.srv.URL), DB: db})
	tok := z.Token("wwarc", "arc-secret")
	priv, pub := rsaKey(t)
	call := func(ability, data, notifyID string) map[string]any {
		body := syncCall("prog-echo", ability, data)
		body["notify_id"] = notifyID
		return z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, body)
	}

	// Before a public key nothing is archived for the app.
	if r := call("invoke_sync_msg", `{}`, ""); !strings.Contains(fmt.Sprint(r["response_data"]), "set_public_key") {
		t.Fatalf("sync_msg without a key: %s", testenv.Describe(r))
	}
	for _, tc := range []struct {
		body    map[string]any
		errcode int
	}{
		{map[string]any{"public_key": pub, "public_key_ver": 1}, 0},
		{map[string]any{"public_key": pub, "public_key_ver": 1}, openzone.ErrInvalidParam}, // version must rise
		{map[string]any{"public_key": "not pem", "public_key_ver": 2}, openzone.ErrInvalidParam},
		{map[string]any{"public_key": pub}, openzone.ErrInvalidParam},
	} {
		if r := z.PostApp("/cgi-bin/chatdata/set_public_key", tok, tc.body); testenv.Errcode(r) != tc.errcode {
			t.Fatalf("set_public_key %v: %s, want %d", tc.body["public_key_ver"], testenv.Describe(r), tc.errcode)
		}
	}
	if r := z.PostApp("/cgi-bin/chatdata/set_receive_callback", tok, map[string]any{"program_id": "prog-echo"}); testenv.Errcode(r) != 0 {
		t.Fatal(testenv.Describe(r))
	}

	var ing map[string]any
	msg := `{"sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":2,"id":"wmcustomer1"}],"msgtype":1,"text":{"content":"你好，客户一"}}`
	if st := z.Admin("POST", "/admin/v1/corps/wwarc/messages", strings.NewReader(msg), &ing); st != 200 {
		t.Fatalf("ingest: HTTP %d %v", st, ing)
	}
	msgID := ing["msgid"].(string)

	notifyID := app.next(t)
	// Four get_callback_data calls all reach the instance that minted the
	// notify_id (the one the event went to), though two instances run.
	var ev map[string]any
	for i := 0; i < 4; i++ {
		ev = responseData(t, call("get_callback_data", `{}`, notifyID))
	}
	var tr struct {
		Traffic []openzone.TrafficRecord `json:"traffic"`
	}
	z.Admin("GET", "/admin/v1/traffic?program_id=prog-echo", nil, &tr)
	instances := map[string]map[string]bool{}
	for _, rec := range tr.Traffic {
		key := rec.Kind + "/" + rec.AbilityID
		if instances[key] == nil {
			instances[key] = map[string]bool{}
		}
		instances[key][rec.Instance] = true
	}
	evInst := instances["event/conversation_new_message"]
	cbInst := instances["call/get_callback_data"]
	if len(evInst) != 1 || len(cbInst) != 1 || fmt.Sprint(evInst) != fmt.Sprint(cbInst) {
		t.Fatalf("event went to %v, get_callback_data calls to %v: want the same single instance", evInst, cbInst)
	}
	event := ev // the event's own JSON, unwrapped
	if event["event_type"] != "conversation_new_message" {
		t.Fatalf("stored event = %v", ev)
	}
	token := event["conversation_new_message"].(map[string]any)["token"].(string)

	sm := responseData(t, call("invoke_sync_msg", fmt.Sprintf(`{"token":%q,"limit":10}`, token), ""))
	list, _ := sm["msg_list"].([]any)
	if len(list) != 1 {
		t.Fatalf("sync_msg = %v", sm)
	}
	item := list[0].(map[string]any)
	if item["msgid"] != msgID || item["msgtype"] != float64(1) {
		t.Fatalf("item = %v", item)
	}
	enc := item["service_encrypt_info"].(map[string]any)
	ct, _ := base64.StdEncoding.DecodeString(enc["encrypted_secret_key"].(string))
	secretKey, err := rsa.DecryptPKCS1v15(rand.Reader, priv, ct)
	if err != nil || enc["public_key_ver"] != float64(1) {
		t.Fatalf("encrypted_secret_key does not decrypt with the app's private key: %v (%v)", err, enc)
	}

	page := func(key string) (int, string) {
		resp, err := http.Get(z.URL + "/display/message?msgid=" + msgID + "&secret_key=" + key)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := page(string(secretKey)); st != 200 || !strings.Contains(body, "你好，客户一") {
		t.Fatalf("display: %d %s", st, body)
	}
	wrong := base64.RawURLEncoding.EncodeToString(make([]byte, 32))
	if st, body := page(wrong); st != 404 || strings.Contains(body, "你好") {
		t.Fatalf("display with a wrong key: %d", st)
	}

	// The event was delivered once, recorded, and the cursor moves on.
	var evs struct {
		Events []openzone.Event `json:"events"`
	}
	z.Admin("GET", "/admin/v1/events?program_id=prog-echo", nil, &evs)
	if len(evs.Events) != 1 || evs.Events[0].State != openzone.EventDelivered {
		t.Fatalf("events = %+v", evs.Events)
	}
	next := sm["next_cursor"].(string)
	again := responseData(t, call("invoke_sync_msg", fmt.Sprintf(`{"cursor":%q}`, next), ""))
	if l, _ := again["msg_list"].([]any); len(l) != 0 {
		t.Fatalf("after the cursor: %v", again)
	}
	if r := call("invoke_sync_msg", `{"cursor":"garbage"}`, ""); responseData(t, r)["errcode"] != float64(openzone.ErrBadCursor) {
		t.Fatalf("bad cursor: %s", testenv.Describe(r))
	}
	gc := responseData(t, call("invoke_get_group_chat", `{"chatid":"wrchat1"}`, ""))
	if gc["creator"] != "zhangsan" || len(gc["members"].([]any)) != 3 {
		t.Fatalf("get_group_chat = %v", gc)
	}
	if r := responseData(t, call("invoke_get_group_chat", `{"chatid":"nope"}`, "")); r["errcode"] != float64(openzone.ErrBadChatID) {
		t.Fatalf("unknown chat: %v", r)
	}
	sr := responseData(t, call("invoke_search_msg", `{"query_word":"客户一"}`, ""))
	if l, _ := sr["msg_list"].([]any); len(l) != 1 {
		t.Fatalf("search_msg = %v", sr)
	}
	if r := call("get_callback_data", `{}`, "no-such-notify"); testenv.Errcode(r) != openzone.ErrBadNotifyID {
		t.Fatalf("unknown notify_id: %s", testenv.Describe(r))
	}
	if _, err := z.Store().MessageGet(context.Background(), "wwarc", msgID); err != nil {
		t.Fatal(err)
	}
}
