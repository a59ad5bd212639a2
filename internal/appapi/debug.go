package appapi

import (
	"context"

	"github.com/openzone/openzone"
)

// handleOpenDebugMode serves open_debug_mode{program_id, debug_token}: the
// app half of 开启调试模式. Debug mode is on once the SDK half is open too.
func (a *API) handleOpenDebugMode(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	programID, err := req.str("program_id", true)
	if err != nil {
		return nil, err
	}
	token, err := req.str("debug_token", true)
	if err != nil {
		return nil, err
	}
	if err := a.cfg.Debug.AppOpen(ctx, app, programID, token); err != nil {
		return nil, err
	}
	return openzone.OK, nil
}

// handleCloseDebugMode serves close_debug_mode{program_id}: both halves close.
func (a *API) handleCloseDebugMode(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	programID, err := req.str("program_id", true)
	if err != nil {
		return nil, err
	}
	if err := a.cfg.Debug.AppClose(ctx, app, programID); err != nil {
		return nil, err
	}
	return openzone.OK, nil
}

type checkDebugReply struct {
	openzone.Base
	DebugModeStatus int `json:"debug_mode_status"`
}

// handleCheckDebugMode serves check_debug_mode{program_id} → 1 off / 2 on.
func (a *API) handleCheckDebugMode(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	programID, err := req.str("program_id", true)
	if err != nil {
		return nil, err
	}
	st, err := a.cfg.Debug.Check(ctx, app, programID)
	if err != nil {
		return nil, err
	}
	return checkDebugReply{Base: openzone.OK, DebugModeStatus: st}, nil
}
