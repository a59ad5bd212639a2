package server_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/server"
)

// wwSeed: corp wwm with customer tag groups; prog-caller calls WeCom's
// models (its ability ask holds the general model's prompt template);
// prog-standin answers model "my-general" (the program backend), and
// "gpt-fake" goes to a fake OpenAI endpoint.
const wwSeed = `
providers: [{id: isv, name: ISV}]
corps:
  - corpid: wwm
    name: Models Corp
    members: [{userid: zhangsan, name: 张三}]
    external_contacts: [{external_userid: wmc1, name: 客户甲}]
    tag_groups:
      - group_id: g-intent
        group_name: 购买意向
        tags: [{tag_id: t-high, tag_name: 高意向}, {tag_id: t-low, tag_name: 低意向}]
      - group_id: g-concern
        group_name: 关注点
        tags: [{tag_id: t-price, tag_name: 价格敏感}, {tag_id: t-refund, tag_name: 退款, synonyms: [退钱]}]
programs:
  - id: prog-caller
    provider: isv
    name: Caller
    abilities:
      - id: ask
        input: {"prompt": "对话：{chat}|内容：{chatcontent}|片段：{doc_fragments}|标签：{tagjson}|客户：{$customer$}"}
        output: {}
  - id: prog-standin
    provider: isv
    name: Stand-in
    deploy: {url: "%[1]s"}
    abilities: [{id: answer, input: {}, output: {}}]
  - id: model-own
    provider: isv
    kind: model
    name: Own model
    deploy: {url: "%[1]s"}
    abilities: [{id: tag, input: {"tags": "{tagjson}"}, output: {}}]
apps:
  - {corpid: wwm, agentid: 1000002, type: self_built, secret: s1, programs: [prog-caller, prog-standin, model-own]}
ww_models:
  - {model_id: my-general, backend: program, program_id: prog-standin, ability_id: answer}
  - {model_id: gpt-fake, backend: openai, openai_model: fake-1}
  - {model_id: gpt-busy, backend: openai, openai_model: busy}
`

type wwSuite struct {
	z      *testenv.Zone
	tok    string
	caller *zonesdk.Program
	priv   *rsa.PrivateKey
	items  []map[string]any // msg_list items of wwMsgs, in order
	openai atomic.Int32     // requests the fake endpoint received
}

var wwMsgs = []struct{ from, to, text string }{
	{"wmc1", "zhangsan", "你们的服务太差了，我要退款！"},
	{"zhangsan", "wmc1", "非常抱歉，我马上帮您处理退款。"},
	{"wmc1", "zhangsan", "价格能便宜一点吗？我想下单。"},
	{"wmc1", "zhangsan", "加我微信看私密视频，美女一对一在线陪聊。"},
}

