package server_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/testenv"
)

// adminDo sends an admin request with a JSON body and returns the HTTP
// status and the decoded reply.
func adminDo(t *testing.T, z *testenv.Zone, method, path, body string) (int, map[string]any) {
	t.Helper()
	var out map[string]any
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	} else {
		rd = strings.NewReader("")
	}
	st := z.Admin(method, path, rd, &out)
	return st, out
}

func TestAdminProgramPut(t *testing.T) {
	z, _ := startDebugZone(t, "")
	const ok = `{"provider":"isv","name":"New one","abilities":[{"id":"echo","input":{"text":""},"output":{"text":"","served_by":""}}]}`
	t.Run("OK", func(t *testing.T) {
		st, out := adminDo(t, z, "PUT", "/admin/v1/programs/prog-new", ok)
		if st != 200 || out["name"] != "New one" || out["kind"] != "program" {
			t.Fatalf("HTTP %d %v", st, out)
		}
		var p openzone.Program
		z.Admin("GET", "/admin/v1/programs/prog-new", nil, &p)
		if len(p.Abilities) != 1 || p.Released {
			t.Fatalf("stored program = %+v", p)
		}
		// The new program has a secret, so an app can be given it and debug it.
		st, out = adminDo(t, z, "PUT", "/admin/v1/corps/wwtest/apps/1000002/programs", `{"programs":["prog-dbg","prog-new"]}`)
		if st != 200 {
			t.Fatalf("attach: HTTP %d %v", st, out)
		}
		tok := z.Token("wwtest", "s1")
		if r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-new", "echo", `{"text":"x"}`)); testenv.Errcode(r) != openzone.ErrNotDeployed {
			t.Fatalf("call of a new, undeployed program: %s, want 800002", testenv.Describe(r))
		}
	})
	tests := []struct {
		name, id, body string
		code           int
		msg            string
	}{
		{"ErrBadID", "bad%20id", ok, openzone.ErrInvalidParam, "program_id"},
		{"ErrUnknownField", "p1", `{"provider":"isv","name":"x","colour":1}`, openzone.ErrInvalidParam, `"colour"`},
		{"ErrNoProvider", "p1", `{"name":"x"}`, openzone.ErrInvalidParam, "provider"},
		{"ErrUnknownProvider", "p1", `{"provider":"nope","name":"x"}`, openzone.ErrInvalidParam, `provider "nope"`},
		{"ErrKind", "p1", `{"provider":"isv","name":"x","kind":"robot"}`, openzone.ErrInvalidParam, "kind"},
		{"ErrName", "p1", `{"provider":"isv"}`, openzone.ErrInvalidParam, "name"},
		{"ErrDeployBoth", "p1", `{"provider":"isv","name":"x","deploy":{"command":["a"],"instances":1,"url":"http://h"}}`, openzone.ErrInvalidParam, "deploy.command and deploy.url"},
		{"ErrInstances", "p1", `{"provider":"isv","name":"x","deploy":{"command":["a"]}}`, openzone.ErrInvalidParam, "deploy.instances"},
		{"ErrProtocol", "p1", `{"provider":"isv","name":"x","abilities":[{"id":"a","input":[1],"output":{}}]}`, openzone.ErrBadProtocol, "abilities[0].input"},
		{"ErrMissingOutput", "p1", `{"provider":"isv","name":"x","abilities":[{"id":"a","input":{}}]}`, openzone.ErrInvalidParam, "abilities[0].output"},
		{"ErrDuplicateAbility", "p1", `{"provider":"isv","name":"x","abilities":[{"id":"a","input":{},"output":{}},{"id":"a","input":{},"output":{}}]}`, openzone.ErrInvalidParam, "abilities[1].id"},
		{"ErrType", "p1", `{"provider":"isv","name":"x","released":"yes"}`, openzone.ErrInvalidParam, "released"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, out := adminDo(t, z, "PUT", "/admin/v1/programs/"+tc.id, tc.body)
			if st != 400 || int(out["errcode"].(float64)) != tc.code || !strings.Contains(out["errmsg"].(string), tc.msg) {
				t.Fatalf("HTTP %d %v, want errcode %d naming %s", st, out, tc.code, tc.msg)
			}
		})
	}
}

func TestAdminProtocolCheck(t *testing.T) {
	z, _ := startDebugZone(t, "")
	st, out := adminDo(t, z, "POST", "/admin/v1/protocols/check", `{"protocol":"{\"text\":\"\",\"n\":1}","sample":{"text":1}}`)
	if st != 200 || out["valid"] != true || out["sample_matches"] != false || !strings.Contains(out["sample_error"].(string), "sample.text is a number") {
		t.Fatalf("HTTP %d %v", st, out)
	}
	if acc, _ := json.Marshal(out["accepts"]); string(acc) != `[{"accepts":"a number","path":"n"},{"accepts":"a string","path":"text"}]` {
		t.Fatalf("accepts = %s", acc)
	}
	st, out = adminDo(t, z, "POST", "/admin/v1/protocols/check", `{"protocol":"[1"}`)
	if st != 400 || int(out["errcode"].(float64)) != openzone.ErrBadProtocol {
		t.Fatalf("bad protocol: HTTP %d %v", st, out)
	}
}

