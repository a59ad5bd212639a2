package seed

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/protocol"
)

// Validate checks what the YAML types cannot: required keys, duplicates,
// references inside the file, app and deploy rules, and ability protocols.
// Parse calls it; call it again after changing a File. It returns the first
// problem, in file order, as an *openzone.Error (40058). Messages carry the
// lines Parse recorded (stale if entries were moved since); on a File that
// did not come from Parse they have no file name or line.
func (f *File) Validate() error {
	// References may point forward: collect the corps first.
	corps := map[string]string{} // corpid → path of its first definition
	for i, c := range f.Corps {
		if _, ok := corps[c.Corp.CorpID]; !ok && c.Corp.CorpID != "" {
			corps[c.Corp.CorpID] = index("corps", i)
		}
	}
	providers := map[string]string{}
	for i := range f.Providers {
		if err := f.validateProvider(i, corps, providers); err != nil {
			return err
		}
	}
	corpSeen := map[string]string{}
	for i := range f.Corps {
		if err := f.validateCorp(i, corpSeen); err != nil {
			return err
		}
	}
	programs := map[string]string{}
	for i := range f.Programs {
		if err := f.validateProgram(i, providers, programs); err != nil {
			return err
		}
	}
	apps := map[string]string{}
	for i := range f.Apps {
		if err := f.validateApp(i, corps, providers, programs, apps); err != nil {
			return err
		}
	}
	models := map[string]string{}
	for i, m := range f.WWModels {
		path := index("ww_models", i)
		if err := f.checked(m.Check(path)); err != nil {
			return err
		}
		if err := f.unique(models, m.ModelID, join(path, "model_id")); err != nil {
			return err
		}
		if m.Backend == openzone.BackendProgram {
			if err := f.ref(programs, "program", m.ProgramID, join(path, "program_id")); err != nil {
				return err
			}
		}
	}
	return nil
}

// validateProvider checks providers[i]: its id, once, and its test corps,
// defined and listed once.
func (f *File) validateProvider(i int, corps, providers map[string]string) error {
	p := f.Providers[i]
	path := index("providers", i)
	if err := f.required(path, "id", p.ID); err != nil {
		return err
	}
	if err := f.unique(providers, p.ID, join(path, "id")); err != nil {
		return err
	}
	if err := f.checked(p.Check(path)); err != nil {
		return err
	}
	listed := map[string]string{}
	for j, c := range p.TestCorps {
		cp := index(join(path, "test_corps"), j)
		if err := f.ref(corps, "corp", c, cp); err != nil {
			return err
		}
		if err := f.once(listed, c, cp); err != nil {
			return err
		}
	}
	return nil
}

// validateCorp checks corps[i]: its corpid, once, its people, chats and
// messages.
func (f *File) validateCorp(i int, seen map[string]string) error {
	c := &f.Corps[i]
	path := index("corps", i)
	if err := f.required(path, "corpid", c.Corp.CorpID); err != nil {
		return err
	}
	if err := f.unique(seen, c.Corp.CorpID, join(path, "corpid")); err != nil {
		return err
	}
	if err := f.checked(c.Corp.Check(path)); err != nil {
		return err
	}
	known, err := f.validatePeople(i)
	if err != nil {
		return err
	}
	chats, err := f.validateChats(i, known)
	if err != nil {
		return err
	}
	if err := f.validateMessages(i, known, chats); err != nil {
		return err
	}
	return f.checked(openzone.CheckTagGroups(join(index("corps", i), "tag_groups"), f.Corps[i].TagGroups))
}

