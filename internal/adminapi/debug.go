package adminapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/listener"
)

// handleDebugToken is 「调试凭证 - 获取」: the program's debug credential,
// the same one while it is valid.
func (a *API) handleDebugToken(r *http.Request) (any, error) {
	return a.cfg.Debug.IssueToken(r.Context(), r.PathValue("program_id"))
}

// handleDebugReceiver is 「接收事件服务器 - 设置」.
func (a *API) handleDebugReceiver(r *http.Request) (any, error) {
	var body struct {
		URL *string `json:"url"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body); err != nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, `body must be a JSON object {"url": "http://…"}`)
	}
	if body.URL == nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter url")
	}
	u, err := a.cfg.Debug.SetReceiver(r.Context(), r.PathValue("program_id"), *body.URL)
	if err != nil {
		return nil, err
	}
	return map[string]string{"url": u}, nil
}

// handleDebugListen upgrades to a debug listener (`openzone debug listen`)
// once both credentials check out: the admin token (401) and the program's
// debug credential in X-Openzone-Debug-Token (40058, 710671). Refusals are
// plain JSON answers, before any upgrade, so the CLI can print them.
func (a *API) handleDebugListen(w http.ResponseWriter, r *http.Request) {
	if !a.authorized(w, r) {
		return
	}
	programID := r.PathValue("program_id")
	if err := a.cfg.Debug.CheckListener(r.Context(), programID, r.Header.Get(listener.HeaderDebugToken)); err != nil {
		a.write(w, nil, err)
		return
	}
	a.cfg.Listeners.Serve(w, r, programID)
}

// handleDebugPage is the data of a program's debug page.
func (a *API) handleDebugPage(r *http.Request) (any, error) {
	return a.cfg.Debug.Page(r.Context(), r.PathValue("program_id"))
}

// handleNotificationList lists provider notifications (WeCom pushes them
// through 服务商助手), newest first.
func (a *API) handleNotificationList(r *http.Request) (any, error) {
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "limit must be an integer from 1 to 1000")
		}
		limit = n
	}
	ns, err := a.cfg.Store.NotificationList(r.Context(), r.URL.Query().Get("provider_id"), limit)
	if err != nil {
		return nil, err
	}
	return map[string]any{"notifications": ns}, nil
}
