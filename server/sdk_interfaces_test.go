package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

// sdkiSeed: a corp with members, external contacts, named group chats and an
// unnamed one; a second corp; prog-sdk (never deployed: the test's own
// in-process zonesdk.Program invokes with its production secret) configured
// for several apps, and prog-other for one app that lacks prog-sdk.
const sdkiSeed = `
providers: [{id: isv, name: ISV}]
corps:
  - corpid: wwsdk
    name: SDK Corp
    members: [{userid: zhangsan, name: 张三}, {userid: lisi, name: 李四}, {userid: wangwu, name: 王五}]
    external_contacts: [{external_userid: wmcust1, name: 张三的客户}, {external_userid: wmcust2, name: 李四的客户}]
    chats:
      - {chatid: wrproj1, name: 项目群一, owner: zhangsan, members: [zhangsan, lisi, wmcust1]}
      - {chatid: wrproj2, name: 项目群二, owner: lisi, members: [lisi, wangwu]}
      - {chatid: wrproj3, name: 项目群三, owner: wangwu, members: [wangwu, wmcust2]}
      - {chatid: wrsales, name: Sales 销售群, owner: zhangsan, members: [zhangsan, wmcust2]}
      - {chatid: wrnoname, owner: lisi, members: [lisi, wmcust2]}
  - corpid: wwother
    name: Other Corp
    members: [{userid: zhao, name: 赵六}]
    external_contacts: [{external_userid: wmo, name: 外部客户}]
    chats: [{chatid: wrother, name: 项目群其他, owner: zhao, members: [zhao, wmo]}]
programs:
  - {id: prog-sdk, provider: isv, name: SDK program, abilities: [{id: echo, input: {}, output: {}}]}
  - {id: prog-other, provider: isv, name: Another program, abilities: [{id: echo, input: {}, output: {}}]}
apps:
  - {corpid: wwsdk, agentid: 1000002, type: self_built, secret: s-main, programs: [prog-sdk]}
  - {corpid: wwsdk, agentid: 1000003, type: self_built, secret: s-nokey, programs: [prog-sdk]}
  - {corpid: wwsdk, agentid: 1000004, type: self_built, secret: s-noprog, programs: [prog-other]}
  - {corpid: wwsdk, agentid: 1000005, type: self_built, secret: s-limit, programs: [prog-sdk]}
  - {corpid: wwsdk, agentid: 1000006, type: self_built, secret: s-rules, programs: [prog-sdk]}
  - {corpid: wwother, agentid: 1000002, type: self_built, secret: s-other, programs: [prog-sdk]}
`

// sdkiApp is the corp and app an invoke acts for.
type sdkiApp struct {
	corp  string
	agent int64
}

var (
	sdkiMain   = sdkiApp{"wwsdk", 1000002} // public key, receives events
	sdkiNoKey  = sdkiApp{"wwsdk", 1000003} // prog-sdk configured, no public key
	sdkiNoProg = sdkiApp{"wwsdk", 1000004} // prog-other only
	sdkiLimit  = sdkiApp{"wwsdk", 1000005} // the 500-rule limit
	sdkiRules  = sdkiApp{"wwsdk", 1000006} // keyword-rule management
	sdkiOther  = sdkiApp{"wwother", 1000002}
)

// sdkiFillers is how many filler messages setup archives after the key.
const sdkiFillers = 250

// sdkiSuite is the zone the SDK interface tests run against, seeded once.
type sdkiSuite struct {
	z    *testenv.Zone
	p    *zonesdk.Program
	priv *rsa.PrivateKey
	t0   time.Time // zone time of setup

	// msgids of the setup messages.
	before, text, group, image, other string
	fillers                           []string
	// sendTime of the text, group and image messages.
	textTime, groupTime, imageTime int64
	// Event tokens: conversation_new_message for the text message (of
	// sdkiMain) and for the message of sdkiOther.
	textToken, otherToken string
}

type sdkiReply map[string]any

func (r sdkiReply) code() int {
	f, _ := r["errcode"].(float64)
	return int(f)
}

func (r sdkiReply) String() string {
	b, _ := json.Marshal(r)
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

func (r sdkiReply) list(key string) []map[string]any {
	raw, _ := r[key].([]any)
	out := make([]map[string]any, 0, len(raw))
	for _, v := range raw {
		m, _ := v.(map[string]any)
		out = append(out, m)
	}
	return out
}

func (r sdkiReply) str(key string) string { s, _ := r[key].(string); return s }

func (r sdkiReply) num(key string) float64 { f, _ := r[key].(float64); return f }

// invoke calls an SDK interface through the real path: the SDK seals it with
// the production secret and posts it to the zone's /spec/v1/invoke.
func (s *sdkiSuite) invoke(t *testing.T, app sdkiApp, iface string, req any) sdkiReply {
	t.Helper()
	ctx := zonesdk.WithInvokeContext(context.Background(), zonesdk.InvokeContext{CorpID: app.corp, AgentID: app.agent})
	raw, err := s.p.Invoke(ctx, iface, req)
	if err != nil {
		t.Fatalf("invoke %s: %v", iface, err)
	}
	var out sdkiReply
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("invoke %s: reply is not a JSON object: %s", iface, raw)
	}
	if _, ok := out["errcode"]; !ok {
		t.Fatalf("invoke %s: reply without errcode: %s", iface, raw)
	}
	return out
}

// ok invokes and fails the test unless errcode is 0.
func (s *sdkiSuite) ok(t *testing.T, app sdkiApp, iface string, req any) sdkiReply {
	t.Helper()
	r := s.invoke(t, app, iface, req)
	if r.code() != 0 {
		t.Fatalf("%s %v: %s", iface, req, r)
	}
	return r
}

// ingest archives one message through the admin API and returns its msgid.
func (s *sdkiSuite) ingest(t testing.TB, corp, msg string) string {
	t.Helper()
	var out map[string]any
	if st := s.z.Admin("POST", "/admin/v1/corps/"+corp+"/messages", strings.NewReader(msg), &out); st != 200 {
		t.Fatalf("ingest %s: HTTP %d %v", msg, st, out)
	}
	return out["msgid"].(string)
}

// events returns the event id → token of the events of type typ raised for
// app (conversation_new_message, hit_keyword: payload {"token": …}).
func (s *sdkiSuite) events(t testing.TB, app sdkiApp, typ string) map[string]string {
	t.Helper()
	var out struct {
		Events []openzone.Event `json:"events"`
	}
	if st := s.z.Admin("GET", "/admin/v1/events?program_id=prog-sdk", nil, &out); st != 200 {
		t.Fatalf("list events: HTTP %d", st)
	}
	tokens := map[string]string{}
	for _, e := range out.Events {
		if e.Type != typ || e.CorpID != app.corp || e.AgentID != app.agent {
			continue
		}
		var data map[string]json.RawMessage
		if err := json.Unmarshal(e.Data, &data); err != nil {
			t.Fatalf("event %s data: %v", e.ID, err)
		}
		var p struct{ Token string }
		if err := json.Unmarshal(data[typ], &p); err != nil || p.Token == "" {
			t.Fatalf("event %s has no %s.token: %s", e.ID, typ, e.Data)
		}
		tokens[e.ID] = p.Token
	}
	return tokens
}

// newToken runs f and returns the token of the one event of type typ that
// f raised for app.
func (s *sdkiSuite) newToken(t testing.TB, app sdkiApp, typ string, f func()) string {
	t.Helper()
	before := s.events(t, app, typ)
	f()
	var fresh []string
	for id, tok := range s.events(t, app, typ) {
		if _, seen := before[id]; !seen {
			fresh = append(fresh, tok)
		}
	}
	if len(fresh) != 1 {
		t.Fatalf("want one new %s event for app %v, got %d", typ, app, len(fresh))
	}
	return fresh[0]
}

func sdkiTextMsg(from, to, text string, sendTime int64) string {
	b, _ := json.Marshal(map[string]any{
		"sender": map[string]any{"type": sdkiPartyType(from), "id": from}, "receiver_list": []any{map[string]any{"type": sdkiPartyType(to), "id": to}},
		"msgtype": 1, "text": map[string]any{"content": text}, "send_time": sendTime,
	})
	return string(b)
}

func sdkiGroupMsg(from, chat, text string, sendTime int64) string {
	b, _ := json.Marshal(map[string]any{
		"sender": map[string]any{"type": sdkiPartyType(from), "id": from}, "chatid": chat,
		"msgtype": 1, "text": map[string]any{"content": text}, "send_time": sendTime,
	})
	return string(b)
}

func sdkiPartyType(id string) int {
	if strings.HasPrefix(id, "wm") {
		return openzone.PartyExternal
	}
	return openzone.PartyMember
}

