// Package webfetch fetches the web pages knowledge sets learn (web_url,
// type 101) under the zone's outbound policy: http and https only, no
// redirect to another host, and never a link-local address (169.254.0.0/16,
// fe80::/10 — where cloud metadata services answer), an unspecified or a
// multicast one, checked on the address actually dialled so DNS cannot
// steer around it. It is the seam a later zone-wide outbound client
// replaces: the knowledge service only sees knowledge.Fetcher.
package webfetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
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

// New returns a client; zero arguments take the defaults.
func New(timeout time.Duration, maxBytes int64) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	d := &net.Dialer{Timeout: 10 * time.Second, Control: checkDial}
	tr := &http.Transport{DialContext: d.DialContext, Proxy: nil, TLSHandshakeTimeout: 10 * time.Second,
		ResponseHeaderTimeout: timeout, MaxIdleConns: 4, IdleConnTimeout: 30 * time.Second}
	return &Client{maxBytes: maxBytes, http: &http.Client{Timeout: timeout, Transport: tr, CheckRedirect: sameHost}}
}

// Error is a fetch that failed; Permanent says retrying cannot help (the
// page is refused or missing, not the network slow).
type Error struct {
	Reason    string
	Permanent bool
}

func (e *Error) Error() string { return e.Reason }

// ErrRefused is an address or redirect the policy refuses.
var ErrRefused = errors.New("refused by the zone's outbound policy")

// checkDial refuses link-local, unspecified and multicast addresses.
func checkDial(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s is not an IP address", ErrRefused, host)
	}
	ip = ip.Unmap()
	if ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return fmt.Errorf("%w: %s is a link-local, unspecified or multicast address", ErrRefused, ip)
	}
	return nil
}

func sameHost(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("%w: more than %d redirects", ErrRefused, maxRedirects)
	}
	if !strings.EqualFold(req.URL.Hostname(), via[0].URL.Hostname()) {
		return fmt.Errorf("%w: redirect from %s to another host, %s", ErrRefused, via[0].URL.Hostname(), req.URL.Hostname())
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("%w: redirect to a %s URL", ErrRefused, req.URL.Scheme)
	}
	return nil
}

// CheckURL says whether raw is a URL the client would try: absolute,
// http or https, with a host, at most 2,048 bytes, no credentials.
func CheckURL(raw string) error {
	if len(raw) > 2048 {
		return errors.New("longer than 2048 bytes")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return errors.New("not an absolute http or https URL")
	}
	if u.User != nil {
		return errors.New("it holds credentials")
	}
	return nil
}

// Fetch gets a page: its body (at most the client's limit) and Content-Type.
func (c *Client) Fetch(ctx context.Context, rawURL string) ([]byte, string, error) {
	if err := CheckURL(rawURL); err != nil {
		return nil, "", &Error{Reason: "web_url is " + err.Error(), Permanent: true}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, "", &Error{Reason: "web_url is not a usable URL", Permanent: true}
	}
	req.Header.Set("User-Agent", "OpenZone knowledge set fetcher")
	req.Header.Set("Accept", "text/html, text/plain;q=0.8")
	resp, err := c.http.Do(req)
	if err != nil {
		if errors.Is(err, ErrRefused) {
			return nil, "", &Error{Reason: "fetching the page was " + unwrapURL(err), Permanent: true}
		}
		return nil, "", &Error{Reason: "fetching the page failed: " + unwrapURL(err)}
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

// unwrapURL drops net/url's "Get <url>:" prefix.
func unwrapURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
