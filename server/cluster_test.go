package server_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/store/postgres/pgtest"
	"github.com/openzone/openzone/server"
)

// TestNodesShareSettings: nodes on one PostgreSQL database generate one
// admin token between them, and a node whose archive key differs from
// the first node's refuses to start.
func TestNodesShareSettings(t *testing.T) {
	t.Parallel()
	if os.Getenv("OPENZONE_ADMIN_TOKEN") != "" || os.Getenv("OPENZONE_ARCHIVE_KEY") != "" {
		t.Skip("OPENZONE_ADMIN_TOKEN or OPENZONE_ARCHIVE_KEY is set in the environment")
	}
	db := pgtest.URL(t)
	const keyA = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	const keyB = "HxwdHhscGxoZGBcWFRQTEhEQDw4NDAsKCQgHBgUEAwI="
	start := func(name, key string) (*server.Server, error) {
		srv, err := server.New(server.Config{Addr: "127.0.0.1:0", DataDir: filepath.Join(t.TempDir(), name), DB: db,
			NodeName: name, ArchiveKey: key, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		err = srv.Start(context.Background())
		t.Cleanup(func() { srv.Shutdown(context.Background()) })
		return srv, err
	}
	a, err := start("a", keyA)
	if err != nil {
		t.Fatal(err)
	}
	b, err := start("b", keyA)
	if err != nil {
		t.Fatal(err)
	}
	if a.AdminToken() == "" || a.AdminToken() != b.AdminToken() {
		t.Fatalf("admin tokens %q and %q: want one, shared", a.AdminToken(), b.AdminToken())
	}
	if _, err := start("c", keyB); err == nil || !strings.Contains(err.Error(), "archive key") {
		t.Fatalf("a node with another archive key started (err %v)", err)
	}
}
