// Package sqlstore is the SQL body both store drivers share: every query of
// store.Executor, written once. The text uses ? placeholders and the subset
// of SQL that SQLite and PostgreSQL agree on (upserts with ON CONFLICT,
// RETURNING, CASE, coalesce). What truly differs is the Engine a driver
// supplies: how it connects and runs transactions (SQLite's single writer
// and read pool, pgx with its retries), how its errors are classified, and
// the two fragments whose spelling differs. Migrations and bulk copy stay in
// the drivers.
//
// The schema is the same on both: times are unix milliseconds, booleans
// 0/1, optional references NULL (never empty, for the foreign keys), byte
// strings BLOB/BYTEA.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/atrest"
)

// Conn runs statements: a pool or one transaction. Exec returns the number
// of rows the statement touched. A QueryRow that finds nothing returns an
// error matching sql.ErrNoRows from Scan (pgx's ErrNoRows does).
type Conn interface {
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Row is one result row (*sql.Row, pgx.Row).
type Row interface{ Scan(dest ...any) error }

// Rows is a result set.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// Engine is what differs between the databases.
type Engine interface {
	// Tx runs fn in one transaction and commits when fn returns nil. An
	// engine may run fn more than once (a transaction a concurrent one
	// aborted). locking says fn first locks the rows it depends on (a
	// SELECT ending in ForUpdate), so each later statement must see what
	// the lock's previous holder committed.
	Tx(ctx context.Context, locking bool, fn func(tx Conn) error) error
	// IsUnique and IsForeignKey classify the error of a failed statement.
	IsUnique(err error) bool
	IsForeignKey(err error) bool
	// MissingRef says which of refs a foreign-key failure (cause) is
	// about, nil when it cannot tell. tx is the connection the failed
	// statement ran on.
	MissingRef(ctx context.Context, tx Conn, cause error, refs []Ref) (*Ref, error)
	// Internal wraps a database error of op for the caller.
	Internal(op string, err error) error
	// ForUpdate ends a SELECT that locks the rows it reads ("" where
	// writers are serialized anyway).
	ForUpdate() string
	// ForNoKeyUpdate and ForKeyShare are weaker locks (PostgreSQL's
	// FOR NO KEY UPDATE and FOR KEY SHARE; "" where writers are
	// serialized): holders of the one do not wait for holders of the
	// other, and ForUpdate waits for both.
	ForNoKeyUpdate() string
	ForKeyShare() string
	// InsertOrder is the column that orders rows of event and task as
	// they were inserted.
	InsertOrder() string
}

// Executor implements store.Executor over an Engine, on the pools or on
// one transaction.
type Executor struct {
	box   *atrest.Box // seals secrets at rest; nil stores them as given
	eng   Engine
	w     Conn // writes (and reads inside a transaction)
	r     Conn // plain reads: a read pool, or the same as w
	bound bool // on one transaction
}

// New returns the executor of a database: w takes writes and
// transactions' reads, r plain reads (the same Conn where the database has
// one pool).
func New(eng Engine, w, r Conn) *Executor { return &Executor{eng: eng, w: w, r: r} }

// Bind returns the executor bound to tx, a transaction of e's engine.
func (e *Executor) Bind(tx Conn) *Executor {
	return &Executor{box: e.box, eng: e.eng, w: tx, r: tx, bound: true}
}

// inTx runs fn in a transaction, or directly when e already is one, so
// multi-statement writes are atomic either way.
func (e *Executor) inTx(ctx context.Context, locking bool, fn func(*Executor) error) error {
	if e.bound {
		return fn(e)
	}
	return e.eng.Tx(ctx, locking, func(tx Conn) error { return fn(e.Bind(tx)) })
}

// internal wraps a database error; it surfaces as ErrSystem, text unshown.
func (e *Executor) internal(op string, err error) error { return e.eng.Internal(op, err) }

// Ref is a row a foreign key points at, named in the not-found message.
type Ref struct {
	// Probe counts the row (0 when it is missing), with Args.
	Probe string
	Args  []any
	// FK is the referencing columns as PostgreSQL names the constraint
	// (<table>_<FK>_fkey): "corp_id_agent_id".
	FK   string
	What string // `corp "x"`
}

// missingRef turns a foreign-key failure into ErrNotFound naming the absent
// parent.
func (e *Executor) missingRef(ctx context.Context, op string, cause error, refs ...Ref) error {
	rf, err := e.eng.MissingRef(ctx, e.w, cause, refs)
	if err != nil {
		return e.internal(op, errors.Join(cause, err))
	}
	if rf != nil {
		return openzone.NotFound.Wrap(cause, "%s not found", rf.What)
	}
	return openzone.NotFound.Wrap(cause, "%s: a referenced row was not found", op)
}

func corpRef(corpID string) Ref {
	return Ref{`SELECT COUNT(*) FROM corp WHERE corp_id = ?`, []any{corpID}, "corp_id", fmt.Sprintf("corp %q", corpID)}
}

func providerRef(id string) Ref {
	return Ref{`SELECT COUNT(*) FROM provider WHERE id = ?`, []any{id}, "provider_id", fmt.Sprintf("provider %q", id)}
}

func programRef(id string) Ref {
	return Ref{`SELECT COUNT(*) FROM program WHERE id = ?`, []any{id}, "program_id", fmt.Sprintf("program %q", id)}
}

func appRef(corpID string, agentID int64) Ref {
	return Ref{`SELECT COUNT(*) FROM app WHERE corp_id = ? AND agent_id = ?`, []any{corpID, agentID},
		"corp_id_agent_id", fmt.Sprintf("app %d of corp %q", agentID, corpID)}
}

// lockApp locks an app's row until the transaction ends and reports
// whether the app exists. Writers that check a count or replace a set of
// the app's rows take it first, so they queue instead of interleaving.
func (e *Executor) lockApp(ctx context.Context, corpID string, agentID int64) (bool, error) {
	var n int
	err := e.w.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM app WHERE corp_id = ? AND agent_id = ?`+e.eng.ForUpdate()+`) a`,
		corpID, agentID).Scan(&n)
	return n > 0, err
}

// ifNoRows returns errFn() when a statement touched no row.
func ifNoRows(n int64, errFn func() error) error {
	if n == 0 {
		return errFn()
	}
	return nil
}

// Column helpers: optional references are NULL, never empty (foreign keys);
// booleans are 0/1; times are unix milliseconds, read back in UTC.

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// Optional times are NULL when zero, so time.Time{} reads back as itself
// (its UnixMilli is a large negative number, not 0).

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

// List limits: the default when unset (or not positive), and the caps.
// Archive lists (messages, keyword hits) allow more: the largest page a
// caller builds (sync_msg mode 1: 10 pages of 1,000) plus the one extra
// row that tells it more follow.
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

// list runs a query on q and scans every row with scan.
func list[T any](ctx context.Context, e *Executor, q Conn, op string, scan func(Row) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, e.internal(op, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, e.internal(op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, e.internal(op, err)
	}
	return out, nil
}
