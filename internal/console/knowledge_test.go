package console_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/docparse/doctest"
	"github.com/openzone/openzone/internal/testenv"
)

const kbConsoleSeed = `
providers: [{id: isv, name: ISV}]
corps: [{corpid: wwkb, name: KB}]
apps:
  - {corpid: wwkb, agentid: 1000002, type: self_built, secret: s2}
`

// TestConsoleKnowledge creates a corp set through the admin API and works
// the knowledge page: documents and status, permission, grant, search.
func TestConsoleKnowledge(t *testing.T) {
	t.Parallel()
	z := testenv.Start(t, testenv.Options{Seed: kbConsoleSeed})
	var m struct {
		MediaID string `json:"media_id"`
	}
	data := doctest.DOCX(t, "退货政策：签收后七天内可以无理由退货。", "发票在订单完成后开具。")
	if st := z.AdminUpload("/admin/v1/corps/wwkb/media", "policy.docx", data, &m); st != 200 || m.MediaID == "" {
		t.Fatalf("media upload: HTTP %d %+v", st, m)
	}
	var created struct {
		KBID string `json:"kb_id"`
	}
	b, _ := json.Marshal(map[string]any{"kb_name": "售后", "doc_list": []map[string]any{{"doc_name": "政策.docx", "type": 6, "file_media_id": m.MediaID}}})
	if st := z.Admin("POST", "/admin/v1/corps/wwkb/knowledge_bases", bytes.NewReader(b), &created); st != 200 {
		t.Fatalf("create: HTTP %d", st)
	}
	c := newClient(t, z)
	testenv.Eventually(t, "the document to be learned", func() bool {
		_, page := c.get("/console/corps/wwkb/knowledge?agentid=1000002")
		return strings.Contains(page, "learned 0")
	})
	_, page := c.get("/console/corps/wwkb/knowledge?agentid=1000002")
	for _, want := range []string{"售后", "政策.docx", "not granted", "no permission"} {
		if !strings.Contains(page, want) {
			t.Fatalf("knowledge page lacks %q:\n%s", want, page)
		}
	}
	for path, form := range map[string]url.Values{
		"/console/corps/wwkb/knowledge/permission":                 {"agentid": {"1000002"}, "knowledge_permission": {"true"}, "csrf": {c.csrf}},
		"/console/corps/wwkb/knowledge/" + created.KBID + "/grant": {"agentid": {"1000002"}, "granted": {"true"}, "csrf": {c.csrf}},
	} {
		if st, _ := c.post(path, form, false); st != 303 {
			t.Fatalf("POST %s: HTTP %d", path, st)
		}
	}
	_, page = c.get("/console/corps/wwkb/knowledge?agentid=1000002&kb=" + created.KBID + "&q=" + url.QueryEscape("怎么退货"))
	for _, want := range []string{"permission granted", "granted to app 1000002", "score", "<code>退货</code>", "文档1：退货政策：签收后七天内可以无理由退货。"} {
		if !strings.Contains(page, want) {
			t.Fatalf("after grant and search the page lacks %q:\n%s", want, page)
		}
	}
	// A refusal comes back on the page: granting to an unknown app.
	st, _ := c.post("/console/corps/wwkb/knowledge/"+created.KBID+"/grant", url.Values{"agentid": {"42"}, "granted": {"true"}, "csrf": {c.csrf}}, false)
	if st != 303 {
		t.Fatalf("grant to an unknown app: HTTP %d", st)
	}
}
