package console

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openzone/openzone"
)

func (c *Console) routes() map[string]handler {
	return map[string]handler{
		"GET /console/{$}":                                                    c.handleOverview,
		"POST /console/logout":                                                c.handleLogout,
		"GET /console/programs":                                               c.handlePrograms,
		"POST /console/programs":                                              c.handleProgramCreate,
		"GET /console/programs/{id}":                                          c.handleProgram,
		"POST /console/programs/{id}":                                         c.handleProgramSave,
		"GET /console/programs/{id}/logs":                                     c.handleProgramLogs,
		"GET /console/programs/{id}/logquery":                                 c.handleLogQuery,
		"POST /console/protocol-check":                                        c.handleProtocolCheck,
		"GET /console/programs/{id}/debug":                                    c.handleDebug,
		"POST /console/programs/{id}/debug/token":                             c.handleDebugToken,
		"POST /console/programs/{id}/debug/receiver":                          c.handleDebugReceiver,
		"GET /console/programs/{id}/debug/sessions":                           c.handleDebugSessions,
		"POST /console/programs/{id}/debug/sessions/{corpid}/{agentid}/close": c.handleDebugClose,
		"GET /console/notifications":                                          c.handleNotifications,
		"GET /console/audit":                                                  c.handleAudit,
		"GET /console/corps":                                                  c.handleCorps,
		"POST /console/providers/{pid}/test_corps":                            c.handleTestCorps,
		"GET /console/corps/{corpid}":                                         c.handleCorp,
		"POST /console/corps/{corpid}/apps/{agentid}/programs":                c.handleAppPrograms,
		"POST /console/corps/{corpid}/apps/{agentid}/test_install":            c.handleTestInstall,
		"POST /console/corps/{corpid}/apps/{agentid}/rules/{rule}/delete":     c.handleRuleDelete,
		"GET /console/corps/{corpid}/archive":                                 c.handleArchive,
		"POST /console/corps/{corpid}/tag_groups":                             c.handleTagGroups,
		"GET /console/corps/{corpid}/knowledge":                               c.handleKnowledge,
		"POST /console/corps/{corpid}/knowledge/permission":                   c.handleKnowledgePermission,
		"POST /console/corps/{corpid}/knowledge/{kb}/grant":                   c.handleKnowledgeGrant,
		"POST /console/corps/{corpid}/knowledge/{kb}/delete":                  c.handleKnowledgeDelete,
		"GET /console/traffic":                                                c.handleTraffic,
		"GET /console/traffic/rows":                                           c.handleTrafficRows,
		"GET /console/traffic/{tid}":                                          c.handleTrafficDetail,
		"POST /console/traffic/{tid}/replay":                                  c.handleReplay,
		"POST /console/traffic/export":                                        c.handleExport,
	}
}

// Admin API shapes the pages read.

type ability struct {
	ID     string          `json:"id"`
	Name   string          `json:"name,omitempty"`
	Input  json.RawMessage `json:"input"`
	Output json.RawMessage `json:"output"`
}

type instance struct {
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	PID       int       `json:"pid"`
	State     string    `json:"state"`
	Restarts  int       `json:"restarts"`
	StartedAt time.Time `json:"started_at"`
	LastExit  string    `json:"last_exit"`
	Sandbox   *struct {
		Isolation  string  `json:"isolation"`
		Runtime    string  `json:"runtime"`
		Limits     limits  `json:"limits"`
		Enforced   string  `json:"enforced"`
		DataUsedMB float64 `json:"data_used_mb"`
		Blocked    int     `json:"blocked"`
		Attempts   []struct {
			Time   time.Time `json:"time"`
			Kind   string    `json:"kind"`
			Target string    `json:"target"`
			Count  int       `json:"count"`
		} `json:"attempts"`
	} `json:"sandbox"`
}

type limits struct {
	MemoryMB int     `json:"memory_mb,omitempty"`
	CPUs     float64 `json:"cpus,omitempty"`
	DiskMB   int     `json:"disk_mb,omitempty"`
}

type deploy struct {
	Command   []string `json:"command,omitempty"`
	Instances int      `json:"instances,omitempty"`
	URL       string   `json:"url,omitempty"`
	Isolation string   `json:"isolation,omitempty"`
	Image     string   `json:"image,omitempty"`
	SDKPath   string   `json:"sdk_path,omitempty"`
	Limits    limits   `json:"limits"`
}

