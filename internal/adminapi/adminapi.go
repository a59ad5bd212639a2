// Package adminapi serves the admin API (/admin/v1/…), the JSON API behind
// the CLI and the web console: programs and their instances and logs, corps
// and apps, seed files, traffic inspection. Every request carries
// "Authorization: Bearer <admin token>". Errors are JSON {"errcode",
// "errmsg"} with a matching HTTP status.
package adminapi

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/apps"
	"github.com/openzone/openzone/internal/archive"
	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/deploy"
	"github.com/openzone/openzone/internal/listener"
	"github.com/openzone/openzone/internal/logs"
	"github.com/openzone/openzone/internal/quota"
	"github.com/openzone/openzone/internal/sandbox"
	"github.com/openzone/openzone/internal/seed"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/supervisor"
	"github.com/openzone/openzone/internal/traffic"
)

// MaxSeedBytes bounds a seed file posted to the API.
const MaxSeedBytes = seed.MaxBytes

// Config wires the admin API to the rest of the zone.
type Config struct {
	Store      store.Store
	Supervisor Supervisor
	Recorder   *traffic.Recorder
	Logger     *slog.Logger
	// AdminToken is the bearer token every request must carry.
	AdminToken string
	// Deploy applies seed files and saves programs (deploy.Service).
	Deploy Deploy
	// Apps gives the CLI an app's token, makes the inspector's replayed
	// calls as their app, and drops the call path's cache after a change
	// (apps.Service).
	Apps Apps
	// Debug serves the debug page routes (debugmode.Service).
	Debug Debug
	// Archive ingests messages (archive.Service).
	Archive Archive
	// Events raises a replayed event (events.Service).
	Events Events
	// Logs searches program logs (logs.Service).
	Logs Logs
	// Models tells a corp's use of the daily model quotas
	// (tasks.Service); nil: GET …/quota answers an empty list.
	Models Models
	// Listeners accepts debug listeners (`openzone debug listen`).
	Listeners Listeners
	// Relay runs deliveries other nodes relay to a listener this node
	// holds (listener.Hub); nil: this node is alone, and the route is not
	// served.
	Relay Relay
	// Knowledge serves knowledge sets (knowledge.Service).
	Knowledge Knowledge
	// Media stores files uploaded for knowledge sets (media.Service).
	Media Media
	// Info is returned by GET /admin/v1/status.
	Info map[string]any
	Now  func() time.Time
	// Proxies tells the address a request came from, for the audit log
	// (guard.Proxies); nil: the peer's.
	Proxies interface {
		ClientIP(r *http.Request) netip.Addr
	}
}

// Supervisor tells a program's instances and logs.
type Supervisor interface {
	Instances(programID string) []supervisor.InstanceStatus
	Logs(programID string, tail int) []supervisor.LogLine
}

// Deploy applies what the zone is told to be, and says how a program's
// instances run on this host.
type Deploy interface {
	ApplySeed(ctx context.Context, name string, data []byte, base string) (*deploy.Summary, error)
	SaveProgram(ctx context.Context, p *openzone.Program) error
	Isolation(p *openzone.Program) sandbox.Decision
}

// Apps is what the admin API does as, or for, an app.
type Apps interface {
	TokenForApp(ctx context.Context, app *openzone.App) (*openzone.AccessToken, error)
	Sync(ctx context.Context, app *openzone.App, c apps.Call) (string, openzone.TrafficRecord, error)
	Async(ctx context.Context, app *openzone.App, c apps.Call) (string, openzone.TrafficRecord, error)
	Invalidate()
}

// Debug is the debug page.
type Debug interface {
	IssueToken(ctx context.Context, programID string) (*debugmode.Token, error)
	SetReceiver(ctx context.Context, programID, raw string) (string, error)
	CheckListener(ctx context.Context, programID, token string) error
	Page(ctx context.Context, programID string) (*debugmode.PageView, error)
	AppClose(ctx context.Context, app *openzone.App, programID string) error
	EndOutsideScenario(ctx context.Context) (int, error)
}

