package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

func init() {
	register(&command{
		name:  "call",
		args:  "PROGRAM ABILITY [REQUEST_DATA] [--corp wwdemo] [--agent 1000002] [--notify-id ID] [--json]",
		short: "make a sync call (sync_call_program) as an app and print response_data",
		run:   runCall,
	})
}

func runCall(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "call")
	r.flags(fs)
	corp := fs.String("corp", "wwdemo", "corpid of the calling app")
	agent := fs.Int64("agent", 1000002, "agentid of the calling app")
	notifyID := fs.String("notify-id", "", "notify_id to pass to the program")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 || len(pos) > 3 {
		return usagef("want PROGRAM ABILITY [REQUEST_DATA]")
	}
	data := "{}"
	if len(pos) == 3 {
		data = pos[2]
	}
	tok, err := r.appToken(*corp, *agent)
	if err != nil {
		return err
	}
	var reply struct {
		Errcode      int    `json:"errcode"`
		Errmsg       string `json:"errmsg"`
		ResponseData string `json:"response_data"`
	}
	if err := r.appPost(tok, "sync_call_program", map[string]string{
		"program_id": pos[0], "ability_id": pos[1], "request_data": data, "notify_id": *notifyID,
	}, &reply); err != nil {
		return err
	}
	if r.json {
		return printJSON(e.stdout, reply)
	}
	fmt.Fprintln(e.stdout, reply.ResponseData)
	return nil
}

// appPost calls a chatdata endpoint of the app API as the app whose
// access_token is tok.
func (r *remote) appPost(tok, endpoint string, body any, out any) error {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", strings.TrimRight(r.zone, "/")+"/cgi-bin/chatdata/"+endpoint+"?access_token="+url.QueryEscape(tok), bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	return r.do(req, out)
}
