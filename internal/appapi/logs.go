package appapi

import (
	"context"

	"github.com/openzone/openzone"
)

// handleSetLogLevel serves set_log_level{program_id, log_level} (设置日志打印
// 级别): the zone keeps a program's log lines at or below the level, 1 ERR,
// 2 INFO (the default), 3 DBG. The program must be configured for the app.
func (a *API) handleSetLogLevel(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	programID, err := req.str("program_id", true)
	if err != nil {
		return nil, err
	}
	level, err := req.positiveInt("log_level")
	if err != nil {
		return nil, err
	}
	if level > openzone.LogLevelDebug {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "log_level must be 1 (ERR), 2 (INFO) or 3 (DBG), got %d", level)
	}
	if _, err := a.cfg.Apps.Program(ctx, app, programID); err != nil {
		return nil, err
	}
	if err := a.cfg.Logs.SetLevel(ctx, programID, level); err != nil {
		return nil, err
	}
	return openzone.OK, nil
}

type logLevelReply struct {
	openzone.Base
	LogLevel int `json:"log_level"`
}

// handleGetLogLevel serves get_log_level{program_id}.
func (a *API) handleGetLogLevel(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	programID, err := req.str("program_id", true)
	if err != nil {
		return nil, err
	}
	if _, err := a.cfg.Apps.Program(ctx, app, programID); err != nil {
		return nil, err
	}
	level, err := a.cfg.Logs.Level(ctx, programID)
	if err != nil {
		return nil, err
	}
	return &logLevelReply{Base: openzone.OK, LogLevel: level}, nil
}
