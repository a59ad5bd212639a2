package appapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

type tokenReply struct {
	openzone.Base
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
}

// handleGetToken serves GET /cgi-bin/gettoken?corpid=&corpsecret=.
func (a *API) handleGetToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	t, err := a.Token(r.Context(), q.Get("corpid"), q.Get("corpsecret"))
	if err != nil {
		writeError(w, a.log, err)
		return
	}
	writeJSON(w, tokenReply{Base: openzone.OK, AccessToken: t.Token, ExpiresIn: int(t.ExpiresAt.Sub(a.now()).Seconds())})
}

// Token checks an app's credentials and returns its access_token. As in
// WeCom, asking again while a token is valid returns the same token with
// its remaining lifetime; a new one is minted only after expiry.
func (a *API) Token(ctx context.Context, corpID, secret string) (*openzone.AccessToken, error) {
	if corpID == "" {
		return nil, openzone.Errorf(openzone.ErrMissingCorpID, "corpid missing")
	}
	if secret == "" {
		return nil, openzone.Errorf(openzone.ErrMissingSecret, "corpsecret missing")
	}
	if _, err := a.store.CorpGet(ctx, corpID); err != nil {
		if openzone.IsNotFound(err) {
			return nil, openzone.Errorf(openzone.ErrInvalidCorpID, "invalid corpid %q", corpID)
		}
		return nil, err
	}
	app, err := a.store.AppFindBySecret(ctx, corpID, secret)
	if err != nil {
		if openzone.IsNotFound(err) {
			return nil, openzone.Errorf(openzone.ErrInvalidSecret, "invalid credential: corpsecret does not belong to an app of corp %s", corpID)
		}
		return nil, err
	}
	return a.TokenForApp(ctx, app)
}

// TokenForApp returns the app's valid token or mints one. The admin API uses
// it to hand the CLI a token without the app secret.
func (a *API) TokenForApp(ctx context.Context, app *openzone.App) (*openzone.AccessToken, error) {
	now := a.now()
	// Find-or-mint in one transaction: concurrent gettokens, on this node
	// or another, get the same token (the store serializes them).
	var t *openzone.AccessToken
	err := a.store.InTx(ctx, func(tx store.Executor) error {
		var err error
		t, err = tx.TokenFindValid(ctx, store.TokenFindValidParams{CorpID: app.CorpID, AgentID: app.AgentID, Now: now})
		if !openzone.IsNotFound(err) {
			return err
		}
		var b [48]byte
		rand.Read(b[:])
		t = &openzone.AccessToken{
			Token:     base64.RawURLEncoding.EncodeToString(b[:]),
			CorpID:    app.CorpID,
			AgentID:   app.AgentID,
			ExpiresAt: now.Add(openzone.TokenTTL),
		}
		return tx.TokenInsert(ctx, t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}
