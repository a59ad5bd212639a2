// Package sandbox runs each instance of a deployed program the way WeCom
// runs it: sealed in Linux namespaces, listening on 0.0.0.0:8080, with a
// private writable /mnt/data, CPU and memory limits, and no route out — the
// zone's program API is the only thing it can reach.
//
// One sandbox is one run of one instance. The zone starts its own
// executable again as the sandbox's init (argv[0] "openzone-sandbox:init",
// caught by this package's init function, so test binaries work too) in
// new user, mount, PID, network, UTS and IPC namespaces. The init:
//
//   - brings up loopback and nothing else, so any destination but the
//     sandbox itself fails at once (no route, or connection refused);
//   - creates the listening socket of OPENZONE_API (127.0.0.1:8780 inside)
//     and hands it to the zone over a Unix socket: the zone accepts on it
//     and serves only the program API (/spec/v1/*), so the bridge copies no
//     byte and the app API, admin API and console stay out of reach;
//   - dials 127.0.0.1:8080 inside when the zone asks and hands the
//     connected socket over the same way, which is how calls come in;
//   - answers DNS on 127.0.0.1:53 with REFUSED and reports each lookup, so
//     the provider sees what the program tried;
//   - builds a read-only view of the host's filesystem with the zone's data
//     directory hidden, private /tmp, /run and /dev, and the program's data
//     directory at /mnt/data, then pivots into it;
//   - starts the program as uid 1000 with no capabilities and
//     no_new_privs, or, for a deploy.image, runs the image's rootfs through
//     an OCI runtime (crun or runc) inside the same namespaces.
//
// Limits are enforced with cgroups (v2, or v1 where only v1 has the memory
// and cpu controllers), set by the zone before the init starts the program.
//
// Where the host cannot do this (another OS, no unprivileged user
// namespaces, a container that forbids them) Probe says why, and the zone
// runs instances as plain processes (docs/decisions.md).
package sandbox

import (
	"time"

	"github.com/openzone/openzone"
)

// Isolation modes (deploy.isolation).
const (
	ModeAuto = "auto" // sandbox where the host allows it, else run plainly and say why
	ModeOn   = "on"   // sandbox, or refuse to deploy
	ModeOff  = "off"  // plain processes, as before sandboxes existed
)

// Fixed points inside a sandbox.
const (
	// DataPath is the program's writable directory, persistent across
	// restarts, where WeCom's samples keep their files.
	DataPath = "/mnt/data"
	// DefaultSDKPath is where WeCom's images load the program SDK from;
	// the zone puts OpenZone's drop-in SDK there.
	DefaultSDKPath = "/usr/local/wwspecdemo/sdk"
	// AppPort is where an instance listens, as in WeCom (0.0.0.0:8080).
	AppPort = 8080
	// APIPort is where OPENZONE_API points inside the sandbox
	// (http://127.0.0.1:8780, the zone's default port).
	APIPort = 8780
	// ProgramUID is the uid (and gid) programs run as inside a sandbox.
	ProgramUID = 1000
)

// Default limits of an instance, for a field left at zero. CPU has none:
// a CPU quota (CFS bandwidth control) costs latency even below it, and a
// busy program only slows the others, where one out of memory stops the
// machine (docs/decisions.md).
const (
	DefaultMemoryMB = 1024
	DefaultDiskMB   = 1024
)

// Limits bound one instance (deploy.limits); zero fields take the
// defaults.
type Limits = openzone.Limits

// WithDefaults returns l with its zero fields set to the defaults (CPUs
// stays 0: no CPU limit).
func WithDefaults(l Limits) Limits {
	if l.MemoryMB == 0 {
		l.MemoryMB = DefaultMemoryMB
	}
	if l.DiskMB == 0 {
		l.DiskMB = DefaultDiskMB
	}
	return l
}

// Spec says how one program's instances are sandboxed. It is comparable: a
// changed Spec means new sandboxes.
type Spec struct {
	Limits Limits
	// Image is the digest of an image prepared with Manager.Image; empty
	// runs the command on a read-only view of the host's filesystem.
	Image string
	// SDKPath is where the drop-in SDK is mounted in an image (default
	// DefaultSDKPath).
	SDKPath string
}

// Status describes the sandbox of one instance for the admin API and the
// console.
type Status struct {
	// Isolation says what seals the instance, e.g. "user, mount, pid, net
	// namespaces; uid 1000; no route out".
	Isolation string `json:"isolation"`
	// Runtime names the OCI runtime that runs an image (crun 1.8.1).
	Runtime string `json:"runtime,omitempty"`
	Image   string `json:"image,omitempty"`
	Limits  Limits `json:"limits"`
	// Enforced says how the limits are enforced, or why they are not.
	Enforced string `json:"enforced"`
	// DataUsedMB is the size of /mnt/data at the last check.
	DataUsedMB float64 `json:"data_used_mb"`
	// Blocked counts what the instance tried to reach and could not, since
	// the zone started; Attempts are the latest distinct ones.
	Blocked  int       `json:"blocked"`
	Attempts []Attempt `json:"attempts,omitempty"`
}

// Attempt is something an instance tried to reach and was refused.
type Attempt struct {
	Time   time.Time `json:"time"`   // the latest time
	Kind   string    `json:"kind"`   // dns, connect or api
	Target string    `json:"target"` // "example.com A", "10.0.0.1:443", "GET /cgi-bin/gettoken"
	Count  int       `json:"count"`
}

// Attempt kinds.
const (
	AttemptDNS     = "dns"     // a name lookup, answered REFUSED
	AttemptConnect = "connect" // a connection to anything but the sandbox itself
	AttemptAPI     = "api"     // a request to the zone outside the program API
)

// Decision is how a program's instances are isolated on this host, and
// why, for the admin API and the console.
type Decision struct {
	Mode      string `json:"mode"` // as configured: auto, on or off
	Sandboxed bool   `json:"sandboxed"`
	// Note says why instances are not sandboxed ("isolation off: …").
	Note string `json:"note,omitempty"`
}

// Decide applies a program's deployment to what the host supports. A
// deployment that needs a sandbox the host cannot give (isolation on, or an
// image) is an *openzone.Error naming the field.
func Decide(d openzone.Deploy, sup Support) (Decision, error) {
	dec := Decision{Mode: d.Isolation}
	if dec.Mode == "" {
		dec.Mode = ModeAuto
	}
	switch {
	case d.URL != "":
		dec.Note = "runs elsewhere (deploy.url): the zone does not start it"
		return dec, nil
	case len(d.Command) == 0:
		return dec, nil
	case dec.Mode == ModeOff:
		dec.Note = "isolation off: deploy.isolation is off, so instances run as plain local processes"
		return dec, nil
	case !sup.Sandbox && d.Image != "":
		return dec, openzone.Errorf(openzone.ErrInvalidParam, "deploy.image runs only in a sandbox, and this host cannot sandbox: %s", sup.Reason)
	case !sup.Sandbox && dec.Mode == ModeOn:
		return dec, openzone.Errorf(openzone.ErrInvalidParam, "deploy.isolation is on, and this host cannot sandbox: %s", sup.Reason)
	case !sup.Sandbox:
		dec.Note = "isolation off: " + sup.Reason
		return dec, nil
	case d.Image != "" && !sup.RuntimeOK:
		return dec, openzone.Errorf(openzone.ErrInvalidParam, "deploy.image needs an OCI runtime: %s", sup.Runtime)
	}
	dec.Sandboxed = true
	return dec, nil
}
