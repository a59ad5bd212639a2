package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

func (e *Executor) ProgramLogLevel(ctx context.Context, programID string) (int, error) {
	var level int
	err := e.r.QueryRow(ctx, `SELECT level FROM program_log_level WHERE program_id = ?`, programID).Scan(&level)
	if errors.Is(err, sql.ErrNoRows) {
		return openzone.DefaultLogLevel, nil
	}
	if err != nil {
		return 0, e.internal("program log level", err)
	}
	return level, nil
}

func (e *Executor) ProgramLogLevelSet(ctx context.Context, programID string, level int) error {
	_, err := e.w.Exec(ctx, `INSERT INTO program_log_level (program_id, level) VALUES (?, ?)
		ON CONFLICT (program_id) DO UPDATE SET level = excluded.level`, programID, level)
	if err != nil {
		if e.eng.IsForeignKey(err) {
			return e.missingRef(ctx, "program log level", err, programRef(programID))
		}
		return e.internal("program log level set", err)
	}
	return nil
}

// logInsertRows is how many lines one INSERT writes (12 parameters each,
// well under either engine's limit).
const logInsertRows = 80

func (e *Executor) ProgramLogInsert(ctx context.Context, p store.ProgramLogInsertParams) (int, error) {
	kept := 0
	err := e.inTx(ctx, false, func(tx *Executor) error {
		kept = 0
		hour := p.Hour.UnixMilli()
		var used int64
		err := tx.w.QueryRow(ctx, `SELECT bytes FROM program_log_hour WHERE program_id = ? AND hour = ?`+tx.eng.ForUpdate(),
			p.ProgramID, hour).Scan(&used)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return tx.internal("program log hour", err)
		}
		var bytes int64
		for i := range p.Lines {
			if p.Cap > 0 && used+bytes+p.Sizes[i] > p.Cap {
				break // the hour is full: this line and the rest are dropped
			}
			bytes += p.Sizes[i]
			kept++
		}
		// Many rows per statement: a batch is up to 1,000 lines.
		for start := 0; start < kept; start += logInsertRows {
			rows := p.Lines[start:min(start+logInsertRows, kept)]
			q := `INSERT INTO program_log (program_id, at, level, req_id, pid, tid, file, line, text,
				instance, debug, received_at) VALUES ` + strings.Repeat(`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), `, len(rows)-1) +
				`(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
			args := make([]any, 0, 12*len(rows))
			for _, l := range rows {
				args = append(args, p.ProgramID, l.Time.UnixMilli(), l.Level, l.ReqID, l.PID, l.TID, l.File, l.Line, l.Text,
					l.Instance, boolInt(l.Debug), l.Received.UnixMilli())
			}
			if _, err := tx.w.Exec(ctx, q, args...); err != nil {
				return tx.internal("program log insert", err)
			}
		}
		dropped := p.Dropped + int64(len(p.Lines)-kept)
		_, err = tx.w.Exec(ctx, `INSERT INTO program_log_hour (program_id, hour, lines, bytes, dropped, filtered, rejected)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (program_id, hour) DO UPDATE SET lines = program_log_hour.lines + excluded.lines,
				bytes = program_log_hour.bytes + excluded.bytes, dropped = program_log_hour.dropped + excluded.dropped,
				filtered = program_log_hour.filtered + excluded.filtered, rejected = program_log_hour.rejected + excluded.rejected`,
			p.ProgramID, hour, kept, bytes, dropped, p.Filtered, p.Rejected)
		if err != nil {
			return tx.internal("program log hour", err)
		}
		return nil
	})
	return kept, err
}

const programLogCols = `id, program_id, at, level, req_id, pid, tid, file, line, text, instance, debug, received_at`

func scanProgramLog(s Row) (*openzone.ProgramLog, error) {
	var l openzone.ProgramLog
	var at, received int64
	var debug int
	if err := s.Scan(&l.ID, &l.ProgramID, &at, &l.Level, &l.ReqID, &l.PID, &l.TID, &l.File, &l.Line, &l.Text,
		&l.Instance, &debug, &received); err != nil {
		return nil, err
	}
	l.Time, l.Received, l.Debug = fromMillis(at), fromMillis(received), debug != 0
	return &l, nil
}

func (e *Executor) ProgramLogList(ctx context.Context, f openzone.ProgramLogFilter) ([]*openzone.ProgramLog, error) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	if f.ProgramID != "" {
		add("program_id = ?", f.ProgramID)
	}
	if f.MaxLevel > 0 {
		add("level <= ?", f.MaxLevel)
	}
	if f.ReqID != "" {
		add("req_id = ?", f.ReqID)
	}
	if !f.Since.IsZero() {
		add("at >= ?", f.Since.UnixMilli())
	}
	if !f.Until.IsZero() {
		add("at < ?", f.Until.UnixMilli())
	}
	if f.BeforeID > 0 {
		add("id < ?", f.BeforeID)
	}
	q := `SELECT ` + programLogCols + ` FROM program_log`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	// Newest first by arrival: a program's lines arrive in the order it
	// wrote them, and the id pages without gaps.
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, clampLimit(f.Limit))
	return list(ctx, e, e.r, "program log list", scanProgramLog, q, args...)
}

func scanProgramLogHour(s Row) (*openzone.ProgramLogHour, error) {
	var h openzone.ProgramLogHour
	var hour int64
	if err := s.Scan(&h.ProgramID, &hour, &h.Lines, &h.Bytes, &h.Dropped, &h.Filtered, &h.Rejected); err != nil {
		return nil, err
	}
	h.Hour = fromMillis(hour)
	return &h, nil
}

func (e *Executor) ProgramLogHours(ctx context.Context, programID string, since time.Time) ([]*openzone.ProgramLogHour, error) {
	return list(ctx, e, e.r, "program log hours", scanProgramLogHour,
		`SELECT program_id, hour, lines, bytes, dropped, filtered, rejected FROM program_log_hour
		WHERE program_id = ? AND hour >= ? ORDER BY hour DESC LIMIT ?`,
		programID, since.UnixMilli(), listLimitMax)
}

// ProgramLogPrune deletes lines received before before, and hours that
// ended before it, in batches like TrafficPrune.
func (e *Executor) ProgramLogPrune(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := e.w.Exec(ctx, `DELETE FROM program_log WHERE id IN (
			SELECT id FROM program_log WHERE received_at < ? ORDER BY received_at, id LIMIT ?)`, before.UnixMilli(), trafficPruneBatch)
		if err != nil {
			return total, e.internal("program log prune", err)
		}
		total += n
		if n < trafficPruneBatch {
			break
		}
	}
	if _, err := e.w.Exec(ctx, `DELETE FROM program_log_hour WHERE hour < ?`, before.Add(-time.Hour).UnixMilli()); err != nil {
		return total, e.internal("program log prune", err)
	}
	return total, nil
}
