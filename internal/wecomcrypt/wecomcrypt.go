// Package wecomcrypt implements WeCom's standard callback encryption
// (加解密方案, the scheme of WeCom's WXBizMsgCrypt libraries), with which
// WeCom posts callbacks to an app's URL — the zone's 应用接收专区通知
// (program_notify, docs/wecom.md) among them.
//
// The scheme:
//
//   - AESKey = base64decode(EncodingAESKey + "="): EncodingAESKey has 43
//     characters, AESKey 32 bytes (AES-256); IV = AESKey[:16].
//   - plaintext = random(16) || uint32 big-endian len(msg) || msg ||
//     receiveid (the corpid for a corp's own apps, the suiteid for a
//     suite's instruction callbacks).
//   - PKCS#7 padding to a multiple of 32 bytes (WeCom pads with a block
//     size of 32, not AES's 16), AES-256-CBC, then base64 (standard
//     alphabet, padded): that is Encrypt.
//   - msg_signature = hex(sha1(concatenation of the lexicographically
//     sorted [token, timestamp, nonce, Encrypt])).
//
// A callback is POST url?msg_signature=…&timestamp=…&nonce=… with the body
// <xml><ToUserName>corpid</ToUserName><Encrypt>…</Encrypt><AgentID>…</AgentID></xml>;
// WeCom checks a callback URL with GET url?msg_signature=…&timestamp=…&nonce=…&echostr=…,
// where echostr is an Encrypt whose plaintext the app must answer.
//
// Errors are sentinel *Error values carrying the error codes of WeCom's
// WXBizMsgCrypt libraries (-40001 …); use errors.Is.
package wecomcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// blockSize is the PKCS#7 block size of WeCom's scheme: 32, the length of
// the AES key, where PKCS#7 with AES would use 16.
const blockSize = 32

// Error is an error of the scheme, with the code WeCom's WXBizMsgCrypt
// libraries give it.
type Error struct {
	Code int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("wecomcrypt: %s (%d)", e.Msg, e.Code) }

// The errors, by WXBizMsgCrypt code. Returned errors wrap one of them with
// details; test with errors.Is.
var (
	ErrSignature  = &Error{-40001, "msg_signature mismatch"}               // ValidateSignatureError
	ErrXML        = &Error{-40002, "malformed callback XML"}               // ParseXmlError
	ErrKey        = &Error{-40004, "invalid EncodingAESKey"}               // IllegalAesKey
	ErrReceiveID  = &Error{-40005, "receiveid mismatch"}                   // ValidateCorpidError
	ErrCiphertext = &Error{-40007, "ciphertext is not whole AES blocks"}   // DecryptAESError
	ErrPadding    = &Error{-40007, "bad PKCS#7 padding"}                   // DecryptAESError
	ErrLength     = &Error{-40008, "message length out of range"}          // IllegalBuffer
	ErrBase64     = &Error{-40010, "Encrypt is not valid base64"}          // DecodeBase64Error
	ErrNotNotify  = &Error{-40002, "not a program_notify event message"}   // ParseXmlError
	ErrRandom     = &Error{-40006, "no randomness for the 16-byte prefix"} // EncryptAESError
)

// Crypto encrypts, decrypts and signs the callbacks of one app. Build it
// with New, which checks the key; a Crypto written as a literal works too
// but reports a bad key on first use.
type Crypto struct {
	// Token is the callback Token (set with the callback URL), which
	// signatures cover.
	Token string
	// EncodingAESKey is the callback EncodingAESKey: 43 base64 characters.
	EncodingAESKey string
	// ReceiveID closes every plaintext and is checked on decryption: the
	// corpid for a corp's apps (自建/代开发) and suite data callbacks, the
	// suiteid for suite instruction callbacks.
	ReceiveID string
	// AgentID, optional, is put in the <AgentID> of sealed callbacks
	// (WeCom sends it to a corp app's URL); omitted when empty.
	AgentID string

	key []byte // AESKey, set by New
}

// New returns the Crypto of an app's callback settings, checking the key.
func New(token, encodingAESKey, receiveID string) (*Crypto, error) {
	key, err := decodeKey(encodingAESKey)
	if err != nil {
		return nil, err
	}
	return &Crypto{Token: token, EncodingAESKey: encodingAESKey, ReceiveID: receiveID, key: key}, nil
}

