package zonesdk

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openzone/openzone/sdk/zonewire"
)

// AsyncJobCallback is the interface that reports an async call's result
// (上报异步任务结果); it is the only interface that carries job_info.
const AsyncJobCallback = "program_async_job_call_back"

// MaxResultBytes is the largest sealed invoke reply a Program reads.
const MaxResultBytes = 64 << 20

// Invoke codes, as returned by WeCom's SDK Invoke (doc /100052).
const (
	CodeInternal    = -10001 // internal, not network: bad config, oversized reply
	CodeNetwork     = -10002 // connect failure, read/write timeout, cancelled
	CodeHTTPStatus  = -10003 // the zone answered with a status other than 200
	CodeSignature   = -10004 // the reply does not authenticate
	CodeDecrypt     = -10005 // the reply is not a sealed packet
	CodeSecretVer   = -10008 // the zone and the program disagree on the secret version
	CodeInvalidJSON = -10009 // the request (or the opened reply) is not valid JSON
)

// InvokeError is a failed Invoke. Code is one of the Code* constants.
// Program.OpenDebugMode fails with one too, with the same codes.
type InvokeError struct {
	Code int
	Msg  string
	Err  error // the underlying error, if any (a *url.Error, context.Canceled, …)

	op string // what failed, for Error: "" for an invoke
}

func (e *InvokeError) Error() string {
	op := e.op
	if op == "" {
		op = "invoke"
	}
	return "zonesdk: " + op + " failed (" + strconv.Itoa(e.Code) + "): " + e.Msg
}

func (e *InvokeError) Unwrap() error { return e.Err }

// Invoke calls the SDK interface iface (sync_msg, spec_notify_app,
// program_async_job_call_back, …) and returns its JSON reply, which holds
// the interface's own errcode and errmsg (see Errcode). The reply is
// returned as is, whatever its errcode; err is an *InvokeError only when
// the invoke itself failed.
//
// request is the interface's request object: a json.RawMessage, []byte or
// string is sent as is and must be valid JSON (else CodeInvalidJSON); nil is
// sent as {}; any other value is marshalled with encoding/json.
//
// The invoke acts with the context given by WithInvokeContext, else with
// that of the call ctx carries (RequestFrom): corpid, agentid, ability_id,
// and job_info, which is sent with program_async_job_call_back only.
//
// It is sealed with the secret of the call ctx carries (so invokes made
// for a debug call use its debug secret), else with the debug secret of
// its corp and app (see OpenDebugMode), else with the production secret.
// With none of them it fails with CodeSecretVer.
func (p *Program) Invoke(ctx context.Context, iface string, request any) (json.RawMessage, error) {
	start := time.Now()
	res, hd, err := p.invoke(ctx, iface, request)
	attrs := []any{
		slog.String("interface", iface),
		slog.String("request_id", hd.RequestID),
		slog.Int("secret_ver", hd.SecretVer),
		slog.Duration("duration", time.Since(start)),
	}
	if err != nil {
		p.log.Debug("zonesdk: invoke failed", append(attrs, slog.Any("err", err))...)
		return nil, err
	}
	p.log.Debug("zonesdk: invoke", attrs...)
	return res, nil
}

func (p *Program) invoke(ctx context.Context, iface string, request any) (json.RawMessage, zonewire.Header, error) {
	var hd zonewire.Header
	if iface == "" {
		return nil, hd, &InvokeError{Code: CodeInternal, Msg: "empty interface name"}
	}
	if p.invokeURL == "" {
		return nil, hd, &InvokeError{Code: CodeInternal, Msg: "no zone URL configured (Config.ZoneURL, " + EnvAPI + ")"}
	}
	body, err := requestJSON(request)
	if err != nil {
		return nil, hd, &InvokeError{Code: CodeInvalidJSON, Msg: err.Error(), Err: err}
	}
	ic := invokeContextFrom(ctx)
	inv := zonewire.Invoke{
		Interface: iface,
		CorpID:    ic.CorpID,
		AgentID:   ic.AgentID,
		AbilityID: ic.AbilityID,
		Request:   body,
		Instance:  p.instance,
	}
	if iface == AsyncJobCallback {
		inv.JobInfo = ic.JobInfo
	}
	plain, err := json.Marshal(inv)
	if err != nil {
		return nil, hd, &InvokeError{Code: CodeInvalidJSON, Msg: "marshal invoke: " + err.Error(), Err: err}
	}

	sec, err := p.invokeSecret(ctx, ic)
	if err != nil {
		return nil, hd, err
	}
	keys := sec.keys
	hd = zonewire.Header{
		ProgramID: p.ProgramID(),
		SecretVer: keys.Secret.Ver,
		RequestID: zonewire.NewRequestID(),
		Timestamp: p.now().Unix(),
	}
	sealed := keys.Seal(zonewire.PurposeInvoke, hd, plain)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.invokeURL, bytes.NewReader(sealed))
	if err != nil {
		return nil, hd, &InvokeError{Code: CodeInternal, Msg: "build request: " + err.Error(), Err: err}
	}
	hd.Apply(hreq.Header, true)
	hreq.Header.Set("Content-Type", zonewire.ContentType)

	resp, err := p.client.Do(hreq)
	if err != nil {
		return nil, hd, &InvokeError{Code: CodeNetwork, Msg: err.Error(), Err: err}
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, MaxResultBytes+1))
	if err != nil {
		return nil, hd, &InvokeError{Code: CodeNetwork, Msg: "reading reply: " + err.Error(), Err: err}
	}
	if len(rb) > MaxResultBytes {
		return nil, hd, &InvokeError{Code: CodeInternal, Msg: fmt.Sprintf("reply larger than %d bytes", MaxResultBytes)}
	}

	ww := wwHeaders(resp.Header)
	exc := first(ww, zonewire.HeaderException)
	if exc == strconv.Itoa(zonewire.ExcSecretVer) {
		msg := fmt.Sprintf("zone refused secret version %d (%s %s; HTTP %d%s)", hd.SecretVer, zonewire.HeaderException, exc, resp.StatusCode, zoneErrmsg(rb))
		if sec.debug() {
			msg += "; it is the debug secret of corp " + strconv.Quote(sec.session.CorpID) + " app " + strconv.FormatInt(sec.session.AgentID, 10) +
				": its debug credential expired, close_debug_mode ended it, or another OpenDebugMode replaced it; open debug mode again"
		}
		return nil, hd, &InvokeError{Code: CodeSecretVer, Msg: msg}
	}
	if resp.StatusCode != http.StatusOK || exc != "" {
		msg := "HTTP " + strconv.Itoa(resp.StatusCode)
		if exc != "" {
			msg += " (" + zonewire.HeaderException + " " + exc + ")"
		}
		return nil, hd, &InvokeError{Code: CodeHTTPStatus, Msg: msg + zoneErrmsg(rb)}
	}
	if v := first(ww, zonewire.HeaderSecretVer); v != "" && v != strconv.Itoa(hd.SecretVer) {
		return nil, hd, &InvokeError{Code: CodeSecretVer, Msg: fmt.Sprintf(
			"reply sealed with secret version %s, program has %d", truncate(v, 16), hd.SecretVer)}
	}
	res, err := keys.Open(zonewire.PurposeResult, hd, rb)
	if err != nil {
		switch zonewire.ExceptionCode(err) {
		case zonewire.ExcAuth:
			return nil, hd, &InvokeError{Code: CodeSignature, Msg: "reply does not authenticate", Err: err}
		case zonewire.ExcSecretVer:
			return nil, hd, &InvokeError{Code: CodeSecretVer, Msg: err.Error(), Err: err}
		default:
			return nil, hd, &InvokeError{Code: CodeDecrypt, Msg: "reply is not a sealed packet", Err: err}
		}
	}
	if !json.Valid(res) {
		return nil, hd, &InvokeError{Code: CodeInvalidJSON, Msg: "opened reply is not valid JSON"}
	}
	return json.RawMessage(res), hd, nil
}

