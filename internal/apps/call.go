package apps

import (
	"context"
	"errors"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/events"
	"github.com/openzone/openzone/internal/gateway"
	"github.com/openzone/openzone/internal/protocol"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/tasks"
	"github.com/openzone/openzone/internal/traffic"
)

// Call is a call of a program by an app: sync_call_program's and
// async_program_task's fields, read by the face.
type Call struct {
	ProgramID   string
	AbilityID   string
	RequestData string // JSON
	NotifyID    string // sync only: the notify_id the call answers ("" none)
}

// Sync makes a sync call (sync_call_program) and records it: the checks
// after the token's, in WeCom's order — program exists 800001, configured
// for the app 790020, ability exists 800003, request_data is JSON 790015
// and matches the input protocol 790016, the notify_id 710646 — then the
// call (deployed or debug route: 800002, transport errors), then the reply
// is JSON 790013 and matches the output protocol 790014. It returns the
// program's data and the call's traffic record.
func (s *Service) Sync(ctx context.Context, app *openzone.App, c Call) (string, openzone.TrafficRecord, error) {
	span := s.begin(app, c, "")
	data, res, err := s.sync(ctx, app, c)
	if res != nil {
		span.Reached(res.Hop)
		span.Rec.Response = traffic.Mask(res.Data)
	}
	return data, span.End(err), err
}

func (s *Service) sync(ctx context.Context, app *openzone.App, c Call) (string, *gateway.Result, error) {
	prog, ability, err := s.check(ctx, app, c)
	if err != nil {
		return "", nil, err
	}
	instance := ""
	if c.NotifyID != "" && s.cfg.Notifies != nil {
		n, err := s.cfg.Notifies.CheckNotify(ctx, events.NotifyCheck{NotifyID: c.NotifyID, CorpID: app.CorpID, AgentID: app.AgentID, ProgramID: c.ProgramID})
		if err != nil {
			return "", nil, err
		}
		instance = n.Instance
	}
	res, err := s.cfg.Gateway.Do(ctx, &gateway.Call{
		Program: prog, CorpID: app.CorpID, AgentID: app.AgentID, CallType: 1,
		Data: c.RequestData, AbilityID: c.AbilityID, NotifyID: c.NotifyID, Instance: instance,
	})
	if err != nil {
		return "", res, err
	}
	if err := checkOutput(ability, res.Data); err != nil {
		return "", res, err
	}
	return res.Data, res, nil
}

// Async starts an async task (async_program_task) and records it: the
// checks of Sync up to the input protocol, then a task the zone delivers
// with is_async and job_info. It returns the task's jobid and the traffic
// record (whose response is {"jobid"}).
func (s *Service) Async(ctx context.Context, app *openzone.App, c Call) (string, openzone.TrafficRecord, error) {
	span := s.begin(app, c, "async_program_task")
	prog, _, err := s.check(ctx, app, c)
	if err != nil {
		return "", span.End(err), err
	}
	jobID, err := s.cfg.Tasks.CreateAppTask(ctx, tasks.AppTask{App: app, Program: prog, AbilityID: c.AbilityID, RequestData: c.RequestData})
	span.Rec.Response = `{"jobid":"` + jobID + `"}`
	return jobID, span.End(err), err
}

func (s *Service) begin(app *openzone.App, c Call, iface string) *traffic.Span {
	return s.cfg.Recorder.Begin(openzone.TrafficRecord{Kind: openzone.TrafficCall, Interface: iface,
		CorpID: app.CorpID, AgentID: app.AgentID, ProgramID: c.ProgramID, AbilityID: c.AbilityID,
		Request: traffic.Mask(c.RequestData), StartedAt: s.cfg.Now()})
}

// check applies the checks shared by sync and async calls, from program
// existence to the input protocol.
func (s *Service) check(ctx context.Context, app *openzone.App, c Call) (*openzone.Program, *openzone.Ability, error) {
	prog, err := s.program(ctx, app, c.ProgramID)
	if err != nil {
		return nil, nil, err
	}
	ability := prog.Ability(c.AbilityID)
	if ability == nil {
		return nil, nil, openzone.Errorf(openzone.ErrAbilityNotFound, "program %q has no ability %q", c.ProgramID, c.AbilityID)
	}
	in, err := protocol.Cached(ability.Input)
	if err != nil {
		return nil, nil, openzone.Errorf(openzone.ErrBadProtocol, "the input protocol of ability %q is not a valid JSON template", c.AbilityID)
	}
	if err := in.Match([]byte(c.RequestData)); err != nil {
		if errors.Is(err, protocol.ErrNotJSON) {
			return nil, nil, openzone.Errorf(openzone.ErrBadRequestJSON, "request_data is not valid JSON")
		}
		return nil, nil, openzone.Errorf(openzone.ErrRequestMismatch, "request_data does not match the input protocol of ability %q: %v", c.AbilityID, err)
	}
	return prog, ability, nil
}

// Program returns the program the app names, for the app API's endpoints
// that name one (set_log_level…): it exists (800001) and is configured for
// the app (790020).
func (s *Service) Program(ctx context.Context, app *openzone.App, programID string) (*openzone.Program, error) {
	return s.program(ctx, app, programID)
}

// program returns the program the app names: it exists (800001) and is
// configured for the app (790020). The rows come from the call path's
// cache.
func (s *Service) program(ctx context.Context, app *openzone.App, programID string) (*openzone.Program, error) {
	prog, err := s.programGet(ctx, programID)
	if err != nil {
		if openzone.IsNotFound(err) {
			return nil, openzone.Errorf(openzone.ErrBadProgramID, "invalid program_id %q: no such program", programID)
		}
		return nil, err
	}
	has, err := s.appProgramHas(ctx, app.CorpID, app.AgentID, programID)
	if err != nil {
		return nil, err
	}
	if !has {
		return nil, openzone.Errorf(openzone.ErrNotAssociated, "program %q is not configured for app %d of corp %s", programID, app.AgentID, app.CorpID)
	}
	// An unreleased program, as the test scenario stands now (710672).
	if err := debugmode.CheckUse(ctx, s.cfg.Store, app, prog); err != nil {
		return nil, err
	}
	return prog, nil
}

// checkOutput checks a program's result against the ability's output protocol.
func checkOutput(ability *openzone.Ability, data string) error {
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

// SetReceiveProgram is set_receive_callback: the app chooses the one
// program that receives its zone events (800001, 790020 as for a call); a
// second call replaces the first.
func (s *Service) SetReceiveProgram(ctx context.Context, app *openzone.App, programID string) error {
	if _, err := s.cfg.Store.ProgramGet(ctx, programID); err != nil {
		if openzone.IsNotFound(err) {
			return openzone.Errorf(openzone.ErrBadProgramID, "invalid program_id %q: no such program", programID)
		}
		return err
	}
	has, err := s.cfg.Store.AppProgramHas(ctx, store.AppProgramHasParams{CorpID: app.CorpID, AgentID: app.AgentID, ProgramID: programID})
	if err != nil {
		return err
	}
	if !has {
		return openzone.Errorf(openzone.ErrNotAssociated, "program %q is not configured for app %d of corp %s", programID, app.AgentID, app.CorpID)
	}
	return s.cfg.Store.AppSetReceiveProgram(ctx, store.AppSetReceiveProgramParams{CorpID: app.CorpID, AgentID: app.AgentID, ProgramID: programID})
}
