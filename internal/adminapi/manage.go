package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/protocol"
	"github.com/openzone/openzone/internal/store"
)

// decodeBody reads a JSON object body of at most max bytes into v; unknown
// keys are refused by name, so a typo is not silently ignored.
func decodeBody(r *http.Request, max int64, v any, shape string) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return openzone.Errorf(openzone.ErrInvalidParam, "unknown field %s: the body is %s", f, shape)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return openzone.Errorf(openzone.ErrInvalidParam, "field %s must be %s", te.Field, jsonKind(te.Type.Kind().String()))
		}
		return openzone.Errorf(openzone.ErrBadBodyJSON, "body must be %s", shape)
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "a boolean"
	case "slice":
		return "an array"
	case "struct", "map", "ptr":
		return "an object"
	}
	return "a number"
}

// programBody is PUT /admin/v1/programs/{program_id}.
type programBody struct {
	Provider  string               `json:"provider"`
	Kind      openzone.ProgramKind `json:"kind"`
	Name      string               `json:"name"`
	Released  bool                 `json:"released"`
	Deploy    openzone.Deploy      `json:"deploy"`
	Abilities []openzone.Ability   `json:"abilities"`
}

const programShape = `{"provider","kind":"program"|"model","name","released","deploy":{"command":[…],"instances","isolation":"auto"|"on"|"off","image","sdk_path","limits":{"memory_mb","cpus","disk_mb"}}|{"url"},"abilities":[{"id","name","input":{…},"output":{…}}]}`

// handleProgramPut creates or replaces a program (专区程序 / 专区模型) and its
// abilities, then deploys it as its deploy says (or undeploys it).
func (a *API) handleProgramPut(r *http.Request) (any, error) {
	id := r.PathValue("program_id")
	if err := openzone.CheckID("program_id", id); err != nil {
		return nil, err
	}
	var b programBody
	if err := decodeBody(r, 1<<20, &b, programShape); err != nil {
		return nil, err
	}
	if b.Kind == "" {
		b.Kind = openzone.KindProgram
	}
	p := &openzone.Program{ID: id, ProviderID: b.Provider, Kind: b.Kind, Name: strings.TrimSpace(b.Name),
		Released: b.Released, Deploy: b.Deploy, Abilities: b.Abilities}
	if err := a.checkProgram(r, p); err != nil {
		return nil, err
	}
	if p.Abilities == nil {
		p.Abilities = []openzone.Ability{}
	}
	if err := a.cfg.Deploy.SaveProgram(r.Context(), p); err != nil {
		return nil, err
	}
	return a.view(p), nil
}

func (a *API) checkProgram(r *http.Request, p *openzone.Program) error {
	if p.ProviderID == "" {
		return openzone.Errorf(openzone.ErrInvalidParam, "missing required field provider")
	}
	if p.Name == "" {
		return openzone.Errorf(openzone.ErrInvalidParam, "name: must not be empty")
	}
	// The bounds and characters every path that sets a program checks.
	if err := p.Check(""); err != nil {
		return err
	}
	if _, err := a.cfg.Store.ProviderGet(r.Context(), p.ProviderID); err != nil {
		if openzone.IsNotFound(err) {
			return openzone.Errorf(openzone.ErrInvalidParam, "provider %q does not exist (add it with a seed file)", p.ProviderID)
		}
		return err
	}
	for i := range p.Abilities {
		ab := &p.Abilities[i]
		for _, io := range []struct {
			name string
			raw  json.RawMessage
		}{{"input", ab.Input}, {"output", ab.Output}} {
			if len(io.raw) == 0 {
				return openzone.Errorf(openzone.ErrInvalidParam, "abilities[%d].%s is missing: give the protocol as a JSON example object", i, io.name)
			}
			if _, err := protocol.Compile(io.raw); err != nil {
				return openzone.Errorf(openzone.ErrBadProtocol, "abilities[%d].%s: %s", i, io.name, openzone.ErrorMessage(err))
			}
		}
	}
	return nil
}

