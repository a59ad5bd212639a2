package openzone

import (
	"fmt"
	"slices"
)

// TagGroup is one of a corp's customer tag groups (客户标签组): what
// {tagjson} lists and what customer-tag tasks choose from.
type TagGroup struct {
	GroupID   string `json:"group_id"`
	GroupName string `json:"group_name"`
	Tags      []Tag  `json:"tags"`
}

// Tag is one customer tag (客户标签). Synonyms are an OpenZone addition:
// words that mean the tag, which the builtin backend matches beside the
// tag's name; WeCom's tag JSON carries only id and name.
type Tag struct {
	TagID    string   `json:"tag_id"`
	TagName  string   `json:"tag_name"`
	Synonyms []string `json:"synonyms,omitempty"`
}

// Limits of customer tags.
const (
	MaxTagGroups    = 1000 // a corp's groups
	MaxTagsPerGroup = 1000
	MaxTagSynonyms  = 64
)

// CheckTagGroups checks a corp's tag groups at path: ids unique (groups in
// the corp, tags in their group), names required.
func CheckTagGroups(path string, groups []TagGroup) error {
	if len(groups) > MaxTagGroups {
		return fieldErr(path, "has %d groups, over the limit of %d", len(groups), MaxTagGroups)
	}
	seen := map[string]bool{}
	for i, g := range groups {
		gp := fmt.Sprintf("%s[%d]", path, i)
		if err := CheckID(Field(gp, "group_id"), g.GroupID); err != nil {
			return err
		}
		if seen[g.GroupID] {
			return fieldErr(Field(gp, "group_id"), "%q appears twice", g.GroupID)
		}
		seen[g.GroupID] = true
		if err := CheckText(Field(gp, "group_name"), g.GroupName, MaxNameLen, true); err != nil {
			return err
		}
		if len(g.Tags) > MaxTagsPerGroup {
			return fieldErr(Field(gp, "tags"), "has %d tags, over the limit of %d", len(g.Tags), MaxTagsPerGroup)
		}
		tags := map[string]bool{}
		for j, t := range g.Tags {
			tp := fmt.Sprintf("%s[%d]", Field(gp, "tags"), j)
			if err := CheckID(Field(tp, "tag_id"), t.TagID); err != nil {
				return err
			}
			if tags[t.TagID] {
				return fieldErr(Field(tp, "tag_id"), "%q appears twice in the group", t.TagID)
			}
			tags[t.TagID] = true
			if err := CheckText(Field(tp, "tag_name"), t.TagName, MaxNameLen, true); err != nil {
				return err
			}
			if len(t.Synonyms) > MaxTagSynonyms {
				return fieldErr(Field(tp, "synonyms"), "has %d words, over the limit of %d", len(t.Synonyms), MaxTagSynonyms)
			}
			for k, s := range t.Synonyms {
				if err := CheckText(fmt.Sprintf("%s[%d]", Field(tp, "synonyms"), k), s, MaxNameLen, true); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Backends of WeCom's own models.
const (
	BackendBuiltin = "builtin" // the zone's own analysers: no network, deterministic
	BackendOpenAI  = "openai"  // an OpenAI-compatible chat-completions endpoint
	BackendProgram = "program" // one of the zone's own programs or models
)

// WWModel is the backend chosen for one WeCom model id: which of the
// backends answers it, and for BackendProgram the program (or model) and
// ability that stand in; OpenAIModel overrides the endpoint's default
// model name for BackendOpenAI.
type WWModel struct {
	ModelID     string `json:"model_id"`
	Backend     string `json:"backend"`
	ProgramID   string `json:"program_id,omitempty"`
	AbilityID   string `json:"ability_id,omitempty"`
	OpenAIModel string `json:"openai_model,omitempty"`
}

// Check checks a model's backend setting at path.
func (m *WWModel) Check(path string) error {
	if err := CheckID(Field(path, "model_id"), m.ModelID); err != nil {
		return err
	}
	if !slices.Contains([]string{BackendBuiltin, BackendOpenAI, BackendProgram}, m.Backend) {
		return fieldErr(Field(path, "backend"), "must be builtin, openai or program, got %q", m.Backend)
	}
	if m.Backend == BackendProgram {
		if err := CheckID(Field(path, "program_id"), m.ProgramID); err != nil {
			return err
		}
		if err := CheckID(Field(path, "ability_id"), m.AbilityID); err != nil {
			return err
		}
	}
	return CheckText(Field(path, "openai_model"), m.OpenAIModel, MaxNameLen, false)
}
