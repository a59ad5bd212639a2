package filename

import "testing"

func TestSafe(t *testing.T) {
	for in, want := range map[string]string{
		"prog-echo":   "prog-echo",
		"a/b":         "a_b",
		"..":          "___",
		".":           "__",
		"":            "_",
		"v1.2_x":      "v1.2_x",
		"prog-echo#1": "prog-echo_1",
		"程序":          "__",
	} {
		if got := Safe(in); got != want {
			t.Errorf("Safe(%q) = %q, want %q", in, got, want)
		}
	}
}
