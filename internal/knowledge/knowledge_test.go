package knowledge

import (
	"strings"
	"testing"

	"github.com/openzone/openzone"
)

func TestCheckName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		runes    int
		bytes    int
		want     int // errcode; 0 ok
		out      string
	}{
		{"OK", " 售后知识 ", 20, 0, 0, "售后知识"},
		{"Empty", "  ", 20, 0, openzone.ErrInvalidParam, ""},
		{"TwentyChars", strings.Repeat("知", 20), 20, 0, 0, strings.Repeat("知", 20)},
		{"TooManyChars", strings.Repeat("知", 21), 20, 0, openzone.ErrInvalidParam, ""},
		{"TooManyBytes", strings.Repeat("文", 67), 0, 200, openzone.ErrKBBadDocName, ""},
		{"ZeroWidthSpace", "a\u200bb", 20, 0, openzone.ErrKBInvisibleChars, ""},
		{"RightToLeftOverride", "a\u202eb", 20, 0, openzone.ErrKBInvisibleChars, ""},
		{"ControlChar", "a\x07b", 20, 0, openzone.ErrKBInvisibleChars, ""},
		{"BOM", "\ufeffname", 20, 0, openzone.ErrKBInvisibleChars, ""},
		{"InnerSpaceKept", "产品 手册", 20, 0, 0, "产品 手册"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := checkName("kb_name", tc.in, tc.runes, tc.bytes)
			if code := openzone.ErrorCode(err); code != tc.want {
				t.Fatalf("checkName(%q) errcode %d (%v), want %d", tc.in, code, err, tc.want)
			}
			if err == nil && got != tc.out {
				t.Fatalf("checkName(%q) = %q, want %q", tc.in, got, tc.out)
			}
		})
	}
}

func TestUsable(t *testing.T) {
	t.Parallel()
	own := &openzone.KnowledgeBase{AgentID: 7}
	corp := &openzone.KnowledgeBase{Grants: []int64{3, 7}}
	for _, c := range []struct {
		kb    *openzone.KnowledgeBase
		agent int64
		want  bool
	}{{own, 7, true}, {own, 3, false}, {corp, 7, true}, {corp, 4, false}} {
		if got := c.kb.Usable(c.agent); got != c.want {
			t.Errorf("Usable(%d) of %+v = %v, want %v", c.agent, c.kb, got, c.want)
		}
	}
}
