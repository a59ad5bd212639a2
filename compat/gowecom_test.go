package compat

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/testenv"
	"github.com/wenerme/go-wecom/wecom"
)

const seed = `
providers:
  - {id: isv, name: Compat ISV, test_corps: [wwcompat]}
corps:
  - {corpid: wwcompat, name: Compat Corp}
programs:
  - id: prog-echo
    provider: isv
    name: Echo
    deploy: {command: ["{{EXAMPLE}}", --name, compat], instances: 1}
    abilities:
      - {id: echo, input: {"text": ""}, output: {"text": "", "served_by": ""}}
apps:
  - corpid: wwcompat
    agentid: 1000002
    type: self_built
    secret: compat-secret
    programs: [prog-echo]
`

// client returns a go-wecom client pointed at the zone: only the base URL
// changes.
func client(z *testenv.Zone, corpID, secret string) *wecom.Client {
	c := wecom.NewClient(wecom.Conf{CorpID: corpID, CorpSecret: secret})
	c.Request.BaseURL = z.URL
	return c
}

// errcode extracts the WeCom errcode go-wecom puts in an error: a reply
// with errcode ≠ 0 surfaces as *wecom.GenericResponse (ErrorCode,
// ErrorMessage; Error() is "errcode: errmsg"), possibly wrapped.
func errcode(t *testing.T, err error) int {
	t.Helper()
	if err == nil {
		t.Fatal("no error, want a WeCom errcode")
	}
	var gr *wecom.GenericResponse
	if errors.As(err, &gr) {
		return gr.ErrorCode
	}
	var grv wecom.GenericResponse // the HTTP ≥ 400 path returns a value
	if errors.As(err, &grv) {
		return grv.ErrorCode
	}
	t.Fatalf("error %T %q carries no *wecom.GenericResponse", err, err)
	return 0
}

func wantErrcode(t *testing.T, err error, code int) {
	t.Helper()
	if got := errcode(t, err); got != code {
		t.Fatalf("errcode = %d, want %d (%v)", got, code, err)
	}
	if !strings.HasPrefix(err.Error(), itoa(code)+": ") {
		t.Fatalf("error text %q does not start with %d", err, code)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestGoWecom(t *testing.T) {
	z := testenv.Start(t, testenv.Options{Seed: seed})
	c := client(z, "wwcompat", "compat-secret")

	// The codes asserted below are WeCom's numbers, which the zone's named
	// constants must equal.
	if openzone.ErrInvalidSecret != 40001 || openzone.ErrBadProgramID != 800001 || openzone.ErrRequestMismatch != 790016 {
		t.Fatal("the zone's errcode constants are not WeCom's")
	}

	t.Run("GetToken", func(t *testing.T) {
		tok, err := c.GetToken()
		if err != nil {
			t.Fatal(err)
		}
		if tok.AccessToken == "" || tok.ExpiresIn < 3500 || tok.ExpiresIn > 7200 {
			t.Fatalf("token = %+v", tok)
		}
		if tok.AccessToken != z.Token("wwcompat", "compat-secret") {
			t.Fatal("go-wecom's token is not the one the zone hands out")
		}
	})

	t.Run("SyncCallProgram", func(t *testing.T) {
		// go-wecom fetches and caches the token itself and always sends
		// "notify_id": "".
		for _, text := range []string{"hello", "你好", `quote " and \ backslash`} {
			in, _ := json.Marshal(map[string]string{"text": text})
			out, err := c.SyncCallProgram(&wecom.SyncCallProgramRequest{
				ProgramID:   "prog-echo",
				AbilityID:   "echo",
				RequestData: string(in),
			})
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]string
			if err := json.Unmarshal([]byte(out.ResponseData), &got); err != nil {
				t.Fatalf("response_data %q is not the program's JSON: %v", out.ResponseData, err)
			}
			if got["text"] != text || got["served_by"] != "compat" || len(got) != 2 {
				t.Fatalf("response_data = %s", out.ResponseData)
			}
		}
	})

	t.Run("SetReceiveCallback", func(t *testing.T) {
		if _, err := c.SetReceiveCallback(&wecom.SetReceiveCallbackRequest{ProgramID: "prog-echo"}); err != nil {
			t.Fatal(err)
		}
		app, err := z.Store().AppGet(context.Background(), "wwcompat", 1000002)
		if err != nil {
			t.Fatal(err)
		}
		if app.ReceiveProgramID != "prog-echo" {
			t.Fatalf("receive program = %q, want prog-echo", app.ReceiveProgramID)
		}
		_, err = c.SetReceiveCallback(&wecom.SetReceiveCallbackRequest{ProgramID: "prog-nope"})
		wantErrcode(t, err, 800001)
	})

	t.Run("ErrWrongSecret", func(t *testing.T) {
		bad := client(z, "wwcompat", "wrong-secret")
		_, err := bad.GetToken()
		wantErrcode(t, err, 40001)
		// go-wecom swallows a failed token fetch and sends the request
		// without access_token, so a call surfaces the zone's 41001.
		_, err = bad.SyncCallProgram(&wecom.SyncCallProgramRequest{ProgramID: "prog-echo", AbilityID: "echo", RequestData: `{"text":"x"}`})
		wantErrcode(t, err, openzone.ErrMissingToken)
	})

	t.Run("ErrUnknownProgram", func(t *testing.T) {
		_, err := c.SyncCallProgram(&wecom.SyncCallProgramRequest{ProgramID: "prog-nope", AbilityID: "echo", RequestData: `{"text":"x"}`})
		wantErrcode(t, err, 800001)
		if !strings.Contains(err.Error(), "prog-nope") {
			t.Fatalf("errmsg %q does not name the program", err)
		}
	})

	t.Run("ErrRequestMismatch", func(t *testing.T) {
		_, err := c.SyncCallProgram(&wecom.SyncCallProgramRequest{ProgramID: "prog-echo", AbilityID: "echo", RequestData: `{"text":1}`})
		wantErrcode(t, err, 790016)
		_, err = c.SyncCallProgram(&wecom.SyncCallProgramRequest{ProgramID: "prog-echo", AbilityID: "echo", RequestData: `{"foo":"x"}`})
		wantErrcode(t, err, 790016)
	})

	// Last: it moves the zone clock. go-wecom caches the token by its own
	// clock and does not refresh on 42001; it surfaces the code.
	t.Run("ErrTokenExpired", func(t *testing.T) {
		z.Clock.Advance(openzone.TokenTTL + time.Second)
		_, err := c.SyncCallProgram(&wecom.SyncCallProgramRequest{ProgramID: "prog-echo", AbilityID: "echo", RequestData: `{"text":"x"}`})
		wantErrcode(t, err, 42001)
		// A fresh client gets a new token and goes through. (Not a sync
		// call: the program's clock was not moved, so it would refuse the
		// zone's packets as outside ±300 s.)
		if _, err := client(z, "wwcompat", "compat-secret").SetReceiveCallback(&wecom.SetReceiveCallbackRequest{ProgramID: "prog-echo"}); err != nil {
			t.Fatal(err)
		}
	})
}
