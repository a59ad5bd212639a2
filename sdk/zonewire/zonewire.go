// Package zonewire implements the OpenZone packet protocol v2, the sealed
// format of every packet between the zone and a program (docs/protocol.md).
//
// A program secret is 32 random bytes with a version. For each purpose
// (call, reply, invoke, result, log) a 256-bit key is derived from it with
// HKDF-SHA256, and a body is sealed with AES-256-GCM under a fresh 96-bit
// nonce; the body travels as one line of base64 text. The additional data binds the protocol version, the purpose, the
// program id, the secret version, the request id and the timestamp, so a
// packet opens only in the direction, program and request it was made for.
//
// A receiver checks a request in this order: ReadHeader, Keys.Open (secret
// version, then authentication), then Guard.Check (timestamp, then replay),
// answering a failure with the ww-exception code of the error
// (ExceptionCode). A reply is sealed under the request's Header with
// PurposeReply (or PurposeResult), and the requester opens it with the
// Header it sent.
//
// The zone has its own implementation (internal/wire); both check the test
// vectors in testdata/vectors.json.
package zonewire

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Version is the protocol version carried in the additional data and the
// HKDF salt.
const Version = 2

// Header names. They are lower-case on the wire, like WeCom's ww-* headers.
// Go's net/http canonicalises received names (Ww-Secret-Ver), and other
// stacks may change their case too: ReadHeader matches them in any case.
const (
	HeaderSecretVer = "ww-secret-ver"
	HeaderRequestID = "ww-request-id"
	HeaderTimestamp = "ww-timestamp"
	HeaderProgramID = "ww-program-id"
	HeaderException = "ww-exception"
)

// ContentType is the media type of a sealed body: one line of standard
// base64, so that programs that hand their SDK the body as a string carry it
// intact.
const ContentType = "text/plain; charset=utf-8"

// Window is how far a packet's timestamp may be from the receiver's clock,
// and how long receivers remember request ids.
const Window = 300 * time.Second

// Purpose names a direction; each has its own key.
type Purpose string

const (
	PurposeCall   Purpose = "call"   // zone → program request (call_type 1 and 2)
	PurposeReply  Purpose = "reply"  // program → zone reply to a call
	PurposeInvoke Purpose = "invoke" // program → zone SDK interface request
	PurposeResult Purpose = "result" // zone → program reply to an invoke (and to a log batch)
	PurposeLog    Purpose = "log"    // program → zone batch of log lines (docs/protocol.md §16)
)

// purposes are the purposes a Keys holds keys for.
var purposes = [...]Purpose{PurposeCall, PurposeReply, PurposeInvoke, PurposeResult, PurposeLog}

// Exception codes, sent in the ww-exception header by a receiver that cannot
// open a packet. They follow the WeCom SDK's Invoke codes where one exists.
const (
	ExcMalformed  = -10009 // missing headers or unparsable body
	ExcAuth       = -10004 // authentication failed: tampered, wrong key or wrong context
	ExcSecretVer  = -10008 // secret version unknown to the receiver
	ExcTimestamp  = -10010 // timestamp outside ±Window
	ExcReplay     = -10011 // request id already seen within the window
	ExcUnknownPrg = -10012 // program id unknown to the zone
)

// Error is a failure to open a packet; Code is one of the Exc* codes.
type Error struct {
	Code   int
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("zonewire %d: %s", e.Code, e.Reason) }

