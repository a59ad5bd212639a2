package tasks

import (
	"context"

	"github.com/openzone/openzone"
)

// AppTask is an app's async_program_task that passed the checks it shares
// with sync_call_program (token to input protocol).
type AppTask struct {
	App         *openzone.App
	Program     *openzone.Program
	AbilityID   string
	RequestData string
}

// CreateAppTask starts an app's async_program_task. A callee neither
// deployed nor in debug mode for the app is 800002 now, not a task that can
// never be delivered.
func (s *Service) CreateAppTask(ctx context.Context, at AppTask) (string, error) {
	app, prog := at.App, at.Program
	if err := s.reachable(ctx, app.CorpID, app.AgentID, prog); err != nil {
		return "", err
	}
	t := &openzone.Task{Kind: openzone.TaskAppAsync, CorpID: app.CorpID, AgentID: app.AgentID, ProgramID: prog.ID, AbilityID: at.AbilityID}
	if err := s.create(ctx, t, []byte(at.RequestData), DeliveryArgs{}); err != nil {
		return "", err
	}
	return t.JobID, nil
}

// reachable is nil when the program can be delivered to: deployed on this
// zone, or in debug mode for the app.
func (s *Service) reachable(ctx context.Context, corpID string, agentID int64, prog *openzone.Program) error {
	if s.cfg.Supervisor != nil && s.cfg.Supervisor.Deployed(prog.ID) {
		return nil
	}
	if s.cfg.Debug != nil {
		r, err := s.cfg.Debug.Route(ctx, corpID, agentID, prog.ID)
		if err != nil {
			return err
		}
		if r != nil {
			return nil
		}
	}
	if prog.Kind == openzone.KindModel {
		return openzone.Errorf(openzone.ErrModelNotDeployed, "model %q is not deployed", prog.ID)
	}
	return openzone.Errorf(openzone.ErrNotDeployed, "program %q is not deployed", prog.ID)
}

// AppResult is async_program_result{jobid}: the reported errcode and
// result, 710642 while the task runs, 710638 when it could not be
// delivered, 710675 when its callee never reported.
func (s *Service) AppResult(ctx context.Context, app *openzone.App, jobID string) (responseErrcode int, responseData string, err error) {
	t, err := s.cfg.Store.TaskGet(ctx, jobID)
	if err != nil && !openzone.IsNotFound(err) {
		return 0, "", err
	}
	if t == nil || t.Kind != openzone.TaskAppAsync || t.CorpID != app.CorpID || t.AgentID != app.AgentID {
		return 0, "", openzone.Errorf(openzone.ErrInvalidParam, "invalid jobid %q: no async task of this app has it (results are kept %s)", jobID, Retention)
	}
	state, code, msg := s.status(t)
	switch state {
	case openzone.TaskDone:
		data, err := s.open(t.JobID, "response", t.Response)
		if err != nil {
			return 0, "", err
		}
		return t.ResponseErrcode, string(data), nil
	case openzone.TaskFailed:
		if code == openzone.ErrProgramTimeout {
			return 0, "", openzone.Errorf(code, "%s", msg)
		}
		return 0, "", openzone.Errorf(openzone.ErrCallProgram, "calling the program failed: %s", msg)
	}
	return 0, "", openzone.Errorf(openzone.ErrWaitingResult, "job %s is still running: waiting for program %q to report its result", jobID, t.ProgramID)
}
