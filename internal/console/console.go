// Package console serves the web console at /console/: the provider's pages
// (programs, models, abilities, the debug page, notifications), the corp
// admin's pages (apps and their programs, test corps and installs, the
// archive browser, keyword rules) and the traffic inspector.
//
// Pages are rendered on the server with html/template; htmx 2.0.11 (embedded,
// no CDN) swaps fragments. The console holds no data of its own: every page
// is built from admin API replies, called in-process with the signed-in
// admin token, so it can do nothing the admin API does not allow. Secrets
// are never rendered: the one exception is the debug credential, shown once
// in the notification panel right after it is issued, as WeCom pushes it.
package console

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openzone/openzone/internal/adminapi"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// SessionTTL is how long a console sign-in lasts.
const SessionTTL = 12 * time.Hour

const cookieName = "openzone_console"

// Config wires the console.
type Config struct {
	// Admin is the admin API handler (/admin/v1/…). Required.
	Admin  http.Handler
	Logger *slog.Logger
	// Now defaults to time.Now (session expiry only).
	Now func() time.Time
	// Proxies says where a request came from and whether over HTTPS,
	// believing only the reverse proxies the operator trusts
	// (guard.Proxies): the session cookie is Secure when the zone serves
	// TLS itself or a trusted proxy says the client used HTTPS. Default:
	// the peer, and TLS only when the zone terminates it.
	Proxies Proxies
	// Failures limits failed sign-ins per source (guard.Failures); nil:
	// no limit.
	Failures Failures
}

// Proxies tells a request's source and scheme (guard.Proxies).
type Proxies interface {
	ClientIP(r *http.Request) netip.Addr
	HTTPS(r *http.Request) bool
}

// Failures limits failed attempts per source (guard.Failures).
type Failures interface {
	Blocked(ip netip.Addr) (bool, time.Duration)
	Fail(ip netip.Addr)
}

type direct struct{}

func (direct) ClientIP(r *http.Request) netip.Addr {
	ap, _ := netip.ParseAddrPort(r.RemoteAddr)
	return ap.Addr()
}
func (direct) HTTPS(r *http.Request) bool { return r.TLS != nil }

type unlimited struct{}

func (unlimited) Blocked(netip.Addr) (bool, time.Duration) { return false, 0 }
func (unlimited) Fail(netip.Addr)                          {}

// Limits of what the console reads before a session exists, and of a
// signed-in form: far above any form it serves (the largest is a program
// with its protocols, under the admin API's 1 MiB).
const (
	maxLoginBytes = 16 << 10
	maxFormBytes  = 4 << 20
)

// Console is the web console.
type Console struct {
	cfg   Config
	pages map[string]*template.Template

	mu       sync.Mutex
	sessions map[string]*session
}

type session struct {
	token   string // the admin token, kept server-side only
	csrf    string
	expires time.Time
}

// New parses the templates and returns the console.
func New(cfg Config) (*Console, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Proxies == nil {
		cfg.Proxies = direct{}
	}
	if cfg.Failures == nil {
		cfg.Failures = unlimited{}
	}
	c := &Console{cfg: cfg, pages: map[string]*template.Template{}, sessions: map[string]*session{}}
	base, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", n, err)
		}
		c.pages[name] = t
	}
	return c, nil
}

// Register adds the /console/ routes to mux.
func (c *Console) Register(mux *http.ServeMux) {
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/console/static/", http.FileServer(http.FS(static)))
	mux.Handle("GET /console/static/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		files.ServeHTTP(w, r)
	}))
	mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusFound)
	})
	mux.Handle("GET /console/login", secure(http.HandlerFunc(c.handleLoginPage)))
	mux.Handle("POST /console/login", secure(http.HandlerFunc(c.handleLogin)))
	for pattern, h := range c.routes() {
		mux.Handle(pattern, secure(c.authed(h)))
	}
}

// secure sets the headers every console page carries, the sign-in page's
// too: no framing (clickjacking), scripts and styles from the zone only.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// handler serves a signed-in request.
type handler func(w http.ResponseWriter, r *http.Request, s *req) error

