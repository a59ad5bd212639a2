package tasks

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestExpand(t *testing.T) {
	f := fill{chat: "a说：\"hi\"/\\\n\tx\x01", chatContent: "c", knowledge: "k", tagJSON: `{"tag_group":[]}`}
	tests := []struct {
		name, protocol string
		escapeType     int
		want           string
	}{
		{"Escape0", `{"p":"{chat}|{chatcontent}|{knowledge}|{tagjson}"}`, 0, `{"p":"a说： hi     x |c|k|{ tag_group :[]}"}`},
		{"Escape1", `{"p":"{chat}|{tagjson}"}`, 1, `{"p":"a说：\"hi\"\/\\\n\tx\u0001|{\"tag_group\":[]}"}`},
		{"NoPlaceholders", `{"p":"{other}"}`, 1, `{"p":"{other}"}`},
		{"Repeated", `{"a":"{chatcontent}","b":"{chatcontent}"}`, 0, `{"a":"c","b":"c"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := expand(tc.protocol, f, tc.escapeType)
			if err != nil || got != tc.want {
				t.Fatalf("expand = %s, %v\nwant %s", got, err, tc.want)
			}
		})
	}
	t.Run("TooLong", func(t *testing.T) {
		long := fill{chat: strings.Repeat("长", MaxExpandedRunes)}
		if _, err := expand(`{"p":"{chat}"}`, long, 0); err == nil {
			t.Fatal("no error over the limit")
		}
		ok := fill{chat: strings.Repeat("长", MaxExpandedRunes-len(`{"p":""}`))}
		if _, err := expand(`{"p":"{chat}"}`, ok, 0); err != nil {
			t.Fatalf("at the limit: %v", err)
		}
	})
}

// FuzzExpand: whatever the text, a placeholder inside a JSON string stays
// valid JSON; escape_type 1 round-trips the text exactly and 0 replaces
// exactly the special characters with spaces.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{"", "plain", `"quoted"`, "a\\b/c", "line\nbreak\ttab\r\b\f", "\x00\x1f", "中文说：好"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if !utf8.ValidString(text) {
			return
		}
		for _, esc := range []int{0, 1} {
			out, err := expand(`{"p":"{chat}"}`, fill{chat: text}, esc)
			if err != nil {
				if utf8.RuneCountInString(text) < MaxExpandedRunes/2 {
					t.Fatalf("escape %d: %v", esc, err)
				}
				continue
			}
			var v struct{ P string }
			if err := json.Unmarshal([]byte(out), &v); err != nil {
				t.Fatalf("escape %d: %q is not JSON: %v", esc, out, err)
			}
			want := text
			if esc == 0 {
				want = strings.Map(func(r rune) rune {
					if r == '"' || r == '\\' || r == '/' || r < 0x20 {
						return ' '
					}
					return r
				}, text)
			}
			if v.P != want {
				t.Fatalf("escape %d: %q decodes to %q, want %q", esc, text, v.P, want)
			}
		}
	})
}

// TestFit: {knowledge} takes as many of the best fragments as keep the
// prompt within MaxExpandedRunes; only a prompt over it without any
// fragment fails.
func TestFit(t *testing.T) {
	frag := strings.Repeat("知", 9000) // 9,004 characters with "文档N："
	protocol := `{"kb":"{knowledge}","c":"{chatcontent}"}`
	tests := []struct {
		name      string
		chat      string
		fragments []string
		wantDocs  int // fragments in the expansion; -1: 790040
	}{
		{"AllFit", "短", []string{"甲", "乙"}, 2},
		{"ThreeOfFive", "短", []string{frag, frag, frag, frag, frag}, 3},
		{"NoneFitsButPromptDoes", strings.Repeat("长", 29000), []string{frag}, 0},
		{"PromptAloneTooLong", strings.Repeat("长", 30001), []string{"甲"}, -1},
		{"NoSet", "短", nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := fit(protocol, fill{chatContent: tc.chat, fragments: tc.fragments}, 0)
			if tc.wantDocs < 0 {
				if err == nil {
					t.Fatal("fit succeeded, want 790040's error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(out, "文档"); got != tc.wantDocs {
				t.Fatalf("%d fragments in the expansion, want %d", got, tc.wantDocs)
			}
			if n := utf8.RuneCountInString(out); n > MaxExpandedRunes {
				t.Fatalf("expansion of %d characters", n)
			}
		})
	}
}
