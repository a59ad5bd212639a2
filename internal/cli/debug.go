package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/openzone/openzone"
)

func init() {
	register(&command{
		name:  "debug token",
		args:  "PROGRAM [--json]",
		short: "get the program's debug credential (调试凭证), valid 72 h",
		run:   runDebugToken,
	})
	register(&command{
		name:  "debug receiver",
		args:  "PROGRAM URL [--json]",
		short: "set the program's receiver URL (接收事件服务器) for debug mode",
		run:   runDebugReceiver,
	})
	register(&command{
		name:  "debug status",
		args:  "PROGRAM [--json]",
		short: "show the program's debug page: receiver, credential, both halves per app",
		run:   runDebugStatus,
	})
}

func runDebugToken(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "debug token")
	r.flags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one PROGRAM")
	}
	var out struct {
		DebugToken string    `json:"debug_token"`
		ExpiresAt  time.Time `json:"expires_at"`
		IssuedAt   time.Time `json:"issued_at"`
		New        bool      `json:"new"`
	}
	if err := r.admin("POST", "/admin/v1/programs/"+url.PathEscape(pos[0])+"/debug/token", nil, nil, "", &out); err != nil {
		return err
	}
	if r.json {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintln(e.stdout, out.DebugToken)
	state := "new"
	if !out.New {
		state = "the same credential as before: asking again does not extend it"
	}
	fmt.Fprintf(e.stderr, "debug credential (调试凭证) for %s, valid until %s (%s)\n", pos[0], out.ExpiresAt.Local().Format(time.DateTime), state)
	return nil
}

func runDebugReceiver(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "debug receiver")
	r.flags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want PROGRAM URL")
	}
	body, _ := json.Marshal(map[string]string{"url": pos[1]})
	var out map[string]string
	if err := r.admin("PUT", "/admin/v1/programs/"+url.PathEscape(pos[0])+"/debug/receiver", nil, bytes.NewReader(body), "application/json", &out); err != nil {
		return err
	}
	if r.json {
		return printJSON(e.stdout, out)
	}
	fmt.Fprintf(e.stdout, "receiver (接收事件服务器) of %s: %s\n", pos[0], out["url"])
	return nil
}

func runDebugStatus(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "debug status")
	r.flags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one PROGRAM")
	}
	var raw json.RawMessage
	if err := r.admin("GET", "/admin/v1/programs/"+url.PathEscape(pos[0])+"/debug", nil, nil, "", &raw); err != nil {
		return err
	}
	if r.json {
		var v any
		json.Unmarshal(raw, &v)
		return printJSON(e.stdout, v)
	}
	var page struct {
		Route          string                  `json:"route"`
		Listener       *openzone.DebugListener `json:"listener"`
		Probe          *openzone.DebugProbe    `json:"probe"`
		Receiver       string                  `json:"receiver"`
		TokenExpiresAt *time.Time              `json:"token_expires_at"`
		TokenValid     bool                    `json:"token_valid"`
		Sessions       []struct {
			CorpID  string `json:"corpid"`
			AgentID int64  `json:"agentid"`
			AppHalf bool   `json:"app_half"`
			SDKHalf bool   `json:"sdk_half"`
			Status  int    `json:"status"`
		} `json:"sessions"`
	}
	if err := json.Unmarshal(raw, &page); err != nil {
		return err
	}
	recv := page.Receiver
	if recv == "" {
		recv = "(not set: openzone debug receiver " + pos[0] + " URL)"
	}
	fmt.Fprintf(e.stdout, "program:  %s\nreceiver: %s\n", pos[0], recv)
	if l := page.Listener; l != nil {
		if l.State == openzone.ListenerConnected {
			fmt.Fprintf(e.stdout, "listener: connected since %s (%s on node %s); it replaces the receiver URL\n",
				l.ConnectedAt.Local().Format(time.DateTime), l.ID, l.Node)
		} else {
			fmt.Fprintf(e.stdout, "listener: lost at %s (%s); sync calls fail with 710674 and events wait until one connects (openzone debug listen %s)\n",
				l.LostAt.Local().Format(time.DateTime), l.Reason, pos[0])
		}
	}
	if p := page.Probe; p != nil {
		result := "answered and opened it"
		if !p.OK {
			result = fmt.Sprintf("FAILED: errcode %d: %s", p.Errcode, p.Errmsg)
		}
		fmt.Fprintf(e.stdout, "pre-flight probe: %s at %s via %s for %s/%d: %s (%.1f ms)\n", "sent", p.At.Local().Format(time.DateTime), p.Via, p.CorpID, p.AgentID, result, p.MS)
	}
	switch {
	case page.TokenExpiresAt == nil:
		fmt.Fprintf(e.stdout, "credential: none (openzone debug token %s)\n", pos[0])
	case page.TokenValid:
		fmt.Fprintf(e.stdout, "credential: valid until %s\n", page.TokenExpiresAt.Local().Format(time.DateTime))
	default:
		fmt.Fprintf(e.stdout, "credential: expired at %s\n", page.TokenExpiresAt.Local().Format(time.DateTime))
	}
	if len(page.Sessions) == 0 {
		fmt.Fprintln(e.stdout, "no app has opened debug mode for this program")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CORPID\tAGENTID\tAPP HALF\tSDK HALF\tSTATUS")
	for _, s := range page.Sessions {
		status := "1 off"
		if s.Status == 2 {
			status = "2 on"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", s.CorpID, s.AgentID, half(s.AppHalf), half(s.SDKHalf), status)
	}
	return tw.Flush()
}

func half(open bool) string {
	if open {
		return "open"
	}
	return "-"
}
