package seed

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/openzone/openzone"
	"go.yaml.in/yaml/v3"
)

// Limits against alias bombs: a file may make the decoder visit maxVisits
// nodes, and produce maxJSONBytes of protocol JSON, more than its own size.
const (
	maxVisits    = 1_000_000
	maxJSONBytes = 8 << 20
)

// decoder walks the YAML node tree by hand, so that every error can name its
// line and key, and unknown keys are caught.
type decoder struct {
	name       string
	lines      map[string]int
	active     map[*yaml.Node]bool // aliases being expanded (cycle check)
	visits     int
	jsonBudget int
}

// The keys of each mapping, in documentation order.
var (
	fileKeys     = []string{"providers", "corps", "programs", "apps", "ww_models"}
	providerKeys = []string{"id", "name", "test_corps"}
	authKeys     = []string{"status", "begin_time", "end_time"}
	corpKeys     = []string{"corpid", "name", "retention_days", "auth", "members", "external_contacts", "chats", "messages", "tag_groups"}
	tagGroupKeys = []string{"group_id", "group_name", "tags"}
	tagKeys      = []string{"tag_id", "tag_name", "synonyms"}
	wwModelKeys  = []string{"model_id", "backend", "program_id", "ability_id", "openai_model"}
	chatKeys     = []string{"chatid", "name", "owner", "members"}
	messageKeys  = []string{"msgid", "from", "to", "chat", "text"}
	memberKeys   = []string{"userid", "name", "editions"}
	contactKeys  = []string{"external_userid", "name"}
	programKeys  = []string{"id", "provider", "kind", "name", "released", "deploy", "abilities"}
	deployKeys   = []string{"command", "instances", "url", "isolation", "image", "sdk_path", "limits"}
	limitsKeys   = []string{"memory_mb", "cpus", "disk_mb"}
	abilityKeys  = []string{"id", "name", "input", "output"}
	appKeys      = []string{"corpid", "agentid", "type", "provider", "secret", "test_install", "zone_permission", "knowledge_permission", "callback", "programs"}
	callbackKeys = []string{"url", "token", "encoding_aes_key"}
)

func (d *decoder) errorf(line int, format string, args ...any) error {
	return openzone.Errorf(openzone.ErrInvalidParam, "%s:%d: %s", d.name, line, fmt.Sprintf(format, args...))
}

// visit counts a node against the budget.
func (d *decoder) visit(n *yaml.Node) error {
	d.visits--
	if d.visits < 0 {
		return d.errorf(n.Line, "too many nodes once aliases are expanded (more than %d)", maxVisits)
	}
	return nil
}

// deref follows aliases. Callers that recurse into the result must guard
// against cycles with d.active.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }

// describe names a node's YAML type for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "…"
		}
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean " + v
		case "!!int":
			return "an integer " + v
		case "!!float":
			return "a number " + v
		}
		return "a string " + strconv.Quote(v)
	}
	return "an empty document"
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// pair is one key and value of a mapping.
type pair struct {
	key, value *yaml.Node
	name       string
}

// pairs returns the entries of mapping n in document order, with merge keys
// (<<) expanded where they stand; a key written in n wins over a merged
// one, and an earlier merge over a later. Duplicate keys are an error.
func (d *decoder) pairs(n *yaml.Node, path string) ([]pair, error) {
	explicit := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			return nil, d.errorf(k.Line, "%s: a key must be a string, got %s", orTop(path), describe(k))
		}
		if k.ShortTag() == "!!merge" {
			continue
		}
		if prev, ok := explicit[k.Value]; ok {
			return nil, d.errorf(n.Content[i].Line, "duplicate key %q in %s (first at line %d)", k.Value, orTop(path), prev.Line)
		}
		explicit[k.Value] = n.Content[i]
	}
	var out []pair
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if err := d.visit(k); err != nil {
			return nil, err
		}
		if k.ShortTag() != "!!merge" {
			seen[k.Value] = true
			out = append(out, pair{key: n.Content[i], value: v, name: k.Value})
			continue
		}
		merged, err := d.mergeSources(v, path)
		if err != nil {
			return nil, err
		}
		for _, m := range merged {
			if _, ok := explicit[m.name]; ok || seen[m.name] {
				continue
			}
			seen[m.name] = true
			out = append(out, m)
		}
	}
	return out, nil
}

