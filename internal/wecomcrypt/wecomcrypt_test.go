package wecomcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// WeCom's published test values (回调 test tool and the WXBizMsgCrypt
// samples): token, EncodingAESKey and corpid.
const (
	wcToken   = "1372623149"
	wcKey     = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	wcCorpID  = "wx5823bf96d3bd56c7"
	wcEncrypt = "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)

func mustNew(t testing.TB, token, key, rid string) *Crypto {
	t.Helper()
	c, err := New(token, key, rid)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testKey is a valid EncodingAESKey (43 characters, 32 bytes).
var testKey = strings.TrimRight(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x5a}, 32)), "=")

// TestWeComVectors checks values WeCom published: the sample callback of
// the WXBizMsgCrypt libraries and URL-verification GETs whose echo is
// "ECHO".
func TestWeComVectors(t *testing.T) {
	c := mustNew(t, wcToken, wcKey, wcCorpID)

	const sig = "477715d11cdb4164915debcba66cb864d751f3e6"
	if got := c.Signature("1409659813", "QDG6eK", wcEncrypt); got != sig {
		t.Fatalf("Signature = %s, want %s", got, sig)
	}
	body := []byte("<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName><Encrypt><![CDATA[" + wcEncrypt + "]]></Encrypt><AgentID><![CDATA[218]]></AgentID></xml>")
	q := url.Values{"msg_signature": {sig}, "timestamp": {"1409659813"}, "nonce": {"QDG6eK"}}
	msg, err := c.OpenCallback(q, body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(msg, []byte("<xml>")) || !bytes.Contains(msg, []byte(wcCorpID)) {
		t.Fatalf("decrypted sample = %q", msg)
	}

	for _, raw := range []string{
		"msg_signature=6a27598fb5b01ee02684379a339fef6de65c83c2&timestamp=1629824456&nonce=bqe3yfbqfc7&echostr=22vyvcBQ1xafTSJuhMGQuFyOAh00m2enIATgo4R6SGHY%2FYhofNmfwCksP3OP0Gxnq%2BcqnJcuvUQtjSbEu60IUA%3D%3D",
		"msg_signature=e225d26d3bb4d06b4656f6b674e2143d4d35e81e&timestamp=1629822102&nonce=oduw1lq7iwp&echostr=teMozE0aNgDd2iKay6VOldGRKQXJbHsFqFc10Y4dYBE%2FMu%2B34X0Vd%2BKP6GoxWXGqYOC9bg4eSNw7d3d6awhm%2BA%3D%3D",
		// '+' not URL-encoded: decodes to ' ', which VerifyURL reads back as '+'.
		"msg_signature=c2273fb8ef29b1427a88b76b56036b76128c46d0&timestamp=1629824247&nonce=s8a61euba6m&echostr=fSW+704DFd+eE1SrOhMQ1kiV+t%2F5V7+cs8QIt6qD9xR44PgSlym1NtMvQYw5S+RKhQxdy3RNheLNHJuU+HGjHQ%3D%3D",
	} {
		q, err := url.ParseQuery(raw)
		if err != nil {
			t.Fatal(err)
		}
		echo, err := c.VerifyURL(q)
		if err != nil {
			t.Fatalf("VerifyURL(%s): %v", raw, err)
		}
		if string(echo) != "ECHO" {
			t.Fatalf("echo = %q, want ECHO", echo)
		}
	}
}

func TestNewKey(t *testing.T) {
	for _, tc := range []struct {
		name, key string
	}{
		{"empty", ""},
		{"42 chars", testKey[:42]},
		{"44 chars", testKey + "A"},
		{"not base64", "!" + testKey[1:]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New("T", tc.key, "ww1")
			if !errors.Is(err, ErrKey) {
				t.Fatalf("err = %v, want ErrKey", err)
			}
			if !strings.Contains(err.Error(), "EncodingAESKey") {
				t.Fatalf("error %q does not name the field", err)
			}
		})
	}
	// A literal Crypto reports a bad key on use.
	c := &Crypto{Token: "T", EncodingAESKey: "short", ReceiveID: "ww1"}
	if _, err := c.Encrypt([]byte("x")); !errors.Is(err, ErrKey) {
		t.Fatalf("Encrypt with bad literal key: %v", err)
	}
	if _, err := c.Decrypt("AAAA"); !errors.Is(err, ErrKey) {
		t.Fatalf("Decrypt with bad literal key: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	c := mustNew(t, "tok", testKey, "wwcorp")
	lit := &Crypto{Token: "tok", EncodingAESKey: testKey, ReceiveID: "wwcorp"} // no New
	for _, n := range []int{0, 1, 5, 6, 11, 12, 31, 32, 33, 100, 1000} {
		msg := bytes.Repeat([]byte("数"), n)[:n]
		enc, err := c.Encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.StdEncoding.DecodeString(enc)
		if len(raw)%32 != 0 {
			t.Fatalf("n=%d: ciphertext %d bytes, not a multiple of 32", n, len(raw))
		}
		for _, d := range []*Crypto{c, lit} {
			got, err := d.Decrypt(enc)
			if err != nil {
				t.Fatalf("n=%d: %v", n, err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("n=%d: got %q", n, got)
			}
		}
	}
	// Two encryptions of one message differ (random prefix).
	a, _ := c.Encrypt([]byte("same"))
	b, _ := c.Encrypt([]byte("same"))
	if a == b {
		t.Fatal("two encryptions are equal")
	}
}

func TestCallback(t *testing.T) {
	c := mustNew(t, "tok", testKey, "wwcorp")
	c.AgentID = "1000002"
	msg := EncodeProgramNotify("wwcorp", 1700000000, "nid-1", 7)

	q, body, err := c.SealCallback(msg, 1700000000, "n0nce")
	if err != nil {
		t.Fatal(err)
	}
	if q.Get("timestamp") != "1700000000" || q.Get("nonce") != "n0nce" || len(q.Get("msg_signature")) != 40 {
		t.Fatalf("query = %v", q)
	}
	for _, want := range []string{"<xml>", "<ToUserName><![CDATA[wwcorp]]></ToUserName>", "<Encrypt><![CDATA[", "<AgentID><![CDATA[1000002]]></AgentID>"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Fatalf("body %s lacks %s", body, want)
		}
	}
	got, err := c.OpenCallback(q, body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("OpenCallback = %s", got)
	}

	// No AgentID: element omitted; empty nonce: a random one.
	c.AgentID = ""
	q2, body2, err := c.SealCallback(msg, 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body2, []byte("AgentID")) || q2.Get("nonce") == "" {
		t.Fatalf("body %s, query %v", body2, q2)
	}

	// URL verification.
	vq, err := c.SealVerifyURL([]byte("12345"), 1700000000, "")
	if err != nil {
		t.Fatal(err)
	}
	echo, err := c.VerifyURL(vq)
	if err != nil || string(echo) != "12345" {
		t.Fatalf("VerifyURL = %q, %v", echo, err)
	}
}

func TestOpenCallbackErrors(t *testing.T) {
	c := mustNew(t, "tok", testKey, "wwcorp")
	other := mustNew(t, "tok", testKey, "wwother")
	msg := []byte("<xml>hi</xml>")
	q, body, err := c.SealCallback(msg, 1700000000, "n")
	if err != nil {
		t.Fatal(err)
	}
	tamper := func(k, v string) url.Values {
		q2 := url.Values{}
		for kk, vv := range q {
			q2[kk] = append([]string(nil), vv...)
		}
		q2.Set(k, v)
		return q2
	}
	flipped := []byte(q.Get("msg_signature"))
	flipped[0] ^= 1

	for _, tc := range []struct {
		name  string
		c     *Crypto
		query url.Values
		body  []byte
		want  error
	}{
		{"tampered signature", c, tamper("msg_signature", string(flipped)), body, ErrSignature},
		{"tampered timestamp", c, tamper("timestamp", "1700000001"), body, ErrSignature},
		{"tampered nonce", c, tamper("nonce", "m"), body, ErrSignature},
		{"wrong token", mustNew(t, "other", testKey, "wwcorp"), q, body, ErrSignature},
		{"no signature", c, url.Values{}, body, ErrSignature},
		{"wrong receiveid", other, q, body, ErrReceiveID},
		{"not XML", c, q, []byte("garbage"), ErrXML},
		{"no Encrypt", c, q, []byte("<xml><ToUserName>x</ToUserName></xml>"), ErrXML},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.OpenCallback(tc.query, tc.body)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// encryptRaw encrypts plaintext as is (no framing, no padding) with the
// scheme's key and IV, to build malformed ciphertexts.
func encryptRaw(t *testing.T, encodingAESKey string, plain []byte) string {
	t.Helper()
	key, err := decodeKey(encodingAESKey)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, key[:16]).CryptBlocks(out, plain)
	return base64.StdEncoding.EncodeToString(out)
}

// frame returns random(16) || len || msg || rid.
func frame(msg, rid string, length uint32) []byte {
	b := make([]byte, 20, 20+len(msg)+len(rid))
	binary.BigEndian.PutUint32(b[16:], length)
	return append(append(b, msg...), rid...)
}

// pad appends PKCS#7 padding to a multiple of block.
func pad(b []byte, block int) []byte {
	n := block - len(b)%block
	return append(b, bytes.Repeat([]byte{byte(n)}, n)...)
}

func TestDecryptErrors(t *testing.T) {
	c := mustNew(t, "tok", testKey, "wwcorp")
	good := frame("hello", "wwcorp", 5)

	badPadByte := pad(append([]byte(nil), good...), 32)
	badPadByte[len(badPadByte)-1] = 0
	longPad := pad(frame("hello!!", "wwcorp", 7), 32) // 33 → pad 31
	longPad[len(longPad)-5] = 3
	big := pad(append([]byte(nil), good...), 16)
	big = append(big[:len(big)-1], 33) // padding byte > 32

	for _, tc := range []struct {
		name    string
		encrypt string
		want    error
	}{
		{"not base64", "%%%", ErrBase64},
		{"empty", "", ErrCiphertext},
		{"not whole blocks", base64.StdEncoding.EncodeToString(make([]byte, 20)), ErrCiphertext},
		{"padding byte 0", encryptRaw(t, testKey, badPadByte), ErrPadding},
		{"padding byte 33", encryptRaw(t, testKey, big), ErrPadding},
		{"padding bytes differ", encryptRaw(t, testKey, longPad), ErrPadding},
		{"too short", encryptRaw(t, testKey, pad(make([]byte, 10), 16)), ErrLength},
		{"length field too large", encryptRaw(t, testKey, pad(frame("hello", "wwcorp", 1000), 32)), ErrLength},
		{"length field huge", encryptRaw(t, testKey, pad(frame("hello", "wwcorp", 0xffffffff), 32)), ErrLength},
		{"wrong receiveid", encryptRaw(t, testKey, pad(frame("hello", "wwelse", 5), 32)), ErrReceiveID},
		{"length eats receiveid", encryptRaw(t, testKey, pad(frame("hello", "wwcorp", 11), 32)), ErrReceiveID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Decrypt(tc.encrypt)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// Padding to 16 (other implementations) is accepted, as is 32.
	for _, block := range []int{16, 32} {
		got, err := c.Decrypt(encryptRaw(t, testKey, pad(frame("hello", "wwcorp", 5), block)))
		if err != nil || string(got) != "hello" {
			t.Fatalf("block %d: %q, %v", block, got, err)
		}
	}
}

func TestVerify(t *testing.T) {
	c := mustNew(t, "tok", testKey, "wwcorp")
	sig := c.Signature("1", "n", "E")
	if !c.Verify(sig, "1", "n", "E") {
		t.Fatal("Verify rejects its own signature")
	}
	for _, bad := range []string{"", sig[:39], sig + "0", strings.ToUpper(sig)} {
		if c.Verify(bad, "1", "n", "E") {
			t.Fatalf("Verify accepts %q", bad)
		}
	}
	// The order of the four values does not matter: they are sorted.
	c2 := mustNew(t, "E", testKey, "wwcorp")
	if c2.Signature("1", "n", "tok") != sig {
		t.Fatal("signature depends on argument order")
	}
}

func TestProgramNotify(t *testing.T) {
	b := EncodeProgramNotify("wwcorp", 1700000000, "nid-<&]]>-1", 3)
	want := "<xml><ToUserName><![CDATA[wwcorp]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName>" +
		"<CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[program_notify]]></Event>" +
		"<NotifyId><![CDATA[nid-<&]]]]><![CDATA[>-1]]></NotifyId><NotifyScene>3</NotifyScene></xml>"
	if string(b) != want {
		t.Fatalf("EncodeProgramNotify =\n%s\nwant\n%s", b, want)
	}
	p, err := DecodeProgramNotify(b)
	if err != nil {
		t.Fatal(err)
	}
	exp := ProgramNotify{"wwcorp", "sys", 1700000000, "event", "program_notify", "nid-<&]]>-1", 3}
	if *p != exp {
		t.Fatalf("decoded %+v, want %+v", *p, exp)
	}

	for _, tc := range []struct {
		name, msg string
		want      error
	}{
		{"not XML", "nope", ErrXML},
		{"text message", "<xml><MsgType><![CDATA[text]]></MsgType><Content>hi</Content></xml>", ErrNotNotify},
		{"other event", "<xml><MsgType>event</MsgType><Event>enter_agent</Event></xml>", ErrNotNotify},
		{"no NotifyId", "<xml><MsgType>event</MsgType><Event>program_notify</Event></xml>", ErrXML},
		{"bad scene", "<xml><MsgType>event</MsgType><Event>program_notify</Event><NotifyId>n</NotifyId><NotifyScene>x</NotifyScene></xml>", ErrXML},
		{"bad time", "<xml><MsgType>event</MsgType><Event>program_notify</Event><NotifyId>n</NotifyId><CreateTime>x</CreateTime></xml>", ErrXML},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodeProgramNotify([]byte(tc.msg)); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzDecrypt: Decrypt never panics, and what it accepts it returns within
// the ciphertext's length.
func FuzzDecrypt(f *testing.F) {
	c := mustNew(f, "tok", testKey, "wwcorp")
	for _, msg := range []string{"", "hello", strings.Repeat("x", 100)} {
		enc, err := c.Encrypt([]byte(msg))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(enc)
	}
	f.Add("")
	f.Add("AAAA")
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	f.Fuzz(func(t *testing.T, s string) {
		msg, err := c.Decrypt(s)
		if err == nil && len(msg) > len(s) {
			t.Fatalf("message longer than its ciphertext")
		}
		// Arbitrary bytes as ciphertext, and as plaintext (so that the
		// padding and framing checks see chosen bytes).
		if raw := []byte(s); len(raw) >= 16 {
			raw = raw[:len(raw)/16*16]
			c.Decrypt(base64.StdEncoding.EncodeToString(raw))
			msg, err := c.Decrypt(encryptRaw(t, testKey, raw))
			if err == nil && len(msg) > len(raw)-20-len("wwcorp") {
				t.Fatalf("accepted %d-byte message from %d bytes", len(msg), len(raw))
			}
		}
	})
}
