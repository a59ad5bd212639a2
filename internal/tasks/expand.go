package tasks

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/openzone/openzone/internal/kbtext"
)

// Placeholders a callee's input protocol may hold (docs/wecom.md, "Placeholders"):
// the zone fills them when a program creates a task.
const (
	phChat        = "{chat}"
	phChatContent = "{chatcontent}"
	phKnowledge   = "{knowledge}"
	phTagJSON     = "{tagjson}"
)

// fill is what the placeholders expand to.
type fill struct {
	chat, chatContent, knowledge, tagJSON string
	// failTagGroups are the groups of a model task's tag_group_list the
	// corp does not have (fail_tag_group_id_list).
	failTagGroups []string
	// fragments are a knowledge set's best fragments for the chat, best
	// first; fit formats as many as fit into {knowledge}.
	fragments []string
}

// expand writes the callee's input protocol with its placeholders filled.
// The protocol is JSON and the placeholders sit inside its strings, so the
// substituted text is escaped per escape_type to keep the JSON valid:
// 0 replaces " \ / \b \f \n \r \t (and any other control character) with a
// space, 1 JSON-escapes them. It fails with 790040 when the result is
// longer than MaxExpandedRunes characters.
func expand(protocol string, f fill, escapeType int) (string, error) {
	r := strings.NewReplacer(
		phChat, escape(f.chat, escapeType),
		phChatContent, escape(f.chatContent, escapeType),
		phKnowledge, escape(f.knowledge, escapeType),
		phTagJSON, escape(f.tagJSON, escapeType),
	)
	out := r.Replace(protocol)
	if n := utf8.RuneCountInString(out); n > MaxExpandedRunes {
		return "", fmt.Errorf("the input after placeholder expansion is %d characters, over the limit of %d", n, MaxExpandedRunes)
	}
	return out, nil
}

// fit expands the protocol with as many of the best knowledge fragments
// as fit the limit: the best k for the largest k whose expansion is at
// most MaxExpandedRunes. Only a prompt over the limit with no fragment at
// all fails (790040).
func fit(protocol string, f fill, escapeType int) (string, error) {
	for k := len(f.fragments); ; k-- {
		if len(f.fragments) > 0 {
			f.knowledge = kbtext.Format(f.fragments[:k])
		}
		out, err := expand(protocol, f, escapeType)
		if err == nil || k == 0 {
			return out, err
		}
	}
}

// escape applies escape_type to text substituted into a JSON string.
func escape(s string, escapeType int) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, c := range s {
		special := c == '"' || c == '\\' || c == '/' || c < 0x20
		if !special {
			b.WriteRune(c)
			continue
		}
		if escapeType == 0 {
			b.WriteByte(' ')
			continue
		}
		switch c {
		case '"', '\\', '/':
			b.WriteByte('\\')
			b.WriteRune(c)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			fmt.Fprintf(&b, `\u%04x`, c)
		}
	}
	return b.String()
}

// hasPlaceholder reports whether the protocol uses p.
func hasPlaceholder(protocol, p string) bool { return strings.Contains(protocol, p) }
