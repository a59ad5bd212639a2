package zonewire

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// Program logs (docs/protocol.md §16). A program's SDK writes log lines in
// WeCom's format
//
//	<pid,tid>,datetime,level,req_id,file,line,text
//
// and sends them to the zone in batches, sealed with PurposeLog and posted
// to /spec/v1/logs; the zone answers with a LogAnswer sealed with
// PurposeResult under the batch's header.

// LogPath is the zone's path for log batches, under its base URL.
const LogPath = "/spec/v1/logs"

// Limits of a log line's fields and of a batch.
const (
	MaxLogText       = 128     // bytes of text; WeCom cuts longer text
	MaxLogReqID      = 128     // bytes of req_id
	MaxLogFile       = 256     // bytes of the file name
	MaxLogBatchLines = 1000    // lines in one batch
	MaxLogBatchBytes = 1 << 20 // bytes of a batch's sealed body
)

// LogTimeLayout is the datetime of a log line: local time with
// milliseconds. The batch says which offset from UTC it is in.
const LogTimeLayout = "2006-01-02 15:04:05.000"

// Log levels, numbered as WeCom's set_log_level numbers them: the zone keeps
// a line whose level is at most the program's log level (default 2).
const (
	LogLevelError = 1 // ERR
	LogLevelInfo  = 2 // INFO
	LogLevelDebug = 3 // DBG
)

// LogLevelName returns the name of level n in a log line: ERR, INFO or DBG
// ("" for another number).
func LogLevelName(n int) string {
	switch n {
	case LogLevelError:
		return "ERR"
	case LogLevelInfo:
		return "INFO"
	case LogLevelDebug:
		return "DBG"
	}
	return ""
}

// LogLevelNumber returns the number of a level name (0 for another name).
func LogLevelNumber(name string) int {
	switch name {
	case "ERR":
		return LogLevelError
	case "INFO":
		return LogLevelInfo
	case "DBG":
		return LogLevelDebug
	}
	return 0
}

// LogLine is one log line of a program.
type LogLine struct {
	PID, TID int64
	Time     time.Time // written in its own location, to the millisecond
	Level    int       // LogLevelError, LogLevelInfo or LogLevelDebug
	ReqID    string    // the request id of the call being served, or ""
	File     string
	Line     int
	Text     string
}

// AppendLogLine appends l in WeCom's line format, without a line break.
// The fields are made to fit the format: in req_id and file a comma or a
// control character becomes '_', and they are cut to MaxLogReqID and
// MaxLogFile bytes; in text a line break becomes a space and the text is
// cut to MaxLogText bytes, on a character boundary (as WeCom's SDK does).
func AppendLogLine(dst []byte, l LogLine) []byte {
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, max(l.PID, 0), 10)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, max(l.TID, 0), 10)
	dst = append(dst, ">,"...)
	dst = l.Time.AppendFormat(dst, LogTimeLayout)
	dst = append(dst, ',')
	name := LogLevelName(l.Level)
	if name == "" {
		name = "INFO"
	}
	dst = append(dst, name...)
	dst = append(dst, ',')
	dst = appendLogField(dst, l.ReqID, MaxLogReqID)
	dst = append(dst, ',')
	dst = appendLogField(dst, l.File, MaxLogFile)
	dst = append(dst, ',')
	dst = strconv.AppendInt(dst, int64(max(l.Line, 0)), 10)
	dst = append(dst, ',')
	return appendLogText(dst, l.Text)
}

// appendLogField appends s with commas and control characters as '_', cut
// to at most n bytes on a character boundary.
func appendLogField(dst []byte, s string, n int) []byte {
	s = cutUTF8(s, n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ',' || c < 0x20 || c == 0x7f {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendLogText appends text with CR and LF as spaces, cut to MaxLogText
// bytes on a character boundary.
func appendLogText(dst []byte, text string) []byte {
	text = cutUTF8(text, MaxLogText)
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c == '\n' || c == '\r' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

// cutUTF8 returns the longest prefix of s of at most n bytes that does not
// end inside a character. Invalid UTF-8 becomes U+FFFD first, so the cut
// text is valid UTF-8.
func cutUTF8(s string, n int) string {
	if !utf8.ValidString(s) {
		s = toValidUTF8(s)
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func toValidUTF8(s string) string {
	b := make([]byte, 0, len(s))
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[:size]...)
		}
		s = s[size:]
	}
	return string(b)
}

// LogBatch is the plaintext of a log batch (purpose log).
type LogBatch struct {
	// Instance names the deployed instance that logged (OPENZONE_INSTANCE);
	// empty elsewhere.
	Instance string `json:"instance,omitempty"`
	// UTCOffset is the offset from UTC, in seconds east, of the lines'
	// datetimes.
	UTCOffset int `json:"utc_offset"`
	// Dropped counts lines the SDK dropped since its last batch, its buffer
	// being full (the zone counts them with its own drops).
	Dropped int `json:"dropped"`
	// Lines are log lines in WeCom's format, at most MaxLogBatchLines.
	Lines []string `json:"lines"`
}

// LogAnswer is the zone's answer to a log batch (purpose result).
type LogAnswer struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
	// Accepted lines were kept; Filtered were above the program's log
	// level; Dropped were over the program's hourly volume; Rejected were
	// not lines of the format.
	Accepted int `json:"accepted"`
	Filtered int `json:"filtered"`
	Dropped  int `json:"dropped"`
	Rejected int `json:"rejected"`
	// LogLevel is the program's log level: an SDK need not send lines
	// above it.
	LogLevel int `json:"log_level"`
}
