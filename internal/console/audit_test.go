package console_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/testenv"
)

// TestAuditLog: changes through the console and through the admin API, and
// a refused one, are recorded with who made them; reads are not; the
// console's audit page shows them and never a secret.
func TestAuditLog(t *testing.T) { testenv.Stores(t, testAuditLog) }

func testAuditLog(t *testing.T, db string) {
	z := testenv.Start(t, testenv.Options{Seed: attachSeed, DB: db})
	c := newClient(t, z)
	if _, body := c.post("/console/corps/wwtest/apps/2000001/test_install", url.Values{"test_install": {"true"}}, true); !strings.Contains(body, "测试场景") {
		t.Fatalf("test install through the console failed:\n%.500s", body)
	}
	// A program secret shown to the admin API: the log names the action only.
	var sec map[string]any
	if st := z.Admin(http.MethodPost, "/admin/v1/programs/prog-rel/secret?force=1", nil, &sec); st != 200 {
		t.Fatalf("secret: HTTP %d %v", st, sec)
	}
	secret, _ := sec["secret"].(string)
	if st := z.Admin(http.MethodPut, "/admin/v1/corps/wwtest/apps/999/test_install", strings.NewReader(`{"test_install":true}`), nil); st == 200 {
		t.Fatal("test install of an unknown app succeeded")
	}
	z.Admin(http.MethodGet, "/admin/v1/programs", nil, nil) // a read: not recorded

	var out struct {
		Entries []struct {
			Actor, Source, Action, Target string
			Errcode                       int
		}
	}
	if st := z.Admin(http.MethodGet, "/admin/v1/audit", nil, &out); st != 200 {
		t.Fatalf("audit: HTTP %d", st)
	}
	raw, _ := json.Marshal(out)
	want := []struct {
		actor, action, target string
		refused               bool
	}{ // newest first
		{"admin-api", "PUT /admin/v1/corps/{corpid}/apps/{agentid}/test_install", "/admin/v1/corps/wwtest/apps/999/test_install", true},
		{"admin-api", "POST /admin/v1/programs/{program_id}/secret", "/admin/v1/programs/prog-rel/secret", false},
		{"console", "PUT /admin/v1/corps/{corpid}/apps/{agentid}/test_install", "/admin/v1/corps/wwtest/apps/2000001/test_install", false},
	}
	if len(out.Entries) != len(want) {
		t.Fatalf("%d entries, want %d: %s", len(out.Entries), len(want), raw)
	}
	for i, w := range want {
		e := out.Entries[i]
		if e.Actor != w.actor || e.Action != w.action || e.Target != w.target || (e.Errcode != 0) != w.refused || e.Source != "127.0.0.1" {
			t.Errorf("entry %d = %+v, want %+v", i, e, w)
		}
	}
	if secret == "" || strings.Contains(string(raw), secret) {
		t.Fatal("the audit log holds the secret (or none was shown)")
	}
	_, page := c.get("/console/audit")
	for _, s := range []string{"审计日志", "/admin/v1/programs/prog-rel/secret", "console", "refused"} {
		if !strings.Contains(page, s) {
			t.Errorf("audit page lacks %q", s)
		}
	}
	if strings.Contains(page, secret) {
		t.Error("the audit page shows the secret")
	}
}