// setupSDKI boots the zone and seeds consent, keys and messages.
func setupSDKI(t *testing.T, db string) *sdkiSuite {
	t.Helper()
	z := testenv.Start(t, testenv.Options{Seed: sdkiSeed, DB: db})
	s := &sdkiSuite{z: z, t0: z.Clock.Now()}

	sec, err := z.Store().ProgramSecretGet(context.Background(), "prog-sdk")
	if err != nil {
		t.Fatal(err)
	}
	secret := zonewire.Secret{Ver: sec.Ver}
	copy(secret.Key[:], sec.Key)
	// The SDK's own client, whose idle connections are closed before the
	// zone shuts down: a connection the client dialled for a concurrent
	// invoke but never used would hold http.Server.Shutdown for 5 s.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	cfg := zonesdk.Config{ZoneURL: z.URL, ProgramID: "prog-sdk", Secret: secret, HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	if s.p, err = zonesdk.New(cfg); err != nil {
		t.Fatal(err)
	}

	for _, a := range []string{
		`{"userid":"zhangsan","external_userid":"wmcust1","agree_status":"Agree"}`,
		`{"userid":"lisi","external_userid":"wmcust1","agree_status":"Disagree"}`,
		`{"chatid":"wrproj1","external_userid":"wmcust1","agree_status":"Agree"}`,
		`{"chatid":"wrproj3","external_userid":"wmcust2","agree_status":"Disagree"}`,
	} {
		var out map[string]any
		if st := z.Admin("POST", "/admin/v1/corps/wwsdk/agree", strings.NewReader(a), &out); st != 200 {
			t.Fatalf("agree %s: HTTP %d %v", a, st, out)
		}
	}

	now := s.t0.Unix()
	// Archived before the app's key: never shown to it.
	s.before = s.ingest(t, "wwsdk", sdkiTextMsg("zhangsan", "wmcust1", "密钥之前的合同消息", now-400))

	var pub string
	s.priv, pub = rsaKey(t)
	for _, app := range []struct{ corp, secret string }{{"wwsdk", "s-main"}, {"wwother", "s-other"}} {
		tok := z.Token(app.corp, app.secret)
		for _, c := range []struct {
			path string
			body map[string]any
		}{
			{"set_public_key", map[string]any{"public_key": pub, "public_key_ver": 1}},
			{"set_receive_callback", map[string]any{"program_id": "prog-sdk"}},
		} {
			if r := z.PostApp("/cgi-bin/chatdata/"+c.path, tok, c.body); testenv.Errcode(r) != 0 {
				t.Fatalf("%s %s: %s", app.corp, c.path, testenv.Describe(r))
			}
		}
	}

	s.textTime, s.groupTime, s.imageTime = now-300, now-200, now-100
	s.textToken = s.newToken(t, sdkiMain, "conversation_new_message", func() {
		s.text = s.ingest(t, "wwsdk", sdkiTextMsg("zhangsan", "wmcust1", "你好，合同已经发给您了", s.textTime))
	})
	s.group = s.ingest(t, "wwsdk", sdkiGroupMsg("lisi", "wrproj1", "群里确认合同细节", s.groupTime))
	s.image = s.ingest(t, "wwsdk", fmt.Sprintf(`{"sender":{"type":2,"id":"wmcust1"},"receiver_list":[{"type":1,"id":"zhangsan"}],"msgtype":2,"send_time":%d,"image":{"md5sum":"abc123md5","filesize":1024}}`, s.imageTime))

	msgs := make([]json.RawMessage, sdkiFillers)
	for i := range msgs {
		msgs[i] = json.RawMessage(sdkiTextMsg("wangwu", "wmcust2", fmt.Sprintf("filler %03d", i), 0))
	}
	body, _ := json.Marshal(map[string]any{"messages": msgs})
	var batch struct {
		Results []struct {
			MsgID string `json:"msgid"`
		} `json:"results"`
	}
	if st := z.Admin("POST", "/admin/v1/corps/wwsdk/messages/batch", strings.NewReader(string(body)), &batch); st != 200 || len(batch.Results) != sdkiFillers {
		t.Fatalf("batch: HTTP %d, %d results", st, len(batch.Results))
	}
	for _, r := range batch.Results {
		s.fillers = append(s.fillers, r.MsgID)
	}

	s.otherToken = s.newToken(t, sdkiOther, "conversation_new_message", func() {
		s.other = s.ingest(t, "wwother", sdkiTextMsg("zhao", "wmo", "其他企业的合同", now-250))
	})
	return s
}

// TestSDKInterfaces calls every archive SDK interface (and spec_notify_app)
// through the real path: a zonesdk.Program with the program's production
// secret invoking the zone, for self-built apps.
func TestSDKInterfaces(t *testing.T) { testenv.Stores(t, testSDKInterfaces) }

func testSDKInterfaces(t *testing.T, db string) {
	s := setupSDKI(t, db)
	t.Run("Context", s.testContext)
	t.Run("SyncMsg", s.testSyncMsg)
	t.Run("PrePaging", s.testPrePaging)
	t.Run("GroupChat", s.testGroupChat)
	t.Run("Agree", s.testAgree)
	t.Run("SearchChat", s.testSearchChat)
	t.Run("SearchContact", s.testSearchContact)
	t.Run("SearchMsg", s.testSearchMsg)
	t.Run("Rules", s.testRules)
	t.Run("RuleLimit", s.testRuleLimit)
	t.Run("HitMsgList", s.testHitMsgList)
	t.Run("SpecNotifyApp", s.testSpecNotifyApp)
	// Last: these move the zone's clock.
	t.Run("TokenExpiry", s.testTokenExpiry)
	t.Run("FiveDayWindow", s.testFiveDayWindow)
}

// sdkiErrCase is one request that must fail with errcode code, its errmsg
// containing msg.
type sdkiErrCase struct {
	name  string
	app   sdkiApp
	iface string
	req   string
	code  int
	msg   string
}

func (s *sdkiSuite) runErrCases(t *testing.T, cases []sdkiErrCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			app := tc.app
			if app == (sdkiApp{}) {
				app = sdkiMain
			}
			r := s.invoke(t, app, tc.iface, json.RawMessage(tc.req))
			if r.code() != tc.code || !strings.Contains(r.str("errmsg"), tc.msg) {
				t.Fatalf("%s %s: %s, want errcode %d with %q in errmsg", tc.iface, tc.req, r, tc.code, tc.msg)
			}
		})
	}
}

var sdkiInterfaces = []string{
	"sync_msg", "get_msg_list_by_page_id", "get_group_chat", "get_agree_status_single", "get_agree_status_room",
	"search_chat", "search_msg", "search_contact_or_customer", "create_rule", "get_rule_list", "get_rule_detail",
	"update_rule", "delete_rule", "get_hit_msg_list", "spec_notify_app",
}

func (s *sdkiSuite) testContext(t *testing.T) {
	for _, iface := range sdkiInterfaces {
		t.Run("ErrNotAssociated/"+iface, func(t *testing.T) {
			r := s.invoke(t, sdkiNoProg, iface, nil)
			if r.code() != openzone.ErrNotAssociated || !strings.Contains(r.str("errmsg"), "prog-sdk") {
				t.Fatalf("app without the program: %s, want 790020", r)
			}
		})
		t.Run("ErrAgentIDZero/"+iface, func(t *testing.T) {
			r := s.invoke(t, sdkiApp{"wwsdk", 0}, iface, nil)
			if r.code() != openzone.ErrInvalidParam || !strings.Contains(r.str("errmsg"), "agentid") {
				t.Fatalf("agentid 0: %s, want 40058 naming agentid", r)
			}
		})
	}
	s.runErrCases(t, []sdkiErrCase{
		{"ErrUnknownApp", sdkiApp{"wwsdk", 1999999}, "sync_msg", `{}`, openzone.ErrInvalidParam, "no app 1999999"},
		{"ErrAppOfAnotherCorp", sdkiApp{"wwother", 1000005}, "sync_msg", `{}`, openzone.ErrInvalidParam, "no app"},
		{"ErrNoCorpID", sdkiApp{"", 1000002}, "sync_msg", `{}`, openzone.ErrInvalidParam, "corpid"},
		{"ErrUnknownInterface", sdkiMain, "no_such_interface", `{}`, openzone.ErrUnknownInterface, "sync_msg"},
	})
}

// decryptKey opens an item's service_encrypt_info with the app's private key.
func (s *sdkiSuite) decryptKey(t *testing.T, item map[string]any) string {
	t.Helper()
	enc, _ := item["service_encrypt_info"].(map[string]any)
	if enc["public_key_ver"] != float64(1) {
		t.Fatalf("public_key_ver = %v, want 1", enc["public_key_ver"])
	}
	ct, err := base64.StdEncoding.DecodeString(fmt.Sprint(enc["encrypted_secret_key"]))
	if err != nil {
		t.Fatalf("encrypted_secret_key is not base64: %v", err)
	}
	sk, err := rsa.DecryptPKCS1v15(rand.Reader, s.priv, ct)
	if err != nil {
		t.Fatalf("encrypted_secret_key does not RSA-PKCS1v15-decrypt with the app's private key: %v", err)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).Match(sk) {
		t.Fatalf("secret_key %q is not 43 characters of base64url", sk)
	}
	return string(sk)
}

func (s *sdkiSuite) display(t *testing.T, msgID, key string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.z.URL + "/display/message?msgid=" + url.QueryEscape(msgID) + "&secret_key=" + url.QueryEscape(key))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func sdkiMsgIDs(items []map[string]any) []string {
	ids := make([]string, len(items))
	for i, it := range items {
		ids[i], _ = it["msgid"].(string)
	}
	return ids
}

// syncAll returns every message sync_msg gives app from the start, paging
// with limit.
func (s *sdkiSuite) syncAll(t *testing.T, app sdkiApp, limit int) (pages []sdkiReply, ids []string) {
	t.Helper()
	cursor := ""
	for i := 0; i < 100; i++ {
		r := s.ok(t, app, "sync_msg", map[string]any{"cursor": cursor, "limit": limit})
		pages = append(pages, r)
		ids = append(ids, sdkiMsgIDs(r.list("msg_list"))...)
		cursor = r.str("next_cursor")
		if r.num("has_more") == 0 {
			return pages, ids
		}
	}
	t.Fatal("sync_msg never ends")
	return
}

func (s *sdkiSuite) setupIDs() []string {
	return append([]string{s.text, s.group, s.image}, s.fillers...)
}

