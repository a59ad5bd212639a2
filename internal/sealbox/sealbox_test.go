package sealbox

import (
	"bytes"
	"testing"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	key := bytes.Repeat([]byte{7}, 32)
	b := New(key, "media")
	ct := b.Seal("m1", []byte("hello"))
	if pt, err := b.Open("m1", ct); err != nil || string(pt) != "hello" {
		t.Fatalf("Open = %q, %v", pt, err)
	}
	for name, open := range map[string]func() ([]byte, error){
		"OtherAAD":     func() ([]byte, error) { return b.Open("m2", ct) },
		"OtherPurpose": func() ([]byte, error) { return New(key, "kb").Open("m1", ct) },
		"Short":        func() ([]byte, error) { return b.Open("m1", ct[:5]) },
	} {
		if _, err := open(); err != ErrOpen {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
}
