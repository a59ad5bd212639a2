package console

import (
	"net/http"
	"net/url"
	"time"

	"github.com/openzone/openzone"
)

// logLine is a program log line as the admin API gives it.
type logLine struct {
	ID       int64     `json:"id"`
	Time     time.Time `json:"time"`
	Level    int       `json:"level"`
	ReqID    string    `json:"req_id"`
	PID      int64     `json:"pid"`
	TID      int64     `json:"tid"`
	File     string    `json:"file"`
	Line     int       `json:"line"`
	Text     string    `json:"text"`
	Instance string    `json:"instance"`
	Debug    bool      `json:"debug"`
}

// LevelName is the line's level as WeCom writes it.
func (l logLine) LevelName() string { return openzone.LogLevelName(l.Level) }

// logQuery is the form of the log query page.
type logQuery struct {
	Level, ReqID, Since string
	BeforeID            string
}

// logSince are the time ranges the form offers, by value.
var logSince = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour, "30d": 30 * 24 * time.Hour}

// handleLogQuery is 日志查询: a program's log lines by level, req_id and time,
// newest first, with its log level and its volume by hour (drops shown).
func (c *Console) handleLogQuery(w http.ResponseWriter, r *http.Request, s *req) error {
	id := r.PathValue("id")
	rq := r.URL.Query()
	f := logQuery{Level: rq.Get("level"), ReqID: rq.Get("req_id"), Since: rq.Get("since"), BeforeID: rq.Get("before_id")}
	q := url.Values{"program_id": {id}, "limit": {"200"}}
	if f.Level != "" {
		q.Set("level", f.Level)
	}
	if f.ReqID != "" {
		q.Set("req_id", f.ReqID)
	}
	if d, ok := logSince[f.Since]; ok {
		q.Set("since", c.cfg.Now().Add(-d).UTC().Format(time.RFC3339))
	}
	if f.BeforeID != "" {
		q.Set("before_id", f.BeforeID)
	}
	var out struct {
		Lines []logLine `json:"lines"`
		Hours []struct {
			Hour     time.Time `json:"hour"`
			Lines    int64     `json:"lines"`
			Bytes    int64     `json:"bytes"`
			Dropped  int64     `json:"dropped"`
			Filtered int64     `json:"filtered"`
			Rejected int64     `json:"rejected"`
		} `json:"hours"`
		LogLevel int   `json:"log_level"`
		CapBytes int64 `json:"cap_bytes"`
	}
	errMsg := ""
	if err := s.get("/admin/v1/logs?"+q.Encode(), &out); err != nil {
		ae := errOf(err)
		if ae == nil {
			return err
		}
		errMsg = ae.Message
	}
	var older int64
	if n := len(out.Lines); n == 200 {
		older = out.Lines[n-1].ID
	}
	return s.page(w, "logs", "programs", "日志查询 · "+id, map[string]any{"ID": id, "F": f, "Out": out, "Older": older,
		"Level": logLine{Level: out.LogLevel}.LevelName()}, errMsg)
}
