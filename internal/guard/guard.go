// Package guard holds what the HTTP faces apply before they know who is
// asking: where a request really comes from (behind the trusted proxies an
// operator names), whether it came over HTTPS, and a per-source limit on
// failed attempts at the doors that take a secret (gettoken, the console's
// sign-in, the SDK half of debug mode).
package guard

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/outbound"
)

// Proxies are the reverse proxies whose X-Forwarded-For and
// X-Forwarded-Proto headers the zone believes. Headers from anyone else
// are ignored: a client could write them itself.
type Proxies []netip.Prefix

// ParseProxies reads CIDR prefixes or addresses (the --trusted-proxy flag).
func ParseProxies(list []string) (Proxies, error) {
	p, err := outbound.ParsePrefixes(list)
	return Proxies(p), err
}

func (p Proxies) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, pr := range p {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

func peer(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// ClientIP is the address a request came from: its peer, or, when the peer
// is a trusted proxy, the last address in X-Forwarded-For that is not one
// (the proxies append; what stands before them the client may have made up).
func (p Proxies) ClientIP(r *http.Request) netip.Addr {
	ip := peer(r)
	if !p.trusted(ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		ip = a.Unmap()
		if !p.trusted(ip) {
			break
		}
	}
	return ip
}

// HTTPS reports whether the client's connection was TLS: the zone's own
// listener, or a trusted proxy that says so (X-Forwarded-Proto: https).
func (p Proxies) HTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return p.trusted(peer(r)) && strings.EqualFold(strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0]), "https")
}

// Failures limits failed attempts per source: each failure fills the
// source's bucket by one and it drains at Rate per second; a source whose
// bucket holds Burst is refused until it drains. Successes cost nothing,
// so a client that knows its secret is never slowed. IPv6 sources count
// per /64, what one host usually holds.
type Failures struct {
	Burst int
	Rate  float64
	Now   func() time.Time

	mu      sync.Mutex
	buckets map[netip.Addr]*bucket
}

type bucket struct {
	level float64
	at    time.Time
}

// maxSources bounds the memory the limiter keeps; past it, sources whose
// buckets drained are forgotten, and if none did the oldest are.
const maxSources = 65536

// NewFailures returns a limiter allowing burst failures at once and rate
// per second after that.
func NewFailures(burst int, rate float64) *Failures {
	return &Failures{Burst: burst, Rate: rate, Now: time.Now, buckets: map[netip.Addr]*bucket{}}
}

func key(ip netip.Addr) netip.Addr {
	if ip.Is6() && !ip.Is4In6() {
		p, _ := ip.Prefix(64)
		return p.Addr()
	}
	return ip.Unmap()
}

// level drains b to now and returns its level.
func (f *Failures) level(b *bucket, now time.Time) float64 {
	b.level -= now.Sub(b.at).Seconds() * f.Rate
	if b.level < 0 {
		b.level = 0
	}
	b.at = now
	return b.level
}

// Blocked reports whether ip must wait before its next attempt, and how
// long.
func (f *Failures) Blocked(ip netip.Addr) (bool, time.Duration) {
	if f == nil {
		return false, 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.buckets[key(ip)]
	if b == nil {
		return false, 0
	}
	over := f.level(b, f.Now()) - float64(f.Burst-1)
	if over <= 0 {
		return false, 0
	}
	return true, time.Duration(over / f.Rate * float64(time.Second))
}

// Check is Blocked as the faces answer it: nil, or errcode 45009 (WeCom's
// 接口调用超过限制) saying how long to wait.
func (f *Failures) Check(ip netip.Addr) error {
	blocked, wait := f.Blocked(ip)
	if !blocked {
		return nil
	}
	return openzone.RateLimited.Errorf("too many failed attempts from %s: try again in %s", ip, (wait + time.Second).Truncate(time.Second))
}

// Fail records a failed attempt of ip.
func (f *Failures) Fail(ip netip.Addr) {
	if f == nil {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now, k := f.Now(), key(ip)
	b := f.buckets[k]
	if b == nil {
		if len(f.buckets) >= maxSources {
			f.sweep(now)
		}
		b = &bucket{at: now}
		f.buckets[k] = b
	}
	f.level(b, now)
	b.level++
}

// sweep forgets drained sources, or half of them when none drained (a
// flood of sources must not grow the map without bound).
func (f *Failures) sweep(now time.Time) {
	for k, b := range f.buckets {
		if f.level(b, now) == 0 {
			delete(f.buckets, k)
		}
	}
	for k := range f.buckets {
		if len(f.buckets) < maxSources/2 {
			break
		}
		delete(f.buckets, k)
	}
}

// Door is one place that takes a secret from anyone: it says where a
// request comes from and refuses a source that failed too often. A nil
// Door refuses nothing.
type Door struct {
	Proxies  Proxies
	Failures *Failures
}

// Check returns the request's source and nil, or errcode 45009 when that
// source must wait.
func (d *Door) Check(r *http.Request) (netip.Addr, error) {
	if d == nil {
		return netip.Addr{}, nil
	}
	ip := d.Proxies.ClientIP(r)
	return ip, d.Failures.Check(ip)
}

// Fail records a failed attempt of ip.
func (d *Door) Fail(ip netip.Addr) {
	if d != nil {
		d.Failures.Fail(ip)
	}
}
