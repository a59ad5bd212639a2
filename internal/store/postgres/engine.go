package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/sqlstore"
)

// engine is PostgreSQL's sqlstore.Engine over pgx.
type engine struct {
	pool *pgxpool.Pool
}

var _ sqlstore.Engine = engine{}

// Transactions are SERIALIZABLE. The SQLite driver serializes every
// transaction on its single writer connection, and callers rely on that:
// read-modify-write steps such as "issue a debug credential unless a valid
// one exists" must not interleave across nodes. Serializable isolation
// gives the same guarantee; a transaction PostgreSQL aborts to keep it
// (serialization failure, deadlock) is run again from the start, so fn
// must not have effects outside the transaction, which holds for every
// caller (they only use the Executor and River's InsertTx).
//
// A locking transaction runs at READ COMMITTED instead: it locks the row it
// depends on first (SELECT … FOR UPDATE), and each later statement then
// sees what the previous lock holder committed, where a serializable
// snapshot, taken before the wait, would not.
const (
	txAttempts = 10
	txBackoff  = 2 * time.Millisecond
)

func (g engine) Tx(ctx context.Context, locking bool, fn func(sqlstore.Conn) error) error {
	iso := pgx.Serializable
	if locking {
		iso = pgx.ReadCommitted
	}
	for attempt := 1; ; attempt++ {
		err := g.try(ctx, iso, fn)
		if err == nil || !retryable(err) || attempt == txAttempts || ctx.Err() != nil {
			return err
		}
		// Jittered, growing pause so the contenders do not collide again.
		d := txBackoff * time.Duration(attempt)
		select {
		case <-time.After(d + rand.N(d)):
		case <-ctx.Done():
			return err
		}
	}
}

func (g engine) try(ctx context.Context, iso pgx.TxIsoLevel, fn func(sqlstore.Conn) error) (err error) {
	tx, err := g.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: iso})
	if err != nil {
		return g.Internal("begin", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
	}()
	if err := fn(txConn{conn{tx}, tx}); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return g.Internal("commit", err)
	}
	return nil
}

// pgCode returns the SQLSTATE in err's chain, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// retryable reports a transaction PostgreSQL aborted only because of a
// concurrent one: serialization_failure or deadlock_detected.
func retryable(err error) bool {
	c := pgCode(err)
	return c == "40001" || c == "40P01"
}

func (engine) IsUnique(err error) bool     { return pgCode(err) == "23505" }
func (engine) IsForeignKey(err error) bool { return pgCode(err) == "23503" }

// MissingRef reads the failed constraint's name (<table>_<columns>_fkey):
// nothing is probed, since inside a transaction no further statement could
// run, the failure has aborted it. A lone ref is the one.
func (engine) MissingRef(_ context.Context, _ sqlstore.Conn, cause error, refs []sqlstore.Ref) (*sqlstore.Ref, error) {
	var pe *pgconn.PgError
	if errors.As(cause, &pe) {
		for i, rf := range refs {
			if strings.HasSuffix(pe.ConstraintName, "_"+rf.FK+"_fkey") {
				return &refs[i], nil
			}
		}
	}
	if len(refs) == 1 {
		return &refs[0], nil
	}
	return nil, nil
}

// Internal wraps a driver error; it surfaces as ErrSystem, text unshown.
// Data exceptions (SQLSTATE class 22: a NUL byte in a text, a number out of
// range) are the caller's input, so they are ErrInvalidParam instead.
func (engine) Internal(op string, err error) error {
	if c := pgCode(err); strings.HasPrefix(c, "22") {
		return openzone.Wrap(openzone.ErrInvalidParam, err, "%s: a value cannot be stored (text with a NUL byte, or a number out of range)", op)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

func (engine) ForUpdate() string      { return " FOR UPDATE" }
func (engine) ForNoKeyUpdate() string { return " FOR NO KEY UPDATE" }
func (engine) ForKeyShare() string    { return " FOR KEY SHARE" }

// InsertOrder is the ins identity column, PostgreSQL's stand-in for
// SQLite's rowid (migration 0006).
func (engine) InsertOrder() string { return "ins" }

// querier is what *pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// conn is a pool or transaction as a sqlstore.Conn: it numbers the body's
// ? placeholders as $1, $2, ….
type conn struct{ q querier }

func (c conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, rebind(query), args...)
	return tag.RowsAffected(), err
}

func (c conn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return c.q.Query(ctx, rebind(query), args...)
}

func (c conn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return c.q.QueryRow(ctx, rebind(query), args...)
}

// txConn is a transaction as a sqlstore.Conn, raw transaction at hand.
type txConn struct {
	conn
	tx pgx.Tx
}

// rebound caches rebind's work: the body's queries are a fixed set of
// texts (lists add a few shapes), so each is numbered once per process.
var rebound sync.Map // query → numbered query

// maxRebound bounds the cache, in case a caller ever builds unbounded
// shapes; past it queries are numbered on each use.
const maxRebound = 4096

var reboundN atomic.Int64

// rebind turns each ? outside quotes into $n.
func rebind(query string) string {
	if q, ok := rebound.Load(query); ok {
		return q.(string)
	}
	if strings.IndexByte(query, '?') < 0 {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	q := b.String()
	if reboundN.Add(1) <= maxRebound {
		rebound.Store(query, q)
	}
	return q
}

// txExecutor is the store.Executor InTx hands its fn: the shared body on
// the transaction, which it also exposes to River (PgxTx).
type txExecutor struct {
	*sqlstore.Executor
	tx pgx.Tx
}

var _ store.Executor = txExecutor{}

// PgxTx returns the transaction the executor is bound to. River's
// riverpgxv5 driver inserts jobs through it, so a job commits or rolls back
// with the store's own writes (the PostgreSQL twin of the SQLite driver's
// SQLTx). The caller must not commit or roll it back.
func (x txExecutor) PgxTx() pgx.Tx { return x.tx }