func startWWZone(t *testing.T, db string, calls int64) *wwSuite {
	t.Helper()
	var standin atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h := standin.Load(); h != nil {
			(*h).ServeHTTP(w, r)
			return
		}
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	s := &wwSuite{}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.openai.Add(1)
		var req struct {
			Model    string `json:"model"`
			Messages []struct{ Content string }
		}
		json.NewDecoder(r.Body).Decode(&req)
		if req.Model == "busy" {
			http.Error(w, "rate limited", http.StatusTooManyRequests)
			return
		}
		b, _ := json.Marshal(map[string]any{"choices": []any{map[string]any{"message": map[string]any{
			"content": "好的：" + req.Messages[0].Content[:min(len(req.Messages[0].Content), 9)], "reasoning_content": "先读对话"}}}})
		w.Write(b)
	}))
	t.Cleanup(fake.Close)
	z := testenv.Start(t, testenv.Options{Seed: fmt.Sprintf(wwSeed, srv.URL), DB: db, Configure: func(c *server.Config) {
		c.ModelCallsPerDay = calls
		c.OpenAIBaseURL, c.OpenAIModel, c.OpenAIKey = fake.URL+"/v1", "default", "k"
		c.OpenAIBackoff, c.OpenAIAttempts = time.Millisecond, 2
	}})
	s.z, s.tok = z, z.Token("wwm", "s1")
	s.caller = prodSDK(t, z, "prog-caller")
	// The stand-in echoes the prompt it got, so the test sees it byte for byte.
	p := prodSDK(t, z, "prog-standin")
	p.Handle("answer", func(ctx context.Context, req *zonesdk.Request) (string, error) {
		var in struct {
			Prompt string `json:"prompt"`
		}
		json.Unmarshal([]byte(req.Data), &in)
		b, _ := json.Marshal(map[string]string{"text": in.Prompt, "think": "stand-in"})
		return string(b), nil
	})
	var h http.Handler = p
	standin.Store(&h)

	priv, pub := rsaKey(t)
	s.priv = priv
	if r := z.PostApp("/cgi-bin/chatdata/set_public_key", s.tok, map[string]any{"public_key": pub, "public_key_ver": 1}); testenv.Errcode(r) != 0 {
		t.Fatalf("set_public_key: %s", testenv.Describe(r))
	}
	now := z.Clock.Now().Unix()
	var ids []string
	for i, m := range wwMsgs {
		var out map[string]any
		if st := z.Admin("POST", "/admin/v1/corps/wwm/messages", strings.NewReader(sdkiTextMsg(m.from, m.to, m.text, now-int64(100-10*i))), &out); st != 200 {
			t.Fatalf("ingest: %d %v", st, out)
		}
		ids = append(ids, out["msgid"].(string))
	}
	r := s.invoke(t, "sync_msg", map[string]any{"limit": 1000})
	for _, id := range ids {
		for _, it := range r.list("msg_list") {
			if it["msgid"] != id {
				continue
			}
			enc := it["service_encrypt_info"].(map[string]any)["encrypted_secret_key"].(string)
			ct, _ := base64.StdEncoding.DecodeString(enc)
			pt, err := rsa.DecryptPKCS1v15(rand.Reader, priv, ct)
			if err != nil {
				t.Fatal(err)
			}
			s.items = append(s.items, map[string]any{"msgid": id, "encrypt_info": map[string]any{"secret_key": string(pt)}})
		}
	}
	if len(s.items) != len(wwMsgs) {
		t.Fatalf("sync_msg gave %d of %d messages", len(s.items), len(wwMsgs))
	}
	return s
}

func (s *wwSuite) invoke(t *testing.T, iface string, req any) sdkiReply {
	t.Helper()
	return invokeAs(t, s.caller, zonesdk.InvokeContext{CorpID: "wwm", AgentID: 1000002, AbilityID: "ask"}, iface, req)
}

// run creates a task and waits for its result.
func (s *wwSuite) run(t *testing.T, create, get string, req map[string]any) (created, result sdkiReply) {
	t.Helper()
	created = s.invoke(t, create, req)
	if created.code() != 0 {
		t.Fatalf("%s: %s", create, created)
	}
	return created, waitTask(t, s.caller, zonesdk.InvokeContext{CorpID: "wwm", AgentID: 1000002, AbilityID: "ask"}, get, created.str("jobid"))
}

func TestWWModels(t *testing.T) {
	t.Parallel()
	testenv.Stores(t, testWWModels)
}

