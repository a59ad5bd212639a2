// Package wire is the zone's implementation of the OpenZone packet protocol
// v2 (docs/protocol.md): the sealed format of every request and reply
// between the zone and a program.
//
// Programs use the SDK's own implementation (sdk/zonewire). The two are
// written separately from the specification and are held together by the
// test vectors in sdk/zonewire/testdata/vectors.json and by interop tests;
// this package never imports the SDK outside its tests.
//
// The zone remembers request ids in its database, so this package has no
// replay guard: a receiver calls ReadHeader, Keys.Open, CheckTimestamp and
// then records the request id itself.
package wire

import (
	"errors"
	"fmt"
	"time"
)

// Version is the protocol version; it appears in the additional data as
// "openzone/v2" and in the HKDF salt.
const Version = 2

// Header names, lower-case on the wire (WeCom's ww-* style). Receivers match
// them in any letter case.
const (
	HeaderSecretVer = "ww-secret-ver"
	HeaderRequestID = "ww-request-id"
	HeaderTimestamp = "ww-timestamp"
	HeaderProgramID = "ww-program-id"
	HeaderException = "ww-exception"
)

// ContentType is the media type of a sealed body. Bodies are text (one line
// of base64) so that programs which hand their SDK the body as a string —
// every WeCom SDK does — carry them intact.
const ContentType = "text/plain; charset=utf-8"

// Window is the largest accepted distance between a packet's timestamp and
// the receiver's clock. Request ids are remembered for 2×Window.
const Window = 300 * time.Second

// NonceSize and Overhead describe a sealed body: nonce(12) || ciphertext ||
// tag(16).
const (
	NonceSize = 12
	tagSize   = 16
	Overhead  = NonceSize + tagSize
)

// Purpose names the direction of a packet. Each purpose has its own key.
type Purpose string

// The purposes.
const (
	PurposeCall   Purpose = "call"   // zone → program: app call or event (call_type 1, 2)
	PurposeReply  Purpose = "reply"  // program → zone: answer to a call
	PurposeInvoke Purpose = "invoke" // program → zone: SDK interface request
	PurposeResult Purpose = "result" // zone → program: answer to an invoke or a log batch
	PurposeLog    Purpose = "log"    // program → zone: a batch of log lines
)

// purposes lists the purposes in the order of Keys.aead.
var purposes = [...]Purpose{PurposeCall, PurposeReply, PurposeInvoke, PurposeResult, PurposeLog}

// index returns p's slot in Keys.aead, or -1.
func (p Purpose) index() int {
	for i, q := range purposes {
		if p == q {
			return i
		}
	}
	return -1
}

// Exception codes, carried in the ww-exception header by a receiver that
// refuses a packet. Where the WeCom SDK's Invoke has a code for the same
// failure, the value is the same.
const (
	ExcMalformed  = -10009 // missing or malformed header, body too short
	ExcAuth       = -10004 // does not authenticate: tampered, wrong key or wrong context
	ExcSecretVer  = -10008 // secret version unknown to the receiver
	ExcTimestamp  = -10010 // timestamp more than Window from the receiver's clock
	ExcReplay     = -10011 // request id already seen within 2×Window
	ExcUnknownPrg = -10012 // program id unknown to the zone
)

// Error is a refused packet. Code is one of the Exc* codes; Reason is for
// logs and is never sent.
type Error struct {
	Code   int
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("wire: exception %d: %s", e.Code, e.Reason) }

func newError(code int, format string, args ...any) *Error {
	return &Error{Code: code, Reason: fmt.Sprintf(format, args...)}
}

// ExceptionCode returns the Exc* code carried by err: 0 for nil, the *Error's
// code, or ExcMalformed for any other error.
func ExceptionCode(err error) int {
	if err == nil {
		return 0
	}
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return ExcMalformed
}

// CheckTimestamp returns an *Error with ExcTimestamp when ts (unix seconds)
// is more than Window before or after now.
func CheckTimestamp(ts int64, now time.Time) error {
	n, w := now.Unix(), int64(Window/time.Second)
	// Compare against the bounds rather than computing n-ts, which can
	// overflow for hostile timestamps.
	if ts < n-w || ts > n+w {
		return newError(ExcTimestamp, "timestamp %d is outside %d±%d", ts, n, w)
	}
	return nil
}
