package zonesdk

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/openzone/openzone/sdk/zonewire"
)

// Environment variables a deployed program reads (DESIGN §4).
const (
	EnvAPI       = "OPENZONE_API"        // zone base URL, e.g. http://127.0.0.1:8780
	EnvProgramID = "OPENZONE_PROGRAM_ID" // the program's id
	EnvSecret    = "OPENZONE_SECRET"     // program secret, "<ver>:<base64 of 32 bytes>"
	EnvPort      = "PORT"                // listen port, default 8080
	EnvInstance  = "OPENZONE_INSTANCE"   // the deployed instance's name, set by the zone
	EnvHost      = "HOST"                // listen host, default all interfaces
)

// DefaultPort is the port WeCom programs listen on.
const DefaultPort = "8080"

// DefaultInvokeTimeout bounds one Invoke when Config.HTTPClient is nil.
const DefaultInvokeTimeout = 60 * time.Second

// Config configures a Program.
type Config struct {
	// ZoneURL is the zone's base URL (scheme and host, optionally a path
	// prefix); invokes go to ZoneURL + "/spec/v1/invoke", debug openings
	// to ZoneURL + "/spec/v1/debug/open". Required for Invoke and
	// OpenDebugMode only: a Program without it still serves calls.
	ZoneURL string

	// ProgramID is the program's id, bound into every packet. Required with
	// a production Secret; a program in debug mode may leave it empty: the
	// debug credential names the program, and OpenDebugMode learns the id
	// from the zone's answer.
	ProgramID string

	// Instance is the deployed instance's name (OPENZONE_INSTANCE), sent
	// with invokes so the zone routes a notify_id back to this instance.
	Instance string

	// Secret is the production program secret (OPENZONE_SECRET), which a
	// deployed program gets from the zone. It is never logged. The zero
	// Secret means none: a program on a developer's machine has none and
	// gets debug secrets from Program.OpenDebugMode instead; calls under
	// a version the Program does not hold are refused with -10008.
	Secret zonewire.Secret

	// HTTPClient sends invokes. Default: a client with a timeout of
	// DefaultInvokeTimeout.
	HTTPClient *http.Client

	// Now is the clock used for packet timestamps and the replay window.
	// Default: time.Now.
	Now func() time.Time

	// LogOutput receives the lines Program.Logf writes, in WeCom's format,
	// besides the zone: WeCom's SDK prints them to standard output too,
	// DBG lines included, for local debugging. Default os.Stdout;
	// io.Discard writes none.
	LogOutput io.Writer

	// Logger receives the SDK's logs: exceptions and handler failures at
	// WARN and ERROR, each served call and invoke at DEBUG. Payloads and
	// secrets are never logged. Default: slog.Default().
	Logger *slog.Logger
}

// EnvError is a missing or malformed environment variable.
type EnvError struct {
	Var    string // the variable, e.g. OPENZONE_SECRET
	Reason string // what is wrong with it (never its value)
}

func (e *EnvError) Error() string { return "zonesdk: " + e.Var + ": " + e.Reason }

// ConfigFromEnv reads OPENZONE_API, OPENZONE_PROGRAM_ID and OPENZONE_SECRET.
// Each missing or malformed variable adds an *EnvError naming it to the
// returned error (joined with errors.Join); the returned Config holds every
// variable that could be read, so a caller may fill in the rest (for
// example from flags) and ignore the errors it has made moot — such as the
// one about OPENZONE_SECRET when the program runs in debug mode, where it
// has no production secret, nor needs OPENZONE_PROGRAM_ID (see
// Program.OpenDebugMode).
func ConfigFromEnv() (Config, error) {
	var cfg Config
	var errs []error
	if v := strings.TrimSpace(os.Getenv(EnvAPI)); v == "" {
		errs = append(errs, &EnvError{Var: EnvAPI, Reason: "not set (the zone's base URL)"})
	} else if u, err := normalizeZoneURL(v); err != nil {
		errs = append(errs, &EnvError{Var: EnvAPI, Reason: err.Error()})
	} else {
		cfg.ZoneURL = u
	}
	if v := strings.TrimSpace(os.Getenv(EnvProgramID)); v == "" {
		errs = append(errs, &EnvError{Var: EnvProgramID, Reason: "not set"})
	} else {
		cfg.ProgramID = v
	}
	cfg.Instance = strings.TrimSpace(os.Getenv(EnvInstance))
	if v := os.Getenv(EnvSecret); strings.TrimSpace(v) == "" {
		errs = append(errs, &EnvError{Var: EnvSecret, Reason: `not set (want "<ver>:<base64>")`})
	} else if sec, err := zonewire.ParseSecret(v); err != nil {
		errs = append(errs, &EnvError{Var: EnvSecret, Reason: strings.TrimPrefix(err.Error(), "zonewire: ")})
	} else {
		cfg.Secret = sec
	}
	return cfg, errors.Join(errs...)
}

// Addr returns the address a program listens on: $HOST:$PORT. PORT
// defaults to 8080 and HOST to all interfaces, as WeCom programs listen on
// 0.0.0.0:8080; a zone that runs programs as local processes sets HOST to
// 127.0.0.1 so they are not reachable from the network.
func Addr() string {
	port := strings.TrimSpace(os.Getenv(EnvPort))
	if port == "" {
		port = DefaultPort
	}
	return strings.TrimSpace(os.Getenv(EnvHost)) + ":" + port
}

// normalizeZoneURL checks that s is an absolute http(s) URL and drops any
// trailing slash.
func normalizeZoneURL(s string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil {
		return "", errors.New("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return "", errors.New("must be an absolute http or https URL")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("must not carry a query or fragment")
	}
	return strings.TrimRight(u.String(), "/"), nil
}
