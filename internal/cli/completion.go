package cli

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

func init() {
	register(&command{
		name:  "completion",
		args:  "bash|zsh|fish",
		short: "print a shell completion script: source <(openzone completion bash), or see --help",
		run:   runCompletion,
	})
}

// The scripts ask the binary what to offer (`openzone __complete WORDS…`),
// so they never go stale: commands, their flags, and the program ids of the
// zone the user talks to.
const (
	bashCompletion = `# openzone completion for bash: source <(openzone completion bash)
_openzone() {
  local IFS=$'\n'
  COMPREPLY=($(openzone __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _openzone openzone
`
	zshCompletion = `#compdef openzone
# openzone completion for zsh: openzone completion zsh > "${fpath[1]}/_openzone"
_openzone() {
  local -a c
  c=("${(@f)$(openzone __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compadd -a c
}
compdef _openzone openzone
`
	fishCompletion = `# openzone completion for fish: openzone completion fish > ~/.config/fish/completions/openzone.fish
complete -c openzone -f -a '(openzone __complete (commandline -opc)[2..-1] (commandline -ct) 2>/dev/null)'
`
)

func runCompletion(e *env, args []string) error {
	fs := newFlags(e, "completion")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: openzone completion bash|zsh|fish")
		fmt.Fprintln(e.stderr, "\n  bash:  source <(openzone completion bash)      (add it to ~/.bashrc)")
		fmt.Fprintln(e.stderr, "  zsh:   openzone completion zsh > \"${fpath[1]}/_openzone\"; then compinit")
		fmt.Fprintln(e.stderr, "  fish:  openzone completion fish > ~/.config/fish/completions/openzone.fish")
		fmt.Fprintln(e.stderr, "\nCompletes commands, flags, and program ids of the zone (--zone / OPENZONE_URL).")
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one of bash, zsh, fish")
	}
	script, ok := map[string]string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}[pos[0]]
	if !ok {
		return usagef("unknown shell %q: want bash, zsh or fish", pos[0])
	}
	fmt.Fprint(e.stdout, script)
	return nil
}

// programArg lists the commands whose first argument is a program id.
var programArg = map[string]bool{
	"call": true, "task": true, "logs": true, "secret": true,
	"debug token": true, "debug receiver": true, "debug listen": true, "debug status": true,
}

// complete prints one candidate a line for the last of words (the word
// being typed; the others are the command line before it).
func complete(e *env, words []string) {
	if len(words) == 0 {
		words = []string{""}
	}
	cur, before := words[len(words)-1], words[:len(words)-1]
	var out []string
	switch {
	case len(before) == 0:
		out = commandWords("")
	case len(before) == 1 && commands[before[0]] == nil:
		out = commandWords(before[0])
	default:
		c := lookup(before)
		if c == nil {
			return
		}
		rest := before[len(strings.Fields(c.name)):]
		switch {
		case strings.HasPrefix(cur, "-"):
			out = flagNames(c)
		case c.name == "completion" && len(rest) == 0:
			out = []string{"bash", "zsh", "fish"}
		case programArg[c.name] && positionals(c, rest) == 0:
			out = programIDs(c, rest)
		}
	}
	sort.Strings(out)
	for _, o := range out {
		if strings.HasPrefix(o, cur) {
			fmt.Fprintln(e.stdout, o)
		}
	}
}

// commandWords lists the command words that follow prefix ("" for the
// first word, "debug" for debug's subcommands).
func commandWords(prefix string) []string {
	seen := map[string]bool{}
	var out []string
	for name := range commands {
		if strings.HasPrefix(name, "__") {
			continue
		}
		w := strings.Fields(name)
		var word string
		switch {
		case prefix == "":
			word = w[0]
		case len(w) == 2 && w[0] == prefix:
			word = w[1]
		default:
			continue
		}
		if !seen[word] {
			seen[word] = true
			out = append(out, word)
		}
	}
	return out
}

// flagSet returns the flags command c defines: c runs with -h into a
// discarding env and the set it builds is kept.
func flagSet(c *command) *flag.FlagSet {
	capture := &flagCapture{}
	captureFlags.Store(capture)
	defer captureFlags.Store(nil)
	c.run(&env{stdout: io.Discard, stderr: io.Discard}, []string{"-h"})
	return capture.fs
}

func flagNames(c *command) []string {
	fs := flagSet(c)
	if fs == nil {
		return nil
	}
	var out []string
	fs.VisitAll(func(f *flag.Flag) { out = append(out, "--"+f.Name) })
	return out
}

// positionals counts the positional arguments among args, skipping flags
// and their values.
func positionals(c *command, args []string) int {
	fs := flagSet(c)
	n := 0
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			n++
			continue
		}
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") || fs == nil {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
				i++ // the flag's value
			}
		}
	}
	return n
}

// programIDs asks the zone (the command line's --zone and --admin-token, or
// their defaults) for its program ids; nothing when it does not answer
// within a second.
func programIDs(c *command, args []string) []string {
	var r remote
	fs := flag.NewFlagSet("complete", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	r.flags(fs)
	for i := 0; i < len(args); i++ { // pick out --zone, --admin-token, --data
		for _, name := range []string{"zone", "admin-token", "data"} {
			if args[i] == "--"+name && i+1 < len(args) {
				fs.Set(name, args[i+1])
			} else if v, ok := strings.CutPrefix(args[i], "--"+name+"="); ok {
				fs.Set(name, v)
			}
		}
	}
	r.http = &http.Client{Timeout: time.Second}
	var out struct {
		Programs []struct {
			ID string `json:"id"`
		} `json:"programs"`
	}
	if r.admin("GET", "/admin/v1/programs", nil, nil, "", &out) != nil {
		return nil
	}
	ids := make([]string, 0, len(out.Programs))
	for _, p := range out.Programs {
		ids = append(ids, p.ID)
	}
	return ids
}
