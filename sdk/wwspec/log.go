package wwspec

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/openzone/openzone/sdk/internal/osthread"
	"github.com/openzone/openzone/sdk/zonewire"
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
// (text cut at 128 bytes, as WeCom's SDK cuts it; a line break inside it
// written as a space). Each line also goes to the zone, which keeps it with
// the program's logs (docs/protocol.md §16), once the Runtime is built.
type Logger struct {
	mu   sync.Mutex
	w    io.Writer
	now  func() time.Time
	buf  []byte
	ship func(zonewire.LogLine) // the Runtime's; nil before it exists
	// reqID is the request id of the call each OS thread serves, for lines
	// that name none (WWSPEC_LOG_*, WWSpecLogInfo): thread id → req id.
	reqID sync.Map
}

// NewLogger returns a Logger writing to w.
func NewLogger(w io.Writer) *Logger { return &Logger{w: w, now: time.Now} }

// zoneLevel is the number WeCom's set_log_level gives l.
func (l Level) zoneLevel() int {
	switch l {
	case LevelError:
		return zonewire.LogLevelError
	case LevelDebug:
		return zonewire.LogLevelDebug
	default:
		return zonewire.LogLevelInfo
	}
}

// Write writes one line. reqID "" stands for the request id of the call the
// calling OS thread serves, if any; file and line name the caller's source
// position (line 0 for the SDK's own lines).
func (l *Logger) Write(level Level, reqID, file string, line int, text string) {
	tid := osthread.ID()
	if reqID == "" {
		if v, ok := l.reqID.Load(tid); ok {
			reqID = v.(string)
		}
	}
	ll := zonewire.LogLine{PID: int64(os.Getpid()), TID: tid, Time: l.now(), Level: level.zoneLevel(),
		ReqID: reqID, File: file, Line: line, Text: text}
	l.mu.Lock()
	b := append(zonewire.AppendLogLine(l.buf[:0], ll), '\n')
	l.w.Write(b)
	if cap(b) <= 64<<10 {
		l.buf = b
	}
	ship := l.ship
	l.mu.Unlock()
	if ship != nil {
		ship(ll)
	}
}

// serving records that the calling OS thread serves the call with request
// id reqID.
func (l *Logger) serving(reqID string) { l.reqID.Store(osthread.ID(), reqID) }

// done records that the call with request id reqID was answered: the
// calling thread no longer serves it (a thread that answers another
// thread's call keeps its own).
func (l *Logger) done(reqID string) { l.reqID.CompareAndDelete(osthread.ID(), reqID) }

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