// req is one signed-in request: the admin API client and page helpers.
type req struct {
	c    *Console
	r    *http.Request
	sess *session
}

func (c *Console) authed(h handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := c.session(r)
		if sess == nil {
			if r.Header.Get("HX-Request") != "" {
				w.Header().Set("HX-Redirect", "/console/login")
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method != http.MethodGet {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			got := r.Header.Get("X-CSRF-Token")
			if got == "" {
				got = r.PostFormValue("csrf")
			}
			if subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) != 1 {
				http.Error(w, "stale or missing CSRF token: reload the page", http.StatusForbidden)
				return
			}
		}
		if err := h(w, r, &req{c: c, r: r, sess: sess}); err != nil {
			// The admin API refused (a bad or unknown id, a conflict): its
			// status and errmsg, on a page. Only the zone's own failure is
			// a 500, and its text stays in the log.
			if ae := errOf(err); ae != nil && ae.Status >= 400 && ae.Status < 500 {
				c.renderStatus(w, ae.Status, "notfound", &page{Title: http.StatusText(ae.Status), CSRF: sess.csrf, Error: ae.Message})
				return
			}
			c.cfg.Logger.Error("console: page failed", "path", r.URL.Path, "err", err)
			http.Error(w, "console error: see the zone's log", http.StatusInternalServerError)
		}
	})
}

func (c *Console) session(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sessions[ck.Value]
	if s == nil || !c.cfg.Now().Before(s.expires) {
		delete(c.sessions, ck.Value)
		return nil
	}
	return s
}

func randomID() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (c *Console) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, "login", &page{Title: "Sign in 登录", Data: map[string]string{"Next": safeNext(r.URL.Query().Get("next"))}})
}

// handleLogin checks the admin token against the admin API and starts a
// session; the token stays on the server, the browser gets a random id.
//
// Before anyone is signed in the form is all it reads: a URL-encoded body
// of at most 16 KiB (413 past it; a multipart body, which the standard
// library would spool to memory and disk, is 415), and a source that
// failed too often waits (429).
func (c *Console) handleLogin(w http.ResponseWriter, r *http.Request) {
	loginPage := func(status int, msg, next string) {
		c.renderStatus(w, status, "login", &page{Title: "Sign in 登录", Error: msg, Data: map[string]string{"Next": next}})
	}
	ip := c.cfg.Proxies.ClientIP(r)
	if blocked, wait := c.cfg.Failures.Blocked(ip); blocked {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		loginPage(http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-ins from your address: try again in %s.", wait.Round(time.Second)+time.Second), "/console/")
		return
	}
	if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); strings.TrimSpace(strings.ToLower(ct)) != "application/x-www-form-urlencoded" {
		loginPage(http.StatusUnsupportedMediaType, "The sign-in form is sent URL-encoded (application/x-www-form-urlencoded).", "/console/")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBytes)
	if err := r.ParseForm(); err != nil {
		loginPage(http.StatusRequestEntityTooLarge, fmt.Sprintf("The sign-in form is over %d KiB or unreadable.", maxLoginBytes>>10), "/console/")
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	next := safeNext(r.PostForm.Get("next"))
	probe := &req{c: c, r: r, sess: &session{token: token}}
	if token == "" || probe.get("/admin/v1/status", nil) != nil {
		c.cfg.Failures.Fail(ip)
		loginPage(http.StatusUnauthorized, "That admin token is not this zone's. It is printed when `openzone serve` starts and kept in the data directory (admin-token).", next)
		return
	}
	id := randomID()
	c.mu.Lock()
	now := c.cfg.Now()
	for k, s := range c.sessions { // drop expired sessions as new ones come
		if !now.Before(s.expires) {
			delete(c.sessions, k)
		}
	}
	c.sessions[id] = &session{token: token, csrf: randomID(), expires: now.Add(SessionTTL)}
	c.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/console/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.cfg.Proxies.HTTPS(r), MaxAge: int(SessionTTL.Seconds())})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (c *Console) handleLogout(w http.ResponseWriter, r *http.Request, s *req) error {
	if ck, err := r.Cookie(cookieName); err == nil {
		c.mu.Lock()
		delete(c.sessions, ck.Value)
		c.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/console/", MaxAge: -1})
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
	return nil
}

// safeNext keeps a post-login redirect inside the console.
func safeNext(n string) string {
	if !strings.HasPrefix(n, "/console/") || strings.HasPrefix(n, "//") || strings.Contains(n, "\\") {
		return "/console/"
	}
	return n
}

// apiError is an admin API error reply.
type apiError struct {
	Status  int
	Code    int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("errcode %d: %s", e.Code, e.Message) }

// errOf returns err as an admin API error, or nil when it is another kind.
func errOf(err error) *apiError {
	ae, _ := err.(*apiError)
	return ae
}

// recorder is the minimal http.ResponseWriter the in-process call needs.
type recorder struct {
	h      http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.h }
func (w *recorder) WriteHeader(s int) {
	if w.status == 0 {
		w.status = s
	}
}
func (w *recorder) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(b)
}

