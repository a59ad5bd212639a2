// Package appapi serves the WeCom-compatible app API (/cgi-bin/…): gettoken
// and the chatdata/* endpoints of the data & intelligence zone. Every reply
// is HTTP 200 with a JSON body carrying errcode and errmsg, exactly as WeCom
// answers, so existing WeCom client libraries work by changing their base URL.
package appapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/apps"
	"github.com/openzone/openzone/internal/guard"
	"github.com/openzone/openzone/internal/store"
)

// MaxBodyBytes is the largest request body the app API reads; a larger one
// is refused with 45002 before it is read into memory.
const MaxBodyBytes = 2 << 20

// API is the app-facing HTTP face.
type API struct{ cfg Config }

// Config configures the API.
type Config struct {
	// Apps authenticates apps and makes their calls (apps.Service).
	Apps Apps
	// Tasks answers async_program_result (tasks.Service).
	Tasks Tasks
	// Debug serves the app half of debug mode (debugmode.Service).
	Debug Debug
	// Logs keeps programs' log levels (logs.Service).
	Logs Logs
	// Display keeps the display component's configuration (display.Service).
	Display Display
	// Media stores upload_media's files (media.Service).
	Media Media
	// Store serves the endpoints only this face has (the archive's).
	Store  store.Store
	Now    func() time.Time
	Logger *slog.Logger
	// Door limits failed gettoken attempts per source; nil: no limit.
	Door *guard.Door
}

// Apps is what an app may do (apps.Service).
type Apps interface {
	Token(ctx context.Context, corpID, secret string) (*openzone.AccessToken, error)
	Authenticate(ctx context.Context, accessToken string) (*openzone.App, error)
	Sync(ctx context.Context, app *openzone.App, c apps.Call) (string, openzone.TrafficRecord, error)
	Async(ctx context.Context, app *openzone.App, c apps.Call) (string, openzone.TrafficRecord, error)
	SetReceiveProgram(ctx context.Context, app *openzone.App, programID string) error
	Program(ctx context.Context, app *openzone.App, programID string) (*openzone.Program, error)
}

// Logs keeps programs' log levels.
type Logs interface {
	Level(ctx context.Context, programID string) (int, error)
	SetLevel(ctx context.Context, programID string, level int) error
}

// Tasks reads an app's async task.
type Tasks interface {
	AppResult(ctx context.Context, app *openzone.App, jobID string) (responseErrcode int, responseData string, err error)
}

// Debug is the app half of debug mode.
type Debug interface {
	AppOpen(ctx context.Context, app *openzone.App, programID, token string) error
	AppClose(ctx context.Context, app *openzone.App, programID string) error
	Check(ctx context.Context, app *openzone.App, programID string) (int, error)
}

// New returns the app API.
func New(cfg Config) *API { return &API{cfg: cfg} }

// handlerFunc serves one chatdata endpoint for an authenticated app.
type handlerFunc func(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error)

// Register adds the app API routes to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("/cgi-bin/gettoken", a.handleGetToken)
	chat := map[string]handlerFunc{
		"sync_call_program":    a.handleSyncCallProgram,
		"set_receive_callback": a.handleSetReceiveCallback,
		"open_debug_mode":      a.handleOpenDebugMode,
		"close_debug_mode":     a.handleCloseDebugMode,
		"check_debug_mode":     a.handleCheckDebugMode,
		"set_public_key":       a.handleSetPublicKey,
		"get_auth_user_list":   a.handleGetAuthUserList,
		"get_corp_auth_info":   a.handleGetCorpAuthInfo,
		"async_program_task":   a.handleAsyncProgramTask,
		"async_program_result": a.handleAsyncProgramResult,
		"set_log_level":        a.handleSetLogLevel,
		"get_log_level":        a.handleGetLogLevel,

		"set_hide_sensitiveinfo_config": a.handleSetHideConfig,
		"get_hide_sensitiveinfo_config": a.handleGetHideConfig,
	}
	// upload_media is multipart, not JSON: it reads its own body.
	mux.HandleFunc("/cgi-bin/chatdata/upload_media", a.handleUploadMedia)
	mux.HandleFunc("/cgi-bin/chatdata/{name}", func(w http.ResponseWriter, r *http.Request) {
		h, ok := chat[r.PathValue("name")]
		if !ok {
			a.unknown(w, r)
			return
		}
		a.serveChat(w, r, h)
	})
	// Every /cgi-bin answer is WeCom-shaped, an unknown path's too.
	mux.HandleFunc("/cgi-bin/", a.unknown)
}

