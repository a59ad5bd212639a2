package sqlstore

import (
	"context"
	"database/sql"

	"github.com/openzone/openzone"
)

// ChatUpsert replaces the chat row and its whole member list, atomically. A
// member id given twice is ErrConflict and nothing of the call is kept.
// Zero CreateTime and JoinTime are stored as NULL and read back zero.
func (e *Executor) ChatUpsert(ctx context.Context, c *openzone.Chat) error {
	return e.inTx(ctx, false, func(e *Executor) error {
		_, err := e.w.Exec(ctx, `INSERT INTO chat (corp_id, chat_id, name, owner, create_time)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (corp_id, chat_id) DO UPDATE SET name = excluded.name, owner = excluded.owner,
				create_time = excluded.create_time`,
			c.CorpID, c.ChatID, c.Name, c.Owner, nullMillis(c.CreateTime))
		if e.eng.IsForeignKey(err) {
			return e.missingRef(ctx, "chat upsert", err, corpRef(c.CorpID))
		}
		if err != nil {
			return e.internal("chat upsert", err)
		}
		if _, err := e.w.Exec(ctx, `DELETE FROM chat_member WHERE corp_id = ? AND chat_id = ?`,
			c.CorpID, c.ChatID); err != nil {
			return e.internal("chat upsert", err)
		}
		for _, m := range c.Members {
			_, err := e.w.Exec(ctx, `INSERT INTO chat_member (corp_id, chat_id, member_id, type, join_time)
				VALUES (?, ?, ?, ?, ?)`, c.CorpID, c.ChatID, m.MemberID, m.Type, nullMillis(m.JoinTime))
			if e.eng.IsUnique(err) {
				return openzone.Conflict.Wrap(err, "member %q appears twice in chat %q", m.MemberID, c.ChatID)
			}
			if err != nil {
				return e.internal("chat upsert", err)
			}
		}
		return nil
	})
}

// chatSelect reads chats with their members in one statement, so a
// concurrent ChatUpsert is seen whole or not at all. Members come by join
// time (unset first), then member id.
const chatSelect = `SELECT c.corp_id, c.chat_id, c.name, c.owner, c.create_time,
		m.member_id, m.type, m.join_time
	FROM chat c LEFT JOIN chat_member m ON m.corp_id = c.corp_id AND m.chat_id = c.chat_id`

const chatMemberOrder = `m.join_time NULLS FIRST, m.member_id`

func (e *Executor) ChatGet(ctx context.Context, corpID, chatID string) (*openzone.Chat, error) {
	cs, err := e.chatQuery(ctx, "chat get", chatSelect+` WHERE c.corp_id = ? AND c.chat_id = ?
		ORDER BY `+chatMemberOrder, corpID, chatID)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, openzone.NotFound.Errorf("chat %q of corp %q not found", chatID, corpID)
	}
	return cs[0], nil
}

func (e *Executor) ChatList(ctx context.Context, corpID string) ([]*openzone.Chat, error) {
	return e.chatQuery(ctx, "chat list", chatSelect+` WHERE c.corp_id = ?
		ORDER BY c.chat_id, `+chatMemberOrder, corpID)
}

// chatQuery groups the joined rows, which arrive ordered by chat.
func (e *Executor) chatQuery(ctx context.Context, op, query string, args ...any) ([]*openzone.Chat, error) {
	rows, err := e.r.Query(ctx, query, args...)
	if err != nil {
		return nil, e.internal(op, err)
	}
	defer rows.Close()
	var out []*openzone.Chat
	for rows.Next() {
		var (
			c               openzone.Chat
			created, joined sql.NullInt64
			memberID        sql.NullString
			memberType      sql.NullInt64
		)
		if err := rows.Scan(&c.CorpID, &c.ChatID, &c.Name, &c.Owner, &created,
			&memberID, &memberType, &joined); err != nil {
			return nil, e.internal(op, err)
		}
		if n := len(out); n == 0 || out[n-1].ChatID != c.ChatID {
			c.CreateTime = fromNullMillis(created)
			out = append(out, &c)
		}
		if memberID.Valid {
			cur := out[len(out)-1]
			cur.Members = append(cur.Members, openzone.ChatMember{
				MemberID: memberID.String,
				Type:     int(memberType.Int64),
				JoinTime: fromNullMillis(joined),
			})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, e.internal(op, err)
	}
	return out, nil
}