// mergeSources expands the value of a merge key: a mapping, or a list of
// mappings, usually aliases.
func (d *decoder) mergeSources(v *yaml.Node, path string) ([]pair, error) {
	var sources []*yaml.Node
	switch dv := deref(v); dv.Kind {
	case yaml.MappingNode:
		sources = []*yaml.Node{v}
	case yaml.SequenceNode:
		sources = dv.Content
	default:
		return nil, d.errorf(v.Line, "%s: a merge key (<<) wants a mapping or a list of mappings, got %s", orTop(path), describe(v))
	}
	var out []pair
	for _, s := range sources {
		if d.active[s] {
			return nil, d.errorf(s.Line, "%s: anchor %q contains itself", orTop(path), s.Value)
		}
		ds := deref(s)
		if ds.Kind != yaml.MappingNode {
			return nil, d.errorf(s.Line, "%s: a merge key (<<) wants a mapping or a list of mappings, got %s", orTop(path), describe(s))
		}
		d.active[s] = true
		ps, err := d.pairs(ds, path)
		delete(d.active, s)
		if err != nil {
			return nil, err
		}
		out = append(out, ps...)
	}
	return out, nil
}

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

// fields is a decoded mapping of the seed schema: its known keys with
// non-null values.
type fields struct {
	d    *decoder
	path string
	line int
	vals map[string]*yaml.Node
}

// mapping decodes n as a mapping whose keys must be among known. A null n
// yields an empty mapping.
func (d *decoder) mapping(n *yaml.Node, path string, known []string) (*fields, error) {
	if err := d.visit(n); err != nil {
		return nil, err
	}
	f := &fields{d: d, path: path, line: n.Line, vals: map[string]*yaml.Node{}}
	if path != "" {
		d.lines[path] = n.Line
	}
	if isNull(n) {
		return f, nil
	}
	dn := deref(n)
	if dn.Kind != yaml.MappingNode {
		return nil, d.errorf(n.Line, "%s: want a mapping, got %s", orTop(path), describe(n))
	}
	ps, err := d.pairs(dn, path)
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if !contains(known, p.name) {
			where := "in " + path
			if path == "" {
				where = "at the top level"
			}
			return nil, d.errorf(p.key.Line, "unknown key %q %s (known: %s)", p.name, where, strings.Join(known, ", "))
		}
		if isNull(p.value) {
			continue
		}
		f.vals[p.name] = p.value
		d.lines[join(path, p.name)] = p.value.Line
	}
	return f, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (f *fields) has(key string) bool { _, ok := f.vals[key]; return ok }

// str returns a scalar as written (`id: 123` is "123").
func (f *fields) str(key string) (string, error) {
	n, ok := f.vals[key]
	if !ok {
		return "", nil
	}
	return f.d.scalar(n, join(f.path, key))
}

func (d *decoder) scalar(n *yaml.Node, path string) (string, error) {
	if err := d.visit(n); err != nil {
		return "", err
	}
	dn := deref(n)
	if dn.Kind != yaml.ScalarNode {
		return "", d.errorf(n.Line, "%s: want a string, got %s", path, describe(n))
	}
	return dn.Value, nil
}

