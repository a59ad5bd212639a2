package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/openzone/openzone"
)

// MessageInsert archives m and sets m.Seq. Seqs come from a key the
// database assigns (AUTOINCREMENT, an identity column): they grow with
// every insert across the whole store and a pruned largest one is never
// handed out again (one rolled back with its transaction may be). Receivers are stored as a JSON array, Extra byte for
// byte (empty is NULL), Content and SealedKey as given.
func (e *Executor) MessageInsert(ctx context.Context, m *openzone.Message) error {
	recv := m.Receivers
	if recv == nil {
		recv = []openzone.Party{}
	}
	receivers, err := json.Marshal(recv)
	if err != nil {
		return e.internal("message insert", err)
	}
	var extra sql.NullString
	if len(m.Extra) > 0 {
		extra = sql.NullString{String: string(m.Extra), Valid: true}
	}
	var seq int64
	err = e.w.QueryRow(ctx, `INSERT INTO message (corp_id, msg_id, sender_type, sender_id, receivers,
			chat_id, send_time, msg_type, extra, content, sealed_key, ingested, key_tag)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		m.CorpID, m.MsgID, m.Sender.Type, m.Sender.ID, string(receivers),
		m.ChatID, m.SendTime.UnixMilli(), m.MsgType, extra, blob(m.Content), blob(m.SealedKey),
		m.Ingested.UnixMilli(), nullBytes(m.KeyTag)).Scan(&seq)
	switch {
	case e.eng.IsUnique(err):
		return openzone.Conflict.Wrap(err, "message %q is already archived in corp %q", m.MsgID, m.CorpID)
	case e.eng.IsForeignKey(err):
		return e.missingRef(ctx, "message insert", err, corpRef(m.CorpID))
	case err != nil:
		return e.internal("message insert", err)
	}
	m.Seq = seq
	return nil
}

// blob stores nil as an empty byte string, for NOT NULL BLOB columns.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// emptyNil reads an empty byte string back as nil.
func emptyNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

const messageCols = `seq, corp_id, msg_id, sender_type, sender_id, receivers, chat_id, send_time, msg_type,
	extra, content, sealed_key, ingested, key_tag`

// scanMessage reads a message; no receivers read back as nil, no Extra as
// nil, an empty Content or SealedKey as nil.
func scanMessage(s Row) (*openzone.Message, error) {
	var m openzone.Message
	var receivers string
	var extra sql.NullString
	var sent, ingested int64
	if err := s.Scan(&m.Seq, &m.CorpID, &m.MsgID, &m.Sender.Type, &m.Sender.ID, &receivers, &m.ChatID,
		&sent, &m.MsgType, &extra, &m.Content, &m.SealedKey, &ingested, &m.KeyTag); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(receivers), &m.Receivers); err != nil {
		return nil, fmt.Errorf("message %q receivers: %w", m.MsgID, err)
	}
	if len(m.Receivers) == 0 {
		m.Receivers = nil
	}
	if extra.Valid {
		m.Extra = json.RawMessage(extra.String)
	}
	m.Content, m.SealedKey, m.KeyTag = emptyNil(m.Content), emptyNil(m.SealedKey), emptyNil(m.KeyTag)
	m.SendTime, m.Ingested = fromMillis(sent), fromMillis(ingested)
	return &m, nil
}

func (e *Executor) MessageGet(ctx context.Context, corpID, msgID string) (*openzone.Message, error) {
	m, err := scanMessage(e.r.QueryRow(ctx, `SELECT `+messageCols+` FROM message
		WHERE corp_id = ? AND msg_id = ?`, corpID, msgID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("message %q of corp %q not found", msgID, corpID)
	}
	if err != nil {
		return nil, e.internal("message get", err)
	}
	return m, nil
}

// MessageGetByKeyTag finds the message whose secret_key has tag and whose
// msgid is msgID, in any corp: one indexed lookup.
func (e *Executor) MessageGetByKeyTag(ctx context.Context, tag []byte, msgID string) (*openzone.Message, error) {
	m, err := scanMessage(e.r.QueryRow(ctx, `SELECT `+messageCols+` FROM message
		WHERE key_tag = ? AND msg_id = ?`, tag, msgID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("no message %q with that key", msgID)
	}
	if err != nil {
		return nil, e.internal("message get by key tag", err)
	}
	return m, nil
}

// MessageListUntagged returns up to limit messages without a key tag, in
// seq order.
func (e *Executor) MessageListUntagged(ctx context.Context, limit int) ([]*openzone.Message, error) {
	return list(ctx, e, e.r, "message list untagged", func(r Row) (*openzone.Message, error) { return scanMessage(r) },
		`SELECT `+messageCols+` FROM message WHERE key_tag IS NULL ORDER BY seq LIMIT ?`, clampLimit(limit))
}

// MessageSetKeyTag sets the key tag of the message with seq.
func (e *Executor) MessageSetKeyTag(ctx context.Context, seq int64, tag []byte) error {
	if _, err := e.w.Exec(ctx, `UPDATE message SET key_tag = ? WHERE seq = ?`, tag, seq); err != nil {
		return e.internal("message set key tag", err)
	}
	return nil
}

// MessageList always filters on f.CorpID (an empty one lists the messages
// of corp "", that is none); the other fields only when set. Limit is
// clamped like every list: default 100, max 10,001.
func (e *Executor) MessageList(ctx context.Context, f openzone.MessageFilter) ([]*openzone.Message, error) {
	where := []string{"corp_id = ?"}
	args := []any{f.CorpID}
	if f.AfterSeq > 0 {
		where = append(where, "seq > ?")
		args = append(args, f.AfterSeq)
	}
	if !f.Since.IsZero() {
		where = append(where, "ingested >= ?")
		args = append(args, f.Since.UnixMilli())
	}
	if f.ChatID != "" {
		where = append(where, "chat_id = ?")
		args = append(args, f.ChatID)
	}
	q := `SELECT ` + messageCols + ` FROM message WHERE ` + strings.Join(where, " AND ") + ` ORDER BY seq LIMIT ?`
	args = append(args, clampArchiveLimit(f.Limit))
	return list(ctx, e, e.r, "message list", scanMessage, q, args...)
}

// MessageLastSeq returns the largest Seq among the stored messages, 0 when
// there is none. Pruned messages no longer count: after a prune it may be
// below a Seq handed out before, but never above the next one.
func (e *Executor) MessageLastSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := e.r.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM message`).Scan(&seq); err != nil {
		return 0, e.internal("message last seq", err)
	}
	return seq, nil
}

// messagePruneBatch bounds one DELETE, like trafficPruneBatch.
const messagePruneBatch = 5000

// MessagePrune deletes corpID's messages ingested before before (at
// millisecond precision) and returns how many it deleted. Outside a
// transaction it deletes in batches, so other writes interleave.
func (e *Executor) MessagePrune(ctx context.Context, corpID string, before time.Time) (int64, error) {
	return e.MessagePruneBatch(ctx, corpID, before, messagePruneBatch)
}

// MessagePruneBatch is MessagePrune deleting batch messages a statement.
func (e *Executor) MessagePruneBatch(ctx context.Context, corpID string, before time.Time, batch int) (int64, error) {
	ms := before.UnixMilli()
	var total int64
	for {
		n, err := e.w.Exec(ctx, `DELETE FROM message WHERE seq IN (
			SELECT seq FROM message WHERE corp_id = ? AND ingested < ? ORDER BY seq LIMIT ?)`, corpID, ms, batch)
		if err != nil {
			return total, e.internal("message prune", err)
		}
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}
