package zonesdk

import (
	"bytes"
	"context"
	"crypto/ecdh"
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

// DebugOpenPath is the zone's endpoint of the SDK half of debug mode
// (docs/protocol.md §15.1), under Config.ZoneURL.
const DebugOpenPath = "/spec/v1/debug/open"

// maxDebugOpenReply bounds the zone's answer to a debug opening.
const maxDebugOpenReply = 64 << 10

// DebugSession is a debug secret the Program holds: debug mode (调试模式)
// opened for one corp and app.
type DebugSession struct {
	CorpID    string    // the corp the debug secret acts in
	AgentID   int64     // the app (agentid) it acts as
	SecretVer int       // its version (≥ zonewire.DebugSecretVerMin): the ww-secret-ver of debug traffic
	ExpiresAt time.Time // the debug credential's expiry, after which the zone refuses the secret; zero if the zone did not say
	Status    int       // debug_mode_status when opened: 2 debug mode on (the app half was open already), 1 waiting for the app's open_debug_mode
}

// ZoneError is a refusal of the zone, with its WeCom errcode and errmsg:
// for OpenDebugMode, 40058 (missing parameter, or a debug token that is not
// the program's), 800001 (unknown program), 40014 / 42001 (invalid or
// expired access_token), 710641 (no zone permission), 790020 (program not
// configured for the app), 710672 (not a test scenario), 710671 (debug
// token expired). Find it with errors.As.
type ZoneError struct {
	Errcode int
	Errmsg  string
}

func (e *ZoneError) Error() string {
	return "zonesdk: zone answered errcode " + strconv.Itoa(e.Errcode) + ": " + e.Errmsg
}

// Is reports whether target is a *ZoneError with the same Errcode, so
// errors.Is(err, &zonesdk.ZoneError{Errcode: 710671}) tests for one code.
func (e *ZoneError) Is(target error) bool {
	t, ok := target.(*ZoneError)
	return ok && t.Errcode == e.Errcode
}

// OpenDebugMode opens the SDK half of debug mode (开启调试模式, WeCom's
// spec_open_debug_mode), for a program running on a developer's machine:
// debugToken is the program's debug credential (调试凭证, from its debug
// page) and accessToken the access_token of the app to debug. The zone
// checks both and hands back a debug secret bound to that app's corp and
// agentid, which the Program keeps beside its production secret (if any)
// and uses for that corp and app from now on: calls the zone seals with
// it open, and invokes for that corp and app are sealed with it. Opening
// again for the same corp and app replaces the earlier secret, which the
// zone kills.
//
// The debug secret travels sealed to a fresh X25519 key made for this
// opening (docs/protocol.md §15); neither token nor secret is ever logged.
// Debug mode is on once both halves are open: this one, and the app's
// open_debug_mode (DebugSession.Status says whether it was already).
//
// Errors: a *ZoneError when the zone refuses (see ZoneError for the
// errcodes), else an *InvokeError: CodeInternal (no zone URL, a token
// missing), CodeNetwork, CodeHTTPStatus, CodeSignature or CodeDecrypt (the
// sealed secret does not open or is not one), CodeInvalidJSON (the answer
// is not the expected JSON), CodeSecretVer (the zone gave a debug secret
// the production secret's version).
func (p *Program) OpenDebugMode(ctx context.Context, debugToken, accessToken string) (*DebugSession, error) {
	start := time.Now()
	s, err := p.openDebugMode(ctx, debugToken, accessToken)
	if ie, ok := err.(*InvokeError); ok {
		ie.op = "opening debug mode"
	}
	if err != nil {
		attrs := []any{slog.Duration("duration", time.Since(start)), slog.Any("err", err)}
		var ze *ZoneError
		if errors.As(err, &ze) {
			attrs = append(attrs, slog.Int("errcode", ze.Errcode))
		}
		p.log.Warn("zonesdk: debug mode not opened", attrs...)
		return nil, err
	}
	p.log.Info("zonesdk: debug mode opened (SDK half)",
		slog.String("corpid", s.CorpID),
		slog.Int64("agentid", s.AgentID),
		slog.Int("secret_ver", s.SecretVer),
		slog.Int("debug_mode_status", s.Status),
		slog.Time("expires_at", s.ExpiresAt),
		slog.Duration("duration", time.Since(start)))
	return s, nil
}

func (p *Program) openDebugMode(ctx context.Context, debugToken, accessToken string) (*DebugSession, error) {
	if p.cfg.ZoneURL == "" {
		return nil, &InvokeError{Code: CodeInternal, Msg: "no zone URL configured (Config.ZoneURL, " + EnvAPI + ")"}
	}
	if strings.TrimSpace(debugToken) == "" || strings.TrimSpace(accessToken) == "" {
		return nil, &InvokeError{Code: CodeInternal, Msg: "debug mode needs both the debug token (调试凭证) and the app's access_token"}
	}
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return nil, &InvokeError{Code: CodeInternal, Msg: "generate X25519 key: " + err.Error(), Err: err}
	}
	// The credential names the program (WeCom's spec_open_debug_mode takes
	// the two tokens alone); program_id is sent only when the Program knows
	// it, and the zone then checks they agree.
	body, err := json.Marshal(struct {
		ProgramID   string `json:"program_id,omitempty"`
		DebugToken  string `json:"debug_token"`
		AccessToken string `json:"access_token"`
		PublicKey   string `json:"public_key"`
	}{p.ProgramID(), debugToken, accessToken, base64.StdEncoding.EncodeToString(priv.PublicKey().Bytes())})
	if err != nil {
		return nil, &InvokeError{Code: CodeInvalidJSON, Msg: "marshal request: " + err.Error(), Err: err}
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, p.cfg.ZoneURL+DebugOpenPath, bytes.NewReader(body))
	if err != nil {
		return nil, &InvokeError{Code: CodeInternal, Msg: "build request: " + err.Error(), Err: err}
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(hreq)
	if err != nil {
		// A *url.Error names the URL, which holds no token: they travel in
		// the body.
		return nil, &InvokeError{Code: CodeNetwork, Msg: err.Error(), Err: err}
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, maxDebugOpenReply+1))
	if err != nil {
		return nil, &InvokeError{Code: CodeNetwork, Msg: "reading reply: " + err.Error(), Err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &InvokeError{Code: CodeHTTPStatus, Msg: "HTTP " + strconv.Itoa(resp.StatusCode) + " from " + DebugOpenPath + zoneErrmsg(rb)}
	}
	if len(rb) > maxDebugOpenReply {
		return nil, &InvokeError{Code: CodeInternal, Msg: fmt.Sprintf("reply larger than %d bytes", maxDebugOpenReply)}
	}
	var rep struct {
		Errcode      *int   `json:"errcode"`
		Errmsg       string `json:"errmsg"`
		ProgramID    string `json:"program_id"`
		CorpID       string `json:"corpid"`
		AgentID      int64  `json:"agentid"`
		SecretVer    int64  `json:"secret_ver"`
		SealedSecret string `json:"sealed_secret"`
		ExpiresAt    int64  `json:"expires_at"`
		Status       int    `json:"debug_mode_status"`
	}
	if err := json.Unmarshal(rb, &rep); err != nil || rep.Errcode == nil {
		return nil, &InvokeError{Code: CodeInvalidJSON, Msg: "the zone's answer is not a JSON object with an errcode"}
	}
	if *rep.Errcode != 0 {
		return nil, &ZoneError{Errcode: *rep.Errcode, Errmsg: rep.Errmsg}
	}
	if rep.CorpID == "" || rep.SealedSecret == "" || rep.SecretVer < zonewire.DebugSecretVerMin || rep.SecretVer > 1<<31-1 {
		return nil, &InvokeError{Code: CodeInvalidJSON, Msg: "the zone's answer lacks corpid, sealed_secret or a debug secret_ver in [2^30, 2^31-1]"}
	}
	programID := p.ProgramID()
	if rep.ProgramID != "" {
		programID = rep.ProgramID
	}
	if programID == "" {
		return nil, &InvokeError{Code: CodeInvalidJSON, Msg: "the zone's answer does not say which program the debug credential is for (program_id)"}
	}
	sealed, err := base64.StdEncoding.DecodeString(rep.SealedSecret)
	if err != nil {
		return nil, &InvokeError{Code: CodeDecrypt, Msg: "sealed_secret is not standard base64"}
	}
	// The sealed secret is bound to its program: it opens only under the id
	// the zone sealed it for, so a wrong program_id in the answer fails here.
	sec, err := zonewire.OpenDebugSecret(priv, sealed, programID, rep.CorpID, rep.AgentID, int(rep.SecretVer))
	if err != nil {
		if zonewire.ExceptionCode(err) == zonewire.ExcAuth {
			return nil, &InvokeError{Code: CodeSignature, Msg: "the sealed debug secret does not open for this program, corp, app and version", Err: err}
		}
		return nil, &InvokeError{Code: CodeDecrypt, Msg: "sealed_secret is not a sealed debug secret", Err: err}
	}
	s := DebugSession{
		CorpID:    rep.CorpID,
		AgentID:   rep.AgentID,
		SecretVer: sec.Ver,
		Status:    rep.Status,
	}
	if rep.ExpiresAt > 0 {
		s.ExpiresAt = time.Unix(rep.ExpiresAt, 0)
	}
	if err := p.learnProgramID(programID); err != nil {
		return nil, &InvokeError{Code: CodeInternal, Msg: err.Error()}
	}
	if !p.keys.installDebug(sec, s) {
		return nil, &InvokeError{Code: CodeSecretVer, Msg: fmt.Sprintf("the zone issued a debug secret with version %d, the production secret's", sec.Ver)}
	}
	return &s, nil
}

// DebugSessions returns the debug secrets the Program holds, one per corp
// and app, ordered by corpid then agentid. It does not ask the zone: a
// session whose credential expired or that close_debug_mode ended is still
// listed until OpenDebugMode replaces it.
func (p *Program) DebugSessions() []DebugSession { return p.keys.sessions() }
