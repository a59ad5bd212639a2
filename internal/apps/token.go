package apps

import (
	"context"
	"crypto/rand"
	"encoding/base64"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

// Token checks an app's credentials (gettoken) and returns its
// access_token. As in WeCom, asking again while a token is valid returns
// the same token with its remaining lifetime; a new one is minted only
// after expiry.
func (s *Service) Token(ctx context.Context, corpID, secret string) (*openzone.AccessToken, error) {
	if corpID == "" {
		return nil, openzone.Errorf(openzone.ErrMissingCorpID, "corpid missing")
	}
	if secret == "" {
		return nil, openzone.Errorf(openzone.ErrMissingSecret, "corpsecret missing")
	}
	if _, err := s.cfg.Store.CorpGet(ctx, corpID); err != nil {
		if openzone.IsNotFound(err) {
			return nil, openzone.Errorf(openzone.ErrInvalidCorpID, "invalid corpid %q", corpID)
		}
		return nil, err
	}
	app, err := s.cfg.Store.AppFindBySecret(ctx, corpID, secret)
	if err != nil {
		if openzone.IsNotFound(err) {
			return nil, openzone.Errorf(openzone.ErrInvalidSecret, "invalid credential: corpsecret does not belong to an app of corp %s", corpID)
		}
		return nil, err
	}
	return s.TokenForApp(ctx, app)
}

// TokenForApp returns the app's valid token or mints one. The admin API
// uses it to hand the CLI a token without the app secret.
func (s *Service) TokenForApp(ctx context.Context, app *openzone.App) (*openzone.AccessToken, error) {
	now := s.cfg.Now()
	// Find-or-mint in one transaction: concurrent gettokens, on this node
	// or another, get the same token (the store serializes them).
	var t *openzone.AccessToken
	err := s.cfg.Store.InTx(ctx, func(tx store.Executor) error {
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

// Authenticate resolves an access_token to its app and checks the app's
// zone permission (WeCom's first two checks of every chatdata API; the SDK
// half of debug mode authenticates its access_token with it too).
func (s *Service) Authenticate(ctx context.Context, token string) (*openzone.App, error) {
	if token == "" {
		return nil, openzone.Errorf(openzone.ErrMissingToken, "access_token missing")
	}
	t, err := s.tokenGet(ctx, token)
	if openzone.IsNotFound(err) {
		return nil, openzone.Errorf(openzone.ErrInvalidToken, "invalid access_token")
	}
	if err != nil {
		return nil, err
	}
	if !s.cfg.Now().Before(t.ExpiresAt) {
		return nil, openzone.Errorf(openzone.ErrTokenExpired, "access_token expired")
	}
	app, err := s.appGet(ctx, t.CorpID, t.AgentID)
	if openzone.IsNotFound(err) {
		return nil, openzone.Errorf(openzone.ErrInvalidToken, "invalid access_token: its app no longer exists")
	}
	if err != nil {
		return nil, err
	}
	if !app.ZonePermission {
		return nil, openzone.Errorf(openzone.ErrZonePermission, "app %d of corp %s lacks the 数据与智能专区 (data & intelligence zone) permission", app.AgentID, app.CorpID)
	}
	return app, nil
}
