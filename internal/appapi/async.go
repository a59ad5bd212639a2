package appapi

import (
	"context"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/traffic"
)

type asyncTaskReply struct {
	openzone.Base
	JobID string `json:"jobid"`
}

// handleAsyncProgramTask serves POST /cgi-bin/chatdata/async_program_task
// (应用异步调用专区程序): the checks of sync_call_program up to the input
// protocol, then a task that the zone delivers with is_async and job_info.
func (a *API) handleAsyncProgramTask(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	jobID, _, err := a.asyncTaskRecorded(ctx, app, req)
	if err != nil {
		return nil, err
	}
	return asyncTaskReply{Base: openzone.OK, JobID: jobID}, nil
}

func (a *API) asyncTaskRecorded(ctx context.Context, app *openzone.App, req *request) (string, *openzone.TrafficRecord, error) {
	span := a.recorder.Begin(openzone.TrafficRecord{Kind: openzone.TrafficCall, Interface: "async_program_task", CorpID: app.CorpID,
		AgentID: app.AgentID, StartedAt: a.now()})
	jobID, err := a.asyncTask(ctx, app, req, &span.Rec)
	if span.Rec.ProgramID == "" {
		return jobID, &span.Rec, err
	}
	rec := span.End(err)
	return jobID, &rec, err
}

func (a *API) asyncTask(ctx context.Context, app *openzone.App, req *request, rec *openzone.TrafficRecord) (string, error) {
	programID, err := req.str("program_id", true)
	if err != nil {
		return "", err
	}
	abilityID, err := req.str("ability_id", true)
	if err != nil {
		return "", err
	}
	requestData, err := req.requestData()
	if err != nil {
		return "", err
	}
	rec.ProgramID, rec.AbilityID, rec.Request = programID, abilityID, traffic.Mask(requestData)
	prog, _, err := a.checkCall(ctx, app, programID, abilityID, requestData)
	if err != nil {
		return "", err
	}
	jobID, err := a.tasks.CreateAppTask(ctx, app, prog, abilityID, requestData)
	rec.Response = `{"jobid":"` + jobID + `"}`
	return jobID, err
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
	code, data, err := a.tasks.AppResult(ctx, app, jobID)
	if err != nil {
		return nil, err
	}
	return asyncResultReply{Base: openzone.OK, ResponseErrcode: code, ResponseData: data}, nil
}