func (s *sdkiSuite) testSyncMsg(t *testing.T) {
	want := s.setupIDs()

	t.Run("OKItems", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "sync_msg", map[string]any{"limit": 3})
		items := r.list("msg_list")
		if r.num("has_more") != 1 || r.str("next_cursor") == "" || len(items) != 3 {
			t.Fatalf("sync_msg limit 3 = %s", r)
		}
		text, group, image := items[0], items[1], items[2]
		if !slices.Equal(sdkiMsgIDs(items), []string{s.text, s.group, s.image}) {
			t.Fatalf("first three = %v, want text, group, image %v (the message archived before the key must not appear)", sdkiMsgIDs(items), []string{s.text, s.group, s.image})
		}
		check := func(name string, it map[string]any, sender string, senderType int, receivers string, chatid any, sendTime int64, msgtype int) {
			t.Helper()
			snd, _ := it["sender"].(map[string]any)
			rl, _ := json.Marshal(it["receiver_list"])
			if snd["id"] != sender || snd["type"] != float64(senderType) || string(rl) != receivers ||
				it["chatid"] != chatid || it["send_time"] != float64(sendTime) || it["msgtype"] != float64(msgtype) {
				t.Fatalf("%s item = %v", name, it)
			}
		}
		check("text", text, "zhangsan", 1, `[{"id":"wmcust1","type":2}]`, nil, s.textTime, 1)
		check("group", group, "lisi", 1, `[]`, "wrproj1", s.groupTime, 1)
		check("image", image, "wmcust1", 2, `[{"id":"zhangsan","type":1}]`, nil, s.imageTime, 2)

		for _, c := range []struct {
			it   map[string]any
			want string
		}{{text, "你好，合同已经发给您了"}, {group, "群里确认合同细节"}, {image, "abc123md5"}} {
			key := s.decryptKey(t, c.it)
			st, body := s.display(t, c.it["msgid"].(string), key)
			if st != 200 || !strings.Contains(body, c.want) {
				t.Fatalf("display %s with its secret_key: HTTP %d %s", c.it["msgid"], st, body)
			}
		}
		// The key of one message does not open another.
		if st, _ := s.display(t, s.group, s.decryptKey(t, text)); st != 404 {
			t.Fatalf("display with another message's key: HTTP %d, want 404", st)
		}
	})

	t.Run("OKOnlyMessagesAfterTheKey", func(t *testing.T) {
		_, ids := s.syncAll(t, sdkiMain, 1000)
		if slices.Contains(ids, s.before) {
			t.Fatalf("sync_msg shows %s, archived before set_public_key", s.before)
		}
		r := s.ok(t, sdkiMain, "search_msg", map[string]any{"query_word": "密钥之前"})
		if len(r.list("msg_list")) != 0 {
			t.Fatalf("search_msg finds the message archived before the key: %s", r)
		}
	})

	t.Run("OKDefaultLimit200", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "sync_msg", map[string]any{})
		if n := len(r.list("msg_list")); n != 200 || r.num("has_more") != 1 {
			t.Fatalf("default limit: %d items, has_more %v; want 200 and 1", n, r["has_more"])
		}
		r = s.ok(t, sdkiMain, "sync_msg", map[string]any{"limit": 0})
		if n := len(r.list("msg_list")); n != 200 {
			t.Fatalf("limit 0: %d items, want the default 200", n)
		}
	})

	t.Run("OKLimit1000", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "sync_msg", map[string]any{"limit": 1000})
		if got := sdkiMsgIDs(r.list("msg_list")); !slices.Equal(got, want) || r.num("has_more") != 0 {
			t.Fatalf("limit 1000: %d items (has_more %v), want the %d archived after the key", len(got), r["has_more"], len(want))
		}
		// Nothing after the last cursor.
		r = s.ok(t, sdkiMain, "sync_msg", map[string]any{"cursor": r.str("next_cursor")})
		if len(r.list("msg_list")) != 0 || r.num("has_more") != 0 || r.str("next_cursor") == "" {
			t.Fatalf("after the last cursor: %s", r)
		}
	})

	t.Run("OKCursorPaging", func(t *testing.T) {
		pages, ids := s.syncAll(t, sdkiMain, 100)
		if len(pages) != 3 || pages[0].num("has_more") != 1 || pages[1].num("has_more") != 1 || pages[2].num("has_more") != 0 {
			t.Fatalf("paging 253 messages by 100: %d pages", len(pages))
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("paged ids (%d) differ from the archived ones (%d): duplicates or gaps", len(ids), len(want))
		}
	})

	t.Run("OKToken", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "sync_msg", map[string]any{"token": s.textToken, "limit": 5})
		if got := sdkiMsgIDs(r.list("msg_list")); len(got) != 5 || got[0] != s.text || got[1] != s.group {
			t.Fatalf("sync_msg from the event token: %v, want it to start at the message of the event", got)
		}
		// A cursor takes precedence over the token's position.
		first := s.ok(t, sdkiMain, "sync_msg", map[string]any{"limit": 1})
		r = s.ok(t, sdkiMain, "sync_msg", map[string]any{"token": s.textToken, "cursor": first.str("next_cursor"), "limit": 1})
		if got := sdkiMsgIDs(r.list("msg_list")); len(got) != 1 || got[0] != s.group {
			t.Fatalf("token and cursor: %v, want the message after the cursor", got)
		}
		// The batch's event token starts at the batch.
		tok := s.newToken(t, sdkiMain, "conversation_new_message", func() {
			s.ingest(t, "wwsdk", sdkiTextMsg("lisi", "wmcust2", "token probe", 0))
		})
		r = s.ok(t, sdkiMain, "sync_msg", map[string]any{"token": tok})
		if items := r.list("msg_list"); len(items) != 1 || r.num("has_more") != 0 {
			t.Fatalf("sync_msg with the newest event's token: %s", r)
		}
		want = append(want, sdkiMsgIDs(r.list("msg_list"))...)
	})

	t.Run("OKBeginTimeWithinWindow", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "sync_msg", map[string]any{"begin_time": s.z.Clock.Now().Add(-time.Hour).Unix(), "limit": 1})
		if got := sdkiMsgIDs(r.list("msg_list")); len(got) != 1 || got[0] != s.text {
			t.Fatalf("begin_time an hour ago: %v", got)
		}
	})

	t.Run("OKOtherCorpIsolated", func(t *testing.T) {
		r := s.ok(t, sdkiOther, "sync_msg", map[string]any{"limit": 1000})
		if got := sdkiMsgIDs(r.list("msg_list")); !slices.Equal(got, []string{s.other}) {
			t.Fatalf("wwother's app sees %v, want only its corp's message", got)
		}
	})

	long := strings.Repeat("A", 129)
	s.runErrCases(t, []sdkiErrCase{
		{"ErrLimit1001", sdkiMain, "sync_msg", `{"limit":1001}`, openzone.ErrInvalidParam, "limit"},
		{"ErrLimitNegative", sdkiMain, "sync_msg", `{"limit":-1}`, openzone.ErrInvalidParam, "limit"},
		{"ErrLimitNotANumber", sdkiMain, "sync_msg", `{"limit":"10"}`, openzone.ErrInvalidParam, "limit"},
		{"ErrMode3", sdkiMain, "sync_msg", `{"mode":3}`, openzone.ErrInvalidParam, "mode"},
		{"ErrBadCursor", sdkiMain, "sync_msg", `{"cursor":"garbage"}`, openzone.ErrBadCursor, "cursor"},
		{"ErrCursorOfAnotherInterface", sdkiMain, "sync_msg", `{"cursor":"` + base64.RawURLEncoding.EncodeToString([]byte("c:1")) + `"}`, openzone.ErrBadCursor, "cursor"},
		{"ErrCursorOver128Bytes", sdkiMain, "sync_msg", `{"cursor":"` + long + `"}`, openzone.ErrBadCursor, "128"},
		{"ErrUnknownToken", sdkiMain, "sync_msg", `{"token":"oztk_nosuchtoken"}`, openzone.ErrInvalidParam, "token"},
		{"ErrTokenOver128Bytes", sdkiMain, "sync_msg", `{"token":"` + long + `"}`, openzone.ErrInvalidParam, "token"},
		{"ErrTokenOfAnotherApp", sdkiMain, "sync_msg", `{"token":"` + s.otherToken + `"}`, openzone.ErrInvalidParam, "token"},
		{"ErrNoPublicKey", sdkiNoKey, "sync_msg", `{}`, openzone.ErrInvalidParam, "set_public_key"},
		{"ErrNoPublicKeyWithToken", sdkiNoKey, "sync_msg", `{"token":"` + s.textToken + `"}`, openzone.ErrInvalidParam, "set_public_key"},
		{"ErrBeginTimeOver5DaysAgo", sdkiMain, "sync_msg", fmt.Sprintf(`{"begin_time":%d}`, s.z.Clock.Now().Add(-5*24*time.Hour-time.Minute).Unix()), openzone.ErrInvalidParam, "5 days"},
	})
}

func (s *sdkiSuite) testPrePaging(t *testing.T) {
	// The reference: the first 20 messages in order.
	ref := sdkiMsgIDs(s.ok(t, sdkiMain, "sync_msg", map[string]any{"limit": 20}).list("msg_list"))

	t.Run("OKMode1PageIDs", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "sync_msg", map[string]any{"mode": 1, "limit": 2})
		pages, _ := r["page_id_list"].([]any)
		if len(pages) != 10 || r.num("has_more") != 1 || len(r.list("msg_list")) != 0 {
			t.Fatalf("mode 1, limit 2: %s; want 10 page ids, has_more 1, no messages", r)
		}
		var got []string
		for _, p := range pages {
			pr := s.ok(t, sdkiMain, "get_msg_list_by_page_id", map[string]any{"page_id": p})
			items := pr.list("msg_list")
			if len(items) != 2 {
				t.Fatalf("page %v: %d messages, want 2", p, len(items))
			}
			s.decryptKey(t, items[0])
			got = append(got, sdkiMsgIDs(items)...)
		}
		if !slices.Equal(got, ref) {
			t.Fatalf("pages hold %v, want the first 20 messages %v", got, ref)
		}
		// The cursor continues after the 10 pages.
		next := s.ok(t, sdkiMain, "sync_msg", map[string]any{"cursor": r.str("next_cursor"), "limit": 1})
		all := sdkiMsgIDs(s.ok(t, sdkiMain, "sync_msg", map[string]any{"limit": 21}).list("msg_list"))
		if got := sdkiMsgIDs(next.list("msg_list")); len(got) != 1 || got[0] != all[20] {
			t.Fatalf("after mode 1's cursor: %v, want the 21st message", got)
		}
	})

	t.Run("OKMode2FitsOnePage", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "sync_msg", map[string]any{"mode": 2, "limit": 1000})
		if len(r.list("msg_list")) < len(s.setupIDs()) || r["page_id_list"] != nil && len(r["page_id_list"].([]any)) != 0 {
			t.Fatalf("mode 2 with everything in one page: %d messages, page_id_list %v", len(r.list("msg_list")), r["page_id_list"])
		}
	})

	t.Run("OKMode2Pages", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "sync_msg", map[string]any{"mode": 2, "limit": 100})
		if pages, _ := r["page_id_list"].([]any); len(pages) != 3 || r.num("has_more") != 0 {
			t.Fatalf("mode 2, limit 100 over ~254 messages: %s; want 3 page ids", r)
		}
	})

	good := s.ok(t, sdkiMain, "sync_msg", map[string]any{"mode": 1, "limit": 2})["page_id_list"].([]any)[0].(string)
	s.runErrCases(t, []sdkiErrCase{
		{"ErrBadPageID", sdkiMain, "get_msg_list_by_page_id", `{"page_id":"garbage"}`, openzone.ErrInvalidParam, "page_id"},
		{"ErrMissingPageID", sdkiMain, "get_msg_list_by_page_id", `{}`, openzone.ErrInvalidParam, "page_id"},
		{"ErrEmptyRangePageID", sdkiMain, "get_msg_list_by_page_id", `{"page_id":"` + base64.RawURLEncoding.EncodeToString([]byte("p:9:9:0")) + `"}`, openzone.ErrInvalidParam, "page_id"},
		{"ErrPageIDNoPublicKey", sdkiNoKey, "get_msg_list_by_page_id", `{"page_id":"` + good + `"}`, openzone.ErrInvalidParam, "set_public_key"},
	})
}

