package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/openzone/openzone"
)

func (e *Executor) ProgramUpsert(ctx context.Context, p *openzone.Program) error {
	deploy, err := json.Marshal(p.Deploy)
	if err != nil {
		return e.internal("program upsert", err)
	}
	return e.inTx(ctx, false, func(e *Executor) error {
		// An upsert, not INSERT OR REPLACE: replacing would delete the row
		// and cascade to the program's secret and app links.
		_, err := e.w.Exec(ctx, `INSERT INTO program (id, provider_id, kind, name, released, deploy)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET provider_id = excluded.provider_id, kind = excluded.kind,
				name = excluded.name, released = excluded.released, deploy = excluded.deploy`,
			p.ID, nullString(p.ProviderID), string(p.Kind), p.Name, boolInt(p.Released), string(deploy))
		if e.eng.IsForeignKey(err) {
			return e.missingRef(ctx, "program upsert", err, providerRef(p.ProviderID))
		}
		if err != nil {
			return e.internal("program upsert", err)
		}
		if _, err := e.w.Exec(ctx, `DELETE FROM program_ability WHERE program_id = ?`, p.ID); err != nil {
			return e.internal("program upsert", err)
		}
		for i, a := range p.Abilities {
			_, err := e.w.Exec(ctx, `INSERT INTO program_ability (program_id, ability_id, position, name, input, output)
				VALUES (?, ?, ?, ?, ?, ?)`, p.ID, a.ID, i, a.Name, string(a.Input), string(a.Output))
			if e.eng.IsUnique(err) {
				return openzone.Conflict.Wrap(err, "ability %q appears twice in program %q", a.ID, p.ID)
			}
			if err != nil {
				return e.internal("program upsert", err)
			}
		}
		return nil
	})
}

// programSelect reads programs with their abilities in one statement, so a
// concurrent ProgramUpsert is seen whole or not at all.
const programSelect = `SELECT p.id, p.provider_id, p.kind, p.name, p.released, p.deploy,
		a.ability_id, a.name, a.input, a.output
	FROM program p LEFT JOIN program_ability a ON a.program_id = p.id`

func (e *Executor) ProgramGet(ctx context.Context, id string) (*openzone.Program, error) {
	ps, err := e.programQuery(ctx, "program get", programSelect+` WHERE p.id = ? ORDER BY a.position`, id)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, openzone.NotFound.Errorf("program %q not found", id)
	}
	return ps[0], nil
}

func (e *Executor) ProgramList(ctx context.Context) ([]*openzone.Program, error) {
	return e.programQuery(ctx, "program list", programSelect+` ORDER BY p.id, a.position`)
}

// programQuery groups the joined rows, which arrive ordered by program.
func (e *Executor) programQuery(ctx context.Context, op, query string, args ...any) ([]*openzone.Program, error) {
	rows, err := e.r.Query(ctx, query, args...)
	if err != nil {
		return nil, e.internal(op, err)
	}
	defer rows.Close()
	var out []*openzone.Program
	for rows.Next() {
		var (
			p                                     openzone.Program
			kind, deploy                          string
			provider                              sql.NullString
			released                              int
			abilityID, abilityName, input, output sql.NullString
		)
		if err := rows.Scan(&p.ID, &provider, &kind, &p.Name, &released, &deploy,
			&abilityID, &abilityName, &input, &output); err != nil {
			return nil, e.internal(op, err)
		}
		if n := len(out); n == 0 || out[n-1].ID != p.ID {
			p.ProviderID = provider.String
			p.Kind = openzone.ProgramKind(kind)
			p.Released = released != 0
			if err := json.Unmarshal([]byte(deploy), &p.Deploy); err != nil {
				return nil, e.internal(op, fmt.Errorf("program %q deploy: %w", p.ID, err))
			}
			out = append(out, &p)
		}
		if abilityID.Valid {
			cur := out[len(out)-1]
			cur.Abilities = append(cur.Abilities, openzone.Ability{
				ID:     abilityID.String,
				Name:   abilityName.String,
				Input:  rawJSON(input.String),
				Output: rawJSON(output.String),
			})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, e.internal(op, err)
	}
	return out, nil
}

// rawJSON returns the stored protocol bytes as given; nil is stored empty.
func rawJSON(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func (e *Executor) ProgramSecretGet(ctx context.Context, programID string) (*openzone.ProgramSecret, error) {
	s := openzone.ProgramSecret{ProgramID: programID}
	err := e.r.QueryRow(ctx, `SELECT ver, secret_key FROM program_secret WHERE program_id = ?`, programID).
		Scan(&s.Ver, &s.Key)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("secret of program %q not found", programID)
	}
	if err == nil {
		s.Key, err = e.box.OpenBytes(fieldProgramSecret, s.Key)
	}
	if err != nil {
		return nil, e.internal("program secret get", err)
	}
	return &s, nil
}

func (e *Executor) ProgramSecretPut(ctx context.Context, s *openzone.ProgramSecret) error {
	// One statement decides insert vs rotate, so two concurrent rotations
	// cannot both win.
	n, err := e.w.Exec(ctx, `INSERT INTO program_secret (program_id, ver, secret_key) VALUES (?, ?, ?)
		ON CONFLICT (program_id) DO UPDATE SET ver = excluded.ver, secret_key = excluded.secret_key
		WHERE program_secret.ver < excluded.ver`, s.ProgramID, s.Ver, e.box.SealBytes(fieldProgramSecret, s.Key))
	if e.eng.IsForeignKey(err) {
		return e.missingRef(ctx, "program secret put", err, programRef(s.ProgramID))
	}
	if err != nil {
		return e.internal("program secret put", err)
	}
	return ifNoRows(n, func() error {
		return openzone.Conflict.Errorf("secret version %d of program %q is not newer than the stored one", s.Ver, s.ProgramID)
	})
}
