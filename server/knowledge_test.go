package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/docparse/doctest"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonesdk"
)

// kbSeed: prog-kb, never deployed, is the program the test invokes as in
// process; model-kb (the example model, which answers with its input
// verbatim) expands {knowledge}. App 1000002 holds the knowledge-set
// permission, 1000003 does not, 1000004 is another app that does.
const kbSeed = `
providers: [{id: isv, name: ISV}]
corps:
  - corpid: wwkb
    name: KB Corp
    members: [{userid: zhangsan, name: 张三}]
    external_contacts: [{external_userid: wmc1, name: 客户甲}]
programs:
  - {id: prog-kb, provider: isv, name: KB user, abilities: [{id: run, input: {}, output: {}}]}
  - id: model-kb
    provider: isv
    kind: model
    name: KB model
    deploy: {command: ["{{BIN:github.com/openzone/openzone/examples/zonemodel}}"]}
    abilities:
      - id: summarize
        input: {"kb": "{knowledge}", "q": "{chatcontent}"}
        output: {"summary": "", "messages": 0, "speakers": [""], "keywords": [""], "input": ""}
apps:
  - {corpid: wwkb, agentid: 1000002, type: self_built, secret: s2, knowledge_permission: true, programs: [prog-kb, model-kb]}
  - {corpid: wwkb, agentid: 1000003, type: self_built, secret: s3, programs: [prog-kb]}
  - {corpid: wwkb, agentid: 1000004, type: self_built, secret: s4, knowledge_permission: true, programs: [prog-kb]}
`

type kbSuite struct {
	z    *testenv.Zone
	prog *zonesdk.Program
	tok  map[int64]string
	web  *httptest.Server
}

