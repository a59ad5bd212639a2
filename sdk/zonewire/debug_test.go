package zonewire

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"testing"
)

func TestDebugInfo(t *testing.T) {
	got := DebugInfo("prog-echo", "wwdemo", 1000002, 1234567890)
	want := "openzone debug secret v1\x00prog-echo\x00wwdemo\x001000002\x001234567890"
	if string(got) != want {
		t.Errorf("DebugInfo = %q, want %q", got, want)
	}
	// The bytes of §15.1, spelt out.
	wantHex := "6f70656e7a6f6e6520646562756720736563726574207631" + // "openzone debug secret v1"
		"00" + "70726f672d6563686f" + // prog-echo
		"00" + "777764656d6f" + // wwdemo
		"00" + "31303030303032" + // 1000002
		"00" + "31323334353637383930" // 1234567890
	if hex.EncodeToString(got) != wantHex {
		t.Errorf("DebugInfo = %x, want %s", got, wantHex)
	}
}

func newX25519(t *testing.T) *ecdh.PrivateKey {
	t.Helper()
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestDebugSecret_RoundTrip(t *testing.T) {
	priv := newX25519(t)
	sec := NewSecret(DebugSecretVerMin + 7)
	sealed, err := SealDebugSecret(priv.PublicKey(), sec, "prog-echo", "wwdemo", 1000002)
	if err != nil {
		t.Fatalf("SealDebugSecret: %v", err)
	}
	if len(sealed) != 80 {
		t.Errorf("sealed secret is %d bytes, want 80 (enc 32 || ciphertext 32 || tag 16)", len(sealed))
	}
	if bytes.Contains(sealed, sec.Key[:]) {
		t.Error("sealed secret contains the secret in clear")
	}
	got, err := OpenDebugSecret(priv, sealed, "prog-echo", "wwdemo", 1000002, sec.Ver)
	if err != nil {
		t.Fatalf("OpenDebugSecret: %v", err)
	}
	if got != sec {
		t.Errorf("opened %d, want the sealed secret %d", got.Ver, sec.Ver)
	}
	// Encapsulation is randomized.
	again, err := SealDebugSecret(priv.PublicKey(), sec, "prog-echo", "wwdemo", 1000002)
	if err != nil || bytes.Equal(again, sealed) {
		t.Errorf("two seals of one secret are equal (err %v)", err)
	}
}

func TestDebugSecret_Refused(t *testing.T) {
	priv := newX25519(t)
	const ver = DebugSecretVerMin + 7
	sec := NewSecret(ver)
	sealed, err := SealDebugSecret(priv.PublicKey(), sec, "prog-echo", "wwdemo", 1000002)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) []byte {
		b := bytes.Clone(sealed)
		b[i] ^= 1
		return b
	}
	p256, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		priv    *ecdh.PrivateKey
		sealed  []byte
		program string
		corp    string
		agent   int64
		ver     int
		want    int
	}{
		{"OtherProgram", priv, sealed, "prog-other", "wwdemo", 1000002, ver, ExcAuth},
		{"OtherCorp", priv, sealed, "prog-echo", "wwother", 1000002, ver, ExcAuth},
		{"OtherAgent", priv, sealed, "prog-echo", "wwdemo", 1000003, ver, ExcAuth},
		{"OtherVersion", priv, sealed, "prog-echo", "wwdemo", 1000002, ver + 1, ExcAuth},
		{"OtherKey", newX25519(t), sealed, "prog-echo", "wwdemo", 1000002, ver, ExcAuth},
		{"FlippedEnc", priv, flip(0), "prog-echo", "wwdemo", 1000002, ver, ExcAuth},
		{"FlippedCiphertext", priv, flip(40), "prog-echo", "wwdemo", 1000002, ver, ExcAuth},
		{"FlippedTag", priv, flip(79), "prog-echo", "wwdemo", 1000002, ver, ExcAuth},
		{"Truncated", priv, sealed[:79], "prog-echo", "wwdemo", 1000002, ver, ExcMalformed},
		{"TruncatedToEnc", priv, sealed[:32], "prog-echo", "wwdemo", 1000002, ver, ExcMalformed},
		{"Empty", priv, nil, "prog-echo", "wwdemo", 1000002, ver, ExcMalformed},
		{"Longer", priv, append(bytes.Clone(sealed), 0), "prog-echo", "wwdemo", 1000002, ver, ExcMalformed},
		{"ProductionVersion", priv, sealed, "prog-echo", "wwdemo", 1000002, 1, ExcMalformed},
		{"EmptyCorp", priv, sealed, "prog-echo", "", 1000002, ver, ExcMalformed},
		{"NilKey", nil, sealed, "prog-echo", "wwdemo", 1000002, ver, ExcMalformed},
		{"P256Key", p256, sealed, "prog-echo", "wwdemo", 1000002, ver, ExcMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := OpenDebugSecret(tc.priv, tc.sealed, tc.program, tc.corp, tc.agent, tc.ver)
			if err == nil {
				t.Fatalf("opened: %d", got.Ver)
			}
			if code := ExceptionCode(err); code != tc.want {
				t.Errorf("err = %v (%d), want code %d", err, code, tc.want)
			}
			if got != (Secret{}) {
				t.Error("a refused secret is not the zero Secret")
			}
		})
	}
}

func TestSealDebugSecret_Errors(t *testing.T) {
	priv := newX25519(t)
	p256, _ := ecdh.P256().GenerateKey(rand.Reader)
	for name, f := range map[string]func() ([]byte, error){
		"NilKey": func() ([]byte, error) { return SealDebugSecret(nil, NewSecret(DebugSecretVerMin), "p", "c", 1) },
		"P256": func() ([]byte, error) {
			return SealDebugSecret(p256.PublicKey(), NewSecret(DebugSecretVerMin), "p", "c", 1)
		},
		"ProdVer": func() ([]byte, error) { return SealDebugSecret(priv.PublicKey(), NewSecret(1), "p", "c", 1) },
		"NoProgram": func() ([]byte, error) {
			return SealDebugSecret(priv.PublicKey(), NewSecret(DebugSecretVerMin), "", "c", 1)
		},
		"NULInCorp": func() ([]byte, error) {
			return SealDebugSecret(priv.PublicKey(), NewSecret(DebugSecretVerMin), "p", "c\x00d", 1)
		},
		"VerTooHigh": func() ([]byte, error) {
			return SealDebugSecret(priv.PublicKey(), Secret{Ver: maxSecretVer + 1}, "p", "c", 1)
		},
	} {
		if b, err := f(); err == nil || ExceptionCode(err) != ExcMalformed {
			t.Errorf("%s: %x, %v; want an ExcMalformed error", name, b, err)
		}
	}
}
