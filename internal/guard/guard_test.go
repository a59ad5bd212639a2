package guard

import (
	"crypto/tls"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestProxies(t *testing.T) {
	t.Parallel()
	px, err := ParseProxies([]string{"10.0.0.0/8", "192.168.1.5"})
	require.NoError(t, err)
	_, err = ParseProxies([]string{"proxy.example"})
	require.Error(t, err)
	tests := []struct {
		name, peer, xff, proto string
		tls                    bool
		ip                     string
		https                  bool
	}{
		{"Direct", "203.0.113.9:5000", "", "", false, "203.0.113.9", false},
		{"DirectTLS", "203.0.113.9:5000", "", "", true, "203.0.113.9", true},
		{"UntrustedHeadersIgnored", "203.0.113.9:5000", "1.2.3.4", "https", false, "203.0.113.9", false},
		{"TrustedProxy", "10.1.1.1:5000", "198.51.100.7", "https", false, "198.51.100.7", true},
		{"SpoofedHopBeforeClient", "10.1.1.1:5000", "6.6.6.6, 198.51.100.7", "https", false, "198.51.100.7", true},
		{"ProxyChain", "10.1.1.1:5000", "198.51.100.7, 192.168.1.5", "http", false, "198.51.100.7", false},
		{"MappedPeer", "[::ffff:10.1.1.1]:5000", "198.51.100.8", "HTTPS", false, "198.51.100.8", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			require.Equal(t, netip.MustParseAddr(tc.ip), px.ClientIP(r))
			require.Equal(t, tc.https, px.HTTPS(r))
		})
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	f := NewFailures(3, 1) // three failures at once, then one a second
	f.Now = func() time.Time { return now }
	a, b := netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("198.51.100.8")
	for i := range 3 {
		blocked, _ := f.Blocked(a)
		require.False(t, blocked, "attempt %d", i)
		f.Fail(a)
	}
	blocked, wait := f.Blocked(a)
	require.True(t, blocked)
	require.Equal(t, time.Second, wait)
	blocked, _ = f.Blocked(b) // another source is not held up
	require.False(t, blocked)
	now = now.Add(time.Second)
	blocked, _ = f.Blocked(a)
	require.False(t, blocked)

	// IPv6 counts per /64.
	f.Fail(netip.MustParseAddr("2001:db8:1:2::1"))
	f.Fail(netip.MustParseAddr("2001:db8:1:2::2"))
	f.Fail(netip.MustParseAddr("2001:db8:1:2::3"))
	blocked, _ = f.Blocked(netip.MustParseAddr("2001:db8:1:2::ffff"))
	require.True(t, blocked)

	// Memory stays bounded under a flood of sources.
	for i := range maxSources + 10 {
		f.Fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	require.LessOrEqual(t, len(f.buckets), maxSources)
}
