package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/testenv"
)

// choreographySeed: the example program deployed (prog-echo) and the same
// program to debug (prog-dev, not deployed); the app's callback URL is the
// example app's, %[1]s.
const choreographySeed = `
providers: [{id: isv, name: ISV}]
corps:
  - corpid: wwchor
    name: Choreography Corp
    members: [{userid: zhangsan, name: 张三}]
    external_contacts: [{external_userid: wmcustomer1, name: 客户一}]
programs:
  - id: prog-echo
    provider: isv
    name: Deployed
    deploy: {command: ["{{EXAMPLE}}", --name, deployed], instances: 2}
    abilities: &abilities
      - {id: get_callback_data, input: {}, output: {"errcode": 0, "errmsg": "", "event_type": "", "timestamp": 0, "conversation_new_message": {"token": ""}, "hit_keyword": {"token": ""}, "chat_archive_audit_approved": {"userid": "", "external_userid": "", "chatid": ""}, "auth_knowledge_base": {"knowledge_base_id": "", "knowledge_base_name": ""}, "unauth_knowledge_base": {"knowledge_base_id": "", "knowledge_base_name": ""}, "delete_knowledge_base": {"knowledge_base_id": "", "knowledge_base_name": ""}, "knowledge_base_learn_done": {"knowledge_base_id": "", "knowledge_base_name": "", "doc_id": "", "learn_status": 0}, "chat_archive_export_finished": {"jobid": ""}}}
      - id: invoke_sync_msg
        input: {"cursor": "", "token": "", "limit": 0}
        output: {"errcode": 0, "errmsg": "", "has_more": 0, "next_cursor": "", "msg_list": null}
  - id: prog-dev
    provider: isv
    name: In development
    abilities: *abilities
apps:
  - corpid: wwchor
    agentid: 1000002
    type: self_built
    secret: chor-secret
    callback: {url: "%[1]s", token: ` + cbToken + `, encoding_aes_key: ` + cbAESKey + `}
    programs: [prog-echo, prog-dev]
`

// TestChoreographyWithExampleApp runs the new-message choreography (docs/wecom.md) with every part a real
// process: the zone, the example program (deployed, or local in debug
// mode), and the example app (examples/zoneapp), which receives and decrypts
// the program_notify callback, fetches the token with get_callback_data,
// calls invoke_sync_msg, decrypts the message key with its private key and
// reads the text from the display page.
func TestChoreographyWithExampleApp(t *testing.T) {
	for _, mode := range []string{"deployed", "debug"} {
		t.Run(mode, func(t *testing.T) {
			appPort := freePort(t)
			z := testenv.Start(t, testenv.Options{Seed: fmt.Sprintf(choreographySeed, fmt.Sprintf("http://127.0.0.1:%d/callback", appPort))})
			program := "prog-echo"
			if mode == "debug" {
				program = "prog-dev"
				tok := z.Token("wwchor", "chor-secret")
				dt, _ := debugToken(t, z, program)
				port := freePort(t)
				setReceiver(t, z, program, fmt.Sprintf("http://127.0.0.1:%d/", port))
				if r := z.PostApp("/cgi-bin/chatdata/open_debug_mode", tok, map[string]any{"program_id": program, "debug_token": dt}); testenv.Errcode(r) != 0 {
					t.Fatal(testenv.Describe(r))
				}
				local := exec.Command(testenv.Example(t), "--addr", fmt.Sprintf("127.0.0.1:%d", port), "--name", "local",
					"--api", z.URL, "--debug-token", dt, "--access-token", tok)
				local.Env = append(os.Environ(), "OPENZONE_PROGRAM_ID="+program, "OPENZONE_SECRET=")
				if err := local.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { local.Process.Kill(); local.Wait() })
				testenv.Eventually(t, "debug mode on", func() bool { return checkDebug(t, z, tok, program) == 2 })
			}

			app := exec.Command(testenv.Build(t, "github.com/openzone/openzone/examples/zoneapp"),
				"--addr", fmt.Sprintf("127.0.0.1:%d", appPort), "--zone", z.URL, "--corpid", "wwchor", "--secret", "chor-secret",
				"--token", cbToken, "--aes-key", cbAESKey, "--program", program,
				"--key", filepath.Join(t.TempDir(), "app.pem"), "--gen-key", "--set-key")
			var appLog logBuffer
			app.Stdout, app.Stderr = &appLog, &appLog
			if err := app.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { app.Process.Kill(); app.Wait() })
			testenv.Eventually(t, "the example app to set its public key and receiving program", func() bool {
				a, err := z.Store().AppGet(context.Background(), "wwchor", 1000002)
				_, kerr := z.Store().AppPublicKeyGet(context.Background(), "wwchor", 1000002)
				return err == nil && kerr == nil && a.ReceiveProgramID == program
			})

			var out map[string]any
			msg := `{"sender":{"type":1,"id":"zhangsan"},"receiver_list":[{"type":2,"id":"wmcustomer1"}],"msgtype":1,"text":{"content":"您好，这是第一条消息"}}`
			if st := z.Admin("POST", "/admin/v1/corps/wwchor/messages", strings.NewReader(msg), &out); st != 200 {
				t.Fatalf("ingest: HTTP %d %v", st, out)
			}
			var shown []struct {
				MsgID, Sender, Text string
			}
			deadline := func() bool {
				resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/messages", appPort))
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				json.NewDecoder(resp.Body).Decode(&shown)
				return len(shown) == 1
			}
			testenv.Eventually(t, "the example app to display the message", deadline)
			if shown[0].MsgID != out["msgid"] || shown[0].Sender != "zhangsan" || !strings.Contains(shown[0].Text, "您好，这是第一条消息") {
				t.Fatalf("the app displayed %+v (log: %s)", shown, appLog.String())
			}
		})
	}
}
