// Package webfetch fetches the web pages knowledge sets learn (web_url,
// type 101) through the zone's outbound client (internal/outbound): its
// address policy, checked on every address dialled (link-local and cloud
// metadata always refused; loopback and private ones too in strict mode),
// no proxy from the environment. Unlike the zone's other requests a page
// may redirect, to the same host only, at most 5 times, each hop dialled
// under the same policy.
package webfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/outbound"
)

// Limits of one fetch.
const (
	DefaultTimeout  = 20 * time.Second
	DefaultMaxBytes = 10 << 20
	maxRedirects    = 5
)

// Client fetches pages.
type Client struct {
	http     *http.Client
	maxBytes int64
}

// New returns a client under policy; zero limits take the defaults.
func New(policy outbound.Policy, timeout time.Duration, maxBytes int64) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	hc := outbound.New(outbound.Config{Policy: policy, DialTimeout: 10 * time.Second, Timeout: timeout, MaxIdleConns: 4, MaxIdleConnsPerHost: 2})
	hc.CheckRedirect = sameHost
	return &Client{maxBytes: maxBytes, http: hc}
}

// Error is a fetch that failed; Permanent says retrying cannot help (the
// page is refused or missing, not the network slow).
type Error struct {
	Reason    string
	Permanent bool
}

func (e *Error) Error() string { return e.Reason }

// errRedirect is a redirect this client does not follow.
var errRedirect = errors.New("redirect refused")

func sameHost(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("%w: more than %d redirects", errRedirect, maxRedirects)
	}
	if !strings.EqualFold(req.URL.Hostname(), via[0].URL.Hostname()) {
		return fmt.Errorf("%w: from %s to another host, %s", errRedirect, via[0].URL.Hostname(), req.URL.Hostname())
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: to a %s URL", errRedirect, req.URL.Scheme)
	}
	return nil
}

// Fetch gets a page: its body (at most the client's limit) and Content-Type.
func (c *Client) Fetch(ctx context.Context, rawURL string) ([]byte, string, error) {
	if err := openzone.CheckURL("web_url", rawURL); err != nil {
		return nil, "", &Error{Reason: openzone.ErrorMessage(err), Permanent: true}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, "", &Error{Reason: "web_url is not a usable URL", Permanent: true}
	}
	req.Header.Set("User-Agent", "OpenZone knowledge set fetcher")
	req.Header.Set("Accept", "text/html, text/plain;q=0.8")
	resp, err := c.http.Do(req)
	if err != nil {
		if outbound.Refused(err) || errors.Is(err, errRedirect) {
			return nil, "", &Error{Reason: "fetching the page: " + outbound.Reason(err), Permanent: true}
		}
		return nil, "", &Error{Reason: "fetching the page failed: " + outbound.Reason(err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, "", &Error{Reason: fmt.Sprintf("the page answered HTTP %d", resp.StatusCode),
			Permanent: resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500}
	}
	ct := resp.Header.Get("Content-Type")
	if ct != "" && !strings.Contains(ct, "html") && !strings.HasPrefix(ct, "text/") {
		return nil, "", &Error{Reason: fmt.Sprintf("the page is %s, not HTML or text", ct), Permanent: true}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBytes+1))
	if err != nil {
		return nil, "", &Error{Reason: "reading the page failed: " + err.Error()}
	}
	if int64(len(body)) > c.maxBytes {
		return nil, "", &Error{Reason: fmt.Sprintf("the page is over %d MB", c.maxBytes>>20), Permanent: true}
	}
	return body, ct, nil
}
