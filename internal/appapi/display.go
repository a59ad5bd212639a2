package appapi

import (
	"context"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/display"
)

// Display is the display component's configuration (display.Service).
type Display interface {
	SetHideConfig(ctx context.Context, app *openzone.App, userID string, f display.Flags) error
	HideConfigReply(ctx context.Context, app *openzone.App, userID string) (openzone.Reply, error)
}

// handleSetHideConfig serves set_hide_sensitiveinfo_config{userid,
// config{hide_mobile, hide_idcard, hide_bankno}} (会话组件敏感信息隐藏设置):
// what the display component hides from that member viewing through this
// app.
func (a *API) handleSetHideConfig(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	userID, err := req.str("userid", true)
	if err != nil {
		return nil, err
	}
	flags, err := display.ParseConfig(req.fields["config"])
	if err != nil {
		return nil, err
	}
	if err := a.cfg.Display.SetHideConfig(ctx, app, userID, flags); err != nil {
		return nil, err
	}
	return openzone.OK, nil
}

// handleGetHideConfig serves get_hide_sensitiveinfo_config{userid}.
func (a *API) handleGetHideConfig(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	userID, err := req.str("userid", true)
	if err != nil {
		return nil, err
	}
	return a.cfg.Display.HideConfigReply(ctx, app, userID)
}
