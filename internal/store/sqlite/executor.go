package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// executor implements store.Executor on the pools or on one transaction.
type executor struct {
	w  querier // writes: the writer pool, or the tx
	r  querier // plain reads: the read-only pool, or the same tx
	db *sql.DB // begins transactions; nil inside one
	tx *sql.Tx // the transaction this executor is bound to; nil outside one
}

var _ store.Executor = (*executor)(nil)

// SQLTx returns the transaction the executor is bound to, or nil when it is
// not bound to one (the DB itself). It lets code that needs the raw
// transaction, such as River inserting jobs through riversqlite, write in
// the same transaction as the store: inside DB.InTx's fn, type-assert the
// store.Executor to interface{ SQLTx() *sql.Tx }. Statements run on it are
// committed or rolled back with the store's own writes; the transaction
// must not be committed or rolled back by the caller.
func (e *executor) SQLTx() *sql.Tx { return e.tx }

// inTx runs fn in a transaction, or directly when e already is one, so
// multi-statement writes are atomic either way.
func (e *executor) inTx(ctx context.Context, fn func(*executor) error) (err error) {
	if e.db == nil {
		return fn(e)
	}
	tx, err := e.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(&executor{w: tx, r: tx, tx: tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// sqliteCode returns the extended SQLite result code in err's chain, or 0.
func sqliteCode(err error) int {
	var se *msqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKey(err error) bool { return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY }

// internalErr wraps a driver error; it surfaces as ErrSystem, text unshown.
func internalErr(op string, err error) error { return fmt.Errorf("sqlite: %s: %w", op, err) }

// ref is a row a foreign key points at, probed to say which one is missing.
type ref struct {
	query string // SELECT COUNT(*) ... that is 0 when the row is missing
	args  []any
	what  string // "corp \"x\"": named in the not-found message
}

// missingRef turns a foreign-key failure into ErrNotFound naming the first
// absent parent. SQLite does not say which key failed, so the parents are
// probed, through e.w so a transaction sees its own rows.
func (e *executor) missingRef(ctx context.Context, op string, cause error, refs ...ref) error {
	for _, rf := range refs {
		var n int
		if err := e.w.QueryRowContext(ctx, rf.query, rf.args...).Scan(&n); err != nil {
			return internalErr(op, errors.Join(cause, err))
		}
		if n == 0 {
			return openzone.Wrap(openzone.ErrNotFound, cause, "%s not found", rf.what)
		}
	}
	return openzone.Wrap(openzone.ErrNotFound, cause, "%s: a referenced row was not found", op)
}

func corpRef(corpID string) ref {
	return ref{`SELECT COUNT(*) FROM corp WHERE corp_id = ?`, []any{corpID}, fmt.Sprintf("corp %q", corpID)}
}

func providerRef(id string) ref {
	return ref{`SELECT COUNT(*) FROM provider WHERE id = ?`, []any{id}, fmt.Sprintf("provider %q", id)}
}

func programRef(id string) ref {
	return ref{`SELECT COUNT(*) FROM program WHERE id = ?`, []any{id}, fmt.Sprintf("program %q", id)}
}

func appRef(corpID string, agentID int64) ref {
	return ref{`SELECT COUNT(*) FROM app WHERE corp_id = ? AND agent_id = ?`, []any{corpID, agentID},
		fmt.Sprintf("app %d of corp %q", agentID, corpID)}
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

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }
