package zonewire

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test vectors of protocol v2 (docs/protocol.md, "Test vectors"). The
// zone's implementation (internal/wire) checks the same file.
//
// Regenerate with: go test ./zonewire -run TestVectors -update
// Regenerating must not change a byte unless the protocol changes.
var update = flag.Bool("update", false, "rewrite testdata/vectors.json from the inputs in vectors_test.go")

const vectorsPath = "testdata/vectors.json"

// vectorFile is the layout of testdata/vectors.json.
type vectorFile struct {
	Protocol string         `json:"protocol"`
	Comment  []string       `json:"comment"`
	Cases    []vectorCase   `json:"cases"`
	Negative []negativeCase `json:"negative"`
	Headers  []headerCase   `json:"headers"`
	Accepted []acceptedCase `json:"accepted"`
	LogLines []logLineCase  `json:"log_lines"`
}

// logLineCase is a program log line (docs/protocol.md §16). Fields, when
// set, is what an SDK formats into Line, its datetime at UTCOffset seconds
// east of UTC. The zone reads Line (in a batch whose utc_offset is
// UTCOffset) as Parsed, or refuses it, Error naming the field at fault.
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
	TimeMS int64  `json:"time_ms"` // unix milliseconds
	Level  string `json:"level"`
	ReqID  string `json:"req_id"`
	File   string `json:"file"`
	Line   int    `json:"line"`
	Text   string `json:"text"`
}

// logLine is the LogLine of f, its time at offset seconds east of UTC.
func (f logFields) logLine(offset int) LogLine {
	return LogLine{PID: f.PID, TID: f.TID, Time: time.UnixMilli(f.TimeMS).In(time.FixedZone("", offset)),
		Level: LogLevelNumber(f.Level), ReqID: f.ReqID, File: f.File, Line: f.Line, Text: f.Text}
}

type vectorSecret struct {
	Ver int    `json:"ver"`
	Key string `json:"key"` // standard base64 of 32 bytes
}

type vectorHeader struct {
	ProgramID string `json:"program_id"`
	SecretVer int    `json:"secret_ver"`
	RequestID string `json:"request_id"`
	Timestamp int64  `json:"timestamp"`
}

// vectorCase is one sealed packet: everything that goes in, and every
// intermediate value that comes out.
type vectorCase struct {
	Name      string       `json:"name"`
	Comment   string       `json:"comment"`
	Secret    vectorSecret `json:"secret"`
	Purpose   string       `json:"purpose"`
	Header    vectorHeader `json:"header"`
	Nonce     string       `json:"nonce"`     // hex, 12 bytes
	Plaintext string       `json:"plaintext"` // UTF-8
	Key       string       `json:"key"`       // hex, the derived purpose key
	AAD       string       `json:"aad"`       // hex
	Raw       string       `json:"raw"`       // hex, nonce || ciphertext || tag
	Body      string       `json:"body"`      // the body as sent: standard base64 of raw
}

// negativeCase is a packet the receiver must refuse. The receiver holds
// Secret, expects Purpose, has read Header, received Body and, when Now is
// not zero, checks the timestamp against Now after opening.
type negativeCase struct {
	Name      string       `json:"name"`
	Base      string       `json:"base"`
	Mutation  string       `json:"mutation"`
	Secret    vectorSecret `json:"secret"`
	Purpose   string       `json:"purpose"`
	Header    vectorHeader `json:"header"`
	Body      string       `json:"body"` // hex of the bytes received
	Now       int64        `json:"now,omitempty"`
	Exception int          `json:"exception"`
}

// headerCase is a set of request headers (name, value pairs as sent, in
// order) and what ReadHeader makes of them: Exception, or the Header.
type headerCase struct {
	Name      string        `json:"name"`
	Headers   [][2]string   `json:"headers"`
	ProgramID string        `json:"program_id"` // the id the receiver already knows ("" at the zone)
	Exception int           `json:"exception"`
	Header    *vectorHeader `json:"header,omitempty"`
}

