package atrest_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/atrest"
)

func box(t *testing.T, fill byte) *atrest.Box {
	t.Helper()
	b, err := atrest.New(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSealOpen(t *testing.T) {
	b := box(t, 1)
	for _, v := range []string{"s", "corp-secret-123", "密钥", strings.Repeat("x", 5000)} {
		sealed := b.Seal("app.secret", v)
		if !atrest.Sealed(sealed) || (len(v) > 4 && strings.Contains(sealed, v)) {
			t.Fatalf("Seal(%q) = %q", v, sealed)
		}
		if b.Seal("app.secret", v) != sealed {
			t.Fatal("sealing is not deterministic: lookups by value would fail")
		}
		if b.Seal("app.callback_token", v) == sealed {
			t.Fatal("two fields seal a value alike")
		}
		got, err := b.Open("app.secret", sealed)
		if err != nil || got != v {
			t.Fatalf("Open = %q, %v", got, err)
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	b := box(t, 1)
	sealed := b.Seal("app.secret", "value")
	flipped := []byte(sealed)
	flipped[len(flipped)-3] ^= 1
	for _, c := range []struct {
		name, field, v string
		b              *atrest.Box
	}{
		{"OtherField", "app.callback_token", sealed, b},
		{"OtherKey", "app.secret", sealed, box(t, 2)},
		{"Tampered", "app.secret", string(flipped), b},
		{"Truncated", "app.secret", sealed[:10], b},
		{"NoKey", "app.secret", sealed, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if v, err := c.b.Open(c.field, c.v); err == nil {
				t.Fatalf("opened as %q", v)
			}
		})
	}
}

// Values stored before sealing pass through Open unchanged (the zone seals
// them at start); empty values stay empty, meaning "none".
func TestPlainAndEmpty(t *testing.T) {
	b := box(t, 1)
	if v, err := b.Open("app.secret", "old-plain"); err != nil || v != "old-plain" {
		t.Fatalf("plain: %q %v", v, err)
	}
	if b.Seal("app.secret", "") != "" || b.SealBytes("x", nil) != nil {
		t.Fatal("empty sealed")
	}
	var nilBox *atrest.Box
	if nilBox.Seal("f", "v") != "v" {
		t.Fatal("a nil box changed a value")
	}
	k := []byte{1, 2, 3}
	got, err := b.OpenBytes("program_secret.secret_key", b.SealBytes("program_secret.secret_key", k))
	if err != nil || !bytes.Equal(got, k) {
		t.Fatalf("bytes: %v %v", got, err)
	}
	if _, err := atrest.New(make([]byte, 16)); err == nil {
		t.Fatal("a 16-byte key accepted")
	}
}
