package postgres

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

var _ store.Dumper = (*DB)(nil)

// insCol is the insertion-order column of the tables whose rows are
// delivered in the order they were inserted (SQLite uses its rowid).
const insCol = "ins"

// Dump implements store.Dumper, from one REPEATABLE READ snapshot.
func (db *DB) Dump(ctx context.Context, fn func(store.DumpRow) error) error {
	return pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		for _, t := range store.DumpTables {
			rows, err := tx.Query(ctx, `SELECT column_name::text FROM information_schema.columns
				WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, t)
			if err != nil {
				return fmt.Errorf("postgres: dump %s: %w", t, err)
			}
			cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return fmt.Errorf("postgres: dump %s: %w", t, err)
			}
			// ins is this driver's own insertion order: not exported, but
			// the rows go out in it, so an import keeps the order.
			order := ""
			if i := slices.Index(cols, insCol); i >= 0 {
				cols, order = slices.Delete(cols, i, i+1), ` ORDER BY `+insCol
			}
			if err := dumpQuery(ctx, tx, t, fn, `SELECT `+strings.Join(cols, ", ")+` FROM `+t+order); err != nil {
				return err
			}
		}
		for _, t := range slices.Sorted(maps.Keys(store.SequenceTables)) {
			col := store.SequenceTables[t]
			var seq int64
			err := tx.QueryRow(ctx, `SELECT GREATEST(COALESCE(pg_sequence_last_value(pg_get_serial_sequence($1, $2)::regclass), 0),
				COALESCE((SELECT MAX(`+col+`) FROM `+t+`), 0))`, t, col).Scan(&seq)
			if err != nil {
				return fmt.Errorf("postgres: dump sequence of %s: %w", t, err)
			}
			if err := fn(store.DumpRow{Table: store.DumpSequences, Cols: []string{"name", "seq"}, Vals: []any{t, seq}}); err != nil {
				return err
			}
		}
		var river bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass('river_job') IS NOT NULL`).Scan(&river); err != nil {
			return fmt.Errorf("postgres: dump jobs: %w", err)
		}
		if !river {
			return nil
		}
		return dumpQuery(ctx, tx, store.DumpJobs, fn, `SELECT kind, args::text AS args, queue, priority::bigint AS priority,
			max_attempts::bigint AS max_attempts FROM river_job WHERE finalized_at IS NULL ORDER BY id`)
	})
}

func dumpQuery(ctx context.Context, tx pgx.Tx, table string, fn func(store.DumpRow) error, query string) error {
	rows, err := tx.Query(ctx, query)
	if err != nil {
		return fmt.Errorf("postgres: dump %s: %w", table, err)
	}
	defer rows.Close()
	var cols []string
	for _, f := range rows.FieldDescriptions() {
		cols = append(cols, f.Name)
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return fmt.Errorf("postgres: dump %s: %w", table, err)
		}
		for i, v := range vals {
			switch x := v.(type) {
			case int32:
				vals[i] = int64(x)
			case int16:
				vals[i] = int64(x)
			case nil, string, int64, float64, []byte:
			default:
				return fmt.Errorf("postgres: dump %s.%s: value of type %T", table, cols[i], v)
			}
		}
		if err := fn(store.DumpRow{Table: table, Cols: cols, Vals: vals}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: dump %s: %w", table, err)
	}
	return nil
}

// loadBatch bounds the rows one COPY takes, so a large dump streams.
const loadBatch = 5000

