package zonewire

import (
	"bytes"
	"testing"
)

// TestAppend: the append forms seal and open like Seal and Open, into the
// caller's buffer, reused across packets of different sizes.
func TestAppend(t *testing.T) {
	k := NewKeys(NewSecret(3))
	hd := Header{ProgramID: "prog", SecretVer: 3, RequestID: "r1", Timestamp: 1767225600}
	buf := make([]byte, 0, 64)
	out := make([]byte, 0, 64)
	for _, n := range []int{0, 1, 100, 70 << 10, 5} {
		pt := bytes.Repeat([]byte{'x'}, n)
		sealed := k.SealAppend(buf[:0], PurposeCall, hd, pt)
		if len(sealed) != BodyLen(n) {
			t.Fatalf("%d bytes sealed to %d, want %d", n, len(sealed), BodyLen(n))
		}
		got, err := k.OpenAppend(out[:0], PurposeCall, hd, sealed)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%d bytes: open = %d bytes, %v", n, len(got), err)
		}
		// Open and OpenAppend read each other's packets.
		if got, err := k.Open(PurposeCall, hd, sealed); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%d bytes: Open of SealAppend: %v", n, err)
		}
		buf, out = sealed[:0], got[:0]
	}
	// A prefix in dst is kept, not overwritten.
	sealed := k.SealAppend([]byte("head"), PurposeReply, hd, []byte("body"))
	if string(sealed[:4]) != "head" {
		t.Fatalf("SealAppend overwrote dst: %q", sealed[:4])
	}
	if got, err := k.OpenAppend([]byte("pre:"), PurposeReply, hd, sealed[4:]); err != nil || string(got) != "pre:body" {
		t.Fatalf("OpenAppend = %q, %v", got, err)
	}
	// Tampering is still refused.
	sealed = k.SealAppend(nil, PurposeCall, hd, []byte("x"))
	sealed[len(sealed)-1] ^= 1
	if _, err := k.OpenAppend(nil, PurposeCall, hd, sealed); err == nil {
		t.Fatal("tampered packet opened")
	}
}