// TestAdminAppPrograms checks the test-scenario rules of attaching
// unreleased programs, and test corps and test installs that change them.
func TestAdminAppPrograms(t *testing.T) {
	z, _ := startDebugZone(t, "")
	put := func(path, body string) (int, map[string]any) { return adminDo(t, z, "PUT", path, body) }
	errcode := func(out map[string]any) int { f, _ := out["errcode"].(float64); return int(f) }

	// Custom app in a corp that is not a test corp: released yes, unreleased no.
	if st, out := put("/admin/v1/corps/wwprod/apps/2000002/programs", `{"programs":["prog-rel"]}`); st != 200 {
		t.Fatalf("released: HTTP %d %v", st, out)
	}
	st, out := put("/admin/v1/corps/wwprod/apps/2000002/programs", `{"programs":["prog-rel","prog-dbg"]}`)
	if errcode(out) != openzone.ErrDebugNotAllowed || !strings.Contains(out["errmsg"].(string), "programs[1]") || !strings.Contains(out["errmsg"].(string), "测试企业") {
		t.Fatalf("unreleased on a production corp: HTTP %d %v", st, out)
	}
	// Make wwprod a test corp: now it may.
	if st, out := put("/admin/v1/providers/isv/test_corps", `{"test_corps":["wwtest","wwprod"]}`); st != 200 {
		t.Fatalf("test corps: HTTP %d %v", st, out)
	}
	if st, out := put("/admin/v1/corps/wwprod/apps/2000002/programs", `{"programs":["prog-rel","prog-dbg"]}`); st != 200 {
		t.Fatalf("after test corp: HTTP %d %v", st, out)
	}
	// Third-party: only where test-installed.
	if _, out := put("/admin/v1/corps/wwprod/apps/3000001/programs", `{"programs":["prog-dbg"]}`); errcode(out) != openzone.ErrDebugNotAllowed {
		t.Fatalf("third-party not test-installed: %v", out)
	}
	if st, out := put("/admin/v1/corps/wwprod/apps/3000001/test_install", `{"test_install":true}`); st != 200 || out["test_install"] != true {
		t.Fatalf("test install: HTTP %d %v", st, out)
	}
	if st, out := put("/admin/v1/corps/wwprod/apps/3000001/programs", `{"programs":["prog-dbg"]}`); st != 200 {
		t.Fatalf("after test install: HTTP %d %v", st, out)
	}
	// Detach all.
	if st, out := put("/admin/v1/corps/wwprod/apps/3000001/programs", `{"programs":[]}`); st != 200 || len(out["programs"].([]any)) != 0 {
		t.Fatalf("detach: HTTP %d %v", st, out)
	}
	for _, tc := range []struct {
		path, body string
		code       int
		msg        string
	}{
		{"/admin/v1/corps/wwprod/apps/3000001/programs", `{}`, openzone.ErrInvalidParam, "programs"},
		{"/admin/v1/corps/wwprod/apps/3000001/programs", `{"programs":["nope"]}`, openzone.ErrBadProgramID, "programs[0]"},
		{"/admin/v1/corps/wwprod/apps/x/programs", `{"programs":[]}`, openzone.ErrInvalidParam, "agentid"},
		{"/admin/v1/corps/wwtest/apps/1000002/test_install", `{"test_install":true}`, openzone.ErrNotSuiteApp, "third_party"},
		{"/admin/v1/corps/wwtest/apps/1000002/test_install", `{}`, openzone.ErrInvalidParam, "test_install"},
		{"/admin/v1/providers/isv/test_corps", `{"test_corps":["nope"]}`, openzone.ErrInvalidParam, "test_corps[0]"},
	} {
		if _, out := put(tc.path, tc.body); errcode(out) != tc.code || !strings.Contains(out["errmsg"].(string), tc.msg) {
			t.Errorf("PUT %s %s: %v, want %d naming %s", tc.path, tc.body, out, tc.code, tc.msg)
		}
	}
}