type program struct {
	ID        string     `json:"id"`
	Provider  string     `json:"provider"`
	Kind      string     `json:"kind"`
	Name      string     `json:"name"`
	Released  bool       `json:"released"`
	Deploy    deploy     `json:"deploy"`
	Abilities []ability  `json:"abilities"`
	Instances []instance `json:"instances"`
	// Isolation says how the instances run on this host (sandboxed or not,
	// and why not).
	Isolation *struct {
		Mode      string `json:"mode"`
		Sandboxed bool   `json:"sandboxed"`
		Note      string `json:"note"`
	} `json:"isolation"`
}

func (p *program) Deployed() bool { return len(p.Deploy.Command) > 0 || p.Deploy.URL != "" }

type provider struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	TestCorps []string `json:"test_corps"`
}

type notification struct {
	ID         int64     `json:"id"`
	ProviderID string    `json:"provider_id"`
	ProgramID  string    `json:"program_id"`
	Kind       string    `json:"kind"`
	Title      string    `json:"title"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
}

func (c *Console) handleOverview(w http.ResponseWriter, r *http.Request, s *req) error {
	var st map[string]any
	var ps struct{ Programs []program }
	var cs struct{ Corps []corp }
	var tr struct{ Traffic []record }
	var ns struct{ Notifications []notification }
	for _, x := range []struct {
		path string
		out  any
	}{{"/admin/v1/status", &st}, {"/admin/v1/programs", &ps}, {"/admin/v1/corps", &cs},
		{"/admin/v1/traffic?limit=10", &tr}, {"/admin/v1/notifications?limit=5", &ns}} {
		if err := s.get(x.path, x.out); err != nil {
			return err
		}
	}
	return s.page(w, "overview", "overview", "Overview 概览", map[string]any{
		"Status": st, "Programs": ps.Programs, "Corps": cs.Corps, "Traffic": tr.Traffic, "Notifications": ns.Notifications,
	}, "")
}

func (c *Console) handlePrograms(w http.ResponseWriter, r *http.Request, s *req) error {
	return c.programsPage(w, s, "", nil)
}

func (c *Console) programsPage(w http.ResponseWriter, s *req, errMsg string, form url.Values) error {
	var ps struct{ Programs []program }
	var pv struct{ Providers []provider }
	if err := s.get("/admin/v1/programs", &ps); err != nil {
		return err
	}
	if err := s.get("/admin/v1/providers", &pv); err != nil {
		return err
	}
	if form == nil {
		form = url.Values{}
	}
	return s.page(w, "programs", "programs", "Programs & models 程序与模型", map[string]any{
		"Programs": ps.Programs, "Providers": pv.Providers, "Form": form,
	}, errMsg)
}

// handleProgramCreate creates a program with one starter ability and
// opens its page.
func (c *Console) handleProgramCreate(w http.ResponseWriter, r *http.Request, s *req) error {
	id := strings.TrimSpace(r.PostFormValue("id"))
	var existing program
	if err := s.get("/admin/v1/programs/"+url.PathEscape(id), &existing); err == nil {
		w.WriteHeader(http.StatusConflict)
		return c.programsPage(w, s, "program "+id+" already exists: open it from the list to edit it", r.PostForm)
	}
	body := map[string]any{
		"provider": r.PostFormValue("provider"), "kind": r.PostFormValue("kind"), "name": r.PostFormValue("name"),
		"abilities": []map[string]any{{"id": "echo", "input": json.RawMessage(`{"text":""}`), "output": json.RawMessage(`{"text":""}`)}},
	}
	if err := s.call(http.MethodPut, "/admin/v1/programs/"+url.PathEscape(id), body, nil); err != nil {
		if ae := errOf(err); ae != nil {
			w.WriteHeader(http.StatusBadRequest)
			return c.programsPage(w, s, ae.Message, r.PostForm)
		}
		return err
	}
	http.Redirect(w, r, "/console/programs/"+url.PathEscape(id), http.StatusSeeOther)
	return nil
}

// programEvents is how many of its latest events a program's page shows.
const programEvents = 20

func (c *Console) handleProgram(w http.ResponseWriter, r *http.Request, s *req) error {
	var p program
	if err := s.get("/admin/v1/programs/"+url.PathEscape(r.PathValue("id")), &p); err != nil {
		return notFound(w, s, err)
	}
	msg := ""
	if r.URL.Query().Get("saved") == "1" {
		msg = "saved"
	}
	var evs struct {
		Events []openzone.Event `json:"events"`
	}
	if err := s.get("/admin/v1/events?program_id="+url.QueryEscape(p.ID), &evs); err != nil {
		return err
	}
	if len(evs.Events) > programEvents {
		evs.Events = evs.Events[:programEvents]
	}
	return s.page(w, "program", "programs", p.Name+" · "+p.ID, map[string]any{"P": &p, "Saved": msg, "Events": evs.Events}, "")
}

// notFound answers an admin "not found" with the console's 404 page.
func notFound(w http.ResponseWriter, s *req, err error) error {
	if ae := errOf(err); ae != nil && ae.Status == http.StatusNotFound {
		w.WriteHeader(http.StatusNotFound)
		return s.page(w, "notfound", "", "Not found", nil, ae.Message)
	}
	return err
}

// handleProgramSave saves the program form: settings, deployment and
// abilities (repeated fields ability_id, ability_name, ability_input,
// ability_output; a row with an empty id is dropped).
func (c *Console) handleProgramSave(w http.ResponseWriter, r *http.Request, s *req) error {
	id := r.PathValue("id")
	if err := r.ParseForm(); err != nil {
		return err
	}
	f := r.PostForm
	body := map[string]any{
		"provider": f.Get("provider"), "kind": f.Get("kind"), "name": f.Get("name"),
		"released": f.Get("released") == "on",
	}
	dep := map[string]any{}
	switch f.Get("deploy_mode") {
	case "command":
		dep["command"] = strings.Fields(f.Get("command"))
		n, _ := strconv.Atoi(f.Get("instances"))
		dep["instances"] = n
		if v := f.Get("isolation"); v != "" && v != "auto" {
			dep["isolation"] = v
		}
		for _, k := range []string{"image", "sdk_path"} {
			if v := strings.TrimSpace(f.Get(k)); v != "" {
				dep[k] = v
			}
		}
		// A limit left empty takes the zone's default; one that is not a
		// number goes through as typed, for the admin API to name.
		l := map[string]any{}
		for _, k := range []string{"memory_mb", "cpus", "disk_mb"} {
			if v := strings.TrimSpace(f.Get(k)); v != "" {
				l[k] = number(v)
			}
		}
		if len(l) > 0 {
			dep["limits"] = l
		}
	case "url":
		dep["url"] = strings.TrimSpace(f.Get("url"))
	}
	body["deploy"] = dep
	var abs []map[string]any
	ids, names, ins, outs := f["ability_id"], f["ability_name"], f["ability_input"], f["ability_output"]
	for i := range ids {
		if strings.TrimSpace(ids[i]) == "" {
			continue
		}
		ab := map[string]any{"id": strings.TrimSpace(ids[i]), "name": at(names, i)}
		ab["input"] = rawOrString(at(ins, i))
		ab["output"] = rawOrString(at(outs, i))
		abs = append(abs, ab)
	}
	if abs == nil {
		abs = []map[string]any{}
	}
	body["abilities"] = abs
	var p program
	if err := s.call(http.MethodPut, "/admin/v1/programs/"+url.PathEscape(id), body, &p); err != nil {
		ae := errOf(err)
		if ae == nil {
			return err
		}
		// Show the form as typed, with the admin API's message.
		var cur program
		if err := s.get("/admin/v1/programs/"+url.PathEscape(id), &cur); err != nil {
			return notFound(w, s, err)
		}
		cur.Name, cur.Kind, cur.Released = f.Get("name"), f.Get("kind"), f.Get("released") == "on"
		cur.Abilities = nil
		for _, ab := range abs {
			cur.Abilities = append(cur.Abilities, ability{ID: ab["id"].(string), Name: ab["name"].(string),
				Input: asRaw(ab["input"]), Output: asRaw(ab["output"])})
		}
		w.WriteHeader(http.StatusBadRequest)
		return s.page(w, "program", "programs", cur.Name+" · "+cur.ID, map[string]any{"P": &cur}, ae.Message)
	}
	http.Redirect(w, r, "/console/programs/"+url.PathEscape(id)+"?saved=1", http.StatusSeeOther)
	return nil
}

func at(v []string, i int) string {
	if i < len(v) {
		return v[i]
	}
	return ""
}

// rawOrString passes valid JSON through and anything else as a string, so
// the admin API names the broken protocol.
func rawOrString(s string) any {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	return s
}

func asRaw(v any) json.RawMessage {
	switch t := v.(type) {
	case json.RawMessage:
		return t
	case string:
		b, _ := json.Marshal(t)
		return b
	}
	return nil
}

func (c *Console) handleProgramLogs(w http.ResponseWriter, r *http.Request, s *req) error {
	var out struct {
		Lines []struct {
			Time     time.Time `json:"time"`
			Instance string    `json:"instance"`
			Stream   string    `json:"stream"`
			Text     string    `json:"text"`
		} `json:"lines"`
	}
	if err := s.get("/admin/v1/programs/"+url.PathEscape(r.PathValue("id"))+"/logs?tail=200", &out); err != nil {
		return err
	}
	return s.fragment(w, "program", "logs", out.Lines)
}

// handleProtocolCheck validates a protocol editor's text (and an optional
// sample) through the admin API and shows what the protocol accepts.
func (c *Console) handleProtocolCheck(w http.ResponseWriter, r *http.Request, s *req) error {
	proto := r.PostFormValue("protocol")
	if which := r.PostFormValue("check"); which == "input" || which == "output" {
		// The program form's editor: its check button names the textarea.
		i, _ := strconv.Atoi(r.PostFormValue("index"))
		proto = at(r.PostForm["ability_"+which], i)
	}
	body := map[string]any{"protocol": proto}
	if smp := strings.TrimSpace(r.PostFormValue("sample")); smp != "" {
		body["sample"] = smp
	}
	var out struct {
		Accepts []struct {
			Path    string `json:"path"`
			Accepts string `json:"accepts"`
		} `json:"accepts"`
		SampleMatches *bool  `json:"sample_matches"`
		SampleError   string `json:"sample_error"`
	}
	err := s.call(http.MethodPost, "/admin/v1/protocols/check", body, &out)
	data := map[string]any{"Out": &out}
	if ae := errOf(err); ae != nil {
		data["Error"] = ae.Message
	} else if err != nil {
		return err
	}
	return s.fragment(w, "program", "protocol-check", data)
}

// Debug page (程序调试).

type debugSession struct {
	CorpID      string     `json:"corpid"`
	AgentID     int64      `json:"agentid"`
	AppHalf     bool       `json:"app_half"`
	SDKHalf     bool       `json:"sdk_half"`
	Status      int        `json:"status"`
	AppOpenedAt *time.Time `json:"app_opened_at"`
	SDKOpenedAt *time.Time `json:"sdk_opened_at"`
}

type debugPage struct {
	ProgramID string `json:"program_id"`
	Receiver  string `json:"receiver"`
	// Route is "listener" while `openzone debug listen` stands in for the
	// receiver URL (connected or lost).
	Route    string `json:"route"`
	Listener *struct {
		State string `json:"state"`
		Text  string `json:"text"`
	} `json:"listener"`
	Probe *struct {
		OK      bool      `json:"ok"`
		At      time.Time `json:"at"`
		Via     string    `json:"via"`
		CorpID  string    `json:"corpid"`
		AgentID int64     `json:"agentid"`
		Errcode int       `json:"errcode"`
		Errmsg  string    `json:"errmsg"`
		MS      float64   `json:"ms"`
	} `json:"probe"`
	TokenIssuedAt  *time.Time     `json:"token_issued_at"`
	TokenExpiresAt *time.Time     `json:"token_expires_at"`
	TokenValid     bool           `json:"token_valid"`
	Sessions       []debugSession `json:"sessions"`
}

func (c *Console) handleDebug(w http.ResponseWriter, r *http.Request, s *req) error {
	id := r.PathValue("id")
	var p program
	if err := s.get("/admin/v1/programs/"+url.PathEscape(id), &p); err != nil {
		return notFound(w, s, err)
	}
	var d debugPage
	if err := s.get("/admin/v1/programs/"+url.PathEscape(id)+"/debug", &d); err != nil {
		return err
	}
	return s.page(w, "debug", "programs", "调试 Debug · "+p.ID, map[string]any{"P": &p, "D": &d}, "")
}

// handleDebugToken is 「调试凭证 - 获取」 after the confirmation: the
// credential is shown once, in the notification panel.
func (c *Console) handleDebugToken(w http.ResponseWriter, r *http.Request, s *req) error {
	var tok struct {
		Token     string    `json:"debug_token"`
		IssuedAt  time.Time `json:"issued_at"`
		ExpiresAt time.Time `json:"expires_at"`
		New       bool      `json:"new"`
	}
	err := s.call(http.MethodPost, "/admin/v1/programs/"+url.PathEscape(r.PathValue("id"))+"/debug/token", nil, &tok)
	data := map[string]any{"T": &tok, "ProgramID": r.PathValue("id")}
	if ae := errOf(err); ae != nil {
		data["Error"] = ae.Message
	} else if err != nil {
		return err
	}
	return s.fragment(w, "debug", "token-panel", data)
}

func (c *Console) handleDebugReceiver(w http.ResponseWriter, r *http.Request, s *req) error {
	id := r.PathValue("id")
	var out struct {
		URL string `json:"url"`
	}
	err := s.call(http.MethodPut, "/admin/v1/programs/"+url.PathEscape(id)+"/debug/receiver", map[string]string{"url": r.PostFormValue("url")}, &out)
	data := map[string]any{"ProgramID": id, "URL": out.URL, "Typed": r.PostFormValue("url")}
	if ae := errOf(err); ae != nil {
		data["Error"] = ae.Message
	} else if err != nil {
		return err
	} else {
		data["Saved"] = true
	}
	return s.fragment(w, "debug", "receiver", data)
}

func (c *Console) handleDebugSessions(w http.ResponseWriter, r *http.Request, s *req) error {
	var d debugPage
	if err := s.get("/admin/v1/programs/"+url.PathEscape(r.PathValue("id"))+"/debug", &d); err != nil {
		return err
	}
	return s.fragment(w, "debug", "sessions", &d)
}

func (c *Console) handleDebugClose(w http.ResponseWriter, r *http.Request, s *req) error {
	var d debugPage
	path := "/admin/v1/programs/" + url.PathEscape(r.PathValue("id")) + "/debug/sessions/" +
		url.PathEscape(r.PathValue("corpid")) + "/" + url.PathEscape(r.PathValue("agentid"))
	if err := s.call(http.MethodDelete, path, nil, &d); err != nil {
		return err
	}
	return s.fragment(w, "debug", "sessions", &d)
}

func (c *Console) handleNotifications(w http.ResponseWriter, r *http.Request, s *req) error {
	var ns struct{ Notifications []notification }
	if err := s.get("/admin/v1/notifications?limit=200", &ns); err != nil {
		return err
	}
	return s.page(w, "notifications", "notifications", "Notifications 通知", ns.Notifications, "")
}

// auditEntry is one admin action (openzone.AuditEntry).
type auditEntry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`
	Source  string    `json:"source"`
	Action  string    `json:"action"`
	Target  string    `json:"target"`
	Errcode int       `json:"errcode"`
}

func (c *Console) handleAudit(w http.ResponseWriter, r *http.Request, s *req) error {
	var out struct{ Entries []auditEntry }
	path := "/admin/v1/audit?limit=200"
	if b := r.URL.Query().Get("before_id"); b != "" {
		path += "&before_id=" + url.QueryEscape(b)
	}
	if err := s.get(path, &out); err != nil {
		return err
	}
	// A full page has older entries behind it.
	page := struct {
		Entries []auditEntry
		Older   int64
	}{Entries: out.Entries}
	if n := len(out.Entries); n == 200 {
		page.Older = out.Entries[n-1].ID
	}
	return s.page(w, "audit", "audit", "Audit log 审计日志", page, "")
}

// prettyJSON indents a JSON text for display; other text is kept.
func prettyJSON(s string) string {
	var buf bytes.Buffer
	if json.Indent(&buf, []byte(s), "", "  ") == nil {
		return buf.String()
	}
	return s
}

// number is a form value as a JSON number when it is one, else the text.
func number(v string) any {
	if f, err := strconv.ParseFloat(v, 64); err == nil {
		return f
	}
	return v
}
