package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

// querier is what *pgxpool.Pool and pgx.Tx have in common.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// beginner starts transactions: the pool.
type beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// executor implements store.Executor on the pool or on one transaction. w
// and r are the same querier; the two names keep the code parallel to the
// SQLite driver, whose reads and writes use different pools.
type executor struct {
	w  querier
	r  querier
	db beginner // begins transactions; nil inside one
	tx pgx.Tx   // the transaction this executor is bound to; nil outside one
}

var _ store.Executor = (*executor)(nil)

// PgxTx returns the transaction the executor is bound to, or nil outside
// one. River's riverpgxv5 driver inserts jobs through it, so a job commits
// or rolls back with the store's own writes (the PostgreSQL twin of the
// SQLite driver's SQLTx). The caller must not commit or roll it back.
func (e *executor) PgxTx() pgx.Tx { return e.tx }

// Transactions are SERIALIZABLE. The SQLite driver serializes every
// transaction on its single writer connection, and callers rely on that:
// read-modify-write steps such as "issue a debug credential unless a valid
// one exists" must not interleave across nodes. Serializable isolation
// gives the same guarantee; a transaction PostgreSQL aborts to keep it
// (serialization failure, deadlock) is run again from the start, so fn
// must not have effects outside the transaction, which holds for every
// caller (they only use the Executor and River's InsertTx).
const (
	txAttempts = 10
	txBackoff  = 2 * time.Millisecond
)

// inTx runs fn in a transaction, or directly when e already is one, so
// multi-statement writes are atomic either way.
func (e *executor) inTx(ctx context.Context, fn func(*executor) error) error {
	return e.inTxIso(ctx, pgx.Serializable, fn)
}

// inTxIso is inTx at a chosen isolation level. Read committed suits a
// step that locks the row it depends on first (SELECT … FOR UPDATE): each
// later statement then sees what the previous lock holder committed, where
// a serializable snapshot, taken before the wait, would not.
func (e *executor) inTxIso(ctx context.Context, iso pgx.TxIsoLevel, fn func(*executor) error) error {
	if e.db == nil {
		return fn(e)
	}
	for attempt := 1; ; attempt++ {
		err := e.tryTx(ctx, iso, fn)
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

func (e *executor) tryTx(ctx context.Context, iso pgx.TxIsoLevel, fn func(*executor) error) (err error) {
	tx, err := e.db.BeginTx(ctx, pgx.TxOptions{IsoLevel: iso})
	if err != nil {
		return internalErr("begin", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback(context.WithoutCancel(ctx))
			panic(p)
		}
	}()
	if err := fn(&executor{w: tx, r: tx, tx: tx}); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return internalErr("commit", err)
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

func isUnique(err error) bool     { return pgCode(err) == "23505" }
func isForeignKey(err error) bool { return pgCode(err) == "23503" }

// lockApp locks an app's row until the transaction ends and reports
// whether the app exists. Writers that check a count or replace a set of
// the app's rows take it first, so they queue instead of interleaving.
func (e *executor) lockApp(ctx context.Context, corpID string, agentID int64) (bool, error) {
	var n int
	err := e.w.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM app WHERE corp_id = $1 AND agent_id = $2 FOR UPDATE) a`,
		corpID, agentID).Scan(&n)
	return n > 0, err
}

// internalErr wraps a driver error; it surfaces as ErrSystem, text unshown.
// Data exceptions (SQLSTATE class 22: a NUL byte in a text, a number out of
// range) are the caller's input, so they are ErrInvalidParam instead.
func internalErr(op string, err error) error {
	if c := pgCode(err); strings.HasPrefix(c, "22") {
		return openzone.Wrap(openzone.ErrInvalidParam, err, "%s: a value cannot be stored (text with a NUL byte, or a number out of range)", op)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// ref is a row a foreign key points at, named in the not-found message.
type ref struct {
	cols string // the referencing columns, as in PostgreSQL's constraint name: "corp_id_agent_id"
	what string // "corp \"x\""
}

// missingRef turns a foreign-key failure into ErrNotFound naming the absent
// parent. PostgreSQL names the failed constraint (<table>_<columns>_fkey),
// so nothing is probed: inside a transaction no further statement could
// run anyway, the failure has aborted it.
func missingRef(op string, cause error, refs ...ref) error {
	var pe *pgconn.PgError
	if errors.As(cause, &pe) {
		for _, rf := range refs {
			if strings.HasSuffix(pe.ConstraintName, "_"+rf.cols+"_fkey") {
				return openzone.Wrap(openzone.ErrNotFound, cause, "%s not found", rf.what)
			}
		}
	}
	if len(refs) == 1 {
		return openzone.Wrap(openzone.ErrNotFound, cause, "%s not found", refs[0].what)
	}
	return openzone.Wrap(openzone.ErrNotFound, cause, "%s: a referenced row was not found", op)
}

func corpRef(corpID string) ref { return ref{"corp_id", fmt.Sprintf("corp %q", corpID)} }

func providerRef(id string) ref { return ref{"provider_id", fmt.Sprintf("provider %q", id)} }

func programRef(id string) ref { return ref{"program_id", fmt.Sprintf("program %q", id)} }

func appRef(corpID string, agentID int64) ref {
	return ref{"corp_id_agent_id", fmt.Sprintf("app %d of corp %q", agentID, corpID)}
}

// Column helpers, as in the SQLite driver (the schema is the same):
// optional references are NULL, never empty; booleans are 0/1; times are
// unix milliseconds, read back in UTC.

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

func nullMillis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromNullMillis(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMillis(n.Int64)
}

// nullBytes stores an empty byte string as NULL; read back it is nil.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// List limits, the same as the SQLite driver's.
const (
	listLimitDefault = 100
	listLimitMax     = 1000
	archiveLimitMax  = 10_001
)

func clampLimit(n int) int {
	if n <= 0 {
		return listLimitDefault
	}
	return min(n, listLimitMax)
}

func clampArchiveLimit(n int) int {
	if n <= 0 {
		return listLimitDefault
	}
	return min(n, archiveLimitMax)
}

// scanner is a pgx.Row or pgx.Rows.
type scanner interface{ Scan(dest ...any) error }

// ifNoRows returns errFn() when tag touched no row.
func ifNoRows(tag pgconn.CommandTag, errFn func() error) error {
	if tag.RowsAffected() == 0 {
		return errFn()
	}
	return nil
}

// list runs a query and scans every row with scan.
func list[T any](ctx context.Context, q querier, op string, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, internalErr(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, internalErr(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, internalErr(op, err)
	}
	return out, nil
}

// args numbers placeholders for queries built piece by piece.
type args []any

// add appends v and returns its placeholder.
func (a *args) add(v any) string {
	*a = append(*a, v)
	return fmt.Sprintf("$%d", len(*a))
}