// validatePeople checks the members and external contacts of corps[i] and
// returns a check that an id names one of them.
func (f *File) validatePeople(i int) (func(id, path string) error, error) {
	c := &f.Corps[i]
	path := index("corps", i)
	if err := f.checked(c.Corp.Auth.Check(join(path, "auth"))); err != nil {
		return nil, err
	}
	users := map[string]string{}
	for j, m := range c.Members {
		mp := index(join(path, "members"), j)
		if err := f.required(mp, "userid", m.UserID); err != nil {
			return nil, err
		}
		if err := f.unique(users, m.UserID, join(mp, "userid")); err != nil {
			return nil, err
		}
		if err := f.checked(openzone.CheckUserID(join(mp, "userid"), m.UserID), openzone.CheckText(join(mp, "name"), m.Name, openzone.MaxNameLen, false),
			openzone.CheckEditions(join(mp, "editions"), m.Editions)); err != nil {
			return nil, err
		}
		if m.CorpID != c.Corp.CorpID {
			return nil, f.errorf(mp, "%s: member of corp %q is in corps[%d] (%q)", mp, m.CorpID, i, c.Corp.CorpID)
		}
	}
	contacts := map[string]string{}
	for j, x := range c.ExternalContacts {
		xp := index(join(path, "external_contacts"), j)
		if err := f.required(xp, "external_userid", x.ExternalUserID); err != nil {
			return nil, err
		}
		if err := f.unique(contacts, x.ExternalUserID, join(xp, "external_userid")); err != nil {
			return nil, err
		}
		if err := f.checked(openzone.CheckUserID(join(xp, "external_userid"), x.ExternalUserID), openzone.CheckText(join(xp, "name"), x.Name, openzone.MaxNameLen, false)); err != nil {
			return nil, err
		}
		if x.CorpID != c.Corp.CorpID {
			return nil, f.errorf(xp, "%s: external contact of corp %q is in corps[%d] (%q)", xp, x.CorpID, i, c.Corp.CorpID)
		}
	}
	return func(id, p string) error {
		if _, ok := users[id]; ok {
			return nil
		}
		if _, ok := contacts[id]; ok {
			return nil
		}
		return f.errorf(p, "%s: %q is neither a member nor an external contact of corp %q", p, id, c.Corp.CorpID)
	}, nil
}

// validateChats checks the group chats of corps[i] and returns their ids.
func (f *File) validateChats(i int, known func(id, path string) error) (map[string]string, error) {
	path := index("corps", i)
	chats := map[string]string{}
	for j, ch := range f.Corps[i].Chats {
		cp := index(join(path, "chats"), j)
		if err := f.required(cp, "chatid", ch.ChatID); err != nil {
			return nil, err
		}
		if err := f.unique(chats, ch.ChatID, join(cp, "chatid")); err != nil {
			return nil, err
		}
		if err := f.checked(openzone.CheckUserID(join(cp, "chatid"), ch.ChatID), openzone.CheckText(join(cp, "name"), ch.Name, openzone.MaxNameLen, false)); err != nil {
			return nil, err
		}
		if len(ch.Members) > openzone.MaxChatMembers {
			return nil, f.errorf(join(cp, "members"), "%s.members: %d members, over the limit of %d", cp, len(ch.Members), openzone.MaxChatMembers)
		}
		if err := f.required(cp, "owner", ch.Owner); err != nil {
			return nil, err
		}
		if err := known(ch.Owner, join(cp, "owner")); err != nil {
			return nil, err
		}
		for k, m := range ch.Members {
			if err := known(m, index(join(cp, "members"), k)); err != nil {
				return nil, err
			}
		}
	}
	return chats, nil
}

