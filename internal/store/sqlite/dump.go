package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/sqlstore"
)

var _ store.Dumper = (*DB)(nil)

// Dump implements store.Dumper. It reads in one transaction on the read
// pool, so the rows are one consistent snapshot.
func (db *DB) Dump(ctx context.Context, fn func(store.DumpRow) error) error {
	tx, err := db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("sqlite: dump: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	for _, t := range store.DumpTables {
		order, err := insertOrder(ctx, tx, t)
		if err != nil {
			return err
		}
		if err := dumpQuery(ctx, tx, t, fn, `SELECT * FROM `+t+` ORDER BY `+order); err != nil {
			return err
		}
	}
	for _, t := range slices.Sorted(maps.Keys(store.SequenceTables)) {
		col := store.SequenceTables[t]
		// AUTOINCREMENT keeps its high-water mark in sqlite_sequence; a
		// plain rowid key has none beyond its largest row.
		var seq int64
		err := tx.QueryRowContext(ctx, `SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = ?), 0),
			COALESCE((SELECT MAX(`+col+`) FROM `+t+`), 0))`, t).Scan(&seq)
		if err != nil {
			return fmt.Errorf("sqlite: dump sequence of %s: %w", t, err)
		}
		if err := fn(store.DumpRow{Table: store.DumpSequences, Cols: []string{"name", "seq"}, Vals: []any{t, seq}}); err != nil {
			return err
		}
	}
	var river int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'river_job'`).Scan(&river); err != nil {
		return fmt.Errorf("sqlite: dump jobs: %w", err)
	}
	if river == 0 {
		return nil
	}
	return dumpQuery(ctx, tx, store.DumpJobs, fn, `SELECT kind, json(args) AS args, queue, priority, max_attempts
		FROM river_job WHERE finalized_at IS NULL ORDER BY id`)
}

// insertOrder is what orders a table's rows in a dump: its rowid, or the
// primary key of a WITHOUT ROWID table (the knowledge index's), which has
// no rowid.
func insertOrder(ctx context.Context, tx *sql.Tx, table string) (string, error) {
	var ddl string
	if err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&ddl); err != nil {
		return "", fmt.Errorf("sqlite: dump %s: %w", table, err)
	}
	if !strings.Contains(strings.ToUpper(ddl), "WITHOUT ROWID") {
		return "rowid", nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk`, table)
	if err != nil {
		return "", fmt.Errorf("sqlite: dump %s: %w", table, err)
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return "", err
		}
		cols = append(cols, c)
	}
	return strings.Join(cols, ", "), rows.Err()
}

func dumpQuery(ctx context.Context, tx *sql.Tx, table string, fn func(store.DumpRow) error, query string) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return fmt.Errorf("sqlite: dump %s: %w", table, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return fmt.Errorf("sqlite: dump %s: %w", table, err)
	}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("sqlite: dump %s: %w", table, err)
		}
		for i, v := range vals {
			switch x := v.(type) {
			case nil, string, int64, float64:
			case []byte:
				vals[i] = append([]byte{}, x...)
			default:
				return fmt.Errorf("sqlite: dump %s.%s: value of type %T", table, cols[i], v)
			}
		}
		if err := fn(store.DumpRow{Table: table, Cols: cols, Vals: vals}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: dump %s: %w", table, err)
	}
	return nil
}

// Load implements store.Dumper.
func (db *DB) Load(ctx context.Context, rows iter.Seq2[store.DumpRow, error]) error {
	return db.eng.Tx(ctx, false, func(c sqlstore.Conn) error {
		tx := c.(txConn).tx
		cols := map[string]map[string]bool{}
		for _, t := range store.DumpTables {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM `+t+` LIMIT 1)`).Scan(&n); err != nil {
				return fmt.Errorf("sqlite: load: %w", err)
			}
			if n > 0 {
				return openzone.Conflict.Errorf("the database is not empty (table %s has rows): import into a new database", t)
			}
			cs, err := tableColumns(ctx, tx, t)
			if err != nil {
				return err
			}
			cols[t] = cs
		}
		stmts := map[string]*sql.Stmt{}
		defer func() {
			for _, s := range stmts {
				s.Close()
			}
		}()
		for r, err := range rows {
			if err != nil {
				return err
			}
			switch r.Table {
			case store.DumpJobs:
				continue
			case store.DumpSequences:
				name, _ := r.Get("name").(string)
				seq, _ := r.Get("seq").(int64)
				if name != "message" && name != "keyword_hit" { // the AUTOINCREMENT ones
					continue
				}
				if _, err := tx.ExecContext(ctx, `DELETE FROM sqlite_sequence WHERE name = ?`, name); err != nil {
					return fmt.Errorf("sqlite: load sequence: %w", err)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES (?, MAX(?, COALESCE((SELECT MAX(seq) FROM `+name+`), 0)))`, name, seq); err != nil {
					return fmt.Errorf("sqlite: load sequence: %w", err)
				}
				continue
			}
			known, ok := cols[r.Table]
			if !ok {
				return openzone.Errorf(openzone.ErrInvalidParam, "the dump has table %q, which this version does not know", r.Table)
			}
			for _, c := range r.Cols {
				if !known[c] {
					return openzone.Errorf(openzone.ErrInvalidParam, "the dump has column %s.%s, which this version does not know", r.Table, c)
				}
			}
			key := r.Table + "(" + strings.Join(r.Cols, ",") + ")"
			st := stmts[key]
			if st == nil {
				var err error
				st, err = tx.PrepareContext(ctx, `INSERT INTO `+r.Table+` (`+strings.Join(r.Cols, ", ")+`) VALUES (`+
					strings.TrimSuffix(strings.Repeat("?, ", len(r.Cols)), ", ")+`)`)
				if err != nil {
					return fmt.Errorf("sqlite: load %s: %w", r.Table, err)
				}
				stmts[key] = st
			}
			if _, err := st.ExecContext(ctx, r.Vals...); err != nil {
				return openzone.Wrap(openzone.ErrInvalidParam, err, "loading a row of %s failed: %v", r.Table, err)
			}
		}
		return nil
	})
}

func tableColumns(ctx context.Context, tx *sql.Tx, table string) (map[string]bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, fmt.Errorf("sqlite: columns of %s: %w", table, err)
	}
	defer rows.Close()
	cols := map[string]bool{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols[c] = true
	}
	return cols, rows.Err()
}

// Tables lists the zone's tables in the database (not River's, not the
// migration log), for the test that DumpTables misses none.
func (db *DB) Tables(ctx context.Context) ([]string, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'river%' AND name NOT LIKE 'sqlite%' AND name <> 'openzone_migrations' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
