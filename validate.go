package openzone

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Identifier rules and limits: the one validation every path that sets a
// value goes through (a seed file, the admin API, archive ingestion), so a
// value the protocol cannot carry — a space or NUL in an id that becomes a
// header, an environment variable or a file name, a count that starts
// processes — is refused where it enters, naming the field, never later
// (docs/decisions.md, "Identifiers and limits").
const (
	// MaxIDLen bounds program, ability, provider, corp, member, external
	// contact and chat ids (WeCom's userid: 64 bytes).
	MaxIDLen = 64
	// MaxMsgIDLen bounds a msgid.
	MaxMsgIDLen = 128
	// MaxAgentID is the largest agentid: WeCom's are 32-bit, and SDKs in
	// other languages keep them in an int.
	MaxAgentID = 1<<31 - 1
	// MaxNameLen bounds names (characters).
	MaxNameLen = 128
	// MaxInstances bounds deploy.instances of one program.
	MaxInstances = 16
	// MaxAbilities bounds a program's abilities.
	MaxAbilities = 100
	// MaxProtocolBytes bounds one ability protocol (input or output).
	MaxProtocolBytes = 64 << 10
	// MaxCommandArgs and MaxCommandArgLen bound deploy.command.
	MaxCommandArgs   = 64
	MaxCommandArgLen = 4096
	// MaxURLLen bounds every URL a zone is given.
	MaxURLLen = 2048
	// MaxSecretLen bounds an app secret; MaxCallbackTokenLen a callback
	// token (WeCom: at most 32); an EncodingAESKey has exactly 43.
	MaxSecretLen        = 128
	MaxCallbackTokenLen = 32
	// MaxTestCorps bounds a provider's test corps; MaxAppPrograms the
	// programs of one app; MaxChatMembers a group chat (WeCom's 2,000).
	MaxTestCorps   = 1000
	MaxAppPrograms = 1000
	MaxChatMembers = 2000
)

// fieldErr is a 40058 naming the field at fault.
func fieldErr(field, format string, args ...any) *Error {
	return Errorf(ErrInvalidParam, "%s: %s", field, fmt.Sprintf(format, args...))
}

