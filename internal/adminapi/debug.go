package adminapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/listener"
	"github.com/openzone/openzone/internal/listener/frame"
	"github.com/openzone/openzone/internal/wire"
)

// handleDebugToken is 「调试凭证 - 获取」: the program's debug credential,
// the same one while it is valid.
func (a *API) handleDebugToken(r *http.Request) (any, error) {
	return a.cfg.Debug.IssueToken(r.Context(), r.PathValue("program_id"))
}

// handleDebugReceiver is 「接收事件服务器 - 设置」.
func (a *API) handleDebugReceiver(r *http.Request) (any, error) {
	var body struct {
		URL *string `json:"url"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&body); err != nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, `body must be a JSON object {"url": "http://…"}`)
	}
	if body.URL == nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter url")
	}
	u, err := a.cfg.Debug.SetReceiver(r.Context(), r.PathValue("program_id"), *body.URL)
	if err != nil {
		return nil, err
	}
	return map[string]string{"url": u}, nil
}

// handleDebugListen upgrades to a debug listener (`openzone debug listen`)
// once both credentials check out: the admin token (401) and the program's
// debug credential in X-Openzone-Debug-Token (40058, 710671). Refusals are
// plain JSON answers, before any upgrade, so the CLI can print them.
func (a *API) handleDebugListen(w http.ResponseWriter, r *http.Request) {
	if !a.authorized(w, r) {
		return
	}
	programID := r.PathValue("program_id")
	if err := a.cfg.Debug.CheckListener(r.Context(), programID, r.Header.Get(frame.HeaderDebugToken)); err != nil {
		a.write(w, nil, err)
		return
	}
	if err := a.cfg.Listeners.CheckTakeover(r.Context(), programID, r.Header.Get(frame.HeaderResume), r.Header.Get(frame.HeaderForce) == "1"); err != nil {
		a.write(w, nil, err)
		return
	}
	a.cfg.Listeners.Serve(w, r, programID)
}

// handleRelay runs another node's delivery on a listener this node holds
// (listener.RelayPath). It takes the admin token, which nodes share.
func (a *API) handleRelay(w http.ResponseWriter, r *http.Request) {
	if !a.authorized(w, r) {
		return
	}
	req, err := listener.DecodeRelay(r.Body)
	if err != nil {
		a.write(w, nil, err)
		return
	}
	a.write(w, a.cfg.Relay.Relayed(r.Context(), req), nil)
}

// handleDebugPage is the data of a program's debug page.
func (a *API) handleDebugPage(r *http.Request) (any, error) {
	return a.cfg.Debug.Page(r.Context(), r.PathValue("program_id"))
}

// handleNotificationList lists provider notifications (WeCom pushes them
// through 服务商助手), newest first.
func (a *API) handleNotificationList(r *http.Request) (any, error) {
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "limit must be an integer from 1 to 1000")
		}
		limit = n
	}
	ns, err := a.cfg.Store.NotificationList(r.Context(), r.URL.Query().Get("provider_id"), limit)
	if err != nil {
		return nil, err
	}
	return map[string]any{"notifications": ns}, nil
}

// handleProgramSecret is POST /admin/v1/programs/{program_id}/secret: the
// program secret in OPENZONE_SECRET form, for an instance the zone does not
// start itself (deploy.url, a container of the operator's own). It is the
// only way a secret leaves the zone: admin-token only, POST so no cache or
// prefetch keeps it, never recorded as traffic or logged, and every reveal
// is noted to the provider (like a debug credential's issue).
func (a *API) handleProgramSecret(r *http.Request) (any, error) {
	ctx := r.Context()
	id := r.PathValue("program_id")
	prog, err := a.cfg.Store.ProgramGet(ctx, id)
	if err != nil {
		if openzone.IsNotFound(err) {
			return nil, openzone.Errorf(openzone.ErrBadProgramID, "invalid program_id %q: no such program", id)
		}
		return nil, err
	}
	// A program the zone runs itself gets its secret from the zone; reading
	// it out is for instances elsewhere, and must be meant.
	zoneRun := len(prog.Deploy.Command) > 0
	if zoneRun && r.URL.Query().Get("force") != "1" {
		return nil, openzone.Conflict.Errorf("program %q is run by the zone itself (deploy.command): its instances get their secret from the zone. Reveal it anyway with force=1 (openzone secret --force)", id)
	}
	sec, err := a.cfg.Store.ProgramSecretGet(ctx, id)
	if err != nil {
		return nil, err
	}
	ws := wire.Secret{Ver: sec.Ver}
	copy(ws.Key[:], sec.Key)
	now := time.Now()
	if a.cfg.Now != nil {
		now = a.cfg.Now()
	}
	purpose := "for an instance outside the zone"
	if zoneRun {
		purpose = "although the zone runs this program itself (forced)"
	}
	if err := a.cfg.Store.NotificationInsert(ctx, &openzone.Notification{
		ProviderID: prog.ProviderID, ProgramID: id, Kind: "program_secret", CreatedAt: now,
		Title: fmt.Sprintf("专区程序密钥 program secret of %s revealed", id),
		Body:  fmt.Sprintf("The secret (version %d) of program %q was read through the admin API at %s, %s.", sec.Ver, id, now.UTC().Format(time.RFC3339), purpose),
	}); err != nil {
		return nil, err
	}
	return map[string]any{"program_id": id, "secret_ver": sec.Ver, "secret": ws.String()}, nil
}