// invokeSecret returns the secret an invoke with context ic is sealed with:
//
//   - when ctx carries a call of the same corp and app, the secret that
//     call opened with (for a debug call whose secret OpenDebugMode has
//     replaced since, the new debug secret of that corp and app);
//   - else the debug secret of ic's corp and app, if the Program holds one;
//   - else the production secret;
//   - else none: an *InvokeError with CodeSecretVer.
func (p *Program) invokeSecret(ctx context.Context, ic InvokeContext) (*secretEntry, error) {
	if req, ok := RequestFrom(ctx); ok && req.secret != nil && req.CorpID == ic.CorpID && req.AgentID == ic.AgentID {
		if req.secret.debug() {
			if cur := p.keys.debugFor(req.CorpID, req.AgentID); cur != nil {
				return cur, nil
			}
		}
		return req.secret, nil
	}
	if sec := p.keys.debugFor(ic.CorpID, ic.AgentID); sec != nil {
		return sec, nil
	}
	if sec := p.keys.production(); sec != nil {
		return sec, nil
	}
	return nil, &InvokeError{Code: CodeSecretVer, Msg: fmt.Sprintf(
		"debug mode is not open for corp %q app %d (call OpenDebugMode with that app's access_token), and the program has no production secret (Config.Secret, %s)",
		truncate(ic.CorpID, 64), ic.AgentID, EnvSecret)}
}

// requestJSON returns the JSON of an invoke request.
func requestJSON(request any) (json.RawMessage, error) {
	var b []byte
	switch v := request.(type) {
	case nil:
		return json.RawMessage("{}"), nil
	case json.RawMessage:
		b = v
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		m, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("marshal request: %w", err)
		}
		return m, nil
	}
	if !json.Valid(b) {
		return nil, errors.New("request is not valid JSON")
	}
	return json.RawMessage(bytes.Clone(b)), nil
}

// zoneErrmsg renders the body of a zone error answer for an error message:
// ": errcode N, <errmsg>" for a JSON body, ": <text>" for plain text.
func zoneErrmsg(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	var e struct {
		Errcode *int   `json:"errcode"`
		Errmsg  string `json:"errmsg"`
	}
	if json.Unmarshal(body, &e) == nil && (e.Errcode != nil || e.Errmsg != "") {
		s := ": "
		if e.Errcode != nil {
			s += "errcode " + strconv.Itoa(*e.Errcode)
			if e.Errmsg != "" {
				s += ", "
			}
		}
		return s + truncate(e.Errmsg, 256)
	}
	return ": " + truncate(strings.ToValidUTF8(string(body), "?"), 256)
}

// Errcode returns the errcode and errmsg of an interface reply. A reply
// without errcode counts as 0; a reply that is not a JSON object gives
// CodeInvalidJSON.
func Errcode(reply json.RawMessage) (int, string) {
	var e struct {
		Errcode int    `json:"errcode"`
		Errmsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(reply, &e); err != nil {
		return CodeInvalidJSON, "reply is not a JSON object with errcode and errmsg"
	}
	return e.Errcode, e.Errmsg
}

// GenerateNotifyID returns a fresh notify_id for spec_notify_app (WeCom's
// spec_gen_notify_id): 32 URL-safe characters from 192 random bits.
func GenerateNotifyID() string {
	var b [24]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		panic("zonesdk: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}