// handleProtocolCheck is POST /admin/v1/protocols/check {"protocol", "sample"?}:
// whether a protocol (输入/输出协议) compiles, what it accepts, and whether a
// sample payload matches it. A bad protocol is 790012; a sample that does not
// match is reported in the reply, not as an error.
func (a *API) handleProtocolCheck(r *http.Request) (any, error) {
	var b struct {
		Protocol json.RawMessage `json:"protocol"`
		Sample   json.RawMessage `json:"sample"`
	}
	if err := decodeBody(r, 1<<20, &b, `{"protocol": {…}, "sample": {…}}`); err != nil {
		return nil, err
	}
	if len(b.Protocol) == 0 {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required field protocol")
	}
	// A protocol typed in a form arrives as a JSON string holding JSON.
	b.Protocol = unquote(b.Protocol)
	t, err := protocol.Compile(b.Protocol)
	if err != nil {
		return nil, openzone.Errorf(openzone.ErrBadProtocol, "protocol: %s", openzone.ErrorMessage(err))
	}
	out := map[string]any{"valid": true, "accepts": t.Describe()}
	if len(b.Sample) > 0 && string(b.Sample) != "null" {
		b.Sample = unquote(b.Sample)
		switch err := t.Match(b.Sample); {
		case err == nil:
			out["sample_matches"] = true
		case errors.Is(err, protocol.ErrNotJSON):
			out["sample_matches"], out["sample_error"] = false, "sample is not valid JSON"
		default:
			out["sample_matches"], out["sample_error"] = false, "sample."+strings.TrimPrefix(err.Error(), "payload ")
		}
	}
	return out, nil
}

// unquote returns the JSON inside a JSON string, or raw as it is.
func unquote(raw json.RawMessage) json.RawMessage {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return json.RawMessage(s)
	}
	return raw
}

func (a *API) handleProviderList(r *http.Request) (any, error) {
	ps, err := a.cfg.Store.ProviderList(r.Context())
	if err != nil {
		return nil, err
	}
	return map[string]any{"providers": ps}, nil
}

// handleProviderTestCorps replaces a provider's test corps (测试企业): the
// corps where its custom apps may use debug mode and unreleased programs.
func (a *API) handleProviderTestCorps(r *http.Request) (any, error) {
	var b struct {
		TestCorps []string `json:"test_corps"`
	}
	if err := decodeBody(r, 64<<10, &b, `{"test_corps": ["corpid", …]}`); err != nil {
		return nil, err
	}
	if len(b.TestCorps) > openzone.MaxTestCorps {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "test_corps: %d corps, over the limit of %d", len(b.TestCorps), openzone.MaxTestCorps)
	}
	ctx := r.Context()
	var p *openzone.Provider
	err := a.cfg.Store.InTx(ctx, func(tx store.Executor) error {
		var err error
		if p, err = tx.ProviderGet(ctx, r.PathValue("provider_id")); err != nil {
			return err
		}
		p.TestCorps = []string{}
		for i, c := range b.TestCorps {
			if _, err := tx.CorpGet(ctx, c); err != nil {
				if openzone.IsNotFound(err) {
					return openzone.Errorf(openzone.ErrInvalidParam, "test_corps[%d]: corp %q does not exist", i, c)
				}
				return err
			}
			if !slices.Contains(p.TestCorps, c) {
				p.TestCorps = append(p.TestCorps, c)
			}
		}
		return tx.ProviderUpsert(ctx, p)
	})
	if err != nil {
		return nil, err
	}
	a.changed()
	a.scenarioChanged(ctx)
	return p, nil
}

func (a *API) changed() { a.cfg.Apps.Invalidate() }

// scenarioChanged ends the debug sessions of apps no longer in a test
// scenario (calls refuse them already: this closes them in the store).
// The change it follows is stored: a failure here is logged, not answered.
func (a *API) scenarioChanged(ctx context.Context) {
	if n, err := a.cfg.Debug.EndOutsideScenario(ctx); err != nil {
		a.cfg.Logger.Error("admin api: end debug sessions outside their test scenario", "err", err)
	} else if n > 0 {
		a.cfg.Logger.Info("admin api: debug sessions ended: their apps left their test scenarios", "count", n)
	}
}

// handleAppPrograms replaces the programs an app may use (应用可使用程序).
// An unreleased (未上线) program may be given only in a test scenario: a
// self-built app, a custom app in a test corp of its provider, a
// third-party app where it is test-installed (710672 otherwise, saying
// which rule).
func (a *API) handleAppPrograms(r *http.Request) (any, error) {
	var b struct {
		Programs []string `json:"programs"`
	}
	if err := decodeBody(r, 64<<10, &b, `{"programs": ["program_id", …]}`); err != nil {
		return nil, err
	}
	if b.Programs == nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required field programs (an empty array detaches all)")
	}
	if len(b.Programs) > openzone.MaxAppPrograms {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "programs: %d programs, over the limit of %d", len(b.Programs), openzone.MaxAppPrograms)
	}
	app, err := a.appFromPath(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	progs := []string{}
	err = a.cfg.Store.InTx(ctx, func(tx store.Executor) error {
		for i, id := range b.Programs {
			p, err := tx.ProgramGet(ctx, id)
			if err != nil {
				if openzone.IsNotFound(err) {
					return openzone.Errorf(openzone.ErrBadProgramID, "programs[%d]: program %q does not exist", i, id)
				}
				return err
			}
			if err := debugmode.CheckUse(ctx, tx, app, p); err != nil {
				return openzone.Errorf(openzone.ErrorCode(err), "programs[%d]: %s", i, openzone.ErrorMessage(err))
			}
			if !slices.Contains(progs, id) {
				progs = append(progs, id)
			}
		}
		return tx.AppProgramsSet(ctx, store.AppProgramsSetParams{CorpID: app.CorpID, AgentID: app.AgentID, ProgramIDs: progs})
	})
	if err != nil {
		return nil, err
	}
	a.changed()
	return map[string]any{"corpid": app.CorpID, "agentid": app.AgentID, "programs": progs}, nil
}

