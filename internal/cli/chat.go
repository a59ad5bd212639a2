package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

func init() {
	register(&command{
		name:  "chat send",
		args:  "TEXT [--corp wwdemo] [--from zhangsan] [--to wmcustomer1[,…] | --chat CHATID] [--json]",
		short: "archive a text message (会话存档); programs get conversation_new_message",
		run:   runChatSend,
	})
	register(&command{
		name:  "chat import",
		args:  "FILE.jsonl [--corp wwdemo] [--batch 500]",
		short: "archive messages from a JSON-lines file, one message object a line, with progress",
		run:   runChatImport,
	})
}

// party reads "id" (a member), "ext:id" / "wm…" (an external contact) or
// "bot:id".
func party(s string) map[string]any {
	switch {
	case strings.HasPrefix(s, "ext:"):
		return map[string]any{"type": 2, "id": strings.TrimPrefix(s, "ext:")}
	case strings.HasPrefix(s, "bot:"):
		return map[string]any{"type": 3, "id": strings.TrimPrefix(s, "bot:")}
	case strings.HasPrefix(s, "wm") || strings.HasPrefix(s, "wo"):
		return map[string]any{"type": 2, "id": s}
	}
	return map[string]any{"type": 1, "id": s}
}

func runChatSend(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "chat send")
	r.flags(fs)
	corp := fs.String("corp", "wwdemo", "corpid")
	from := fs.String("from", "zhangsan", "sender: a userid, ext:ID or wm… for an external contact")
	to := fs.String("to", "", "receivers, comma-separated (same forms as --from)")
	chat := fs.String("chat", "", "group chatid instead of --to")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one TEXT")
	}
	msg := map[string]any{"sender": party(*from), "msgtype": 1, "text": map[string]string{"content": pos[0]}}
	switch {
	case *chat != "" && *to != "":
		return usagef("give --to or --chat, not both")
	case *chat != "":
		msg["chatid"] = *chat
	case *to != "":
		var rs []map[string]any
		for _, t := range strings.Split(*to, ",") {
			rs = append(rs, party(strings.TrimSpace(t)))
		}
		msg["receiver_list"] = rs
	default:
		return usagef("give --to RECEIVERS or --chat CHATID")
	}
	body, _ := json.Marshal(msg)
	var out map[string]any
	if err := r.admin("POST", "/admin/v1/corps/"+url.PathEscape(*corp)+"/messages", nil, bytes.NewReader(body), "application/json", &out); err != nil {
		return err
	}
	if r.json {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "archived %v (seq %v), %v event(s) raised\n", out["msgid"], out["seq"], out["events"])
	if n, _ := out["events"].(float64); n == 0 {
		if why := explainNoEvents(&r, *corp); why != "" {
			fmt.Fprintln(e.stdout, why)
		}
	}
	return nil
}

func runChatImport(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "chat import")
	r.flags(fs)
	corp := fs.String("corp", "wwdemo", "corpid")
	batch := fs.Int("batch", 500, "messages per request (1 to 1000; each batch is all or nothing)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one FILE.jsonl")
	}
	if *batch < 1 || *batch > 1000 {
		return usagef("--batch must be from 1 to 1000")
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	total := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			total++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %v", pos[0], err)
	}
	f.Seek(0, 0)
	sc = bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	start := time.Now()
	done, line := 0, 0
	var pending []json.RawMessage
	var firstLine int
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		body, _ := json.Marshal(map[string]any{"messages": pending})
		if err := r.admin("POST", "/admin/v1/corps/"+url.PathEscape(*corp)+"/messages/batch", nil, bytes.NewReader(body), "application/json", nil); err != nil {
			return fmt.Errorf("%s: batch starting at line %d: %v (%d messages archived before it)", pos[0], firstLine, err, done)
		}
		prev := done
		done += len(pending)
		pending = pending[:0]
		progress(e, prev, done, total, start)
		return nil
	}
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if !json.Valid(b) {
			return fmt.Errorf("%s:%d: not a JSON object", pos[0], line)
		}
		if len(pending) == 0 {
			firstLine = line
		}
		pending = append(pending, append(json.RawMessage(nil), b...))
		if len(pending) == *batch {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if isTerminal(e.stderr) {
		fmt.Fprintf(e.stderr, "\n")
	}
	el := time.Since(start).Seconds()
	fmt.Fprintf(e.stdout, "imported %d messages in %.1fs (%.0f msg/s)\n", done, el, float64(done)/max(el, 1e-9))
	return nil
}

// progress draws a one-line progress bar on stderr when it is a terminal;
// elsewhere (a log, a pipe, CI) it prints a plain line at every tenth.
func progress(e *env, prev, done, total int, start time.Time) {
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	n := int(frac * width)
	rate := float64(done) / max(time.Since(start).Seconds(), 1e-9)
	if !isTerminal(e.stderr) {
		if total > 0 && (done == total || done*10/total != prev*10/total) {
			fmt.Fprintf(e.stderr, "%d/%d %3.0f%% %.0f msg/s\n", done, total, frac*100, rate)
		}
		return
	}
	fmt.Fprintf(e.stderr, "\r[%s%s] %d/%d %3.0f%% %.0f msg/s", strings.Repeat("=", n), strings.Repeat(" ", width-n), done, total, frac*100, rate)
}
