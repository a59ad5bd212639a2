// Package outbound is the one HTTP client the zone sends requests out
// with: to debug receivers, deployed instances, apps' program_notify
// callbacks, other zone nodes, and later document fetches and model
// backends. Every client it makes follows no redirect (a 3xx is the answer
// the caller sees), uses no proxy from the environment, and checks its
// address policy on the address actually dialled, in the dialer's control
// hook: a host name that resolves (or is rebound) to a refused address, or
// an IPv4 address written as IPv6 (::ffff:127.0.0.1), is refused before
// any packet leaves.
//
// The policy always refuses unspecified, multicast, link-local and cloud
// metadata addresses (169.254.169.254 and friends: they answer anyone on
// the machine with its credentials). Strict mode, for zones run for
// others, also refuses loopback, private and other non-public ranges,
// except the prefixes an operator allows. Targets the zone chose itself —
// the instances it supervises, the other nodes of its cluster — use the
// Internal client, which strict mode does not narrow.
package outbound

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrRefused is a target the zone's outbound policy refuses; errors of the
// clients wrap it.
var ErrRefused = errors.New("refused by the zone's outbound policy")

// Policy says which addresses a client may dial.
type Policy struct {
	// Strict also refuses loopback, private (RFC 1918, fc00::/7),
	// carrier-grade NAT and reserved addresses: the zone reaches only the
	// public internet and Allow.
	Strict bool
	// Allow lists prefixes dialled even in strict mode (an operator's own
	// network, e.g. 10.1.0.0/16). It never admits an address refused in
	// every mode (metadata, link-local).
	Allow []netip.Prefix
}

// ParsePrefixes reads CIDR prefixes or single addresses, as the
// --outbound-allow flag gives them.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an address nor a CIDR prefix", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// Addresses refused in every mode besides what netip classifies as
// link-local, multicast or unspecified: cloud metadata services that live
// outside 169.254.0.0/16.
var metadata = []netip.Prefix{
	netip.MustParsePrefix("100.100.100.200/32"), // Alibaba Cloud metadata
	netip.MustParsePrefix("168.63.129.16/32"),   // Azure wire server
	netip.MustParsePrefix("fd00:ec2::254/128"),  // AWS metadata over IPv6
	netip.MustParsePrefix("255.255.255.255/32"), // limited broadcast
}

// Non-public ranges strict mode refuses besides loopback and netip's
// private ones.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),      // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),  // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),   // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),  // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),    // reserved
	netip.MustParsePrefix("2001:db8::/32"),  // documentation
	netip.MustParsePrefix("64:ff9b:1::/48"), // local-use NAT64
	netip.MustParsePrefix("100::/64"),       // discard-only
	netip.MustParsePrefix("2001:10::/28"),   // ORCHID
	netip.MustParsePrefix("2001:20::/28"),   // ORCHIDv2
	netip.MustParsePrefix("fec0::/10"),      // deprecated site-local
}

// IPv6 prefixes that carry an IPv4 address: NAT64's well-known prefix
// (the address in the last 32 bits) and 6to4 (in bits 16 to 48). Such an
// address is judged as the IPv4 address it reaches.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// Check says whether the policy lets the zone dial ip: nil, or an error
// wrapping ErrRefused that says why.
func (p Policy) Check(ip netip.Addr) error {
	ip = ip.Unmap()
	switch b := ip.As16(); {
	case !ip.Is6():
	case nat64.Contains(ip):
		ip = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	case sixToFour.Contains(ip):
		ip = netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
	}
	switch {
	case !ip.IsValid():
		return fmt.Errorf("%w: not an IP address", ErrRefused)
	case ip.IsUnspecified():
		return fmt.Errorf("%w: %s is the unspecified address", ErrRefused, ip)
	case ip.IsMulticast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast():
		return fmt.Errorf("%w: %s is a multicast address", ErrRefused, ip)
	case ip.IsLinkLocalUnicast():
		return fmt.Errorf("%w: %s is link-local (where cloud metadata services answer)", ErrRefused, ip)
	}
	for _, m := range metadata {
		if m.Contains(ip) {
			return fmt.Errorf("%w: %s is a cloud metadata or broadcast address", ErrRefused, ip)
		}
	}
	if !p.Strict {
		return nil
	}
	for _, a := range p.Allow {
		if a.Contains(ip) {
			return nil
		}
	}
	switch {
	case ip.IsLoopback():
		return fmt.Errorf("%w: %s is a loopback address (strict outbound policy)", ErrRefused, ip)
	case ip.IsPrivate():
		return fmt.Errorf("%w: %s is a private address (strict outbound policy)", ErrRefused, ip)
	}
	for _, n := range nonPublic {
		if n.Contains(ip) {
			return fmt.Errorf("%w: %s is not a public address (strict outbound policy)", ErrRefused, ip)
		}
	}
	return nil
}

// control is the dialer's hook: it runs after the name was resolved and
// before connect(2), on every address tried.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrRefused, err)
	}
	// A zone in an IPv6 scope (fe80::1%eth0) is link-local anyway.
	host, _, _ = strings.Cut(host, "%")
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %s is not an IP address", ErrRefused, host)
	}
	return p.Check(ip)
}

// Config configures a client.
type Config struct {
	Policy Policy
	// DialTimeout bounds a TCP connect; default 5 s.
	DialTimeout time.Duration
	// Timeout, when set, bounds a whole request (http.Client.Timeout).
	// Callers with their own per-request deadlines leave it zero.
	Timeout time.Duration
	// MaxIdleConns and MaxIdleConnsPerHost size the keep-alive pool;
	// defaults 64 and 8. Calls to instances keep more.
	MaxIdleConns, MaxIdleConnsPerHost int
}

// New returns an HTTP client under cfg's policy: no redirects, no proxy,
// the policy checked on every dialled address.
func New(cfg Config) *http.Client {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	if cfg.MaxIdleConns <= 0 {
		cfg.MaxIdleConns = 64
	}
	if cfg.MaxIdleConnsPerHost <= 0 {
		cfg.MaxIdleConnsPerHost = 8
	}
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second, Control: cfg.Policy.control}
	tr := &http.Transport{
		Proxy:               nil, // HTTP_PROXY would dial the proxy, not the target: the policy could not see it
		DialContext:         d.DialContext,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConns:        cfg.MaxIdleConns,
		MaxIdleConnsPerHost: cfg.MaxIdleConnsPerHost,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: cfg.Timeout, CheckRedirect: noRedirect}
}

// noRedirect hands the 3xx to the caller: a redirect would send a sealed
// packet, or a signed callback, wherever the target pointed it.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Refused reports whether err is a dial the policy refused.
func Refused(err error) bool { return errors.Is(err, ErrRefused) }

// Reason is err without net/url's "Post <url>:" prefix and net's "dial
// tcp …:" noise when the policy refused it: what went wrong, short enough
// for an errmsg.
func Reason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if Refused(err) {
		msg := err.Error()
		if i := strings.Index(msg, ErrRefused.Error()); i >= 0 {
			return msg[i:]
		}
	}
	return err.Error()
}
