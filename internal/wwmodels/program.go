package wwmodels

import (
	"context"
	"encoding/json"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/gateway"
)

// Gateway delivers a call to one of the zone's programs (gateway.Gateway).
type Gateway interface {
	Do(ctx context.Context, c *gateway.Call) (*gateway.Result, error)
}

// Program is the program backend: a WeCom model id answered by one of
// the zone's own programs or models, so a provider can stand in their own
// implementation. The zone calls the program's ability synchronously
// (call_type 1, is_async false) as the calling app, with the Request as
// JSON in data ({"kind","model_id","prompt","messages":[{"msgid","who",
// "role","text"}],"knowledge","tag_groups","need_think"}); the reply is a
// Result as JSON ({"text","think","labels":[{"msgid","value"}],
// "tags":[{"group_id","tag_id"}]}). The input and output protocols are not
// checked: the contract is this one.
type Program struct {
	Gateway   Gateway
	Program   *openzone.Program
	AbilityID string
	CorpID    string
	AgentID   int64
}

// Name implements Backend.
func (p *Program) Name() string { return "program:" + p.Program.ID }

// Answer implements Backend; the gateway's errcodes are the task's.
func (p *Program) Answer(ctx context.Context, req *Request) (*Result, error) {
	data, _ := json.Marshal(req)
	res, err := p.Gateway.Do(ctx, &gateway.Call{Program: p.Program, CorpID: p.CorpID, AgentID: p.AgentID, CallType: 1,
		Data: string(data), AbilityID: p.AbilityID})
	if err != nil {
		return nil, err
	}
	var out Result
	if err := json.Unmarshal([]byte(res.Data), &out); err != nil {
		return nil, openzone.Errorf(openzone.ErrBadResultJSON, "model backend %s: the reply is not a result object", p.Name())
	}
	if req.Kind == Sentiment || req.Kind == Spam {
		got := map[string]int{}
		for _, l := range out.Labels {
			got[l.MsgID] = l.Value
		}
		out.Labels = out.Labels[:0]
		for _, m := range req.Messages {
			v, ok := got[m.MsgID]
			if !ok || v < 0 || v > 2 {
				return nil, openzone.Errorf(openzone.ErrBadResultJSON, "model backend %s: no value 0, 1 or 2 for message %q", p.Name(), m.MsgID)
			}
			out.Labels = append(out.Labels, Label{MsgID: m.MsgID, Value: v})
		}
	}
	return &out, nil
}
