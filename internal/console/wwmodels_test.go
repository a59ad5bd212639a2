package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/testenv"
)

// TestConsoleTagGroups: the corp page lists the customer tag groups and
// the model quotas; a saved edit replaces the groups, a bad one shows the
// admin API's refusal and keeps the text.
func TestConsoleTagGroups(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: `
corps:
  - corpid: wwtags
    name: Tags
    tag_groups: [{group_id: g1, group_name: 意向, tags: [{tag_id: t1, tag_name: 高意向}]}]
`})
	c := newClient(t, z)
	_, body := c.get("/console/corps/wwtags")
	for _, want := range []string{"客户标签 Customer tags", "高意向", "g1", "sentiment_msgs", "summary_calls"} {
		if !strings.Contains(body, want) {
			t.Fatalf("corp page lacks %q:\n%s", want, body)
		}
	}
	st, body := c.post("/console/corps/wwtags/tag_groups", url.Values{"csrf": {c.csrf}, "tag_groups": {`[{"group_id":"g 2","group_name":"x","tags":[]}]`}}, false)
	if st != http.StatusBadRequest || !strings.Contains(body, "tag_groups[0].group_id") {
		t.Fatalf("a bad group id: HTTP %d\n%s", st, body)
	}
	c.post("/console/corps/wwtags/tag_groups", url.Values{"csrf": {c.csrf}, "tag_groups": {`[{"group_id":"g2","group_name":"关注点","tags":[{"tag_id":"t2","tag_name":"退款","synonyms":["退钱"]}]}]`}}, false)
	var out struct {
		TagGroups []struct {
			GroupID string `json:"group_id"`
		} `json:"tag_groups"`
	}
	if z.Admin("GET", "/admin/v1/corps/wwtags/tag_groups", nil, &out); len(out.TagGroups) != 1 || out.TagGroups[0].GroupID != "g2" {
		t.Fatalf("after saving: %+v", out)
	}
}
