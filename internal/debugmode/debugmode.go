// Package debugmode implements debug mode (调试模式): a program's debug
// credential (调试凭证) and receiver URL (接收事件服务器), the app half
// (open_debug_mode / close_debug_mode / check_debug_mode) and the SDK half
// (/spec/v1/debug/open, which hands the SDK a debug secret sealed with HPKE),
// and the routing question every call asks: is this (corp, app, program) in
// debug mode, and where does its traffic go?
//
// Debug mode for (corp, app, program) is on only when both halves were
// opened under the program's current, unexpired credential. Expiry ends it
// without anyone closing it: traffic goes back to deployed instances.
package debugmode

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/wire"
)

// Status values of check_debug_mode.
const (
	StatusOff = 1
	StatusOn  = 2
)

// Config configures a Service.
type Config struct {
	Store  store.Store
	Now    func() time.Time
	Logger *slog.Logger
	// AllowedHosts restricts receiver URLs to these hosts; an entry may be
	// a host name, an IP, or a pattern like "*.example.com" (path.Match).
	// Empty allows any host.
	AllowedHosts []string
	// Routes is what calls read; every change here drops its cache.
	Routes *Routes
	// Prober is told when debug mode of (corp, app, program) turned on,
	// and with corpID "" when the receiver changed: the zone's pre-flight
	// probe (listener.Service). It must not block.
	Prober Prober
	// Apps authenticates the access_token of the SDK half.
	Apps Authenticator
}

// Prober probes a debug receiver in the background.
type Prober interface {
	Opened(programID, corpID string, agentID int64)
}

// Authenticator resolves an access_token to its app (apps.Service).
type Authenticator interface {
	Authenticate(ctx context.Context, accessToken string) (*openzone.App, error)
}

