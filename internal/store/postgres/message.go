package postgres

import (
	"context"
	"database/sql"

	"encoding/json"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5"
	"strings"
	"time"

	"github.com/openzone/openzone"
)

// MessageInsert archives m and sets m.Seq. Seqs come from an identity
// key: they grow with every insert across the whole store and a pruned
// largest one is never handed out again (one rolled back with its
// transaction may be). Receivers are stored as a JSON array, Extra byte for
// byte (empty is NULL), Content and SealedKey as given.
func (e *executor) MessageInsert(ctx context.Context, m *openzone.Message) error {
	recv := m.Receivers
	if recv == nil {
		recv = []openzone.Party{}
	}
	receivers, err := json.Marshal(recv)
	if err != nil {
		return internalErr("message insert", err)
	}
	var extra sql.NullString
	if len(m.Extra) > 0 {
		extra = sql.NullString{String: string(m.Extra), Valid: true}
	}
	var seq int64
	err = e.w.QueryRow(ctx, `INSERT INTO message (corp_id, msg_id, sender_type, sender_id, receivers,
			chat_id, send_time, msg_type, extra, content, sealed_key, ingested)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING seq`,
		m.CorpID, m.MsgID, m.Sender.Type, m.Sender.ID, string(receivers),
		m.ChatID, m.SendTime.UnixMilli(), m.MsgType, extra, blob(m.Content), blob(m.SealedKey),
		m.Ingested.UnixMilli()).Scan(&seq)
	switch {
	case isUnique(err):
		return openzone.Wrap(openzone.ErrConflict, err, "message %q is already archived in corp %q", m.MsgID, m.CorpID)
	case isForeignKey(err):
		return missingRef("message insert", err, corpRef(m.CorpID))
	case err != nil:
		return internalErr("message insert", err)
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
	extra, content, sealed_key, ingested`

// scanMessage reads a message; no receivers read back as nil, no Extra as
// nil, an empty Content or SealedKey as nil.
func scanMessage(s scanner) (*openzone.Message, error) {
	var m openzone.Message
	var receivers string
	var extra sql.NullString
	var sent, ingested int64
	if err := s.Scan(&m.Seq, &m.CorpID, &m.MsgID, &m.Sender.Type, &m.Sender.ID, &receivers, &m.ChatID,
		&sent, &m.MsgType, &extra, &m.Content, &m.SealedKey, &ingested); err != nil {
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
	m.Content, m.SealedKey = emptyNil(m.Content), emptyNil(m.SealedKey)
	m.SendTime, m.Ingested = fromMillis(sent), fromMillis(ingested)
	return &m, nil
}

func (e *executor) MessageGet(ctx context.Context, corpID, msgID string) (*openzone.Message, error) {
	m, err := scanMessage(e.r.QueryRow(ctx, `SELECT `+messageCols+` FROM message
		WHERE corp_id = $1 AND msg_id = $2`, corpID, msgID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, openzone.Errorf(openzone.ErrNotFound, "message %q of corp %q not found", msgID, corpID)
	}
	if err != nil {
		return nil, internalErr("message get", err)
	}
	return m, nil
}

// MessageList always filters on f.CorpID (an empty one lists the messages
// of corp "", that is none); the other fields only when set. Limit is
// clamped like every list: default 100, max 10,001.
func (e *executor) MessageList(ctx context.Context, f openzone.MessageFilter) ([]*openzone.Message, error) {
	var a args
	where := []string{"corp_id = " + a.add(f.CorpID)}
	if f.AfterSeq > 0 {
		where = append(where, "seq > "+a.add(f.AfterSeq))
	}
	if !f.Since.IsZero() {
		where = append(where, "ingested >= "+a.add(f.Since.UnixMilli()))
	}
	if f.ChatID != "" {
		where = append(where, "chat_id = "+a.add(f.ChatID))
	}
	q := `SELECT ` + messageCols + ` FROM message WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY seq LIMIT ` + a.add(clampArchiveLimit(f.Limit))
	return list(ctx, e.r, "message list", scanMessage, q, a...)
}

// MessageLastSeq returns the largest Seq among the stored messages, 0 when
// there is none. Pruned messages no longer count: after a prune it may be
// below a Seq handed out before, but never above the next one.
func (e *executor) MessageLastSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := e.r.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM message`).Scan(&seq); err != nil {
		return 0, internalErr("message last seq", err)
	}
	return seq, nil
}

// messagePruneBatch bounds one DELETE, like trafficPruneBatch.
const messagePruneBatch = 5000

// MessagePrune deletes corpID's messages ingested before before (at
// millisecond precision) and returns how many it deleted. Outside a
// transaction it deletes in batches, so other writes interleave.
func (e *executor) MessagePrune(ctx context.Context, corpID string, before time.Time) (int64, error) {
	return e.messagePrune(ctx, corpID, before, messagePruneBatch)
}

func (e *executor) messagePrune(ctx context.Context, corpID string, before time.Time, batch int) (int64, error) {
	ms := before.UnixMilli()
	var total int64
	for {
		res, err := e.w.Exec(ctx, `DELETE FROM message WHERE seq IN (
			SELECT seq FROM message WHERE corp_id = $1 AND ingested < $2 ORDER BY seq LIMIT $3)`, corpID, ms, batch)
		if err != nil {
			return total, internalErr("message prune", err)
		}
		n := res.RowsAffected()
		total += n
		if n < int64(batch) {
			return total, nil
		}
	}
}
