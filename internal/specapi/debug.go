package specapi

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/debugmode"
)

// handleDebugOpen serves POST /spec/v1/debug/open, the SDK half of debug
// mode (docs/protocol.md §15.1). It is plain JSON: the developer's machine
// has no secret to seal with yet. Answers are HTTP 200 with errcode/errmsg,
// like the app API.
func (a *API) handleDebugOpen(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ProgramID   string `json:"program_id"`
		DebugToken  string `json:"debug_token"`
		AccessToken string `json:"access_token"`
		PublicKey   string `json:"public_key"`
	}
	ip, err := a.cfg.Door.Check(r)
	if err != nil {
		a.writeOpen(w, nil, err)
		return
	}
	if r.ContentLength > MaxDebugOpenBytes {
		a.writeOpen(w, nil, openzone.Errorf(openzone.ErrRequestTooLarge, "request body of %d bytes is over the limit of %d bytes", r.ContentLength, MaxDebugOpenBytes))
		return
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxDebugOpenBytes)).Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			a.writeOpen(w, nil, openzone.Errorf(openzone.ErrRequestTooLarge, "request body is over the limit of %d bytes", MaxDebugOpenBytes))
			return
		}
		a.writeOpen(w, nil, openzone.Errorf(openzone.ErrBadBodyJSON, "request body is not the JSON object of /spec/v1/debug/open"))
		return
	}
	// WeCom's spec_open_debug_mode takes the two tokens alone: the debug
	// credential names the program. program_id is optional; when sent it
	// must be the credential's program.
	for _, f := range []struct{ name, v string }{{"debug_token", req.DebugToken}, {"access_token", req.AccessToken}, {"public_key", req.PublicKey}} {
		if f.v == "" {
			a.writeOpen(w, nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter %s", f.name))
			return
		}
	}
	res, err := a.cfg.Debug.SDKOpen(r.Context(), debugmode.SDKOpenParams{ProgramID: req.ProgramID, DebugToken: req.DebugToken,
		AccessToken: req.AccessToken, PublicKey: req.PublicKey})
	if err != nil {
		// Tokens that do not open count against the source; the zone's
		// own failure does not.
		if openzone.ErrorKind(err) != openzone.Internal {
			a.cfg.Door.Fail(ip)
		}
		a.writeOpen(w, nil, err)
		return
	}
	a.writeOpen(w, &debugOpenReply{Base: openzone.OK, ProgramID: res.ProgramID, CorpID: res.CorpID, AgentID: res.AgentID,
		SecretVer: res.SecretVer, SealedSecret: base64.StdEncoding.EncodeToString(res.SealedSecret),
		ExpiresAt: res.ExpiresAt.Unix(), DebugModeStatus: res.Status}, nil)
}

// writeOpen writes the answer to the SDK half: rep, or err's errcode and
// errmsg (an internal error is logged).
func (a *API) writeOpen(w http.ResponseWriter, rep openzone.Reply, err error) {
	if err != nil {
		if openzone.ErrorKind(err) == openzone.Internal {
			a.cfg.Logger.Error("spec api: debug open", "err", err)
		}
		rep = openzone.BaseOf(err)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	json.NewEncoder(w).Encode(rep)
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