// Load implements store.Dumper: one COPY per run of up to loadBatch rows
// of a table, all in one transaction, then the identity sequences moved
// past the dump's high-water marks.
func (db *DB) Load(ctx context.Context, rows iter.Seq2[store.DumpRow, error]) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		types := map[string]map[string]string{}
		for _, t := range store.DumpTables {
			var any bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+t+`)`).Scan(&any); err != nil {
				return fmt.Errorf("postgres: load: %w", err)
			}
			if any {
				return openzone.Conflict.Errorf("the database is not empty (table %s has rows): import into a new database", t)
			}
			ts, err := columnTypes(ctx, tx, t)
			if err != nil {
				return err
			}
			types[t] = ts
		}
		// The pending run: rows of one table with the same columns.
		var table string
		var cols []string
		var run [][]any
		flush := func() error {
			if len(run) == 0 {
				return nil
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(run)); err != nil {
				return openzone.Wrap(openzone.ErrInvalidParam, err, "loading the rows of %s failed: %v", table, err)
			}
			run = run[:0]
			return nil
		}
		for r, err := range rows {
			if err != nil {
				return err
			}
			switch r.Table {
			case store.DumpJobs:
				continue
			case store.DumpSequences:
				if err := flush(); err != nil {
					return err
				}
				name, _ := r.Get("name").(string)
				seq, _ := r.Get("seq").(int64)
				col, ok := store.SequenceTables[name]
				if !ok {
					return openzone.Errorf(openzone.ErrInvalidParam, "the dump has a sequence of %q, which this version does not know", name)
				}
				if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence($1, $2), s, true)
					FROM (SELECT GREATEST($3::bigint, (SELECT COALESCE(MAX(`+col+`), 0) FROM `+name+`)) AS s) m WHERE s > 0`,
					name, col, seq); err != nil {
					return fmt.Errorf("postgres: load sequence of %s: %w", name, err)
				}
				continue
			}
			ts, ok := types[r.Table]
			if !ok {
				return openzone.Errorf(openzone.ErrInvalidParam, "the dump has table %q, which this version does not know", r.Table)
			}
			if r.Table != table || !slices.Equal(r.Cols, cols) || len(run) == loadBatch {
				if err := flush(); err != nil {
					return err
				}
				for _, c := range r.Cols {
					if ts[c] == "" {
						return openzone.Errorf(openzone.ErrInvalidParam, "the dump has column %s.%s, which this version does not know", r.Table, c)
					}
				}
				table, cols = r.Table, r.Cols
			}
			vals := make([]any, len(r.Vals))
			for k, v := range r.Vals {
				cv, err := convert(v, ts[r.Cols[k]])
				if err != nil {
					return openzone.Errorf(openzone.ErrInvalidParam, "the dump's %s.%s: %v", r.Table, r.Cols[k], err)
				}
				vals[k] = cv
			}
			run = append(run, vals)
		}
		return flush()
	})
}

// convert gives a dump value the Go type its column's type takes.
func convert(v any, typ string) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int64:
		switch typ {
		case "double precision":
			return float64(x), nil
		case "bigint", "integer", "smallint":
			return x, nil
		}
	case float64:
		switch typ {
		case "double precision":
			return x, nil
		case "bigint", "integer", "smallint":
			if x == float64(int64(x)) {
				return int64(x), nil
			}
		}
	case string:
		switch typ {
		case "text":
			return x, nil
		case "bytea": // SQLite may hold text in a BLOB column
			return []byte(x), nil
		}
	case []byte:
		switch typ {
		case "bytea":
			return x, nil
		case "text":
			return string(x), nil
		}
	}
	return nil, fmt.Errorf("a %T cannot go in a %s column", v, typ)
}

func columnTypes(ctx context.Context, tx pgx.Tx, table string) (map[string]string, error) {
	rows, err := tx.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1`, table)
	if err != nil {
		return nil, fmt.Errorf("postgres: columns of %s: %w", table, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var c, t string
		if err := rows.Scan(&c, &t); err != nil {
			return nil, err
		}
		out[c] = t
	}
	return out, rows.Err()
}

// Tables lists the zone's tables in the schema (not River's, not the
// migration log, not the nodes' own zone_* tables).
func (db *DB) Tables(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT table_name::text FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
		AND table_name NOT LIKE 'river%' AND table_name NOT LIKE 'zone\_%' AND table_name <> 'openzone_migrations'
		ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}