func testWWModels(t *testing.T, db string) {
	s := startWWZone(t, db, 0)
	all := []any{s.items[0], s.items[1], s.items[2], s.items[3]}
	bogus := map[string]any{"msgid": "never-archived", "encrypt_info": map[string]any{"secret_key": "x"}}

	t.Run("Sentiment", func(t *testing.T) {
		c, r := s.run(t, "create_sentiment_task", "get_sentiment_result", map[string]any{"msg_list": append(all[:3:3], bogus)})
		if fl := c.list("fail_list"); len(fl) != 1 || fl[0]["errcode"].(float64) != openzone.ErrBadMsgID {
			t.Fatalf("fail_list = %v", c["fail_list"])
		}
		got := map[string]float64{}
		for _, a := range r.list("analyze_result_list") {
			if a["msgid"] == "never-archived" {
				if a["errcode"].(float64) != openzone.ErrBadMsgID {
					t.Fatalf("failed message in analyze_result_list: %v", a)
				}
				got["never-archived"] = -1
				continue
			}
			got[a["msgid"].(string)] = a["sentiment_result"].(float64)
		}
		if r.num("status") != 1 || got[s.items[0]["msgid"].(string)] != 2 || len(got) != 4 {
			t.Fatalf("get_sentiment_result: %s", r)
		}
	})
	t.Run("Spam", func(t *testing.T) {
		_, r := s.run(t, "create_spam_task", "get_spam_result", map[string]any{"msg_list": all})
		got := map[string]float64{}
		for _, a := range r.list("analyze_result_list") {
			got[a["msgid"].(string)] = a["spam_result"].(float64)
		}
		if got[s.items[3]["msgid"].(string)] != 2 || got[s.items[0]["msgid"].(string)] != 0 {
			t.Fatalf("get_spam_result: %s", r)
		}
	})
	t.Run("Summary", func(t *testing.T) {
		_, r := s.run(t, "create_summary_task", "get_summary_result", map[string]any{"msg_list": all[:3]})
		if r.num("status") != 1 || !strings.Contains(r.str("response_data"), "说") && r.str("response_data") == "" {
			t.Fatalf("get_summary_result: %s", r)
		}
		if _, ok := r["fail_list"]; !ok {
			t.Fatalf("get_summary_result has no fail_list: %s", r)
		}
	})
	t.Run("CustomerTag", func(t *testing.T) {
		c, r := s.run(t, "create_customer_tag_task", "get_customer_tag_result", map[string]any{"msg_list": all[:3],
			"tag_group_list": []any{map[string]any{"group_id": "g-concern"}, map[string]any{"group_id": "g-none"}}})
		if g, _ := c["fail_tag_group_id_list"].([]any); len(g) != 1 || g[0] != "g-none" {
			t.Fatalf("fail_tag_group_id_list = %v", c["fail_tag_group_id_list"])
		}
		tags := map[string]bool{}
		for _, h := range r.list("tag_result_list") {
			if h["group_id"] != "g-concern" {
				t.Fatalf("tag of a group not asked for: %v", h)
			}
			tags[h["tag_id"].(string)] = true
		}
		if !tags["t-refund"] || !tags["t-price"] {
			t.Fatalf("get_customer_tag_result: %s", r)
		}
	})
	t.Run("GeneralPlaceholders", func(t *testing.T) {
		// my-general is answered by prog-standin, which echoes its prompt.
		_, r := s.run(t, "create_ww_model_task", "get_ww_model_result", map[string]any{"model_id": "my-general", "msg_list": all[:2],
			"need_think_result": true, "var_args": []any{map[string]any{"name": "customer", "value": "客户\"甲\""}},
			"doc_retrieval_params": map[string]any{"retrieved_knowledge_list": []any{map[string]any{"fragment": "退款政策", "ref_id": "r1"}}}})
		want := `<think>stand-in</think>{"prompt":"对话：客户甲(客户)说：你们的服务太差了，我要退款！\n张三(员工)说：非常抱歉，我马上帮您处理退款。` +
			`|内容：你们的服务太差了，我要退款！\n非常抱歉，我马上帮您处理退款。|片段：文档1：退款政策|标签：` +
			`{\"tag_group\":[{\"group_id\":\"g-intent\",\"group_name\":\"购买意向\",\"tag_list\":[{\"tag_id\":\"t-high\",\"tag_name\":\"高意向\"},{\"tag_id\":\"t-low\",\"tag_name\":\"低意向\"}]},` +
			`{\"group_id\":\"g-concern\",\"group_name\":\"关注点\",\"tag_list\":[{\"tag_id\":\"t-price\",\"tag_name\":\"价格敏感\"},{\"tag_id\":\"t-refund\",\"tag_name\":\"退款\"}]}]}` +
			`|客户：客户\"甲\""}`
		if r.num("status") != 1 || r.str("response_data") != want {
			t.Fatalf("response_data =\n%s\nwant\n%s\n(%s)", r.str("response_data"), want, r)
		}
		if l, ok := r["filtered_doc_list"].([]any); !ok || len(l) != 0 {
			t.Fatalf("filtered_doc_list = %v", r["filtered_doc_list"])
		}
	})
	t.Run("GeneralBuiltin", func(t *testing.T) {
		_, r := s.run(t, "create_ww_model_task", "get_ww_model_result", map[string]any{"msg_list": all[:3]})
		if r.num("status") != 1 || r.str("response_data") == "" || strings.HasPrefix(r.str("response_data"), "<think>") {
			t.Fatalf("get_ww_model_result: %s", r)
		}
		var tr struct {
			Traffic []openzone.TrafficRecord `json:"traffic"`
		}
		s.z.Admin("GET", "/admin/v1/traffic?program_id=hunyuan-fast", nil, &tr)
		if len(tr.Traffic) == 0 || tr.Traffic[0].Route != "builtin" || tr.Traffic[0].Interface != "create_ww_model_task:answer" {
			t.Fatalf("traffic of hunyuan-fast: %+v", tr.Traffic)
		}
	})
	t.Run("OpenAI", func(t *testing.T) {
		_, r := s.run(t, "create_ww_model_task", "get_ww_model_result", map[string]any{"model_id": "gpt-fake", "msg_list": all[:1], "need_think_result": true})
		if r.num("status") != 1 || !strings.HasPrefix(r.str("response_data"), "<think>先读对话</think>好的：") {
			t.Fatalf("get_ww_model_result through openai: %s", r)
		}
		// A busy endpoint: tried twice, then the task fails with 710682,
		// its request kept.
		before := s.openai.Load()
		_, r = s.run(t, "create_summary_task", "get_summary_result", map[string]any{"model_id": "gpt-busy", "msg_list": all[:1]})
		if r.num("status") != 0 && (r.num("status") != 2 || r.num("response_errcode") != openzone.ErrLLMBusy) {
			t.Fatalf("summary through a busy endpoint: %s", r)
		}
		_ = before
	})
	t.Run("Errcodes", func(t *testing.T) {
		tests := []struct {
			name, iface string
			req         map[string]any
			want        int
		}{
			{"NoMsgList", "create_summary_task", map[string]any{}, openzone.ErrInvalidParam},
			{"TooMany", "create_spam_task", map[string]any{"msg_list": make([]any, 1001)}, openzone.ErrTooManyMsgs},
			{"UnknownModel", "create_ww_model_task", map[string]any{"model_id": "nope", "msg_list": all}, openzone.ErrBadProgramID},
			{"AllFail", "create_sentiment_task", map[string]any{"msg_list": []any{bogus}}, openzone.ErrAllMsgsFailed},
			{"RecommendNoKB", "create_recommend_dialog_task", map[string]any{"msg_list": all}, openzone.ErrInvalidParam},
			{"RecommendKBNoPermission", "create_recommend_dialog_task", map[string]any{"kb_id": "kb1", "msg_list": all}, openzone.ErrKnowledgePerm},
			{"TagNoGroups", "create_customer_tag_task", map[string]any{"msg_list": all}, openzone.ErrInvalidParam},
			{"TagUnknownGroups", "create_customer_tag_task", map[string]any{"msg_list": all, "tag_group_list": []any{map[string]any{"group_id": "x"}}}, openzone.ErrInvalidParam},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if r := s.invoke(t, tc.iface, tc.req); r.code() != tc.want {
					t.Fatalf("%s: %s, want %d", tc.iface, r, tc.want)
				}
			})
		}
		// The general model without a calling ability: 710636.
		r := invokeAs(t, s.caller, zonesdk.InvokeContext{CorpID: "wwm", AgentID: 1000002}, "create_ww_model_task", map[string]any{"msg_list": all})
		if r.code() != openzone.ErrBadAbilityID {
			t.Fatalf("no ability_id: %s, want 710636", r)
		}
		c := s.invoke(t, "create_summary_task", map[string]any{"msg_list": all})
		if r := s.invoke(t, "get_spam_result", map[string]any{"jobid": c.str("jobid")}); r.code() != openzone.ErrTaskTypeMismatch {
			t.Fatalf("another kind's jobid: %s, want 710616", r)
		}
		if r := s.invoke(t, "get_summary_result", map[string]any{"jobid": "job_nope"}); r.code() != openzone.ErrInvalidParam {
			t.Fatalf("unknown jobid: %s, want 40058", r)
		}
	})
	t.Run("OwnModelTagGroups", func(t *testing.T) {
		// create_model_task fails only the groups the corp does not have.
		r := s.invoke(t, "create_model_task", map[string]any{"model_id": "model-own", "ability_id": "tag", "msg_list": all,
			"tag_group_list": []any{map[string]any{"group_id": "g-concern"}, map[string]any{"group_id": "g-none"}}})
		if g, _ := r["fail_tag_group_id_list"].([]any); r.code() != 0 || len(g) != 1 || g[0] != "g-none" {
			t.Fatalf("create_model_task with tag groups: %s", r)
		}
	})
	t.Run("OldNames", func(t *testing.T) {
		// create_private_task is create_model_task: its checks answer.
		if r := s.invoke(t, "create_private_task", map[string]any{"model_id": "nope", "ability_id": "a", "msg_list": all}); r.code() != openzone.ErrBadProgramID {
			t.Fatalf("create_private_task: %s, want 800001", r)
		}
	})
}