// Archive ingests messages and consent.
type Archive interface {
	Ingest(ctx context.Context, corpID string, ins []*archive.Input) ([]archive.Ingested, error)
	SetAgree(ctx context.Context, a *openzone.AgreeStatus) error
}

// Models is what the admin API shows of WeCom's own models.
type Models interface {
	QuotaUsage(ctx context.Context, corpID string) (map[string]quota.Usage, error)
}

// Events raises an event.
type Events interface {
	Enqueue(ctx context.Context, tx store.Executor, e *openzone.Event) error
}

// Logs searches program logs.
type Logs interface {
	Search(ctx context.Context, f openzone.ProgramLogFilter) (*logs.Page, error)
}

// Listeners accepts a debug listener.
type Listeners interface {
	CheckTakeover(ctx context.Context, programID, resume string, force bool) error
	Serve(w http.ResponseWriter, r *http.Request, programID string)
}

// Relay runs a relayed delivery.
type Relay interface {
	Relayed(ctx context.Context, req *listener.RelayRequest) *listener.RelayReply
}

// API is the admin HTTP face.
type API struct{ cfg Config }

// New returns the admin API.
func New(cfg Config) *API { return &API{cfg: cfg} }

// Register adds the /admin/v1 routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	h := func(pattern string, f func(r *http.Request) (any, error)) {
		mux.Handle(pattern, a.auth(f))
	}
	h("GET /admin/v1/status", a.handleStatus)
	h("POST /admin/v1/seed", a.handleSeedApply)
	h("GET /admin/v1/programs", a.handleProgramList)
	h("GET /admin/v1/programs/{program_id}", a.handleProgramGet)
	h("PUT /admin/v1/programs/{program_id}", a.handleProgramPut)
	h("GET /admin/v1/programs/{program_id}/logs", a.handleProgramLogs)
	h("GET /admin/v1/logs", a.handleLogSearch)
	h("POST /admin/v1/programs/{program_id}/secret", a.handleProgramSecret)
	h("POST /admin/v1/protocols/check", a.handleProtocolCheck)
	h("GET /admin/v1/providers", a.handleProviderList)
	h("PUT /admin/v1/providers/{provider_id}/test_corps", a.handleProviderTestCorps)
	h("POST /admin/v1/programs/{program_id}/debug/token", a.handleDebugToken)
	h("PUT /admin/v1/programs/{program_id}/debug/receiver", a.handleDebugReceiver)
	h("GET /admin/v1/programs/{program_id}/debug", a.handleDebugPage)
	mux.HandleFunc("GET /admin/v1/programs/{program_id}/debug/listen", a.handleDebugListen)
	h("DELETE /admin/v1/programs/{program_id}/debug/sessions/{corpid}/{agentid}", a.handleDebugClose)
	h("GET /admin/v1/notifications", a.handleNotificationList)
	h("GET /admin/v1/corps", a.handleCorpList)
	h("GET /admin/v1/corps/{corpid}/apps", a.handleAppList)
	h("PUT /admin/v1/corps/{corpid}/apps/{agentid}/programs", a.handleAppPrograms)
	h("PUT /admin/v1/corps/{corpid}/apps/{agentid}/test_install", a.handleAppTestInstall)
	h("GET /admin/v1/corps/{corpid}/apps/{agentid}/keyword_rules", a.handleKeywordRuleList)
	h("DELETE /admin/v1/corps/{corpid}/apps/{agentid}/keyword_rules/{rule_id}", a.handleKeywordRuleDelete)
	h("PUT /admin/v1/corps/{corpid}/apps/{agentid}/knowledge_permission", a.handleAppKnowledgePermission)
	h("POST /admin/v1/corps/{corpid}/media", a.handleMediaUpload)
	h("GET /admin/v1/corps/{corpid}/knowledge_bases", a.handleKBList)
	h("POST /admin/v1/corps/{corpid}/knowledge_bases", a.handleKBCreate)
	h("GET /admin/v1/corps/{corpid}/knowledge_bases/{kb_id}", a.handleKBGet)
	h("DELETE /admin/v1/corps/{corpid}/knowledge_bases/{kb_id}", a.handleKBDelete)
	h("POST /admin/v1/corps/{corpid}/knowledge_bases/{kb_id}/docs", a.handleKBAddDocs)
	h("POST /admin/v1/corps/{corpid}/knowledge_bases/{kb_id}/query", a.handleKBQuery)
	h("PUT /admin/v1/corps/{corpid}/apps/{agentid}/knowledge_bases/{kb_id}", a.handleKBGrant)
	h("DELETE /admin/v1/corps/{corpid}/apps/{agentid}/knowledge_bases/{kb_id}", a.handleKBGrant)
	h("GET /admin/v1/corps/{corpid}/members", a.handleMemberList)
	h("PUT /admin/v1/corps/{corpid}/auth", a.handleCorpAuth)
	h("PUT /admin/v1/corps/{corpid}/members/{userid}/editions", a.handleMemberEditions)
	h("GET /admin/v1/corps/{corpid}/chats", a.handleChatList)
	h("GET /admin/v1/corps/{corpid}/public_keys", a.handlePublicKeyList)
	h("POST /admin/v1/corps/{corpid}/messages", a.handleMessageCreate)
	h("POST /admin/v1/corps/{corpid}/messages/batch", a.handleMessageBatch)
	h("GET /admin/v1/corps/{corpid}/messages", a.handleMessageList)
	h("PUT /admin/v1/corps/{corpid}/chats/{chatid}", a.handleChatPut)
	h("POST /admin/v1/corps/{corpid}/agree", a.handleAgreePut)
	h("GET /admin/v1/audit", a.handleAuditList)
	h("GET /admin/v1/events", a.handleEventList)
	h("GET /admin/v1/tasks", a.handleTaskList)
	h("GET /admin/v1/corps/{corpid}/tag_groups", a.handleTagGroupList)
	h("PUT /admin/v1/corps/{corpid}/tag_groups", a.handleTagGroupsPut)
	h("GET /admin/v1/corps/{corpid}/quota", a.handleQuota)
	h("GET /admin/v1/ww_models", a.handleWWModelList)
	h("PUT /admin/v1/ww_models/{model_id}", a.handleWWModelPut)
	h("DELETE /admin/v1/ww_models/{model_id}", a.handleWWModelDelete)
	h("POST /admin/v1/corps/{corpid}/apps/{agentid}/token", a.handleAppToken)
	h("GET /admin/v1/traffic", a.handleTrafficList)
	h("GET /admin/v1/traffic/{id}", a.handleTrafficGet)
	h("POST /admin/v1/traffic/{id}/replay", a.handleTrafficReplay)
	h("POST /admin/v1/traffic/export", a.handleTrafficExport)
	if a.cfg.Relay != nil {
		mux.HandleFunc("POST "+listener.RelayPath, a.handleRelay)
	}
	mux.Handle("/admin/", a.auth(func(r *http.Request) (any, error) {
		return nil, openzone.NotFound.Errorf("no admin route %s %s", r.Method, r.URL.Path)
	}))
}