// decodeKey returns the AESKey of an EncodingAESKey.
func decodeKey(encodingAESKey string) ([]byte, error) {
	if n := len(encodingAESKey); n != 43 {
		return nil, fmt.Errorf("%w: EncodingAESKey must have 43 characters, has %d", ErrKey, n)
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil {
		return nil, fmt.Errorf("%w: EncodingAESKey is not base64: %v", ErrKey, err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("%w: EncodingAESKey decodes to %d bytes, want 32", ErrKey, len(key))
	}
	return key, nil
}

// aesKey returns the AESKey, from New or decoded now.
func (c *Crypto) aesKey() ([]byte, error) {
	if c.key != nil {
		return c.key, nil
	}
	return decodeKey(c.EncodingAESKey)
}

// Encrypt returns the Encrypt of msg: random(16) || len || msg ||
// ReceiveID, padded to 32 bytes, AES-256-CBC, base64.
func (c *Crypto) Encrypt(msg []byte) (string, error) {
	key, err := c.aesKey()
	if err != nil {
		return "", err
	}
	n := 16 + 4 + len(msg) + len(c.ReceiveID)
	pad := blockSize - n%blockSize // 1…32: a whole block when aligned
	buf := make([]byte, n+pad)
	if _, err := rand.Read(buf[:16]); err != nil {
		return "", fmt.Errorf("%w: %v", ErrRandom, err)
	}
	binary.BigEndian.PutUint32(buf[16:20], uint32(len(msg)))
	copy(buf[20:], msg)
	copy(buf[20+len(msg):], c.ReceiveID)
	for i := n; i < len(buf); i++ {
		buf[i] = byte(pad)
	}
	block, _ := aes.NewCipher(key) // 32 bytes: cannot fail
	// A CBC BlockMode carries its IV from call to call: a fresh one each time.
	cipher.NewCBCEncrypter(block, key[:aes.BlockSize]).CryptBlocks(buf, buf)
	return base64.StdEncoding.EncodeToString(buf), nil
}

// Decrypt returns the message of an Encrypt, checking its padding, its
// length field and that its receiveid is ReceiveID.
//
// Padding is accepted from 1 to 32 bytes on any whole number of AES (16
// byte) blocks: WeCom pads to 32, some other implementations (go-wecom's
// wwcrypt) to 16; a padding byte outside 1…32, or padding bytes that
// differ, is ErrPadding.
func (c *Crypto) Decrypt(encrypt string) ([]byte, error) {
	key, err := c.aesKey()
	if err != nil {
		return nil, err
	}
	buf, err := base64.StdEncoding.DecodeString(encrypt)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBase64, err)
	}
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes", ErrCiphertext, len(buf))
	}
	block, _ := aes.NewCipher(key)
	cipher.NewCBCDecrypter(block, key[:aes.BlockSize]).CryptBlocks(buf, buf)

	pad := int(buf[len(buf)-1])
	if pad < 1 || pad > blockSize || pad > len(buf) {
		return nil, fmt.Errorf("%w: padding byte %d", ErrPadding, pad)
	}
	for _, b := range buf[len(buf)-pad:] {
		if int(b) != pad {
			return nil, fmt.Errorf("%w: padding bytes differ", ErrPadding)
		}
	}
	buf = buf[:len(buf)-pad]

	if len(buf) < 20 {
		return nil, fmt.Errorf("%w: plaintext has %d bytes, less than random(16) and length(4)", ErrLength, len(buf))
	}
	n := binary.BigEndian.Uint32(buf[16:20])
	rest := buf[20:]
	if uint64(n) > uint64(len(rest)) {
		return nil, fmt.Errorf("%w: length field %d, %d bytes follow", ErrLength, n, len(rest))
	}
	msg, rid := rest[:n], rest[n:]
	if string(rid) != c.ReceiveID {
		return nil, fmt.Errorf("%w: got %q, want %q", ErrReceiveID, rid, c.ReceiveID)
	}
	return msg, nil
}