// unknown answers a path this zone does not serve as WeCom answers an API
// it does not have: HTTP 200, errcode 404 naming the path.
func (a *API) unknown(w http.ResponseWriter, r *http.Request) {
	writeError(w, a.cfg.Logger, openzone.NotFound.Errorf("API %s is not available in this zone", r.URL.Path))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(`{"errcode":-1,"errmsg":"system busy"}`)
	}
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}

// writeError writes err as WeCom does: HTTP 200, errcode and an errmsg with
// a hint that identifies this failure in the zone's log. Internal errors are
// logged in full and answered with errcode -1 only.
func writeError(w http.ResponseWriter, log *slog.Logger, err error) {
	hint := newHint()
	code := openzone.ErrorCode(err)
	if openzone.ErrorKind(err) == openzone.Internal {
		log.Error("app api: internal error", "hint", hint, "err", err)
	}
	writeJSON(w, openzone.Base{Errcode: code, Errmsg: openzone.ErrorMessage(err) + ", hint: [" + hint + "]"})
}

func newHint() string {
	var b [6]byte
	rand.Read(b[:])
	return time.Now().Format("20060102150405") + "-" + hex.EncodeToString(b[:])
}

// serveChat authenticates the app and runs h on the JSON body.
func (a *API) serveChat(w http.ResponseWriter, r *http.Request, h handlerFunc) {
	a.serveApp(w, r, func(app *openzone.App) (openzone.Reply, error) {
		req, err := readBody(w, r)
		if err != nil {
			return nil, err
		}
		return h(r.Context(), app, req)
	})
}

// serveApp answers a POST of an authenticated app with serve's reply, or
// its error as WeCom writes errors; serve reads the body.
func (a *API) serveApp(w http.ResponseWriter, r *http.Request, serve func(app *openzone.App) (openzone.Reply, error)) {
	if r.Method != http.MethodPost {
		writeError(w, a.cfg.Logger, openzone.Errorf(openzone.ErrInvalidParam, "%s must be called with POST", r.URL.Path))
		return
	}
	app, err := a.cfg.Apps.Authenticate(r.Context(), r.URL.Query().Get("access_token"))
	if err != nil {
		writeError(w, a.cfg.Logger, err)
		return
	}
	res, err := serve(app)
	if err != nil {
		writeError(w, a.cfg.Logger, err)
		return
	}
	writeJSON(w, res)
}

// request is a decoded JSON body whose fields are read one by one, so a
// missing or mistyped field is reported by name.
type request struct {
	fields map[string]json.RawMessage
}

func readBody(w http.ResponseWriter, r *http.Request) (*request, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, openzone.Errorf(openzone.ErrRequestTooLarge, "request body of %d bytes is over the limit of %d bytes", r.ContentLength, MaxBodyBytes)
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.UseNumber()
	req := &request{}
	if err := dec.Decode(&req.fields); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, openzone.Errorf(openzone.ErrRequestTooLarge, "request body is over the limit of %d bytes", MaxBodyBytes)
		}
		if err.Error() == "EOF" {
			return nil, openzone.Errorf(openzone.ErrBadBodyJSON, "request body is empty: a JSON object is required")
		}
		return nil, openzone.Errorf(openzone.ErrBadBodyJSON, "request body is not a JSON object")
	}
	if req.fields == nil {
		req.fields = map[string]json.RawMessage{}
	}
	return req, nil
}

// str returns the string field name; required fields that are absent or
// empty are an error naming the field.
func (q *request) str(name string, required bool) (string, error) {
	raw, ok := q.fields[name]
	if !ok || string(raw) == "null" {
		if required {
			return "", openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter %s", name)
		}
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", openzone.Errorf(openzone.ErrInvalidParam, "parameter %s must be a string", name)
	}
	if required && s == "" {
		return "", openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter %s", name)
	}
	return s, nil
}