func (a *API) auth(f func(r *http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.authorized(w, r) {
			return
		}
		v, err := f(r)
		a.audit(r, err)
		a.write(w, v, err)
	})
}

// Protect serves h to the admin token alone (the zone's /metrics).
func (a *API) Protect(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.authorized(w, r) {
			h.ServeHTTP(w, r)
		}
	})
}

// authorized checks the admin token and answers 401 when it is wrong.
func (a *API) authorized(w http.ResponseWriter, r *http.Request) bool {
	tok, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !found || subtle.ConstantTimeCompare([]byte(tok), []byte(a.cfg.AdminToken)) != 1 {
		a.write(w, nil, openzone.Unauthorized.Errorf("admin token missing or wrong: send Authorization: Bearer <admin token>"))
		return false
	}
	return true
}

// write is the admin API's one writer: v as JSON, or err as {"errcode",
// "errmsg"} with the HTTP status of its kind.
func (a *API) write(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	if err != nil {
		kind := openzone.ErrorKind(err)
		if kind == openzone.Internal {
			a.cfg.Logger.Error("admin api: internal error", "err", err)
		}
		w.WriteHeader(status[kind])
		json.NewEncoder(w).Encode(openzone.BaseOf(err))
		return
	}
	w.WriteHeader(http.StatusOK)
	json.NewEncoder(w).Encode(v)
}

