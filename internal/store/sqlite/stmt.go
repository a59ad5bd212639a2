package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the statement cache; queries past it run
// unprepared. The store's queries are constants or a few filter
// combinations, far fewer than this.
const maxCachedStmts = 512

// stmtCache prepares each distinct query once per pool and reuses it.
// SQLite (modernc's included) parses and plans a statement's SQL on every
// unprepared call, which costs more than running a short query.
type stmtCache struct {
	db      *sql.DB
	mu      sync.RWMutex
	m       map[string]*sql.Stmt
	pending map[string]bool // being prepared in the background
	closed  bool
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: make(map[string]*sql.Stmt), pending: make(map[string]bool)}
}

// cached returns query's statement if it is prepared already.
func (c *stmtCache) cached(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[query]
}

// prepareLater prepares query in the background. A transaction holds the
// writer's only connection, so a statement first seen inside one is
// prepared once that transaction has ended.
func (c *stmtCache) prepareLater(query string) {
	c.mu.Lock()
	if c.closed || c.pending[query] || c.m[query] != nil || len(c.m) >= maxCachedStmts {
		c.mu.Unlock()
		return
	}
	c.pending[query] = true
	c.mu.Unlock()
	go func() {
		s, err := c.db.PrepareContext(context.Background(), query)
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.pending, query)
		if err != nil {
			return
		}
		if c.closed || c.m[query] != nil {
			s.Close()
			return
		}
		c.m[query] = s
	}()
}

// stmt returns the prepared statement of query, or nil when the cache is
// full (the caller then runs the query unprepared). The lock is never held
// while preparing: preparing on the writer waits for its one connection,
// which a transaction may hold while it looks up its own statements.
func (c *stmtCache) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	c.mu.RLock()
	s, full := c.m[query], c.closed || len(c.m) >= maxCachedStmts
	c.mu.RUnlock()
	if s != nil || full {
		return s, nil
	}
	s, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.m[query]; prev != nil || c.closed {
		s.Close()
		return prev, nil
	}
	c.m[query] = s
	return s, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	for q, s := range c.m {
		s.Close()
		delete(c.m, q)
	}
}

// poolQuerier runs queries on a pool through its cached statements.
type poolQuerier struct{ c *stmtCache }

func (p poolQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := p.c.stmt(ctx, query)
	if err != nil || s == nil {
		return p.c.db.ExecContext(ctx, query, args...)
	}
	return s.ExecContext(ctx, args...)
}

func (p poolQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := p.c.stmt(ctx, query)
	if err != nil || s == nil {
		return p.c.db.QueryContext(ctx, query, args...)
	}
	return s.QueryContext(ctx, args...)
}

func (p poolQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := p.c.stmt(ctx, query)
	if err != nil || s == nil {
		return p.c.db.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// txQuerier runs queries in a transaction through the writer's cached
// statements: the writer has one connection, on which each statement is
// prepared once and reused by every transaction.
type txQuerier struct {
	tx *sql.Tx
	c  *stmtCache
}

func (t txQuerier) stmt(ctx context.Context, query string) *sql.Stmt {
	s := t.c.cached(query)
	if s == nil {
		t.c.prepareLater(query)
		return nil
	}
	return t.tx.StmtContext(ctx, s)
}

func (t txQuerier) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, query, args...)
}

func (t txQuerier) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, query, args...)
}

func (t txQuerier) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, query, args...)
}
