package server_test

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/archive"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonesdk"
)

const hideSeed = `
providers: [{id: isv, name: Test ISV, test_corps: [wwtest]}]
corps:
  - corpid: wwtest
    name: Test Corp
    members: [{userid: zhangsan, name: Zhang San}, {userid: lisi, name: Li Si}]
programs:
  - id: prog-echo
    provider: isv
    name: Echo
    abilities: [{id: echo, input: {"text": ""}, output: {"text": ""}}]
apps:
  - {corpid: wwtest, agentid: 1000002, type: self_built, secret: s1, programs: [prog-echo]}
`

// TestHideSensitiveInfo: set_hide_sensitiveinfo_config through the app API
// and the SDK; the display page masks, for that viewer through that app,
// what the configuration hides, and nothing for anyone else.
func TestHideSensitiveInfo(t *testing.T) { testenv.Stores(t, testHideSensitiveInfo) }

func testHideSensitiveInfo(t *testing.T, db string) {
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i + 1)
	}
	z := testenv.Start(t, testenv.Options{Seed: hideSeed, DB: db, ArchiveKey: base64.StdEncoding.EncodeToString(key)})
	tok := z.Token("wwtest", "s1")
	const set, get = "/cgi-bin/chatdata/set_hide_sensitiveinfo_config", "/cgi-bin/chatdata/get_hide_sensitiveinfo_config"

	for _, c := range []struct {
		name    string
		body    any
		errcode int
		msgHas  string
	}{
		{"NoUserID", map[string]any{"config": map[string]any{"hide_mobile": true}}, openzone.ErrInvalidParam, "userid"},
		{"NoConfig", map[string]any{"userid": "zhangsan"}, openzone.ErrInvalidParam, "config"},
		{"ConfigNotObject", map[string]any{"userid": "zhangsan", "config": "yes"}, openzone.ErrInvalidParam, "config"},
		{"FlagNotBool", map[string]any{"userid": "zhangsan", "config": map[string]any{"hide_mobile": 1}}, openzone.ErrInvalidParam, "hide_mobile"},
		{"UnknownMember", map[string]any{"userid": "nobody", "config": map[string]any{"hide_mobile": true}}, openzone.ErrUserNotFound, "nobody"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := z.PostApp(set, tok, c.body)
			if testenv.Errcode(r) != c.errcode || !strings.Contains(r["errmsg"].(string), c.msgHas) {
				t.Fatalf("reply %s, want errcode %d naming %q", testenv.Describe(r), c.errcode, c.msgHas)
			}
		})
	}
	// Nothing set: every switch false.
	r := z.PostApp(get, tok, map[string]any{"userid": "zhangsan"})
	if testenv.Errcode(r) != 0 || r["config"].(map[string]any)["hide_mobile"] != false {
		t.Fatalf("get before set: %s", testenv.Describe(r))
	}
	if r := z.PostApp(set, tok, map[string]any{"userid": "zhangsan", "config": map[string]any{"hide_mobile": true, "hide_bankno": true}}); testenv.Errcode(r) != 0 {
		t.Fatalf("set: %s", testenv.Describe(r))
	}
	r = z.PostApp(get, tok, map[string]any{"userid": "zhangsan"})
	cfg := r["config"].(map[string]any)
	if cfg["hide_mobile"] != true || cfg["hide_bankno"] != true || cfg["hide_idcard"] != false {
		t.Fatalf("get after set: %s", testenv.Describe(r))
	}
	// The SDK's twin acts for the invoke's app.
	p := prodSDK(t, z, "prog-echo")
	out := invokeAs(t, p, zonesdk.InvokeContext{CorpID: "wwtest", AgentID: 1000002}, "set_hide_sensitiveinfo_config",
		map[string]any{"userid": "lisi", "config": map[string]any{"hide_idcard": true}})
	if out.code() != 0 {
		t.Fatalf("SDK set: %v", out)
	}
	out = invokeAs(t, p, zonesdk.InvokeContext{CorpID: "wwtest", AgentID: 1000002}, "get_hide_sensitiveinfo_config", map[string]any{"userid": "lisi"})
	if c, _ := out["config"].(map[string]any); out.code() != 0 || c["hide_idcard"] != true || c["hide_mobile"] != false {
		t.Fatalf("SDK get: %v", out)
	}

	// A message with a phone number, a bank card (Luhn-valid) and an ID
	// number (check digit valid), and an order number that is none of them.
	const text = "电话13812345678，卡号6222 0200 0000 0000 018，身份证11010519491231002X，订单号20261205000123"
	body := `{"msgid":"m-hide","sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":1,"id":"lisi"}],"msgtype":1,"text":{"content":"` + text + `"}}`
	if st := z.Admin("POST", "/admin/v1/corps/wwtest/messages", strings.NewReader(body), nil); st != 200 {
		t.Fatalf("archive: HTTP %d", st)
	}
	m, err := z.Store().MessageGet(context.Background(), "wwtest", "m-hide")
	if err != nil {
		t.Fatal(err)
	}
	sk, err := archive.New(archive.Config{Key: key}).SecretKey(m)
	if err != nil {
		t.Fatal(err)
	}
	page := func(viewer url.Values) string {
		t.Helper()
		viewer.Set("msgid", "m-hide")
		viewer.Set("secret_key", sk)
		resp, err := http.Get(z.URL + "/display/message?" + viewer.Encode())
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("display: HTTP %d %s", resp.StatusCode, b)
		}
		return string(b)
	}
	plain := page(url.Values{})
	for _, s := range []string{"13812345678", "6222 0200 0000 0000 018", "11010519491231002X", "20261205000123"} {
		if !strings.Contains(plain, s) {
			t.Errorf("unmasked page lacks %q", s)
		}
	}
	zs := page(url.Values{"agentid": {"1000002"}, "userid": {"zhangsan"}})
	for s, want := range map[string]bool{"13812345678": false, "6222 0200 0000 0000 018": false, "11010519491231002X": true, "20261205000123": true, "敏感信息已隐藏": true} {
		if strings.Contains(zs, s) != want {
			t.Errorf("zhangsan's page: contains %q = %v, want %v", s, !want, want)
		}
	}
	ls := page(url.Values{"agentid": {"1000002"}, "userid": {"lisi"}})
	for s, want := range map[string]bool{"13812345678": true, "11010519491231002X": false, "20261205000123": true} {
		if strings.Contains(ls, s) != want {
			t.Errorf("lisi's page: contains %q = %v, want %v", s, !want, want)
		}
	}
	if resp, _ := http.Get(z.URL + "/display/message?msgid=m-hide&secret_key=" + sk + "&agentid=abc"); resp == nil || resp.StatusCode != 400 {
		t.Errorf("a bad agentid is not refused")
	}
}