// Service is debug mode's state machine over the store.
type Service struct {
	cfg Config
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

// write runs fn in a transaction and drops cached routes.
func (s *Service) write(ctx context.Context, fn func(tx store.Executor) error) error {
	defer s.cfg.Routes.Changed()
	return s.cfg.Store.InTx(ctx, fn)
}

// Token is an issued debug credential.
type Token struct {
	ProgramID string    `json:"program_id"`
	Token     string    `json:"debug_token"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// New is false when the still-valid credential was returned again.
	New bool `json:"new"`
}

// IssueToken returns the program's debug credential: the same token and the
// same expiry while it is valid, a new one after it expired (WeCom's rule:
// 有效期内重复获取会获取到同样的凭证，并且不会刷新过期时间). Each issue is recorded
// as a notification to the program's provider, the stand-in for WeCom's push
// message, with the token masked.
func (s *Service) IssueToken(ctx context.Context, programID string) (*Token, error) {
	var tok *Token
	err := s.write(ctx, func(tx store.Executor) error {
		prog, err := tx.ProgramGet(ctx, programID)
		if err != nil {
			return err
		}
		// The store keeps milliseconds: a credential must read back the
		// same whether it was just minted or fetched again.
		now := s.cfg.Now().UTC().Truncate(time.Millisecond)
		dp, err := tx.DebugProgramGet(ctx, programID)
		if err != nil && !openzone.IsNotFound(err) {
			return err
		}
		if dp == nil {
			dp = &openzone.DebugProgram{ProgramID: programID}
		}
		tok = &Token{ProgramID: programID}
		if !dp.TokenValid(now) {
			dp.Token = "ozdbg_" + randomString(24)
			dp.TokenIssuedAt = now
			dp.TokenExpiresAt = now.Add(openzone.DebugTokenTTL)
			if err := tx.DebugProgramPut(ctx, dp); err != nil {
				return err
			}
			tok.New = true
		}
		tok.Token, tok.IssuedAt, tok.ExpiresAt = dp.Token, dp.TokenIssuedAt, dp.TokenExpiresAt
		verb := "issued"
		if !tok.New {
			verb = "requested again (same credential, expiry unchanged)"
		}
		return tx.NotificationInsert(ctx, &openzone.Notification{
			ProviderID: prog.ProviderID, ProgramID: programID, Kind: "debug_token", CreatedAt: now,
			Title: fmt.Sprintf("调试凭证 debug credential for %s", programID),
			Body: fmt.Sprintf("Debug credential %s for program %q %s; valid until %s.",
				MaskToken(dp.Token), programID, verb, dp.TokenExpiresAt.UTC().Format(time.RFC3339)),
		})
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}

// MaskToken keeps the first characters of a credential, enough to tell two
// apart, and hides the rest.
func MaskToken(t string) string {
	if len(t) <= 10 {
		return "***"
	}
	return t[:10] + "…"
}

func randomString(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// SetReceiver validates and stores a program's receiver URL.
func (s *Service) SetReceiver(ctx context.Context, programID, raw string) (string, error) {
	u, err := s.checkReceiver(raw)
	if err != nil {
		return "", err
	}
	err = s.write(ctx, func(tx store.Executor) error {
		if _, err := tx.ProgramGet(ctx, programID); err != nil {
			return err
		}
		dp, err := tx.DebugProgramGet(ctx, programID)
		if err != nil && !openzone.IsNotFound(err) {
			return err
		}
		if dp == nil {
			dp = &openzone.DebugProgram{ProgramID: programID}
		}
		dp.ReceiverURL = u
		if err := tx.DebugProgramPut(ctx, dp); err != nil {
			return err
		}
		// A lost listener gives way to the URL (held events go there); a
		// connected one stays the receiver until it ends.
		if dp.Listener.State == openzone.ListenerLost {
			return tx.DebugListenerSet(ctx, programID, &openzone.DebugListener{})
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	s.opened(programID, "", 0)
	return u, nil
}

func (s *Service) opened(programID, corpID string, agentID int64) {
	if s.cfg.Prober != nil {
		s.cfg.Prober.Opened(programID, corpID, agentID)
	}
}

// CheckListener authenticates a debug listener's handshake: the program
// exists (404) and token is its current credential (40058, or 710671 when
// it expired).
func (s *Service) CheckListener(ctx context.Context, programID, token string) error {
	if _, err := s.cfg.Store.ProgramGet(ctx, programID); err != nil {
		return err
	}
	if token == "" {
		return openzone.Errorf(openzone.ErrInvalidParam, "debug_token missing: send the program's debug credential (调试凭证) in the X-Openzone-Debug-Token header")
	}
	dp, err := s.cfg.Store.DebugProgramGet(ctx, programID)
	if err != nil && !openzone.IsNotFound(err) {
		return err
	}
	return checkToken(dp, token, s.cfg.Now())
}

func (s *Service) checkReceiver(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", openzone.Errorf(openzone.ErrInvalidParam, "url missing: the receiver (接收事件服务器) is an absolute http(s) URL")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return "", openzone.Errorf(openzone.ErrInvalidParam, "url %q is not an absolute http or https URL with a host", raw)
	}
	if u.User != nil {
		return "", openzone.Errorf(openzone.ErrInvalidParam, "url must not carry a user or password")
	}
	if u.Fragment != "" {
		return "", openzone.Errorf(openzone.ErrInvalidParam, "url must not carry a #fragment")
	}
	if len(s.cfg.AllowedHosts) > 0 {
		host := strings.ToLower(u.Hostname())
		ok := false
		for _, pat := range s.cfg.AllowedHosts {
			if m, _ := path.Match(strings.ToLower(pat), host); m {
				ok = true
				break
			}
		}
		if !ok {
			return "", openzone.Errorf(openzone.ErrInvalidParam, "receiver host %q is not allowed by this zone's policy (allowed: %s)", host, strings.Join(s.cfg.AllowedHosts, ", "))
		}
	}
	return u.String(), nil
}

// TestScenario returns 710672 unless the app may use debug mode (and
// unreleased programs) in its corp: a self-built app in its own corp, a
// custom app in one of its provider's test corps, a third-party app where
// it is test-installed.
func TestScenario(ctx context.Context, st store.Executor, app *openzone.App) error {
	switch app.Type {
	case openzone.AppSelfBuilt:
		return nil
	case openzone.AppCustom:
		p, err := st.ProviderGet(ctx, app.ProviderID)
		if err != nil && !openzone.IsNotFound(err) {
			return err
		}
		if p != nil {
			for _, c := range p.TestCorps {
				if c == app.CorpID {
					return nil
				}
			}
		}
		return openzone.Errorf(openzone.ErrDebugNotAllowed, "debug mode is not allowed: corp %s is not a test corp (测试企业) of provider %q, which custom app %d belongs to", app.CorpID, app.ProviderID, app.AgentID)
	case openzone.AppThirdParty:
		if app.TestInstall {
			return nil
		}
		return openzone.Errorf(openzone.ErrDebugNotAllowed, "debug mode is not allowed: third-party app %d is not test-installed (测试安装) in corp %s", app.AgentID, app.CorpID)
	}
	return openzone.Errorf(openzone.ErrDebugNotAllowed, "debug mode is not allowed for app type %q", app.Type)
}

// CheckUse returns 710672 when app may not use prog as things stand now:
// an unreleased (未上线) program is for test scenarios only (TestScenario).
// Every call, async task and SDK invoke asks it, not only attaching the
// program: a test corp removed or a test install undone takes effect at
// the next call.
func CheckUse(ctx context.Context, st store.Executor, app *openzone.App, prog *openzone.Program) error {
	if prog.Released || app == nil {
		return nil
	}
	err := TestScenario(ctx, st, app)
	if openzone.ErrorCode(err) != openzone.ErrDebugNotAllowed {
		return err
	}
	return openzone.Errorf(openzone.ErrDebugNotAllowed, "program %q is unreleased (未上线), so only a test scenario may use it: %s",
		prog.ID, strings.TrimPrefix(openzone.ErrorMessage(err), "debug mode is not allowed: "))
}

// EndOutsideScenario ends the debug sessions whose app is no longer in a
// test scenario (a corp removed from its provider's test corps, a test
// install undone, a seed that changed either): both halves close and the
// debug secret dies, as close_debug_mode does, and the provider is told.
// It returns how many it ended. Routes refuses such a session from the
// moment the change is stored; this makes it so in the store too.
func (s *Service) EndOutsideScenario(ctx context.Context) (int, error) {
	s.cfg.Routes.Changed() // routes cached before the change are stale, ended or not
	progs, err := s.cfg.Store.ProgramList(ctx)
	if err != nil {
		return 0, err
	}
	ended := 0
	for _, prog := range progs {
		sessions, err := s.cfg.Store.DebugSessionList(ctx, prog.ID)
		if err != nil {
			return ended, err
		}
		for _, sess := range sessions {
			if !sess.AppHalf && !sess.SDKHalf {
				continue
			}
			app, err := s.cfg.Store.AppGet(ctx, sess.CorpID, sess.AgentID)
			if err != nil && !openzone.IsNotFound(err) {
				return ended, err
			}
			var why error
			if app != nil {
				if why = TestScenario(ctx, s.cfg.Store, app); openzone.ErrorKind(why) == openzone.Internal {
					return ended, why
				}
			}
			if app != nil && why == nil {
				continue
			}
			if err := s.endSession(ctx, prog, sess, app, why); err != nil {
				return ended, err
			}
			ended++
		}
	}
	return ended, nil
}

// endSession closes both halves of sess and tells the program's provider.
func (s *Service) endSession(ctx context.Context, prog *openzone.Program, sess *openzone.DebugSession, app *openzone.App, why error) error {
	reason := "its app no longer exists"
	if why != nil {
		reason = strings.TrimPrefix(openzone.ErrorMessage(why), "debug mode is not allowed: ")
	}
	err := s.write(ctx, func(tx store.Executor) error {
		sess.AppHalf, sess.AppOpenedAt = false, time.Time{}
		resetSDK(sess)
		if err := tx.DebugSessionPut(ctx, sess); err != nil {
			return err
		}
		if app != nil {
			if err := forgetClosed(ctx, tx, app, prog.ID); err != nil {
				return err
			}
		}
		return tx.NotificationInsert(ctx, &openzone.Notification{
			ProviderID: prog.ProviderID, ProgramID: prog.ID, Kind: "debug_ended", CreatedAt: s.cfg.Now(),
			Title: fmt.Sprintf("调试模式已结束 debug mode ended for %s", prog.ID),
			Body:  fmt.Sprintf("Debug mode of program %q for app %d of corp %s ended: %s.", prog.ID, sess.AgentID, sess.CorpID, reason),
		})
	})
	if err == nil {
		s.cfg.Logger.Info("debug mode ended: the app left its test scenario", "program_id", prog.ID, "corpid", sess.CorpID, "agentid", sess.AgentID, "reason", reason)
	}
	return err
}

// checkProgram applies the checks shared by the app API's debug endpoints:
// program exists (800001) and is configured for the app (790020).
func checkProgram(ctx context.Context, st store.Executor, app *openzone.App, programID string) error {
	if _, err := st.ProgramGet(ctx, programID); err != nil {
		if openzone.IsNotFound(err) {
			return openzone.Errorf(openzone.ErrBadProgramID, "invalid program_id %q: no such program", programID)
		}
		return err
	}
	has, err := st.AppProgramHas(ctx, store.AppProgramHasParams{CorpID: app.CorpID, AgentID: app.AgentID, ProgramID: programID})
	if err != nil {
		return err
	}
	if !has {
		return openzone.Errorf(openzone.ErrNotAssociated, "program %q is not configured for app %d of corp %s", programID, app.AgentID, app.CorpID)
	}
	return nil
}

// checkToken returns 710671 for the program's expired credential and 40058
// for a token that is not its credential at all.
func checkToken(dp *openzone.DebugProgram, token string, now time.Time) error {
	if dp == nil || dp.Token == "" || dp.Token != token {
		return openzone.Errorf(openzone.ErrInvalidParam, "debug_token is not the debug credential (调试凭证) of this program: get it on the program's debug page")
	}
	if !dp.TokenValid(now) {
		return openzone.Errorf(openzone.ErrDebugTokenExp, "debug credential (调试凭证) expired at %s: get a new one on the program's debug page", dp.TokenExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// AppOpen is the app half: open_debug_mode{program_id, debug_token}.
func (s *Service) AppOpen(ctx context.Context, app *openzone.App, programID, token string) error {
	turnedOn := false
	err := s.write(ctx, func(tx store.Executor) error {
		dp, sess, now, err := s.openHalf(ctx, tx, app, programID, token)
		if err != nil {
			return err
		}
		if sess.Token != token { // a half opened under an older credential is dead
			resetSDK(sess)
		}
		sess.Token, sess.AppHalf, sess.AppOpenedAt = token, true, now
		turnedOn = on(sess, dp, now)
		return tx.DebugSessionPut(ctx, sess)
	})
	if err == nil && turnedOn {
		s.opened(programID, app.CorpID, app.AgentID)
	}
	return err
}

// AppClose is close_debug_mode{program_id}: both halves close and the debug
// secret dies. Closing what is not open succeeds.
func (s *Service) AppClose(ctx context.Context, app *openzone.App, programID string) error {
	return s.write(ctx, func(tx store.Executor) error {
		if err := checkProgram(ctx, tx, app, programID); err != nil {
			return err
		}
		sess, err := tx.DebugSessionGet(ctx, store.DebugSessionGetParams{CorpID: app.CorpID, AgentID: app.AgentID, ProgramID: programID})
		if openzone.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		sess.AppHalf, sess.AppOpenedAt = false, time.Time{}
		resetSDK(sess)
		if err := tx.DebugSessionPut(ctx, sess); err != nil {
			return err
		}
		return forgetClosed(ctx, tx, app, programID)
	})
}

// forgetClosed drops what the debug page would otherwise keep showing about
// a session that is closed: the pre-flight probe of that app, and a lost
// listener once no app of the program has a half open — both described
// traffic that will no longer come.
func forgetClosed(ctx context.Context, tx store.Executor, app *openzone.App, programID string) error {
	dp, err := tx.DebugProgramGet(ctx, programID)
	if openzone.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if p := dp.Probe; p != nil && p.CorpID == app.CorpID && p.AgentID == app.AgentID {
		if err := tx.DebugProbeSet(ctx, programID, nil); err != nil {
			return err
		}
	}
	if dp.Listener.State != openzone.ListenerLost {
		return nil
	}
	sessions, err := tx.DebugSessionList(ctx, programID)
	if err != nil {
		return err
	}
	for _, s := range sessions {
		if s.AppHalf || s.SDKHalf {
			return nil
		}
	}
	return tx.DebugListenerSet(ctx, programID, &openzone.DebugListener{})
}

// Check is check_debug_mode{program_id} → 1 off / 2 on.
func (s *Service) Check(ctx context.Context, app *openzone.App, programID string) (int, error) {
	if err := checkProgram(ctx, s.cfg.Store, app, programID); err != nil {
		return 0, err
	}
	r, err := s.cfg.Routes.Route(ctx, app.CorpID, app.AgentID, programID)
	if err != nil {
		return 0, err
	}
	if r != nil {
		return StatusOn, nil
	}
	return StatusOff, nil
}

// openHalf runs the checks both halves make, in order — program exists and
// is configured (800001, 790020), test scenario (710672), credential (40058,
// 710671) — and returns the program's debug state and the session.
func (s *Service) openHalf(ctx context.Context, tx store.Executor, app *openzone.App, programID, token string) (*openzone.DebugProgram, *openzone.DebugSession, time.Time, error) {
	if err := checkProgram(ctx, tx, app, programID); err != nil {
		return nil, nil, time.Time{}, err
	}
	if err := TestScenario(ctx, tx, app); err != nil {
		return nil, nil, time.Time{}, err
	}
	dp, err := tx.DebugProgramGet(ctx, programID)
	if err != nil && !openzone.IsNotFound(err) {
		return nil, nil, time.Time{}, err
	}
	now := s.cfg.Now()
	if err := checkToken(dp, token, now); err != nil {
		return nil, nil, time.Time{}, err
	}
	sess, err := s.session(ctx, tx, app, programID)
	return dp, sess, now, err
}

func (s *Service) session(ctx context.Context, tx store.Executor, app *openzone.App, programID string) (*openzone.DebugSession, error) {
	sess, err := tx.DebugSessionGet(ctx, store.DebugSessionGetParams{CorpID: app.CorpID, AgentID: app.AgentID, ProgramID: programID})
	if openzone.IsNotFound(err) {
		return &openzone.DebugSession{CorpID: app.CorpID, AgentID: app.AgentID, ProgramID: programID}, nil
	}
	return sess, err
}

func resetSDK(sess *openzone.DebugSession) {
	sess.SDKHalf, sess.SDKOpenedAt, sess.SecretVer, sess.Secret = false, time.Time{}, 0, nil
}

// SDKOpenParams is the SDK half's request: the two tokens and the SDK's
// ephemeral X25519 key (standard base64). ProgramID is optional: the debug
// credential names its program; when sent it must be that program.
type SDKOpenParams struct {
	ProgramID   string
	DebugToken  string
	AccessToken string
	PublicKey   string
}

// SDKOpenResult is the zone's answer to the SDK half.
type SDKOpenResult struct {
	ProgramID    string
	CorpID       string
	AgentID      int64
	SecretVer    int
	SealedSecret []byte
	ExpiresAt    time.Time
	Status       int
}

// SDKOpen is the SDK half (docs/protocol.md §15.1), checked in this order:
// the public key, the access_token (apps: an anonymous caller learns
// nothing, not even whether a program or a credential exists), the program
// (the credential's, 40058 when it is no program's; or the one named,
// 800001), then the checks both halves make. It mints a debug secret for
// (corp, app, program), replacing any earlier one, and seals it to the
// SDK's key.
func (s *Service) SDKOpen(ctx context.Context, p SDKOpenParams) (*SDKOpenResult, error) {
	pub, err := ParsePublicKey(p.PublicKey)
	if err != nil {
		return nil, err
	}
	app, err := s.cfg.Apps.Authenticate(ctx, p.AccessToken)
	if err != nil {
		return nil, err
	}
	programID, err := s.sdkProgram(ctx, p.ProgramID, p.DebugToken)
	if err != nil {
		return nil, err
	}
	res, err := s.sdkOpen(ctx, app, programID, p.DebugToken, pub)
	if err != nil {
		return nil, err
	}
	res.ProgramID = programID
	return res, nil
}

// sdkProgram is the program the SDK half opens: the one named, which must
// exist, or the one whose credential token is.
func (s *Service) sdkProgram(ctx context.Context, programID, token string) (string, error) {
	if programID != "" {
		if _, err := s.cfg.Store.ProgramGet(ctx, programID); err != nil {
			if openzone.IsNotFound(err) {
				err = openzone.Errorf(openzone.ErrBadProgramID, "invalid program_id %q: no such program", programID)
			}
			return "", err
		}
		return programID, nil
	}
	id, err := s.cfg.Store.DebugProgramByToken(ctx, token)
	if openzone.IsNotFound(err) {
		err = openzone.Errorf(openzone.ErrInvalidParam, "invalid debug_token: it is not the debug credential (调试凭证) of any program; get one on the program's debug page")
	}
	return id, err
}

func (s *Service) sdkOpen(ctx context.Context, app *openzone.App, programID, token string, pub *ecdh.PublicKey) (*SDKOpenResult, error) {
	var res *SDKOpenResult
	err := s.write(ctx, func(tx store.Executor) error {
		dp, sess, now, err := s.openHalf(ctx, tx, app, programID, token)
		if err != nil {
			return err
		}
		if sess.Token != token {
			sess.AppHalf, sess.AppOpenedAt = false, time.Time{}
		}
		secret := wire.NewSecret(0)
		for {
			secret.Ver = newVer()
			_, err := tx.DebugSessionBySecretVer(ctx, programID, secret.Ver)
			if openzone.IsNotFound(err) {
				break
			}
			if err != nil {
				return err
			}
		}
		sealed, err := wire.SealDebugSecret(pub, secret, programID, app.CorpID, app.AgentID)
		if err != nil {
			return fmt.Errorf("debugmode: seal debug secret: %w", err)
		}
		sess.Token, sess.SDKHalf, sess.SDKOpenedAt = token, true, now
		sess.SecretVer, sess.Secret = secret.Ver, append([]byte(nil), secret.Key[:]...)
		if err := tx.DebugSessionPut(ctx, sess); err != nil {
			return err
		}
		status := StatusOff
		if on(sess, dp, now) {
			status = StatusOn
		}
		res = &SDKOpenResult{CorpID: app.CorpID, AgentID: app.AgentID, SecretVer: secret.Ver,
			SealedSecret: sealed, ExpiresAt: dp.TokenExpiresAt, Status: status}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if res.Status == StatusOn {
		s.opened(programID, app.CorpID, app.AgentID)
	}
	s.cfg.Logger.Info("debug mode: SDK half opened", "program_id", programID, "corpid", app.CorpID, "agentid", app.AgentID, "secret_ver", res.SecretVer, "status", res.Status)
	return res, nil
}

// newVer returns a random debug secret version in [2^30, 2^31).
func newVer() int {
	var b [4]byte
	rand.Read(b[:])
	return int(1<<30 | binary.BigEndian.Uint32(b[:])&(1<<30-1))
}

// SessionView is one (corp, app) row of a program's debug page.
type SessionView struct {
	CorpID      string     `json:"corpid"`
	AgentID     int64      `json:"agentid"`
	AppHalf     bool       `json:"app_half"`
	SDKHalf     bool       `json:"sdk_half"`
	Status      int        `json:"status"`
	AppOpenedAt *time.Time `json:"app_opened_at,omitempty"`
	SDKOpenedAt *time.Time `json:"sdk_opened_at,omitempty"`
}

// PageView is GET /admin/v1/programs/{id}/debug.
type PageView struct {
	ProgramID   string `json:"program_id"`
	ReceiverURL string `json:"receiver"`
	// Route is where debug traffic goes: "listener" (connected or lost)
	// or "receiver" (the URL).
	Route    string        `json:"route"`
	Listener *ListenerView `json:"listener,omitempty"`
	// Probe is the last pre-flight probe.
	Probe          *openzone.DebugProbe `json:"probe,omitempty"`
	TokenIssuedAt  *time.Time           `json:"token_issued_at"`
	TokenExpiresAt *time.Time           `json:"token_expires_at"`
	TokenValid     bool                 `json:"token_valid"`
	Sessions       []SessionView        `json:"sessions"`
}

// ListenerView is the listener part of the debug page.
type ListenerView struct {
	openzone.DebugListener
	// Text says it in words: "listener connected since …" or "listener
	// lost at … (reason)".
	Text string `json:"text"`
}

func listenerView(l openzone.DebugListener) *ListenerView {
	v := &ListenerView{DebugListener: l}
	if l.State == openzone.ListenerConnected {
		v.Text = "listener connected since " + l.ConnectedAt.UTC().Format(time.RFC3339)
	} else {
		v.Text = "listener lost at " + l.LostAt.UTC().Format(time.RFC3339) + " (" + l.Reason + ")"
	}
	return v
}

// Page returns the debug page state of a program. Halves opened under an
// expired or replaced credential show as closed.
func (s *Service) Page(ctx context.Context, programID string) (*PageView, error) {
	if _, err := s.cfg.Store.ProgramGet(ctx, programID); err != nil {
		return nil, err
	}
	v := &PageView{ProgramID: programID, Sessions: []SessionView{}}
	dp, err := s.cfg.Store.DebugProgramGet(ctx, programID)
	if err != nil && !openzone.IsNotFound(err) {
		return nil, err
	}
	now := s.cfg.Now()
	v.Route = "receiver"
	if dp != nil {
		v.ReceiverURL, v.Probe = dp.ReceiverURL, dp.Probe
		if dp.Listener.State != "" {
			v.Route, v.Listener = "listener", listenerView(dp.Listener)
		}
		if dp.Token != "" {
			v.TokenIssuedAt, v.TokenExpiresAt = &dp.TokenIssuedAt, &dp.TokenExpiresAt
			v.TokenValid = dp.TokenValid(now)
		}
	}
	sessions, err := s.cfg.Store.DebugSessionList(ctx, programID)
	if err != nil {
		return nil, err
	}
	for _, sess := range sessions {
		live := dp.TokenValid(now) && sess.Token == dp.Token
		sv := SessionView{CorpID: sess.CorpID, AgentID: sess.AgentID,
			AppHalf: sess.AppHalf && live, SDKHalf: sess.SDKHalf && live, Status: StatusOff}
		if on(sess, dp, now) {
			sv.Status = StatusOn
		}
		if sv.AppHalf {
			t := sess.AppOpenedAt
			sv.AppOpenedAt = &t
		}
		if sv.SDKHalf {
			t := sess.SDKOpenedAt
			sv.SDKOpenedAt = &t
		}
		v.Sessions = append(v.Sessions, sv)
	}
	return v, nil
}

// ParsePublicKey decodes the SDK's X25519 public key (standard base64).
func ParsePublicKey(b64 string) (*ecdh.PublicKey, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 32 {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "public_key must be a 32-byte X25519 key in standard base64")
	}
	pub, err := ecdh.X25519().NewPublicKey(raw)
	if err != nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "public_key is not a valid X25519 key")
	}
	// A low-order point gives every key agreement the all-zero secret: no
	// secret could be sealed to it.
	probe, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if _, err := probe.ECDH(pub); err != nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "public_key is a low-order X25519 point: send the public half of a key generated for this opening")
	}
	return pub, nil
}