// acceptedCase is a body that differs from the body of case Base as sent
// but must still open to its plaintext (white space around the text).
type acceptedCase struct {
	Name     string `json:"name"`
	Base     string `json:"base"`
	Mutation string `json:"mutation"`
	Body     string `json:"body"` // hex of the bytes received
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

func (c headerCase) httpHeader() http.Header {
	h := http.Header{}
	for _, kv := range c.Headers {
		h[kv[0]] = append(h[kv[0]], kv[1])
	}
	return h
}

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

// receive runs a receiver's checks on a negative case and returns the
// exception code (0 when the packet is accepted).
func (c negativeCase) receive(t testing.TB) int {
	k := NewKeys(c.Secret.secret(t))
	hd := c.Header.header()
	if _, err := k.Open(Purpose(c.Purpose), hd, unhex(t, c.Body)); err != nil {
		return ExceptionCode(err)
	}
	if c.Now != 0 {
		return ExceptionCode(CheckTimestamp(hd.Timestamp, time.Unix(c.Now, 0)))
	}
	return 0
}

func TestVectors(t *testing.T) {
	if *update {
		f := generateVectors(t)
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(f); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(vectorsPath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
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
	if len(f.Cases) < 6 || len(f.Negative) < 6 || len(f.Headers) < 6 {
		t.Fatalf("vectors file is too small: %d cases, %d negative, %d headers", len(f.Cases), len(f.Negative), len(f.Headers))
	}

	for _, c := range f.Cases {
		t.Run("case/"+c.Name, func(t *testing.T) {
			sec := c.Secret.secret(t)
			p, hd := Purpose(c.Purpose), c.Header.header()
			if key := DeriveKey(sec, p); hex.EncodeToString(key[:]) != c.Key {
				t.Errorf("key = %x, want %s", key, c.Key)
			}
			if aad := AAD(p, hd); hex.EncodeToString(aad) != c.AAD {
				t.Errorf("aad = %x, want %s", aad, c.AAD)
			}
			var nonce [NonceSize]byte
			if n := copy(nonce[:], unhex(t, c.Nonce)); n != NonceSize || len(c.Nonce) != 2*NonceSize {
				t.Fatalf("nonce %q is not %d bytes", c.Nonce, NonceSize)
			}
			k := NewKeys(sec)
			body := k.SealWithNonce(p, hd, nonce, []byte(c.Plaintext))
			if string(body) != c.Body {
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
	for _, c := range f.Negative {
		t.Run("negative/"+c.Name, func(t *testing.T) {
			if c.Exception == 0 {
				t.Fatal("negative case without an exception code")
			}
			if got := c.receive(t); got != c.Exception {
				t.Errorf("%s: exception %d, want %d", c.Mutation, got, c.Exception)
			}
		})
	}
	cases := map[string]vectorCase{}
	for _, c := range f.Cases {
		cases[c.Name] = c
	}
	for _, c := range f.Accepted {
		t.Run("accepted/"+c.Name, func(t *testing.T) {
			b, ok := cases[c.Base]
			if !ok {
				t.Fatalf("no case %q", c.Base)
			}
			pt, err := NewKeys(b.Secret.secret(t)).Open(Purpose(b.Purpose), b.Header.header(), unhex(t, c.Body))
			if err != nil || string(pt) != b.Plaintext {
				t.Errorf("%s: Open = %q, %v; want %q", c.Mutation, pt, err, b.Plaintext)
			}
		})
	}
	if len(f.LogLines) < 10 {
		t.Fatalf("vectors file has %d log lines", len(f.LogLines))
	}
	for _, c := range f.LogLines {
		if c.Fields == nil {
			continue // a line only the zone reads
		}
		t.Run("log/"+c.Name, func(t *testing.T) {
			if got := string(AppendLogLine(nil, c.Fields.logLine(c.UTCOffset))); got != c.Line {
				t.Errorf("AppendLogLine =\n%q, want\n%q", got, c.Line)
			}
		})
	}
	for _, c := range f.Headers {
		t.Run("header/"+c.Name, func(t *testing.T) {
			hd, err := ReadHeader(c.httpHeader(), c.ProgramID)
			if got := ExceptionCode(err); got != c.Exception {
				t.Fatalf("ReadHeader: exception %d (%v), want %d", got, err, c.Exception)
			}
			if c.Exception == 0 && (c.Header == nil || hd != c.Header.header()) {
				t.Errorf("ReadHeader = %+v, want %+v", hd, c.Header)
			}
		})
	}
}

// Inputs of the vectors. Everything below only runs with -update.

var (
	vecSecret1 = func() Secret {
		s := Secret{Ver: 1}
		for i := range s.Key {
			s.Key[i] = byte(i) // 00 01 … 1f
		}
		return s
	}()
	vecSecret2 = func() Secret {
		s := Secret{Ver: 2}
		for i := range s.Key {
			s.Key[i] = byte(0xff - i) // ff fe … e0
		}
		return s
	}()
)

const vecTime = 1767225600 // 2026-01-01T00:00:00Z

func mustJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err)
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func generateVectors(t *testing.T) vectorFile {
	hdCall := Header{ProgramID: "prog-echo", SecretVer: 1, RequestID: "0123456789abcdef0123456789abcdef", Timestamp: vecTime}
	hdInvoke := Header{ProgramID: "prog-echo", SecretVer: 1, RequestID: "fedcba9876543210fedcba9876543210", Timestamp: vecTime + 1}
	hdEvent := Header{ProgramID: "prog-echo", SecretVer: 2, RequestID: "evt_2026-01-01_0000000002", Timestamp: vecTime + 2}
	hdLog := Header{ProgramID: "prog-echo", SecretVer: 1, RequestID: "1og0batch0000000000000000000001", Timestamp: vecTime + 4}
	hdInvoke2 := Header{ProgramID: "wp1a2B3c4D5e6F7g8H9i0J", SecretVer: 2, RequestID: "Zz_-09AaZz_-09AaZz_-09AaZz_-09AaZz_-09AaZz_-09AaZz_-09AaZz_-09Aa", Timestamp: vecTime + 3}

	type input struct {
		name, comment string
		sec           Secret
		p             Purpose
		hd            Header
		nonce         string
		plaintext     string
	}
	inputs := []input{
		{"call-app", "zone → program: an app's sync_call_program to ability echo (call_type 1)",
			vecSecret1, PurposeCall, hdCall, "000102030405060708090a0b",
			mustJSON(Call{CorpID: "wwdemo", AgentID: 1000002, CallType: 1, Data: `{"text":"hello"}`, AbilityID: "echo"})},
		{"reply-chinese", "program → zone: the reply to call-app, sealed under call-app's header; non-ASCII plaintext",
			vecSecret1, PurposeReply, hdCall, "0c0d0e0f1011121314151617",
			mustJSON(Reply{Data: mustJSON(map[string]string{"text": "你好，专区", "served_by": "deployed"})})},
		{"invoke-sync-msg", "program → zone: SDK interface sync_msg at POST /spec/v1/invoke",
			vecSecret1, PurposeInvoke, hdInvoke, "18191a1b1c1d1e1f20212223",
			mustJSON(Invoke{Interface: "sync_msg", CorpID: "wwdemo", AgentID: 1000002, AbilityID: "invoke_sync_msg",
				Request: json.RawMessage(`{"cursor":"","token":"ENCAQEAAA","limit":10}`)})},
		{"result-sync-msg", "zone → program: the reply to invoke-sync-msg, sealed under its header",
			vecSecret1, PurposeResult, hdInvoke, "2425262728292a2b2c2d2e2f",
			`{"errcode":0,"errmsg":"ok","next_cursor":"","has_more":false,"msg_list":[]}`},
		{"reply-empty", "program → zone: an empty reply (the immediate answer to an async call may be empty)",
			vecSecret1, PurposeReply, hdCall, "ffffffffffffffffffffffff",
			""},
		{"call-event-v2", "zone → program: an event (call_type 2) under secret version 2; non-ASCII inside data",
			vecSecret2, PurposeCall, hdEvent, "000000000000000000000001",
			mustJSON(Call{CorpID: "wwdemo", AgentID: 1000002, CallType: 2, AbilityID: "",
				Data: mustJSON(map[string]any{"event_type": "knowledge_base_learn_done", "timestamp": vecTime + 2,
					"knowledge_base_learn_done": map[string]any{"knowledge_base_id": "kb1", "knowledge_base_name": "产品手册",
						"doc_id": "doc1", "learn_status": 0}})})},
		{"invoke-callback-v2", "program → zone: program_async_job_call_back under secret version 2, 64-character request id",
			vecSecret2, PurposeInvoke, hdInvoke2, "a0a1a2a3a4a5a6a7a8a9aaab",
			mustJSON(Invoke{Interface: "program_async_job_call_back", CorpID: "wwdemo", AgentID: 1000002, AbilityID: "summary",
				JobInfo: "job-7f3e", Request: json.RawMessage(mustJSON(map[string]any{"errcode": 0, "result": `{"summary":"客户询问报价"}`}))})},
		{"result-callback-v2", "zone → program: the reply to invoke-callback-v2",
			vecSecret2, PurposeResult, hdInvoke2, "b0b1b2b3b4b5b6b7b8b9babb",
			`{"errcode":0,"errmsg":"ok"}`},
		{"log-batch", "program → zone: a batch of two log lines at POST /spec/v1/logs (§16), datetimes at UTC+8",
			vecSecret1, PurposeLog, hdLog, "c0c1c2c3c4c5c6c7c8c9cacb",
			mustJSON(LogBatch{Instance: "prog-echo/1", UTCOffset: 28800, Lines: []string{
				"<4242,4243>,2026-01-01 08:00:04.123,INFO,0123456789abcdef0123456789abcdef,program.py,120,event stored under notify_id n1",
				"<4242,4243>,2026-01-01 08:00:04.125,DBG,0123456789abcdef0123456789abcdef,program.py,121,细节",
			}})},
		{"log-answer", "zone → program: the answer to log-batch, sealed under its header with purpose result; the DBG line is above log level 2",
			vecSecret1, PurposeResult, hdLog, "d0d1d2d3d4d5d6d7d8d9dadb",
			mustJSON(LogAnswer{Errmsg: "ok", Accepted: 1, Filtered: 1, LogLevel: 2})},
	}

	f := vectorFile{
		Protocol: "openzone packet v2",
		Comment: []string{
			"Test vectors of the OpenZone packet protocol v2 (docs/protocol.md).",
			"cases: key = HKDF-SHA256(ikm = secret key, salt = \"openzone packet v2\", info = purpose, 32 bytes);",
			"  aad = \"openzone/v2\" 00 purpose 00 program_id 00 secret_ver 00 request_id 00 timestamp;",
			"  raw = nonce || AES-256-GCM(key, nonce, plaintext, aad) (ciphertext || 16-byte tag), hex in lower case;",
			"  body = the body as sent: standard base64 of raw, padded, one line.",
			"negative: the receiver holds secret, expects purpose, has read header and got the bytes body (hex); it must refuse",
			"  with exception (checks in order: secret version, body text and length, authentication, then timestamp against now when now is set).",
			"headers: request headers as sent; the receiver knows program_id; expect exception, or header when exception is 0.",
			"accepted: bytes (hex) that differ from the body of case base but must open to its plaintext.",
			"log_lines: program log lines (§16): an SDK writes fields (time_ms at utc_offset seconds east of UTC) as line;",
			"  the zone reads line in a batch of that utc_offset as parsed, or refuses it (error names the field).",
			"Generated by go test ./zonewire -run TestVectors -update (sdk module); checked by sdk/zonewire, internal/wire and docs/protocol_vectors.py.",
		},
	}
	sealed := map[string]vectorCase{}
	for _, in := range inputs {
		var nonce [NonceSize]byte
		copy(nonce[:], unhex(t, in.nonce))
		key := DeriveKey(in.sec, in.p)
		c := vectorCase{
			Name: in.name, Comment: in.comment,
			Secret:    vectorSecret{Ver: in.sec.Ver, Key: base64.StdEncoding.EncodeToString(in.sec.Key[:])},
			Purpose:   string(in.p),
			Header:    vectorHeader{in.hd.ProgramID, in.hd.SecretVer, in.hd.RequestID, in.hd.Timestamp},
			Nonce:     in.nonce,
			Plaintext: in.plaintext,
			Key:       hex.EncodeToString(key[:]),
			AAD:       hex.EncodeToString(AAD(in.p, in.hd)),
			Body:      string(NewKeys(in.sec).SealWithNonce(in.p, in.hd, nonce, []byte(in.plaintext))),
		}
		raw, _ := base64.StdEncoding.DecodeString(c.Body)
		c.Raw = hex.EncodeToString(raw)
		f.Cases = append(f.Cases, c)
		sealed[c.Name] = c
	}

	// negText builds a negative case from a sealed one; mutate changes what
	// the receiver sees, starting from the body as sent.
	negText := func(name, base, mutation string, exception int, mutate func(c *negativeCase, body []byte) []byte) {
		b := sealed[base]
		c := negativeCase{Name: name, Base: base, Mutation: mutation, Secret: b.Secret, Purpose: b.Purpose,
			Header: b.Header, Exception: exception}
		c.Body = hex.EncodeToString(mutate(&c, []byte(b.Body)))
		if got := c.receive(t); got != exception {
			t.Fatalf("negative %s: receiver says %d, want %d", name, got, exception)
		}
		f.Negative = append(f.Negative, c)
	}
	// neg is negText with mutate working on the raw packet, re-encoded.
	neg := func(name, base, mutation string, exception int, mutate func(c *negativeCase, raw []byte) []byte) {
		negText(name, base, mutation, exception, func(c *negativeCase, body []byte) []byte {
			return []byte(base64.StdEncoding.EncodeToString(mutate(c, unhex(t, sealed[base].Raw))))
		})
	}
	flip := func(i int, bit byte) func(*negativeCase, []byte) []byte {
		return func(_ *negativeCase, b []byte) []byte {
			if i < 0 {
				i += len(b)
			}
			b[i] ^= bit
			return b
		}
	}
	neg("flip-nonce-byte", "call-app", "body[0] ^= 0x80 (nonce)", ExcAuth, flip(0, 0x80))
	neg("flip-ciphertext-byte", "call-app", "body[12] ^= 0x01 (first ciphertext byte)", ExcAuth, flip(12, 0x01))
	neg("flip-tag-byte", "call-app", "body[len-1] ^= 0x01 (last tag byte)", ExcAuth, flip(-1, 0x01))
	neg("append-byte", "call-app", "body + 00", ExcAuth, func(_ *negativeCase, b []byte) []byte { return append(b, 0) })
	neg("other-request-id", "call-app", "header.request_id changed", ExcAuth, func(c *negativeCase, b []byte) []byte {
		c.Header.RequestID = "0123456789abcdef0123456789abcdee"
		return b
	})
	neg("other-timestamp", "call-app", "header.timestamp + 1", ExcAuth, func(c *negativeCase, b []byte) []byte {
		c.Header.Timestamp++
		return b
	})
	neg("other-purpose", "call-app", "opened as a reply (a call reflected back to the zone)", ExcAuth, func(c *negativeCase, b []byte) []byte {
		c.Purpose = string(PurposeReply)
		return b
	})
	neg("result-as-reply", "result-sync-msg", "opened as a reply", ExcAuth, func(c *negativeCase, b []byte) []byte {
		c.Purpose = string(PurposeReply)
		return b
	})
	neg("other-program-id", "invoke-sync-msg", "header.program_id = prog-other", ExcAuth, func(c *negativeCase, b []byte) []byte {
		c.Header.ProgramID = "prog-other"
		return b
	})
	neg("other-secret-ver", "call-app", "header.secret_ver = 2; the receiver has version 1", ExcSecretVer, func(c *negativeCase, b []byte) []byte {
		c.Header.SecretVer = 2
		return b
	})
	neg("receiver-has-newer-secret", "call-app", "the receiver holds the version-2 secret", ExcSecretVer, func(c *negativeCase, b []byte) []byte {
		c.Secret = sealed["call-event-v2"].Secret
		return b
	})
	neg("wrong-key-same-ver", "call-app", "the receiver's version-1 secret has other bytes", ExcAuth, func(c *negativeCase, b []byte) []byte {
		c.Secret.Key = sealed["call-event-v2"].Secret.Key
		return b
	})
	neg("short-body", "reply-empty", "raw[:27], one byte shorter than nonce + tag", ExcMalformed, func(_ *negativeCase, b []byte) []byte { return b[:Overhead-1] })
	negText("empty-body", "call-app", "empty body", ExcMalformed, func(_ *negativeCase, b []byte) []byte { return nil })
	negText("raw-body-v1", "call-app", "the raw bytes sent as the body, as protocol v1 did", ExcMalformed, func(_ *negativeCase, b []byte) []byte {
		return unhex(t, sealed["call-app"].Raw)
	})
	negText("url-safe-alphabet", "reply-chinese", "body in the URL-safe alphabet (- and _ for + and /)", ExcMalformed, func(_ *negativeCase, b []byte) []byte {
		raw := unhex(t, sealed["reply-chinese"].Raw)
		out := base64.URLEncoding.EncodeToString(raw)
		if out == string(b) {
			t.Fatal("url-safe-alphabet: the body has no + or /; pick another base")
		}
		return []byte(out)
	})
	negText("missing-padding", "call-app", "body without its = padding", ExcMalformed, func(_ *negativeCase, b []byte) []byte {
		out := bytes.TrimRight(b, "=")
		if len(out) == len(b) {
			t.Fatal("missing-padding: the body has no padding; pick another base")
		}
		return out
	})
	negText("line-break-inside", "call-app", "a line break after the first 76 characters (MIME style)", ExcMalformed, func(_ *negativeCase, b []byte) []byte {
		return append(append(append([]byte{}, b[:76]...), "\r\n"...), b[76:]...)
	})
	neg("stale-timestamp", "call-app", "unchanged; receiver's clock is timestamp + 301", ExcTimestamp, func(c *negativeCase, b []byte) []byte {
		c.Now = c.Header.Timestamp + 301
		return b
	})
	neg("future-timestamp", "invoke-sync-msg", "unchanged; receiver's clock is timestamp - 301", ExcTimestamp, func(c *negativeCase, b []byte) []byte {
		c.Now = c.Header.Timestamp - 301
		return b
	})

	// Accepted bodies: white space around the text.
	acc := func(name, base, mutation string, body []byte) {
		b := sealed[base]
		if pt, err := NewKeys(b.Secret.secret(t)).Open(Purpose(b.Purpose), b.Header.header(), body); err != nil || string(pt) != b.Plaintext {
			t.Fatalf("accepted %s: %q, %v", name, pt, err)
		}
		f.Accepted = append(f.Accepted, acceptedCase{Name: name, Base: base, Mutation: mutation, Body: hex.EncodeToString(body)})
	}
	acc("trailing-newline", "call-app", "body + LF", []byte(sealed["call-app"].Body+"\n"))
	acc("trailing-crlf", "reply-chinese", "body + CR LF", []byte(sealed["reply-chinese"].Body+"\r\n"))
	acc("surrounding-spaces", "invoke-sync-msg", "SP HT + body + SP", []byte(" \t"+sealed["invoke-sync-msg"].Body+" "))

	// Header cases.
	good := [][2]string{{HeaderSecretVer, "1"}, {HeaderRequestID, hdCall.RequestID}, {HeaderTimestamp, "1767225600"}}
	with := func(name, value string) [][2]string {
		var out [][2]string
		for _, kv := range good {
			if kv[0] != name {
				out = append(out, kv)
			}
		}
		if value != "" {
			out = append(out, [2]string{name, value})
		}
		return out
	}
	okHeader := &vectorHeader{"prog-echo", 1, hdCall.RequestID, vecTime}
	hc := func(name string, headers [][2]string, programID string, exception int, want *vectorHeader) {
		c := headerCase{Name: name, Headers: headers, ProgramID: programID, Exception: exception, Header: want}
		hd, err := ReadHeader(c.httpHeader(), programID)
		if got := ExceptionCode(err); got != exception || exception == 0 && hd != want.header() {
			t.Fatalf("header %s: got %+v, %v; want %d %+v", name, hd, err, exception, want)
		}
		f.Headers = append(f.Headers, c)
	}
	hc("lower-case", good, "prog-echo", 0, okHeader)
	hc("canonical-case", [][2]string{{"Ww-Secret-Ver", "1"}, {"Ww-Request-Id", hdCall.RequestID}, {"Ww-Timestamp", "1767225600"}}, "prog-echo", 0, okHeader)
	hc("upper-case", [][2]string{{"WW-SECRET-VER", "1"}, {"WW-REQUEST-ID", hdCall.RequestID}, {"WW-TIMESTAMP", "1767225600"}}, "prog-echo", 0, okHeader)
	hc("invoke-with-program-id", append(with(HeaderProgramID, "prog-echo"), [2]string{"Content-Type", ContentType}), "", 0, okHeader)
	hc("invoke-without-program-id", good, "", ExcMalformed, nil)
	hc("program-id-with-space", with(HeaderProgramID, "prog echo"), "", ExcMalformed, nil)
	hc("missing-secret-ver", with(HeaderSecretVer, ""), "prog-echo", ExcMalformed, nil)
	hc("secret-ver-zero", with(HeaderSecretVer, "0"), "prog-echo", ExcMalformed, nil)
	hc("secret-ver-plus-sign", with(HeaderSecretVer, "+1"), "prog-echo", ExcMalformed, nil)
	hc("secret-ver-leading-zero", with(HeaderSecretVer, "01"), "prog-echo", ExcMalformed, nil)
	hc("secret-ver-above-int32", with(HeaderSecretVer, "2147483648"), "prog-echo", ExcMalformed, nil)
	hc("missing-request-id", with(HeaderRequestID, ""), "prog-echo", ExcMalformed, nil)
	hc("request-id-15-chars", with(HeaderRequestID, "0123456789abcde"), "prog-echo", ExcMalformed, nil)
	hc("request-id-65-chars", with(HeaderRequestID, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"), "prog-echo", ExcMalformed, nil)
	hc("request-id-bad-char", with(HeaderRequestID, "0123456789abcdef.0"), "prog-echo", ExcMalformed, nil)
	hc("missing-timestamp", with(HeaderTimestamp, ""), "prog-echo", ExcMalformed, nil)
	hc("timestamp-negative", with(HeaderTimestamp, "-1"), "prog-echo", ExcMalformed, nil)
	hc("timestamp-leading-zero", with(HeaderTimestamp, "01767225600"), "prog-echo", ExcMalformed, nil)
	hc("timestamp-not-decimal", with(HeaderTimestamp, "1767225600.5"), "prog-echo", ExcMalformed, nil)
	hc("timestamp-overflow", with(HeaderTimestamp, "9223372036854775808"), "prog-echo", ExcMalformed, nil)
	hc("duplicate-request-id", append(good, [2]string{"Ww-Request-Id", "fedcba9876543210fedcba9876543210"}), "prog-echo", ExcMalformed, nil)

	f.LogLines = logLineVectors(t)
	return f
}

// logLineVectors are the log lines of §16: what SDKs write and the zone
// reads.
func logLineVectors(t *testing.T) []logLineCase {
	const ms = int64(vecTime)*1000 + 123 // 2026-01-01 00:00:00.123 UTC
	rid := "0123456789abcdef0123456789abcdef"
	info := logFields{PID: 4242, TID: 4243, TimeMS: ms, Level: "INFO", ReqID: rid, File: "program.py", Line: 120,
		Text: "event conversation_new_message stored under notify_id n1"}
	with := func(f logFields, change func(*logFields)) *logFields { change(&f); return &f }
	chinese := strings.Repeat("会话存档", 13) // 52 characters, 156 bytes
	var out []logLineCase
	// format: an SDK writes fields as line; the zone reads it back as parsed
	// (parsed nil: the fields themselves).
	format := func(name, comment string, offset int, f, parsed *logFields) {
		if parsed == nil {
			parsed = f
		}
		out = append(out, logLineCase{Name: name, Comment: comment, Fields: f, UTCOffset: offset,
			Line: string(AppendLogLine(nil, f.logLine(offset))), Parsed: parsed})
	}
	format("info-utc8", "INFO with the call's request id, written at UTC+8", 28800, &info, nil)
	format("err-utc", "ERR outside a call (no req_id), at UTC", 0, with(info, func(f *logFields) { f.Level, f.ReqID = "ERR", "" }), nil)
	format("dbg-west", "DBG at UTC−5 (the datetime is local time; the batch gives its offset)", -18000,
		with(info, func(f *logFields) { f.Level, f.Text = "DBG", "cursor=abc, limit=10" }), nil)
	format("text-cut-chinese", "text of 156 bytes cut to 128 on a character boundary: 126 bytes, 42 characters", 28800,
		with(info, func(f *logFields) { f.Text = chinese }), with(info, func(f *logFields) { f.Text = chinese[:126] }))
	format("text-line-breaks", "line breaks in text are written as spaces", 28800,
		with(info, func(f *logFields) { f.Text = "a\nb\r\nc" }), with(info, func(f *logFields) { f.Text = "a b  c" }))
	format("fields-sanitised", "a comma or control character in req_id or file is written as _", 28800,
		with(info, func(f *logFields) { f.ReqID, f.File = "my,req\tid", "a,b.py" }),
		with(info, func(f *logFields) { f.ReqID, f.File = "my_req_id", "a_b.py" }))
	format("empty-text", "an empty text and line 0 (the SDK's own lines)", 28800,
		with(info, func(f *logFields) { f.Text, f.Line, f.File = "", 0, "wwspecsdk" }), nil)

	// read: lines only the zone reads.
	base := string(AppendLogLine(nil, info.logLine(28800)))
	read := func(name, comment, line, errField string, parsed *logFields) {
		out = append(out, logLineCase{Name: name, Comment: comment, UTCOffset: 28800, Line: line, Parsed: parsed, Error: errField})
	}
	read("long-text-cut", "a text over 128 bytes is cut by the zone too", base[:len(base)-len(info.Text)]+chinese, "",
		with(info, func(f *logFields) { f.Text = chinese[:126] }))
	read("bad-level", "WARN is not a level", strings.Replace(base, ",INFO,", ",WARN,", 1), "level", nil)
	read("no-pid", "the line does not start with <pid,tid>", strings.TrimPrefix(base, "<"), "pid", nil)
	read("bad-datetime", "the datetime lacks its milliseconds", strings.Replace(base, "08:00:00.123", "08:00:00", 1), "datetime", nil)
	read("bad-line-number", "line is not a decimal number", strings.Replace(base, ",120,", ",12x,", 1), "line", nil)
	read("line-break", "a line break inside the text", base+"\nsecond line", "text", nil)
	read("too-few-fields", "the text and the comma before it are missing", base[:strings.LastIndex(base, ",")], "line", nil)
	for _, c := range out {
		if c.Parsed != nil && c.Error != "" || c.Parsed == nil && c.Error == "" {
			t.Fatalf("log line %s: want exactly one of parsed and error", c.Name)
		}
	}
	return out
}
