package appapi

import (
	"context"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

// handleSetReceiveCallback serves POST /cgi-bin/chatdata/set_receive_callback:
// the app chooses the one program that receives its zone events; a second
// call replaces the first.
func (a *API) handleSetReceiveCallback(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	programID, err := req.str("program_id", true)
	if err != nil {
		return nil, err
	}
	if _, err := a.store.ProgramGet(ctx, programID); err != nil {
		if openzone.IsNotFound(err) {
			return nil, openzone.Errorf(openzone.ErrBadProgramID, "invalid program_id %q: no such program", programID)
		}
		return nil, err
	}
	has, err := a.store.AppProgramHas(ctx, store.AppProgramHasParams{CorpID: app.CorpID, AgentID: app.AgentID, ProgramID: programID})
	if err != nil {
		return nil, err
	}
	if !has {
		return nil, openzone.Errorf(openzone.ErrNotAssociated, "program %q is not configured for app %d of corp %s", programID, app.AgentID, app.CorpID)
	}
	if err := a.store.AppSetReceiveProgram(ctx, store.AppSetReceiveProgramParams{CorpID: app.CorpID, AgentID: app.AgentID, ProgramID: programID}); err != nil {
		return nil, err
	}
	return openzone.OK, nil
}
