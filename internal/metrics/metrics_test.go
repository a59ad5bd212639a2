package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/metrics"
)

func TestFace(t *testing.T) {
	for _, c := range []struct{ path, face string }{
		{"/cgi-bin/gettoken", "app"},
		{"/spec/v1/invoke", "spec"},
		{"/admin/v1/programs", "admin"},
		{"/console", "console"},
		{"/console/login", "console"},
		{"/display/message", "display"},
		{"/metrics", "metrics"},
		{"/healthz", "health"},
		{"/", "other"},
		{"/cgi-bi", "other"},
	} {
		if got := metrics.Face(c.path); got != c.face {
			t.Errorf("Face(%q) = %q, want %q", c.path, got, c.face)
		}
	}
}

// A nil *Metrics is what a service without metrics holds: it counts nothing
// and does not panic.
func TestNil(t *testing.T) {
	var m *metrics.Metrics
	m.Observe(&openzone.TrafficRecord{Kind: "call"})
	m.Delivery("event", metrics.Delivered)
	m.Watch(metrics.Gauges{})
	h := m.Handler(http.NotFoundHandler())
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	if rec.Code != 404 {
		t.Fatalf("status %d", rec.Code)
	}
}

// Handler counts by face and status code; paths never become labels.
func TestHandlerCountsByFace(t *testing.T) {
	m := metrics.New()
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "bad") {
			w.WriteHeader(http.StatusBadRequest)
		}
		w.Write([]byte("x"))
	}))
	for _, p := range []string{"/cgi-bin/a", "/cgi-bin/b", "/cgi-bin/bad", "/spec/v1/secret-123"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", p, nil))
	}
	m.Delivery("task", metrics.Held)
	rec := httptest.NewRecorder()
	m.Exposition().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`openzone_http_requests_total{code="200",face="app"} 2`,
		`openzone_http_requests_total{code="400",face="app"} 1`,
		`openzone_http_requests_total{code="200",face="spec"} 1`,
		`openzone_deliveries_total{kind="task",outcome="held"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if strings.Contains(body, "secret-123") {
		t.Error("a path became a label")
	}
}
