package apps

import (
	"context"
	"sync"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

// The call path reads the same few rows on every call: the token, the app,
// the program and the app ↔ program link. They are cached here for a short
// time. Changes made through this zone (seed files) clear the cache at
// once; a change made by another node is seen within cacheTTL.
const (
	cacheTTL  = 2 * time.Second
	cacheSize = 10000
)

type entry[V any] struct {
	v   V
	exp time.Time
}

// ttlCache is a small map with expiry; when full it starts afresh, which
// is cheaper than tracking recency and fine for a cache of hot rows.
type ttlCache[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]entry[V]
}

func (c *ttlCache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || now.After(e.exp) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *ttlCache[K, V]) put(k K, v V, exp time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= cacheSize {
		c.m = make(map[K]entry[V])
	}
	c.m[k] = entry[V]{v, exp}
}

func (c *ttlCache[K, V]) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

type appKey struct {
	corpID  string
	agentID int64
}

type linkKey struct {
	appKey
	programID string
}

// lookups caches the rows of the call path.
type lookups struct {
	tokens   ttlCache[string, *openzone.AccessToken]
	apps     ttlCache[appKey, *openzone.App]
	programs ttlCache[string, *openzone.Program]
	links    ttlCache[linkKey, bool]
}

// Invalidate drops every cached row: apps, programs or their links
// changed (a seed file, the admin API).
func (s *Service) Invalidate() {
	s.cache.tokens.clear()
	s.cache.apps.clear()
	s.cache.programs.clear()
	s.cache.links.clear()
}

// tokenGet reads a token; a token never changes once minted, so it is kept
// until its own expiry (bounded by the wall-clock TTL as well).
func (s *Service) tokenGet(ctx context.Context, token string) (*openzone.AccessToken, error) {
	now := time.Now()
	if t, ok := s.cache.tokens.get(token, now); ok {
		return t, nil
	}
	t, err := s.cfg.Store.TokenGet(ctx, token)
	if err != nil {
		return nil, err
	}
	s.cache.tokens.put(token, t, now.Add(cacheTTL))
	return t, nil
}

func (s *Service) appGet(ctx context.Context, corpID string, agentID int64) (*openzone.App, error) {
	now, k := time.Now(), appKey{corpID, agentID}
	if app, ok := s.cache.apps.get(k, now); ok {
		return app, nil
	}
	app, err := s.cfg.Store.AppGet(ctx, corpID, agentID)
	if err != nil {
		return nil, err
	}
	s.cache.apps.put(k, app, now.Add(cacheTTL))
	return app, nil
}

func (s *Service) programGet(ctx context.Context, id string) (*openzone.Program, error) {
	now := time.Now()
	if p, ok := s.cache.programs.get(id, now); ok {
		return p, nil
	}
	p, err := s.cfg.Store.ProgramGet(ctx, id)
	if err != nil {
		return nil, err
	}
	s.cache.programs.put(id, p, now.Add(cacheTTL))
	return p, nil
}

func (s *Service) appProgramHas(ctx context.Context, corpID string, agentID int64, programID string) (bool, error) {
	now, k := time.Now(), linkKey{appKey{corpID, agentID}, programID}
	if has, ok := s.cache.links.get(k, now); ok {
		return has, nil
	}
	has, err := s.cfg.Store.AppProgramHas(ctx, store.AppProgramHasParams{CorpID: corpID, AgentID: agentID, ProgramID: programID})
	if err != nil {
		return false, err
	}
	s.cache.links.put(k, has, now.Add(cacheTTL))
	return has, nil
}