func (s *sdkiSuite) testGroupChat(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "get_group_chat", map[string]any{"chatid": "wrproj1"})
		if r.str("creator") != "zhangsan" {
			t.Fatalf("creator = %v", r["creator"])
		}
		ct := int64(r.num("room_create_time"))
		if ct < s.t0.Add(-time.Minute).Unix() || ct > s.t0.Add(time.Minute).Unix() {
			t.Fatalf("room_create_time %d, want about the seed time %d", ct, s.t0.Unix())
		}
		types := map[string]float64{}
		for _, m := range r.list("members") {
			if jt := m["jointime"].(float64); int64(jt) != ct {
				t.Fatalf("member %v: jointime %v, want the creation time", m, jt)
			}
			types[m["memberid"].(string)] = m["type"].(float64)
		}
		if fmt.Sprint(types) != fmt.Sprint(map[string]float64{"zhangsan": 1, "lisi": 1, "wmcust1": 2}) {
			t.Fatalf("members = %v", types)
		}
	})
	t.Run("OKUnnamedChat", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "get_group_chat", map[string]any{"chatid": "wrnoname"})
		if r.str("creator") != "lisi" || len(r.list("members")) != 2 {
			t.Fatalf("unnamed chat = %s", r)
		}
	})
	t.Run("OKWithoutPublicKey", func(t *testing.T) {
		s.ok(t, sdkiNoKey, "get_group_chat", map[string]any{"chatid": "wrproj1"})
	})
	s.runErrCases(t, []sdkiErrCase{
		{"ErrUnknownChat", sdkiMain, "get_group_chat", `{"chatid":"wrnope"}`, openzone.ErrBadChatID, "wrnope"},
		{"ErrChatOfAnotherCorp", sdkiMain, "get_group_chat", `{"chatid":"wrother"}`, openzone.ErrBadChatID, "wrother"},
		{"ErrMissingChatID", sdkiMain, "get_group_chat", `{}`, openzone.ErrInvalidParam, "chatid"},
		{"ErrChatIDNotAString", sdkiMain, "get_group_chat", `{"chatid":5}`, openzone.ErrInvalidParam, "chatid"},
	})
}

func (s *sdkiSuite) testAgree(t *testing.T) {
	t.Run("OKSingle", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "get_agree_status_single", map[string]any{"item": []map[string]string{
			{"userid": "zhangsan", "external_userid": "wmcust1"},
			{"userid": "lisi", "external_userid": "wmcust1"},
			{"userid": "wangwu", "external_userid": "wmcust2"},
		}})
		info := r.list("agreeinfo")
		if len(info) != 3 {
			t.Fatalf("agreeinfo = %s", r)
		}
		for i, want := range []struct {
			user, ext, status string
			recorded          bool
		}{{"zhangsan", "wmcust1", "Agree", true}, {"lisi", "wmcust1", "Disagree", true}, {"wangwu", "wmcust2", "Disagree", false}} {
			it := info[i]
			ct := int64(it["status_change_time"].(float64))
			if it["userid"] != want.user || it["external_userid"] != want.ext || it["agree_status"] != want.status ||
				want.recorded != (ct != 0) || want.recorded && (ct < s.t0.Add(-time.Minute).Unix() || ct > s.t0.Add(time.Minute).Unix()) {
				t.Fatalf("agreeinfo[%d] = %v, want %+v", i, it, want)
			}
		}
	})
	t.Run("OK100Items", func(t *testing.T) {
		items := make([]map[string]string, 100)
		for i := range items {
			items[i] = map[string]string{"userid": "zhangsan", "external_userid": "wmcust1"}
		}
		if r := s.ok(t, sdkiMain, "get_agree_status_single", map[string]any{"item": items}); len(r.list("agreeinfo")) != 100 {
			t.Fatalf("100 items: %d answers", len(r.list("agreeinfo")))
		}
	})
	t.Run("OKRoom", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "get_agree_status_room", map[string]any{"chatid": "wrproj1"})
		info := r.list("agreeinfo")
		if len(info) != 1 || info[0]["external_userid"] != "wmcust1" || info[0]["agree_status"] != "Agree" || info[0]["status_change_time"].(float64) == 0 {
			t.Fatalf("room agreeinfo = %s", r)
		}
		r = s.ok(t, sdkiMain, "get_agree_status_room", map[string]any{"chatid": "wrproj3"})
		if info := r.list("agreeinfo"); len(info) != 1 || info[0]["agree_status"] != "Disagree" {
			t.Fatalf("wrproj3 agreeinfo = %s", r)
		}
		r = s.ok(t, sdkiMain, "get_agree_status_room", map[string]any{"chatid": "wrproj2"})
		if raw, ok := r["agreeinfo"].([]any); !ok || len(raw) != 0 {
			t.Fatalf("chat without records: %s, want agreeinfo []", r)
		}
	})
	items101 := make([]map[string]string, 101)
	for i := range items101 {
		items101[i] = map[string]string{"userid": "zhangsan", "external_userid": "wmcust1"}
	}
	b101, _ := json.Marshal(map[string]any{"item": items101})
	s.runErrCases(t, []sdkiErrCase{
		{"ErrNoItems", sdkiMain, "get_agree_status_single", `{"item":[]}`, openzone.ErrInvalidParam, "item"},
		{"ErrItemMissing", sdkiMain, "get_agree_status_single", `{}`, openzone.ErrInvalidParam, "item"},
		{"Err101Items", sdkiMain, "get_agree_status_single", string(b101), openzone.ErrInvalidParam, "101"},
		{"ErrMissingUserID", sdkiMain, "get_agree_status_single", `{"item":[{"external_userid":"wmcust1"}]}`, openzone.ErrInvalidParam, "userid"},
		{"ErrMissingExternalUserID", sdkiMain, "get_agree_status_single", `{"item":[{"userid":"zhangsan"}]}`, openzone.ErrInvalidParam, "external_userid"},
		{"ErrRoomUnknownChat", sdkiMain, "get_agree_status_room", `{"chatid":"wrnope"}`, openzone.ErrBadChatID, "wrnope"},
		{"ErrRoomMissingChatID", sdkiMain, "get_agree_status_room", `{}`, openzone.ErrInvalidParam, "chatid"},
	})
}

func sdkiChatIDs(r sdkiReply) []string {
	var ids []string
	for _, c := range r.list("chat_list") {
		ids = append(ids, c["chatid"].(string))
	}
	return ids
}

func (s *sdkiSuite) testSearchChat(t *testing.T) {
	t.Run("OKNamedOnly", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "search_chat", map[string]any{"query_word": "项目群"})
		if got := sdkiChatIDs(r); !slices.Equal(got, []string{"wrproj1", "wrproj2", "wrproj3"}) || r.num("has_more") != 0 {
			t.Fatalf("search_chat 项目群 = %s (another corp's chat and unnamed chats must not appear)", r)
		}
	})
	t.Run("OKCaseInsensitive", func(t *testing.T) {
		if got := sdkiChatIDs(s.ok(t, sdkiMain, "search_chat", map[string]any{"query_word": "SALES"})); !slices.Equal(got, []string{"wrsales"}) {
			t.Fatalf("search_chat SALES = %v", got)
		}
	})
	t.Run("OKUnnamedNeverReturned", func(t *testing.T) {
		// wrnoname has lisi as owner and member: an unnamed chat matches nothing.
		for _, q := range []string{"李四", "lisi", "wrnoname"} {
			r := s.ok(t, sdkiMain, "search_chat", map[string]any{"query_word": q})
			if raw, ok := r["chat_list"].([]any); !ok || len(raw) != 0 {
				t.Fatalf("search_chat %q = %s, want chat_list []", q, r)
			}
		}
	})
	t.Run("OKPaging", func(t *testing.T) {
		r1 := s.ok(t, sdkiMain, "search_chat", map[string]any{"query_word": "项目群", "limit": 2})
		r2 := s.ok(t, sdkiMain, "search_chat", map[string]any{"query_word": "项目群", "limit": 2, "cursor": r1.str("next_cursor")})
		if r1.num("has_more") != 1 || r2.num("has_more") != 0 || r2.str("next_cursor") != "" {
			t.Fatalf("paging: %s then %s", r1, r2)
		}
		if got := append(sdkiChatIDs(r1), sdkiChatIDs(r2)...); !slices.Equal(got, []string{"wrproj1", "wrproj2", "wrproj3"}) {
			t.Fatalf("pages = %v", got)
		}
	})
	t.Run("OKLimit100", func(t *testing.T) {
		s.ok(t, sdkiMain, "search_chat", map[string]any{"query_word": "项目群", "limit": 100})
	})
	s.runErrCases(t, []sdkiErrCase{
		{"ErrQueryWord1Char", sdkiMain, "search_chat", `{"query_word":"群"}`, openzone.ErrInvalidParam, "query_word"},
		{"ErrQueryWordMissing", sdkiMain, "search_chat", `{}`, openzone.ErrInvalidParam, "query_word"},
		{"ErrLimit101", sdkiMain, "search_chat", `{"query_word":"项目群","limit":101}`, openzone.ErrInvalidParam, "limit"},
		{"ErrBadCursor", sdkiMain, "search_chat", `{"query_word":"项目群","cursor":"garbage"}`, openzone.ErrBadCursor, "cursor"},
	})
}

func sdkiUsers(r sdkiReply) []string {
	var out []string
	for _, u := range r.list("user_list") {
		out = append(out, fmt.Sprintf("%v:%v", u["type"], u["id"]))
	}
	return out
}

func (s *sdkiSuite) testSearchContact(t *testing.T) {
	for _, tc := range []struct {
		name, query string
		typ         int
		want        []string
	}{
		{"OKBoth", "张三", 0, []string{"1:zhangsan", "2:wmcust1"}},
		{"OKMembers", "张三", 1, []string{"1:zhangsan"}},
		{"OKCustomers", "张三", 2, []string{"2:wmcust1"}},
		{"OKCustomersAll", "客户", 2, []string{"2:wmcust1", "2:wmcust2"}},
		{"OKNoMatch", "不存在的人", 0, nil},
		{"OKQueryWord31Chars", strings.Repeat("x", 31), 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.ok(t, sdkiMain, "search_contact_or_customer", map[string]any{"query_word": tc.query, "query_user_type": tc.typ})
			if got := sdkiUsers(r); !slices.Equal(got, tc.want) || r.num("has_more") != 0 {
				t.Fatalf("search %q type %d = %s, want %v", tc.query, tc.typ, r, tc.want)
			}
		})
	}
	t.Run("OKPaging", func(t *testing.T) {
		r1 := s.ok(t, sdkiMain, "search_contact_or_customer", map[string]any{"query_word": "客户", "limit": 1})
		r2 := s.ok(t, sdkiMain, "search_contact_or_customer", map[string]any{"query_word": "客户", "limit": 1, "cursor": r1.str("next_cursor")})
		if r1.num("has_more") != 1 || r2.num("has_more") != 0 || !slices.Equal(append(sdkiUsers(r1), sdkiUsers(r2)...), []string{"2:wmcust1", "2:wmcust2"}) {
			t.Fatalf("paging: %s then %s", r1, r2)
		}
	})
	s.runErrCases(t, []sdkiErrCase{
		{"ErrQueryUserType3", sdkiMain, "search_contact_or_customer", `{"query_word":"张三","query_user_type":3}`, openzone.ErrInvalidParam, "query_user_type"},
		{"ErrQueryWord32Chars", sdkiMain, "search_contact_or_customer", `{"query_word":"` + strings.Repeat("x", 32) + `"}`, openzone.ErrInvalidParam, "query_word"},
		{"ErrQueryWord1Char", sdkiMain, "search_contact_or_customer", `{"query_word":"张"}`, openzone.ErrInvalidParam, "query_word"},
		{"ErrLimit101", sdkiMain, "search_contact_or_customer", `{"query_word":"张三","limit":101}`, openzone.ErrInvalidParam, "limit"},
	})
}

