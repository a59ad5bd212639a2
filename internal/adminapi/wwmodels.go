package adminapi

import (
	"net/http"

	"github.com/openzone/openzone"
)

// handleTagGroupList is GET /admin/v1/corps/{corpid}/tag_groups: the
// corp's customer tag groups (客户标签), in their order.
func (a *API) handleTagGroupList(r *http.Request) (any, error) {
	ctx := r.Context()
	corpID := r.PathValue("corpid")
	if _, err := a.cfg.Store.CorpGet(ctx, corpID); err != nil {
		return nil, err
	}
	groups, err := a.cfg.Store.TagGroupList(ctx, corpID)
	if err != nil {
		return nil, err
	}
	if groups == nil {
		groups = []openzone.TagGroup{}
	}
	return map[string]any{"tag_groups": groups}, nil
}

// handleTagGroupsPut is PUT /admin/v1/corps/{corpid}/tag_groups
// {"tag_groups": [{group_id, group_name, tags: [{tag_id, tag_name,
// synonyms}]}]}: replaces the corp's groups.
func (a *API) handleTagGroupsPut(r *http.Request) (any, error) {
	var b struct {
		TagGroups []openzone.TagGroup `json:"tag_groups"`
	}
	if err := decodeBody(r, 4<<20, &b, `{"tag_groups": [{"group_id", "group_name", "tags": [{"tag_id", "tag_name", "synonyms": []}]}]}`); err != nil {
		return nil, err
	}
	if b.TagGroups == nil {
		b.TagGroups = []openzone.TagGroup{}
	}
	for i := range b.TagGroups {
		if b.TagGroups[i].Tags == nil {
			b.TagGroups[i].Tags = []openzone.Tag{}
		}
	}
	if err := openzone.CheckTagGroups("tag_groups", b.TagGroups); err != nil {
		return nil, err
	}
	if err := a.cfg.Store.TagGroupsSet(r.Context(), r.PathValue("corpid"), b.TagGroups); err != nil {
		return nil, err
	}
	return map[string]any{"tag_groups": b.TagGroups}, nil
}

// handleQuota is GET /admin/v1/corps/{corpid}/quota: the corp's use of
// each daily model quota today, and when it resets.
func (a *API) handleQuota(r *http.Request) (any, error) {
	ctx := r.Context()
	corpID := r.PathValue("corpid")
	if _, err := a.cfg.Store.CorpGet(ctx, corpID); err != nil {
		return nil, err
	}
	out := map[string]any{}
	if a.cfg.Models != nil {
		u, err := a.cfg.Models.QuotaUsage(ctx, corpID)
		if err != nil {
			return nil, err
		}
		for k, v := range u {
			out[k] = v
		}
	}
	return map[string]any{"quota": out}, nil
}

// handleWWModelList is GET /admin/v1/ww_models: the backends set per
// WeCom model id (ids not listed use the zone's default backend).
func (a *API) handleWWModelList(r *http.Request) (any, error) {
	ms, err := a.cfg.Store.WWModelList(r.Context())
	if err != nil {
		return nil, err
	}
	if ms == nil {
		ms = []*openzone.WWModel{}
	}
	return map[string]any{"ww_models": ms}, nil
}

// handleWWModelPut is PUT /admin/v1/ww_models/{model_id} {"backend",
// "program_id", "ability_id", "openai_model"}.
func (a *API) handleWWModelPut(r *http.Request) (any, error) {
	var m openzone.WWModel
	if err := decodeBody(r, 64<<10, &m, `{"backend": "builtin|openai|program", "program_id", "ability_id", "openai_model"}`); err != nil {
		return nil, err
	}
	m.ModelID = r.PathValue("model_id")
	if err := m.Check(""); err != nil {
		return nil, err
	}
	ctx := r.Context()
	if m.Backend == openzone.BackendProgram {
		p, err := a.cfg.Store.ProgramGet(ctx, m.ProgramID)
		if err != nil {
			return nil, err
		}
		if p.Ability(m.AbilityID) == nil {
			return nil, openzone.Errorf(openzone.ErrAbilityNotFound, "program %q has no ability %q", m.ProgramID, m.AbilityID)
		}
	}
	if err := a.cfg.Store.WWModelUpsert(ctx, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// handleWWModelDelete is DELETE /admin/v1/ww_models/{model_id}: the id
// goes back to the zone's default backend.
func (a *API) handleWWModelDelete(r *http.Request) (any, error) {
	if err := a.cfg.Store.WWModelDelete(r.Context(), r.PathValue("model_id")); err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}
