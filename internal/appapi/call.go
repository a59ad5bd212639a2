package appapi

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/apps"
)

type tokenReply struct {
	openzone.Base
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// handleGetToken serves GET /cgi-bin/gettoken?corpid=&corpsecret=.
func (a *API) handleGetToken(w http.ResponseWriter, r *http.Request) {
	ip, err := a.cfg.Door.Check(r)
	if err != nil {
		writeError(w, a.cfg.Logger, err)
		return
	}
	q := r.URL.Query()
	t, err := a.cfg.Apps.Token(r.Context(), q.Get("corpid"), q.Get("corpsecret"))
	if err != nil {
		// A wrong corp or secret is a guess; a missing one is a bug.
		if c := openzone.ErrorCode(err); c == openzone.ErrInvalidCorpID || c == openzone.ErrInvalidSecret {
			a.cfg.Door.Fail(ip)
		}
		writeError(w, a.cfg.Logger, err)
		return
	}
	writeJSON(w, tokenReply{Base: openzone.OK, AccessToken: t.Token, ExpiresIn: int(t.ExpiresAt.Sub(a.cfg.Now()).Seconds())})
}

type syncCallReply struct {
	openzone.Base
	ResponseData string `json:"response_data"`
}

// handleSyncCallProgram serves POST /cgi-bin/chatdata/sync_call_program:
// its fields, then apps.Sync's checks and the call (docs/decisions.md
// lists the order).
func (a *API) handleSyncCallProgram(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	c, err := req.call(true)
	if err != nil {
		return nil, err
	}
	data, _, err := a.cfg.Apps.Sync(ctx, app, c)
	if err != nil {
		return nil, err
	}
	return syncCallReply{Base: openzone.OK, ResponseData: data}, nil
}

type asyncTaskReply struct {
	openzone.Base
	JobID string `json:"jobid"`
}

// handleAsyncProgramTask serves POST /cgi-bin/chatdata/async_program_task
// (应用异步调用专区程序): the checks of sync_call_program up to the input
// protocol, then a task that the zone delivers with is_async and job_info.
func (a *API) handleAsyncProgramTask(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	c, err := req.call(false)
	if err != nil {
		return nil, err
	}
	jobID, _, err := a.cfg.Apps.Async(ctx, app, c)
	if err != nil {
		return nil, err
	}
	return asyncTaskReply{Base: openzone.OK, JobID: jobID}, nil
}

type asyncResultReply struct {
	openzone.Base
	ResponseErrcode int    `json:"response_errcode"`
	ResponseData    string `json:"response_data"`
}

// handleAsyncProgramResult serves POST /cgi-bin/chatdata/async_program_result.
func (a *API) handleAsyncProgramResult(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	jobID, err := req.str("jobid", true)
	if err != nil {
		return nil, err
	}
	code, data, err := a.cfg.Tasks.AppResult(ctx, app, jobID)
	if err != nil {
		return nil, err
	}
	return asyncResultReply{Base: openzone.OK, ResponseErrcode: code, ResponseData: data}, nil
}

// handleSetReceiveCallback serves POST /cgi-bin/chatdata/set_receive_callback:
// the app chooses the one program that receives its zone events.
func (a *API) handleSetReceiveCallback(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	programID, err := req.str("program_id", true)
	if err != nil {
		return nil, err
	}
	if err := a.cfg.Apps.SetReceiveProgram(ctx, app, programID); err != nil {
		return nil, err
	}
	return openzone.OK, nil
}

// call reads a call's fields in WeCom's order: program_id, ability_id,
// notify_id (sync only), request_data; missing or mistyped ones are 40058
// naming the field.
func (q *request) call(sync bool) (apps.Call, error) {
	var c apps.Call
	var err error
	if c.ProgramID, err = q.str("program_id", true); err != nil {
		return c, err
	}
	if c.AbilityID, err = q.str("ability_id", true); err != nil {
		return c, err
	}
	if sync {
		if c.NotifyID, err = q.str("notify_id", false); err != nil {
			return c, err
		}
	}
	c.RequestData, err = q.requestData()
	return c, err
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