func (s *sdkiSuite) testSearchMsg(t *testing.T) {
	now := s.z.Clock.Now().Unix()
	for _, tc := range []struct {
		name string
		app  sdkiApp
		req  map[string]any
		want []string
	}{
		// Newest first; not the message archived before the key, not the
		// other corp's.
		{"OKNewestFirst", sdkiMain, map[string]any{"query_word": "合同"}, []string{s.group, s.text}},
		{"OKOtherCorpOwnOnly", sdkiOther, map[string]any{"query_word": "合同"}, []string{s.other}},
		{"OKGroupOnly", sdkiMain, map[string]any{"query_word": "合同", "chat_info": map[string]any{"chat_type": 2}}, []string{s.group}},
		{"OKGroupByChatID", sdkiMain, map[string]any{"query_word": "合同", "chat_info": map[string]any{"chat_type": 2, "chat_id": "wrproj1"}}, []string{s.group}},
		{"OKSingleOnly", sdkiMain, map[string]any{"query_word": "合同", "chat_info": map[string]any{"chat_type": 1}}, []string{s.text}},
		{"OKSingleByPair", sdkiMain, map[string]any{"query_word": "合同", "chat_info": map[string]any{"chat_type": 1, "id_list": []string{"wmcust1", "zhangsan"}}}, []string{s.text}},
		{"OKSender", sdkiMain, map[string]any{"query_word": "合同", "chat_info": map[string]any{"sender": "lisi"}}, []string{s.group}},
		{"OKStartTime", sdkiMain, map[string]any{"query_word": "合同", "start_time": s.textTime + 1}, []string{s.group}},
		{"OKEndTime", sdkiMain, map[string]any{"query_word": "合同", "end_time": s.groupTime - 1}, []string{s.text}},
		{"OKExactly31Days", sdkiMain, map[string]any{"query_word": "合同", "start_time": now - 31*86400, "end_time": now}, []string{s.group, s.text}},
		{"OKCaseInsensitive", sdkiMain, map[string]any{"query_word": "FILLER 007"}, []string{s.fillers[7]}},
		// skip_stop_words: the query's stop words split it into fragments a
		// message must all contain.
		{"OKSkipStopWords", sdkiMain, map[string]any{"query_word": "合同的细节", "skip_stop_words": true}, []string{s.group}},
		{"OKSkipStopWordsInt", sdkiMain, map[string]any{"query_word": "合同 已经", "skip_stop_words": 1}, []string{s.text}},
		{"OKStopWordsKept", sdkiMain, map[string]any{"query_word": "合同的细节"}, nil},
		// An image is not a searchable type, even if its content matches.
		{"OKImageNotSearchable", sdkiMain, map[string]any{"query_word": "abc123md5"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.ok(t, tc.app, "search_msg", tc.req)
			if got := sdkiMsgIDs(r.list("msg_list")); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("search_msg %v = %v, want %v", tc.req, got, tc.want)
			}
			for _, it := range r.list("msg_list") {
				if len(it) != 1 {
					t.Fatalf("search_msg item %v: only the msgid may leave the zone", it)
				}
			}
		})
	}
	t.Run("OKPaging", func(t *testing.T) {
		var ids []string
		cursor := ""
		for i := 0; ; i++ {
			r := s.ok(t, sdkiMain, "search_msg", map[string]any{"query_word": "filler", "limit": 100, "cursor": cursor})
			ids = append(ids, sdkiMsgIDs(r.list("msg_list"))...)
			if r.num("has_more") == 0 {
				break
			}
			cursor = r.str("next_cursor")
			if i > 5 {
				t.Fatal("search_msg never ends")
			}
		}
		sorted := slices.Clone(ids)
		slices.Sort(sorted)
		if len(ids) != sdkiFillers || len(slices.Compact(sorted)) != sdkiFillers {
			t.Fatalf("paged search found %d (distinct %d), want %d", len(ids), len(slices.Compact(sorted)), sdkiFillers)
		}
	})
	s.runErrCases(t, []sdkiErrCase{
		{"ErrRangeOver31Days", sdkiMain, "search_msg", fmt.Sprintf(`{"query_word":"合同","start_time":%d,"end_time":%d}`, now-31*86400-1, now), openzone.ErrInvalidParam, "31 days"},
		{"ErrStartTimeOver31DaysAgo", sdkiMain, "search_msg", fmt.Sprintf(`{"query_word":"合同","start_time":%d}`, now-32*86400), openzone.ErrInvalidParam, "31 days"},
		{"ErrEndBeforeStart", sdkiMain, "search_msg", fmt.Sprintf(`{"query_word":"合同","start_time":%d,"end_time":%d}`, now, now-60), openzone.ErrInvalidParam, "31 days"},
		{"ErrQueryWord1Char", sdkiMain, "search_msg", `{"query_word":"合"}`, openzone.ErrInvalidParam, "query_word"},
		{"ErrLimit101", sdkiMain, "search_msg", `{"query_word":"合同","limit":101}`, openzone.ErrInvalidParam, "limit"},
		{"ErrChatType3", sdkiMain, "search_msg", `{"query_word":"合同","chat_info":{"chat_type":3}}`, openzone.ErrInvalidParam, "chat_type"},
		{"ErrSenderList101", sdkiMain, "search_msg", `{"query_word":"合同","chat_info":{"sender_list":[` + strings.TrimSuffix(strings.Repeat(`"x",`, 101), ",") + `]}}`, openzone.ErrInvalidParam, "sender_list"},
		{"ErrBadCursor", sdkiMain, "search_msg", `{"query_word":"合同","cursor":"garbage"}`, openzone.ErrBadCursor, "cursor"},
		{"ErrOnlyStopWords", sdkiMain, "search_msg", `{"query_word":"的了是","skip_stop_words":true}`, openzone.ErrInvalidParam, "stop words"},
		{"ErrSkipStopWordsType", sdkiMain, "search_msg", `{"query_word":"合同","skip_stop_words":"yes"}`, openzone.ErrInvalidParam, "skip_stop_words"},
		{"ErrNoPublicKey", sdkiNoKey, "search_msg", `{"query_word":"合同"}`, openzone.ErrInvalidParam, "set_public_key"},
	})
}