func startKBZone(t *testing.T, db string) *kbSuite {
	t.Helper()
	z := testenv.Start(t, testenv.Options{Seed: kbSeed, DB: db, RetryBackoff: func(int) time.Duration { return 50 * time.Millisecond }})
	s := &kbSuite{z: z, prog: prodSDK(t, z, "prog-kb"), tok: map[int64]string{}}
	for agent, secret := range map[int64]string{1000002: "s2", 1000003: "s3", 1000004: "s4"} {
		s.tok[agent] = z.Token("wwkb", secret)
		// Events go to prog-kb; it is not deployed, so they stay pending
		// where the test reads them.
		if r := z.PostApp("/cgi-bin/chatdata/set_receive_callback", s.tok[agent], map[string]any{"program_id": "prog-kb"}); testenv.Errcode(r) != 0 {
			t.Fatalf("set_receive_callback: %s", testenv.Describe(r))
		}
	}
	s.web = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/shipping":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<html><head><title>配送</title><script>ignored()</script></head><body><h1>配送说明</h1>
<p>全国包邮，下单后三天内送达。</p><p>Orders ship within three days.</p></body></html>`)
		case "/away":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.web.Close)
	return s
}

// sdk invokes a knowledge interface as prog-kb for app agent.
func (s *kbSuite) sdk(t *testing.T, agent int64, iface string, req any) sdkiReply {
	t.Helper()
	return invokeAs(t, s.prog, zonesdk.InvokeContext{CorpID: "wwkb", AgentID: agent}, iface, req)
}

// upload posts data to upload_media as app agent, with query extra.
func (s *kbSuite) upload(t *testing.T, agent int64, query, part, name string, data []byte) map[string]any {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile(part, name)
	fw.Write(data)
	mw.Close()
	resp, err := http.Post(s.z.URL+"/cgi-bin/chatdata/upload_media?access_token="+url.QueryEscape(s.tok[agent])+query, mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 {
		t.Fatalf("upload_media: HTTP %d", resp.StatusCode)
	}
	return out
}

func (s *kbSuite) media(t *testing.T, agent int64, name string, data []byte) string {
	t.Helper()
	r := s.upload(t, agent, "&type=file", "media", name, data)
	id, _ := r["media_id"].(string)
	// created_at is a string of unix seconds, as WeCom's.
	created, _ := r["created_at"].(string)
	if sec, err := strconv.ParseInt(created, 10, 64); testenv.Errcode(r) != 0 || id == "" || r["type"] != "file" || err != nil || time.Since(time.Unix(sec, 0)).Abs() > time.Hour {
		t.Fatalf("upload_media %s: %s", name, testenv.Describe(r))
	}
	return id
}

// learned waits until no document of the set is being learned and returns
// its detail.
func (s *kbSuite) learned(t *testing.T, agent int64, kbID string) sdkiReply {
	t.Helper()
	var d sdkiReply
	testenv.Eventually(t, "the documents of "+kbID+" to be learned", func() bool {
		d = s.sdk(t, agent, "knowledge_base_detail", map[string]any{"kb_id": kbID})
		if d.code() != 0 {
			t.Fatalf("knowledge_base_detail: %s", d)
		}
		for _, doc := range d.list("doc_list") {
			if doc["status"] == float64(openzone.DocAdding) {
				return false
			}
		}
		return true
	})
	return d
}

// events returns the knowledge events prog-kb was sent, by type.
func (s *kbSuite) events(t *testing.T) map[string][]map[string]any {
	t.Helper()
	evs, err := s.z.Store().EventList(context.Background(), "prog-kb", 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]map[string]any{}
	for _, e := range evs {
		var data map[string]any
		json.Unmarshal(e.Data, &data)
		body, _ := data[e.Type].(map[string]any)
		body["agentid"] = e.AgentID
		out[e.Type] = append(out[e.Type], body)
	}
	return out
}

func TestKnowledgeBase(t *testing.T) {
	t.Parallel()
	testenv.Stores(t, testKnowledgeBase)
}

func testKnowledgeBase(t *testing.T, db string) {
	s := startKBZone(t, db)
	pdf := doctest.PDF(t, doctest.ChinesePage("退换货政策",
		"退换货政策：商品签收后七天内可以无理由退货，运费由买家承担。",
		"Refunds are paid to the original card within five working days.",
		"保修期为一年，人为损坏不在保修范围内。"))
	docx := doctest.DOCX(t, "会员积分规则", "每消费一元积一分，积分一年后过期。", "Points can pay for up to half an order.")
	xlsx := doctest.XLSX(t, [][]string{{"问题", "回答"}, {"发票怎么开？", "在订单页申请电子发票。"}, {"Can I change my address?", "Yes, before the parcel ships."}})

	var setID string
	t.Run("CreateAndLearn", func(t *testing.T) {
		r := s.sdk(t, 1000002, "knowledge_base_create", map[string]any{"kb_name": "售后知识", "doc_list": []map[string]any{
			{"doc_name": "退换货政策.pdf", "type": 2, "file_media_id": s.media(t, 1000002, "p.pdf", pdf)},
			{"doc_name": "积分规则.docx", "type": 6, "file_media_id": s.media(t, 1000002, "r.docx", docx)},
			{"doc_name": "常见问题", "type": 4, "file_media_id": s.media(t, 1000002, "qa.xlsx", xlsx)},
			{"doc_name": "配送说明", "type": 101, "web_url": s.web.URL + "/shipping"},
		}})
		setID = r.str("kb_id")
		docs := r.list("doc_list")
		if r.code() != 0 || setID == "" || len(docs) != 4 || docs[3]["docid"] == "" || docs[3]["web_url"] == "" {
			t.Fatalf("knowledge_base_create: %s", r)
		}
		d := s.learned(t, 1000002, setID)
		if d.str("kb_name") != "售后知识" {
			t.Fatalf("detail: %s", d)
		}
		for _, doc := range d.list("doc_list") {
			if doc["status"] != float64(openzone.DocOK) {
				t.Fatalf("document %v not learned: %s", doc["doc_name"], d)
			}
		}
		for _, old := range []string{"knowledge_base_list", "document_list"} {
			l := s.sdk(t, 1000002, old, map[string]any{})
			if l.code() != 0 || len(l.list("kb_info_list")) != 1 || l.list("kb_info_list")[0]["kb_name"] != "售后知识" {
				t.Fatalf("%s: %s", old, l)
			}
		}
		testenv.Eventually(t, "four knowledge_base_learn_done events", func() bool {
			evs := s.events(t)["knowledge_base_learn_done"]
			return len(evs) == 4 && evs[0]["knowledge_base_id"] == setID && evs[0]["learn_status"] == float64(0)
		})
	})

	t.Run("QueryEachType", func(t *testing.T) {
		for _, tc := range []struct{ query, want string }{
			{"七天无理由退货怎么办", "商品签收后七天内可以无理由退货"},
			{"refund card working days", "Refunds are paid to the original card"},
			{"积分什么时候过期", "积分一年后过期"},
			{"怎么开发票", "问题：发票怎么开？，回答：在订单页申请电子发票。"},
			{"change address", "问题：Can I change my address?，回答：Yes, before the parcel ships."},
			{"几天送达", "下单后三天内送达"},
		} {
			var out struct {
				Hits []struct {
					Text    string   `json:"text"`
					DocName string   `json:"doc_name"`
					Terms   []string `json:"terms"`
				} `json:"hits"`
				Knowledge string `json:"knowledge"`
			}
			body, _ := json.Marshal(map[string]any{"text": tc.query, "agentid": 1000002})
			if st := s.z.Admin("POST", "/admin/v1/corps/wwkb/knowledge_bases/"+setID+"/query", bytes.NewReader(body), &out); st != 200 || len(out.Hits) == 0 {
				t.Fatalf("query %q: HTTP %d %+v", tc.query, st, out)
			}
			if !strings.Contains(out.Hits[0].Text, tc.want) || len(out.Hits[0].Terms) == 0 || !strings.HasPrefix(out.Knowledge, "文档1：") {
				t.Fatalf("query %q: best hit %+v, want it to hold %q", tc.query, out.Hits[0], tc.want)
			}
		}
	})

	t.Run("Errcodes", func(t *testing.T) {
		mine := s.media(t, 1000002, "x.docx", docx)
		theirs := s.media(t, 1000004, "y.docx", docx)
		doc := func(m map[string]any) []map[string]any {
			d := map[string]any{"doc_name": "文档", "type": 6, "file_media_id": mine}
			for k, v := range m {
				d[k] = v
			}
			return []map[string]any{d}
		}
		tests := []struct {
			name  string
			agent int64
			iface string
			req   map[string]any
			want  int
		}{
			{"NoPermission", 1000003, "knowledge_base_list", map[string]any{}, openzone.ErrKnowledgePerm},
			{"NoPermissionCreate", 1000003, "knowledge_base_create", map[string]any{"kb_name": "x", "doc_list": doc(nil)}, openzone.ErrKnowledgePerm},
			{"NameMissing", 1000002, "knowledge_base_create", map[string]any{"doc_list": doc(nil)}, openzone.ErrInvalidParam},
			{"NameTooLong", 1000002, "knowledge_base_create", map[string]any{"kb_name": strings.Repeat("名", 21), "doc_list": doc(nil)}, openzone.ErrInvalidParam},
			{"NameInvisible", 1000002, "knowledge_base_create", map[string]any{"kb_name": "售后\u200b知识", "doc_list": doc(nil)}, openzone.ErrKBInvisibleChars},
			{"NoDocs", 1000002, "knowledge_base_create", map[string]any{"kb_name": "x"}, openzone.ErrInvalidParam},
			{"DocNameTooLong", 1000002, "knowledge_base_create", map[string]any{"kb_name": "x", "doc_list": doc(map[string]any{"doc_name": strings.Repeat("文", 67)})}, openzone.ErrKBBadDocName},
			{"DocNameEmpty", 1000002, "knowledge_base_create", map[string]any{"kb_name": "x", "doc_list": doc(map[string]any{"doc_name": ""})}, openzone.ErrKBBadDocName},
			{"DocNameInvisible", 1000002, "knowledge_base_create", map[string]any{"kb_name": "x", "doc_list": doc(map[string]any{"doc_name": "a\u202eb"})}, openzone.ErrKBInvisibleChars},
			{"LegacyDoc", 1000002, "knowledge_base_create", map[string]any{"kb_name": "x", "doc_list": doc(map[string]any{"type": 5})}, openzone.ErrInvalidParam},
			{"UnknownType", 1000002, "knowledge_base_create", map[string]any{"kb_name": "x", "doc_list": doc(map[string]any{"type": 3})}, openzone.ErrInvalidParam},
			{"MediaMissing", 1000002, "knowledge_base_create", map[string]any{"kb_name": "x", "doc_list": doc(map[string]any{"file_media_id": ""})}, openzone.ErrInvalidParam},
			{"MediaUnknown", 1000002, "knowledge_base_create", map[string]any{"kb_name": "x", "doc_list": doc(map[string]any{"file_media_id": "ozm_nope"})}, openzone.ErrBadMediaID},
			{"MediaOtherApp", 1000002, "knowledge_base_create", map[string]any{"kb_name": "x", "doc_list": doc(map[string]any{"file_media_id": theirs})}, openzone.ErrBadMediaID},
			{"BadWebURL", 1000002, "knowledge_base_create", map[string]any{"kb_name": "x", "doc_list": doc(map[string]any{"type": 101, "file_media_id": "", "web_url": "ftp://x/y"})}, openzone.ErrKBBadWebURL},
			{"DupWebURLInCall", 1000002, "knowledge_base_create", map[string]any{"kb_name": "x", "doc_list": []map[string]any{
				{"doc_name": "a", "type": 101, "web_url": "https://example.com/a"}, {"doc_name": "b", "type": 101, "web_url": "https://example.com/a"}}}, openzone.ErrKBDupWebURL},
			{"DupWebURLInSet", 1000002, "knowledge_base_add_doc", map[string]any{"kb_id": setID, "doc_list": []map[string]any{
				{"doc_name": "again", "type": 101, "web_url": s.web.URL + "/shipping"}}}, openzone.ErrKBDupWebURL},
			{"WrongTypes", 1000002, "knowledge_base_create", map[string]any{"kb_name": 7}, openzone.ErrInvalidParam},
			{"DetailUnknown", 1000002, "knowledge_base_detail", map[string]any{"kb_id": "ozkb_nope"}, openzone.ErrBadKnowledgeBase},
			{"DetailMissingID", 1000002, "knowledge_base_detail", map[string]any{}, openzone.ErrInvalidParam},
			{"DetailOtherApp", 1000004, "knowledge_base_detail", map[string]any{"kb_id": setID}, openzone.ErrKBOtherApp},
			{"AddOtherApp", 1000004, "knowledge_base_add_doc", map[string]any{"kb_id": setID, "doc_list": doc(map[string]any{"file_media_id": theirs})}, openzone.ErrKBOtherApp},
			{"RenameOtherApp", 1000004, "knowledge_base_modify_name", map[string]any{"kb_id": setID, "kb_name": "mine"}, openzone.ErrKBOtherApp},
			{"DeleteOtherApp", 1000004, "knowledge_base_delete", map[string]any{"kb_id": setID}, openzone.ErrKBOtherApp},
			{"RemoveNoIDs", 1000002, "knowledge_base_remove_doc", map[string]any{"kb_id": setID}, openzone.ErrInvalidParam},
			{"RemoveUnknownDoc", 1000002, "knowledge_base_remove_doc", map[string]any{"kb_id": setID, "docid_list": []string{"ozd_nope"}}, openzone.ErrInvalidParam},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				if r := s.sdk(t, tc.agent, tc.iface, tc.req); r.code() != tc.want {
					t.Fatalf("%s: %s, want errcode %d", tc.iface, r, tc.want)
				}
			})
		}
		// No half-made set came of the refusals.
		if l := s.sdk(t, 1000002, "knowledge_base_list", map[string]any{}); len(l.list("kb_info_list")) != 1 {
			t.Fatalf("after refused calls: %s", l)
		}
	})

	t.Run("UploadMediaErrcodes", func(t *testing.T) {
		tests := []struct {
			name, query, part string
			data              []byte
			want              int
		}{
			{"TypeMissing", "", "media", []byte("0123456789"), openzone.ErrBadMediaType},
			{"TypeImage", "&type=image", "media", []byte("0123456789"), openzone.ErrBadMediaType},
			{"NoMediaPart", "&type=file", "file", []byte("0123456789"), openzone.ErrMissingMedia},
			{"TooSmall", "&type=file", "media", []byte("12345"), openzone.ErrBadFileSize},
		}
		for _, tc := range tests {
			if r := s.upload(t, 1000002, tc.query, tc.part, "f", tc.data); testenv.Errcode(r) != tc.want {
				t.Errorf("%s: %s, want %d", tc.name, testenv.Describe(r), tc.want)
			}
		}
		resp, err := http.Post(s.z.URL+"/cgi-bin/chatdata/upload_media?type=file&access_token="+url.QueryEscape(s.tok[1000002]), "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if testenv.Errcode(out) != openzone.ErrMissingMedia {
			t.Fatalf("JSON body: %s", testenv.Describe(out))
		}
		// The file is sealed at rest: its bytes are nowhere in the row.
		id := s.media(t, 1000002, "secret.txt", []byte("a very secret file"))
		m, err := s.z.Store().MediaGet(context.Background(), id)
		if err != nil || bytes.Contains(m.Data, []byte("very secret")) {
			t.Fatalf("media row %v, %v: want it sealed", m, err)
		}
	})

	t.Run("CorruptPDFFailsAlone", func(t *testing.T) {
		r := s.sdk(t, 1000002, "knowledge_base_add_doc", map[string]any{"kb_id": setID, "doc_list": []map[string]any{
			{"doc_name": "坏的.pdf", "type": 2, "file_media_id": s.media(t, 1000002, "bad.pdf", pdf[:len(pdf)/3])},
			{"doc_name": "好的.docx", "type": 6, "file_media_id": s.media(t, 1000002, "good.docx", doctest.DOCX(t, "好文档：门店营业时间为早九点到晚九点。"))},
			{"doc_name": "跳走的页面", "type": 101, "web_url": s.web.URL + "/away"},
		}})
		if r.code() != 0 {
			t.Fatalf("knowledge_base_add_doc: %s", r)
		}
		d := s.learned(t, 1000002, setID)
		status := map[string]sdkiReply{}
		for _, doc := range d.list("doc_list") {
			status[doc["doc_name"].(string)] = doc
		}
		if st := status["坏的.pdf"]; st["status"] != float64(openzone.DocFailed) || !strings.Contains(st.str("fail_reason"), "PDF") {
			t.Fatalf("corrupt PDF: %s", d)
		}
		if st := status["跳走的页面"]; st["status"] != float64(openzone.DocFailed) || !strings.Contains(st.str("fail_reason"), "another host") {
			t.Fatalf("redirect to the metadata address: %s", d)
		}
		for _, name := range []string{"好的.docx", "退换货政策.pdf", "积分规则.docx", "常见问题", "配送说明"} {
			if status[name]["status"] != float64(openzone.DocOK) {
				t.Fatalf("%s not ok after a corrupt sibling: %s", name, d)
			}
		}
		// knowledge_base_learn_done follows a document's status (its job
		// raises it after storing the status): seven documents, two failed.
		testenv.Eventually(t, "seven learn_done events, two of them failures", func() bool {
			evs := s.events(t)["knowledge_base_learn_done"]
			failed := 0
			for _, e := range evs {
				if e["learn_status"] == float64(1) {
					failed++
				}
			}
			return len(evs) == 7 && failed == 2
		})
		// Removing everything but one document works; removing the last does not.
		var ids []string
		for _, doc := range d.list("doc_list") {
			ids = append(ids, doc["docid"].(string))
		}
		if r := s.sdk(t, 1000002, "knowledge_base_remove_doc", map[string]any{"kb_id": setID, "docid_list": ids}); r.code() != openzone.ErrKBRemoveAllDocs {
			t.Fatalf("remove every document: %s, want 790028", r)
		}
		if r := s.sdk(t, 1000002, "knowledge_base_remove_doc", map[string]any{"kb_id": setID, "docid_list": ids[4:]}); r.code() != 0 {
			t.Fatalf("remove three: %s", r)
		}
		if d := s.sdk(t, 1000002, "knowledge_base_detail", map[string]any{"kb_id": setID}); len(d.list("doc_list")) != 4 {
			t.Fatalf("after remove: %s", d)
		}
	})

	t.Run("KnowledgeInModelTask", func(t *testing.T) {
		// A set whose fragments the test knows: one docx paragraph, two Q&A rows.
		r := s.sdk(t, 1000002, "knowledge_base_create", map[string]any{"kb_name": "退货问答", "doc_list": []map[string]any{
			{"doc_name": "政策", "type": 6, "file_media_id": s.media(t, 1000002, "p.docx", doctest.DOCX(t, "退货政策：签收后七天内可以无理由退货。"))},
			{"doc_name": "问答", "type": 4, "file_media_id": s.media(t, 1000002, "qa.xlsx", doctest.XLSX(t, [][]string{
				{"问题", "回答"}, {"发票怎么开？", "在订单页申请电子发票。"}, {"多久可以退货？", "签收后七天内。"}}))},
		}})
		qaSet := r.str("kb_id")
		s.learned(t, 1000002, qaSet)
		item := s.chat(t, "请问多久可以退货")
		// Best first: the Q&A row holds the most of the chat's terms, the
		// policy fewer, the invoice row only 请 (of 申请).
		const want = `{"kb":"文档1：问题：多久可以退货？，回答：签收后七天内。\n文档2：退货政策：签收后七天内可以无理由退货。\n文档3：问题：发票怎么开？，回答：在订单页申请电子发票。","q":"请问多久可以退货"}`
		// service_kb_id is used when kb_id is empty, and ignored when it is set.
		for field, sets := range map[string]map[string]any{
			"kb_id":         {"kb_id": qaSet},
			"service_kb_id": {"service_kb_id": qaSet},
			"both":          {"kb_id": qaSet, "service_kb_id": "ozkb_nope"},
		} {
			req := map[string]any{"model_id": "model-kb", "ability_id": "summarize", "msg_list": []any{item}, "escape_type": 1}
			maps.Copy(req, sets)
			r := s.sdk(t, 1000002, "create_model_task", req)
			if r.code() != 0 {
				t.Fatalf("create_model_task with %s: %s", field, r)
			}
			res := waitTask(t, s.prog, zonesdk.InvokeContext{CorpID: "wwkb", AgentID: 1000002}, "get_model_task_result", r.str("jobid"))
			var out struct {
				Input string `json:"input"`
			}
			json.Unmarshal([]byte(res.str("response_data")), &out)
			if out.Input != want {
				t.Fatalf("%s: the model got\n%s\nwant\n%s", field, out.Input, want)
			}
		}
		r = s.sdk(t, 1000002, "create_model_task", map[string]any{"model_id": "model-kb", "ability_id": "summarize",
			"msg_list": []any{item}, "kb_id": "ozkb_nope"})
		if r.code() != openzone.ErrBadKnowledgeBase {
			t.Fatalf("unknown kb_id: %s, want 800000", r)
		}
	})

	t.Run("CorpSetsAndGrants", func(t *testing.T) {
		var created struct {
			KBID string `json:"kb_id"`
		}
		body := `{"kb_name":"企业公共知识","doc_list":[{"doc_name":"配送","type":101,"web_url":"` + s.web.URL + `/shipping"}]}`
		if st := s.z.Admin("POST", "/admin/v1/corps/wwkb/knowledge_bases", strings.NewReader(body), &created); st != 200 || created.KBID == "" {
			t.Fatalf("admin create: HTTP %d %+v", st, created)
		}
		// Not granted yet: apps do not see it.
		if r := s.sdk(t, 1000002, "knowledge_base_detail", map[string]any{"kb_id": created.KBID}); r.code() != openzone.ErrKBOtherApp {
			t.Fatalf("before the grant: %s", r)
		}
		grant := func(method string, agent int64) {
			t.Helper()
			var out map[string]any
			if st := s.z.Admin(method, fmt.Sprintf("/admin/v1/corps/wwkb/apps/%d/knowledge_bases/%s", agent, created.KBID), nil, &out); st != 200 {
				t.Fatalf("%s grant: HTTP %d %v", method, st, out)
			}
		}
		grant("PUT", 1000002)
		grant("PUT", 1000002) // again: no second event
		if l := s.sdk(t, 1000002, "knowledge_base_list", map[string]any{}); len(l.list("kb_info_list")) != 3 {
			t.Fatalf("granted app's list: %s", l)
		}
		if l := s.sdk(t, 1000004, "knowledge_base_list", map[string]any{}); len(l.list("kb_info_list")) != 0 {
			t.Fatalf("other app's list: %s", l)
		}
		// A granted set is read, not changed.
		if r := s.sdk(t, 1000002, "knowledge_base_modify_name", map[string]any{"kb_id": created.KBID, "kb_name": "改名"}); r.code() != openzone.ErrKBOtherApp {
			t.Fatalf("rename a granted set: %s", r)
		}
		grant("DELETE", 1000002)
		grant("PUT", 1000002)
		var out map[string]any
		if st := s.z.Admin("DELETE", "/admin/v1/corps/wwkb/knowledge_bases/"+created.KBID, nil, &out); st != 200 {
			t.Fatalf("admin delete: HTTP %d %v", st, out)
		}
		if r := s.sdk(t, 1000002, "knowledge_base_detail", map[string]any{"kb_id": created.KBID}); r.code() != openzone.ErrKBDeleted {
			t.Fatalf("after delete: %s, want 790034", r)
		}
		evs := s.events(t)
		if len(evs["auth_knowledge_base"]) != 2 || len(evs["unauth_knowledge_base"]) != 1 || len(evs["delete_knowledge_base"]) != 1 {
			t.Fatalf("events: %v", evs)
		}
		if e := evs["delete_knowledge_base"][0]; e["knowledge_base_id"] != created.KBID || e["knowledge_base_name"] != "企业公共知识" || e["agentid"] != int64(1000002) {
			t.Fatalf("delete event: %v", e)
		}
		// An app's own set: granted to nobody.
		if st := s.z.Admin("PUT", "/admin/v1/corps/wwkb/apps/1000004/knowledge_bases/"+setID, nil, &out); st != 400 {
			t.Fatalf("grant an app's set: HTTP %d %v", st, out)
		}
	})

	t.Run("RenameAndDelete", func(t *testing.T) {
		if r := s.sdk(t, 1000002, "knowledge_base_modify_name", map[string]any{"kb_id": setID, "kb_name": "售后知识库"}); r.code() != 0 {
			t.Fatalf("modify_name: %s", r)
		}
		if d := s.sdk(t, 1000002, "knowledge_base_detail", map[string]any{"kb_id": setID}); d.str("kb_name") != "售后知识库" {
			t.Fatalf("after rename: %s", d)
		}
		if r := s.sdk(t, 1000002, "knowledge_base_delete", map[string]any{"kb_id": setID}); r.code() != 0 {
			t.Fatalf("delete: %s", r)
		}
		for _, iface := range []string{"knowledge_base_detail", "knowledge_base_delete", "knowledge_base_modify_name"} {
			if r := s.sdk(t, 1000002, iface, map[string]any{"kb_id": setID, "kb_name": "x"}); r.code() != openzone.ErrKBDeleted {
				t.Fatalf("%s after delete: %s, want 790034", iface, r)
			}
		}
	})

	t.Run("PermissionFromAdmin", func(t *testing.T) {
		var out map[string]any
		if st := s.z.Admin("PUT", "/admin/v1/corps/wwkb/apps/1000003/knowledge_permission", strings.NewReader(`{"knowledge_permission":true}`), &out); st != 200 || out["knowledge_permission"] != true {
			t.Fatalf("grant permission: HTTP %d %v", st, out)
		}
		if r := s.sdk(t, 1000003, "knowledge_base_list", map[string]any{}); r.code() != 0 {
			t.Fatalf("with the permission: %s", r)
		}
		if st := s.z.Admin("PUT", "/admin/v1/corps/wwkb/apps/1000003/knowledge_permission", strings.NewReader(`{}`), &out); st != 400 {
			t.Fatalf("missing field: HTTP %d %v", st, out)
		}
	})
}

// chat archives one text message from the customer and returns its
// msg_list item, as the app hands it to a program: the app's public key
// set, the secret_key read with sync_msg and decrypted.
func (s *kbSuite) chat(t *testing.T, text string) map[string]any {
	t.Helper()
	priv, pub := rsaKey(t)
	if r := s.z.PostApp("/cgi-bin/chatdata/set_public_key", s.tok[1000002], map[string]any{"public_key": pub, "public_key_ver": 1}); testenv.Errcode(r) != 0 {
		t.Fatalf("set_public_key: %s", testenv.Describe(r))
	}
	var out map[string]any
	if st := s.z.Admin("POST", "/admin/v1/corps/wwkb/messages", strings.NewReader(sdkiTextMsg("wmc1", "zhangsan", text, s.z.Clock.Now().Unix())), &out); st != 200 {
		t.Fatalf("ingest: %d %v", st, out)
	}
	msgID := out["msgid"].(string)
	r := s.sdk(t, 1000002, "sync_msg", map[string]any{"limit": 1000})
	for _, it := range r.list("msg_list") {
		if it["msgid"] != msgID {
			continue
		}
		ct, _ := base64.StdEncoding.DecodeString(it["service_encrypt_info"].(map[string]any)["encrypted_secret_key"].(string))
		pt, err := rsa.DecryptPKCS1v15(rand.Reader, priv, ct)
		if err != nil {
			t.Fatal(err)
		}
		return map[string]any{"msgid": msgID, "encrypt_info": map[string]any{"secret_key": string(pt)}}
	}
	t.Fatalf("sync_msg does not list %s: %s", msgID, r)
	return nil
}
