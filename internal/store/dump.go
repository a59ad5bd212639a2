package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"iter"
)

// Dumper is a store that can write out every row it holds and load such
// rows into an empty store of any driver: `openzone export` and `import`,
// which move a zone between SQLite and PostgreSQL. Both drivers share one
// logical schema (same tables, same columns, same encodings), so a row
// needs no translation beyond its column types.
type Dumper interface {
	// Dump calls fn with every row of every table in DumpTables (in that
	// order), then the high-water marks of the store-assigned sequences
	// (table DumpSequences), then the durable jobs not yet finished (table
	// DumpJobs). Run it on a stopped zone: rows written meanwhile may be
	// missed.
	Dump(ctx context.Context, fn func(DumpRow) error) error
	// Load inserts rows of DumpTables and DumpSequences, in the order Dump
	// gave them, in one transaction; the store must hold no zone data
	// (ErrConflict otherwise). Rows are read as they come, so a dump need
	// not fit in memory. DumpJobs rows are the caller's to enqueue.
	Load(ctx context.Context, rows iter.Seq2[DumpRow, error]) error
}

// DumpTables are the zone's tables in an order where every row's parents
// come first. A new migration's table must be added here (a test checks
// that no table of the schema is missing).
var DumpTables = []string{
	"provider", "corp", "member", "external_contact",
	"program", "program_ability", "program_secret",
	"app", "app_program", "access_token", "replay", "traffic",
	"debug_program", "debug_session", "notification",
	"chat", "chat_member", "message", "agree_status", "app_public_key",
	"keyword_rule", "keyword_hit", "event_token", "event", "notify", "task", "node", "audit",
	"program_log_level", "program_log", "program_log_hour", "hide_config",
	"quota", "tag_group", "ww_model",
	"media", "kb", "kb_grant", "kb_doc", "kb_fragment", "kb_posting", "kb_df",
}

// Pseudo-tables of a dump.
const (
	// DumpSequences rows are {"name": table, "seq": n}: the largest value
	// the table's store-assigned id ever had, so ids pruned before the
	// export are not handed out again after it.
	DumpSequences = "_sequence"
	// DumpJobs rows are {"kind", "args", "queue", "priority",
	// "max_attempts"}: durable jobs (deliveries) not finished yet.
	DumpJobs = "_job"
)

// SequenceTables are the tables whose id the store assigns, and its column.
var SequenceTables = map[string]string{
	"traffic": "id", "notification": "id", "audit": "id", "message": "seq", "keyword_hit": "seq", "program_log": "id",
}

// DumpRow is one row: column names and values. A value is nil, a string,
// an int64, a float64 or a []byte.
type DumpRow struct {
	Table string
	Cols  []string
	Vals  []any
}

// Get returns the value of column col, or nil.
func (r DumpRow) Get(col string) any {
	for i, c := range r.Cols {
		if c == col {
			return r.Vals[i]
		}
	}
	return nil
}

// dumpJSON is a row on the wire: one JSON object a line. Byte strings are
// {"base64": "..."} so they stay apart from text.
type dumpJSON struct {
	Table string            `json:"table"`
	Row   []json.RawMessage `json:"row"`
	Cols  []string          `json:"cols"`
}

type bytesJSON struct {
	Base64 string `json:"base64"`
}

// MarshalJSON writes the row as one JSON object.
func (r DumpRow) MarshalJSON() ([]byte, error) {
	out := dumpJSON{Table: r.Table, Cols: r.Cols, Row: make([]json.RawMessage, len(r.Vals))}
	for i, v := range r.Vals {
		var b []byte
		var err error
		switch x := v.(type) {
		case []byte:
			b, err = json.Marshal(bytesJSON{base64.StdEncoding.EncodeToString(x)})
		case nil, string, int64, float64:
			b, err = json.Marshal(x)
		default:
			return nil, fmt.Errorf("dump %s.%s: value of type %T", r.Table, r.Cols[i], v)
		}
		if err != nil {
			return nil, err
		}
		out.Row[i] = b
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads a row MarshalJSON wrote. Numbers come back as int64
// when they are integers, float64 otherwise.
func (r *DumpRow) UnmarshalJSON(b []byte) error {
	var in dumpJSON
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	if len(in.Cols) != len(in.Row) {
		return fmt.Errorf("dump row of %s: %d columns, %d values", in.Table, len(in.Cols), len(in.Row))
	}
	r.Table, r.Cols, r.Vals = in.Table, in.Cols, make([]any, len(in.Row))
	for i, raw := range in.Row {
		switch {
		case len(raw) == 0 || string(raw) == "null":
			r.Vals[i] = nil
		case raw[0] == '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return err
			}
			r.Vals[i] = s
		case raw[0] == '{':
			var bj bytesJSON
			if err := json.Unmarshal(raw, &bj); err != nil {
				return err
			}
			v, err := base64.StdEncoding.DecodeString(bj.Base64)
			if err != nil {
				return fmt.Errorf("dump %s.%s: %w", in.Table, in.Cols[i], err)
			}
			r.Vals[i] = v
		default:
			var n json.Number
			if err := json.Unmarshal(raw, &n); err != nil {
				return fmt.Errorf("dump %s.%s: %w", in.Table, in.Cols[i], err)
			}
			if iv, err := n.Int64(); err == nil {
				r.Vals[i] = iv
			} else if fv, err := n.Float64(); err == nil {
				r.Vals[i] = fv
			} else {
				return fmt.Errorf("dump %s.%s: %q is not a number", in.Table, in.Cols[i], n)
			}
		}
	}
	return nil
}
