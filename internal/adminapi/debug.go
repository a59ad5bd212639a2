package adminapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/openzone/openzone"
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
