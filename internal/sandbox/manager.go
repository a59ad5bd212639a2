package sandbox

import (
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
)

// Config configures a Manager. Zero fields take their defaults.
type Config struct {
	// DataDir is the zone's data directory. Sandboxes never see it; their
	// state lives in DataDir/sandbox: programs/<id>/data (each program's
	// /mnt/data), images/<digest> (image root filesystems), sdk (the
	// drop-in SDK put into images) and run (staging, emptied at start).
	DataDir string
	// API serves the program API to instances. Only /spec/v1/* reaches
	// it; anything else is refused and recorded as a blocked attempt.
	API http.Handler
	// Logger receives the zone's own lines about sandboxes.
	Logger *slog.Logger
	// Executable is what is started as a sandbox's init: an executable
	// that links this package. Default: the running one (/proc/self/exe).
	Executable string
	// HostUID is the host uid (and gid) that a sandbox's uid 1000 maps to
	// when the zone runs as root. Default 101000, which no login user
	// has; a zone that does not run as root maps its own uid.
	HostUID int
	// CgroupRoot is where the cgroup filesystems are; default
	// /sys/fs/cgroup. Tests point it at a fake tree.
	CgroupRoot string
	// Host is the address of the host-side endpoint of each sandboxed
	// instance (its URL, for other zone nodes and for tools); default
	// 127.0.0.1.
	Host string
	// SDKFunc writes the drop-in SDK into a folder; images get that folder
	// at their SDK path. Nil puts an empty folder there.
	SDKFunc func(dir string) error
}

// Default host uid of a sandbox's uid 1000 under a root zone.
const DefaultHostUID = 101000

func (c *Config) fill() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Executable == "" {
		c.Executable = "/proc/self/exe"
	}
	if c.HostUID == 0 {
		c.HostUID = DefaultHostUID
	}
	if c.CgroupRoot == "" {
		c.CgroupRoot = "/sys/fs/cgroup"
	}
	if c.Host == "" {
		c.Host = "127.0.0.1"
	}
	if c.DataDir != "" {
		c.DataDir = filepath.Clean(c.DataDir)
	}
}

// Request is one run of an instance to sandbox.
type Request struct {
	ProgramID string
	Instance  string // e.g. prog-echo#1
	Spec      Spec
	// The program as the runtime resolved it: executable (a host path, or
	// a path inside the image), argv with argv[0] as written, environment
	// (the zone context included), and working directory on the host.
	Path string
	Args []string
	Env  []string
	Dir  string
	// LogFunc receives the zone's lines about this run (blocked attempts,
	// quota); nil drops them.
	LogFunc func(level slog.Level, text string)
}

// Support says what this host can do, for `openzone doctor` and the
// "isolation off" notice.
type Support struct {
	// Sandbox reports whether instances can be sandboxed; Reason says why
	// not when they cannot.
	Sandbox bool   `json:"sandbox"`
	Reason  string `json:"reason,omitempty"`
	// Checks are the individual findings, in order.
	Checks []Check `json:"checks"`
	// Limits says how limits are enforced ("cgroup v1: memory, cpu,
	// pids"), or why they are not.
	Limits        string `json:"limits"`
	LimitsEnforce bool   `json:"limits_enforced"`
	// Runtime is the OCI runtime images run through ("crun 1.8.1"), or
	// why there is none.
	Runtime   string `json:"runtime"`
	RuntimeOK bool   `json:"runtime_ok"`
	// UID says which host user sandboxed programs run as.
	UID string `json:"uid,omitempty"`
}

// Check is one finding of Probe.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Note string `json:"note,omitempty"`
}

// attempts keeps the blocked attempts of one instance name, across its
// runs, for the console.
type attempts struct {
	mu     sync.Mutex
	total  int
	byKey  map[string]*Attempt
	order  []string // keys, most recent last
	usedMB float64
}

// maxAttempts bounds the distinct attempts kept per instance.
const maxAttempts = 50

// add records a and reports whether it is new (worth a log line).
func (a *attempts) add(at Attempt) (first bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total += max(at.Count, 1)
	key := at.Kind + " " + at.Target
	if cur := a.byKey[key]; cur != nil {
		cur.Count += max(at.Count, 1)
		cur.Time = at.Time
		for i, k := range a.order {
			if k == key {
				a.order = append(append(a.order[:i:i], a.order[i+1:]...), key)
				break
			}
		}
		return false
	}
	if a.byKey == nil {
		a.byKey = map[string]*Attempt{}
	}
	if len(a.order) >= maxAttempts {
		delete(a.byKey, a.order[0])
		a.order = a.order[1:]
	}
	at.Count = max(at.Count, 1)
	a.byKey[key] = &at
	a.order = append(a.order, key)
	return true
}

func (a *attempts) snapshot() (int, []Attempt) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]Attempt, 0, len(a.order))
	for i := len(a.order) - 1; i >= 0; i-- {
		out = append(out, *a.byKey[a.order[i]])
	}
	return a.total, out
}

// attemptSet holds the attempts of every instance a Manager ran.
type attemptSet struct {
	mu sync.Mutex
	m  map[string]*attempts
}

func (s *attemptSet) get(instance string) *attempts {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*attempts{}
	}
	a := s.m[instance]
	if a == nil {
		a = &attempts{}
		s.m[instance] = a
	}
	return a
}

// describeAttempt is the log line of a blocked attempt.
func describeAttempt(a Attempt) string {
	switch a.Kind {
	case AttemptDNS:
		return "blocked: DNS lookup of " + a.Target + " (a sandbox has no route out; lookups are refused)"
	case AttemptAPI:
		return "blocked: " + a.Target + " to the zone (a program reaches only the program API, /spec/v1/*)"
	}
	return "blocked: connection to " + a.Target + " (a sandbox has no route out)"
}