func (s *sdkiSuite) testRules(t *testing.T) {
	var id string
	t.Run("OKCreate", func(t *testing.T) {
		r := s.ok(t, sdkiRules, "create_rule", map[string]any{
			"name":             "违禁词规则",
			"keyword":          map[string]any{"word_list": []string{"违禁词甲", "违禁词乙"}, "match_rule": 0},
			"applicable_range": map[string]any{"chat_type": map[string]any{"type_list": []int{1}}},
		})
		id = r.str("rule_id")
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(id) {
			t.Fatalf("rule_id = %q", id)
		}
	})
	if id == "" {
		t.FailNow()
	}
	t.Run("OKDetail", func(t *testing.T) {
		r := s.ok(t, sdkiRules, "get_rule_detail", map[string]any{"rule_id": id})
		kw, _ := r["keyword"].(map[string]any)
		sem, _ := r["semantics"].(map[string]any)
		rng, _ := r["applicable_range"].(map[string]any)
		if r.str("name") != "违禁词规则" || fmt.Sprint(kw["word_list"]) != "[违禁词甲 违禁词乙]" || fmt.Sprint(sem["semantics_list"]) != "[]" ||
			fmt.Sprint(rng["chat_type"]) != "map[type_list:[1]]" {
			t.Fatalf("detail = %s", r)
		}
	})
	t.Run("OKUpdateMerges", func(t *testing.T) {
		s.ok(t, sdkiRules, "update_rule", map[string]any{"rule_id": id, "semantics": map[string]any{"semantics_list": []int{11}}})
		r := s.ok(t, sdkiRules, "get_rule_detail", map[string]any{"rule_id": id})
		kw, _ := r["keyword"].(map[string]any)
		sem, _ := r["semantics"].(map[string]any)
		rng, _ := r["applicable_range"].(map[string]any)
		if r.str("name") != "违禁词规则" || fmt.Sprint(kw["word_list"]) != "[违禁词甲 违禁词乙]" || fmt.Sprint(sem["semantics_list"]) != "[11]" ||
			fmt.Sprint(rng["chat_type"]) != "map[type_list:[1]]" {
			t.Fatalf("after adding semantics, detail = %s; the other parts must stay", r)
		}
		s.ok(t, sdkiRules, "update_rule", map[string]any{"rule_id": id, "name": "改名规则"})
		r = s.ok(t, sdkiRules, "get_rule_detail", map[string]any{"rule_id": id})
		sem, _ = r["semantics"].(map[string]any)
		if r.str("name") != "改名规则" || fmt.Sprint(sem["semantics_list"]) != "[11]" {
			t.Fatalf("after renaming, detail = %s", r)
		}
		// Clearing the keywords leaves the semantics: still a rule.
		s.ok(t, sdkiRules, "update_rule", map[string]any{"rule_id": id, "keyword": map[string]any{"word_list": []string{}}})
		// Clearing the semantics too would leave nothing: 710610.
		if r := s.invoke(t, sdkiRules, "update_rule", map[string]any{"rule_id": id, "semantics": map[string]any{"semantics_list": []int{}}}); r.code() != openzone.ErrKeywordEmpty {
			t.Fatalf("update leaving an empty rule: %s, want 710610", r)
		}
		s.ok(t, sdkiRules, "update_rule", map[string]any{"rule_id": id, "keyword": map[string]any{"word_list": []string{"违禁词甲"}}})
	})
	t.Run("OKListPaging", func(t *testing.T) {
		for _, n := range []string{"规则二", "规则三"} {
			s.ok(t, sdkiRules, "create_rule", map[string]any{"name": n, "semantics": map[string]any{"semantics_list": []int{4}}})
		}
		r1 := s.ok(t, sdkiRules, "get_rule_list", map[string]any{"limit": 2})
		r2 := s.ok(t, sdkiRules, "get_rule_list", map[string]any{"limit": 2, "cursor": r1.str("next_cursor")})
		all := s.ok(t, sdkiRules, "get_rule_list", map[string]any{})
		if r1.num("has_more") != 1 || r2.num("has_more") != 0 || len(r1.list("rule_list")) != 2 || len(r2.list("rule_list")) != 1 {
			t.Fatalf("paging 3 rules by 2: %s then %s", r1, r2)
		}
		var names []string
		for _, it := range append(r1.list("rule_list"), r2.list("rule_list")...) {
			ct := int64(it["create_time"].(float64))
			if it["rule_id"] == "" || ct < s.t0.Add(-time.Minute).Unix() || ct > time.Now().Add(time.Minute).Unix() {
				t.Fatalf("rule_list item %v", it)
			}
			names = append(names, it["name"].(string))
		}
		slices.Sort(names)
		if !slices.Equal(names, []string{"改名规则", "规则三", "规则二"}) || len(all.list("rule_list")) != 3 {
			t.Fatalf("listed rules %v", names)
		}
		// Rules are per app.
		if l := s.ok(t, sdkiNoKey, "get_rule_list", map[string]any{}).list("rule_list"); len(l) != 0 {
			t.Fatalf("another app sees rules %v", l)
		}
	})
	t.Run("OKDelete", func(t *testing.T) {
		victim := s.ok(t, sdkiRules, "create_rule", map[string]any{"name": "待删除", "keyword": map[string]any{"word_list": []string{"删"}}}).str("rule_id")
		s.ok(t, sdkiRules, "delete_rule", map[string]any{"rule_id": victim})
		for _, iface := range []string{"get_rule_detail", "delete_rule", "update_rule"} {
			if r := s.invoke(t, sdkiRules, iface, map[string]any{"rule_id": victim, "name": "x"}); r.code() != openzone.ErrRuleNotFound {
				t.Fatalf("%s after delete_rule: %s, want 710612", iface, r)
			}
		}
		// Another app cannot read or delete this app's rule.
		if r := s.invoke(t, sdkiMain, "get_rule_detail", map[string]any{"rule_id": id}); r.code() != openzone.ErrRuleNotFound {
			t.Fatalf("another app's rule: %s, want 710612", r)
		}
		if r := s.invoke(t, sdkiMain, "delete_rule", map[string]any{"rule_id": id}); r.code() != openzone.ErrRuleNotFound {
			t.Fatalf("delete another app's rule: %s, want 710612", r)
		}
	})

	words21 := make([]string, 21)
	for i := range words21 {
		words21[i] = fmt.Sprintf("w%d", i)
	}
	w21, _ := json.Marshal(words21)
	unknown := strings.Repeat("0", 32)
	s.runErrCases(t, []sdkiErrCase{
		{"ErrNameMissing", sdkiRules, "create_rule", `{"keyword":{"word_list":["a"]}}`, openzone.ErrInvalidParam, "name"},
		{"ErrNameEmpty", sdkiRules, "create_rule", `{"name":"","keyword":{"word_list":["a"]}}`, openzone.ErrInvalidParam, "name"},
		{"ErrName21Chars", sdkiRules, "create_rule", `{"name":"` + strings.Repeat("名", 21) + `","keyword":{"word_list":["a"]}}`, openzone.ErrInvalidParam, "name"},
		{"ErrWordList21", sdkiRules, "create_rule", `{"name":"n","keyword":{"word_list":` + string(w21) + `}}`, openzone.ErrInvalidParam, "word_list"},
		{"ErrWord33Chars", sdkiRules, "create_rule", `{"name":"n","keyword":{"word_list":["` + strings.Repeat("词", 33) + `"]}}`, openzone.ErrInvalidParam, "word_list[0]"},
		{"ErrWordEmpty", sdkiRules, "create_rule", `{"name":"n","keyword":{"word_list":[""]}}`, openzone.ErrInvalidParam, "word_list[0]"},
		{"ErrBothEmpty", sdkiRules, "create_rule", `{"name":"n","keyword":{"word_list":[]},"semantics":{"semantics_list":[]}}`, openzone.ErrKeywordEmpty, "empty"},
		{"ErrNeitherGiven", sdkiRules, "create_rule", `{"name":"n"}`, openzone.ErrKeywordEmpty, "empty"},
		{"ErrKeywordWithoutWordList", sdkiRules, "create_rule", `{"name":"n","keyword":{"match_rule":1}}`, 710650, "word_list"},
		{"ErrSemantics13", sdkiRules, "create_rule", `{"name":"n","semantics":{"semantics_list":[13]}}`, 710648, "semantics_list[0]"},
		{"ErrMatchRule2", sdkiRules, "create_rule", `{"name":"n","keyword":{"word_list":["a"],"match_rule":2}}`, openzone.ErrInvalidParam, "match_rule"},
		{"ErrUnknownField", sdkiRules, "create_rule", `{"name":"n","keyword":{"word_list":["a"],"bogus":1}}`, openzone.ErrInvalidParam, "bogus"},
		{"ErrBadExcludeMobile", sdkiRules, "create_rule", `{"name":"n","keyword":{"word_list":["a"]},"applicable_range":{"exclude_mobile":{"mobile_list":["12345"]}}}`, 710621, "mobile"},
		{"ErrDetailUnknown", sdkiRules, "get_rule_detail", `{"rule_id":"` + unknown + `"}`, openzone.ErrRuleNotFound, unknown},
		{"ErrDetailMalformed", sdkiRules, "get_rule_detail", `{"rule_id":"bad id!"}`, openzone.ErrBadRuleID, "rule_id"},
		{"ErrDetailOver64Bytes", sdkiRules, "get_rule_detail", `{"rule_id":"` + strings.Repeat("a", 65) + `"}`, openzone.ErrBadRuleID, "rule_id"},
		{"ErrDetailMissing", sdkiRules, "get_rule_detail", `{}`, openzone.ErrInvalidParam, "rule_id"},
		{"ErrUpdateUnknown", sdkiRules, "update_rule", `{"rule_id":"` + unknown + `","name":"x"}`, openzone.ErrRuleNotFound, unknown},
		{"ErrUpdateMalformed", sdkiRules, "update_rule", `{"rule_id":"bad id!","name":"x"}`, openzone.ErrBadRuleID, "rule_id"},
		{"ErrUpdateName21Chars", sdkiRules, "update_rule", `{"rule_id":"` + id + `","name":"` + strings.Repeat("名", 21) + `"}`, openzone.ErrInvalidParam, "name"},
		{"ErrDeleteUnknown", sdkiRules, "delete_rule", `{"rule_id":"` + unknown + `"}`, openzone.ErrRuleNotFound, unknown},
		{"ErrDeleteMalformed", sdkiRules, "delete_rule", `{"rule_id":"bad id!"}`, openzone.ErrBadRuleID, "rule_id"},
		{"ErrListLimit1001", sdkiRules, "get_rule_list", `{"limit":1001}`, openzone.ErrInvalidParam, "limit"},
		{"ErrListBadCursor", sdkiRules, "get_rule_list", `{"cursor":"garbage"}`, openzone.ErrBadCursor, "cursor"},
	})
}

func (s *sdkiSuite) testRuleLimit(t *testing.T) {
	start := time.Now()
	existing := len(s.ok(t, sdkiLimit, "get_rule_list", map[string]any{"limit": 1000}).list("rule_list"))
	for i := existing; i < 500; i++ {
		r := s.invoke(t, sdkiLimit, "create_rule", map[string]any{"name": fmt.Sprintf("规则%03d", i), "keyword": map[string]any{"word_list": []string{fmt.Sprintf("limitword%03d", i)}}})
		if r.code() != 0 {
			t.Fatalf("rule %d: %s", i+1, r)
		}
	}
	t.Logf("created %d rules in %s", 500-existing, time.Since(start))

	t.Run("ErrRule501", func(t *testing.T) {
		r := s.invoke(t, sdkiLimit, "create_rule", map[string]any{"name": "第501条", "keyword": map[string]any{"word_list": []string{"x"}}})
		if r.code() != openzone.ErrTooManyRules || !strings.Contains(r.str("errmsg"), "500") {
			t.Fatalf("501st rule: %s, want 710619", r)
		}
	})
	t.Run("OKListDefaultLimit100", func(t *testing.T) {
		r := s.ok(t, sdkiLimit, "get_rule_list", map[string]any{})
		if len(r.list("rule_list")) != 100 || r.num("has_more") != 1 || r.str("next_cursor") == "" {
			t.Fatalf("default page: %d rules, has_more %v", len(r.list("rule_list")), r["has_more"])
		}
	})
	t.Run("OKListPaging", func(t *testing.T) {
		seen := map[string]bool{}
		cursor := ""
		var sizes []int
		for {
			r := s.ok(t, sdkiLimit, "get_rule_list", map[string]any{"limit": 200, "cursor": cursor})
			l := r.list("rule_list")
			sizes = append(sizes, len(l))
			for _, it := range l {
				id := it["rule_id"].(string)
				if seen[id] {
					t.Fatalf("rule %s listed twice", id)
				}
				seen[id] = true
			}
			if r.num("has_more") == 0 {
				break
			}
			cursor = r.str("next_cursor")
			if len(sizes) > 5 {
				t.Fatal("get_rule_list never ends")
			}
		}
		if fmt.Sprint(sizes) != "[200 200 100]" || len(seen) != 500 {
			t.Fatalf("pages of %v, %d distinct rules; want [200 200 100] and 500", sizes, len(seen))
		}
	})
	t.Run("OKDeleteFreesASlot", func(t *testing.T) {
		first := s.ok(t, sdkiLimit, "get_rule_list", map[string]any{"limit": 1}).list("rule_list")[0]["rule_id"]
		s.ok(t, sdkiLimit, "delete_rule", map[string]any{"rule_id": first})
		s.ok(t, sdkiLimit, "create_rule", map[string]any{"name": "补位", "keyword": map[string]any{"word_list": []string{"x"}}})
		if r := s.invoke(t, sdkiLimit, "create_rule", map[string]any{"name": "再多一条", "keyword": map[string]any{"word_list": []string{"y"}}}); r.code() != openzone.ErrTooManyRules {
			t.Fatalf("501st rule after refilling: %s, want 710619", r)
		}
	})
	t.Run("OKOtherAppsUnaffected", func(t *testing.T) {
		r := s.ok(t, sdkiRules, "create_rule", map[string]any{"name": "另一个应用", "keyword": map[string]any{"word_list": []string{"另一个应用的词"}}})
		s.ok(t, sdkiRules, "delete_rule", map[string]any{"rule_id": r.str("rule_id")})
	})
}