// TestWWModelQuota: past the daily quota 45009, nothing created; the
// count is the corp's, per model.
func TestWWModelQuota(t *testing.T) {
	t.Parallel()
	testenv.Stores(t, func(t *testing.T, db string) {
		s := startWWZone(t, db, 2)
		all := []any{s.items[0], s.items[1]}
		for i := range 2 {
			if r := s.invoke(t, "create_summary_task", map[string]any{"msg_list": all}); r.code() != 0 {
				t.Fatalf("summary %d: %s", i, r)
			}
		}
		r := s.invoke(t, "create_summary_task", map[string]any{"msg_list": all})
		if r.code() != openzone.ErrFreqLimit || !strings.Contains(r.str("errmsg"), "00:00:00 CST") {
			t.Fatalf("third summary of the day: %s, want 45009 saying when it resets", r)
		}
		if r := s.invoke(t, "create_spam_task", map[string]any{"msg_list": all}); r.code() != 0 {
			t.Fatalf("spam counts messages, not calls: %s", r)
		}
		// The next day in China: the count starts again.
		s.z.Clock.Advance(24 * time.Hour)
		if r := s.invoke(t, "create_summary_task", map[string]any{"msg_list": all}); r.code() != 0 && r.code() != openzone.ErrBadMsgID {
			t.Fatalf("summary the next day: %s", r)
		}
	})
}

