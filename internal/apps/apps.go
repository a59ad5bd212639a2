// Package apps is what an app may do in the zone, whichever face asks: get
// an access_token, be authenticated by it, and call a program as itself,
// synchronously or as an async task, with every check WeCom makes in
// WeCom's order (docs/decisions.md). The app API serves these to apps; the
// admin API's replay and the SDK half of debug mode use them too.
package apps

import (
	"context"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/events"
	"github.com/openzone/openzone/internal/gateway"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/tasks"
	"github.com/openzone/openzone/internal/traffic"
)

// Config configures a Service.
type Config struct {
	Store store.Store
	// Gateway delivers sync calls.
	Gateway Gateway
	// Tasks starts async calls.
	Tasks Tasks
	// Notifies checks the notify_id a sync call carries.
	Notifies Notifies
	Recorder *traffic.Recorder
	Now      func() time.Time
}

// Gateway delivers a call to a program (gateway.Gateway).
type Gateway interface {
	Do(ctx context.Context, c *gateway.Call) (*gateway.Result, error)
}

// Tasks starts an app's async task (tasks.Service).
type Tasks interface {
	CreateAppTask(ctx context.Context, t tasks.AppTask) (string, error)
}

// Notifies checks a notify_id (events.Service).
type Notifies interface {
	CheckNotify(ctx context.Context, c events.NotifyCheck) (*openzone.Notify, error)
}

// Service serves apps.
type Service struct {
	cfg   Config
	cache lookups
}

// New returns a Service.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}
