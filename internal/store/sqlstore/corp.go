package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/openzone/openzone"
)

func (e *Executor) ProviderUpsert(ctx context.Context, p *openzone.Provider) error {
	corps := p.TestCorps
	if corps == nil {
		corps = []string{}
	}
	b, err := json.Marshal(corps)
	if err != nil {
		return e.internal("provider upsert", err)
	}
	if _, err := e.w.Exec(ctx, `INSERT INTO provider (id, name, test_corps) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, test_corps = excluded.test_corps`,
		p.ID, p.Name, string(b)); err != nil {
		return e.internal("provider upsert", err)
	}
	return nil
}

const providerCols = `id, name, test_corps`

func scanProvider(s Row) (*openzone.Provider, error) {
	var p openzone.Provider
	var corps string
	if err := s.Scan(&p.ID, &p.Name, &corps); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(corps), &p.TestCorps); err != nil {
		return nil, fmt.Errorf("provider %q test_corps: %w", p.ID, err)
	}
	if len(p.TestCorps) == 0 {
		p.TestCorps = nil
	}
	return &p, nil
}

func (e *Executor) ProviderGet(ctx context.Context, id string) (*openzone.Provider, error) {
	p, err := scanProvider(e.r.QueryRow(ctx, `SELECT `+providerCols+` FROM provider WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("provider %q not found", id)
	}
	if err != nil {
		return nil, e.internal("provider get", err)
	}
	return p, nil
}

func (e *Executor) ProviderList(ctx context.Context) ([]*openzone.Provider, error) {
	return list(ctx, e, e.r, "provider list", scanProvider, `SELECT `+providerCols+` FROM provider ORDER BY id`)
}

func (e *Executor) CorpUpsert(ctx context.Context, c *openzone.Corp) error {
	days := c.RetentionDays
	if days == 0 {
		days = openzone.DefaultRetentionDays
	}
	if _, err := e.w.Exec(ctx, `INSERT INTO corp (corp_id, name, retention_days, auth_status, auth_begin, auth_end)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (corp_id) DO UPDATE SET name = excluded.name, retention_days = excluded.retention_days,
			auth_status = excluded.auth_status, auth_begin = excluded.auth_begin, auth_end = excluded.auth_end`,
		c.CorpID, c.Name, days, c.Auth.Status, nullMillis(c.Auth.Begin), nullMillis(c.Auth.End)); err != nil {
		return e.internal("corp upsert", err)
	}
	return nil
}

const corpCols = `corp_id, name, retention_days, auth_status, auth_begin, auth_end`

func scanCorp(s Row) (*openzone.Corp, error) {
	var c openzone.Corp
	var begin, end sql.NullInt64
	if err := s.Scan(&c.CorpID, &c.Name, &c.RetentionDays, &c.Auth.Status, &begin, &end); err != nil {
		return nil, err
	}
	c.Auth.Begin, c.Auth.End = fromNullMillis(begin), fromNullMillis(end)
	return &c, nil
}

func (e *Executor) CorpGet(ctx context.Context, corpID string) (*openzone.Corp, error) {
	c, err := scanCorp(e.r.QueryRow(ctx, `SELECT `+corpCols+` FROM corp WHERE corp_id = ?`, corpID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("corp %q not found", corpID)
	}
	if err != nil {
		return nil, e.internal("corp get", err)
	}
	return c, nil
}

func (e *Executor) CorpList(ctx context.Context) ([]*openzone.Corp, error) {
	return list(ctx, e, e.r, "corp list", scanCorp, `SELECT `+corpCols+` FROM corp ORDER BY corp_id`)
}

func (e *Executor) MemberUpsert(ctx context.Context, m *openzone.Member) error {
	var editions any // NULL: the default editions
	if m.Editions != nil {
		b, _ := json.Marshal(m.Editions)
		editions = string(b)
	}
	_, err := e.w.Exec(ctx, `INSERT INTO member (corp_id, user_id, name, editions) VALUES (?, ?, ?, ?)
		ON CONFLICT (corp_id, user_id) DO UPDATE SET name = excluded.name, editions = excluded.editions`,
		m.CorpID, m.UserID, m.Name, editions)
	if e.eng.IsForeignKey(err) {
		return e.missingRef(ctx, "member upsert", err, corpRef(m.CorpID))
	}
	if err != nil {
		return e.internal("member upsert", err)
	}
	return nil
}

func (e *Executor) MemberList(ctx context.Context, corpID string) ([]*openzone.Member, error) {
	return list(ctx, e, e.r, "member list", func(s Row) (*openzone.Member, error) {
		var m openzone.Member
		var editions sql.NullString
		if err := s.Scan(&m.CorpID, &m.UserID, &m.Name, &editions); err != nil {
			return nil, err
		}
		if editions.Valid {
			m.Editions = []int{}
			if err := json.Unmarshal([]byte(editions.String), &m.Editions); err != nil {
				return nil, fmt.Errorf("member %q editions: %w", m.UserID, err)
			}
		}
		return &m, nil
	}, `SELECT corp_id, user_id, name, editions FROM member WHERE corp_id = ? ORDER BY user_id`, corpID)
}

func (e *Executor) ExternalContactUpsert(ctx context.Context, c *openzone.ExternalContact) error {
	_, err := e.w.Exec(ctx, `INSERT INTO external_contact (corp_id, external_user_id, name) VALUES (?, ?, ?)
		ON CONFLICT (corp_id, external_user_id) DO UPDATE SET name = excluded.name`,
		c.CorpID, c.ExternalUserID, c.Name)
	if e.eng.IsForeignKey(err) {
		return e.missingRef(ctx, "external contact upsert", err, corpRef(c.CorpID))
	}
	if err != nil {
		return e.internal("external contact upsert", err)
	}
	return nil
}

func (e *Executor) ExternalContactList(ctx context.Context, corpID string) ([]*openzone.ExternalContact, error) {
	return list(ctx, e, e.r, "external contact list", func(s Row) (*openzone.ExternalContact, error) {
		var c openzone.ExternalContact
		return &c, s.Scan(&c.CorpID, &c.ExternalUserID, &c.Name)
	}, `SELECT corp_id, external_user_id, name FROM external_contact WHERE corp_id = ? ORDER BY external_user_id`, corpID)
}
