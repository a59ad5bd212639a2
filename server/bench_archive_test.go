package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

const benchArchiveSeed = `
providers: [{id: isv, name: ISV}]
corps:
  - corpid: wwbench
    name: Bench
    members: [{userid: zhangsan, name: 张三}]
    external_contacts: [{external_userid: wmc, name: C}]
programs:
  - {id: prog-reader, provider: isv, name: Reader, released: true, abilities: [{id: echo, input: {}, output: {}}]}
apps:
  - {corpid: wwbench, agentid: 1000002, type: self_built, secret: b, programs: [prog-reader]}
`

// BenchmarkArchive measures ingestion (messages archived per second, in
// batches of 500 through the admin API: validation, per-message encryption,
// one transaction a batch) and sync_msg (messages read per second through
// the SDK, 1000 a call, each key RSA-encrypted to the app), on SQLite.
func BenchmarkArchive(b *testing.B) {
	z := testenv.Start(b, testenv.Options{Seed: benchArchiveSeed})
	tok := z.Token("wwbench", "b")
	_, pub := rsaKey(b)
	if r := z.PostApp("/cgi-bin/chatdata/set_public_key", tok, map[string]any{"public_key": pub, "public_key_ver": 1}); testenv.Errcode(r) != 0 {
		b.Fatal(testenv.Describe(r))
	}
	batch := func(n, from int) []byte {
		msgs := make([]json.RawMessage, n)
		for i := range msgs {
			msgs[i] = json.RawMessage(fmt.Sprintf(`{"sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":2,"id":"wmc"}],"msgtype":1,"text":{"content":"benchmark message %d, 会话内容"}}`, from+i))
		}
		body, _ := json.Marshal(map[string]any{"messages": msgs})
		return body
	}
	const perBatch = 500
	ingested := 0
	b.Run("ingest", func(b *testing.B) {
		start := time.Now()
		for i := 0; i < b.N; i++ {
			var out map[string]any
			if st := z.Admin("POST", "/admin/v1/corps/wwbench/messages/batch", bytes.NewReader(batch(perBatch, ingested)), &out); st != 200 {
				b.Fatalf("HTTP %d %v", st, out)
			}
			ingested += perBatch
		}
		b.ReportMetric(float64(b.N*perBatch)/time.Since(start).Seconds(), "msgs/s")
	})
	for ingested < 5000 {
		z.Admin("POST", "/admin/v1/corps/wwbench/messages/batch", bytes.NewReader(batch(perBatch, ingested)), nil)
		ingested += perBatch
	}
	sec, _ := z.Store().ProgramSecretGet(context.Background(), "prog-reader")
	secret := zonewire.Secret{Ver: sec.Ver}
	copy(secret.Key[:], sec.Key)
	p, err := zonesdk.New(zonesdk.Config{ZoneURL: z.URL, ProgramID: "prog-reader", Secret: secret})
	if err != nil {
		b.Fatal(err)
	}
	ctx := zonesdk.WithInvokeContext(context.Background(), zonesdk.InvokeContext{CorpID: "wwbench", AgentID: 1000002})
	b.Run("sync_msg", func(b *testing.B) {
		start := time.Now()
		read := 0
		for i := 0; i < b.N; i++ {
			reply, err := p.Invoke(ctx, "sync_msg", map[string]any{"limit": 1000})
			if err != nil {
				b.Fatal(err)
			}
			var out struct {
				Errcode int               `json:"errcode"`
				MsgList []json.RawMessage `json:"msg_list"`
			}
			json.Unmarshal(reply, &out)
			if out.Errcode != 0 || len(out.MsgList) != 1000 {
				b.Fatalf("sync_msg: errcode %d, %d messages", out.Errcode, len(out.MsgList))
			}
			read += len(out.MsgList)
		}
		b.ReportMetric(float64(read)/time.Since(start).Seconds(), "msgs/s")
	})
}