// status is the HTTP status of each kind of error.
var status = [...]int{
	openzone.Invalid:      http.StatusBadRequest,
	openzone.NotFound:     http.StatusNotFound,
	openzone.Conflict:     http.StatusConflict,
	openzone.Unauthorized: http.StatusUnauthorized,
	openzone.TooLarge:     http.StatusRequestEntityTooLarge,
	openzone.Internal:     http.StatusInternalServerError,
	openzone.RateLimited:  http.StatusTooManyRequests,
}

func (a *API) handleStatus(r *http.Request) (any, error) {
	return a.cfg.Info, nil
}

func (a *API) handleSeedApply(r *http.Request) (any, error) {
	data, err := io.ReadAll(io.LimitReader(r.Body, MaxSeedBytes+1))
	if err != nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "reading the seed file failed")
	}
	if len(data) > MaxSeedBytes {
		return nil, openzone.Errorf(openzone.ErrRequestTooLarge, "seed file over %d bytes", MaxSeedBytes)
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "seed.yaml"
	}
	sum, err := a.cfg.Deploy.ApplySeed(r.Context(), name, data, r.URL.Query().Get("base"))
	if err == nil {
		a.scenarioChanged(r.Context()) // a seed may change test corps and installs
	}
	return sum, err
}

type programView struct {
	*openzone.Program
	Isolation sandbox.Decision            `json:"isolation"`
	Instances []supervisor.InstanceStatus `json:"instances"`
}

// view is what the API shows of a program: its settings, how it runs on
// this host, and its instances.
func (a *API) view(p *openzone.Program) programView {
	return programView{Program: p, Isolation: a.cfg.Deploy.Isolation(p), Instances: a.cfg.Supervisor.Instances(p.ID)}
}

func (a *API) handleProgramList(r *http.Request) (any, error) {
	ps, err := a.cfg.Store.ProgramList(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]programView, 0, len(ps))
	for _, p := range ps {
		out = append(out, a.view(p))
	}
	return map[string]any{"programs": out}, nil
}

func (a *API) handleProgramGet(r *http.Request) (any, error) {
	p, err := a.cfg.Store.ProgramGet(r.Context(), r.PathValue("program_id"))
	if err != nil {
		return nil, err
	}
	return a.view(p), nil
}

func (a *API) handleProgramLogs(r *http.Request) (any, error) {
	id := r.PathValue("program_id")
	if _, err := a.cfg.Store.ProgramGet(r.Context(), id); err != nil {
		return nil, err
	}
	tail := 200
	if s := r.URL.Query().Get("tail"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "tail must be an integer from 1 to 10000")
		}
		tail = n
	}
	return map[string]any{"program_id": id, "lines": a.cfg.Supervisor.Logs(id, tail)}, nil
}

func (a *API) handleCorpList(r *http.Request) (any, error) {
	cs, err := a.cfg.Store.CorpList(r.Context())
	if err != nil {
		return nil, err
	}
	return map[string]any{"corps": cs}, nil
}

func (a *API) handleAppList(r *http.Request) (any, error) {
	corpID := r.PathValue("corpid")
	if _, err := a.cfg.Store.CorpGet(r.Context(), corpID); err != nil {
		return nil, err
	}
	apps, err := a.cfg.Store.AppList(r.Context(), corpID)
	if err != nil {
		return nil, err
	}
	type appView struct {
		*openzone.App
		Programs []string `json:"programs"`
	}
	out := make([]appView, 0, len(apps))
	for _, app := range apps {
		progs, err := a.cfg.Store.AppProgramsList(r.Context(), app.CorpID, app.AgentID)
		if err != nil {
			return nil, err
		}
		out = append(out, appView{App: app, Programs: progs})
	}
	return map[string]any{"apps": out}, nil
}

