package main

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"net/url"
	"strings"
	"testing"
)

// The example's inline callback decryption against internal/wecomcrypt
// (which compat/ checks against an independent implementation).

func TestCallbackCryptoOpensWecomcrypt(t *testing.T) {
	zc := zoneCrypto(t, "wwcorp")
	cb, err := newCallbackCrypto(testToken, testAESKey, "wwcorp")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 1, 5, 6, 12, 31, 32, 33, 500} {
		msg := bytes.Repeat([]byte("x"), n)
		q, body, err := zc.SealCallback(msg, 1700000000, "")
		if err != nil {
			t.Fatal(err)
		}
		got, err := cb.open(q, body)
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("n=%d: %q", n, got)
		}
		if cb.signature(q.Get("timestamp"), q.Get("nonce"), zcEncrypt(t, body)) != q.Get("msg_signature") {
			t.Fatalf("n=%d: signatures differ", n)
		}
	}
	q, err := zc.SealVerifyURL([]byte("echo!"), 1, "n")
	if err != nil {
		t.Fatal(err)
	}
	if echo, err := cb.echo(q); err != nil || string(echo) != "echo!" {
		t.Fatalf("echo = %q, %v", echo, err)
	}
	// '+' sent unencoded arrives as ' '.
	raw := strings.ReplaceAll(q.Encode(), "%2B", "+")
	q2, _ := url.ParseQuery(raw)
	if echo, err := cb.echo(q2); err != nil || string(echo) != "echo!" {
		t.Fatalf("echo with unencoded '+' = %q, %v", echo, err)
	}
}

func zcEncrypt(t *testing.T, body []byte) string {
	t.Helper()
	i, j := bytes.Index(body, []byte("<Encrypt><![CDATA[")), bytes.Index(body, []byte("]]></Encrypt>"))
	if i < 0 || j < i {
		t.Fatalf("no Encrypt in %s", body)
	}
	return string(body[i+len("<Encrypt><![CDATA[") : j])
}

// rawEncrypt encrypts a chosen plaintext (no framing or padding added).
func rawEncrypt(t *testing.T, plain []byte) string {
	key, _ := base64.StdEncoding.DecodeString(testAESKey + "=")
	block, _ := aes.NewCipher(key)
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}

func framed(msg, rid string, n uint32, padTo int, padByte int) []byte {
	b := make([]byte, 20, 64)
	binary.BigEndian.PutUint32(b[16:], n)
	b = append(append(b, msg...), rid...)
	p := padTo - len(b)%padTo
	for range p {
		b = append(b, byte(p))
	}
	if padByte >= 0 {
		b[len(b)-1] = byte(padByte)
	}
	return b
}

func TestCallbackCryptoRefuses(t *testing.T) {
	cb, err := newCallbackCrypto(testToken, testAESKey, "wwcorp")
	if err != nil {
		t.Fatal(err)
	}
	zc := zoneCrypto(t, "wwcorp")
	q, body, _ := zc.SealCallback([]byte("<xml/>"), 1700000000, "n")
	enc := zcEncrypt(t, body)
	sign := func(enc string) url.Values {
		return url.Values{"msg_signature": {cb.signature("1", "n", enc)}, "timestamp": {"1"}, "nonce": {"n"}}
	}
	env := func(enc string) []byte { return []byte("<xml><Encrypt><![CDATA[" + enc + "]]></Encrypt></xml>") }

	tampered := url.Values{"msg_signature": {cb.signature("2", "n", enc)}, "timestamp": {"1"}, "nonce": {"n"}}
	for _, tc := range []struct {
		name  string
		query url.Values
		body  []byte
		want  string
	}{
		{"ok", q, body, ""},
		{"tampered signature", tampered, body, "msg_signature"},
		{"wrong receiveid", sign(rawEncrypt(t, framed("hi", "wwelse", 2, 32, -1))), env(rawEncrypt(t, framed("hi", "wwelse", 2, 32, -1))), "receiveid"},
		{"bad padding 0", sign(rawEncrypt(t, framed("hi", "wwcorp", 2, 32, 0))), env(rawEncrypt(t, framed("hi", "wwcorp", 2, 32, 0))), "padding"},
		{"bad padding 40", sign(rawEncrypt(t, framed("hi", "wwcorp", 2, 32, 40))), env(rawEncrypt(t, framed("hi", "wwcorp", 2, 32, 40))), "padding"},
		{"length too large", sign(rawEncrypt(t, framed("hi", "wwcorp", 99, 32, -1))), env(rawEncrypt(t, framed("hi", "wwcorp", 99, 32, -1))), "length"},
		{"not base64", sign("%%"), env("%%"), "base64"},
		{"no envelope", q, []byte("nope"), "<Encrypt>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cb.open(tc.query, tc.body)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}

	for _, k := range []string{"", testAESKey[:42], testAESKey + "A", "!" + testAESKey[1:]} {
		if _, err := newCallbackCrypto("t", k, "c"); err == nil || !strings.Contains(err.Error(), "--aes-key") {
			t.Fatalf("key %q: %v", k, err)
		}
	}
	// WeCom's published sample (test tool values) opens too.
	wc, _ := newCallbackCrypto("1372623149", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7")
	vq, _ := url.ParseQuery("msg_signature=6a27598fb5b01ee02684379a339fef6de65c83c2&timestamp=1629824456&nonce=bqe3yfbqfc7&echostr=22vyvcBQ1xafTSJuhMGQuFyOAh00m2enIATgo4R6SGHY%2FYhofNmfwCksP3OP0Gxnq%2BcqnJcuvUQtjSbEu60IUA%3D%3D")
	if echo, err := wc.echo(vq); err != nil || string(echo) != "ECHO" {
		t.Fatalf("WeCom sample: %q, %v", echo, err)
	}
}
