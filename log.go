package openzone

import "time"

// Program log levels, numbered as WeCom's set_log_level numbers them: the
// zone keeps a line whose level is at most the program's log level.
const (
	LogLevelError = 1 // ERR
	LogLevelInfo  = 2 // INFO, the default
	LogLevelDebug = 3 // DBG, kept only at level 3

	DefaultLogLevel = LogLevelInfo
)

// LogLevelName is the name of a log level in a line: ERR, INFO or DBG.
func LogLevelName(level int) string {
	switch level {
	case LogLevelError:
		return "ERR"
	case LogLevelInfo:
		return "INFO"
	case LogLevelDebug:
		return "DBG"
	}
	return ""
}

// ProgramLog is one line a program logged through its SDK's logging calls
// (WeCom collects only those), as the zone keeps it: WeCom's line format
// <pid,tid>,datetime,level,req_id,file,line,text, with where it came from.
type ProgramLog struct {
	ID        int64     `json:"id"`
	ProgramID string    `json:"program_id"`
	Time      time.Time `json:"time"`
	Level     int       `json:"level"`
	ReqID     string    `json:"req_id"` // the request id of the call being served
	PID       int64     `json:"pid"`
	TID       int64     `json:"tid"`
	File      string    `json:"file"`
	Line      int       `json:"line"`
	Text      string    `json:"text"`
	Instance  string    `json:"instance,omitempty"` // the deployed instance, "" in debug mode
	Debug     bool      `json:"debug"`              // sent from a program in debug mode
	// Received is when the zone got it; retention counts from it.
	Received time.Time `json:"received"`
}

// ProgramLogFilter selects log lines; zero fields do not filter.
type ProgramLogFilter struct {
	ProgramID string
	// MaxLevel keeps lines at or below a level: 1 ERR, 2 also INFO, 3 all.
	MaxLevel int
	ReqID    string
	Since    time.Time // the line's time at or after
	Until    time.Time // the line's time before
	BeforeID int64     // lines with a smaller id (paging back)
	Limit    int       // default 100, at most 1000
}

// ProgramLogHour is the volume a program logged in one hour: what was kept
// and what was not (over the hourly cap, above the log level, not lines).
type ProgramLogHour struct {
	ProgramID string    `json:"program_id"`
	Hour      time.Time `json:"hour"`
	Lines     int64     `json:"lines"`
	Bytes     int64     `json:"bytes"`
	Dropped   int64     `json:"dropped"`
	Filtered  int64     `json:"filtered"`
	Rejected  int64     `json:"rejected"`
}
