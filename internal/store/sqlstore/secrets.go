package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/openzone/openzone/internal/atrest"
)

// The fields sealed at rest (atrest): each names its column, and is the
// associated data its values are sealed with.
const (
	fieldAppSecret      = "app.secret"
	fieldCallbackToken  = "app.callback_token"
	fieldCallbackAESKey = "app.callback_aes_key"
	fieldProgramSecret  = "program_secret.secret_key"
	fieldAccessToken    = "access_token.token"
	fieldEventToken     = "event_token.token"
	fieldDebugToken     = "debug_program.token"
	fieldSessionToken   = "debug_session.token"
	fieldDebugSecret    = "debug_session.secret"
)

// seal returns v sealed for field (v itself without a box).
func (e *Executor) seal(field, v string) string { return e.box.Seal(field, v) }

// open opens, in place, each sealed string of pairs (field, *string, …).
func (e *Executor) open(pairs ...any) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		field, dst := pairs[i].(string), pairs[i+1].(*string)
		v, err := e.box.Open(field, *dst)
		if err != nil {
			return err
		}
		*dst = v
	}
	return nil
}

// sealedColumn is a column SealSecrets converts: key names the row.
type sealedColumn struct {
	table string
	key   []string
	col   string
	field string
	blob  bool
	// newKey returns fresh destinations for key's columns.
	newKey func() []any
}

func strKey() []any     { return []any{new(string)} }
func appKey() []any     { return []any{new(string), new(int64)} }
func sessionKey() []any { return []any{new(string), new(int64), new(string)} }
func derefKey(k []any) []any {
	out := make([]any, len(k))
	for i, p := range k {
		switch p := p.(type) {
		case *string:
			out[i] = *p
		case *int64:
			out[i] = *p
		}
	}
	return out
}

var sealedColumns = []sealedColumn{
	{"app", []string{"corp_id", "agent_id"}, "secret", fieldAppSecret, false, appKey},
	{"app", []string{"corp_id", "agent_id"}, "callback_token", fieldCallbackToken, false, appKey},
	{"app", []string{"corp_id", "agent_id"}, "callback_aes_key", fieldCallbackAESKey, false, appKey},
	{"program_secret", []string{"program_id"}, "secret_key", fieldProgramSecret, true, strKey},
	{"access_token", []string{"token"}, "token", fieldAccessToken, false, strKey},
	{"event_token", []string{"token"}, "token", fieldEventToken, false, strKey},
	{"debug_program", []string{"program_id"}, "token", fieldDebugToken, false, strKey},
	{"debug_session", []string{"corp_id", "agent_id", "program_id"}, "token", fieldSessionToken, false, sessionKey},
	{"debug_session", []string{"corp_id", "agent_id", "program_id"}, "secret", fieldDebugSecret, true, sessionKey},
}

// SealSecrets makes the store seal secrets with box from now on, and seals
// the ones stored before (a database older than sealing, or written
// without a key), in one transaction. It returns how many it sealed. Call
// it once, before the store serves; every node of a zone calls it with the
// same key (sealing is deterministic, so two nodes converting at once
// write the same values).
func (e *Executor) SealSecrets(ctx context.Context, box *atrest.Box) (int, error) {
	e.box = box
	total := 0
	err := e.inTx(ctx, false, func(tx *Executor) error {
		total = 0
		for _, c := range sealedColumns {
			n, err := tx.sealColumn(ctx, c)
			if err != nil {
				return e.internal("seal secrets: "+c.field, err)
			}
			total += n
		}
		return nil
	})
	return total, err
}

// sealColumn seals the values of one column not sealed yet. The tables
// hold a zone's apps, programs and live tokens: read whole, they are small.
func (e *Executor) sealColumn(ctx context.Context, c sealedColumn) (int, error) {
	rows, err := e.w.Query(ctx, `SELECT `+strings.Join(c.key, ", ")+`, `+c.col+` FROM `+c.table)
	if err != nil {
		return 0, err
	}
	type change struct {
		key []any
		old []byte
	}
	var todo []change
	for rows.Next() {
		key := c.newKey()
		var v []byte
		if err := rows.Scan(append(key, &v)...); err != nil {
			rows.Close()
			return 0, err
		}
		if len(v) > 0 && !atrest.Sealed(string(v)) {
			todo = append(todo, change{derefKey(key), v})
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	where := make([]string, len(c.key))
	for i, k := range c.key {
		where[i] = k + " = ?"
	}
	q := fmt.Sprintf(`UPDATE %s SET %s = ? WHERE %s`, c.table, c.col, strings.Join(where, " AND "))
	for _, ch := range todo {
		var sealed any = e.box.Seal(c.field, string(ch.old))
		if c.blob {
			sealed = e.box.SealBytes(c.field, ch.old)
		}
		if _, err := e.w.Exec(ctx, q, append([]any{sealed}, ch.key...)...); err != nil {
			return 0, err
		}
	}
	return len(todo), nil
}
