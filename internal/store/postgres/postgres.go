// Package postgres is the store driver for several zone nodes sharing one
// PostgreSQL database, through pgx v5 (github.com/jackc/pgx/v5). Its schema
// is the SQLite driver's, spelled for PostgreSQL: times are unix
// milliseconds, booleans 0/1, byte strings BYTEA, store-assigned ids
// identity columns, and every text column has the "C" collation so lists
// sort byte-wise as on SQLite whatever the database's locale.
//
// The database URL is a libpq-style URL or keyword string. Besides the
// usual connection settings it takes pgxpool's pool settings
// (pool_max_conns, pool_min_conns, pool_max_conn_lifetime,
// pool_max_conn_idle_time, pool_health_check_period) and any run-time
// parameter, such as search_path to keep a zone in its own schema:
//
//	postgres://zone:pw@db:5432/openzone?sslmode=verify-full&pool_max_conns=32&search_path=zone1
//
// Without pool_max_conns the pool holds up to DefaultMaxConns connections.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/sqlstore"
)

// DefaultMaxConns is the pool size when the URL sets no pool_max_conns.
// River keeps one connection for LISTEN and a few for fetching and
// completing jobs; the rest serve requests, which hold a connection only
// for the length of one statement or transaction.
const DefaultMaxConns = 16

// DB is a PostgreSQL store. It implements store.Store.
type DB struct {
	*sqlstore.Executor
	eng    engine
	pool   *pgxpool.Pool
	schema string

	closeOnce sync.Once
}

var _ store.Store = (*DB)(nil)

// IsURL reports whether s names a PostgreSQL database (postgres:// or
// postgresql://).
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database at url and applies any pending migrations.
// Several processes may open the same database at once: migrations take a
// lock, so each is applied exactly once.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL, password included.
		return nil, errors.New("postgres: open: the database URL cannot be parsed")
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	eng := engine{pool: pool}
	db := &DB{Executor: sqlstore.New(eng, conn{pool}, conn{pool}), eng: eng, pool: pool}
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&db.schema); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if db.schema == "" {
		pool.Close()
		return nil, errors.New("postgres: open: no schema: the search_path names no schema that exists")
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Pool returns the connection pool, for River's riverpgxv5 driver.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }

// Schema returns the schema the zone's tables live in (the first of the
// search_path), where River's tables go too.
func (db *DB) Schema() string { return db.schema }

// PgxTx returns nil: the DB is not a transaction (see txExecutor.PgxTx).
func (db *DB) PgxTx() pgx.Tx { return nil }

// InTx runs fn in one SERIALIZABLE transaction and commits when fn returns
// nil; a transaction aborted by a concurrent one is retried from the start.
// fn must use the Executor it is given.
func (db *DB) InTx(ctx context.Context, fn func(store.Executor) error) error {
	return db.eng.Tx(ctx, false, func(c sqlstore.Conn) error {
		tx := c.(txConn)
		return fn(txExecutor{db.Bind(tx), tx.tx})
	})
}

// Close closes the pool; later calls do nothing.
func (db *DB) Close() error {
	db.closeOnce.Do(db.pool.Close)
	return nil
}