func (s *sdkiSuite) testHitMsgList(t *testing.T) {
	rule := s.ok(t, sdkiMain, "create_rule", map[string]any{
		"name":      "退款或手机号",
		"keyword":   map[string]any{"word_list": []string{"退款"}},
		"semantics": map[string]any{"semantics_list": []int{2}},
	}).str("rule_id")
	// Where the hits so far end: the list starts after it.
	base := s.ok(t, sdkiMain, "get_hit_msg_list", map[string]any{"limit": 1000})
	if base.num("has_more") != 0 {
		t.Fatalf("hits before the test: %s", base)
	}
	var kwMsg, mobileMsg string
	hitTok := s.newToken(t, sdkiMain, "hit_keyword", func() {
		kwMsg = s.ingest(t, "wwsdk", sdkiTextMsg("wmcust1", "zhangsan", "我要退款", 0))
	})
	mobileTok := s.newToken(t, sdkiMain, "hit_keyword", func() {
		mobileMsg = s.ingest(t, "wwsdk", sdkiGroupMsg("zhangsan", "wrproj1", "请打我电话 138 0013 8000", 0))
	})
	// A message that hits nothing raises no hit_keyword event.
	before := len(s.events(t, sdkiMain, "hit_keyword"))
	s.ingest(t, "wwsdk", sdkiTextMsg("wmcust1", "zhangsan", "没有命中的消息", 0))
	if after := len(s.events(t, sdkiMain, "hit_keyword")); after != before {
		t.Fatalf("a message without hits raised a hit_keyword event")
	}

	hitOf := func(t *testing.T, it map[string]any) map[string]any {
		t.Helper()
		rules, _ := it["hit_rule_list"].([]any)
		if len(rules) != 1 {
			t.Fatalf("hit_rule_list = %v, want the one rule", it["hit_rule_list"])
		}
		h := rules[0].(map[string]any)
		if h["rule_id"] != rule {
			t.Fatalf("hit rule %v, want %s", h["rule_id"], rule)
		}
		return h
	}

	t.Run("OKWithDetail", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "get_hit_msg_list", map[string]any{"cursor": base.str("next_cursor"), "need_detail": 1})
		items := r.list("msg_list")
		if len(items) != 2 || r.num("has_more") != 0 || !slices.Equal(sdkiMsgIDs(items), []string{kwMsg, mobileMsg}) {
			t.Fatalf("hits = %s", r)
		}
		h := hitOf(t, items[0])
		if h["has_hit_keyword"] != true || fmt.Sprint(h["semantics_list"]) != "[]" {
			t.Fatalf("keyword hit = %v", h)
		}
		h = hitOf(t, items[1])
		if h["has_hit_keyword"] != false || fmt.Sprint(h["semantics_list"]) != "[2]" {
			t.Fatalf("mobile hit = %v", h)
		}
		d, _ := items[0]["msg_detail"].(map[string]any)
		if d["msgid"] != kwMsg || d["msgtype"] != float64(1) {
			t.Fatalf("msg_detail = %v", d)
		}
		if st, body := s.display(t, kwMsg, s.decryptKey(t, d)); st != 200 || !strings.Contains(body, "我要退款") {
			t.Fatalf("display of the hit message: HTTP %d", st)
		}
		if d, _ := items[1]["msg_detail"].(map[string]any); d["chatid"] != "wrproj1" {
			t.Fatalf("group hit msg_detail = %v", d)
		}
	})
	t.Run("OKWithoutDetail", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "get_hit_msg_list", map[string]any{"cursor": base.str("next_cursor")})
		for _, it := range r.list("msg_list") {
			if _, has := it["msg_detail"]; has {
				t.Fatalf("msg_detail without need_detail: %v", it)
			}
		}
	})
	t.Run("OKToken", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "get_hit_msg_list", map[string]any{"token": hitTok})
		if got := sdkiMsgIDs(r.list("msg_list")); !slices.Equal(got, []string{kwMsg, mobileMsg}) {
			t.Fatalf("from the first hit token: %v", got)
		}
		r = s.ok(t, sdkiMain, "get_hit_msg_list", map[string]any{"token": mobileTok})
		if got := sdkiMsgIDs(r.list("msg_list")); !slices.Equal(got, []string{mobileMsg}) {
			t.Fatalf("from the second hit token: %v", got)
		}
	})
	t.Run("OKCursorPaging", func(t *testing.T) {
		r1 := s.ok(t, sdkiMain, "get_hit_msg_list", map[string]any{"cursor": base.str("next_cursor"), "limit": 1})
		r2 := s.ok(t, sdkiMain, "get_hit_msg_list", map[string]any{"cursor": r1.str("next_cursor"), "limit": 1})
		r3 := s.ok(t, sdkiMain, "get_hit_msg_list", map[string]any{"cursor": r2.str("next_cursor"), "limit": 1})
		if r1.num("has_more") != 1 || r2.num("has_more") != 0 || len(r3.list("msg_list")) != 0 ||
			!slices.Equal(append(sdkiMsgIDs(r1.list("msg_list")), sdkiMsgIDs(r2.list("msg_list"))...), []string{kwMsg, mobileMsg}) {
			t.Fatalf("paging by 1: %s / %s / %s", r1, r2, r3)
		}
	})
	t.Run("OKDeletedRuleMatchesNoMore", func(t *testing.T) {
		s.ok(t, sdkiMain, "delete_rule", map[string]any{"rule_id": rule})
		s.ingest(t, "wwsdk", sdkiTextMsg("wmcust1", "zhangsan", "还是要退款", 0))
		r := s.ok(t, sdkiMain, "get_hit_msg_list", map[string]any{"cursor": base.str("next_cursor")})
		if got := sdkiMsgIDs(r.list("msg_list")); !slices.Equal(got, []string{kwMsg, mobileMsg}) {
			t.Fatalf("after delete_rule: %v (the old hits stay, no new ones)", got)
		}
	})

	s.runErrCases(t, []sdkiErrCase{
		{"ErrBadCursor", sdkiMain, "get_hit_msg_list", `{"cursor":"garbage"}`, openzone.ErrBadCursor, "cursor"},
		{"ErrCursorOver64Bytes", sdkiMain, "get_hit_msg_list", `{"cursor":"` + strings.Repeat("A", 65) + `"}`, openzone.ErrBadCursor, "64"},
		{"ErrSyncMsgCursor", sdkiMain, "get_hit_msg_list", `{"cursor":"` + base64.RawURLEncoding.EncodeToString([]byte("m:1")) + `"}`, openzone.ErrBadCursor, "cursor"},
		{"ErrLimit1001", sdkiMain, "get_hit_msg_list", `{"limit":1001}`, openzone.ErrInvalidParam, "limit"},
		{"ErrSyncTokenForHits", sdkiMain, "get_hit_msg_list", `{"token":"` + s.textToken + `"}`, openzone.ErrInvalidParam, "token"},
		{"ErrHitTokenForSyncMsg", sdkiMain, "sync_msg", `{"token":"` + hitTok + `"}`, openzone.ErrInvalidParam, "token"},
		{"ErrNoPublicKey", sdkiNoKey, "get_hit_msg_list", `{}`, openzone.ErrInvalidParam, "set_public_key"},
	})
}

func (s *sdkiSuite) testSpecNotifyApp(t *testing.T) {
	t.Run("OKGenerated", func(t *testing.T) {
		a := s.ok(t, sdkiMain, "spec_notify_app", map[string]any{})
		b := s.ok(t, sdkiMain, "spec_notify_app", map[string]any{"notify_scene": 255})
		if !regexp.MustCompile(`^[0-9A-Za-z_-]{1,64}$`).MatchString(a.str("notify_id")) || a.str("notify_id") == b.str("notify_id") {
			t.Fatalf("generated notify_ids %q, %q", a["notify_id"], b["notify_id"])
		}
	})
	t.Run("OKGiven", func(t *testing.T) {
		for _, id := range []string{zonesdk.GenerateNotifyID(), "my-notify_1", strings.Repeat("n", 64)} {
			if r := s.ok(t, sdkiMain, "spec_notify_app", map[string]any{"notify_id": id, "notify_scene": 0}); r.str("notify_id") != id {
				t.Fatalf("notify_id %q came back as %q", id, r["notify_id"])
			}
		}
	})
	t.Run("ErrReused", func(t *testing.T) {
		id := zonesdk.GenerateNotifyID()
		s.ok(t, sdkiMain, "spec_notify_app", map[string]any{"notify_id": id})
		for _, app := range []sdkiApp{sdkiMain, sdkiNoKey, sdkiOther} {
			if r := s.invoke(t, app, "spec_notify_app", map[string]any{"notify_id": id}); r.code() != openzone.ErrBadNotifyID {
				t.Fatalf("reused notify_id by %v: %s, want 710646", app, r)
			}
		}
	})
	s.runErrCases(t, []sdkiErrCase{
		{"Err65Bytes", sdkiMain, "spec_notify_app", `{"notify_id":"` + strings.Repeat("n", 65) + `"}`, openzone.ErrBadNotifyID, "notify_id"},
		{"ErrSpace", sdkiMain, "spec_notify_app", `{"notify_id":"bad id"}`, openzone.ErrBadNotifyID, "notify_id"},
		{"ErrNonASCII", sdkiMain, "spec_notify_app", `{"notify_id":"通知"}`, openzone.ErrBadNotifyID, "notify_id"},
		{"ErrDot", sdkiMain, "spec_notify_app", `{"notify_id":"a.b"}`, openzone.ErrBadNotifyID, "notify_id"},
		{"ErrScene256", sdkiMain, "spec_notify_app", `{"notify_scene":256}`, openzone.ErrInvalidParam, "notify_scene"},
		{"ErrSceneNegative", sdkiMain, "spec_notify_app", `{"notify_scene":-1}`, openzone.ErrInvalidParam, "notify_scene"},
		{"ErrSceneNotANumber", sdkiMain, "spec_notify_app", `{"notify_scene":"1"}`, openzone.ErrInvalidParam, "notify_scene"},
	})
}

