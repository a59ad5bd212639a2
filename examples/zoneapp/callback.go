package main

// This file is WeCom's standard callback scheme (加解密方案, what WeCom's
// WXBizMsgCrypt libraries implement), nothing zone-specific: the zone posts
// 应用接收专区通知 (program_notify) to the app's callback URL the way WeCom
// posts every callback. It only verifies and decrypts, which is all an app
// receiving callbacks needs; copy it, or use any WXBizMsgCrypt port.
//
//	AESKey    = base64decode(EncodingAESKey + "=")            32 bytes, IV = AESKey[:16]
//	plaintext = random(16) | uint32 BE len(msg) | msg | receiveid (the corpid)
//	Encrypt   = base64(AES-256-CBC(PKCS#7 padded to 32 bytes))
//	msg_signature = hex(sha1(sort(token, timestamp, nonce, Encrypt) joined))

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// callbackCrypto checks and decrypts the callbacks of one app.
type callbackCrypto struct {
	token     string // the callback Token
	key       []byte // AESKey, from the callback EncodingAESKey
	receiveID string // the corpid (a corp's own app)
}

func newCallbackCrypto(token, encodingAESKey, receiveID string) (*callbackCrypto, error) {
	if len(encodingAESKey) != 43 {
		return nil, fmt.Errorf("--aes-key: EncodingAESKey must have 43 characters, has %d", len(encodingAESKey))
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, errors.New("--aes-key: EncodingAESKey is not 43 base64 characters of a 32-byte key")
	}
	return &callbackCrypto{token: token, key: key, receiveID: receiveID}, nil
}

// signature returns msg_signature for timestamp, nonce and encrypt.
func (c *callbackCrypto) signature(timestamp, nonce, encrypt string) string {
	s := []string{c.token, timestamp, nonce, encrypt}
	slices.Sort(s)
	sum := sha1.Sum([]byte(strings.Join(s, "")))
	return hex.EncodeToString(sum[:])
}

// verify checks the query's msg_signature over encrypt.
func (c *callbackCrypto) verify(q url.Values, encrypt string) error {
	want := c.signature(q.Get("timestamp"), q.Get("nonce"), encrypt)
	if subtle.ConstantTimeCompare([]byte(q.Get("msg_signature")), []byte(want)) != 1 {
		return errors.New("msg_signature mismatch")
	}
	return nil
}

// decrypt returns the message inside an Encrypt.
func (c *callbackCrypto) decrypt(encrypt string) ([]byte, error) {
	buf, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil || len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, errors.New("Encrypt is not base64 of whole AES blocks")
	}
	block, _ := aes.NewCipher(c.key)
	cipher.NewCBCDecrypter(block, c.key[:16]).CryptBlocks(buf, buf)
	pad := int(buf[len(buf)-1])
	if pad < 1 || pad > 32 || pad > len(buf) {
		return nil, errors.New("bad padding")
	}
	for _, b := range buf[len(buf)-pad:] {
		if int(b) != pad {
			return nil, errors.New("bad padding")
		}
	}
	buf = buf[:len(buf)-pad]
	if len(buf) < 20 {
		return nil, errors.New("plaintext too short")
	}
	n := uint64(binary.BigEndian.Uint32(buf[16:20]))
	if n > uint64(len(buf)-20) {
		return nil, errors.New("bad message length")
	}
	msg, rid := buf[20:20+n], buf[20+n:]
	if string(rid) != c.receiveID {
		return nil, fmt.Errorf("message is for receiveid %q, not %q", rid, c.receiveID)
	}
	return msg, nil
}

// open checks and decrypts a callback POST: its XML body's Encrypt, signed
// by the query's msg_signature, timestamp and nonce.
func (c *callbackCrypto) open(q url.Values, body []byte) ([]byte, error) {
	var env struct {
		Encrypt string `xml:"Encrypt"`
	}
	if err := xml.Unmarshal(body, &env); err != nil || env.Encrypt == "" {
		return nil, errors.New("body is not <xml> with <Encrypt>")
	}
	if err := c.verify(q, env.Encrypt); err != nil {
		return nil, err
	}
	return c.decrypt(env.Encrypt)
}

// echo answers WeCom's check of the callback URL (GET with msg_signature,
// timestamp, nonce, echostr): echostr decrypted. A '+' that arrived
// unencoded reads as a space; base64 has none, so it is put back.
func (c *callbackCrypto) echo(q url.Values) ([]byte, error) {
	enc := strings.ReplaceAll(q.Get("echostr"), " ", "+")
	if err := c.verify(q, enc); err != nil {
		return nil, err
	}
	return c.decrypt(enc)
}
