// Package display is the stand-in for WeCom's display component (会话展示组件)
// and what it answers to: the page that shows an archived message to a
// viewer who holds its secret_key, masking what the app's sensitive-info
// configuration (会话组件敏感信息隐藏设置) hides from that viewer.
package display

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/sensitive"
	"github.com/openzone/openzone/internal/specapi"
	"github.com/openzone/openzone/internal/store"
)

// Archive opens archived messages (archive.Service).
type Archive interface {
	Content(m *openzone.Message, secretKey string) (json.RawMessage, error)
	// Find is the message msgID whose secret_key is key, opened (one
	// indexed lookup by the key's tag); nil when there is none.
	Find(ctx context.Context, msgID, key string) (*openzone.Message, json.RawMessage)
}

// Config configures the service.
type Config struct {
	Store   store.Store
	Archive Archive
	Now     func() time.Time
	Logger  *slog.Logger
}

// Service is the display component's side of the zone.
type Service struct{ cfg Config }

// New returns the service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

// Register adds set_hide_sensitiveinfo_config and
// get_hide_sensitiveinfo_config, which WeCom's SDK also offers programs, to
// r: they act for the invoke's app.
func (s *Service) Register(r *specapi.Registry) {
	r.Register("set_hide_sensitiveinfo_config", func(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
		var req struct {
			UserID json.RawMessage `json:"userid"`
			Config json.RawMessage `json:"config"`
		}
		if err := decodeObject(raw, &req); err != nil {
			return nil, err
		}
		userID, err := stringField(req.UserID, "userid")
		if err != nil {
			return nil, err
		}
		flags, err := ParseConfig(req.Config)
		if err != nil {
			return nil, err
		}
		if err := s.SetHideConfig(ctx, c.App, userID, flags); err != nil {
			return nil, err
		}
		return openzone.OK, nil
	})
	r.Register("get_hide_sensitiveinfo_config", func(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
		var req struct {
			UserID json.RawMessage `json:"userid"`
		}
		if err := decodeObject(raw, &req); err != nil {
			return nil, err
		}
		userID, err := stringField(req.UserID, "userid")
		if err != nil {
			return nil, err
		}
		return s.HideConfigReply(ctx, c.App, userID)
	})
}

func decodeObject(raw json.RawMessage, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return openzone.Errorf(openzone.ErrInvalidParam, "request is not a JSON object")
	}
	return nil
}

// stringField reads a required string field.
func stringField(raw json.RawMessage, name string) (string, error) {
	var s string
	if len(raw) == 0 || string(raw) == "null" {
		return "", openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter %s", name)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", openzone.Errorf(openzone.ErrInvalidParam, "parameter %s must be a string", name)
	}
	if s == "" {
		return "", openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter %s", name)
	}
	return s, nil
}

// Flags are the switches of a sensitive-info configuration.
type Flags struct {
	HideMobile bool `json:"hide_mobile"`
	HideIDCard bool `json:"hide_idcard"`
	HideBankNo bool `json:"hide_bankno"`
	HideEmail  bool `json:"hide_email"` // an OpenZone extension
}

// ParseConfig reads set_hide_sensitiveinfo_config's config: an object whose
// switches are booleans, false when absent. Other keys are ignored, as
// WeCom's API ignores unknown fields.
func ParseConfig(raw json.RawMessage) (Flags, error) {
	var f Flags
	if len(raw) == 0 || string(raw) == "null" {
		return f, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter config")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return f, openzone.Errorf(openzone.ErrInvalidParam, "parameter config must be an object {hide_mobile, hide_idcard, hide_bankno}")
	}
	for name, dst := range map[string]*bool{"hide_mobile": &f.HideMobile, "hide_idcard": &f.HideIDCard, "hide_bankno": &f.HideBankNo, "hide_email": &f.HideEmail} {
		v, ok := fields[name]
		if !ok || string(v) == "null" {
			continue
		}
		if err := json.Unmarshal(v, dst); err != nil {
			return f, openzone.Errorf(openzone.ErrInvalidParam, "parameter config.%s must be true or false", name)
		}
	}
	return f, nil
}

// member checks that userID is a member of the app's corp: the viewer the
// configuration is for (60111 otherwise, WeCom's "UserID不存在").
func (s *Service) member(ctx context.Context, app *openzone.App, userID string) error {
	ms, err := s.cfg.Store.MemberList(ctx, app.CorpID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.UserID == userID {
			return nil
		}
	}
	return openzone.Errorf(openzone.ErrUserNotFound, "userid %q is not a member of corp %s", userID, app.CorpID)
}

// SetHideConfig is set_hide_sensitiveinfo_config: what the display
// component hides from member userID when it shows messages through app.
func (s *Service) SetHideConfig(ctx context.Context, app *openzone.App, userID string, f Flags) error {
	if err := s.member(ctx, app, userID); err != nil {
		return err
	}
	return s.cfg.Store.HideConfigPut(ctx, &openzone.HideConfig{CorpID: app.CorpID, AgentID: app.AgentID, UserID: userID,
		HideMobile: f.HideMobile, HideIDCard: f.HideIDCard, HideBankNo: f.HideBankNo, HideEmail: f.HideEmail, UpdatedAt: s.cfg.Now()})
}

type hideConfigReply struct {
	openzone.Base
	Config Flags `json:"config"`
}

// HideConfigReply is get_hide_sensitiveinfo_config: every switch false
// for a member nothing was set for.
func (s *Service) HideConfigReply(ctx context.Context, app *openzone.App, userID string) (openzone.Reply, error) {
	if err := s.member(ctx, app, userID); err != nil {
		return nil, err
	}
	c, err := s.cfg.Store.HideConfigGet(ctx, store.HideConfigGetParams{CorpID: app.CorpID, AgentID: app.AgentID, UserID: userID})
	if openzone.IsNotFound(err) {
		return &hideConfigReply{Base: openzone.OK}, nil
	}
	if err != nil {
		return nil, err
	}
	return &hideConfigReply{Base: openzone.OK, Config: Flags{HideMobile: c.HideMobile, HideIDCard: c.HideIDCard,
		HideBankNo: c.HideBankNo, HideEmail: c.HideEmail}}, nil
}

// hidden is what the display hides from viewer userID of app agentID of
// corp corpID: nothing without a viewer or a configuration.
func (s *Service) hidden(ctx context.Context, corpID string, agentID int64, userID string) (sensitive.Kind, error) {
	if agentID == 0 || userID == "" {
		return 0, nil
	}
	c, err := s.cfg.Store.HideConfigGet(ctx, store.HideConfigGetParams{CorpID: corpID, AgentID: agentID, UserID: userID})
	if openzone.IsNotFound(err) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var k sensitive.Kind
	if c.HideMobile {
		k |= sensitive.Phone
	}
	if c.HideIDCard {
		k |= sensitive.IDCard
	}
	if c.HideBankNo {
		k |= sensitive.BankCard
	}
	if c.HideEmail {
		k |= sensitive.Email
	}
	return k, nil
}
