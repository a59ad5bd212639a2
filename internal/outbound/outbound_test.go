package outbound

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPolicy_Check(t *testing.T) {
	t.Parallel()
	allow := []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}
	tests := []struct {
		ip             string
		normal, strict bool // allowed?
	}{
		{"93.184.216.34", true, true},
		{"2606:4700::1111", true, true},
		{"127.0.0.1", true, false},
		{"::1", true, false},
		{"::ffff:127.0.0.1", true, false}, // IPv4 written as IPv6
		{"10.0.0.1", true, false},
		{"10.1.2.3", true, true}, // allowed prefix
		{"172.16.0.1", true, false},
		{"192.168.1.1", true, false},
		{"fd12::1", true, false},
		{"100.64.0.1", true, false},
		{"0.1.2.3", true, false},
		{"64:ff9b::7f00:1", true, false},  // NAT64 of 127.0.0.1
		{"2002:7f00:1::1", true, false},   // 6to4 of 127.0.0.1
		{"169.254.169.254", false, false}, // metadata, in every mode
		{"::ffff:169.254.169.254", false, false},
		{"64:ff9b::a9fe:a9fe", false, false}, // NAT64 of the metadata address
		{"2002:a9fe:a9fe::1", false, false},  // 6to4 of it
		{"fe80::1", false, false},
		{"100.100.100.200", false, false},
		{"168.63.129.16", false, false},
		{"fd00:ec2::254", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"224.0.0.1", false, false},
		{"ff02::1", false, false},
		{"255.255.255.255", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.ip, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.ip)
			err := Policy{}.Check(ip)
			require.Equal(t, tc.normal, err == nil, "default policy: %v", err)
			err = Policy{Strict: true, Allow: allow}.Check(ip)
			require.Equal(t, tc.strict, err == nil, "strict policy: %v", err)
			if err != nil {
				require.ErrorIs(t, err, ErrRefused)
			}
		})
	}
}

func TestParsePrefixes(t *testing.T) {
	t.Parallel()
	ps, err := ParsePrefixes([]string{"10.1.0.0/16", " 192.168.7.9 ", "", "fd00::/8"})
	require.NoError(t, err)
	require.Equal(t, []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("192.168.7.9/32"), netip.MustParsePrefix("fd00::/8")}, ps)
	_, err = ParsePrefixes([]string{"example.com"})
	require.Error(t, err)
}

func TestClient(t *testing.T) {
	t.Parallel()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "internal secret")
	}))
	t.Cleanup(target.Close)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	t.Cleanup(redirect.Close)
	port := target.URL[strings.LastIndex(target.URL, ":")+1:]

	get := func(c *http.Client, url string) (*http.Response, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader("sealed"))
		require.NoError(t, err)
		resp, err := c.Do(req)
		if err == nil {
			t.Cleanup(func() { resp.Body.Close() })
		}
		return resp, err
	}

	t.Run("RedirectNotFollowed", func(t *testing.T) {
		resp, err := get(New(Config{}), redirect.URL)
		require.NoError(t, err)
		require.Equal(t, http.StatusTemporaryRedirect, resp.StatusCode)
		body, _ := io.ReadAll(resp.Body)
		require.NotContains(t, string(body), "internal secret")
	})
	t.Run("DefaultReachesLoopback", func(t *testing.T) {
		resp, err := get(New(Config{}), target.URL)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
	strict := New(Config{Policy: Policy{Strict: true}})
	for _, host := range []string{"127.0.0.1", "[::ffff:127.0.0.1]", "localhost"} {
		// localhost passes any check of the name; the address it resolves
		// to is what the policy sees (DNS rebinding is the same case).
		t.Run("StrictRefuses/"+host, func(t *testing.T) {
			_, err := get(strict, "http://"+host+":"+port+"/")
			require.Error(t, err)
			require.True(t, Refused(err), "%v", err)
			require.Contains(t, Reason(err), "refused by the zone's outbound policy")
			require.NotContains(t, Reason(err), "http://")
		})
	}
	t.Run("StrictAllowList", func(t *testing.T) {
		c := New(Config{Policy: Policy{Strict: true, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
		resp, err := get(c, target.URL)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	})
	t.Run("MetadataRefusedBeforeConnect", func(t *testing.T) {
		// The control hook refuses before connect(2): nothing is sent.
		_, err := get(New(Config{}), "http://169.254.169.254/latest/meta-data/")
		require.True(t, Refused(err), "%v", err)
	})
}
