package postgres

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/openzone/openzone/internal/store"
)

// Migrations are NNNN_name.sql files, applied in version order. Those below
// 1000 are the SQLite driver's, same number, same tables; 1001 and up are
// PostgreSQL's own (what several nodes need).
// Never edit a released one; add the next number.
//
//go:embed migration/*.sql
var migrationFS embed.FS

// lockMigrate serializes migrations of one schema across processes: nodes
// starting together would otherwise race to create the same tables.
const lockMigrate = `SELECT pg_advisory_xact_lock(hashtext('openzone_migrate:' || current_schema()))`

// migrate applies the pending migrations, each in its own transaction
// together with its openzone_migrations row (PostgreSQL DDL is
// transactional), so a crash never leaves one half applied.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	ms, err := store.LoadMigrations(migrationFS, "migration/*.sql")
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockMigrate); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS openzone_migrations (
			version    INTEGER NOT NULL PRIMARY KEY,
			applied_at BIGINT  NOT NULL
		)`); err != nil {
			return err
		}
		// A database migrated by a newer binary has tables this one does
		// not know; refuse it rather than half-work on it.
		rows, err := tx.Query(ctx, `SELECT version FROM openzone_migrations ORDER BY version`)
		if err != nil {
			return err
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return err
		}
		known := map[int]bool{}
		for _, m := range ms {
			known[m.Version] = true
		}
		for _, v := range applied {
			if !known[v] {
				return fmt.Errorf("database has schema version %d, which this binary does not know: it was migrated by a newer one", v)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	for _, m := range ms {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, lockMigrate); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM openzone_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO openzone_migrations (version, applied_at) VALUES ($1, $2)`,
				m.Version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migrate %s: %w", m.Name, err)
		}
	}
	return nil
}
