package wire

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"
)

// The vectors are generated and kept by the SDK (sdk/zonewire); the zone
// checks every byte of them with its own implementation.
const vectorsPath = "../../sdk/zonewire/testdata/vectors.json"

type vectorFile struct {
	Protocol string         `json:"protocol"`
	Comment  []string       `json:"comment"`
	Cases    []vectorCase   `json:"cases"`
	Negative []negativeCase `json:"negative"`
	Headers  []headerCase   `json:"headers"`
	Accepted []acceptedCase `json:"accepted"`
	LogLines []logLineCase  `json:"log_lines"`
}

type logLineCase struct {
	Name      string     `json:"name"`
	Comment   string     `json:"comment"`
	Fields    *logFields `json:"fields,omitempty"`
	UTCOffset int        `json:"utc_offset"`
	Line      string     `json:"line"`
	Parsed    *logFields `json:"parsed,omitempty"`
	Error     string     `json:"error,omitempty"`
}

type logFields struct {
	PID    int64  `json:"pid"`
	TID    int64  `json:"tid"`
	TimeMS int64  `json:"time_ms"`
	Level  string `json:"level"`
	ReqID  string `json:"req_id"`
	File   string `json:"file"`
	Line   int    `json:"line"`
	Text   string `json:"text"`
}

type acceptedCase struct {
	Name     string `json:"name"`
	Base     string `json:"base"`
	Mutation string `json:"mutation"`
	Body     string `json:"body"`
}

type vectorSecret struct {
	Ver int    `json:"ver"`
	Key string `json:"key"`
}

type vectorHeader struct {
	ProgramID string `json:"program_id"`
	SecretVer int    `json:"secret_ver"`
	RequestID string `json:"request_id"`
	Timestamp int64  `json:"timestamp"`
}

type vectorCase struct {
	Name      string       `json:"name"`
	Comment   string       `json:"comment"`
	Secret    vectorSecret `json:"secret"`
	Purpose   string       `json:"purpose"`
	Header    vectorHeader `json:"header"`
	Nonce     string       `json:"nonce"`
	Plaintext string       `json:"plaintext"`
	Key       string       `json:"key"`
	AAD       string       `json:"aad"`
	Raw       string       `json:"raw"`
	Body      string       `json:"body"`
}

type negativeCase struct {
	Name      string       `json:"name"`
	Base      string       `json:"base"`
	Mutation  string       `json:"mutation"`
	Secret    vectorSecret `json:"secret"`
	Purpose   string       `json:"purpose"`
	Header    vectorHeader `json:"header"`
	Body      string       `json:"body"`
	Now       int64        `json:"now,omitempty"`
	Exception int          `json:"exception"`
}

type headerCase struct {
	Name      string        `json:"name"`
	Headers   [][2]string   `json:"headers"`
	ProgramID string        `json:"program_id"`
	Exception int           `json:"exception"`
	Header    *vectorHeader `json:"header,omitempty"`
}

func loadVectors(t testing.TB) vectorFile {
	t.Helper()
	raw, err := os.ReadFile(vectorsPath)
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatal(err)
	}
	if f.Protocol != "openzone packet v2" {
		t.Fatalf("vectors are for %q", f.Protocol)
	}
	return f
}

func (s vectorSecret) secret(t testing.TB) Secret {
	t.Helper()
	sec, err := ParseSecret(strconv.Itoa(s.Ver) + ":" + s.Key)
	if err != nil {
		t.Fatalf("secret %+v: %v", s, err)
	}
	return sec
}

