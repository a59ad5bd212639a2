package zonesdk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openzone/openzone/sdk/zonewire"
)

// MaxCallBytes is the largest sealed call a Program reads; a larger one is
// answered 413 without being read (judged from Content-Length, else while
// reading).
const MaxCallBytes = 16 << 20

// HandlerFunc serves one ability. It returns the response data, a JSON
// string that becomes the app's response_data (for an async call it is only
// an acknowledgement and is ignored). An error is answered with HTTP 500.
type HandlerFunc func(ctx context.Context, req *Request) (string, error)

// EventFunc handles an event (call_type 2); req.Data is the event JSON. The
// Program answers the zone with an empty reply; an error is answered with
// HTTP 500.
type EventFunc func(ctx context.Context, req *Request) error

// ErrUnknownAbility, returned (or wrapped) by a handler, answers the call
// as one of an unknown ability: HTTP 404. A fallback handler (see
// Program.HandleFallback) returns it for abilities it does not serve.
var ErrUnknownAbility = errors.New("zonesdk: unknown ability")

// Program is a zone program: the http.Handler for the zone's calls and the
// client of the zone's SDK interfaces. It is safe for concurrent use.
type Program struct {
	cfg       Config
	programID atomic.Pointer[string] // Config.ProgramID, or learned from OpenDebugMode
	keys      *keyring
	guard     *zonewire.Guard
	invokeURL string
	instance  string
	client    *http.Client
	now       func() time.Time
	log       *slog.Logger

	logs logShipper

	mu        sync.RWMutex
	abilities map[string]HandlerFunc
	fallback  HandlerFunc
	event     EventFunc
}