// call sends one admin API request in-process with the session's token and
// decodes the JSON reply into out. Admin errors come back as *apiError.
func (s *req) call(method, path string, body, out any) error {
	var rd io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	ctx := adminapi.AsConsole(s.r.Context(), s.c.cfg.Proxies.ClientIP(s.r).String())
	ar, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return err
	}
	ar.Header.Set("Authorization", "Bearer "+s.sess.token)
	ar.Header.Set("Content-Type", "application/json")
	w := &recorder{h: http.Header{}}
	s.c.cfg.Admin.ServeHTTP(w, ar)
	if w.status != http.StatusOK {
		var e struct {
			Errcode int    `json:"errcode"`
			Errmsg  string `json:"errmsg"`
		}
		json.Unmarshal(w.body.Bytes(), &e)
		return &apiError{Status: w.status, Code: e.Errcode, Message: e.Errmsg}
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*json.RawMessage); ok {
		*raw = append((*raw)[:0], w.body.Bytes()...)
		return nil
	}
	return json.Unmarshal(w.body.Bytes(), out)
}

func (s *req) get(path string, out any) error { return s.call(http.MethodGet, path, nil, out) }

// page is what every template gets.
type page struct {
	Title string
	Nav   string // which sidebar entry is current
	CSRF  string
	Error string // shown at the top, e.g. an admin API errmsg
	Data  any
}

func (c *Console) render(w http.ResponseWriter, name string, p *page) {
	c.renderStatus(w, http.StatusOK, name, p)
}

// renderStatus renders a full page with an HTTP status.
func (c *Console) renderStatus(w http.ResponseWriter, status int, name string, p *page) {
	c.renderTemplateStatus(w, status, name, "layout", p)
}

// renderTemplate executes one template of a page set: "layout" for a full
// page, a fragment's name for an htmx swap.
func (c *Console) renderTemplate(w http.ResponseWriter, set, name string, data any) {
	c.renderTemplateStatus(w, http.StatusOK, set, name, data)
}

func (c *Console) renderTemplateStatus(w http.ResponseWriter, status int, set, name string, data any) {
	t := c.pages[set]
	if t == nil {
		http.Error(w, "no console page "+set, http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		c.cfg.Logger.Error("console: render", "page", set, "template", name, "err", err)
		http.Error(w, "console: rendering failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// page renders a full page for the signed-in user.
func (s *req) page(w http.ResponseWriter, name, nav, title string, data any, errMsg string) error {
	s.c.render(w, name, &page{Title: title, Nav: nav, CSRF: s.sess.csrf, Data: data, Error: errMsg})
	return nil
}

// fragment renders one named template of a page set (an htmx swap).
func (s *req) fragment(w http.ResponseWriter, set, name string, data any) error {
	s.c.renderTemplate(w, set, name, &page{CSRF: s.sess.csrf, Data: data})
	return nil
}