func errorf(code int, format string, args ...any) *Error {
	return &Error{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// ExceptionCode returns the Exc* code of err: 0 for nil, the code of an
// *Error, or ExcMalformed for any other error.
func ExceptionCode(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ExcMalformed
}

// Secret is a program secret (or a debug secret): a version and 32 bytes.
type Secret struct {
	Ver int
	Key [32]byte
}

// ParseSecret parses "<ver>:<base64 of 32 bytes>" (standard encoding), the
// form of OPENZONE_SECRET. The version is canonical decimal in [1, 2^31-1].
func ParseSecret(s string) (Secret, error) {
	ver, b64, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Secret{}, errors.New(`zonewire: secret must look like "<ver>:<base64>"`)
	}
	v, ok := parseDecimal(ver, maxSecretVer)
	if !ok || v < 1 {
		return Secret{}, errors.New("zonewire: secret version must be a decimal integer in [1, 2^31-1]")
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) != 32 {
		return Secret{}, errors.New("zonewire: secret key must be 32 bytes in standard base64")
	}
	var sec Secret
	sec.Ver = int(v)
	copy(sec.Key[:], raw)
	return sec, nil
}

// String returns the "<ver>:<base64>" form. It is the secret itself: never log it.
func (s Secret) String() string {
	return strconv.Itoa(s.Ver) + ":" + base64.StdEncoding.EncodeToString(s.Key[:])
}

// NewSecret returns a fresh random secret with the given version.
func NewSecret(ver int) Secret {
	s := Secret{Ver: ver}
	if _, err := io.ReadFull(rand.Reader, s.Key[:]); err != nil {
		panic("zonewire: no randomness: " + err.Error())
	}
	return s
}

// Header is the cleartext context of a packet, carried in ww-* headers.
type Header struct {
	ProgramID string // the program the packet belongs to (sent as ww-program-id on invokes only)
	SecretVer int
	RequestID string
	Timestamp int64 // unix seconds
}

// Apply writes the header fields to h under their lower-case names,
// replacing any earlier value in another letter case (a receiver refuses a
// header that appears twice). ww-program-id is written only when withProgram
// is true (invokes; a program knows its own id on calls).
func (hd Header) Apply(h http.Header, withProgram bool) {
	set := func(name, value string) {
		for k := range h {
			if strings.EqualFold(k, name) {
				delete(h, k)
			}
		}
		h[name] = []string{value}
	}
	set(HeaderSecretVer, strconv.Itoa(hd.SecretVer))
	set(HeaderRequestID, hd.RequestID)
	set(HeaderTimestamp, strconv.FormatInt(hd.Timestamp, 10))
	if withProgram {
		set(HeaderProgramID, hd.ProgramID)
	}
}

// ReadHeader reads the ww-* headers, in any letter case; each may appear
// only once. programID fills Header.ProgramID when the packet does not carry
// ww-program-id. Numbers must be in canonical decimal (no sign, no leading
// zero), so that the header text is the text bound in the AAD. Every failure
// is an *Error with ExcMalformed.
func ReadHeader(h http.Header, programID string) (Header, error) {
	hd := Header{ProgramID: programID}
	p, err := headerValue(h, HeaderProgramID)
	if err != nil {
		return hd, err
	}
	if p != "" {
		hd.ProgramID = p
	}
	if !validProgramID(hd.ProgramID) {
		return hd, errorf(ExcMalformed, "program id missing or not 1 to 128 printable ASCII characters")
	}
	v, err := headerValue(h, HeaderSecretVer)
	if err != nil {
		return hd, err
	}
	ver, ok := parseDecimal(v, maxSecretVer)
	if !ok || ver < 1 {
		return hd, errorf(ExcMalformed, "header %s missing or not a decimal integer in [1, 2^31-1]", HeaderSecretVer)
	}
	hd.SecretVer = int(ver)
	if hd.RequestID, err = headerValue(h, HeaderRequestID); err != nil {
		return hd, err
	}
	if !validRequestID(hd.RequestID) {
		return hd, errorf(ExcMalformed, "header %s must be 16 to 64 characters of [0-9A-Za-z_-]", HeaderRequestID)
	}
	if v, err = headerValue(h, HeaderTimestamp); err != nil {
		return hd, err
	}
	if hd.Timestamp, ok = parseDecimal(v, math.MaxInt64); !ok {
		return hd, errorf(ExcMalformed, "header %s missing or not a non-negative decimal integer", HeaderTimestamp)
	}
	return hd, nil
}

// headerValue returns the value of header name in any letter case ("" when
// absent), or an error when it has more than one value.
func headerValue(h http.Header, name string) (string, error) {
	var value string
	n := 0
	for k, vs := range h {
		if strings.EqualFold(k, name) {
			for _, v := range vs {
				value = v
				n++
			}
		}
	}
	if n > 1 {
		return "", errorf(ExcMalformed, "header %s appears %d times", name, n)
	}
	return value, nil
}

// maxSecretVer is the largest secret version, so it fits an int32 anywhere.
const maxSecretVer = math.MaxInt32

// parseDecimal parses an integer in [0, max] written in canonical decimal:
// ASCII digits only, no sign, no leading zero.
func parseDecimal(s string, max int64) (int64, bool) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		d := int64(s[i] - '0')
		if n > (max-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// validProgramID reports whether id is 1 to 128 bytes of printable ASCII
// other than space: it must travel in a header unchanged and hold no NUL.
func validProgramID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

func validRequestID(id string) bool {
	if len(id) < 16 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// NewRequestID returns 128 random bits in hex.
func NewRequestID() string {
	var b [16]byte
	if _, err := io.ReadFull(rand.Reader, b[:]); err != nil {
		panic("zonewire: no randomness: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// AAD returns the additional data for a packet:
//
//	"openzone/v2" 0x00 purpose 0x00 program_id 0x00 secret_ver 0x00 request_id 0x00 timestamp
func AAD(p Purpose, hd Header) []byte {
	return appendAAD(make([]byte, 0, 64+len(hd.ProgramID)+len(hd.RequestID)), p, hd)
}

func appendAAD(b []byte, p Purpose, hd Header) []byte {
	b = append(b, "openzone/v2"...)
	b = append(b, 0)
	b = append(b, p...)
	b = append(b, 0)
	b = append(b, hd.ProgramID...)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(hd.SecretVer), 10)
	b = append(b, 0)
	b = append(b, hd.RequestID...)
	b = append(b, 0)
	b = strconv.AppendInt(b, hd.Timestamp, 10)
	return b
}

// DeriveKey returns the purpose key: HKDF-SHA256(ikm = secret key,
// salt = "openzone packet v2", info = purpose), 32 bytes.
func DeriveKey(sec Secret, p Purpose) [32]byte {
	k, err := hkdf.Key(sha256.New, sec.Key[:], []byte("openzone packet v2"), string(p), 32)
	if err != nil {
		panic("zonewire: hkdf: " + err.Error())
	}
	var out [32]byte
	copy(out[:], k)
	return out
}

// Keys holds the AEADs of one secret, derived once. It is safe for
// concurrent use.
type Keys struct {
	Secret Secret
	aead   map[Purpose]cipher.AEAD
}

// NewKeys derives the purpose keys of sec.
func NewKeys(sec Secret) *Keys {
	k := &Keys{Secret: sec, aead: make(map[Purpose]cipher.AEAD, len(purposes))}
	for _, p := range purposes {
		key := DeriveKey(sec, p)
		block, err := aes.NewCipher(key[:])
		if err != nil {
			panic(err)
		}
		g, err := cipher.NewGCM(block)
		if err != nil {
			panic(err)
		}
		k.aead[p] = g
	}
	return k
}

// NonceSize and Overhead describe the binary packet inside a body: nonce ||
// ciphertext || tag. On the wire it is base64 text (BodyLen).
const (
	NonceSize = 12
	Overhead  = NonceSize + tagSize
)

// b64 is the text form of a body: standard base64 with padding, one line.
var b64 = base64.StdEncoding

// nonceText is the nonce's length in base64: 12 bytes are exactly 16
// characters without padding, so the text of nonce || rest is the text of
// the nonce followed by the text of rest.
const nonceText = NonceSize / 3 * 4

// BodyLen is the length of the text body that seals n bytes of plaintext.
func BodyLen(n int) int { return b64.EncodedLen(n + Overhead) }

// Seal seals plaintext for purpose p under header hd with a random nonce and
// returns the body in its text form, base64 of nonce || ciphertext || tag.
func (k *Keys) Seal(p Purpose, hd Header, plaintext []byte) []byte {
	var nonce [NonceSize]byte
	if _, err := io.ReadFull(rand.Reader, nonce[:]); err != nil {
		panic("zonewire: no randomness: " + err.Error())
	}
	return k.SealWithNonce(p, hd, nonce, plaintext)
}

// SealWithNonce is Seal with a given nonce. Reusing a nonce under one key
// breaks AES-GCM: use it only for test vectors.
func (k *Keys) SealWithNonce(p Purpose, hd Header, nonce [NonceSize]byte, plaintext []byte) []byte {
	return k.sealAppend(nil, p, hd, nonce, plaintext)
}

// SealAppend is Seal appending the body to dst (which must not overlap
// plaintext), so a caller can reuse a buffer: with spare capacity of about
// 2.4× the plaintext, large packets cost no allocation.
func (k *Keys) SealAppend(dst []byte, p Purpose, hd Header, plaintext []byte) []byte {
	var nonce [NonceSize]byte
	if _, err := io.ReadFull(rand.Reader, nonce[:]); err != nil {
		panic("zonewire: no randomness: " + err.Error())
	}
	return k.sealAppend(dst, p, hd, nonce, plaintext)
}

func (k *Keys) sealAppend(dst []byte, p Purpose, hd Header, nonce [NonceSize]byte, plaintext []byte) []byte {
	g, ok := k.aead[p]
	if !ok {
		panic("zonewire: seal with unknown purpose " + strconv.Quote(string(p)))
	}
	var aadBuf [128]byte
	aad := appendAAD(aadBuf[:0], p, hd)
	// ciphertext || tag is sealed into dst's spare capacity past the end of
	// the text, then encoded in front of it.
	start := len(dst)
	rawLen := len(plaintext) + tagSize
	textLen := b64.EncodedLen(rawLen)
	dst = slices.Grow(dst, nonceText+textLen+rawLen)
	dst = b64.AppendEncode(dst, nonce[:])
	rawAt := start + nonceText + textLen
	raw := g.Seal(dst[rawAt:rawAt], nonce[:], plaintext, aad)
	b64.Encode(dst[start+nonceText:rawAt], raw)
	return dst[:rawAt]
}

// Open authenticates and decrypts body, the text form of a packet sealed for
// purpose p under header hd. It checks neither the timestamp nor replays:
// see Guard.
func (k *Keys) Open(p Purpose, hd Header, body []byte) ([]byte, error) {
	return k.OpenAppend(nil, p, hd, body)
}

// OpenAppend is Open appending the plaintext to dst (which must not overlap
// body), so a caller can reuse a buffer. ASCII white space around the body
// is ignored (some stacks end a string body with a newline); inside it, it
// is not base64 and is refused.
func (k *Keys) OpenAppend(dst []byte, p Purpose, hd Header, body []byte) ([]byte, error) {
	if hd.SecretVer != k.Secret.Ver {
		return nil, errorf(ExcSecretVer, "secret version %d, receiver has %d", hd.SecretVer, k.Secret.Ver)
	}
	g, ok := k.aead[p]
	if !ok {
		return nil, errorf(ExcMalformed, "unknown purpose %q", p)
	}
	body = bytes.Trim(body, " \t\r\n")
	if len(body) < b64.EncodedLen(Overhead) {
		return nil, errorf(ExcMalformed, "body of %d characters is shorter than a sealed packet", len(body))
	}
	// Go's decoder skips CR and LF; the protocol does not (one line).
	if bytes.IndexByte(body, '\n') >= 0 || bytes.IndexByte(body, '\r') >= 0 {
		return nil, errNotText()
	}
	var nonce [NonceSize]byte
	if n, err := b64.Decode(nonce[:], body[:nonceText]); err != nil || n != NonceSize {
		return nil, errNotText()
	}
	start := len(dst)
	dst, err := b64.AppendDecode(dst, body[nonceText:])
	if err != nil {
		return nil, errNotText()
	}
	if len(dst)-start < tagSize {
		return nil, errorf(ExcMalformed, "body is shorter than a sealed packet")
	}
	var aadBuf [128]byte
	aad := appendAAD(aadBuf[:0], p, hd)
	// In place: GCM lets the plaintext overwrite the ciphertext when dst is
	// exactly ciphertext[:0].
	out, err := g.Open(dst[start:start], nonce[:], dst[start:], aad)
	if err != nil {
		return nil, errorf(ExcAuth, "packet does not authenticate (tampered, wrong key or wrong context)")
	}
	return dst[:start+len(out)], nil
}

func errNotText() error {
	return errorf(ExcMalformed, "body is not one line of standard base64 (protocol v2); a raw binary body is protocol v1, which is retired")
}

// Guard refuses stale timestamps and replayed request ids. It remembers ids
// for 2×Window, in memory; it is safe for concurrent use. Call Check only
// after Open has authenticated the packet, so that forged packets cannot
// fill it or burn real request ids.
type Guard struct {
	mu   sync.Mutex
	seen map[string]int64 // request id → last unix second it must be remembered
	next int64            // next sweep
}

// NewGuard returns an empty replay guard.
func NewGuard() *Guard { return &Guard{seen: make(map[string]int64)} }

// Check returns an *Error when hd's timestamp is more than Window from now
// or its request id was seen before; otherwise it records the id.
func (g *Guard) Check(hd Header, now time.Time) error {
	if err := CheckTimestamp(hd.Timestamp, now); err != nil {
		return err
	}
	n := now.Unix()
	g.mu.Lock()
	defer g.mu.Unlock()
	if n >= g.next {
		for id, exp := range g.seen {
			if exp < n {
				delete(g.seen, id)
			}
		}
		g.next = n + int64(Window/time.Second)
	}
	// An id first seen at n0 may come back with an acceptable timestamp
	// until n0+2×Window inclusive, so it is remembered until then.
	if exp, ok := g.seen[hd.RequestID]; ok && exp >= n {
		return errorf(ExcReplay, "request id %s was already used", hd.RequestID)
	}
	g.seen[hd.RequestID] = n + 2*int64(Window/time.Second)
	return nil
}

// CheckTimestamp returns an *Error when ts is more than Window from now.
func CheckTimestamp(ts int64, now time.Time) error {
	n, w := now.Unix(), int64(Window/time.Second)
	// Compare with the bounds: now-ts would overflow for hostile ts.
	if ts < n-w || ts > n+w {
		return errorf(ExcTimestamp, "timestamp %d is outside the receiver's clock %d ±%ds", ts, n, w)
	}
	return nil
}

// Call is the sealed body of a zone → program request.
type Call struct {
	CorpID    string `json:"corpid"`
	AgentID   int64  `json:"agentid"`
	CallType  int    `json:"call_type"` // 1 app call, 2 event
	Data      string `json:"data"`
	IsAsync   bool   `json:"is_async"`
	JobInfo   string `json:"job_info"`
	AbilityID string `json:"ability_id"`
	NotifyID  string `json:"notify_id"`
	// EventID is an event's stable id (call_type 2): the same on every
	// delivery attempt, so a program can drop duplicates.
	EventID string `json:"event_id,omitempty"`
}

// Reply is the sealed body of a program's answer to a Call.
type Reply struct {
	Data string `json:"data"`
}

// Invoke is the sealed body of a program → zone SDK interface request.
// Request is the interface's JSON request object.
type Invoke struct {
	Interface string          `json:"interface"`
	CorpID    string          `json:"corpid"`
	AgentID   int64           `json:"agentid"`
	AbilityID string          `json:"ability_id"`
	JobInfo   string          `json:"job_info"`
	Request   json.RawMessage `json:"request"`
	// Instance names the deployed instance that invokes (OPENZONE_INSTANCE),
	// so a notify_id it mints routes back to it; empty elsewhere.
	Instance string `json:"instance,omitempty"`
}