func (a *API) appFromPath(r *http.Request) (*openzone.App, error) {
	agentID, err := strconv.ParseInt(r.PathValue("agentid"), 10, 64)
	if err != nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "agentid %q is not an integer", r.PathValue("agentid"))
	}
	return a.cfg.Store.AppGet(r.Context(), r.PathValue("corpid"), agentID)
}

func (a *API) handleAppToken(r *http.Request) (any, error) {
	app, err := a.appFromPath(r)
	if err != nil {
		return nil, err
	}
	t, err := a.cfg.Apps.TokenForApp(r.Context(), app)
	if err != nil {
		return nil, err
	}
	return map[string]any{"access_token": t.Token, "expires_in": int(t.ExpiresAt.Sub(a.cfg.Now()).Seconds())}, nil
}

// handleEventList lists zone → program events with their delivery state.
// taskView is a task without its sealed payloads.
type taskView struct {
	JobID     string `json:"jobid"`
	Kind      string `json:"kind"`
	CorpID    string `json:"corpid"`
	AgentID   int64  `json:"agentid"`
	CallerID  string `json:"caller_id,omitempty"`
	ProgramID string `json:"program_id"`
	AbilityID string `json:"ability_id"`
	// Backend answers a task of WeCom's models (builtin, openai,
	// program:<id>); such a task has no ability.
	Backend         string    `json:"backend,omitempty"`
	Debug           bool      `json:"debug"`
	State           string    `json:"state"`
	Attempts        int       `json:"attempts"`
	LastError       string    `json:"last_error,omitempty"`
	ErrCode         int       `json:"err_code,omitempty"`
	ResponseErrcode int       `json:"response_errcode"`
	CreatedAt       time.Time `json:"created_at"`
	DeliveredAt     time.Time `json:"delivered_at"`
	DoneAt          time.Time `json:"done_at"`
}

// handleTaskList is GET /admin/v1/tasks?program_id=&limit= (newest first,
// limit default 100, max 1000). Payloads stay sealed: they may hold chat
// content.
func (a *API) handleTaskList(r *http.Request) (any, error) {
	limit := 0
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "limit must be from 1 to 1000, got %q", l)
		}
		limit = n
	}
	ts, err := a.cfg.Store.TaskList(r.Context(), r.URL.Query().Get("program_id"), limit)
	if err != nil {
		return nil, err
	}
	out := make([]taskView, 0, len(ts))
	for _, t := range ts {
		backend := ""
		switch t.Kind {
		case openzone.TaskAppAsync, openzone.TaskProgram, openzone.TaskModel:
		default: // WeCom's models keep their backend where others keep the ability
			backend, t.AbilityID = t.AbilityID, ""
		}
		out = append(out, taskView{Backend: backend, JobID: t.JobID, Kind: string(t.Kind), CorpID: t.CorpID, AgentID: t.AgentID, CallerID: t.CallerID,
			ProgramID: t.ProgramID, AbilityID: t.AbilityID, Debug: t.Debug, State: string(t.State), Attempts: t.Attempts,
			LastError: t.LastError, ErrCode: t.ErrCode, ResponseErrcode: t.ResponseErrcode, CreatedAt: t.CreatedAt,
			DeliveredAt: t.DeliveredAt, DoneAt: t.DoneAt})
	}
	return map[string]any{"tasks": out}, nil
}

func (a *API) handleEventList(r *http.Request) (any, error) {
	es, err := a.cfg.Store.EventList(r.Context(), r.URL.Query().Get("program_id"), 200)
	if err != nil {
		return nil, err
	}
	return map[string]any{"events": es}, nil
}
