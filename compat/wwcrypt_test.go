package compat

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/wecomcrypt"
	"github.com/wenerme/go-wecom/wwcrypt"
)

// An independent implementation of WeCom's callback crypto (go-wecom's
// wwcrypt) and ours must agree in both directions: what the zone seals for
// an app's callback URL, an app using wwcrypt verifies and decrypts; what
// wwcrypt seals, internal/wecomcrypt verifies and decrypts.

const (
	ccToken  = "zoneCallbackToken"
	ccCorpID = "wwcompat"
)

// ccKey is a random-looking valid EncodingAESKey (43 characters).
var ccKey = strings.TrimRight(base64.StdEncoding.EncodeToString([]byte("0123456789abcdefOpenZone-compat!")), "=")

// ccMessages are plaintexts whose framed length (16 + 4 + len + len
// corpid) is not a multiple of 16; see TestWWCryptAlignedPlaintext for
// the others.
var ccMessages = [][]byte{
	[]byte("<xml>x</xml>"),
	wecomcrypt.EncodeProgramNotify(ccCorpID, 1700000000, "nid-compat-1", 0),
	wecomcrypt.EncodeProgramNotify(ccCorpID, 1700000001, strings.Repeat("n", 64), 255),
	[]byte("中文 " + strings.Repeat("长消息", 200)),
	{},
}

func ours(t *testing.T, receiveID string) *wecomcrypt.Crypto {
	t.Helper()
	c, err := wecomcrypt.New(ccToken, ccKey, receiveID)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// aligned reports whether wwcrypt would leave msg unpadded.
func aligned(msg []byte, receiveID string) bool {
	return (16+4+len(msg)+len(receiveID))%16 == 0
}

// TestWWCryptOpensOurs: callbacks sealed by internal/wecomcrypt pass
// wwcrypt's signature check and decrypt under wwcrypt, as the XML body
// (DecryptMessage) and as Encrypt (Crypto.Verify).
func TestWWCryptOpensOurs(t *testing.T) {
	c := ours(t, ccCorpID)
	c.AgentID = "1000002"
	ww := &wwcrypt.Crypto{ReceiveID: ccCorpID, Token: ccToken, EncodingAESKey: ccKey}
	for i, msg := range ccMessages {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			q, body, err := c.SealCallback(msg, 1700000000+int64(i), "")
			if err != nil {
				t.Fatal(err)
			}
			env, err := wwcrypt.DecryptMessage(ccKey, body)
			if err != nil {
				t.Fatalf("wwcrypt.DecryptMessage: %v", err)
			}
			if env.ToUsername != ccCorpID || env.AgentID != "1000002" {
				t.Fatalf("envelope ToUserName %q AgentID %q", env.ToUsername, env.AgentID)
			}
			if env.Content.ReceiverID != ccCorpID || !bytes.Equal(env.Content.Content, msg) {
				t.Fatalf("wwcrypt content = %q (receiver %q)", env.Content.Content, env.Content.ReceiverID)
			}
			sig, ts, nonce := q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce")
			if got := ww.Signature(ts, nonce, env.Encrypt); got != sig {
				t.Fatalf("wwcrypt signature %s, ours %s", got, sig)
			}
			got, err := ww.Verify(sig, ts, nonce, env.Encrypt)
			if err != nil {
				t.Fatalf("wwcrypt Verify: %v", err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("wwcrypt Verify = %q", got)
			}
			// A signature over other values fails in wwcrypt too.
			if _, err := ww.Verify(sig, ts+"1", nonce, env.Encrypt); err == nil {
				t.Fatal("wwcrypt accepts a signature over another timestamp")
			}
		})
	}

	// URL verification: wwcrypt answers our echostr.
	q, err := c.SealVerifyURL([]byte("echo-1234567890"), 1700000000, "nonce1")
	if err != nil {
		t.Fatal(err)
	}
	echo, err := ww.Verify(q.Get("msg_signature"), q.Get("timestamp"), q.Get("nonce"), q.Get("echostr"))
	if err != nil || string(echo) != "echo-1234567890" {
		t.Fatalf("wwcrypt echo = %q, %v", echo, err)
	}

	// Another receiveid: wwcrypt refuses.
	other := &wwcrypt.Crypto{ReceiveID: "wwother", Token: ccToken, EncodingAESKey: ccKey}
	_, body, _ := c.SealCallback(ccMessages[0], 1, "n")
	env, err := wwcrypt.DecryptMessage(ccKey, body)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(env.Encrypt)
	if _, err := other.DecryptMessage(raw); err == nil {
		t.Fatal("wwcrypt decrypts a message for another receiveid")
	}
}