// Signature returns msg_signature: hex(sha1(sorted [Token, timestamp,
// nonce, encrypt] concatenated)).
func (c *Crypto) Signature(timestamp, nonce, encrypt string) string {
	parts := []string{c.Token, timestamp, nonce, encrypt}
	slices.Sort(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// Verify reports whether sig is the msg_signature of timestamp, nonce and
// encrypt, in constant time.
func (c *Crypto) Verify(sig, timestamp, nonce, encrypt string) bool {
	want := c.Signature(timestamp, nonce, encrypt)
	return subtle.ConstantTimeCompare([]byte(sig), []byte(want)) == 1
}

// cdata is text written as <![CDATA[…]]>.
type cdata struct {
	Text string `xml:",cdata"`
}

// envelope is the body of a callback POST.
type envelope struct {
	XMLName    xml.Name `xml:"xml"`
	ToUserName cdata    `xml:"ToUserName"`
	Encrypt    cdata    `xml:"Encrypt"`
	AgentID    *cdata   `xml:"AgentID,omitempty"`
}

// SealCallback returns the query and body of the POST that delivers msg to
// the app's callback URL: msg_signature, timestamp and nonce; the XML
// envelope with ToUserName = ReceiveID, Encrypt, and AgentID when set. An
// empty nonce is replaced with a random one.
func (c *Crypto) SealCallback(msg []byte, timestamp int64, nonce string) (query url.Values, body []byte, err error) {
	enc, err := c.Encrypt(msg)
	if err != nil {
		return nil, nil, err
	}
	query = c.signedQuery(enc, timestamp, nonce)
	env := envelope{ToUserName: cdata{c.ReceiveID}, Encrypt: cdata{enc}}
	if c.AgentID != "" {
		env.AgentID = &cdata{c.AgentID}
	}
	body, err = xml.Marshal(env)
	if err != nil {
		return nil, nil, err
	}
	return query, body, nil
}

// SealVerifyURL returns the query of the GET with which WeCom checks a
// callback URL: msg_signature, timestamp, nonce and echostr (an Encrypt of
// echo). The URL passes if it answers echo. An empty nonce is replaced with
// a random one.
func (c *Crypto) SealVerifyURL(echo []byte, timestamp int64, nonce string) (url.Values, error) {
	enc, err := c.Encrypt(echo)
	if err != nil {
		return nil, err
	}
	q := c.signedQuery(enc, timestamp, nonce)
	q.Set("echostr", enc)
	return q, nil
}

// signedQuery returns msg_signature, timestamp and nonce for encrypt.
func (c *Crypto) signedQuery(encrypt string, timestamp int64, nonce string) url.Values {
	if nonce == "" {
		nonce = randomNonce()
	}
	ts := strconv.FormatInt(timestamp, 10)
	return url.Values{
		"msg_signature": {c.Signature(ts, nonce, encrypt)},
		"timestamp":     {ts},
		"nonce":         {nonce},
	}
}

// randomNonce returns 10 random decimal digits.
func randomNonce() string {
	var b [10]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	return string(b[:])
}

// OpenCallback checks and opens a callback POST: the Encrypt of the XML
// body must carry the query's msg_signature (over its timestamp and nonce)
// and decrypt to a message for ReceiveID, which it returns (the decrypted
// XML message).
func (c *Crypto) OpenCallback(query url.Values, body []byte) ([]byte, error) {
	var env envelope
	if err := xml.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrXML, err)
	}
	enc := strings.TrimSpace(env.Encrypt.Text)
	if enc == "" {
		return nil, fmt.Errorf("%w: no <Encrypt>", ErrXML)
	}
	if !c.Verify(query.Get("msg_signature"), query.Get("timestamp"), query.Get("nonce"), enc) {
		return nil, ErrSignature
	}
	return c.Decrypt(enc)
}

// VerifyURL answers WeCom's check of a callback URL (GET with
// msg_signature, timestamp, nonce, echostr): it verifies the signature
// over echostr and returns echostr decrypted, the body the app must answer
// with. Spaces in echostr are read as '+': a '+' sent without URL-encoding
// decodes to a space, and base64 has no spaces.
func (c *Crypto) VerifyURL(query url.Values) (echo []byte, err error) {
	enc := strings.ReplaceAll(query.Get("echostr"), " ", "+")
	if enc == "" {
		return nil, fmt.Errorf("%w: no echostr", ErrBase64)
	}
	if !c.Verify(query.Get("msg_signature"), query.Get("timestamp"), query.Get("nonce"), enc) {
		return nil, ErrSignature
	}
	return c.Decrypt(enc)
}
