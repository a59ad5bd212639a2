package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/store"
)

var _ store.Cluster = (*DB)(nil)

func (db *DB) SettingPutIfAbsent(ctx context.Context, name, value string) (string, error) {
	// DO UPDATE with no change, rather than DO NOTHING, so RETURNING gives
	// the stored row either way.
	var stored string
	err := db.pool.QueryRow(ctx, `INSERT INTO zone_setting (name, value) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET value = zone_setting.value RETURNING value`, name, value).Scan(&stored)
	if err != nil {
		return "", db.eng.Internal("setting put", err)
	}
	return stored, nil
}

// SettingReplace changes a setting from old to value; a setting that is no
// longer old is left alone.
func (db *DB) SettingReplace(ctx context.Context, name, old, value string) error {
	if _, err := db.pool.Exec(ctx, `UPDATE zone_setting SET value = $1 WHERE name = $2 AND value = $3`,
		value, name, old); err != nil {
		return db.eng.Internal("setting replace", err)
	}
	return nil
}

func (db *DB) InstancesPublish(ctx context.Context, p store.InstancesPublishParams) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM zone_instance WHERE node = $1`, p.Node); err != nil {
			return db.eng.Internal("instances publish", err)
		}
		for _, in := range p.Instances {
			// A name another node published is taken over: names carry the
			// node, so that only happens when a node id is reused.
			if _, err := tx.Exec(ctx, `INSERT INTO zone_instance (name, node, host, program_id, url, seen_at)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (name) DO UPDATE SET node = excluded.node, host = excluded.host,
					program_id = excluded.program_id, url = excluded.url, seen_at = excluded.seen_at`,
				in.Name, p.Node, in.Host, in.ProgramID, in.URL, p.Now.UnixMilli()); err != nil {
				return db.eng.Internal("instances publish", err)
			}
		}
		return nil
	})
}

func (db *DB) InstanceFind(ctx context.Context, name string, since time.Time) (*store.Instance, error) {
	var in store.Instance
	err := db.pool.QueryRow(ctx, `SELECT name, node, host, program_id, url FROM zone_instance WHERE name = $1 AND seen_at >= $2`,
		name, since.UnixMilli()).Scan(&in.Name, &in.Node, &in.Host, &in.ProgramID, &in.URL)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, openzone.NotFound.Errorf("instance %q is not running on any node", name)
	}
	if err != nil {
		return nil, db.eng.Internal("instance find", err)
	}
	return &in, nil
}

func (db *DB) NodePublish(ctx context.Context, p store.NodePublishParams) error {
	var err error
	if p.URL == "" {
		_, err = db.pool.Exec(ctx, `DELETE FROM zone_node WHERE name = $1`, p.Node)
	} else {
		_, err = db.pool.Exec(ctx, `INSERT INTO zone_node (name, url, seen_at) VALUES ($1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET url = excluded.url, seen_at = excluded.seen_at`, p.Node, p.URL, p.Now.UnixMilli())
	}
	if err != nil {
		return db.eng.Internal("node publish", err)
	}
	return nil
}

func (db *DB) NodeURL(ctx context.Context, node string, since time.Time) (string, error) {
	var url string
	err := db.pool.QueryRow(ctx, `SELECT url FROM zone_node WHERE name = $1 AND seen_at >= $2`, node, since.UnixMilli()).Scan(&url)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", openzone.NotFound.Errorf("zone node %q is not running", node)
	}
	if err != nil {
		return "", db.eng.Internal("node url", err)
	}
	return url, nil
}
