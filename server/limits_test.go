package server_test

import (
	"strings"
	"testing"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/server"
)

// TestSyncMsgWithoutTokenLimited: sync_msg without an event token is
// limited per app a minute (45009, saying how to avoid it); with a token it
// is not counted; another app has its own count.
func TestSyncMsgWithoutTokenLimited(t *testing.T) { testenv.Stores(t, testSyncMsgWithoutTokenLimited) }

func testSyncMsgWithoutTokenLimited(t *testing.T, db string) {
	seed := echoSeed("s1") + `  - {corpid: wwtest, agentid: 1000003, type: self_built, secret: s2, programs: [prog-echo]}
`
	z := testenv.Start(t, testenv.Options{Seed: seed, DB: db,
		Configure: func(c *server.Config) { c.SyncMsgNoTokenPerMinute = 2 }})
	p := prodSDK(t, z, "prog-echo")
	app1 := zonesdk.InvokeContext{CorpID: "wwtest", AgentID: 1000002}
	for i := range 2 {
		if r := invokeAs(t, p, app1, "sync_msg", map[string]any{"limit": 10}); r.code() == openzone.ErrFreqLimit {
			t.Fatalf("call %d limited: %v", i+1, r)
		}
	}
	r := invokeAs(t, p, app1, "sync_msg", map[string]any{"limit": 10})
	if r.code() != openzone.ErrFreqLimit || !strings.Contains(r["errmsg"].(string), "token") {
		t.Fatalf("third call without a token: %v", r)
	}
	// A token is not limited here (it is checked as a token: a made-up one
	// is refused for what it is).
	if r := invokeAs(t, p, app1, "sync_msg", map[string]any{"limit": 10, "token": "made-up"}); r.code() == openzone.ErrFreqLimit {
		t.Fatalf("a call with a token was limited: %v", r)
	}
	if r := invokeAs(t, p, zonesdk.InvokeContext{CorpID: "wwtest", AgentID: 1000003}, "sync_msg", map[string]any{"limit": 10}); r.code() == openzone.ErrFreqLimit {
		t.Fatalf("another app was limited: %v", r)
	}
}
