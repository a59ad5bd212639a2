package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// record is one traffic record (payloads already masked by the zone).
type record struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Route     string    `json:"route"`
	CorpID    string    `json:"corpid"`
	AgentID   int64     `json:"agentid"`
	ProgramID string    `json:"program_id"`
	AbilityID string    `json:"ability_id"`
	Interface string    `json:"interface"`
	RequestID string    `json:"request_id"`
	Instance  string    `json:"instance"`
	Errcode   int       `json:"errcode"`
	Errmsg    string    `json:"errmsg"`
	Request   string    `json:"request"`
	Response  string    `json:"response"`
	StartedAt time.Time `json:"started_at"`
	TotalMS   float64   `json:"total_ms"`
	ProgramMS float64   `json:"program_ms"`
	ZoneMS    float64   `json:"zone_ms"`
}

// Name is what was called: the ability, event type or SDK interface.
func (r *record) Name() string {
	if r.Interface != "" {
		return r.Interface
	}
	return r.AbilityID
}

// Replayable reports whether the zone can make the record again: an app's
// call (sync, or async_program_task) or an event, as the admin API's replay.
func (r *record) Replayable() bool {
	return r.Kind == "event" || r.Kind == "call" && (r.Interface == "" || r.Interface == "async_program_task")
}

// filter is the inspector's filter form.
type filter struct {
	Program, Kind, Route string
	RequestID            string // one call's records: a log line's req_id links here
	Failed               bool
}

func filterOf(r *http.Request) filter {
	q := r.URL.Query()
	return filter{Program: q.Get("program_id"), Kind: q.Get("kind"), Route: q.Get("route"), RequestID: q.Get("request_id"),
		Failed: q.Get("failed") == "true"}
}

func (f filter) query() url.Values {
	q := url.Values{}
	if f.Program != "" {
		q.Set("program_id", f.Program)
	}
	if f.Kind != "" {
		q.Set("kind", f.Kind)
	}
	if f.Route != "" {
		q.Set("route", f.Route)
	}
	if f.RequestID != "" {
		q.Set("request_id", f.RequestID)
	}
	if f.Failed {
		q.Set("failed", "true")
	}
	return q
}

// rows is the live list's state: records newest first and the id the next
// poll asks after.
type rows struct {
	Records []record
	AfterID int64
	Query   string // the filter, for the next poll
}

func (s *req) traffic(f filter, afterID int64, limit int) (*rows, error) {
	q := f.query()
	q.Set("limit", strconv.Itoa(limit))
	if afterID > 0 {
		q.Set("after_id", strconv.FormatInt(afterID, 10))
	}
	var out struct{ Traffic []record }
	if err := s.get("/admin/v1/traffic?"+q.Encode(), &out); err != nil {
		return nil, err
	}
	rs := &rows{Records: out.Traffic, AfterID: afterID, Query: f.query().Encode()}
	for _, r := range out.Traffic {
		rs.AfterID = max(rs.AfterID, r.ID)
	}
	return rs, nil
}

// handleTraffic is the inspector: filters, the live list (polled every 2 s
// for records after the newest shown) and the export form.
func (c *Console) handleTraffic(w http.ResponseWriter, r *http.Request, s *req) error {
	f := filterOf(r)
	rs, err := s.traffic(f, 0, 200)
	errMsg := ""
	if ae := errOf(err); ae != nil {
		errMsg, rs = ae.Message, &rows{Query: f.query().Encode()}
	} else if err != nil {
		return err
	}
	var ps struct{ Programs []program }
	if err := s.get("/admin/v1/programs", &ps); err != nil {
		return err
	}
	return s.page(w, "traffic", "traffic", "Traffic inspector 流量检查", map[string]any{"F": f, "Rows": rs, "Programs": ps.Programs}, errMsg)
}

// handleTrafficRows answers the live list's poll: a new poller (carrying
// the newest id) followed by the new rows, swapped in at the top.
func (c *Console) handleTrafficRows(w http.ResponseWriter, r *http.Request, s *req) error {
	after, _ := strconv.ParseInt(r.URL.Query().Get("after_id"), 10, 64)
	rs, err := s.traffic(filterOf(r), after, 200)
	if err != nil {
		return err
	}
	return s.fragment(w, "traffic", "rows", rs)
}

func (c *Console) handleTrafficDetail(w http.ResponseWriter, r *http.Request, s *req) error {
	var rec record
	if err := s.get("/admin/v1/traffic/"+url.PathEscape(r.PathValue("tid")), &rec); err != nil {
		return notFound(w, s, err)
	}
	return s.page(w, "detail", "traffic", fmt.Sprintf("#%d %s %s", rec.ID, rec.Kind, rec.Name()), &rec, "")
}

// handleReplay replays a record as recorded ("replay") or with the edited
// payload from the form ("edit"); the zone re-seals what it sends.
func (c *Console) handleReplay(w http.ResponseWriter, r *http.Request, s *req) error {
	var body any
	if r.PostFormValue("mode") == "edit" {
		body = map[string]string{"request": r.PostFormValue("request")}
	}
	var out struct {
		ReplayOf  int64   `json:"replay_of"`
		Kind      string  `json:"kind"`
		Edited    bool    `json:"edited"`
		Note      string  `json:"note"`
		Errcode   int     `json:"result_errcode"`
		Errmsg    string  `json:"result_errmsg"`
		Response  string  `json:"response"`
		Route     string  `json:"route"`
		Instance  string  `json:"instance"`
		TotalMS   float64 `json:"total_ms"`
		ProgramMS float64 `json:"program_ms"`
		ZoneMS    float64 `json:"zone_ms"`
		EventID   string  `json:"event_id"`
		State     string  `json:"state"`
		Attempts  int     `json:"attempts"`
	}
	err := s.call(http.MethodPost, "/admin/v1/traffic/"+url.PathEscape(r.PathValue("tid"))+"/replay", body, &out)
	data := map[string]any{"R": &out}
	if ae := errOf(err); ae != nil {
		data["Error"] = ae.Message
	} else if err != nil {
		return err
	}
	return s.fragment(w, "detail", "replay-result", data)
}

// handleExport downloads the checked records as a JSON fixture file.
func (c *Console) handleExport(w http.ResponseWriter, r *http.Request, s *req) error {
	r.ParseForm()
	var ids []int64
	for _, v := range r.PostForm["id"] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			ids = append(ids, n)
		}
	}
	if len(ids) == 0 {
		w.WriteHeader(http.StatusBadRequest)
		return s.page(w, "notfound", "traffic", "Nothing to export", nil, "Tick the records to export in the traffic list first (勾选要导出的记录).")
	}
	var raw json.RawMessage
	if err := s.call(http.MethodPost, "/admin/v1/traffic/export", map[string]any{"ids": ids}, &raw); err != nil {
		if ae := errOf(err); ae != nil {
			w.WriteHeader(http.StatusBadRequest)
			return s.page(w, "notfound", "traffic", "Export failed", nil, ae.Message)
		}
		return err
	}
	name := "openzone-fixture-" + time.Now().UTC().Format("20060102-150405") + ".json"
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Write([]byte(prettyJSON(string(raw)) + "\n"))
	return nil
}
