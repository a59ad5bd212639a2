package wire

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestParseSecret(t *testing.T) {
	key := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=" // 00 01 … 1f
	tests := []struct {
		in      string
		wantVer int
		ok      bool
	}{
		{"1:" + key, 1, true},
		{" 7:" + key + "\n", 7, true},
		{"2147483647:" + key, math.MaxInt32, true},
		{"2147483648:" + key, 0, false},
		{"0:" + key, 0, false},
		{"-1:" + key, 0, false},
		{"+1:" + key, 0, false},
		{"01:" + key, 0, false},
		{key, 0, false},
		{"1:" + strings.TrimSuffix(key, "="), 0, false}, // padding required
		{"1:" + key[:40] + "==", 0, false},              // not 32 bytes
		{"1:", 0, false},
		{"", 0, false},
	}
	for _, tc := range tests {
		sec, err := ParseSecret(tc.in)
		if (err == nil) != tc.ok || sec.Ver != tc.wantVer {
			t.Errorf("ParseSecret(%q) = %d, %v; want ok=%v ver %d", tc.in, sec.Ver, err, tc.ok, tc.wantVer)
			continue
		}
		if tc.ok {
			if sec.Key[31] != 31 {
				t.Errorf("ParseSecret(%q): key %x", tc.in, sec.Key)
			}
			if again, err := ParseSecret(sec.String()); err != nil || again != sec {
				t.Errorf("String/ParseSecret round trip: %v", err)
			}
		}
	}
	a, b := NewSecret(1), NewSecret(1)
	if a.Key == b.Key || a.Key == [32]byte{} {
		t.Error("NewSecret is not random")
	}
}

func TestCheckTimestamp(t *testing.T) {
	now := time.Unix(1767225600, 999_000_000) // sub-second part ignored
	n := now.Unix()
	tests := []struct {
		ts   int64
		want int
	}{
		{n, 0}, {n - 300, 0}, {n + 300, 0},
		{n - 301, ExcTimestamp}, {n + 301, ExcTimestamp},
		{0, ExcTimestamp}, {math.MaxInt64, ExcTimestamp}, {math.MinInt64, ExcTimestamp},
		{n - math.MaxInt64 - 1, ExcTimestamp}, // n - ts overflows to MinInt64
		{n + math.MinInt64, ExcTimestamp},
	}
	for _, tc := range tests {
		if got := ExceptionCode(CheckTimestamp(tc.ts, now)); got != tc.want {
			t.Errorf("CheckTimestamp(%d, %d) = %d, want %d", tc.ts, n, got, tc.want)
		}
	}
}

