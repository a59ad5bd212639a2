// Package metrics is the zone's Prometheus instrumentation, on a registry
// of its own (no global state: several zones run in one test process).
// What it counts:
//
//   - every crossing of the zone a traffic record describes — app calls,
//     events, SDK invokes, program_notify callbacks — by kind, route and
//     errcode, with a latency histogram (Observe, from the one place
//     records are built);
//   - HTTP requests by face and status, with latency (Handler);
//   - durable deliveries by kind and outcome: delivered, retried, failed,
//     held, stepped aside (Delivery);
//   - gauges read at scrape time: job queue depths, program instances by
//     state, the traffic recorder's queue and drops (Gauges).
//
// The Handler of /metrics is the client library's; docs/operations.md
// lists the names.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openzone/openzone"
)

// Metrics holds the zone's metrics. A nil *Metrics records nothing.
type Metrics struct {
	reg *prometheus.Registry

	traffic         *prometheus.CounterVec
	trafficDuration *prometheus.HistogramVec
	http            *prometheus.CounterVec
	httpDuration    *prometheus.HistogramVec
	deliveries      *prometheus.CounterVec
}

// Buckets of the latency histograms, in seconds: 1 ms to the 30 s call
// timeout.
var buckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New returns the zone's metrics, registered with the Go runtime's and
// the process's collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		traffic: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openzone_traffic_total",
			Help: "Crossings of the zone: app calls (kind call), events (event), SDK invokes (invoke), program_notify callbacks (notify), by route (deployed, debug) and errcode (0 ok).",
		}, []string{"kind", "route", "errcode"}),
		trafficDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "openzone_traffic_duration_seconds",
			Help:    "Wall-clock length of a crossing of the zone, program time included, by kind and route.",
			Buckets: buckets,
		}, []string{"kind", "route"}),
		http: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openzone_http_requests_total",
			Help: "HTTP requests by face (app, spec, admin, console, display, other) and status code.",
		}, []string{"face", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "openzone_http_request_duration_seconds",
			Help:    "HTTP request latency by face.",
			Buckets: buckets,
		}, []string{"face"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openzone_deliveries_total",
			Help: "Durable delivery attempts by kind (event, notify, task) and outcome: delivered, retried (failed, will run again), failed (no attempt left), held (waiting for a debug listener or an earlier event), stepped_aside (held past the bound: delivered out of order).",
		}, []string{"kind", "outcome"}),
	}
	m.reg.MustRegister(m.traffic, m.trafficDuration, m.http, m.httpDuration, m.deliveries,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Delivery outcomes.
const (
	Delivered    = "delivered"
	Retried      = "retried"
	Failed       = "failed"
	Held         = "held"
	SteppedAside = "stepped_aside"
)

// Observe counts one crossing from its traffic record.
func (m *Metrics) Observe(r *openzone.TrafficRecord) {
	if m == nil {
		return
	}
	route := r.Route
	if route == "" {
		route = "none" // refused before routing (a bad program id, an unopened invoke)
	}
	m.traffic.WithLabelValues(r.Kind, route, strconv.Itoa(r.Errcode)).Inc()
	m.trafficDuration.WithLabelValues(r.Kind, route).Observe(r.TotalMS / 1000)
}

// Delivery counts one outcome of a durable delivery of kind.
func (m *Metrics) Delivery(kind, outcome string) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(kind, outcome).Inc()
}

// Handler wraps the zone's HTTP handler, counting requests by face.
func (m *Metrics) Handler(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		face := Face(r.URL.Path)
		m.http.WithLabelValues(face, strconv.Itoa(sw.status)).Inc()
		m.httpDuration.WithLabelValues(face).Observe(time.Since(start).Seconds())
	})
}

// Face names the face a path belongs to: a bounded label, never the path.
func Face(path string) string {
	for _, f := range []struct{ prefix, face string }{
		{"/cgi-bin/", "app"}, {"/spec/", "spec"}, {"/admin/", "admin"}, {"/console", "console"},
		{"/display/", "display"}, {"/metrics", "metrics"}, {"/healthz", "health"},
	} {
		if len(path) >= len(f.prefix) && path[:len(f.prefix)] == f.prefix {
			return f.face
		}
	}
	return "other"
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (the debug
// listener hijacks it for its WebSocket).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Gauges are read when Prometheus scrapes; each func may be nil.
type Gauges struct {
	// Queues returns job counts by queue and state (available, scheduled,
	// retryable, running).
	Queues func(ctx context.Context) (map[[2]string]int64, error)
	// Instances returns program instances by program and state.
	Instances func() map[[2]string]int
	// TrafficQueue returns the records queued for writing and the number
	// dropped so far.
	TrafficQueue func() (queued int, dropped int64)
}

// Watch registers the scrape-time gauges.
func (m *Metrics) Watch(g Gauges) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&gauges{g: g,
		queue: prometheus.NewDesc("openzone_jobs", "Durable jobs (deliveries, async tasks) by queue and state: the queue depth.", []string{"queue", "state"}, nil),
		insts: prometheus.NewDesc("openzone_instances", "Program instances this node runs, by program and state (healthy instances are up).", []string{"program", "state"}, nil),
		tq:    prometheus.NewDesc("openzone_traffic_queue_records", "Traffic records waiting to be written.", nil, nil),
		td:    prometheus.NewDesc("openzone_traffic_dropped_total", "Traffic records dropped because the write queue was full.", nil, nil),
	})
}

type gauges struct {
	g                    Gauges
	queue, insts, tq, td *prometheus.Desc
}

func (c *gauges) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.queue
	ch <- c.insts
	ch <- c.tq
	ch <- c.td
}

func (c *gauges) Collect(ch chan<- prometheus.Metric) {
	if c.g.Queues != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		counts, err := c.g.Queues(ctx)
		cancel()
		if err != nil {
			ch <- prometheus.NewInvalidMetric(c.queue, err)
		}
		for k, n := range counts {
			ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(n), k[0], k[1])
		}
	}
	if c.g.Instances != nil {
		for k, n := range c.g.Instances() {
			ch <- prometheus.MustNewConstMetric(c.insts, prometheus.GaugeValue, float64(n), k[0], k[1])
		}
	}
	if c.g.TrafficQueue != nil {
		q, d := c.g.TrafficQueue()
		ch <- prometheus.MustNewConstMetric(c.tq, prometheus.GaugeValue, float64(q))
		ch <- prometheus.MustNewConstMetric(c.td, prometheus.CounterValue, float64(d))
	}
}

// Exposition serves the metrics in Prometheus's text format.
func (m *Metrics) Exposition() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