// validateMessages checks the messages of corps[i]: each from a person of
// the corp, to people of it or to one of its chats.
func (f *File) validateMessages(i int, known func(id, path string) error, chats map[string]string) error {
	path := index("corps", i)
	msgs := map[string]string{}
	for j, m := range f.Corps[i].Messages {
		mp := index(join(path, "messages"), j)
		if err := f.required(mp, "msgid", m.MsgID); err != nil {
			return err
		}
		if err := f.unique(msgs, m.MsgID, join(mp, "msgid")); err != nil {
			return err
		}
		if err := f.checked(openzone.CheckMsgID(join(mp, "msgid"), m.MsgID)); err != nil {
			return err
		}
		if len(m.Text) > MaxTextBytes {
			return f.errorf(join(mp, "text"), "%s.text: %d bytes, over the limit of %d", mp, len(m.Text), MaxTextBytes)
		}
		if err := f.required(mp, "from", m.From); err != nil {
			return err
		}
		if err := known(m.From, join(mp, "from")); err != nil {
			return err
		}
		if err := f.required(mp, "text", m.Text); err != nil {
			return err
		}
		if (m.Chat == "") == (len(m.To) == 0) {
			return f.errorf(mp, "%s: give either to (a single chat) or chat (a group), not both and not neither", mp)
		}
		if m.Chat != "" {
			if _, ok := chats[m.Chat]; !ok {
				return f.errorf(join(mp, "chat"), "%s.chat: chat %q is not defined in this corp", mp, m.Chat)
			}
		}
		for k, t := range m.To {
			if err := known(t, index(join(mp, "to"), k)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *File) validateProgram(i int, providers, programs map[string]string) error {
	p := &f.Programs[i]
	path := index("programs", i)
	if err := f.required(path, "id", p.ID); err != nil {
		return err
	}
	if err := f.unique(programs, p.ID, join(path, "id")); err != nil {
		return err
	}
	if err := f.required(path, "provider", p.ProviderID); err != nil {
		return err
	}
	if err := f.ref(providers, "provider", p.ProviderID, join(path, "provider")); err != nil {
		return err
	}
	if p.Kind != openzone.KindProgram && p.Kind != openzone.KindModel {
		return f.errorf(join(path, "kind"), "%s.kind: %q is not one of program, model", path, p.Kind)
	}

	abilities := map[string]string{}
	for j, a := range p.Abilities {
		ap := index(join(path, "abilities"), j)
		if err := f.required(ap, "id", a.ID); err != nil {
			return err
		}
		if err := f.unique(abilities, a.ID, join(ap, "id")); err != nil {
			return err
		}
		for _, io := range []struct {
			key string
			raw []byte
		}{{"input", a.Input}, {"output", a.Output}} {
			kp := join(ap, io.key)
			if io.raw == nil {
				return f.errorf(ap, "missing key %q in %s", io.key, ap)
			}
			if _, err := protocol.Compile(io.raw); err != nil {
				var oe *openzone.Error
				msg := err.Error()
				if errors.As(err, &oe) {
					msg = oe.Message
				}
				return f.errorf(kp, "%s: %s", kp, msg)
			}
		}
	}
	// Bounds and characters, the deployment: the checks every path that
	// sets a program makes.
	return f.checked(p.Check(path))
}

func (f *File) validateApp(i int, corps, providers, programs, apps map[string]string) error {
	e := &f.Apps[i]
	a := &e.App
	path := index("apps", i)
	if err := f.required(path, "corpid", a.CorpID); err != nil {
		return err
	}
	if err := f.ref(corps, "corp", a.CorpID, join(path, "corpid")); err != nil {
		return err
	}
	switch {
	case a.AgentID == 0 && !f.present(join(path, "agentid")):
		return f.errorf(path, "missing key %q in %s", "agentid", path)
	case a.AgentID <= 0:
		return f.errorf(join(path, "agentid"), "%s.agentid: must be a positive integer, got %d", path, a.AgentID)
	}
	key := a.CorpID + "\x00" + strconv.FormatInt(a.AgentID, 10)
	if first, ok := apps[key]; ok {
		return f.errorf(path, "%s: corpid %q and agentid %d are already used by %s%s", path, a.CorpID, a.AgentID, first, f.at(first))
	}
	apps[key] = path

	if a.Type == "" && !f.present(join(path, "type")) {
		return f.errorf(path, "missing key %q in %s", "type", path)
	}
	if !a.Type.Valid() {
		return f.errorf(join(path, "type"), "%s.type: %q is not one of self_built, custom, third_party", path, a.Type)
	}
	switch {
	case a.Type != openzone.AppSelfBuilt && a.ProviderID == "":
		return f.errorf(path, "missing key %q in %s (required for a %s app)", "provider", path, a.Type)
	case a.ProviderID != "":
		if err := f.ref(providers, "provider", a.ProviderID, join(path, "provider")); err != nil {
			return err
		}
	}
	if err := f.required(path, "secret", a.Secret); err != nil {
		return err
	}
	if a.TestInstall && a.Type != openzone.AppThirdParty {
		return f.errorf(join(path, "test_install"), "%s.test_install: only a third_party app can be test-installed", path)
	}
	if err := f.checked(a.Check(path)); err != nil {
		return err
	}
	if len(e.Programs) > openzone.MaxAppPrograms {
		return f.errorf(join(path, "programs"), "%s.programs: %d programs, over the limit of %d", path, len(e.Programs), openzone.MaxAppPrograms)
	}
	listed := map[string]string{}
	for j, id := range e.Programs {
		pp := index(join(path, "programs"), j)
		if err := f.ref(programs, "program", id, pp); err != nil {
			return err
		}
		if err := f.once(listed, id, pp); err != nil {
			return err
		}
		if err := f.testScenario(a, id, pp); err != nil {
			return err
		}
	}
	return nil
}

// testScenario enforces WeCom's rule that an unreleased (未上线) program may
// be attached to an app only in a test scenario: a self-built app in its own
// corp, a custom app in one of its provider's test corps, a third-party app
// test-installed in the corp.
func (f *File) testScenario(a *openzone.App, programID, path string) error {
	for i := range f.Programs {
		p := &f.Programs[i]
		if p.ID != programID || p.Released {
			continue
		}
		switch a.Type {
		case openzone.AppCustom:
			for _, pr := range f.Providers {
				if pr.ID == a.ProviderID && slices.Contains(pr.TestCorps, a.CorpID) {
					return nil
				}
			}
			return f.errorf(path, "%s: program %q is unreleased (未上线): a custom app may use it only in a test corp of its provider %q, and %s is not in that provider's test_corps", path, programID, a.ProviderID, a.CorpID)
		case openzone.AppThirdParty:
			if !a.TestInstall {
				return f.errorf(path, "%s: program %q is unreleased (未上线): a third_party app may use it only where it is test-installed (test_install: true)", path, programID)
			}
		}
		return nil
	}
	return nil
}

// present reports whether Parse saw a value at path.
func (f *File) present(path string) bool {
	_, ok := f.lines[path]
	return ok
}

// required checks that the string key of the mapping at path is set.
func (f *File) required(path, key, value string) error {
	if value != "" {
		return nil
	}
	if kp := join(path, key); f.present(kp) {
		return f.errorf(kp, "%s: must not be empty", kp)
	}
	return f.errorf(path, "missing key %q in %s", key, path)
}

// unique records that id is defined at path, or says where it already was.
func (f *File) unique(seen map[string]string, id, path string) error {
	if first, ok := seen[id]; ok {
		return f.errorf(path, "%s: %q is already defined by %s%s", path, id, first, f.at(first))
	}
	seen[id] = path
	return nil
}

// once is unique for lists of references.
func (f *File) once(seen map[string]string, id, path string) error {
	if first, ok := seen[id]; ok {
		return f.errorf(path, "%s: %q is already listed as %s%s", path, id, first, f.at(first))
	}
	seen[id] = path
	return nil
}

// ref checks that id names a thing defined in the file.
func (f *File) ref(defined map[string]string, what, id, path string) error {
	if _, ok := defined[id]; !ok {
		return f.errorf(path, "%s: %s %q is not defined in this file (a seed file is self-contained)", path, what, id)
	}
	return nil
}

// checked turns the first failing check of package openzone, whose errmsg
// starts with the field's path, into an error with that field's line.
func (f *File) checked(errs ...error) error {
	for _, err := range errs {
		if err == nil {
			continue
		}
		msg := openzone.ErrorMessage(err)
		path, _, _ := strings.Cut(msg, ": ")
		return f.errorf(path, "%s", msg)
	}
	return nil
}

// MaxTextBytes bounds the text of one seed message (WeCom's text messages
// are far shorter).
const MaxTextBytes = 64 << 10