// TestAdminTrafficReplayExport replays a recorded call as recorded and
// with an edited payload, filters the list, and exports a fixture.
func TestAdminTrafficReplayExport(t *testing.T) {
	z, _ := startDebugZone(t, "")
	tok := z.Token("wwtest", "s1")
	if r := z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-rel", "echo", `{"text":"first"}`)); testenv.Errcode(r) != 0 {
		t.Fatal(testenv.Describe(r))
	}
	z.PostApp("/cgi-bin/chatdata/sync_call_program", tok, syncCall("prog-dbg", "echo", `{"text":"fails"}`))
	var list struct{ Traffic []openzone.TrafficRecord }
	z.Admin("GET", "/admin/v1/traffic?program_id=prog-rel&kind=call", nil, &list)
	if len(list.Traffic) != 1 {
		t.Fatalf("traffic = %+v", list.Traffic)
	}
	id := list.Traffic[0].ID

	st, out := adminDo(t, z, "POST", fmt.Sprintf("/admin/v1/traffic/%d/replay", id), "")
	if st != 200 || out["result_errcode"].(float64) != 0 || !strings.Contains(out["response"].(string), `"text":"first"`) || out["edited"] != false {
		t.Fatalf("replay: HTTP %d %v", st, out)
	}
	st, out = adminDo(t, z, "POST", fmt.Sprintf("/admin/v1/traffic/%d/replay", id), `{"request":"{\"text\":\"edited\"}"}`)
	if st != 200 || !strings.Contains(out["response"].(string), `"text":"edited"`) || out["edited"] != true || out["route"] != "deployed" {
		t.Fatalf("replay with edits: HTTP %d %v", st, out)
	}
	// An edit that breaks the input protocol gets the app API's errcode.
	_, out = adminDo(t, z, "POST", fmt.Sprintf("/admin/v1/traffic/%d/replay", id), `{"request":"{\"text\":1}"}`)
	if int(out["result_errcode"].(float64)) != openzone.ErrRequestMismatch {
		t.Fatalf("replay off-protocol: %v", out)
	}
	if st, out := adminDo(t, z, "POST", fmt.Sprintf("/admin/v1/traffic/%d/replay", id), `{"request":"{"}`); st != 400 || !strings.Contains(out["errmsg"].(string), "request") {
		t.Fatalf("replay of bad JSON: HTTP %d %v", st, out)
	}

	z.Admin("GET", "/admin/v1/traffic?program_id=prog-rel&kind=call", nil, &list)
	if len(list.Traffic) != 4 {
		t.Fatalf("after 3 replays: %d records, want 4", len(list.Traffic))
	}
	z.Admin("GET", "/admin/v1/traffic?failed=true", nil, &list)
	for _, r := range list.Traffic {
		if r.Errcode == 0 {
			t.Fatalf("failed=true listed %+v", r)
		}
	}
	if st, out := adminDo(t, z, "GET", "/admin/v1/traffic?route=sideways", ""); st != 400 || !strings.Contains(out["errmsg"].(string), "route") {
		t.Fatalf("bad route filter: HTTP %d %v", st, out)
	}

	// An async_program_task is replayed as one: a new task, a new jobid.
	if r := z.PostApp("/cgi-bin/chatdata/async_program_task", tok, syncCall("prog-rel", "echo", `{"text":"later"}`)); testenv.Errcode(r) != 0 {
		t.Fatalf("async_program_task: %s", testenv.Describe(r))
	}
	asyncID := waitRecord(t, z, "async_program_task")
	st, out = adminDo(t, z, "POST", fmt.Sprintf("/admin/v1/traffic/%d/replay", asyncID), `{"request":"{\"text\":\"again\"}"}`)
	if st != 200 || out["result_errcode"].(float64) != 0 || !strings.Contains(out["response"].(string), "jobid") {
		t.Fatalf("replay of async_program_task: HTTP %d %v", st, out)
	}
	deliver := waitRecord(t, z, "async_program_task:deliver")
	if st, out := adminDo(t, z, "POST", fmt.Sprintf("/admin/v1/traffic/%d/replay", deliver), ""); st != 400 || !strings.Contains(out["errmsg"].(string), "only an app's calls") {
		t.Fatalf("replay of a task delivery: HTTP %d %v", st, out)
	}

	var fx struct {
		Format  string                   `json:"format"`
		Version int                      `json:"version"`
		Records []openzone.TrafficRecord `json:"records"`
	}
	ids := fmt.Sprintf(`{"ids":[%d,%d]}`, list.Traffic[0].ID, id)
	if st := z.Admin("POST", "/admin/v1/traffic/export", strings.NewReader(ids), &fx); st != 200 || fx.Format != "openzone.traffic" || len(fx.Records) != 2 || fx.Records[0].ID != id {
		t.Fatalf("export: HTTP %d %+v", st, fx)
	}
	if st, out := adminDo(t, z, "POST", "/admin/v1/traffic/export", `{"ids":[999999]}`); st != 404 || !strings.Contains(out["errmsg"].(string), "ids[0]") {
		t.Fatalf("export of a missing id: HTTP %d %v", st, out)
	}
}

// waitRecord waits for a call record of prog-rel with the interface and
// returns its id.
func waitRecord(t *testing.T, z *testenv.Zone, iface string) int64 {
	t.Helper()
	var id int64
	testenv.Eventually(t, "a "+iface+" record", func() bool {
		var list struct{ Traffic []openzone.TrafficRecord }
		z.Admin("GET", "/admin/v1/traffic?program_id=prog-rel&kind=call", nil, &list)
		for _, r := range list.Traffic {
			if r.Interface == iface {
				id = r.ID
			}
		}
		return id != 0
	})
	return id
}
