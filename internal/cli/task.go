package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/human"
)

func init() {
	register(&command{
		name:  "task",
		args:  "PROGRAM ABILITY [REQUEST_DATA] | --job JOBID  [--corp wwdemo] [--agent 1000002] [--no-wait] [--timeout 2m] [--json]",
		short: "make an async call (async_program_task) as an app, wait (a spinner on a terminal, plain lines otherwise) and print the result",
		run:   runTask,
	})
}

// taskPoll is how often task polls async_program_result.
const taskPoll = 200 * time.Millisecond

func runTask(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "task")
	r.flags(fs)
	corp := fs.String("corp", "wwdemo", "corpid of the calling app")
	agent := fs.Int64("agent", 1000002, "agentid of the calling app")
	job := fs.String("job", "", "wait for (or read) the result of this jobid instead of starting a task")
	noWait := fs.Bool("no-wait", false, "print the jobid and exit without waiting")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long to wait for the result")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *job == "" && (len(pos) < 2 || len(pos) > 3) || *job != "" && len(pos) > 0 {
		return usagef("want PROGRAM ABILITY [REQUEST_DATA], or --job JOBID")
	}
	tok, err := r.appToken(*corp, *agent)
	if err != nil {
		return err
	}
	jobID := *job
	if jobID == "" {
		data := "{}"
		if len(pos) == 3 {
			data = pos[2]
		}
		var created struct {
			JobID string `json:"jobid"`
		}
		if err := r.appPost(tok, "async_program_task", map[string]string{"program_id": pos[0], "ability_id": pos[1], "request_data": data}, &created); err != nil {
			return err
		}
		jobID = created.JobID
		if *noWait {
			if r.json {
				return printJSON(e.stdout, created)
			}
			fmt.Fprintln(e.stdout, jobID)
			return nil
		}
	}
	var res struct {
		JobID           string `json:"jobid"`
		ResponseErrcode int    `json:"response_errcode"`
		ResponseData    string `json:"response_data"`
	}
	start := time.Now()
	prog := newWaiter(e.stderr)
	for i := 0; ; i++ {
		err := r.appPost(tok, "async_program_result", map[string]string{"jobid": jobID}, &res)
		var ae *apiError
		if err == nil || !errors.As(err, &ae) || ae.Errcode != openzone.ErrWaitingResult {
			prog.done()
			if err != nil {
				return err
			}
			break
		}
		if time.Since(start) > *timeout {
			prog.done()
			return fmt.Errorf("job %s still running after %s; read it later with: openzone task --job %s", jobID, human.Duration(*timeout), jobID)
		}
		prog.waiting(jobID, time.Since(start))
		time.Sleep(taskPoll)
	}
	res.JobID = jobID
	if r.json {
		return printJSON(e.stdout, res)
	}
	if res.ResponseErrcode != 0 {
		fmt.Fprintf(e.stdout, "jobid %s: the program reported errcode %d\n%s\n", jobID, res.ResponseErrcode, res.ResponseData)
		return nil
	}
	fmt.Fprintln(e.stdout, res.ResponseData)
	return nil
}

// waiter shows a wait: a spinner on a terminal; on anything else (a log, a
// pipe, CI) a plain line at the start and one every 10 s, no control codes.
type waiter struct {
	w        io.Writer
	tty      bool
	frame    int
	lastLine time.Duration
	shown    bool
}

func newWaiter(w io.Writer) *waiter { return &waiter{w: w, tty: isTerminal(w)} }

func (p *waiter) waiting(what string, elapsed time.Duration) {
	if p.tty {
		frames := []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
		fmt.Fprintf(p.w, "\r%c waiting for %s (%.1f s)", frames[p.frame%len(frames)], what, elapsed.Seconds())
		p.frame++
		p.shown = true
		return
	}
	if !p.shown || elapsed-p.lastLine >= 10*time.Second {
		fmt.Fprintf(p.w, "waiting for %s (%s)\n", what, human.Duration(elapsed.Round(time.Second)))
		p.shown, p.lastLine = true, elapsed
	}
}

// done clears the spinner's line.
func (p *waiter) done() {
	if p.tty && p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