// strs returns a list of scalars. A present list is never nil.
func (f *fields) strs(key string) ([]string, error) {
	n, ok := f.vals[key]
	if !ok {
		return nil, nil
	}
	path := join(f.path, key)
	items, err := f.d.list(n, path)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		p := index(path, i)
		f.d.lines[p] = it.Line
		if isNull(it) {
			return nil, f.d.errorf(it.Line, "%s: want a string, got null", p)
		}
		s, err := f.d.scalar(it, p)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// list returns the items of a sequence.
func (d *decoder) list(n *yaml.Node, path string) ([]*yaml.Node, error) {
	if err := d.visit(n); err != nil {
		return nil, err
	}
	dn := deref(n)
	if dn.Kind != yaml.SequenceNode {
		return nil, d.errorf(n.Line, "%s: want a list, got %s", path, describe(n))
	}
	return dn.Content, nil
}

// items returns the items of the list at key, with their paths.
func (f *fields) items(key string) ([]*yaml.Node, string, error) {
	n, ok := f.vals[key]
	if !ok {
		return nil, "", nil
	}
	path := join(f.path, key)
	items, err := f.d.list(n, path)
	return items, path, err
}

func (f *fields) boolean(key string, def bool) (bool, error) {
	n, ok := f.vals[key]
	if !ok {
		return def, nil
	}
	dn := deref(n)
	var b bool
	if dn.Kind != yaml.ScalarNode || dn.ShortTag() != "!!bool" || dn.Decode(&b) != nil {
		return false, f.d.errorf(n.Line, "%s: want true or false, got %s", join(f.path, key), describe(n))
	}
	return b, nil
}

func (f *fields) integer(key string) (int64, bool, error) {
	n, ok := f.vals[key]
	if !ok {
		return 0, false, nil
	}
	dn := deref(n)
	var i int64
	if dn.Kind != yaml.ScalarNode || dn.ShortTag() != "!!int" || dn.Decode(&i) != nil {
		return 0, false, f.d.errorf(n.Line, "%s: want an integer, got %s", join(f.path, key), describe(n))
	}
	return i, true, nil
}

// number returns an integer or a decimal (0 when absent).
func (f *fields) number(key string) (float64, error) {
	n, ok := f.vals[key]
	if !ok {
		return 0, nil
	}
	dn := deref(n)
	var v float64
	if dn.Kind != yaml.ScalarNode || (dn.ShortTag() != "!!int" && dn.ShortTag() != "!!float") || dn.Decode(&v) != nil {
		return 0, f.d.errorf(n.Line, "%s: want a number, got %s", join(f.path, key), describe(n))
	}
	return v, nil
}

// file decodes the top-level mapping.
func (d *decoder) file(doc *yaml.Node) (*File, error) {
	f := &File{}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return f, nil
		}
		doc = doc.Content[0]
	}
	top, err := d.mapping(doc, "", fileKeys)
	if err != nil {
		return nil, err
	}
	items, path, err := top.items("providers")
	if err != nil {
		return nil, err
	}
	for i, n := range items {
		p, err := d.provider(n, index(path, i))
		if err != nil {
			return nil, err
		}
		f.Providers = append(f.Providers, p)
	}
	if items, path, err = top.items("corps"); err != nil {
		return nil, err
	}
	for i, n := range items {
		c, err := d.corp(n, index(path, i))
		if err != nil {
			return nil, err
		}
		f.Corps = append(f.Corps, c)
	}
	if items, path, err = top.items("programs"); err != nil {
		return nil, err
	}
	for i, n := range items {
		p, err := d.program(n, index(path, i))
		if err != nil {
			return nil, err
		}
		f.Programs = append(f.Programs, p)
	}
	if items, path, err = top.items("apps"); err != nil {
		return nil, err
	}
	for i, n := range items {
		a, err := d.app(n, index(path, i))
		if err != nil {
			return nil, err
		}
		f.Apps = append(f.Apps, a)
	}
	if items, path, err = top.items("ww_models"); err != nil {
		return nil, err
	}
	for i, n := range items {
		w, err := d.wwModel(n, index(path, i))
		if err != nil {
			return nil, err
		}
		f.WWModels = append(f.WWModels, w)
	}
	return f, nil
}

