package adminapi

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openzone/openzone"
)

// handleLogSearch serves GET /admin/v1/logs (日志查询): program log lines,
// newest first, by program_id, level (ERR, INFO, DBG or 1–3: that level and
// the more severe), req_id, since and until (RFC 3339 or unix seconds),
// before_id (paging back) and limit (≤ 1000, default 100). With program_id
// the reply carries the program's log level and its volume by hour.
func (a *API) handleLogSearch(r *http.Request) (any, error) {
	q := r.URL.Query()
	f := openzone.ProgramLogFilter{ProgramID: q.Get("program_id"), ReqID: q.Get("req_id"), Limit: 100}
	if s := q.Get("level"); s != "" {
		f.MaxLevel = parseLevel(s)
		if f.MaxLevel == 0 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "level %q is not one of ERR, INFO, DBG (or 1, 2, 3)", s)
		}
	}
	var err error
	if f.Since, err = queryTime(q.Get("since"), "since"); err != nil {
		return nil, err
	}
	if f.Until, err = queryTime(q.Get("until"), "until"); err != nil {
		return nil, err
	}
	if s := q.Get("before_id"); s != "" {
		if f.BeforeID, err = strconv.ParseInt(s, 10, 64); err != nil || f.BeforeID < 1 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "before_id must be a positive integer")
		}
	}
	if s := q.Get("limit"); s != "" {
		if f.Limit, err = strconv.Atoi(s); err != nil || f.Limit < 1 || f.Limit > 1000 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "limit must be an integer from 1 to 1000")
		}
	}
	if f.ProgramID != "" {
		if _, err := a.cfg.Store.ProgramGet(r.Context(), f.ProgramID); err != nil {
			return nil, err
		}
	}
	return a.cfg.Logs.Search(r.Context(), f)
}

// parseLevel reads a log level by name or number; 0 when it is neither.
func parseLevel(s string) int {
	switch strings.ToUpper(s) {
	case "1", "ERR", "ERROR":
		return openzone.LogLevelError
	case "2", "INFO":
		return openzone.LogLevelInfo
	case "3", "DBG", "DEBUG":
		return openzone.LogLevelDebug
	}
	return 0
}

// queryTime reads a time given as RFC 3339 or unix seconds ("" is zero).
func queryTime(s, name string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.Unix(n, 0), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, openzone.Errorf(openzone.ErrInvalidParam, "%s must be an RFC 3339 time or unix seconds, got %q", name, s)
	}
	return t, nil
}
