// Package cluster keeps a zone node on PostgreSQL in step with the other
// nodes sharing its database: it publishes the program instances this node
// runs and where the node is reached, finds the instances and nodes others
// published, and applies deployments another node changed.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/supervisor"
)

// Config configures a Node.
type Config struct {
	Store      store.Cluster
	Supervisor *supervisor.Supervisor
	// Name names this node; AdvertiseURL is where the others reach it.
	Name         string
	AdvertiseURL string
	// Interval is how often the node publishes and picks up deployments
	// changed elsewhere.
	Interval time.Duration
	Logger   *slog.Logger
}

// Node is this zone node among the others.
type Node struct{ cfg Config }

// New returns a Node.
func New(cfg Config) *Node { return &Node{cfg: cfg} }

// stale is how old a published instance or node may be and still be
// used: a few publish periods, so one late publish does not hide it.
func (n *Node) stale() time.Duration { return 5 * n.cfg.Interval }

// Instance finds an instance another node runs, by name (gateway.Remote).
func (n *Node) Instance(ctx context.Context, programID, name string) (supervisor.Instance, bool) {
	in, err := n.cfg.Store.InstanceFind(ctx, name, time.Now().Add(-n.stale()))
	if err != nil {
		if !openzone.IsNotFound(err) {
			n.cfg.Logger.Warn("find instance on another node", "instance", name, "err", err)
		}
		return supervisor.Instance{}, false
	}
	if in.ProgramID != programID {
		return supervisor.Instance{}, false
	}
	if host, _ := os.Hostname(); in.Host != host && loopback(in.URL) {
		n.cfg.Logger.Warn("an instance on another machine listens on loopback: set --instance-host on its node to an address this node can reach",
			"instance", name, "url", in.URL, "its_host", in.Host)
		return supervisor.Instance{}, false
	}
	return supervisor.Instance{ProgramID: in.ProgramID, Name: in.Name, URL: in.URL}, true
}

// NodeURL says where another node is reached (listener.NodeFinder).
func (n *Node) NodeURL(ctx context.Context, node string) (string, error) {
	return n.cfg.Store.NodeURL(ctx, node, time.Now().Add(-n.stale()))
}

// loopback reports whether rawURL's host is a loopback address or name.
func loopback(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	if u.Hostname() == "localhost" {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// Publish writes this node's healthy instances, and where the node is
// reached, to the address book. It uses the wall clock: staleness is
// judged between real processes.
func (n *Node) Publish(ctx context.Context) {
	host, _ := os.Hostname()
	var insts []store.Instance
	for _, in := range n.cfg.Supervisor.Healthy() {
		if in.External {
			continue // a URL program runs once, elsewhere: every node calls it there
		}
		insts = append(insts, store.Instance{Name: in.Name, Node: n.cfg.Name, Host: host, ProgramID: in.ProgramID, URL: in.URL})
	}
	if err := n.cfg.Store.InstancesPublish(ctx, store.InstancesPublishParams{Node: n.cfg.Name, Instances: insts, Now: time.Now()}); err != nil && ctx.Err() == nil {
		n.cfg.Logger.Warn("publish instances", "err", err)
	}
	if err := n.cfg.Store.NodePublish(ctx, store.NodePublishParams{Node: n.cfg.Name, URL: n.cfg.AdvertiseURL, Now: time.Now()}); err != nil && ctx.Err() == nil {
		n.cfg.Logger.Warn("publish node", "err", err)
	}
}

// Leave removes this node and its instances from the address book: other
// nodes stop routing to them at once.
func (n *Node) Leave(ctx context.Context, now time.Time) error {
	var errs []error
	if err := n.cfg.Store.InstancesPublish(ctx, store.InstancesPublishParams{Node: n.cfg.Name, Instances: nil, Now: now}); err != nil {
		errs = append(errs, fmt.Errorf("unpublish instances: %w", err))
	}
	if err := n.cfg.Store.NodePublish(ctx, store.NodePublishParams{Node: n.cfg.Name, URL: "", Now: now}); err != nil {
		errs = append(errs, fmt.Errorf("unpublish node: %w", err))
	}
	return errors.Join(errs...)
}

// Deployments applies the stored deployments (deploy.Service).
type Deployments interface {
	ReconcileEach(ctx context.Context)
}

// Run keeps the node in step until ctx ends: it publishes its instances
// (at once when they change, else every Interval, which keeps them fresh)
// and applies the deployments (and secret rotations) d stores that a seed
// applied through another node changed.
func (n *Node) Run(ctx context.Context, d Deployments) {
	t := time.NewTicker(n.cfg.Interval)
	defer t.Stop()
	for {
		changed := n.cfg.Supervisor.Changed()
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-t.C:
			d.ReconcileEach(ctx)
		}
		n.Publish(ctx)
	}
}