// New returns a Program for cfg. It checks the config and does no I/O.
func New(cfg Config) (*Program, error) {
	switch {
	case cfg.ProgramID != "" && !validProgramID(cfg.ProgramID):
		return nil, errors.New("zonesdk: Config.ProgramID must be 1 to 128 printable ASCII characters, no spaces")
	case cfg.ProgramID == "" && cfg.Secret != (zonewire.Secret{}):
		return nil, errors.New("zonesdk: Config.ProgramID is required with a production secret (only a program in debug mode learns its id from OpenDebugMode)")
	}
	if cfg.Secret.Ver < 0 || cfg.Secret.Ver > math.MaxInt32 || cfg.Secret.Ver == 0 && cfg.Secret.Key != ([32]byte{}) {
		return nil, errors.New("zonesdk: Config.Secret must have a version in [1, 2^31-1] (or be the zero Secret: no production secret)")
	}
	p := &Program{
		instance:  cfg.Instance,
		cfg:       cfg,
		guard:     zonewire.NewGuard(),
		client:    cfg.HTTPClient,
		now:       cfg.Now,
		log:       cfg.Logger,
		abilities: make(map[string]HandlerFunc),
	}
	if cfg.ZoneURL != "" {
		u, err := normalizeZoneURL(cfg.ZoneURL)
		if err != nil {
			return nil, fmt.Errorf("zonesdk: Config.ZoneURL: %w", err)
		}
		p.cfg.ZoneURL = u
		p.invokeURL = u + "/spec/v1/invoke"
	}
	if p.client == nil {
		p.client = &http.Client{Timeout: DefaultInvokeTimeout}
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.cfg.LogOutput == nil {
		p.cfg.LogOutput = os.Stdout
	}
	p.keys = newKeyring(cfg.Secret)
	id := cfg.ProgramID
	p.programID.Store(&id)
	return p, nil
}

// ProgramID returns the program's id: Config.ProgramID, or the id the zone
// named when OpenDebugMode opened debug mode ("" until then).
func (p *Program) ProgramID() string { return *p.programID.Load() }

// learnProgramID sets the program id the zone named for a debug credential.
// A Program is one program: an id other than the one it has is refused.
func (p *Program) learnProgramID(id string) error {
	if !validProgramID(id) {
		return errors.New("the zone named no valid program_id")
	}
	for {
		cur := p.programID.Load()
		if *cur == id {
			return nil
		}
		if *cur != "" {
			return fmt.Errorf("the debug credential is program %q's, and this Program is %q", id, *cur)
		}
		if p.programID.CompareAndSwap(cur, &id) {
			return nil
		}
	}
}

// ZoneURL returns the zone's base URL, or "" when none is configured.
func (p *Program) ZoneURL() string { return p.cfg.ZoneURL }

// Handle registers h for the ability abilityID. It panics when abilityID is
// empty, h is nil or the ability already has a handler.
func (p *Program) Handle(abilityID string, h HandlerFunc) {
	if abilityID == "" {
		panic("zonesdk: Handle with an empty ability id")
	}
	if h == nil {
		panic("zonesdk: Handle " + abilityID + " with a nil handler")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, dup := p.abilities[abilityID]; dup {
		panic("zonesdk: ability " + abilityID + " registered twice")
	}
	p.abilities[abilityID] = h
}

// HandleFallback sets the handler of abilities that have no handler of
// their own (req.AbilityID says which), replacing any previous one; it may
// return ErrUnknownAbility to refuse one. Without a fallback, calls of
// unregistered abilities are answered with HTTP 404.
func (p *Program) HandleFallback(h HandlerFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fallback = h
}

// HandleEvent sets the handler of events (call_type 2), replacing any
// previous one. Without one, events are acknowledged and dropped.
func (p *Program) HandleEvent(h EventFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.event = h
}

// ServeHTTP answers one call from the zone: it opens the sealed request,
// dispatches it and seals the reply. See the package documentation for
// the answers the zone gets on failure.
func (p *Program) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed: the zone calls programs with POST", http.StatusMethodNotAllowed)
		return
	}
	if r.ContentLength > MaxCallBytes {
		http.Error(w, "call over "+strconv.Itoa(MaxCallBytes)+" bytes", http.StatusRequestEntityTooLarge)
		return
	}
	// Headers that cannot belong to a call of this program are answered
	// before the body is read: nobody without a secret makes it read more.
	if hd, err := p.checkHeader(r.Header); err != nil {
		p.exception(w, r, hd, err)
		return
	}
	// Packet buffers are pooled: a program serving large calls then
	// allocates per call only the strings its handler sees.
	bodyBuf := getBuf()
	defer putBuf(bodyBuf)
	bb := bytes.NewBuffer((*bodyBuf)[:0])
	_, readErr := bb.ReadFrom(http.MaxBytesReader(w, r.Body, MaxCallBytes))
	var mbe *http.MaxBytesError
	if errors.As(readErr, &mbe) {
		http.Error(w, "call over "+strconv.Itoa(MaxCallBytes)+" bytes", http.StatusRequestEntityTooLarge)
		return
	}
	body := bb.Bytes()
	*bodyBuf = body[:0]
	plainBuf := getBuf()
	defer putBuf(plainBuf)
	req, hd, err := p.openCall(r.Header, body, readErr, plainBuf)
	if err != nil {
		p.exception(w, r, hd, err)
		return
	}
	attrs := []any{
		slog.String("request_id", hd.RequestID),
		slog.Int("call_type", req.CallType),
		slog.String("ability_id", req.AbilityID),
		slog.Bool("is_async", req.IsAsync),
		slog.Int("secret_ver", hd.SecretVer),
	}
	data, ce := p.serve(WithRequest(r.Context(), req), req, attrs)
	if ce != nil {
		http.Error(w, ce.msg, ce.status)
		return
	}
	sealedBuf := getBuf()
	defer putBuf(sealedBuf)
	sealed := p.AppendReply((*sealedBuf)[:0], req, data)
	*sealedBuf = sealed[:0]
	h := w.Header()
	req.ReplyHeader(h)
	h.Set("Content-Length", strconv.Itoa(len(sealed)))
	w.WriteHeader(http.StatusOK)
	w.Write(sealed)
	p.log.Debug("zonesdk: call served", append(attrs, slog.Duration("duration", time.Since(start)))...)
}

// callError is the answer to an opened call the program does not serve:
// an HTTP status and a line.
type callError struct {
	status int
	msg    string
}

// serve runs the handler of an opened call (req, also in ctx) and returns
// its data.
func (p *Program) serve(ctx context.Context, req *Request, attrs []any) (string, *callError) {
	var data string
	var err error
	switch req.CallType {
	case CallApp:
		p.mu.RLock()
		h := p.abilities[req.AbilityID]
		if h == nil {
			h = p.fallback
		}
		p.mu.RUnlock()
		if h == nil {
			err = ErrUnknownAbility
			break
		}
		data, err = p.runAbility(ctx, h, req)
	case CallEvent:
		p.mu.RLock()
		h := p.event
		p.mu.RUnlock()
		if h == nil {
			p.log.Info("zonesdk: event dropped: no event handler", attrs...)
			break
		}
		err = p.runEvent(ctx, h, req)
	case CallProbe:
		p.log.Info("zonesdk: pre-flight probe answered", attrs...)
	default:
		p.log.Warn("zonesdk: call of an unknown call_type", attrs...)
		return "", &callError{http.StatusBadRequest, "unknown call_type " + strconv.Itoa(req.CallType)}
	}
	if errors.Is(err, ErrUnknownAbility) {
		p.log.Warn("zonesdk: call of an unknown ability", attrs...)
		return "", &callError{http.StatusNotFound, fmt.Sprintf("unknown ability %q", truncate(req.AbilityID, 64))}
	}
	if err != nil {
		p.log.Error("zonesdk: handler failed", append(attrs, slog.Any("err", err))...)
		what := "ability " + truncate(req.AbilityID, 64)
		if req.CallType == CallEvent {
			what = "event"
		}
		return "", &callError{http.StatusInternalServerError, truncate(what+": "+err.Error(), 512)}
	}
	return data, nil
}

