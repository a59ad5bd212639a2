package console_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/testenv"
	"github.com/openzone/openzone/server"
)

// Regression tests of issue 16 (hardening) for the console.

const securitySeed = `
providers:
  - {id: isv, name: Test ISV, test_corps: [wwtest]}
corps:
  - {corpid: wwtest, name: Test Corp}
programs:
  - id: prog-dbg
    provider: isv
    name: In development
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": ""}}
apps:
  - {corpid: wwtest, agentid: 1000002, type: self_built, secret: s1, programs: [prog-dbg]}
`

func startSecurityZone(t *testing.T, configure func(*server.Config)) *testenv.Zone {
	t.Helper()
	return testenv.Start(t, testenv.Options{Seed: securitySeed, Configure: configure})
}

// TestConsoleBadIDs (8): every route that takes an id answers a bad or
// unknown one with a 4xx page naming it, never HTTP 500 or a Go error.
func TestConsoleBadIDs(t *testing.T) {
	z := startSecurityZone(t, nil)
	c := newClient(t, z)
	for _, path := range []string{
		"/console/programs/nope",
		"/console/programs/nope/logs",
		"/console/programs/nope/debug",
		"/console/programs/nope/debug/sessions",
		"/console/corps/nope",
		"/console/corps/nope/archive",
		"/console/traffic/abc",
		"/console/traffic/999999",
	} {
		st, body := c.get(path)
		if st < 400 || st >= 500 || strings.Contains(body, "console error") {
			t.Errorf("GET %s: HTTP %d %.200q, want a 4xx page", path, st, body)
		}
	}
	for _, path := range []string{
		"/console/programs/nope/debug/token",
		"/console/programs/nope/debug/receiver",
		"/console/programs/prog-dbg/debug/sessions/wwtest/abc/close",
		"/console/corps/wwtest/apps/abc/programs",
		"/console/corps/nope/apps/1/test_install",
		"/console/corps/wwtest/apps/abc/rules/r1/delete",
		"/console/providers/nope/test_corps",
		"/console/traffic/abc/replay",
	} {
		st, body := c.post(path, url.Values{"csrf": {c.csrf}, "url": {"http://127.0.0.1:9/"}}, false)
		if st >= 500 || strings.Contains(body, "console error") {
			t.Errorf("POST %s: HTTP %d %.200q, want no 5xx", path, st, body)
		}
	}
}

// TestConsoleLoginHeaders (8): the sign-in page sends the frame and
// content-security headers the other pages send.
func TestConsoleLoginHeaders(t *testing.T) {
	z := startSecurityZone(t, nil)
	resp, err := http.Get(z.URL + "/console/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("login page headers: %v", resp.Header)
	}
}

// TestConsoleSecureCookie (8): behind a trusted TLS-terminating proxy the
// session cookie is Secure; a client that writes X-Forwarded-Proto itself
// is not believed.
func TestConsoleSecureCookie(t *testing.T) {
	for _, tc := range []struct {
		name    string
		proxies []string
		secure  bool
	}{{"Untrusted", nil, false}, {"TrustedProxy", []string{"127.0.0.1"}, true}} {
		t.Run(tc.name, func(t *testing.T) {
			z := startSecurityZone(t, func(c *server.Config) { c.TrustedProxies = tc.proxies })
			req, _ := http.NewRequest("POST", z.URL+"/console/login", strings.NewReader(url.Values{"token": {z.AdminToken()}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-Proto", "https")
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			cs := resp.Cookies()
			if resp.StatusCode != http.StatusSeeOther || len(cs) != 1 || cs[0].Secure != tc.secure {
				t.Fatalf("HTTP %d cookies %v, want Secure=%v", resp.StatusCode, cs, tc.secure)
			}
		})
	}
}

// TestConsoleLoginLimits (3): before sign-in the console reads a small
// URL-encoded form only, and a source that keeps failing must wait.
func TestConsoleLoginLimits(t *testing.T) {
	z := startSecurityZone(t, func(c *server.Config) { c.FailedAttempts = 3 })
	post := func(ct string, body []byte) int {
		t.Helper()
		resp, err := http.Post(z.URL+"/console/login", ct, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	fw, _ := mw.CreateFormFile("token", "big.bin")
	fw.Write(bytes.Repeat([]byte("x"), 2<<20))
	mw.Close()
	if st := post(mw.FormDataContentType(), mp.Bytes()); st != http.StatusUnsupportedMediaType {
		t.Fatalf("multipart sign-in: HTTP %d, want 415", st)
	}
	big := "token=" + strings.Repeat("x", 64<<10)
	if st := post("application/x-www-form-urlencoded", []byte(big)); st != http.StatusRequestEntityTooLarge {
		t.Fatalf("64 KiB sign-in form: HTTP %d, want 413", st)
	}
	for i := range 3 {
		if st := post("application/x-www-form-urlencoded", []byte("token=wrong")); st != http.StatusUnauthorized {
			t.Fatalf("failed sign-in %d: HTTP %d, want 401", i, st)
		}
	}
	// Even the right token waits now: the source is over its budget.
	if st := post("application/x-www-form-urlencoded", []byte("token="+z.AdminToken())); st != http.StatusTooManyRequests {
		t.Fatalf("sign-in after 3 failures: HTTP %d, want 429", st)
	}
}
