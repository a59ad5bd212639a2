// Package wwspec is the behaviour of WeCom's Java and C++ zone SDKs
// (专区SDK) — SpecCallbackSDK, SpecSDK and SpecUtil — over package zonesdk:
// the core of OpenZone's native library libWeWorkSpecSDK.so (sdk/native),
// whose JNI and C faces only convert arguments. It is pure Go, so its rules
// are tested without a C compiler or a JDK.
//
// A Runtime is one process's SDK: the zonesdk.Program it builds from the
// environment the zone gives a deployed instance (OPENZONE_API,
// OPENZONE_PROGRAM_ID, OPENZONE_SECRET), or, in debug mode, from
// OPENZONE_API alone, the program then learning its id and debug secret
// from OpenDebugMode. Objects the faces hand out (callbacks and SDKs) live in
// a Handles table under int64 handles that are never reused, so a stale or
// forged handle finds nothing instead of freed memory.
//
// Failures follow WeCom's codes: a callback that cannot be opened is not OK
// and answers with its ww-exception code (−20001 no method, −20002 no
// headers, −20003 no body, else the zonewire exception), and Invoke
// returns WeCom's Invoke codes (−10001 … −10009).
package wwspec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/openzone/openzone/sdk/zonesdk"
	"github.com/openzone/openzone/sdk/zonewire"
)

// Version is the SDK version GetSDKVersion reports.
const Version = "openzone-wwspecsdk/1 (protocol v2)"

// Constructor failures of SpecCallbackSDK, as WeCom's SDK numbers them.
const (
	CodeNoMethod  = -20001 // the request method is missing
	CodeNoHeaders = -20002 // the headers are missing
	CodeNoBody    = -20003 // the body is missing
)

// CodeUnknownInterface is Invoke's code for an interface name that is not
// one (WeCom's −10006). Names the zone does not serve get its errcode.
const CodeUnknownInterface = -10006

// Runtime is the SDK of one process. It is safe for concurrent use.
type Runtime struct {
	prog *zonesdk.Program
	log  *Logger
}

// New returns a Runtime over cfg (see zonesdk.Config). cfg.Logger defaults
// to one writing log's lines; log defaults to standard error.
func New(cfg zonesdk.Config, log *Logger) (*Runtime, error) {
	if log == nil {
		log = NewLogger(os.Stderr)
	}
	if cfg.Logger == nil {
		cfg.Logger = log.Slog()
	}
	p, err := zonesdk.New(cfg)
	if err != nil {
		return nil, err
	}
	log.mu.Lock()
	log.ship = p.ShipLog // every line goes to the zone too (docs/protocol.md §16)
	log.mu.Unlock()
	return &Runtime{prog: p, log: log}, nil
}

// FromEnv returns the Runtime of a program the zone runs, configured from
// the environment: OPENZONE_API, OPENZONE_PROGRAM_ID and OPENZONE_SECRET,
// the last two of which a program in debug mode does without. It never
// fails: a missing OPENZONE_API makes invokes and OpenDebugMode fail
// saying so, and a malformed variable is logged by name (never its value)
// and left out, so the program still starts and its calls fail with the
// exception that says what is missing.
func FromEnv(log *Logger) *Runtime {
	if log == nil {
		log = NewLogger(os.Stderr)
	}
	cfg, err := zonesdk.ConfigFromEnv()
	for _, e := range unwrapJoined(err) {
		var ee *zonesdk.EnvError
		if !errors.As(e, &ee) {
			continue
		}
		if strings.TrimSpace(os.Getenv(ee.Var)) != "" {
			log.Write(LevelError, "", "wwspecsdk", 0, e.Error())
		}
		// Unset is no error here: a program in debug mode has no secret
		// and no program id (OpenDebugMode brings both), and one without
		// OPENZONE_API learns so at its first invoke.
	}
	if cfg.ProgramID == "" {
		cfg.Secret = zonewire.Secret{} // a secret without its program is no use
	}
	rt, err := New(cfg, log)
	if err != nil {
		log.Write(LevelError, "", "wwspecsdk", 0, err.Error()+"; running without a production secret")
		cfg.Secret, cfg.ProgramID = zonewire.Secret{}, ""
		if rt, err = New(cfg, log); err != nil {
			// Only a malformed zone URL is left, and ConfigFromEnv
			// checked it.
			panic("wwspec: " + err.Error())
		}
	}
	return rt
}

