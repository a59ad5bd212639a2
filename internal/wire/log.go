package wire

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Program logs (docs/protocol.md §16): a program's SDK posts batches of log
// lines in WeCom's format
//
//	<pid,tid>,datetime,level,req_id,file,line,text
//
// to LogPath, sealed with PurposeLog; the zone answers with a LogAnswer
// sealed with PurposeResult under the batch's header.

// LogPath is the zone's path for log batches.
const LogPath = "/spec/v1/logs"

// Limits of a log line and a batch.
const (
	MaxLogText       = 128
	MaxLogReqID      = 128
	MaxLogFile       = 256
	MaxLogBatchLines = 1000
	MaxLogBatchBytes = 1 << 20
)

// Log levels as WeCom's set_log_level numbers them.
const (
	LogLevelError = 1 // ERR
	LogLevelInfo  = 2 // INFO
	LogLevelDebug = 3 // DBG
)

// LogLevelNames are the names of the levels in a line, by number.
var LogLevelNames = [...]string{LogLevelError: "ERR", LogLevelInfo: "INFO", LogLevelDebug: "DBG"}

// LogBatch is the plaintext of a log batch.
type LogBatch struct {
	Instance  string   `json:"instance,omitempty"`
	UTCOffset int      `json:"utc_offset"`
	Dropped   int      `json:"dropped"`
	Lines     []string `json:"lines"`
}

// LogAnswer is the zone's answer to a log batch.
type LogAnswer struct {
	Errcode  int    `json:"errcode"`
	Errmsg   string `json:"errmsg"`
	Accepted int    `json:"accepted"`
	Filtered int    `json:"filtered"`
	Dropped  int    `json:"dropped"`
	Rejected int    `json:"rejected"`
	LogLevel int    `json:"log_level"`
}

// LogLine is a parsed log line.
type LogLine struct {
	PID, TID int64
	Time     time.Time // UTC
	Level    int
	ReqID    string
	File     string
	Line     int
	Text     string
}

// LogLineError is a line the zone refuses; Field names the field at fault.
type LogLineError struct{ Field string }

func (e *LogLineError) Error() string { return "log line: bad " + e.Field }

// ParseLogLine reads one log line whose datetime is at utcOffset seconds
// east of UTC. A text over MaxLogText bytes is cut (on a character
// boundary), as WeCom's SDK cuts it; anything else that is not the format
// is a *LogLineError naming the field.
func ParseLogLine(s string, utcOffset int) (LogLine, error) {
	var l LogLine
	bad := func(field string) (LogLine, error) { return LogLine{}, &LogLineError{field} }
	if !utf8.ValidString(s) || strings.ContainsAny(s, "\r\n") {
		return bad("text")
	}
	rest, ok := strings.CutPrefix(s, "<")
	if !ok {
		return bad("pid")
	}
	var f string
	var err error
	if f, rest, ok = strings.Cut(rest, ","); !ok {
		return bad("pid")
	}
	if l.PID, err = strconv.ParseInt(f, 10, 64); err != nil || l.PID < 0 {
		return bad("pid")
	}
	if f, rest, ok = strings.Cut(rest, ">,"); !ok {
		return bad("tid")
	}
	if l.TID, err = strconv.ParseInt(f, 10, 64); err != nil || l.TID < 0 {
		return bad("tid")
	}
	if f, rest, ok = strings.Cut(rest, ","); !ok || len(f) != len("2006-01-02 15:04:05.000") {
		return bad("datetime")
	}
	t, err := time.ParseInLocation("2006-01-02 15:04:05.000", f, time.FixedZone("", utcOffset))
	if err != nil {
		return bad("datetime")
	}
	l.Time = t.UTC()
	if f, rest, ok = strings.Cut(rest, ","); !ok {
		return bad("level")
	}
	for n, name := range LogLevelNames {
		if name != "" && name == f {
			l.Level = n
		}
	}
	if l.Level == 0 {
		return bad("level")
	}
	if l.ReqID, rest, ok = strings.Cut(rest, ","); !ok || len(l.ReqID) > MaxLogReqID || hasControl(l.ReqID) {
		return bad("req_id")
	}
	if l.File, rest, ok = strings.Cut(rest, ","); !ok || len(l.File) > MaxLogFile || hasControl(l.File) {
		return bad("file")
	}
	if f, rest, ok = strings.Cut(rest, ","); !ok {
		return bad("line")
	}
	n, err := strconv.ParseInt(f, 10, 32)
	if err != nil || n < 0 {
		return bad("line")
	}
	l.Line = int(n)
	l.Text = cutUTF8(rest, MaxLogText)
	return l, nil
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}

// cutUTF8 cuts valid UTF-8 s to at most n bytes on a character boundary.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// FormatLogLine writes l back in the line format, its datetime at loc.
func FormatLogLine(l LogLine, loc *time.Location) string {
	var b strings.Builder
	b.Grow(64 + len(l.ReqID) + len(l.File) + len(l.Text))
	b.WriteByte('<')
	b.WriteString(strconv.FormatInt(l.PID, 10))
	b.WriteByte(',')
	b.WriteString(strconv.FormatInt(l.TID, 10))
	b.WriteString(">,")
	b.WriteString(l.Time.In(loc).Format("2006-01-02 15:04:05.000"))
	b.WriteByte(',')
	if l.Level > 0 && l.Level < len(LogLevelNames) {
		b.WriteString(LogLevelNames[l.Level])
	}
	b.WriteByte(',')
	b.WriteString(l.ReqID)
	b.WriteByte(',')
	b.WriteString(l.File)
	b.WriteByte(',')
	b.WriteString(strconv.Itoa(l.Line))
	b.WriteByte(',')
	b.WriteString(l.Text)
	return b.String()
}

// IsLogLineError reports whether err is a refused line.
func IsLogLineError(err error) bool {
	var e *LogLineError
	return errors.As(err, &e)
}
