package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/sqlstore"
)

// engine is SQLite's sqlstore.Engine: transactions are IMMEDIATE on the
// single writer connection, so writers are serialized and nothing needs
// locking; foreign-key failures are probed to name the missing parent.
type engine struct {
	writer *sql.DB
}

var _ sqlstore.Engine = engine{}

// Tx runs fn in one IMMEDIATE transaction (see the DSN) on the writer.
// SQLite never aborts one for a concurrent writer: fn runs once.
func (g engine) Tx(ctx context.Context, _ bool, fn func(sqlstore.Conn) error) error {
	tx, err := g.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(txConn{conn{tx}, tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// code returns the extended SQLite result code in err's chain, or 0.
func code(err error) int {
	var se *msqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

func (engine) IsUnique(err error) bool {
	c := code(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func (engine) IsForeignKey(err error) bool { return code(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY }

// MissingRef probes the parents in order: SQLite does not say which key
// failed. The probes run on tx, so a transaction sees its own rows.
func (engine) MissingRef(ctx context.Context, tx sqlstore.Conn, _ error, refs []sqlstore.Ref) (*sqlstore.Ref, error) {
	for i, rf := range refs {
		var n int
		if err := tx.QueryRow(ctx, rf.Probe, rf.Args...).Scan(&n); err != nil {
			return nil, err
		}
		if n == 0 {
			return &refs[i], nil
		}
	}
	return nil, nil
}

// Internal wraps a driver error; it surfaces as ErrSystem, text unshown.
func (engine) Internal(op string, err error) error { return fmt.Errorf("sqlite: %s: %w", op, err) }

// ForUpdate and the weaker locks are empty: the writer connection
// serializes every transaction.
func (engine) ForUpdate() string      { return "" }
func (engine) ForNoKeyUpdate() string { return "" }
func (engine) ForKeyShare() string    { return "" }

// InsertOrder is SQLite's rowid.
func (engine) InsertOrder() string { return "rowid" }

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conn is a pool as a sqlstore.Conn.
type conn struct{ q querier }

func (c conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := c.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c conn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := c.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (c conn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return c.q.QueryRowContext(ctx, query, args...)
}

// txConn is a transaction as a sqlstore.Conn, raw transaction at hand.
type txConn struct {
	conn
	tx *sql.Tx
}

// sqlRows drops the error of Close, which Err already reported.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

// txExecutor is the store.Executor InTx hands its fn: the shared body on
// the transaction, which it also exposes to River (SQLTx).
type txExecutor struct {
	*sqlstore.Executor
	tx *sql.Tx
}

var _ store.Executor = txExecutor{}

// SQLTx returns the transaction the executor is bound to. It lets code
// that needs the raw transaction, such as River inserting jobs through
// riversqlite, write in the same transaction as the store: inside
// DB.InTx's fn, type-assert the store.Executor to interface{ SQLTx()
// *sql.Tx }. Statements run on it are committed or rolled back with the
// store's own writes; the transaction must not be committed or rolled back
// by the caller.
func (x txExecutor) SQLTx() *sql.Tx { return x.tx }
