package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sync"

	msqlite "modernc.org/sqlite"
)

// driverName is modernc's SQLite driver with a per-connection statement
// cache. SQLite parses and plans a statement's SQL every time it is
// prepared, which costs more than running a short query; database/sql
// prepares every unprepared query (ours and River's), so the cache turns
// each distinct query into one parse per connection. The driver's own
// options (_pragma, _txlock, mode) are unchanged.
const driverName = "sqlite-openzone"

// maxCachedStmts bounds each connection's cache; a query past it is
// prepared and finalized as usual.
const maxCachedStmts = 256

func init() { sql.Register(driverName, cachingDriver{&msqlite.Driver{}}) }

type cachingDriver struct{ d *msqlite.Driver }

func (d cachingDriver) Open(name string) (driver.Conn, error) {
	c, err := d.d.Open(name)
	if err != nil {
		return nil, err
	}
	return &cachingConn{c: c, stmts: make(map[string]*cachingStmt)}, nil
}

// cachingConn hides the driver's one-shot Exec/Query paths (so
// database/sql prepares every query) and keeps prepared statements.
type cachingConn struct {
	c     driver.Conn
	mu    sync.Mutex
	stmts map[string]*cachingStmt
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A statement still in use (its rows open while the same query runs
	// again) is not shared: the second use gets its own.
	if s := c.stmts[query]; s != nil && !s.inUse {
		s.inUse = true
		return s, nil
	}
	ds, err := c.c.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &cachingStmt{Stmt: ds, conn: c, inUse: true}
	if _, taken := c.stmts[query]; !taken && len(c.stmts) < maxCachedStmts {
		s.cached = true
		c.stmts[query] = s
	}
	return s, nil
}

func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.c.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) Close() error {
	c.mu.Lock()
	for q, s := range c.stmts {
		s.Stmt.Close()
		delete(c.stmts, q)
	}
	c.mu.Unlock()
	return c.c.Close()
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.c.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.c.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.c.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// cachingStmt is a prepared statement; Close returns a cached one to its
// connection instead of finalizing it (the driver resets it after use).
type cachingStmt struct {
	driver.Stmt
	conn   *cachingConn
	cached bool
	inUse  bool // guarded by conn.mu
}

func (s *cachingStmt) Close() error {
	if !s.cached {
		return s.Stmt.Close()
	}
	s.conn.mu.Lock()
	s.inUse = false
	s.conn.mu.Unlock()
	return nil
}

func (s *cachingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *cachingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}