// Field joins a path and a key the way error messages name fields:
// "programs[0]" + "id" → "programs[0].id"; "" + "id" → "id".
func Field(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// checkChars checks an identifier of 1 to max bytes whose every byte
// ok accepts; what describes the accepted set in the errmsg.
func checkChars(field, v string, max int, ok func(c byte) bool, what string) error {
	if v == "" {
		return fieldErr(field, "must not be empty")
	}
	if len(v) > max {
		return fieldErr(field, "%.20q… is %d bytes, over the limit of %d", v, len(v), max)
	}
	for i := 0; i < len(v); i++ {
		if !ok(v[i]) {
			return fieldErr(field, "%q has %q at byte %d: use 1 to %d %s", v, v[i:i+1], i, max, what)
		}
	}
	return nil
}

func alnum(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// CheckID checks a program, ability, provider or corp id: 1 to 64 of
// letters, digits, '-', '_' and '.' — what a header, an environment
// variable, an instance name and a log file name all carry.
func CheckID(field, v string) error {
	return checkChars(field, v, MaxIDLen, func(c byte) bool { return alnum(c) || c == '-' || c == '_' || c == '.' },
		"letters, digits, '-', '_' or '.'")
}

// CheckUserID checks a member's userid, an external_userid, a chatid or a
// bot id: WeCom's userid characters, letters, digits, '-', '_', '.' and '@'.
func CheckUserID(field, v string) error {
	return checkChars(field, v, MaxIDLen, func(c byte) bool { return alnum(c) || c == '-' || c == '_' || c == '.' || c == '@' },
		"letters, digits, '-', '_', '.' or '@'")
}

// CheckMsgID checks a msgid: 1 to 128 printable ASCII characters without
// spaces (WeCom's msgids include base64's '+', '/' and '=').
func CheckMsgID(field, v string) error {
	return checkChars(field, v, MaxMsgIDLen, func(c byte) bool { return c > ' ' && c < 0x7f }, "printable ASCII characters without spaces")
}

// CheckAgentID checks an agentid: 1 to MaxAgentID.
func CheckAgentID(field string, v int64) error {
	if v < 1 || v > MaxAgentID {
		return fieldErr(field, "must be an integer from 1 to %d, got %d", MaxAgentID, v)
	}
	return nil
}

// CheckText checks a name or other free text: valid UTF-8 of at most max
// characters, no control characters; empty only when not required.
func CheckText(field, v string, max int, required bool) error {
	if v == "" {
		if required {
			return fieldErr(field, "must not be empty")
		}
		return nil
	}
	if !utf8.ValidString(v) {
		return fieldErr(field, "is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(v); n > max {
		return fieldErr(field, "is %d characters, over the limit of %d", n, max)
	}
	if i := strings.IndexFunc(v, unicode.IsControl); i >= 0 {
		return fieldErr(field, "has a control character at byte %d", i)
	}
	return nil
}

// CheckURL checks a URL the zone is given: absolute http or https with a
// host, no credentials, at most MaxURLLen bytes.
func CheckURL(field, v string) error {
	if len(v) > MaxURLLen {
		return fieldErr(field, "is %d bytes, over the limit of %d", len(v), MaxURLLen)
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return fieldErr(field, "%q is not an absolute http or https URL", v)
	}
	if u.User != nil {
		return fieldErr(field, "must not carry a user or password")
	}
	return nil
}

// printable reports whether v is printable ASCII without spaces.
func printable(v string) bool {
	for i := 0; i < len(v); i++ {
		if v[i] <= ' ' || v[i] >= 0x7f {
			return false
		}
	}
	return true
}

// Check checks a deployment at path (e.g. "deploy"): command and url
// exclusive; a command of 1 to 64 arguments of at most 4 KiB without NUL
// (exec cannot pass one), its program named, 1 to 16 instances; a url;
// the sandbox's settings (SandboxProblem).
func (d Deploy) Check(path string) error {
	switch {
	case len(d.Command) > 0 && d.URL != "":
		return fieldErr(path, "%s and %s are exclusive, set one", Field(path, "command"), Field(path, "url"))
	case len(d.Command) > 0:
		if len(d.Command) > MaxCommandArgs {
			return fieldErr(Field(path, "command"), "has %d arguments, over the limit of %d", len(d.Command), MaxCommandArgs)
		}
		if d.Command[0] == "" {
			return fieldErr(Field(path, "command[0]"), "the program to run must not be empty")
		}
		for i, a := range d.Command {
			f := fmt.Sprintf("%s[%d]", Field(path, "command"), i)
			if len(a) > MaxCommandArgLen {
				return fieldErr(f, "is %d bytes, over the limit of %d", len(a), MaxCommandArgLen)
			}
			if strings.IndexByte(a, 0) >= 0 {
				return fieldErr(f, "has a NUL byte, which no command line can carry")
			}
		}
		if d.Instances < 1 || d.Instances > MaxInstances {
			return fieldErr(Field(path, "instances"), "must be from 1 to %d, got %d", MaxInstances, d.Instances)
		}
	case d.URL != "":
		if err := CheckURL(Field(path, "url"), d.URL); err != nil {
			return err
		}
		if d.Instances != 0 {
			return fieldErr(Field(path, "instances"), "only a command deploy has instances; a url deploy runs elsewhere")
		}
	case d.Instances != 0:
		return fieldErr(Field(path, "instances"), "only a command deploy has instances")
	}
	if field, problem := d.SandboxProblem(); field != "" {
		return fieldErr(Field(path, field), "%s", problem)
	}
	return nil
}

// Check checks a program at path ("" for the admin API's body): its id,
// provider, kind, name, deployment and abilities (ids once each, names,
// protocol sizes; whether a protocol compiles is package protocol's
// question, which callers ask next).
func (p *Program) Check(path string) error {
	if err := CheckID(Field(path, "id"), p.ID); err != nil {
		return err
	}
	if err := CheckID(Field(path, "provider"), p.ProviderID); err != nil {
		return err
	}
	if p.Kind != KindProgram && p.Kind != KindModel {
		return fieldErr(Field(path, "kind"), "%q is not one of program, model", p.Kind)
	}
	if err := CheckText(Field(path, "name"), p.Name, MaxNameLen, false); err != nil {
		return err
	}
	if err := p.Deploy.Check(Field(path, "deploy")); err != nil {
		return err
	}
	if len(p.Abilities) > MaxAbilities {
		return fieldErr(Field(path, "abilities"), "has %d abilities, over the limit of %d", len(p.Abilities), MaxAbilities)
	}
	seen := map[string]bool{}
	for i := range p.Abilities {
		a := &p.Abilities[i]
		ap := fmt.Sprintf("%s[%d]", Field(path, "abilities"), i)
		if err := CheckID(Field(ap, "id"), a.ID); err != nil {
			return err
		}
		if seen[a.ID] {
			return fieldErr(Field(ap, "id"), "%q is used twice", a.ID)
		}
		seen[a.ID] = true
		if err := CheckText(Field(ap, "name"), a.Name, MaxNameLen, false); err != nil {
			return err
		}
		for _, io := range []struct {
			key string
			raw []byte
		}{{"input", a.Input}, {"output", a.Output}} {
			if len(io.raw) > MaxProtocolBytes {
				return fieldErr(Field(ap, io.key), "is %d bytes, over the limit of %d", len(io.raw), MaxProtocolBytes)
			}
		}
	}
	return nil
}

// Check checks an app at path: corpid, agentid, type, provider (required
// for custom and third-party apps), secret, test_install, callback.
func (a *App) Check(path string) error {
	if err := CheckID(Field(path, "corpid"), a.CorpID); err != nil {
		return err
	}
	if err := CheckAgentID(Field(path, "agentid"), a.AgentID); err != nil {
		return err
	}
	if !a.Type.Valid() {
		return fieldErr(Field(path, "type"), "%q is not one of self_built, custom, third_party", a.Type)
	}
	switch {
	case a.Type != AppSelfBuilt && a.ProviderID == "":
		return fieldErr(Field(path, "provider"), "required for a %s app", a.Type)
	case a.ProviderID != "":
		if err := CheckID(Field(path, "provider"), a.ProviderID); err != nil {
			return err
		}
	}
	if a.Secret == "" || len(a.Secret) > MaxSecretLen || !printable(a.Secret) {
		return fieldErr(Field(path, "secret"), "must be 1 to %d printable ASCII characters without spaces", MaxSecretLen)
	}
	if a.TestInstall && a.Type != AppThirdParty {
		return fieldErr(Field(path, "test_install"), "only a third_party app can be test-installed")
	}
	return a.Callback.Check(Field(path, "callback"))
}

// Check checks callback settings at path: all empty, or a URL with a
// token (at most 32 printable characters) and a 43-character
// EncodingAESKey of letters and digits, as WeCom's console requires.
func (c Callback) Check(path string) error {
	if c == (Callback{}) {
		return nil
	}
	if err := CheckURL(Field(path, "url"), c.URL); err != nil {
		return err
	}
	if c.Token == "" || len(c.Token) > MaxCallbackTokenLen || !printable(c.Token) {
		return fieldErr(Field(path, "token"), "must be 1 to %d printable ASCII characters without spaces", MaxCallbackTokenLen)
	}
	if len(c.EncodingAESKey) != 43 {
		return fieldErr(Field(path, "encoding_aes_key"), "must be 43 letters and digits, has %d characters", len(c.EncodingAESKey))
	}
	for i := 0; i < len(c.EncodingAESKey); i++ {
		if !alnum(c.EncodingAESKey[i]) {
			return fieldErr(Field(path, "encoding_aes_key"), "must be 43 letters and digits, has %q at %d", c.EncodingAESKey[i:i+1], i)
		}
	}
	return nil
}

// Check checks a corp at path: corpid, name, retention_days.
func (c *Corp) Check(path string) error {
	if err := CheckID(Field(path, "corpid"), c.CorpID); err != nil {
		return err
	}
	if err := CheckText(Field(path, "name"), c.Name, MaxNameLen, false); err != nil {
		return err
	}
	if c.RetentionDays < 0 || c.RetentionDays > MaxRetentionDays {
		return fieldErr(Field(path, "retention_days"), "must be from 1 to %d (0: the default %d), got %d", MaxRetentionDays, DefaultRetentionDays, c.RetentionDays)
	}
	return nil
}

// Check checks a provider at path: id, name, test corps (at most 1,000).
func (p *Provider) Check(path string) error {
	if err := CheckID(Field(path, "id"), p.ID); err != nil {
		return err
	}
	if err := CheckText(Field(path, "name"), p.Name, MaxNameLen, false); err != nil {
		return err
	}
	if len(p.TestCorps) > MaxTestCorps {
		return fieldErr(Field(path, "test_corps"), "has %d corps, over the limit of %d", len(p.TestCorps), MaxTestCorps)
	}
	for i, c := range p.TestCorps {
		if err := CheckID(fmt.Sprintf("%s[%d]", Field(path, "test_corps"), i), c); err != nil {
			return err
		}
	}
	return nil
}
