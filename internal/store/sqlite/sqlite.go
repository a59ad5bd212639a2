// Package sqlite is the default store driver: one SQLite file in WAL mode,
// through the pure-Go modernc.org/sqlite, so the binary needs no cgo.
//
// A DB holds two pools on the same file. The writer pool has a single
// connection, as River's SQLite driver requires, and serves every write and
// every transaction. A read-only pool with a few connections serves plain
// reads, so reads never queue behind a writer (WAL lets them run alongside
// it) and always see the last committed state.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/sqlstore"
)

// readConns is the size of the read-only pool. Reads are short point
// lookups and lists; a handful of connections covers the HTTP faces.
const readConns = 4

// DB is a SQLite store. It implements store.Store: the shared SQL body
// (sqlstore) on this file's pools.
type DB struct {
	*sqlstore.Executor
	eng    engine
	writer *sql.DB // one connection: every write and transaction
	reader *sql.DB // read-only pool
	lock   *os.File

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the SQLite database at path and applies any
// pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty path")
	}
	lock, err := lockFile(path)
	if err != nil {
		return nil, err
	}
	if err := private(path); err != nil {
		if lock != nil {
			lock.Close()
		}
		return nil, err
	}
	db, err := open(ctx, path)
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		return nil, err
	}
	db.lock = lock
	return db, nil
}

// private makes the database file readable by its owner alone before
// SQLite opens it: SQLite gives its -wal and -shm files the database
// file's mode, and the umask would leave a new file readable by all (a
// database outside the zone's 0700 data directory holds secrets, sealed
// or not, and the archive). An older file and its companions are narrowed
// too.
func private(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm", path + ".lock"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("sqlite: make %s private: %w", p, err)
			}
		}
	}
	return nil
}

func open(ctx context.Context, path string) (*DB, error) {
	file := "file:" + escapePath(path)

	// A 64 MiB page cache for the writer (SQLite's default is 2 MiB, and
	// it only grows as used): a knowledge set's index takes its inserts
	// at random places of large B-trees, which a small cache turns into a
	// read and a write of a page per row. Statement journals (a
	// multi-row insert inside a transaction keeps one) stay in memory.
	w, err := sql.Open(driverName, file+"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"+
		"&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	if err := migrate(ctx, w); err != nil {
		w.Close()
		return nil, err
	}

	// The file exists and is in WAL mode by now, which mode=ro needs.
	r, err := sql.Open(driverName, file+"?mode=ro&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=cache_size(-16384)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open read pool: %w", err)
	}
	r.SetMaxOpenConns(readConns)
	r.SetMaxIdleConns(readConns)
	if err := r.PingContext(ctx); err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("sqlite: open read pool: %w", err)
	}

	eng := engine{writer: w}
	return &DB{Executor: sqlstore.New(eng, conn{w}, conn{r}), eng: eng, writer: w, reader: r}, nil
}

// escapePath makes path safe inside a SQLite URI filename: '?' and '#' would
// end the path and '%' starts an escape.
func escapePath(path string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// SQL returns the writer pool (one connection), for River's riversqlite
// driver and anything else that needs the raw database.
func (db *DB) SQL() *sql.DB { return db.writer }

// SQLTx returns nil: the DB is not a transaction (see txExecutor.SQLTx).
func (db *DB) SQLTx() *sql.Tx { return nil }

// InTx runs fn in one IMMEDIATE transaction on the writer connection and
// commits when fn returns nil. fn must use the Executor it is given: calling
// db's own methods from inside fn would wait for the connection fn holds.
func (db *DB) InTx(ctx context.Context, fn func(store.Executor) error) error {
	return db.eng.Tx(ctx, false, func(c sqlstore.Conn) error {
		tx := c.(txConn)
		return fn(txExecutor{db.Bind(tx), tx.tx})
	})
}

// Backup writes a consistent, compacted copy of the database to destPath,
// which must not exist yet. It runs on the read pool, so writers carry on
// while it copies.
func (db *DB) Backup(ctx context.Context, destPath string) error {
	if _, err := db.reader.ExecContext(ctx, `VACUUM INTO ?`, destPath); err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	return nil
}

// Close closes both pools; later calls return the first result. It first
// folds the WAL back into the main file and truncates it, so a stopped zone
// is a single self-contained file.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		// Readers go first: a checkpoint cannot truncate a WAL they still use.
		errR := db.reader.Close()
		var errC error
		if _, err := db.writer.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			errC = fmt.Errorf("sqlite: close: checkpoint: %w", err)
		}
		errW := db.writer.Close()
		db.closeErr = errors.Join(errR, errC, errW)
		if db.lock != nil {
			db.lock.Close()
		}
	})
	return db.closeErr
}