// OpenCall opens a call the zone sent, for code that serves the zone's
// calls itself instead of through ServeHTTP (OpenZone's native library under
// WeCom's SpecCallbackSDK does): h holds the request's headers (the ww-*
// names in any letter case), body its sealed body. It checks the packet as
// ServeHTTP does, in the order of docs/protocol.md §7, replay guard
// included, and returns the call. On failure the error's
// zonewire.ExceptionCode is the ww-exception to answer with.
func (p *Program) OpenCall(h http.Header, body []byte) (*Request, error) {
	plainBuf := getBuf() // the Request's strings are copies: it may go back
	defer putBuf(plainBuf)
	req, _, err := p.openCall(h, body, nil, plainBuf)
	return req, err
}

// checkHeader is what openCall checks of the headers alone: the program
// has an id, the header is well formed and names a secret it holds.
func (p *Program) checkHeader(h http.Header) (zonewire.Header, error) {
	programID := p.ProgramID()
	if programID == "" {
		return zonewire.Header{}, nil // openCall says why, with the header it reads
	}
	hd, err := zonewire.ReadHeader(wwHeaders(h), programID)
	hd.ProgramID = programID
	if err != nil {
		return hd, err
	}
	if p.keys.byVersion(hd.SecretVer) == nil {
		return hd, p.noSecretError(hd.SecretVer)
	}
	return hd, nil
}

// openCall opens a call: h are its headers, body its sealed body (readErr
// the error that reading it ended with, if any). The plaintext goes into
// plainBuf when it is not nil (then the Request must not outlive it: its
// strings are copies, so it never does). It returns the header it read, for
// the exception answer, with the program's own id.
func (p *Program) openCall(h http.Header, body []byte, readErr error, plainBuf *[]byte) (*Request, zonewire.Header, error) {
	ww := wwHeaders(h)
	programID := p.ProgramID()
	if programID == "" {
		// Debug mode not opened yet: no id and no secret to open with.
		hd, _ := zonewire.ReadHeader(ww, "-")
		return nil, hd, &zonewire.Error{Code: zonewire.ExcSecretVer, Reason: "no secret yet: debug mode is not open (OpenDebugMode)"}
	}
	hd, err := zonewire.ReadHeader(ww, programID)
	// A call belongs to this program whatever ww-program-id says: a packet
	// sealed for another program id does not authenticate.
	hd.ProgramID = programID
	if err != nil {
		return nil, hd, err
	}
	if readErr != nil {
		return nil, hd, &zonewire.Error{Code: zonewire.ExcMalformed, Reason: "reading body: " + readErr.Error()}
	}
	// The call opens with the secret its ww-secret-ver names: the
	// production secret, or the debug secret of one corp and app.
	sec := p.keys.byVersion(hd.SecretVer)
	if sec == nil {
		return nil, hd, p.noSecretError(hd.SecretVer)
	}
	var dst []byte
	if plainBuf != nil {
		dst = (*plainBuf)[:0]
	}
	plain, err := sec.keys.OpenAppend(dst, zonewire.PurposeCall, hd, body)
	if err != nil {
		return nil, hd, err
	}
	if plainBuf != nil {
		*plainBuf = plain[:0]
	}
	// Only authenticated packets reach the replay guard, so forged ones
	// cannot fill it.
	if err := p.guard.Check(hd, p.now()); err != nil {
		return nil, hd, err
	}
	var c zonewire.Call
	if err := json.Unmarshal(plain, &c); err != nil {
		return nil, hd, &zonewire.Error{Code: zonewire.ExcMalformed, Reason: "call body is not a JSON call object"}
	}
	// A debug secret acts only for its corp and app. An honest zone never
	// seals another corp's call with it; refuse one as not authentic.
	if !sec.boundTo(c.CorpID, c.AgentID) {
		return nil, hd, &zonewire.Error{Code: zonewire.ExcAuth, Reason: fmt.Sprintf(
			"call for corp %q app %d sealed with the debug secret of corp %q app %d",
			truncate(c.CorpID, 64), c.AgentID, sec.session.CorpID, sec.session.AgentID)}
	}
	return &Request{
		CorpID:    c.CorpID,
		AgentID:   c.AgentID,
		CallType:  c.CallType,
		Data:      c.Data,
		IsAsync:   c.IsAsync,
		JobInfo:   c.JobInfo,
		AbilityID: c.AbilityID,
		NotifyID:  c.NotifyID,
		EventID:   c.EventID,
		RequestID: hd.RequestID,
		SecretVer: hd.SecretVer,
		Timestamp: hd.Timestamp,
		secret:    sec,
	}, hd, nil
}