func unwrapJoined(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// Logger returns the runtime's logger.
func (rt *Runtime) Logger() *Logger { return rt.log }

// Program returns the zonesdk.Program under the runtime.
func (rt *Runtime) Program() *zonesdk.Program { return rt.prog }

// Callback is a call from the zone, as WeCom's SpecCallbackSDK holds it: the
// opened request, or the exception code it was refused with.
type Callback struct {
	req  *zonesdk.Request
	code int
}

// OpenCallback opens a call: method is the HTTP method ("" when missing),
// h the request headers (nil when missing; the ww-* names in any letter
// case) and body the sealed body (nil when missing). A call that cannot be
// opened gives a Callback that is not OK, whose Respond answers with its
// exception; the reason is logged.
func (rt *Runtime) OpenCallback(method string, h http.Header, body []byte) *Callback {
	var err error
	switch {
	case method == "":
		err = &zonewire.Error{Code: CodeNoMethod, Reason: "SpecCallbackSDK: no request method"}
	case h == nil:
		err = &zonewire.Error{Code: CodeNoHeaders, Reason: "SpecCallbackSDK: no request headers"}
	case body == nil:
		err = &zonewire.Error{Code: CodeNoBody, Reason: "SpecCallbackSDK: no request body"}
	case !strings.EqualFold(method, http.MethodPost):
		err = &zonewire.Error{Code: zonewire.ExcMalformed, Reason: "SpecCallbackSDK: the zone calls programs with POST, not " + strconv.Quote(truncate(method, 16))}
	default:
		var req *zonesdk.Request
		if req, err = rt.prog.OpenCall(h, body); err == nil {
			if req.CallType == zonesdk.CallProbe {
				// The zone's pre-flight probe of a debug receiver (protocol
				// §15.3) reaches a WeCom program, which knows call types 1
				// and 2, as an app's call of no ability: programs answer
				// that as an unknown ability, with no side effect (one that
				// took every other call for an event would call
				// spec_notify_app). As OpenZone's Python drop-in does.
				req.CallType, req.AbilityID, req.Data, req.IsAsync = zonesdk.CallApp, "", "", false
			}
			// Lines this thread logs without a req_id now carry the
			// call's, until it answers or opens another.
			rt.log.serving(req.RequestID)
			return &Callback{req: req}
		}
	}
	code := zonewire.ExceptionCode(err)
	rt.log.Write(LevelError, "", "wwspecsdk", 0, fmt.Sprintf("call refused (ww-exception %d): %v", code, err))
	return &Callback{code: code}
}

// OK reports whether the call was opened (WeCom's IsOk).
func (c *Callback) OK() bool { return c != nil && c.req != nil }

// Request returns the opened call, or nil.
func (c *Callback) Request() *zonesdk.Request {
	if c == nil {
		return nil
	}
	return c.req
}

// Code returns the exception code of a call that could not be opened, 0
// for one that was.
func (c *Callback) Code() int {
	if c == nil {
		return zonewire.ExcMalformed
	}
	return c.code
}

// HeaderField is one response header.
type HeaderField struct{ Name, Value string }

// Respond returns the answer to c (WeCom's BuildResponseHeaderBody): for an
// opened call, response sealed as its reply, appended to dst, with the
// reply's headers; for one that was refused, an empty body and the
// ww-exception header (response is then ignored, as WeCom documents: pass
// ""). A nil c answers as a refused call.
func (rt *Runtime) Respond(dst []byte, c *Callback, response string) ([]HeaderField, []byte) {
	if !c.OK() {
		return []HeaderField{{zonewire.HeaderException, strconv.Itoa(c.Code())}}, dst
	}
	rt.log.done(c.req.RequestID)
	h := make(http.Header, 4)
	c.req.ReplyHeader(h)
	fields := make([]HeaderField, 0, 4)
	for _, name := range []string{zonewire.HeaderSecretVer, zonewire.HeaderRequestID, zonewire.HeaderTimestamp} {
		fields = append(fields, HeaderField{name, h[name][0]})
	}
	fields = append(fields, HeaderField{"content-type", zonewire.ContentType})
	return fields, rt.prog.AppendReply(dst, c.req, response)
}

// SDK is what WeCom's SpecSDK holds: the context its invokes act with, and
// the call it was made for, if any.
type SDK struct {
	ic  zonesdk.InvokeContext
	req *zonesdk.Request
}

// NewSDK returns an SDK acting for corp corpID, app agentID, ability
// abilityID and, for program_async_job_call_back, job_info jobInfo
// (SpecSDK(corpid, agentid[, ability_id[, job_info]])).
func NewSDK(corpID string, agentID int64, abilityID, jobInfo string) *SDK {
	return &SDK{ic: zonesdk.InvokeContext{CorpID: corpID, AgentID: agentID, AbilityID: abilityID, JobInfo: jobInfo}}
}

// SDKFor returns an SDK acting for the call c (SpecSDK(callback)): its
// corp, app, ability and job_info, and the secret it opened with. It takes
// what it needs from c, so c may go away. It fails for a call that was not
// opened.
func SDKFor(c *Callback) (*SDK, bool) {
	if !c.OK() {
		return nil, false
	}
	return &SDK{ic: c.req.InvokeContext(), req: c.req}, true
}

// Invoke calls the SDK interface api with request (nil: none was set) and
// returns WeCom's Invoke code and the response: the interface's JSON reply
// when code is 0 (read its errcode), else {"errcode":code,"errmsg":…}
// saying what failed. A nil s fails with −10001 (not initialised).
func (rt *Runtime) Invoke(ctx context.Context, s *SDK, api string, request []byte) (int, string) {
	code, rsp := rt.invoke(ctx, s, api, request)
	if code != 0 {
		reqID := ""
		if s != nil && s.req != nil {
			reqID = s.req.RequestID
		}
		rt.log.Write(LevelError, reqID, "wwspecsdk", 0, fmt.Sprintf("Invoke %s: %s", truncate(api, 64), rsp))
	}
	return code, rsp
}

func (rt *Runtime) invoke(ctx context.Context, s *SDK, api string, request []byte) (int, string) {
	switch {
	case s == nil:
		return zonesdk.CodeInternal, errJSON(zonesdk.CodeInternal, "SpecSDK is not initialised (its constructor failed)")
	case !validInterface(api):
		return CodeUnknownInterface, errJSON(CodeUnknownInterface, "not an SDK interface name: "+strconv.Quote(truncate(api, 64)))
	case request == nil:
		return zonesdk.CodeInvalidJSON, errJSON(zonesdk.CodeInvalidJSON, "no request: call SetRequest with the interface's JSON request first")
	}
	if s.req != nil {
		ctx = zonesdk.WithRequest(ctx, s.req)
	} else {
		ctx = zonesdk.WithInvokeContext(ctx, s.ic)
	}
	reply, err := rt.prog.Invoke(ctx, api, request)
	if err != nil {
		var ie *zonesdk.InvokeError
		if errors.As(err, &ie) {
			return ie.Code, errJSON(ie.Code, ie.Msg)
		}
		return zonesdk.CodeInternal, errJSON(zonesdk.CodeInternal, err.Error())
	}
	return 0, string(reply)
}

// validInterface reports whether name can be an SDK interface: 1 to 64
// characters of [a-z0-9_].
func validInterface(name string) bool {
	if name == "" || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// OpenDebugMode opens the SDK half of debug mode with the program's debug
// credential and the app's access_token (SpecUtil.OpenDebugMode,
// Tencent::WxWork::SpecOpenDebugMode) and reports whether it opened. The
// outcome is logged, never the tokens.
func (rt *Runtime) OpenDebugMode(ctx context.Context, debugToken, accessToken string) bool {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	s, err := rt.prog.OpenDebugMode(ctx, debugToken, accessToken)
	if err != nil {
		var ze *zonesdk.ZoneError
		msg := err.Error()
		if errors.As(err, &ze) && ze.Errcode == 710671 {
			msg += " (the debug token expired: get a new one on the program's debug page)"
		}
		rt.log.Write(LevelError, "", "wwspecsdk", 0, "OpenDebugMode: "+msg)
		return false
	}
	rt.log.Write(LevelInfo, "", "wwspecsdk", 0, fmt.Sprintf(
		"debug mode: SDK half open for program %s, corpid %s, agentid %d, debug_mode_status %d, expires %s",
		rt.prog.ProgramID(), s.CorpID, s.AgentID, s.Status, s.ExpiresAt.UTC().Format(time.RFC3339)))
	return true
}

// GenerateNotifyID returns a fresh notify_id (SpecUtil.GenerateNotifyId).
func GenerateNotifyID() string { return zonesdk.GenerateNotifyID() }

// InternalErrorData returns the response data of an internal error, as
// WeCom's spec_make_internal_error_rsp_data does.
func InternalErrorData(errmsg string) string { return errJSON(zonesdk.CodeInternal, errmsg) }

// errJSON returns {"errcode":code,"errmsg":msg}.
func errJSON(code int, msg string) string {
	m, _ := json.Marshal(msg) // a string always marshals
	return `{"errcode":` + strconv.Itoa(code) + `,"errmsg":` + string(m) + `}`
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
