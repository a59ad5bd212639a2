package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonesdk"
)

// TestAuthorisationScope: editions per member and the corp's authorisation
// state decide get_auth_user_list, get_corp_auth_info, what is archived and
// whether programs may read the archive.
func TestAuthorisationScope(t *testing.T) { testenv.Stores(t, testAuthorisationScope) }

func testAuthorisationScope(t *testing.T, db string) {
	begin := time.Now().Add(-24 * time.Hour).Unix()
	end := time.Now().Add(300 * 24 * time.Hour).Unix()
	seed := fmt.Sprintf(`
providers: [{id: isv, name: Test ISV, test_corps: [wwauth]}]
corps:
  - corpid: wwauth
    name: Auth Corp
    auth: {status: 3, begin_time: %d, end_time: %d}
    members:
      - {userid: zhangsan, name: Zhang San, editions: [1, 2, 3]}
      - {userid: lisi, name: Li Si, editions: [1]}
      - {userid: wangwu, name: Wang Wu, editions: []}
    external_contacts: [{external_userid: wmcust, name: Customer}]
programs:
  - id: prog-a
    provider: isv
    name: A
    abilities: [{id: echo, input: {"text": ""}, output: {"text": ""}}]
apps:
  - {corpid: wwauth, agentid: 2000001, type: custom, provider: isv, secret: s1, programs: [prog-a]}
  - {corpid: wwauth, agentid: 1000002, type: self_built, secret: s2, programs: [prog-a]}
`, begin, end)
	z := testenv.Start(t, testenv.Options{Seed: seed, DB: db})
	tok := z.Token("wwauth", "s1")

	r := z.PostApp("/cgi-bin/chatdata/get_auth_user_list", tok, map[string]any{})
	if testenv.Errcode(r) != 0 {
		t.Fatalf("get_auth_user_list: %s", testenv.Describe(r))
	}
	got := fmt.Sprint(r["auth_user_list"])
	if want := "[map[edition_list:[1] userid:lisi] map[edition_list:[1 2 3] userid:zhangsan]]"; got != want {
		t.Fatalf("auth_user_list = %s, want %s", got, want)
	}
	r = z.PostApp("/cgi-bin/chatdata/get_corp_auth_info", tok, map[string]any{})
	if testenv.Errcode(r) != 0 {
		t.Fatalf("get_corp_auth_info: %s", testenv.Describe(r))
	}
	eds := r["auth_edition_list"].([]any)
	if len(eds) != 3 {
		t.Fatalf("auth_edition_list: %v", eds)
	}
	for i, want := range []string{"[lisi zhangsan]", "[zhangsan]", "[zhangsan]"} {
		e := eds[i].(map[string]any)
		users := fmt.Sprint(e["auth_scope"].(map[string]any)["userid_list"])
		if e["edition"] != float64(i+1) || users != want || e["status"] != float64(3) ||
			e["begin_time"] != float64(begin) || e["end_time"] != float64(end) {
			t.Errorf("edition %d: %v", i+1, e)
		}
	}
	if r := z.PostApp("/cgi-bin/chatdata/get_corp_auth_info", z.Token("wwauth", "s2"), map[string]any{}); testenv.Errcode(r) != openzone.ErrNotSuiteApp {
		t.Errorf("self-built get_corp_auth_info: %s", testenv.Describe(r))
	}

	// What is archived: a member covering the chat's edition must take part.
	for _, c := range []struct {
		name, from, fromType, to, toType string
		msgType                          int
		archived                         bool
	}{
		{"InternalEdition1", "lisi", "1", "wangwu", "1", 1, true},
		{"ExternalNeeds2", "lisi", "1", "wmcust", "2", 1, false},
		{"ExternalBy2", "wmcust", "2", "zhangsan", "1", 1, true},
		{"OutOfScopeMember", "wangwu", "1", "wmcust", "2", 1, false},
		{"VoiceCallNeeds3", "lisi", "1", "wangwu", "1", 22, false},
		{"VoiceCallBy3", "zhangsan", "1", "lisi", "1", 22, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			content := `"text":{"content":"hi"}`
			if c.msgType != 1 {
				content = `"voip":{"endtime":1}`
			}
			body := fmt.Sprintf(`{"msgid":"m-%s","sender":{"type":%s,"id":%q},"receiver_list":[{"type":%s,"id":%q}],"msgtype":%d,%s}`,
				c.name, c.fromType, c.from, c.toType, c.to, c.msgType, content)
			var out map[string]any
			if st := z.Admin("POST", "/admin/v1/corps/wwauth/messages", strings.NewReader(body), &out); st != 200 {
				t.Fatalf("archive: HTTP %d %v", st, out)
			}
			_, err := z.Store().MessageGet(t.Context(), "wwauth", "m-"+c.name)
			if (err == nil) != c.archived || (out["not_archived"] == nil) != c.archived {
				t.Fatalf("archived = %v (%v), want %v", err == nil, out, c.archived)
			}
		})
	}

	// A program naming an unauthorised member in a search: 710608.
	p := prodSDK(t, z, "prog-a")
	ctx := zonesdk.InvokeContext{CorpID: "wwauth", AgentID: 2000001}
	if reply := invokeAs(t, p, ctx, "search_msg", map[string]any{"query_word": "hi", "chat_info": map[string]any{"sender": "wangwu"}}); reply.code() != openzone.ErrUserOutOfScope {
		t.Fatalf("search_msg by an unauthorised sender: %v", reply)
	}

	// A trial that ended more than 30 days ago: nothing is archived, and
	// programs cannot read the archive.
	long := time.Now().Add(-40 * 24 * time.Hour)
	if st := z.Admin("PUT", "/admin/v1/corps/wwauth/auth", strings.NewReader(fmt.Sprintf(`{"status":1,"begin_time":%d,"end_time":%d}`,
		long.Add(-30*24*time.Hour).Unix(), long.Unix())), nil); st != 200 {
		t.Fatalf("set auth: HTTP %d", st)
	}
	if st := z.Admin("PUT", "/admin/v1/corps/wwauth/auth", strings.NewReader(`{"status":9}`), nil); st == 200 {
		t.Fatal("status 9 accepted")
	}
	r = z.PostApp("/cgi-bin/chatdata/get_corp_auth_info", tok, map[string]any{})
	if st := r["auth_edition_list"].([]any)[0].(map[string]any)["status"]; st != float64(openzone.AuthTrialExpired) {
		t.Fatalf("status after the trial = %v", st)
	}
	var out map[string]any
	z.Admin("POST", "/admin/v1/corps/wwauth/messages", strings.NewReader(`{"msgid":"m-late","sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":1,"id":"lisi"}],"msgtype":1,"text":{"content":"late"}}`), &out)
	if out["not_archived"] == nil {
		t.Fatalf("a message after the trial was archived: %v", out)
	}
	reply := invokeAs(t, p, ctx, "sync_msg", map[string]any{"limit": 10})
	if reply.code() != openzone.ErrTrialEnded {
		t.Fatalf("sync_msg after the trial: %v", reply)
	}
	// Editions change through the admin API.
	if st := z.Admin("PUT", "/admin/v1/corps/wwauth/members/wangwu/editions", strings.NewReader(`{"editions":[2]}`), nil); st != 200 {
		t.Fatalf("set editions: HTTP %d", st)
	}
	if st := z.Admin("PUT", "/admin/v1/corps/wwauth/members/wangwu/editions", strings.NewReader(`{"editions":[4]}`), nil); st == 200 {
		t.Fatal("edition 4 accepted")
	}
	r = z.PostApp("/cgi-bin/chatdata/get_auth_user_list", tok, map[string]any{})
	if got := fmt.Sprint(r["auth_user_list"]); !strings.Contains(got, "edition_list:[2] userid:wangwu") {
		t.Fatalf("after setting wangwu's editions: %s", got)
	}
}