// AppendReply seals data as the reply to req (a Request from OpenCall or
// handed to a handler) and appends the body to dst: the Reply envelope
// sealed under req's packet header with the secret req opened with. The
// reply's headers are req's ww-secret-ver, ww-request-id and ww-timestamp
// (see Request.ReplyHeader).
func (p *Program) AppendReply(dst []byte, req *Request, data string) []byte {
	reply, _ := json.Marshal(zonewire.Reply{Data: data}) // a string always marshals
	return req.secret.keys.SealAppend(dst, zonewire.PurposeReply, req.header(p.ProgramID()), reply)
}

// noSecretError is the -10008 of a call under a version the Program does
// not hold, saying what that means in debug mode.
func (p *Program) noSecretError(ver int) *zonewire.Error {
	reason := fmt.Sprintf("the program holds no secret of version %d", ver)
	switch {
	case ver >= zonewire.DebugSecretVerMin:
		reason += " (a debug secret: debug mode was not opened by this process, or was opened again since; call OpenDebugMode)"
	case p.keys.production() == nil:
		reason += " (a production secret, and the program has none: it runs in debug mode only)"
	}
	return &zonewire.Error{Code: zonewire.ExcSecretVer, Reason: reason}
}

// exception answers a call that could not be opened: HTTP 200, an empty
// body and ww-exception: <code>, echoing ww-request-id when it was valid.
func (p *Program) exception(w http.ResponseWriter, r *http.Request, hd zonewire.Header, err error) {
	code := zonewire.ExceptionCode(err)
	h := w.Header()
	h[zonewire.HeaderException] = []string{strconv.Itoa(code)}
	if hd.RequestID != "" && hd.SecretVer > 0 {
		h[zonewire.HeaderRequestID] = []string{hd.RequestID}
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	p.log.Warn("zonesdk: call refused",
		slog.Int("exception", code),
		slog.String("reason", err.Error()),
		slog.String("request_id", hd.RequestID),
		slog.String("remote", r.RemoteAddr))
}

// runAbility calls h, turning a panic into an error.
func (p *Program) runAbility(ctx context.Context, h HandlerFunc, req *Request) (data string, err error) {
	defer recoverHandler(p.log, &err)
	return h(ctx, req)
}

// runEvent calls h, turning a panic into an error.
func (p *Program) runEvent(ctx context.Context, h EventFunc, req *Request) (err error) {
	defer recoverHandler(p.log, &err)
	return h(ctx, req)
}

func recoverHandler(log *slog.Logger, err *error) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	log.Error("zonesdk: handler panicked", slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
	*err = fmt.Errorf("panic: %v", v)
}

// wwHeaders returns the ww-* headers of h under lower-case names, in
// whatever letter case they arrived (WeCom's SDKs require lower-case names;
// Go canonicalises them to Ww-Secret-Ver on the way in). Values of every
// spelling of a name are kept, so a header sent twice is still seen twice.
func wwHeaders(h http.Header) http.Header {
	out := make(http.Header, 5)
	for k, v := range h {
		if len(k) > 3 && strings.EqualFold(k[:3], "ww-") {
			lk := strings.ToLower(k)
			out[lk] = append(out[lk], v...)
		}
	}
	return out
}

// validProgramID reports whether id can travel in a ww-program-id header:
// 1 to 128 bytes of printable ASCII other than space.
func validProgramID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// first returns the first value of h[name], without canonicalising name.
func first(h http.Header, name string) string {
	if v := h[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// maxPooledBuf bounds the buffers kept for reuse: one huge call must not
// pin its memory for the life of the program.
const maxPooledBuf = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= maxPooledBuf {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}
