package fold

import "testing"

func TestContains(t *testing.T) {
	for _, tc := range []struct {
		s, word string
		want    bool
	}{
		{"Address Already In Use", "address already in use", true},
		{`{"Access_Token":"x"}`, "token", true},
		{"tok", "token", false},
		{"", "x", false},
		{"anything", "", true},
		{"[@`{", "`", true}, // non-letters match exactly only
		{"@", "`", false},
	} {
		if got := Contains(tc.s, tc.word); got != tc.want {
			t.Errorf("Contains(%q, %q) = %v, want %v", tc.s, tc.word, got, tc.want)
		}
	}
}
