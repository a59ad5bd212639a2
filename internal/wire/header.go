package wire

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// Secret is a program secret (or a debug secret): 32 random bytes and the
// version that names them.
type Secret struct {
	Ver int
	Key [32]byte
}

// MaxSecretVer is the largest secret version (it fits a signed 32-bit int
// in every language).
const MaxSecretVer = math.MaxInt32

// NewSecret returns a fresh random secret with version ver.
func NewSecret(ver int) Secret {
	s := Secret{Ver: ver}
	rand.Read(s.Key[:]) // never fails (crypto/rand, Go ≥ 1.24)
	return s
}

// ParseSecret parses the "<ver>:<base64>" form of OPENZONE_SECRET: a
// canonical decimal version and 32 bytes in standard padded base64.
// Surrounding white space is ignored.
func ParseSecret(s string) (Secret, error) {
	verText, b64, found := strings.Cut(strings.TrimSpace(s), ":")
	if !found {
		return Secret{}, errors.New(`wire: secret is not "<ver>:<base64>"`)
	}
	ver, ok := parseDecimal(verText, MaxSecretVer)
	if !ok || ver == 0 {
		return Secret{}, errors.New("wire: secret version is not a decimal integer in [1, 2^31-1]")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) != len(Secret{}.Key) {
		return Secret{}, errors.New("wire: secret key is not 32 bytes of standard base64")
	}
	sec := Secret{Ver: int(ver)}
	copy(sec.Key[:], key)
	return sec, nil
}

// String returns the "<ver>:<base64>" form. It is the secret: never log it.
func (s Secret) String() string {
	return strconv.Itoa(s.Ver) + ":" + base64.StdEncoding.EncodeToString(s.Key[:])
}

// Header is the cleartext context of a packet: the ww-* headers. All of it
// is bound into the additional data.
type Header struct {
	ProgramID string // sent as ww-program-id on invokes; known to the receiver otherwise
	SecretVer int
	RequestID string
	Timestamp int64 // unix seconds
}

// Apply sets hd's headers on h under their lower-case names (bypassing Go's
// canonicalisation, so they go out exactly as written). ww-program-id is
// set only when withProgram is true, that is on invokes.
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

// ReadHeader reads and validates the ww-* headers of h, matching names in
// any letter case. A header must appear at most once. programID is the
// program id known to the receiver; a ww-program-id header replaces it. Every
// failure is an *Error with ExcMalformed.
func ReadHeader(h http.Header, programID string) (Header, error) {
	hd := Header{ProgramID: programID}

	if v, present, err := lookup(h, HeaderProgramID); err != nil {
		return hd, err
	} else if present {
		hd.ProgramID = v
	}
	if !validProgramID(hd.ProgramID) {
		return hd, newError(ExcMalformed, "program id missing or not 1 to 128 printable ASCII characters")
	}

	v, _, err := lookup(h, HeaderSecretVer)
	if err != nil {
		return hd, err
	}
	ver, ok := parseDecimal(v, MaxSecretVer)
	if !ok || ver == 0 {
		return hd, newError(ExcMalformed, "%s %q is not a decimal integer in [1, 2^31-1]", HeaderSecretVer, v)
	}
	hd.SecretVer = int(ver)

	if hd.RequestID, _, err = lookup(h, HeaderRequestID); err != nil {
		return hd, err
	}
	if !validRequestID(hd.RequestID) {
		return hd, newError(ExcMalformed, "%s %q is not 16 to 64 characters of [0-9A-Za-z_-]", HeaderRequestID, hd.RequestID)
	}

	if v, _, err = lookup(h, HeaderTimestamp); err != nil {
		return hd, err
	}
	if hd.Timestamp, ok = parseDecimal(v, math.MaxInt64); !ok {
		return hd, newError(ExcMalformed, "%s %q is not a non-negative decimal integer", HeaderTimestamp, v)
	}
	return hd, nil
}

// lookup returns the single value of the header name, in any letter case.
// An empty value counts as absent; two values are an error.
func lookup(h http.Header, name string) (value string, present bool, err error) {
	n := 0
	for k, vs := range h {
		if len(k) != len(name) || !strings.EqualFold(k, name) {
			continue
		}
		for _, v := range vs {
			n++
			value = v
		}
	}
	if n > 1 {
		return "", false, newError(ExcMalformed, "header %s appears %d times", name, n)
	}
	return value, value != "", nil
}

// parseDecimal parses the canonical decimal form of an integer in [0, max]:
// ASCII digits, no sign, no leading zero. The canonical form is what the
// additional data carries, so a header's text and its AAD field are equal.
func parseDecimal(s string, max int64) (int64, bool) {
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (max-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// validRequestID reports whether id is 16 to 64 characters of [0-9A-Za-z_-].
func validRequestID(id string) bool {
	if len(id) < 16 || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// validProgramID reports whether id is 1 to 128 bytes of printable ASCII
// without space (0x21–0x7e): it must survive an HTTP header unchanged and
// contain no NUL, the AAD's separator.
func validProgramID(id string) bool {
	if len(id) < 1 || len(id) > 128 {
		return false
	}
	for _, c := range []byte(id) {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// NewRequestID returns a fresh request id: 128 random bits in lower-case hex.
func NewRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
