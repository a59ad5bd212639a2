package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

// modelsSeed: a corp with messages to analyse and customer tag groups;
// prog-caller (driven in this process) creates the tasks; model-sum, the
// example model, deployed ×2, answers own-model tasks.
const modelsSeed = `
providers: [{id: isv, name: Bench ISV}]
corps:
  - corpid: wwbench
    name: Bench Corp
    members: [{userid: zhangsan, name: 张三}]
    external_contacts: [{external_userid: wmc1, name: 客户甲}]
    tag_groups:
      - {group_id: g1, group_name: 关注点, tags: [{tag_id: t-price, tag_name: 价格敏感}, {tag_id: t-refund, tag_name: 退款}]}
programs:
  - {id: prog-caller, provider: isv, name: Caller, abilities: [{id: ask, input: {"prompt": "{chat}"}, output: {}}]}
  - id: model-sum
    provider: isv
    kind: model
    name: Summariser
    deploy: {command: ["{{PROGRAM}}"], instances: 2}
    abilities:
      - id: summarize
        input: {"task": "总结", "prompt": "{chat}", "content": "{chatcontent}", "kb": "{knowledge}", "tags": "{tagjson}"}
        output: {"summary": "", "messages": 0, "speakers": [""], "keywords": [""], "input": ""}
apps:
  - {corpid: wwbench, agentid: 1000002, type: self_built, secret: bench-secret, programs: [prog-caller, model-sum]}
`

const pkgModel = "github.com/openzone/openzone/examples/zonemodel"

// benchTexts are the messages every task analyses (five of them).
var benchTexts = []string{"您好，请问这款产品现在有优惠吗？", "价格有点贵，能不能便宜一点？", "东西坏了，我要退货退款。",
	"非常抱歉，马上为您处理。", "Thanks, the refund arrived and the service was great!"}

