package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/openzone/openzone/internal/atrest"
	"github.com/openzone/openzone/internal/jobs"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/store/postgres"
	"github.com/openzone/openzone/internal/store/sqlite"
)

// OpenStore opens (and migrates) the database a Config's DB names, the way
// Start does; dataDir holds the SQLite file when DB is "". The CLI's
// migrate, export and import use it.
func OpenStore(ctx context.Context, db, dataDir string) (store.Store, error) {
	st, _, err := openStore(ctx, db, dataDir)
	return st, err
}

func openStore(ctx context.Context, db, dataDir string) (store.Store, jobs.Config, error) {
	if postgres.IsURL(db) {
		st, err := postgres.Open(ctx, db)
		if err != nil {
			return nil, jobs.Config{}, err
		}
		return st, jobs.Config{Pool: st.Pool(), Schema: st.Schema()}, nil
	}
	if db != "" && !strings.HasPrefix(db, "sqlite:") {
		return nil, jobs.Config{}, fmt.Errorf("database %q is not supported: use a postgres:// URL, sqlite:PATH, or nothing for SQLite in the data directory", redactURL(db))
	}
	path := filepath.Join(dataDir, "openzone.db")
	if p, ok := strings.CutPrefix(db, "sqlite:"); ok && p != "" {
		path = p
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, jobs.Config{}, err
	}
	return st, jobs.Config{DB: st.SQL()}, nil
}

func (s *Server) openStore(ctx context.Context) (store.Store, jobs.Config, error) {
	st, jcfg, err := openStore(ctx, s.cfg.DB, s.cfg.DataDir)
	if err != nil {
		return nil, jcfg, err
	}
	if c, ok := st.(store.Cluster); ok {
		s.cluster = c
	}
	return st, jcfg, nil
}

func (s *Server) dbKind() string {
	if s.cluster != nil {
		return "postgres"
	}
	return "sqlite"
}

// info is what GET /admin/v1/status reports about this zone and node.
func (s *Server) info() map[string]any {
	m := map[string]any{"version": Version, "database": s.dbKind(), "data_dir": s.cfg.DataDir}
	if s.cluster != nil {
		m["node"] = s.cfg.NodeName
	}
	return m
}

// Settings nodes sharing a database agree on (zone_setting names).
const (
	settingAdminToken  = "admin_token"
	settingArchiveMark = "archive_key_fingerprint"
)

// adminToken picks the admin token: config, environment, or one generated
// once and kept: in the data directory on SQLite, in the database on
// PostgreSQL, so that every node accepts it (with a copy in the data
// directory for the CLI).
func (s *Server) adminToken(ctx context.Context) (string, error) {
	if s.cfg.AdminToken != "" {
		return s.cfg.AdminToken, nil
	}
	if t := os.Getenv("OPENZONE_ADMIN_TOKEN"); t != "" {
		return t, nil
	}
	var b [24]byte
	rand.Read(b[:])
	fresh := "oz_admin_" + base64.RawURLEncoding.EncodeToString(b[:])
	path := filepath.Join(s.cfg.DataDir, "admin-token")
	if s.cluster != nil {
		stored, err := s.cluster.SettingPutIfAbsent(ctx, settingAdminToken, s.box.Seal(settingAdminToken, fresh))
		if err != nil {
			return "", fmt.Errorf("admin token: %w", err)
		}
		t, err := s.box.Open(settingAdminToken, stored)
		if err != nil {
			return "", fmt.Errorf("admin token: %w", err)
		}
		if !atrest.Sealed(stored) { // kept before secrets were sealed
			if err := s.cluster.SettingReplace(ctx, settingAdminToken, stored, s.box.Seal(settingAdminToken, t)); err != nil {
				return "", fmt.Errorf("admin token: %w", err)
			}
		}
		// A copy in the data directory, where the CLI on this machine
		// looks for it.
		if err := os.WriteFile(path, []byte(t+"\n"), 0o600); err != nil {
			return "", fmt.Errorf("write admin token: %w", err)
		}
		return t, nil
	}
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) > 0 {
		return strings.TrimSpace(string(b)), nil
	}
	if err := os.WriteFile(path, []byte(fresh+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	return fresh, nil
}

// AdminTokenKept says where a generated admin token is kept, for the
// start-up banner.
func (s *Server) AdminTokenKept() string {
	if s.cluster != nil {
		return "kept in the database, the same on every node"
	}
	return "kept in " + filepath.Join(s.cfg.DataDir, "admin-token")
}

// sealSecrets seals the secrets the database holds under a key derived
// from the zone's archive key (internal/atrest): those stored before are
// sealed now, and every later write seals its own.
func (s *Server) sealSecrets(ctx context.Context, key []byte) error {
	box, err := atrest.New(key)
	if err != nil {
		return fmt.Errorf("secrets at rest: %w", err)
	}
	s.box = box
	n, err := s.store.SealSecrets(ctx, box)
	if err != nil {
		return fmt.Errorf("secrets at rest: %w", err)
	}
	if n > 0 {
		s.log.Info("secrets stored before sealing are now sealed", "count", n)
	}
	return nil
}

// archiveKey returns the zone's archive key, which seals every message's
// secret key at rest: from the config, OPENZONE_ARCHIVE_KEY, or
// DataDir/archive.key (0600, generated once). Losing it loses the archive's
// content; back it up with the database, but apart from it: the key is
// never stored in the database. On PostgreSQL the database keeps the key's
// fingerprint instead, and a node whose key differs refuses to start.
func (s *Server) archiveKey(ctx context.Context) ([]byte, error) {
	k, err := s.loadArchiveKey()
	if err != nil {
		return nil, err
	}
	if s.cluster != nil {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte("openzone archive key fingerprint"))
		mark := base64.RawStdEncoding.EncodeToString(mac.Sum(nil)[:12])
		stored, err := s.cluster.SettingPutIfAbsent(ctx, settingArchiveMark, mark)
		if err != nil {
			return nil, fmt.Errorf("archive key: %w", err)
		}
		if stored != mark {
			return nil, errors.New("archive key: this node's key is not the one the zone's other nodes use (its fingerprint differs from the database's): give every node the same key, through OPENZONE_ARCHIVE_KEY or a copy of the first node's archive.key")
		}
	}
	return k, nil
}

func (s *Server) loadArchiveKey() ([]byte, error) {
	decode := func(from, b64 string) ([]byte, error) {
		k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
		if err != nil || len(k) != 32 {
			return nil, fmt.Errorf("archive key %s is damaged: want 32 bytes in base64", from)
		}
		return k, nil
	}
	if s.cfg.ArchiveKey != "" {
		return decode("(config)", s.cfg.ArchiveKey)
	}
	if v := os.Getenv("OPENZONE_ARCHIVE_KEY"); v != "" {
		return decode("OPENZONE_ARCHIVE_KEY", v)
	}
	path := filepath.Join(s.cfg.DataDir, "archive.key")
	if b, err := os.ReadFile(path); err == nil {
		return decode(path, string(b))
	}
	k := make([]byte, 32)
	rand.Read(k)
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(k)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write archive key: %w", err)
	}
	return k, nil
}
