package specapi

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/debugmode"
)

// handleDebugOpen serves POST /spec/v1/debug/open, the SDK half of debug
// mode (docs/protocol.md §15.1). It is plain JSON: the developer's machine
// has no secret to seal with yet. Answers are HTTP 200 with errcode/errmsg,
// like the app API.
func (a *API) handleDebugOpen(w http.ResponseWriter, r *http.Request) {
	writeJSON := func(v any) {
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		json.NewEncoder(w).Encode(v)
	}
	fail := func(err error) {
		code := openzone.ErrorCode(err)
		if code == openzone.ErrSystem {
			a.log.Error("spec api: debug open", "err", err)
		}
		writeJSON(errReply(err))
	}
	var req struct {
		ProgramID   string `json:"program_id"`
		DebugToken  string `json:"debug_token"`
		AccessToken string `json:"access_token"`
		PublicKey   string `json:"public_key"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&req); err != nil {
		fail(openzone.Errorf(openzone.ErrBadBodyJSON, "request body is not the JSON object of /spec/v1/debug/open"))
		return
	}
	// WeCom's spec_open_debug_mode takes the two tokens alone: the debug
	// credential names the program. program_id is optional; when sent it
	// must be the credential's program (checked with the token below).
	for _, f := range []struct{ name, v string }{{"debug_token", req.DebugToken}, {"access_token", req.AccessToken}, {"public_key", req.PublicKey}} {
		if f.v == "" {
			fail(openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter %s", f.name))
			return
		}
	}
	pub, err := debugmode.ParsePublicKey(req.PublicKey)
	if err != nil {
		fail(err)
		return
	}
	ctx := r.Context()
	// The access token first: an anonymous caller learns nothing, not even
	// whether a program or a credential exists.
	app, err := a.auth(ctx, req.AccessToken)
	if err != nil {
		fail(err)
		return
	}
	if req.ProgramID == "" {
		id, err := a.store.DebugProgramByToken(ctx, req.DebugToken)
		if openzone.IsNotFound(err) {
			err = openzone.Errorf(openzone.ErrInvalidParam, "invalid debug_token: it is not the debug credential (调试凭证) of any program; get one on the program's debug page")
		}
		if err != nil {
			fail(err)
			return
		}
		req.ProgramID = id
	} else if _, err := a.store.ProgramGet(ctx, req.ProgramID); err != nil {
		if openzone.IsNotFound(err) {
			err = openzone.Errorf(openzone.ErrBadProgramID, "invalid program_id %q: no such program", req.ProgramID)
		}
		fail(err)
		return
	}
	res, err := a.debug.SDKOpen(ctx, app, req.ProgramID, req.DebugToken, pub)
	if err != nil {
		fail(err)
		return
	}
	writeJSON(&debugOpenReply{Base: openzone.OK, ProgramID: req.ProgramID, CorpID: res.CorpID, AgentID: res.AgentID,
		SecretVer: res.SecretVer, SealedSecret: base64.StdEncoding.EncodeToString(res.SealedSecret),
		ExpiresAt: res.ExpiresAt.Unix(), DebugModeStatus: res.Status})
}

// debugOpenReply is the answer to the SDK half (docs/protocol.md §15.1).
type debugOpenReply struct {
	openzone.Base
	ProgramID       string `json:"program_id"`
	CorpID          string `json:"corpid"`
	AgentID         int64  `json:"agentid"`
	SecretVer       int    `json:"secret_ver"`
	SealedSecret    string `json:"sealed_secret"`
	ExpiresAt       int64  `json:"expires_at"`
	DebugModeStatus int    `json:"debug_mode_status"`
}