// wwSeal seals msg as an app server using wwcrypt would: Encrypt,
// signature, XML body.
func wwSeal(t *testing.T, ww *wwcrypt.Crypto, msg []byte, ts, nonce string) (url.Values, []byte, string) {
	t.Helper()
	raw, err := ww.EncryptMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.StdEncoding.EncodeToString(raw)
	q := url.Values{"msg_signature": {ww.Signature(ts, nonce, enc)}, "timestamp": {ts}, "nonce": {nonce}}
	body := fmt.Appendf(nil, "<xml><ToUserName><![CDATA[%s]]></ToUserName><Encrypt><![CDATA[%s]]></Encrypt><AgentID><![CDATA[1000002]]></AgentID></xml>", ww.ReceiveID, enc)
	return q, body, enc
}

// TestOursOpensWWCrypt: callbacks sealed with wwcrypt pass our signature
// check and decrypt under internal/wecomcrypt. One wwcrypt.Crypto seals
// them all: it reuses its CBC encrypter, so every message after the first
// is encrypted under a chained IV — which garbles only the random 16-byte
// prefix on decryption, so it is harmless and must be accepted.
func TestOursOpensWWCrypt(t *testing.T) {
	c := ours(t, ccCorpID)
	ww := &wwcrypt.Crypto{ReceiveID: ccCorpID, Token: ccToken, EncodingAESKey: ccKey}
	for i, msg := range ccMessages {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			ts, nonce := fmt.Sprint(1700000000+i), fmt.Sprint("nonce", i)
			q, body, enc := wwSeal(t, ww, msg, ts, nonce)
			if got := c.Signature(ts, nonce, enc); got != q.Get("msg_signature") {
				t.Fatalf("our signature %s, wwcrypt %s", got, q.Get("msg_signature"))
			}
			if !c.Verify(q.Get("msg_signature"), ts, nonce, enc) {
				t.Fatal("Verify rejects wwcrypt's signature")
			}
			got, err := c.OpenCallback(q, body)
			if err != nil {
				t.Fatalf("OpenCallback: %v", err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatalf("OpenCallback = %q", got)
			}
			if i == 1 || i == 2 {
				p, err := wecomcrypt.DecodeProgramNotify(got)
				if err != nil || p.ToUserName != ccCorpID || p.Event != "program_notify" {
					t.Fatalf("DecodeProgramNotify = %+v, %v", p, err)
				}
			}
			// Tampered signature, other receiveid: refused.
			q2 := url.Values{"msg_signature": {ww.Signature(ts, nonce+"x", enc)}, "timestamp": {ts}, "nonce": {nonce}}
			if _, err := c.OpenCallback(q2, body); !errors.Is(err, wecomcrypt.ErrSignature) {
				t.Fatalf("tampered: %v", err)
			}
			if _, err := ours(t, "wwother").OpenCallback(q, body); !errors.Is(err, wecomcrypt.ErrReceiveID) {
				t.Fatalf("other receiveid: %v", err)
			}
		})
	}

	// URL verification: we answer wwcrypt's echostr.
	q, _, enc := wwSeal(t, ww, []byte("9876543210"), "1700000000", "n")
	q.Set("echostr", enc)
	echo, err := c.VerifyURL(q)
	if err != nil || string(echo) != "9876543210" {
		t.Fatalf("VerifyURL = %q, %v", echo, err)
	}
}

// TestWWCryptAlignedPlaintext documents the one divergence: wwcrypt pads
// to 16-byte blocks and adds no padding at all when the framed plaintext
// is already a multiple of 16, which is not PKCS#7 (WeCom pads to 32 and
// always adds 1…32 bytes). Such a ciphertext ends in receiveid bytes, not
// padding, and internal/wecomcrypt refuses it as ErrPadding rather than
// guess; WeCom itself never produces it.
func TestWWCryptAlignedPlaintext(t *testing.T) {
	c := ours(t, ccCorpID)
	ww := &wwcrypt.Crypto{ReceiveID: ccCorpID, Token: ccToken, EncodingAESKey: ccKey}
	msg := []byte("01234567890123456789")
	if !aligned(msg, ccCorpID) {
		t.Fatalf("test message is not aligned: %d", 16+4+len(msg)+len(ccCorpID))
	}
	for _, m := range ccMessages {
		if aligned(m, ccCorpID) {
			t.Fatalf("ccMessages holds an aligned message (%d bytes)", len(m))
		}
	}
	q, body, _ := wwSeal(t, ww, msg, "1", "n")
	if _, err := c.OpenCallback(q, body); !errors.Is(err, wecomcrypt.ErrPadding) {
		t.Fatalf("OpenCallback of unpadded wwcrypt output: %v, want ErrPadding", err)
	}
	// In the other direction there is no such case: ours always pads.
	_, body, _ = c.SealCallback(msg, 1, "n")
	env, err := wwcrypt.DecryptMessage(ccKey, body)
	if err != nil || !bytes.Equal(env.Content.Content, msg) {
		t.Fatalf("wwcrypt of our aligned message: %v", err)
	}
}