// testTokenExpiry moves the zone's clock by 11 minutes.
func (s *sdkiSuite) testTokenExpiry(t *testing.T) {
	// Fresh tokens of both kinds, valid now.
	var syncTok, hitTok string
	rule := s.ok(t, sdkiMain, "create_rule", map[string]any{"name": "过期测试", "keyword": map[string]any{"word_list": []string{"过期测试词"}}}).str("rule_id")
	defer s.ok(t, sdkiMain, "delete_rule", map[string]any{"rule_id": rule})
	hitTok = s.newToken(t, sdkiMain, "hit_keyword", func() {
		syncTok = s.newToken(t, sdkiMain, "conversation_new_message", func() {
			s.ingest(t, "wwsdk", sdkiTextMsg("zhangsan", "wmcust1", "过期测试词", 0))
		})
	})
	s.ok(t, sdkiMain, "sync_msg", map[string]any{"token": syncTok})
	s.ok(t, sdkiMain, "get_hit_msg_list", map[string]any{"token": hitTok})

	s.z.Clock.Advance(11 * time.Minute)
	s.runErrCases(t, []sdkiErrCase{
		{"ErrSyncTokenExpired", sdkiMain, "sync_msg", `{"token":"` + syncTok + `"}`, openzone.ErrInvalidParam, "expired"},
		{"ErrHitTokenExpired", sdkiMain, "get_hit_msg_list", `{"token":"` + hitTok + `"}`, openzone.ErrInvalidParam, "expired"},
	})
}

// testFiveDayWindow moves the zone's clock by 5 days and a minute.
func (s *sdkiSuite) testFiveDayWindow(t *testing.T) {
	s.z.Clock.Advance(5*24*time.Hour + time.Minute)
	t.Run("OKEmptyAfter5Days", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "sync_msg", map[string]any{"limit": 1000})
		if len(r.list("msg_list")) != 0 || r.num("has_more") != 0 {
			t.Fatalf("5 days and a minute later: %d messages, want none", len(r.list("msg_list")))
		}
		r = s.ok(t, sdkiMain, "sync_msg", map[string]any{"mode": 1, "limit": 10})
		if pages, _ := r["page_id_list"].([]any); len(pages) != 0 {
			t.Fatalf("mode 1, 5 days later: %s", r)
		}
	})
	t.Run("OKNewMessagesStillFlow", func(t *testing.T) {
		id := s.ingest(t, "wwsdk", sdkiTextMsg("zhangsan", "wmcust1", "五天之后的新消息", 0))
		r := s.ok(t, sdkiMain, "sync_msg", map[string]any{})
		if got := sdkiMsgIDs(r.list("msg_list")); !slices.Equal(got, []string{id}) {
			t.Fatalf("5 days later, sync_msg = %v, want only the new message", got)
		}
	})
	s.runErrCases(t, []sdkiErrCase{
		{"ErrBeginTimeAtSetup", sdkiMain, "sync_msg", fmt.Sprintf(`{"begin_time":%d}`, s.t0.Unix()), openzone.ErrInvalidParam, "5 days"},
	})
}

// sdkiKnownBug marks a violated expectation that is a reported bug of
// non-test code: the subtest is skipped with the details instead of
// failing, so the suite stays green until the fix lands; then the check
// passes by itself (and this call should become t.Fatalf).
func sdkiKnownBug(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Skipf("KNOWN BUG (reported, not fixed): "+format, args...)
}

// TestSDKInterfacesBulk checks what needs more than 1000 messages or hits,
// concurrency, and forged page ids.
func TestSDKInterfacesBulk(t *testing.T) { testenv.Stores(t, testSDKInterfacesBulk) }

func testSDKInterfacesBulk(t *testing.T, db string) {
	s := setupSDKI(t, db)
	rule := s.ok(t, sdkiMain, "create_rule", map[string]any{"name": "bulk", "keyword": map[string]any{"word_list": []string{"hitme"}}}).str("rule_id")
	// 1001 more messages that each hit the rule: 1254 after the key.
	msgs := make([]json.RawMessage, 1000)
	for i := range msgs {
		msgs[i] = json.RawMessage(sdkiTextMsg("wangwu", "wmcust2", fmt.Sprintf("hitme %04d", i), 0))
	}
	body, _ := json.Marshal(map[string]any{"messages": msgs})
	if st := s.z.Admin("POST", "/admin/v1/corps/wwsdk/messages/batch", strings.NewReader(string(body)), nil); st != 200 {
		t.Fatalf("batch: HTTP %d", st)
	}
	s.ingest(t, "wwsdk", sdkiTextMsg("wangwu", "wmcust2", "hitme last", 0))
	total := 3 + sdkiFillers + 1001

	t.Run("OKSyncMsgPagingOver1000", func(t *testing.T) {
		if _, ids := s.syncAll(t, sdkiMain, 999); len(ids) != total {
			t.Fatalf("paged %d messages by 999, want %d", len(ids), total)
		}
	})
	t.Run("OKSyncMsgHasMoreLimit1000", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "sync_msg", map[string]any{"limit": 1000})
		rest := len(s.ok(t, sdkiMain, "sync_msg", map[string]any{"cursor": r.str("next_cursor"), "limit": 1000}).list("msg_list"))
		if n := len(r.list("msg_list")); n != 1000 || n+rest != total {
			t.Fatalf("limit 1000: %d, then %d after the cursor; want 1000 and %d in all", n, rest, total)
		}
		if r.num("has_more") == 0 && rest > 0 {
			t.Fatalf("internal/archive/sdk.go syncMsg asks the store for limit+1 = 1001 messages to detect has_more, but the store clamps every list to 1000 (internal/store/sqlite/executor.go clampLimit): limit 1000 over %d messages gives has_more 0 while %d follow next_cursor", total, rest)
		}
	})
	// has_more 0 must mean that nothing follows next_cursor.
	for _, limit := range []int{50, 100, 200} {
		t.Run(fmt.Sprintf("OKMode1HasMoreLimit%d", limit), func(t *testing.T) {
			r := s.ok(t, sdkiMain, "sync_msg", map[string]any{"mode": 1, "limit": limit})
			pages, _ := r["page_id_list"].([]any)
			if len(pages) > 10 {
				t.Fatalf("%d page ids, at most 10", len(pages))
			}
			covered := 0
			for _, p := range pages {
				covered += len(s.ok(t, sdkiMain, "get_msg_list_by_page_id", map[string]any{"page_id": p}).list("msg_list"))
			}
			rest := len(s.ok(t, sdkiMain, "sync_msg", map[string]any{"cursor": r.str("next_cursor"), "limit": 1000}).list("msg_list"))
			if covered+rest != total {
				t.Fatalf("pages cover %d, %d after the cursor; want %d in all", covered, rest, total)
			}
			if r.num("has_more") == 0 && rest > 0 {
				t.Fatalf("internal/archive/sdk.go prePage: mode 1, limit %d, %d messages: %d page ids covering %d messages and has_more 0, but %d messages follow next_cursor", limit, total, len(pages), covered, rest)
			}
		})
	}
	t.Run("OKHitsHasMoreAt1000", func(t *testing.T) {
		r := s.ok(t, sdkiMain, "get_hit_msg_list", map[string]any{"limit": 1000})
		next := s.ok(t, sdkiMain, "get_hit_msg_list", map[string]any{"limit": 1000, "cursor": r.str("next_cursor")})
		if len(r.list("msg_list"))+len(next.list("msg_list")) != 1001 {
			t.Fatalf("hits: %d then %d, want 1001 in all", len(r.list("msg_list")), len(next.list("msg_list")))
		}
		if r.num("has_more") == 0 && len(next.list("msg_list")) > 0 {
			t.Fatalf("internal/archive/rulesapi.go hitMsgList: limit 1000 over 1001 hits: 1000 items and has_more 0, but %d follow next_cursor", len(next.list("msg_list")))
		}
	})
	s.ok(t, sdkiMain, "delete_rule", map[string]any{"rule_id": rule})

	t.Run("OKRuleLimitUnderConcurrency", func(t *testing.T) {
		for i := 0; i < 495; i++ {
			s.ok(t, sdkiLimit, "create_rule", map[string]any{"name": fmt.Sprintf("r%d", i), "keyword": map[string]any{"word_list": []string{"w"}}})
		}
		codes := make(chan int, 40)
		for i := 0; i < cap(codes); i++ {
			go func() {
				ctx := zonesdk.WithInvokeContext(context.Background(), zonesdk.InvokeContext{CorpID: sdkiLimit.corp, AgentID: sdkiLimit.agent})
				raw, err := s.p.Invoke(ctx, "create_rule", map[string]any{"name": "c", "keyword": map[string]any{"word_list": []string{"w"}}})
				if err != nil {
					codes <- -1
					return
				}
				c, _ := zonesdk.Errcode(raw)
				codes <- c
			}()
		}
		created := 0
		for i := 0; i < cap(codes); i++ {
			switch c := <-codes; c {
			case 0:
				created++
			case openzone.ErrTooManyRules:
			default:
				t.Fatalf("concurrent create_rule: errcode %d", c)
			}
		}
		n := len(s.ok(t, sdkiLimit, "get_rule_list", map[string]any{"limit": 1000}).list("rule_list"))
		if n > 500 {
			t.Fatalf("internal/archive/rulesapi.go createRule counts rules and inserts outside one transaction: 40 concurrent create_rule at 495 rules created %d, the app now has %d rules (limit 500)", created, n)
		}
		if created != 5 || n != 500 {
			t.Fatalf("created %d, app has %d rules; want 5 and 500", created, n)
		}
	})

	t.Run("OKPageIDKeepsThe5DayWindow", func(t *testing.T) {
		legit := s.ok(t, sdkiMain, "sync_msg", map[string]any{"mode": 1, "limit": 10})["page_id_list"].([]any)[0]
		s.z.Clock.Advance(5*24*time.Hour + time.Minute)
		if n := len(s.ok(t, sdkiMain, "sync_msg", map[string]any{}).list("msg_list")); n != 0 {
			t.Fatalf("sync_msg 5 days later: %d messages", n)
		}
		forged := base64.RawURLEncoding.EncodeToString([]byte("p:0:999999999:0"))
		var leaks []string
		for name, pid := range map[string]any{"forged": forged, "issued 5 days ago": legit} {
			r := s.invoke(t, sdkiMain, "get_msg_list_by_page_id", map[string]any{"page_id": pid})
			if n := len(r.list("msg_list")); r.code() == 0 && n > 0 {
				leaks = append(leaks, fmt.Sprintf("%s page_id: %d messages", name, n))
			}
		}
		if len(leaks) > 0 {
			slices.Sort(leaks)
			t.Fatalf("internal/archive/sdk.go msgListByPage trusts the window start written in the page_id (unsigned base64 \"p:from:to:since\"): 5 days and a minute after ingestion, %s", strings.Join(leaks, "; "))
		}
	})
}