func (h vectorHeader) header() Header {
	return Header{ProgramID: h.ProgramID, SecretVer: h.SecretVer, RequestID: h.RequestID, Timestamp: h.Timestamp}
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

func TestVectors(t *testing.T) {
	f := loadVectors(t)
	purposesSeen := map[Purpose]bool{}
	for _, c := range f.Cases {
		t.Run("case/"+c.Name, func(t *testing.T) {
			sec := c.Secret.secret(t)
			p, hd := Purpose(c.Purpose), c.Header.header()
			purposesSeen[p] = true
			if key := DeriveKey(sec, p); hex.EncodeToString(key[:]) != c.Key {
				t.Errorf("key = %x, want %s", key, c.Key)
			}
			if aad := AAD(p, hd); hex.EncodeToString(aad) != c.AAD {
				t.Errorf("aad = %x, want %s", aad, c.AAD)
			}
			nonce := [NonceSize]byte(unhex(t, c.Nonce))
			k := NewKeys(sec)
			if body := k.SealWithNonce(p, hd, nonce, []byte(c.Plaintext)); string(body) != c.Body {
				t.Errorf("body = %s, want %s", body, c.Body)
			}
			if raw, err := base64.StdEncoding.DecodeString(c.Body); err != nil || hex.EncodeToString(raw) != c.Raw {
				t.Errorf("body decodes to %x (%v), want raw %s", raw, err, c.Raw)
			}
			pt, err := k.Open(p, hd, []byte(c.Body))
			if err != nil || string(pt) != c.Plaintext {
				t.Errorf("Open = %q, %v; want %q", pt, err, c.Plaintext)
			}
		})
	}
	if len(purposesSeen) != len(purposes) {
		t.Errorf("vectors cover purposes %v, want all %d", purposesSeen, len(purposes))
	}
	for _, c := range f.Negative {
		t.Run("negative/"+c.Name, func(t *testing.T) {
			k := NewKeys(c.Secret.secret(t))
			hd := c.Header.header()
			pt, err := k.Open(Purpose(c.Purpose), hd, unhex(t, c.Body))
			if err == nil && c.Now != 0 {
				err = CheckTimestamp(hd.Timestamp, time.Unix(c.Now, 0))
			}
			if got := ExceptionCode(err); got != c.Exception || c.Exception == 0 {
				t.Errorf("%s: exception %d (%v), want %d", c.Mutation, got, err, c.Exception)
			}
			if c.Now == 0 && pt != nil {
				t.Errorf("refused packet returned plaintext %q", pt)
			}
		})
	}
	cases := map[string]vectorCase{}
	for _, c := range f.Cases {
		cases[c.Name] = c
	}
	for _, c := range f.Accepted {
		t.Run("accepted/"+c.Name, func(t *testing.T) {
			b := cases[c.Base]
			pt, err := NewKeys(b.Secret.secret(t)).Open(Purpose(b.Purpose), b.Header.header(), unhex(t, c.Body))
			if err != nil || string(pt) != b.Plaintext {
				t.Errorf("%s: Open = %q, %v; want %q", c.Mutation, pt, err, b.Plaintext)
			}
		})
	}
	if len(f.Accepted) == 0 {
		t.Error("no accepted bodies in the vectors")
	}
	for _, c := range f.Headers {
		t.Run("header/"+c.Name, func(t *testing.T) {
			h := http.Header{}
			for _, kv := range c.Headers {
				h[kv[0]] = append(h[kv[0]], kv[1])
			}
			hd, err := ReadHeader(h, c.ProgramID)
			if got := ExceptionCode(err); got != c.Exception {
				t.Fatalf("ReadHeader: exception %d (%v), want %d", got, err, c.Exception)
			}
			if c.Exception == 0 && (c.Header == nil || hd != c.Header.header()) {
				t.Errorf("ReadHeader = %+v, want %+v", hd, c.Header)
			}
		})
	}
	if len(f.LogLines) == 0 {
		t.Error("no log lines in the vectors")
	}
	for _, c := range f.LogLines {
		t.Run("log/"+c.Name, func(t *testing.T) {
			l, err := ParseLogLine(c.Line, c.UTCOffset)
			if c.Error != "" {
				var le *LogLineError
				if !errors.As(err, &le) || le.Field != c.Error {
					t.Fatalf("ParseLogLine = %+v, %v; want an error naming %s", l, err, c.Error)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseLogLine: %v", err)
			}
			p := c.Parsed
			want := LogLine{PID: p.PID, TID: p.TID, Time: time.UnixMilli(p.TimeMS).UTC(), ReqID: p.ReqID, File: p.File, Line: p.Line, Text: p.Text}
			for n, name := range LogLevelNames {
				if name == p.Level {
					want.Level = n
				}
			}
			if l != want {
				t.Errorf("ParseLogLine =\n%+v, want\n%+v", l, want)
			}
			if c.Fields != nil && *c.Parsed == *c.Fields {
				// What an SDK wrote reads back and writes again byte for byte.
				if got := FormatLogLine(l, time.FixedZone("", c.UTCOffset)); got != c.Line {
					t.Errorf("FormatLogLine = %q, want %q", got, c.Line)
				}
			}
		})
	}
}
