package wwspec

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Level is a log level of WeCom's SDK logging calls.
type Level int

const (
	LevelInfo  Level = iota // INFO: WWSpecLogInfo, WWSPEC_LOG_INFO
	LevelError              // ERR: WWSpecLogError, WWSPEC_LOG_ERROR
	LevelDebug              // DBG: WWSpecLogDebug, WWSPEC_LOG_DEBUG
)

// String returns the level's name in a log line: INFO, ERR or DBG.
func (l Level) String() string {
	switch l {
	case LevelError:
		return "ERR"
	case LevelDebug:
		return "DBG"
	default:
		return "INFO"
	}
}

// Logger writes log lines in the format of WeCom's zone SDK, one per call:
//
//	<pid,tid>,datetime,level,req_id,file,line,text
//
// (WeCom cuts text at 128 bytes; OpenZone keeps it whole, and writes a line
// break inside it as a space so a line stays one line.) A deployed
// program's standard error is kept by the zone with its instance.
type Logger struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
	buf []byte
}

// NewLogger returns a Logger writing to w.
func NewLogger(w io.Writer) *Logger { return &Logger{w: w, now: time.Now} }

// Write writes one line. reqID may be empty; file and line name the
// caller's source position (line 0 for the SDK's own lines).
func (l *Logger) Write(level Level, reqID, file string, line int, text string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buf[:0]
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(os.Getpid()), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(threadID()), 10)
	b = append(b, ">,"...)
	b = now.AppendFormat(b, "2006-01-02 15:04:05.000")
	b = append(b, ',')
	b = append(b, level.String()...)
	b = append(b, ',')
	b = appendField(b, reqID)
	b = append(b, ',')
	b = appendField(b, file)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(line), 10)
	b = append(b, ',')
	b = appendField(b, text)
	b = append(b, '\n')
	l.w.Write(b)
	if cap(b) <= 64<<10 {
		l.buf = b
	}
}

// appendField appends s with line breaks written as spaces.
func appendField(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\n' || c == '\r' {
			c = ' '
		}
		b = append(b, c)
	}
	return b
}

// Slog returns a slog.Logger for zonesdk whose ERROR records are written as
// lines of l. Runtime logs refused calls, failed invokes and debug mode
// itself, with WeCom's hints, so zonesdk's own lines of those are dropped.
func (l *Logger) Slog() *slog.Logger { return slog.New(&slogHandler{l: l}) }

type slogHandler struct {
	l     *Logger
	attrs []slog.Attr
}

func (h *slogHandler) Enabled(_ context.Context, lv slog.Level) bool { return lv >= slog.LevelError }

func (h *slogHandler) Handle(_ context.Context, r slog.Record) error {
	var sb strings.Builder
	sb.WriteString(r.Message)
	reqID := ""
	add := func(a slog.Attr) bool {
		if a.Key == "request_id" {
			reqID = a.Value.String()
			return true
		}
		sb.WriteByte(' ')
		sb.WriteString(a.Key)
		sb.WriteByte('=')
		sb.WriteString(a.Value.String())
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	r.Attrs(add)
	h.l.Write(LevelError, reqID, "zonesdk", 0, sb.String())
	return nil
}

func (h *slogHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &slogHandler{l: h.l, attrs: append(append([]slog.Attr(nil), h.attrs...), as...)}
}

// WithGroup is not needed by zonesdk's records; groups are flattened.
func (h *slogHandler) WithGroup(string) slog.Handler { return h }
