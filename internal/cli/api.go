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
		name:  "api",
		args:  "NAME [JSON] [--corp wwdemo] [--agent 1000002] [--get FIELD]",
		short: "call an app API /cgi-bin/chatdata/NAME as an app and print the reply (e.g. open_debug_mode); --get prints one field, for scripts",
		run:   runAPI,
	})
	register(&command{
		name:  "token",
		args:  "[--corp wwdemo] [--agent 1000002] [--json]",
		short: "print an app's access_token (for a local program's --access-token)",
		run:   runToken,
	})
}

// appToken gets the app's access_token through the admin API, so the CLI
// never needs the app secret.
func (r *remote) appToken(corp string, agent int64) (string, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := r.admin("POST", fmt.Sprintf("/admin/v1/corps/%s/apps/%d/token", url.PathEscape(corp), agent), nil, nil, "", &tok); err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

func runToken(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "token")
	r.flags(fs)
	corp := fs.String("corp", "wwdemo", "corpid of the app")
	agent := fs.Int64("agent", 1000002, "agentid of the app")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	tok, err := r.appToken(*corp, *agent)
	if err != nil {
		return err
	}
	if r.json {
		return printJSON(e.stdout, map[string]string{"access_token": tok})
	}
	fmt.Fprintln(e.stdout, tok)
	return nil
}

func runAPI(e *env, args []string) error {
	var r remote
	fs := newFlags(e, "api")
	r.flags(fs)
	corp := fs.String("corp", "wwdemo", "corpid of the calling app")
	agent := fs.Int64("agent", 1000002, "agentid of the calling app")
	get := fs.String("get", "", "print only this top-level field of the reply (a string as is, anything else as JSON), e.g. --get jobid")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usagef("want NAME [JSON]")
	}
	name := strings.TrimPrefix(strings.TrimPrefix(pos[0], "/cgi-bin/"), "chatdata/")
	body := "{}"
	if len(pos) == 2 {
		body = pos[1]
	}
	if !json.Valid([]byte(body)) {
		return usagef("JSON body is not valid JSON")
	}
	tok, err := r.appToken(*corp, *agent)
	if err != nil {
		return err
	}
	req, err := http.NewRequest("POST", strings.TrimRight(r.zone, "/")+"/cgi-bin/chatdata/"+url.PathEscape(name)+"?access_token="+url.QueryEscape(tok), bytes.NewReader([]byte(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	var raw json.RawMessage
	if err := r.do(req, &raw); err != nil {
		return err
	}
	var v any
	json.Unmarshal(raw, &v)
	if *get != "" {
		m, _ := v.(map[string]any)
		f, ok := m[*get]
		if !ok {
			return fmt.Errorf("the reply has no field %q", *get)
		}
		if s, ok := f.(string); ok {
			fmt.Fprintln(e.stdout, s)
			return nil
		}
		return printJSON(e.stdout, f)
	}
	return printJSON(e.stdout, v)
}
