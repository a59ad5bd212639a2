package cluster

import "testing"

func TestLoopback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"http://127.0.0.1:4000", true},
		{"http://127.3.2.1:4000", true},
		{"http://[::1]:4000", true},
		{"http://localhost:4000", true},
		{"http://10.0.0.11:4000", false},
		{"http://zone-a.internal:4000", false},
		{"http://[fd00::1]:4000", false},
		{"::not a url", false},
	} {
		if got := loopback(tc.url); got != tc.want {
			t.Errorf("loopback(%q) = %v, want %v", tc.url, got, tc.want)
		}
	}
}
