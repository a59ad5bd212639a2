package human

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7 * 24 * time.Hour:      "7 days",
		24 * time.Hour:          "1 day",
		72 * time.Hour:          "3 days",
		30 * time.Hour:          "30 h",
		90 * time.Minute:        "1.5 h",
		15 * time.Second:        "15 s",
		1500 * time.Millisecond: "1.5 s",
		250 * time.Millisecond:  "250 ms",
		0:                       "0 s",
		-2 * time.Second:        "-2 s",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "1.5d": 36 * time.Hour, "72h": 72 * time.Hour, " 90m ": 90 * time.Minute} {
		if got, err := ParseDuration(s); err != nil || got != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "xd", "-1d", "7 days"} {
		if _, err := ParseDuration(s); err == nil {
			t.Errorf("ParseDuration(%q) accepted", s)
		}
	}
	d := 7 * 24 * time.Hour
	if s := (Flag{&d}).String(); s != "7d" {
		t.Errorf("Flag.String = %q", s)
	}
}

func TestBytes(t *testing.T) {
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{0, "0 bytes"}, {1023, "1023 bytes"}, {1024, "1 KiB"}, {1536, "1.5 KiB"},
		{5 << 20, "5 MiB"}, {1 << 30, "1 GiB"}, {3<<30 + 300<<20, "3.3 GiB"},
	} {
		if got := Bytes(tt.n); got != tt.want {
			t.Errorf("Bytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
