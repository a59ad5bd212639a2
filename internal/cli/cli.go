// Package cli is the openzone command: one file per subcommand. Commands
// that talk to a running zone do so only through its admin and app APIs.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync/atomic"
)

// Exit codes.
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// command is one subcommand. run returns an error to print; a usageError
// exits with ExitUsage.
type command struct {
	name  string
	args  string
	short string
	run   func(env *env, args []string) error
}

// env is what a command writes to.
type env struct {
	stdout, stderr io.Writer
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// Main runs the openzone command with args (without the program name) and
// returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			if c := lookup(args[1:]); c != nil {
				fmt.Fprintf(stdout, "usage: openzone %s %s\n\n%s\n", c.name, c.args, c.short)
				return ExitOK
			}
		}
		usage(stdout)
		return ExitOK
	}
	if args[0] == "__complete" { // the shell completion scripts' callback
		complete(e, args[1:])
		return ExitOK
	}
	c := lookup(args)
	if c == nil {
		fmt.Fprintf(stderr, "openzone: unknown command %q\n\n", strings.Join(args[:min(2, len(args))], " "))
		usage(stderr)
		return ExitUsage
	}
	rest := args[len(strings.Fields(c.name)):]
	if err := c.run(e, rest); err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "openzone %s: %s\nusage: openzone %s %s\n", c.name, ue.msg, c.name, c.args)
			return ExitUsage
		}
		if errors.Is(err, flag.ErrHelp) {
			return ExitOK
		}
		fmt.Fprintf(stderr, "openzone %s: %v\n", c.name, err)
		return ExitFailure
	}
	return ExitOK
}

// lookup finds the longest command name that prefixes args ("seed apply").
func lookup(args []string) *command {
	if len(args) >= 2 {
		if c, ok := commands[args[0]+" "+args[1]]; ok {
			return c
		}
	}
	return commands[args[0]]
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "openzone — a self-hostable data & intelligence zone (数据与智能专区)")
	fmt.Fprintln(w, "\nusage: openzone <command> [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, commands[n].short)
	}
	fmt.Fprintln(w, "\nCommands that talk to a running zone take --zone URL (OPENZONE_URL, default http://127.0.0.1:8780),")
	fmt.Fprintln(w, "--admin-token (OPENZONE_ADMIN_TOKEN, else ./openzone-data/admin-token) and --json.")
	fmt.Fprintln(w, "Run 'openzone <command> -h' for a command's flags.")
}

// newFlags returns a FlagSet that reports errors instead of exiting.
func newFlags(e *env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("openzone "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	if c := captureFlags.Load(); c != nil && c.fs == nil {
		c.fs = fs // shell completion asks which flags the command takes
	}
	return fs
}

// flagCapture receives the first FlagSet a command builds (see flagSet).
type flagCapture struct{ fs *flag.FlagSet }

var captureFlags atomic.Pointer[flagCapture]

// parse parses flags anywhere among args (flags may follow positionals).
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usagef("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