func TestExceptionCode(t *testing.T) {
	wrapped := fmt.Errorf("calling program: %w", &Error{Code: ExcReplay, Reason: "x"})
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{&Error{Code: ExcAuth}, ExcAuth},
		{wrapped, ExcReplay},
		{errors.New("other"), ExcMalformed},
	} {
		if got := ExceptionCode(tc.err); got != tc.want {
			t.Errorf("ExceptionCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if s := (&Error{Code: ExcAuth, Reason: "r"}).Error(); !strings.Contains(s, "-10004") {
		t.Errorf("Error() = %q", s)
	}
}

func TestReadHeaderApply(t *testing.T) {
	hd := Header{ProgramID: "prog-echo", SecretVer: 12, RequestID: NewRequestID(), Timestamp: 1767225600}
	for _, withProgram := range []bool{false, true} {
		h := http.Header{"Ww-Request-Id": {"stale"}, "WW-TIMESTAMP": {"1"}}
		hd.Apply(h, withProgram)
		if len(h) != 3 && !withProgram || len(h) != 4 && withProgram {
			t.Errorf("Apply(withProgram=%v) left %v", withProgram, h)
		}
		known := "prog-echo"
		if withProgram {
			known = ""
		}
		got, err := ReadHeader(h, known)
		if err != nil || got != hd {
			t.Errorf("ReadHeader(Apply(%+v)) = %+v, %v", hd, got, err)
		}
	}
	// A ww-program-id header replaces the id the receiver knows.
	h := http.Header{}
	hd.Apply(h, true)
	if got, err := ReadHeader(h, "prog-other"); err != nil || got.ProgramID != "prog-echo" {
		t.Errorf("ReadHeader = %+v, %v", got, err)
	}
	// Mixed letter case in one set of headers.
	h = http.Header{"wW-sEcReT-vEr": {"12"}, "Ww-Request-Id": {hd.RequestID}, "ww-timestamp": {"1767225600"}}
	if got, err := ReadHeader(h, "prog-echo"); err != nil || got != hd {
		t.Errorf("ReadHeader(mixed case) = %+v, %v", got, err)
	}
	// A header with two values in one entry is refused too.
	h = http.Header{"ww-secret-ver": {"12", "12"}, "ww-request-id": {hd.RequestID}, "ww-timestamp": {"1767225600"}}
	if _, err := ReadHeader(h, "prog-echo"); ExceptionCode(err) != ExcMalformed {
		t.Errorf("two values: %v", err)
	}
	for _, id := range []string{strings.Repeat("p", 129), "prog\x00echo", "prog\techo", "程序"} {
		h := http.Header{}
		hd.Apply(h, false)
		if _, err := ReadHeader(h, id); ExceptionCode(err) != ExcMalformed {
			t.Errorf("program id %q accepted", id)
		}
	}
	if _, err := ReadHeader(http.Header{}, "prog-echo"); ExceptionCode(err) != ExcMalformed {
		t.Errorf("no headers: %v", err)
	}
}

func TestNewRequestID(t *testing.T) {
	a, b := NewRequestID(), NewRequestID()
	if a == b || !validRequestID(a) || len(a) != 32 {
		t.Errorf("NewRequestID = %q, %q", a, b)
	}
}

func TestOpen(t *testing.T) {
	k := NewKeys(NewSecret(5))
	hd := Header{ProgramID: "prog-echo", SecretVer: 5, RequestID: NewRequestID(), Timestamp: 1767225600}
	body := k.Seal(PurposeInvoke, hd, []byte("x"))
	if len(body) != BodyLen(1) {
		t.Fatalf("body of %d bytes", len(body))
	}
	if _, err := k.Open("bogus", hd, body); ExceptionCode(err) != ExcMalformed {
		t.Errorf("unknown purpose: %v", err)
	}
	if _, err := k.Open("", hd, body); ExceptionCode(err) != ExcMalformed {
		t.Errorf("empty purpose: %v", err)
	}
	// The secret version is checked before anything else.
	bad := hd
	bad.SecretVer = 6
	if _, err := k.Open("bogus", bad, nil); ExceptionCode(err) != ExcSecretVer {
		t.Errorf("secret version: %v", err)
	}
	// Two seals of one plaintext differ (fresh nonces).
	if bytes.Equal(body, k.Seal(PurposeInvoke, hd, []byte("x"))) {
		t.Error("Seal reused a nonce")
	}
	// Long program and request ids (beyond the AAD's stack buffer).
	long := Header{ProgramID: strings.Repeat("p", 128), SecretVer: 5, RequestID: strings.Repeat("r", 64), Timestamp: math.MaxInt64}
	if pt, err := k.Open(PurposeCall, long, k.Seal(PurposeCall, long, []byte("long"))); err != nil || string(pt) != "long" {
		t.Errorf("long header: %q, %v", pt, err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Seal with an unknown purpose did not panic")
		}
	}()
	k.Seal("bogus", hd, nil)
}

func TestAppendVariants(t *testing.T) {
	k := NewKeys(NewSecret(1))
	hd := Header{ProgramID: "prog-echo", SecretVer: 1, RequestID: NewRequestID(), Timestamp: 1767225600}
	buf := make([]byte, 0, 4096)
	body := k.SealAppend(buf[:0], PurposeCall, hd, []byte("hello"))
	if &body[0] != &buf[:1][0] {
		t.Error("SealAppend did not use dst's capacity")
	}
	body = bytes.Clone(body)
	pt, err := k.OpenAppend(buf[:0], PurposeCall, hd, body)
	if err != nil || string(pt) != "hello" || &pt[0] != &buf[:1][0] {
		t.Errorf("OpenAppend = %q, %v", pt, err)
	}
	pt, err = k.OpenAppend([]byte("prefix:"), PurposeCall, hd, body)
	if err != nil || string(pt) != "prefix:hello" {
		t.Errorf("OpenAppend with prefix = %q, %v", pt, err)
	}
	tamper(body)
	if pt, err := k.OpenAppend(buf[:0], PurposeCall, hd, body); pt != nil || ExceptionCode(err) != ExcAuth {
		t.Errorf("tampered: %q, %v", pt, err)
	}
}

// tamper changes one base64 character in the middle of a sealed body to
// another valid one, so the body still decodes but no longer authenticates.
func tamper(b []byte) []byte {
	b[len(b)/2] = map[bool]byte{true: 'B', false: 'A'}[b[len(b)/2] == 'A']
	return b
}
