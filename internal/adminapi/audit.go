package adminapi

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

// Actors of the audit log.
const (
	ActorConsole  = "console"
	ActorAdminAPI = "admin-api"
)

type actorKey struct{}

type actor struct{ name, source string }

// AsConsole marks the admin requests made with ctx as the console's, from
// the browser at source, for the audit log. Only code in the zone's process
// can set it: a request from outside cannot claim to be the console.
func AsConsole(ctx context.Context, source string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor{ActorConsole, source})
}

// audit records an authenticated admin request that changes something
// (any method but GET and HEAD) with its outcome. It names the route and
// the path, never a body: a secret set or shown stays out of the log. A
// failure to record is logged and does not fail the request.
func (a *API) audit(r *http.Request, err error) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return
	}
	who, _ := r.Context().Value(actorKey{}).(actor)
	if who.name == "" {
		who = actor{ActorAdminAPI, a.source(r)}
	}
	e := &openzone.AuditEntry{At: a.cfg.Now(), Actor: who.name, Source: who.source,
		Action: r.Pattern, Target: r.URL.Path}
	if err != nil {
		e.Errcode = openzone.ErrorCode(err)
	}
	if aerr := a.cfg.Store.AuditAppend(context.WithoutCancel(r.Context()), e); aerr != nil {
		a.cfg.Logger.Error("admin api: audit log", "action", e.Action, "err", aerr)
	}
}

// source is the address an admin request came from.
func (a *API) source(r *http.Request) string {
	if a.cfg.Proxies != nil {
		if ip := a.cfg.Proxies.ClientIP(r); ip.IsValid() {
			return ip.String()
		}
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap().String()
	}
	return ""
}

// handleAuditList: GET /admin/v1/audit?limit=&before_id= — admin actions,
// newest first.
func (a *API) handleAuditList(r *http.Request) (any, error) {
	p := store.AuditListParams{Limit: 100}
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "limit must be an integer from 1 to 1000")
		}
		p.Limit = n
	}
	if s := q.Get("before_id"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "before_id must be a positive integer")
		}
		p.BeforeID = n
	}
	es, err := a.cfg.Store.AuditList(r.Context(), p)
	if err != nil {
		return nil, err
	}
	return map[string]any{"entries": es}, nil
}