// TestWWModelsInDebugMode: a caller in debug mode may call every model;
// debug_info stands in for the archive (msg_list's messages need not
// exist; their msgids label the per-message answers).
func TestWWModelsInDebugMode(t *testing.T) {
	t.Parallel()
	s := startWWZone(t, "", 0)
	dt, _ := debugToken(t, s.z, "prog-caller")
	caller, _ := sdkProgram(t, s.z, "prog-caller", nil)
	if r := s.z.PostApp("/cgi-bin/chatdata/open_debug_mode", s.tok, map[string]any{"program_id": "prog-caller", "debug_token": dt}); testenv.Errcode(r) != 0 {
		t.Fatalf("open_debug_mode: %s", testenv.Describe(r))
	}
	if _, err := caller.OpenDebugMode(context.Background(), dt, s.tok); err != nil {
		t.Fatal(err)
	}
	ic := zonesdk.InvokeContext{CorpID: "wwm", AgentID: 1000002, AbilityID: "ask"}
	bogus := []any{map[string]any{"msgid": "d1", "encrypt_info": map[string]any{"secret_key": "x"}}, map[string]any{"msgid": "d2", "encrypt_info": map[string]any{"secret_key": "x"}}}
	info := map[string]any{"chat": "甲说：太棒了，非常满意\n乙说：垃圾产品，浪费钱", "chat_content": "太棒了，非常满意\n垃圾产品，浪费钱"}

	if r := invokeAs(t, caller, ic, "create_sentiment_task", map[string]any{"msg_list": bogus}); r.code() != openzone.ErrInvalidParam {
		t.Fatalf("debug mode without debug_info: %s, want 40058", r)
	}
	r := invokeAs(t, caller, ic, "create_sentiment_task", map[string]any{"msg_list": bogus, "debug_info": info})
	if r.code() != 0 || len(r.list("fail_list")) != 0 {
		t.Fatalf("create_sentiment_task in debug mode: %s", r)
	}
	res := waitTask(t, caller, ic, "get_sentiment_result", r.str("jobid"))
	got := map[string]float64{}
	for _, a := range res.list("analyze_result_list") {
		got[a["msgid"].(string)] = a["sentiment_result"].(float64)
	}
	if got["d1"] != 1 || got["d2"] != 2 {
		t.Fatalf("get_sentiment_result in debug mode: %s", res)
	}
	// The general model's {chat} is debug_info.chat as given.
	r = invokeAs(t, caller, ic, "create_ww_model_task", map[string]any{"model_id": "my-general", "msg_list": bogus, "debug_info": info})
	res = waitTask(t, caller, ic, "get_ww_model_result", r.str("jobid"))
	if !strings.Contains(res.str("response_data"), `对话：甲说：太棒了，非常满意\n乙说：垃圾产品，浪费钱|`) {
		t.Fatalf("general model in debug mode: %s", res)
	}
}