// handleAppTestInstall sets whether a third-party app is test-installed
// (测试安装) in the corp.
func (a *API) handleAppTestInstall(r *http.Request) (any, error) {
	var b struct {
		TestInstall *bool `json:"test_install"`
	}
	if err := decodeBody(r, 4<<10, &b, `{"test_install": true|false}`); err != nil {
		return nil, err
	}
	if b.TestInstall == nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required field test_install")
	}
	app, err := a.appFromPath(r)
	if err != nil {
		return nil, err
	}
	if app.Type != openzone.AppThirdParty {
		return nil, openzone.Errorf(openzone.ErrNotSuiteApp, "test_install: only a third_party app can be test-installed; app %d is %s", app.AgentID, app.Type)
	}
	app.TestInstall = *b.TestInstall
	if err := a.cfg.Store.AppUpsert(r.Context(), app); err != nil {
		return nil, err
	}
	a.changed()
	a.scenarioChanged(r.Context())
	return app, nil
}

// handleDebugClose closes debug mode for one (corp, app) of the program
// from its debug page: both halves, as close_debug_mode does.
func (a *API) handleDebugClose(r *http.Request) (any, error) {
	app, err := a.appFromPath(r)
	if err != nil {
		return nil, err
	}
	if err := a.cfg.Debug.AppClose(r.Context(), app, r.PathValue("program_id")); err != nil {
		return nil, err
	}
	return a.cfg.Debug.Page(r.Context(), r.PathValue("program_id"))
}

func (a *API) corp(r *http.Request) (string, error) {
	id := r.PathValue("corpid")
	_, err := a.cfg.Store.CorpGet(r.Context(), id)
	return id, err
}

// handleMemberList lists a corp's members and external contacts.
func (a *API) handleMemberList(r *http.Request) (any, error) {
	id, err := a.corp(r)
	if err != nil {
		return nil, err
	}
	ms, err := a.cfg.Store.MemberList(r.Context(), id)
	if err != nil {
		return nil, err
	}
	xs, err := a.cfg.Store.ExternalContactList(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"members": ms, "external_contacts": xs}, nil
}

func (a *API) handleChatList(r *http.Request) (any, error) {
	id, err := a.corp(r)
	if err != nil {
		return nil, err
	}
	cs, err := a.cfg.Store.ChatList(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"chats": cs}, nil
}

// handlePublicKeyList lists the apps' public keys (set_public_key).
func (a *API) handlePublicKeyList(r *http.Request) (any, error) {
	id, err := a.corp(r)
	if err != nil {
		return nil, err
	}
	ks, err := a.cfg.Store.AppPublicKeyList(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"public_keys": ks}, nil
}

// handleKeywordRuleList lists an app's keyword rules (关键词规则).
func (a *API) handleKeywordRuleList(r *http.Request) (any, error) {
	app, err := a.appFromPath(r)
	if err != nil {
		return nil, err
	}
	rs, err := a.cfg.Store.KeywordRuleList(r.Context(), app.CorpID, app.AgentID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"rules": rs}, nil
}

func (a *API) handleKeywordRuleDelete(r *http.Request) (any, error) {
	app, err := a.appFromPath(r)
	if err != nil {
		return nil, err
	}
	id := r.PathValue("rule_id")
	if err := a.cfg.Store.KeywordRuleDelete(r.Context(), store.KeywordRuleDeleteParams{CorpID: app.CorpID, AgentID: app.AgentID, RuleID: id}); err != nil {
		if openzone.IsNotFound(err) {
			return nil, openzone.Errorf(openzone.ErrRuleNotFound, "rule_id %q: app %d has no such keyword rule", id, app.AgentID)
		}
		return nil, err
	}
	return map[string]any{"rule_id": id, "deleted": true}, nil
}
