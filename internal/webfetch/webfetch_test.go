package webfetch

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/outbound"
)

func TestFetch(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/page":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<p>你好</p>"))
		case "/same":
			http.Redirect(w, r, "/page", http.StatusFound)
		case "/other":
			http.Redirect(w, r, "http://localhost"+r.Host[strings.LastIndex(r.Host, ":"):]+"/page", http.StatusFound)
		case "/meta":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/pdf":
			w.Header().Set("Content-Type", "application/pdf")
			w.Write([]byte("%PDF"))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	c := New(outbound.Policy{}, 0, 0)
	ctx := context.Background()
	body, ct, err := c.Fetch(ctx, srv.URL+"/same")
	if err != nil || string(body) != "<p>你好</p>" || !strings.Contains(ct, "html") {
		t.Fatalf("Fetch = %q, %q, %v", body, ct, err)
	}
	tests := []struct {
		name, url, reason string
		permanent         bool
	}{
		{"OtherHost", srv.URL + "/other", "another host", true},
		{"Metadata", srv.URL + "/meta", "another host", true},
		{"LinkLocalDirect", "http://169.254.169.254/latest/meta-data/", "link-local", true},
		{"NotFound", srv.URL + "/nope", "HTTP 404", true},
		{"NotHTML", srv.URL + "/pdf", "application/pdf", true},
		{"Scheme", "ftp://example.com/x", "http or https", true},
	}
	// Strict mode (a zone run for others) refuses the loopback page too,
	// checked on the address dialled.
	t.Run("Strict", func(t *testing.T) {
		t.Parallel()
		_, _, err := New(outbound.Policy{Strict: true}, 0, 0).Fetch(ctx, srv.URL+"/page")
		var fe *Error
		if !errors.As(err, &fe) || !strings.Contains(fe.Reason, "loopback") || !fe.Permanent {
			t.Fatalf("strict: err = %#v, want a permanent refusal of the loopback address", err)
		}
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := c.Fetch(ctx, tc.url)
			var fe *Error
			if !errors.As(err, &fe) || !strings.Contains(fe.Reason, tc.reason) || fe.Permanent != tc.permanent {
				t.Fatalf("err = %#v, want reason with %q, permanent %v", err, tc.reason, tc.permanent)
			}
		})
	}
}
