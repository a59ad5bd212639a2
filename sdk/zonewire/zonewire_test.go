package zonewire

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseSecret(t *testing.T) {
	key := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	for _, tc := range []struct {
		in  string
		ver int
	}{
		{"1:" + key, 1}, {" 9:" + key + "\n", 9}, {"2147483647:" + key, math.MaxInt32},
		{"0:" + key, 0}, {"+1:" + key, 0}, {"01:" + key, 0}, {"2147483648:" + key, 0},
		{key, 0}, {"1:" + key[:43], 0}, {"1:", 0}, {"", 0},
	} {
		sec, err := ParseSecret(tc.in)
		if (err == nil) != (tc.ver != 0) || sec.Ver != tc.ver {
			t.Errorf("ParseSecret(%q) = %d, %v; want version %d", tc.in, sec.Ver, err, tc.ver)
		}
		if err == nil {
			if again, err := ParseSecret(sec.String()); err != nil || again != sec {
				t.Errorf("round trip of %q: %v", tc.in, err)
			}
		}
	}
}

func TestExceptionCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{&Error{Code: ExcSecretVer}, ExcSecretVer},
		{fmt.Errorf("wrapped: %w", &Error{Code: ExcReplay}), ExcReplay},
		{errors.New("other"), ExcMalformed},
	} {
		if got := ExceptionCode(tc.err); got != tc.want {
			t.Errorf("ExceptionCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestCheckTimestamp(t *testing.T) {
	now := time.Unix(1767225600, 0)
	n := now.Unix()
	for _, tc := range []struct {
		ts   int64
		want int
	}{
		{n, 0}, {n - 300, 0}, {n + 300, 0}, {n - 301, ExcTimestamp}, {n + 301, ExcTimestamp},
		{math.MinInt64, ExcTimestamp}, {math.MaxInt64, ExcTimestamp},
		{n - math.MaxInt64 - 1, ExcTimestamp}, // now - ts overflows: was accepted before the fix
	} {
		if got := ExceptionCode(CheckTimestamp(tc.ts, now)); got != tc.want {
			t.Errorf("CheckTimestamp(%d) = %d, want %d", tc.ts, got, tc.want)
		}
	}
}

func TestGuard(t *testing.T) {
	g := NewGuard()
	t0 := int64(1767225600)
	hd := Header{ProgramID: "p", SecretVer: 1, RequestID: NewRequestID(), Timestamp: t0 + 300}
	if err := g.Check(hd, time.Unix(t0, 0)); err != nil {
		t.Fatalf("first: %v", err)
	}
	// The packet's timestamp stays acceptable until t0+600 inclusive, and
	// so must the memory of its id.
	for _, at := range []int64{t0, t0 + 1, t0 + 300, t0 + 599, t0 + 600} {
		if err := g.Check(hd, time.Unix(at, 0)); ExceptionCode(err) != ExcReplay {
			t.Errorf("replay at t0+%d: %v, want %d", at-t0, err, ExcReplay)
		}
	}
	if err := g.Check(hd, time.Unix(t0+601, 0)); ExceptionCode(err) != ExcTimestamp {
		t.Errorf("at t0+601: %v, want %d", err, ExcTimestamp)
	}
	// A stale packet is refused without being remembered.
	stale := Header{ProgramID: "p", SecretVer: 1, RequestID: NewRequestID(), Timestamp: t0}
	if err := g.Check(stale, time.Unix(t0+301, 0)); ExceptionCode(err) != ExcTimestamp {
		t.Errorf("stale: %v", err)
	}
	if err := g.Check(stale, time.Unix(t0+300, 0)); err != nil {
		t.Errorf("stale id was remembered: %v", err)
	}
	// Old ids are swept.
	for i := range 100 {
		g.Check(Header{RequestID: fmt.Sprintf("%032d", i), Timestamp: t0}, time.Unix(t0, 0))
	}
	g.Check(Header{RequestID: NewRequestID(), Timestamp: t0 + 2000}, time.Unix(t0+2000, 0))
	g.mu.Lock()
	n := len(g.seen)
	g.mu.Unlock()
	if n != 1 {
		t.Errorf("guard holds %d ids after the window, want 1", n)
	}
}

func TestSealOpen(t *testing.T) {
	k := NewKeys(NewSecret(2))
	hd := Header{ProgramID: "prog-echo", SecretVer: 2, RequestID: NewRequestID(), Timestamp: 1767225600}
	for _, p := range []Purpose{PurposeCall, PurposeReply, PurposeInvoke, PurposeResult} {
		for _, pt := range []string{"", "x", "加解密"} {
			body := k.Seal(p, hd, []byte(pt))
			if len(body) != BodyLen(len(pt)) {
				t.Fatalf("body of %d bytes", len(body))
			}
			got, err := k.Open(p, hd, body)
			if err != nil || string(got) != pt {
				t.Fatalf("%s: Open = %q, %v", p, got, err)
			}
			if bytes.Equal(body, k.Seal(p, hd, []byte(pt))) {
				t.Fatal("nonce reused")
			}
		}
	}
	body := k.Seal(PurposeCall, hd, []byte("x"))
	if _, err := k.Open("bogus", hd, body); ExceptionCode(err) != ExcMalformed {
		t.Errorf("unknown purpose: %v", err) // was a nil-map panic
	}
	if _, err := k.Open(PurposeCall, hd, body[:Overhead-1]); ExceptionCode(err) != ExcMalformed {
		t.Errorf("short body: %v", err)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "unknown purpose") {
			t.Errorf("Seal with an unknown purpose: %v", r)
		}
	}()
	k.Seal("bogus", hd, nil)
}

func TestHeaderApplyRead(t *testing.T) {
	hd := Header{ProgramID: "prog-echo", SecretVer: 3, RequestID: NewRequestID(), Timestamp: 1767225600}
	h := http.Header{"Ww-Secret-Ver": {"9"}, "WW-REQUEST-ID": {"x"}}
	hd.Apply(h, true)
	if len(h) != 4 || h[HeaderSecretVer][0] != "3" {
		t.Errorf("Apply left %v", h)
	}
	if got, err := ReadHeader(h, ""); err != nil || got != hd {
		t.Errorf("ReadHeader = %+v, %v", got, err)
	}
	// Any letter case.
	for _, mangle := range []func(string) string{strings.ToUpper, http.CanonicalHeaderKey, strings.ToLower} {
		m := http.Header{}
		for k, v := range h {
			m[mangle(k)] = v
		}
		if got, err := ReadHeader(m, ""); err != nil || got != hd {
			t.Errorf("ReadHeader(%v) = %+v, %v", m, got, err)
		}
	}
	// Refused: a header twice; numbers not in canonical form; bad ids.
	for name, edit := range map[string]func(http.Header){
		"duplicate":        func(m http.Header) { m["Ww-Timestamp"] = []string{"1767225600"} },
		"plus sign":        func(m http.Header) { m[HeaderSecretVer] = []string{"+3"} },
		"leading zero":     func(m http.Header) { m[HeaderTimestamp] = []string{"01767225600"} },
		"negative time":    func(m http.Header) { m[HeaderTimestamp] = []string{"-1"} },
		"big version":      func(m http.Header) { m[HeaderSecretVer] = []string{strconv.Itoa(math.MaxInt32 + 1)} },
		"short request id": func(m http.Header) { m[HeaderRequestID] = []string{"abc"} },
		"no program id":    func(m http.Header) { delete(m, HeaderProgramID) },
		"spaced program":   func(m http.Header) { m[HeaderProgramID] = []string{"prog echo"} },
		"long program":     func(m http.Header) { m[HeaderProgramID] = []string{strings.Repeat("p", 129)} },
	} {
		m := h.Clone()
		edit(m)
		if _, err := ReadHeader(m, ""); ExceptionCode(err) != ExcMalformed {
			t.Errorf("%s: ReadHeader accepted %v (%v)", name, m, err)
		}
	}
}
