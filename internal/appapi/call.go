package appapi

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/gateway"
	"github.com/openzone/openzone/internal/protocol"
	"github.com/openzone/openzone/internal/traffic"
)

type syncCallReply struct {
	openzone.Base
	ResponseData string `json:"response_data"`
}

// handleSyncCallProgram serves POST /cgi-bin/chatdata/sync_call_program with
// WeCom's checks in WeCom's order (docs/decisions.md): token and permission
// (in serveChat), program exists 800001, configured for the app 790020,
// ability exists 800003, request_data is JSON 790015 and matches the input
// protocol 790016, program deployed 800002, the call, reply is JSON 790013
// and matches the output protocol 790014.
func (a *API) handleSyncCallProgram(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	data, _, err := a.syncCallRecorded(ctx, app, req)
	if err != nil {
		return nil, err
	}
	return syncCallReply{Base: openzone.OK, ResponseData: data}, nil
}

// CallAs makes a call as app, exactly as the app API endpoint api would
// (same checks, route, sealing and recording): the inspector's replay. api
// is "sync_call_program" (or "") or "async_program_task". It returns the
// reply — the program's data, or {"jobid"} of the new task — and the
// call's traffic record.
func (a *API) CallAs(ctx context.Context, app *openzone.App, api, programID, abilityID, requestData string) (string, *openzone.TrafficRecord, error) {
	raw := func(v string) json.RawMessage { b, _ := json.Marshal(v); return b }
	req := &request{fields: map[string]json.RawMessage{
		"program_id": raw(programID), "ability_id": raw(abilityID), "request_data": raw(requestData),
	}}
	switch api {
	case "", "sync_call_program":
		return a.syncCallRecorded(ctx, app, req)
	case "async_program_task":
		_, rec, err := a.asyncTaskRecorded(ctx, app, req)
		if err != nil {
			return "", rec, err
		}
		return rec.Response, rec, nil
	}
	return "", nil, openzone.Errorf(openzone.ErrInvalidParam, "%s calls cannot be made as an app", api)
}

func (a *API) syncCallRecorded(ctx context.Context, app *openzone.App, req *request) (string, *openzone.TrafficRecord, error) {
	span := a.recorder.Begin(openzone.TrafficRecord{Kind: openzone.TrafficCall, CorpID: app.CorpID, AgentID: app.AgentID, StartedAt: a.now()})
	data, res, err := a.syncCall(ctx, app, req, &span.Rec)
	if res != nil {
		span.Reached(res.Hop)
		span.Rec.Response = traffic.Mask(res.Data)
	}
	if span.Rec.ProgramID == "" {
		return data, &span.Rec, err
	}
	rec := span.End(err)
	return data, &rec, err
}

func (a *API) syncCall(ctx context.Context, app *openzone.App, req *request, rec *openzone.TrafficRecord) (string, *gateway.Result, error) {
	programID, err := req.str("program_id", true)
	if err != nil {
		return "", nil, err
	}
	abilityID, err := req.str("ability_id", true)
	if err != nil {
		return "", nil, err
	}
	notifyID, err := req.str("notify_id", false)
	if err != nil {
		return "", nil, err
	}
	requestData, err := req.requestData()
	if err != nil {
		return "", nil, err
	}
	rec.ProgramID, rec.AbilityID, rec.Request = programID, abilityID, traffic.Mask(requestData)

	prog, ability, err := a.checkCall(ctx, app, programID, abilityID, requestData)
	if err != nil {
		return "", nil, err
	}
	instance := ""
	if notifyID != "" && a.notify != nil {
		n, err := a.notify(ctx, notifyID, app.CorpID, app.AgentID, programID)
		if err != nil {
			return "", nil, err
		}
		instance = n.Instance
	}
	res, err := a.gateway.Do(ctx, &gateway.Call{
		Program: prog, CorpID: app.CorpID, AgentID: app.AgentID, CallType: 1,
		Data: requestData, AbilityID: abilityID, NotifyID: notifyID, Instance: instance,
	})
	if err != nil {
		return "", res, err
	}
	if err := a.checkOutput(ability, res.Data); err != nil {
		return "", res, err
	}
	return res.Data, res, nil
}

// checkCall applies the checks shared by sync and async calls, from
// program existence to the input protocol.
func (a *API) checkCall(ctx context.Context, app *openzone.App, programID, abilityID, requestData string) (*openzone.Program, *openzone.Ability, error) {
	prog, err := a.programGet(ctx, programID)
	if err != nil {
		if openzone.IsNotFound(err) {
			return nil, nil, openzone.Errorf(openzone.ErrBadProgramID, "invalid program_id %q: no such program", programID)
		}
		return nil, nil, err
	}
	has, err := a.appProgramHas(ctx, app.CorpID, app.AgentID, programID)
	if err != nil {
		return nil, nil, err
	}
	if !has {
		return nil, nil, openzone.Errorf(openzone.ErrNotAssociated, "program %q is not configured for app %d of corp %s", programID, app.AgentID, app.CorpID)
	}
	ability := prog.Ability(abilityID)
	if ability == nil {
		return nil, nil, openzone.Errorf(openzone.ErrAbilityNotFound, "program %q has no ability %q", programID, abilityID)
	}
	in, err := protocol.Cached(ability.Input)
	if err != nil {
		return nil, nil, openzone.Errorf(openzone.ErrBadProtocol, "the input protocol of ability %q is not a valid JSON template", abilityID)
	}
	if err := in.Match([]byte(requestData)); err != nil {
		if errors.Is(err, protocol.ErrNotJSON) {
			return nil, nil, openzone.Errorf(openzone.ErrBadRequestJSON, "request_data is not valid JSON")
		}
		return nil, nil, openzone.Errorf(openzone.ErrRequestMismatch, "request_data does not match the input protocol of ability %q: %v", abilityID, err)
	}
	return prog, ability, nil
}

// checkOutput checks a program's result against the ability's output protocol.
func (a *API) checkOutput(ability *openzone.Ability, data string) error {
	out, err := protocol.Cached(ability.Output)
	if err != nil {
		return openzone.Errorf(openzone.ErrBadProtocol, "the output protocol of ability %q is not a valid JSON template", ability.ID)
	}
	if err := out.Match([]byte(data)); err != nil {
		if errors.Is(err, protocol.ErrNotJSON) {
			return openzone.Errorf(openzone.ErrBadResultJSON, "the program's result is not valid JSON")
		}
		return openzone.Errorf(openzone.ErrResultMismatch, "the program's result does not match the output protocol of ability %q: %v", ability.ID, err)
	}
	return nil
}

// requestData reads request_data. WeCom sends it as a JSON string holding
// JSON; an object in its place is refused with a message that says so,
// because the real zone would refuse it too.
func (q *request) requestData() (string, error) {
	raw, ok := q.fields["request_data"]
	if !ok || string(raw) == "null" {
		return "", openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter request_data")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", openzone.Errorf(openzone.ErrInvalidParam, "parameter request_data must be a string holding JSON (e.g. \"{\\\"text\\\":\\\"hi\\\"}\"), not a bare JSON value")
	}
	return s, nil
}