// strFields reads several string keys at once.
func (f *fields) strFields(keys ...string) ([]string, error) {
	out := make([]string, len(keys))
	for i, k := range keys {
		s, err := f.str(k)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}

func (d *decoder) provider(n *yaml.Node, path string) (openzone.Provider, error) {
	var p openzone.Provider
	m, err := d.mapping(n, path, providerKeys)
	if err != nil {
		return p, err
	}
	s, err := m.strFields("id", "name")
	if err != nil {
		return p, err
	}
	p.ID, p.Name = s[0], s[1]
	p.TestCorps, err = m.strs("test_corps")
	return p, err
}

func (d *decoder) corp(n *yaml.Node, path string) (CorpEntry, error) {
	var c CorpEntry
	m, err := d.mapping(n, path, corpKeys)
	if err != nil {
		return c, err
	}
	s, err := m.strFields("corpid", "name")
	if err != nil {
		return c, err
	}
	c.Corp = openzone.Corp{CorpID: s[0], Name: s[1]}
	if days, ok, err := m.integer("retention_days"); err != nil {
		return c, err
	} else if ok {
		if days < 1 || days > openzone.MaxRetentionDays {
			return c, d.errorf(d.lines[join(path, "retention_days")], "%s.retention_days: %d is not from 1 to %d (2 years)", path, days, openzone.MaxRetentionDays)
		}
		c.Corp.RetentionDays = int(days)
	}
	if m.has("auth") {
		if c.Corp.Auth, err = d.auth(m.vals["auth"], join(path, "auth")); err != nil {
			return c, err
		}
	}
	items, ipath, err := m.items("members")
	if err != nil {
		return c, err
	}
	for i, it := range items {
		mm, err := d.mapping(it, index(ipath, i), memberKeys)
		if err != nil {
			return c, err
		}
		s, err := mm.strFields("userid", "name")
		if err != nil {
			return c, err
		}
		member := openzone.Member{CorpID: c.Corp.CorpID, UserID: s[0], Name: s[1]}
		if mm.has("editions") {
			es, err := mm.strs("editions")
			if err != nil {
				return c, err
			}
			member.Editions = make([]int, 0, len(es))
			for k, e := range es {
				n, err := strconv.Atoi(e)
				if err != nil {
					return c, d.errorf(d.lines[index(join(index(ipath, i), "editions"), k)], "%s.editions[%d]: %q is not an edition (1, 2 or 3)", index(ipath, i), k, e)
				}
				member.Editions = append(member.Editions, n)
			}
		}
		c.Members = append(c.Members, member)
	}
	if items, ipath, err = m.items("external_contacts"); err != nil {
		return c, err
	}
	for i, it := range items {
		mm, err := d.mapping(it, index(ipath, i), contactKeys)
		if err != nil {
			return c, err
		}
		s, err := mm.strFields("external_userid", "name")
		if err != nil {
			return c, err
		}
		c.ExternalContacts = append(c.ExternalContacts, openzone.ExternalContact{CorpID: c.Corp.CorpID, ExternalUserID: s[0], Name: s[1]})
	}
	if items, ipath, err = m.items("chats"); err != nil {
		return c, err
	}
	for i, it := range items {
		mm, err := d.mapping(it, index(ipath, i), chatKeys)
		if err != nil {
			return c, err
		}
		s, err := mm.strFields("chatid", "name", "owner")
		if err != nil {
			return c, err
		}
		members, err := mm.strs("members")
		if err != nil {
			return c, err
		}
		c.Chats = append(c.Chats, ChatEntry{ChatID: s[0], Name: s[1], Owner: s[2], Members: members})
	}
	if items, ipath, err = m.items("messages"); err != nil {
		return c, err
	}
	for i, it := range items {
		mm, err := d.mapping(it, index(ipath, i), messageKeys)
		if err != nil {
			return c, err
		}
		s, err := mm.strFields("msgid", "from", "chat", "text")
		if err != nil {
			return c, err
		}
		to, err := mm.strs("to")
		if err != nil {
			return c, err
		}
		c.Messages = append(c.Messages, MessageEntry{MsgID: s[0], From: s[1], Chat: s[2], Text: s[3], To: to})
	}
	if items, ipath, err = m.items("tag_groups"); err != nil {
		return c, err
	}
	if items != nil {
		c.TagGroups = []openzone.TagGroup{}
	}
	for i, it := range items {
		g, err := d.tagGroup(it, index(ipath, i))
		if err != nil {
			return c, err
		}
		c.TagGroups = append(c.TagGroups, g)
	}
	return c, nil
}

// auth decodes a corp's authorisation: status (1–7) and its period as unix
// seconds.
func (d *decoder) auth(n *yaml.Node, path string) (openzone.Auth, error) {
	var a openzone.Auth
	m, err := d.mapping(n, path, authKeys)
	if err != nil {
		return a, err
	}
	if st, ok, err := m.integer("status"); err != nil {
		return a, err
	} else if ok {
		a.Status = int(st)
	}
	for key, dst := range map[string]*time.Time{"begin_time": &a.Begin, "end_time": &a.End} {
		if sec, ok, err := m.integer(key); err != nil {
			return a, err
		} else if ok {
			*dst = time.Unix(sec, 0)
		}
	}
	return a, nil
}

// tagGroup decodes a customer tag group (客户标签组).
func (d *decoder) tagGroup(n *yaml.Node, path string) (openzone.TagGroup, error) {
	g := openzone.TagGroup{Tags: []openzone.Tag{}}
	m, err := d.mapping(n, path, tagGroupKeys)
	if err != nil {
		return g, err
	}
	s, err := m.strFields("group_id", "group_name")
	if err != nil {
		return g, err
	}
	g.GroupID, g.GroupName = s[0], s[1]
	items, ipath, err := m.items("tags")
	if err != nil {
		return g, err
	}
	for i, it := range items {
		tm, err := d.mapping(it, index(ipath, i), tagKeys)
		if err != nil {
			return g, err
		}
		s, err := tm.strFields("tag_id", "tag_name")
		if err != nil {
			return g, err
		}
		syn, err := tm.strs("synonyms")
		if err != nil {
			return g, err
		}
		g.Tags = append(g.Tags, openzone.Tag{TagID: s[0], TagName: s[1], Synonyms: syn})
	}
	return g, nil
}

// wwModel decodes the backend of a WeCom model id.
func (d *decoder) wwModel(n *yaml.Node, path string) (openzone.WWModel, error) {
	var w openzone.WWModel
	m, err := d.mapping(n, path, wwModelKeys)
	if err != nil {
		return w, err
	}
	s, err := m.strFields("model_id", "backend", "program_id", "ability_id", "openai_model")
	if err != nil {
		return w, err
	}
	w = openzone.WWModel{ModelID: s[0], Backend: s[1], ProgramID: s[2], AbilityID: s[3], OpenAIModel: s[4]}
	return w, nil
}

func (d *decoder) program(n *yaml.Node, path string) (openzone.Program, error) {
	var p openzone.Program
	m, err := d.mapping(n, path, programKeys)
	if err != nil {
		return p, err
	}
	s, err := m.strFields("id", "provider", "kind", "name")
	if err != nil {
		return p, err
	}
	p.ID, p.ProviderID, p.Kind, p.Name = s[0], s[1], openzone.ProgramKind(s[2]), s[3]
	if !m.has("kind") {
		p.Kind = openzone.KindProgram
	}
	if p.Released, err = m.boolean("released", false); err != nil {
		return p, err
	}
	if dn, ok := m.vals["deploy"]; ok {
		if p.Deploy, err = d.deploy(dn, join(path, "deploy")); err != nil {
			return p, err
		}
	}
	items, ipath, err := m.items("abilities")
	if err != nil {
		return p, err
	}
	for i, it := range items {
		a, err := d.ability(it, index(ipath, i))
		if err != nil {
			return p, err
		}
		p.Abilities = append(p.Abilities, a)
	}
	return p, nil
}

func (d *decoder) deploy(n *yaml.Node, path string) (openzone.Deploy, error) {
	var dep openzone.Deploy
	m, err := d.mapping(n, path, deployKeys)
	if err != nil {
		return dep, err
	}
	if !m.has("command") && !m.has("url") {
		return dep, d.errorf(m.line, "%s: set command or url (omit deploy for a program that is not deployed)", path)
	}
	if dep.Command, err = m.strs("command"); err != nil {
		return dep, err
	}
	if m.has("command") && len(dep.Command) == 0 {
		return dep, d.errorf(d.lines[join(path, "command")], "%s.command: want the program and its arguments, got an empty list", path)
	}
	if dep.URL, err = m.str("url"); err != nil {
		return dep, err
	}
	inst, ok, err := m.integer("instances")
	if err != nil {
		return dep, err
	}
	switch {
	case ok && (inst < -1<<31 || inst > 1<<31-1):
		return dep, d.errorf(d.lines[join(path, "instances")], "%s.instances: %d is out of range", path, inst)
	case ok:
		dep.Instances = int(inst)
	case m.has("command"):
		dep.Instances = 1
	}
	s, err := m.strFields("isolation", "image", "sdk_path")
	if err != nil {
		return dep, err
	}
	dep.Isolation, dep.Image, dep.SDKPath = s[0], s[1], s[2]
	if ln, ok := m.vals["limits"]; ok {
		if dep.Limits, err = d.limits(ln, join(path, "limits")); err != nil {
			return dep, err
		}
	}
	return dep, nil
}

// limits decodes deploy.limits: {memory_mb: N, cpus: X, disk_mb: N}.
func (d *decoder) limits(n *yaml.Node, path string) (openzone.Limits, error) {
	var l openzone.Limits
	m, err := d.mapping(n, path, limitsKeys)
	if err != nil {
		return l, err
	}
	for _, f := range []struct {
		key string
		to  *int
	}{{"memory_mb", &l.MemoryMB}, {"disk_mb", &l.DiskMB}} {
		v, ok, err := m.integer(f.key)
		if err != nil {
			return l, err
		}
		if ok && (v < -1<<31 || v > 1<<31-1) {
			return l, d.errorf(d.lines[join(path, f.key)], "%s.%s: %d is out of range", path, f.key, v)
		}
		*f.to = int(v)
	}
	l.CPUs, err = m.number("cpus")
	return l, err
}

func (d *decoder) ability(n *yaml.Node, path string) (openzone.Ability, error) {
	var a openzone.Ability
	m, err := d.mapping(n, path, abilityKeys)
	if err != nil {
		return a, err
	}
	s, err := m.strFields("id", "name")
	if err != nil {
		return a, err
	}
	a.ID, a.Name = s[0], s[1]
	if v, ok := m.vals["input"]; ok {
		if a.Input, err = d.protocol(v, join(path, "input")); err != nil {
			return a, err
		}
	}
	if v, ok := m.vals["output"]; ok {
		if a.Output, err = d.protocol(v, join(path, "output")); err != nil {
			return a, err
		}
	}
	return a, nil
}

func (d *decoder) app(n *yaml.Node, path string) (AppEntry, error) {
	var e AppEntry
	m, err := d.mapping(n, path, appKeys)
	if err != nil {
		return e, err
	}
	s, err := m.strFields("corpid", "type", "provider", "secret")
	if err != nil {
		return e, err
	}
	a := &e.App
	a.CorpID, a.Type, a.ProviderID, a.Secret = s[0], openzone.AppType(s[1]), s[2], s[3]
	if a.AgentID, _, err = m.integer("agentid"); err != nil {
		return e, err
	}
	if a.TestInstall, err = m.boolean("test_install", false); err != nil {
		return e, err
	}
	if a.ZonePermission, err = m.boolean("zone_permission", true); err != nil {
		return e, err
	}
	if a.KnowledgePermission, err = m.boolean("knowledge_permission", false); err != nil {
		return e, err
	}
	if cn, ok := m.vals["callback"]; ok {
		cm, err := d.mapping(cn, join(path, "callback"), callbackKeys)
		if err != nil {
			return e, err
		}
		s, err := cm.strFields("url", "token", "encoding_aes_key")
		if err != nil {
			return e, err
		}
		a.Callback = openzone.Callback{URL: s[0], Token: s[1], EncodingAESKey: s[2]}
	}
	e.Programs, err = m.strs("programs")
	return e, err
}