// runModels measures tasks of WeCom's own models answered by the builtin
// backend beside own-model tasks (create_model_task to the example model,
// deployed ×2), on SQLite: for each, a burst of N tasks of five messages
// created by 16 SDK clients (a program in this process, invoking as
// prog-caller); tasks/s from the first create until the admin API lists
// all N done; latency of each from created_at to done_at.
func runModels(ctx context.Context, r *runner) (*Section, error) {
	n := pick(r, 1000, 20)
	model, err := r.build(ctx, pkgModel)
	if err != nil {
		return nil, err
	}
	z, stop, err := r.startZone(ctx, "models", seedFor(modelsSeed, model, 2))
	if err != nil {
		return nil, err
	}
	defer stop()
	if err := z.waitHealthy(ctx, "model-sum", 2); err != nil {
		return nil, err
	}
	caller, items, err := modelsSetup(ctx, z)
	if err != nil {
		return nil, err
	}
	sec := &Section{Settings: fmt.Sprintf("bursts of %d tasks of %d messages each from 16 SDK clients; SQLite; builtin backend; the example model ×2 for create_model_task", n, len(items))}
	variants := []struct {
		name, iface, modelID string
		req                  map[string]any
	}{
		{"builtin-sentiment", "create_sentiment_task", "ww-sentiment", map[string]any{"msg_list": items}},
		{"builtin-summary", "create_summary_task", "ww-summary", map[string]any{"msg_list": items}},
		{"builtin-customer-tag", "create_customer_tag_task", "ww-customer-tag", map[string]any{"msg_list": items, "tag_group_list": []any{map[string]any{"group_id": "g1"}}}},
		{"builtin-general", "create_ww_model_task", "hunyuan-fast", map[string]any{"msg_list": items}},
		{"own-model", "create_model_task", "model-sum", map[string]any{"model_id": "model-sum", "ability_id": "summarize", "msg_list": items}},
	}
	ic := zonesdk.InvokeContext{CorpID: "wwbench", AgentID: 1000002, AbilityID: "ask"}
	for _, v := range variants {
		p, err := modelBurst(ctx, z, v.modelID, n, 16, func() error {
			raw, err := caller.Invoke(zonesdk.WithInvokeContext(ctx, ic), v.iface, v.req)
			if err != nil {
				return err
			}
			var out struct {
				Errcode int    `json:"errcode"`
				Errmsg  string `json:"errmsg"`
			}
			json.Unmarshal(raw, &out)
			if out.Errcode != 0 {
				return fmt.Errorf("%s: errcode %d: %s", v.iface, out.Errcode, out.Errmsg)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.name, err)
		}
		p.Variant = v.name
		sec.Points = append(sec.Points, p)
		r.progressf("   %-20s %8.0f tasks/s  p50 %7.1f ms  p95 %7.1f ms", v.name, p.PerSecond, p.P50ms, p.P95ms)
	}
	sec.Notes = append(sec.Notes, "A task of WeCom's models runs in the zone (a River job calls the backend); an own-model task is delivered to the model, which acknowledges it and reports with program_async_job_call_back.")
	return sec, nil
}

// modelsSetup returns an SDK client acting as prog-caller (its secret
// from the in-process zone's store) and msg_list items of benchTexts (the
// app's key set, the messages archived, their secret_keys decrypted).
func modelsSetup(ctx context.Context, z *zone) (*zonesdk.Program, []any, error) {
	sec, err := z.srv.Store().ProgramSecretGet(ctx, "prog-caller")
	if err != nil {
		return nil, nil, err
	}
	secret := zonewire.Secret{Ver: sec.Ver}
	copy(secret.Key[:], sec.Key)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 32
	caller, err := zonesdk.New(zonesdk.Config{ZoneURL: z.url, ProgramID: "prog-caller", Secret: secret, HTTPClient: &http.Client{Transport: tr, Timeout: time.Minute}})
	if err != nil {
		return nil, nil, err
	}
	tok, err := z.token(ctx, "wwbench", "bench-secret")
	if err != nil {
		return nil, nil, err
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pub := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if err := z.app(ctx, "set_public_key", tok, map[string]any{"public_key": pub, "public_key_ver": 1}, nil); err != nil {
		return nil, nil, err
	}
	var ids []string
	for i, text := range benchTexts {
		from, to, typ := "wmc1", "zhangsan", 2
		if i == 3 {
			from, to, typ = "zhangsan", "wmc1", 1
		}
		var out struct {
			MsgID string `json:"msgid"`
		}
		body := map[string]any{"sender": map[string]any{"type": typ, "id": from}, "receiver_list": []any{map[string]any{"type": 3 - typ, "id": to}},
			"msgtype": 1, "text": map[string]any{"content": text}}
		if err := z.admin(ctx, "POST", "/admin/v1/corps/wwbench/messages", body, &out); err != nil {
			return nil, nil, err
		}
		ids = append(ids, out.MsgID)
	}
	raw, err := caller.Invoke(zonesdk.WithInvokeContext(ctx, zonesdk.InvokeContext{CorpID: "wwbench", AgentID: 1000002}), "sync_msg", map[string]any{"limit": 1000})
	if err != nil {
		return nil, nil, err
	}
	var synced struct {
		MsgList []struct {
			MsgID string `json:"msgid"`
			Info  struct {
				Key string `json:"encrypted_secret_key"`
			} `json:"service_encrypt_info"`
		} `json:"msg_list"`
	}
	json.Unmarshal(raw, &synced)
	var items []any
	for _, m := range synced.MsgList {
		ct, _ := base64.StdEncoding.DecodeString(m.Info.Key)
		key, err := rsa.DecryptPKCS1v15(rand.Reader, priv, ct)
		if err != nil {
			return nil, nil, err
		}
		items = append(items, map[string]any{"msgid": m.MsgID, "encrypt_info": map[string]any{"secret_key": string(key)}})
	}
	if len(items) != len(ids) {
		return nil, nil, fmt.Errorf("sync_msg gave %d of %d messages", len(items), len(ids))
	}
	return caller, items, nil
}

// modelBurst runs create n times from clients goroutines and waits until
// the admin API lists n tasks of modelID done (the newest n).
func modelBurst(ctx context.Context, z *zone, modelID string, n, clients int, create func() error) (Point, error) {
	start := time.Now()
	if err := parallel(n, clients, func(int) error { return create() }); err != nil {
		return Point{}, err
	}
	return burstPoint(ctx, z, modelID, n, clients, start)
}
