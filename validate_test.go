package openzone_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/openzone/openzone"
)

func TestCheckID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, v string
		check   func(field, v string) error
		ok      bool
	}{
		{"Plain", "prog-echo_1.v2", openzone.CheckID, true},
		{"Empty", "", openzone.CheckID, false},
		{"Space", "prog echo", openzone.CheckID, false},
		{"NUL", "prog\x00echo", openzone.CheckID, false},
		{"NonASCII", "程序", openzone.CheckID, false},
		{"Slash", "../etc", openzone.CheckID, false},
		{"Long", strings.Repeat("a", 300), openzone.CheckID, false},
		{"MaxLen", strings.Repeat("a", 64), openzone.CheckID, true},
		{"UserAt", "zhang.san@corp", openzone.CheckUserID, true},
		{"UserSpace", "zhang san", openzone.CheckUserID, false},
		{"MsgBase64", "CAQQluDa4QUY0On2rYSAgAMgzPrShAE=/+", openzone.CheckMsgID, true},
		{"MsgSpace", "m 1", openzone.CheckMsgID, false},
		{"MsgLong", strings.Repeat("m", 129), openzone.CheckMsgID, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.check("programs[0].id", tc.v)
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.Equal(t, openzone.ErrInvalidParam, openzone.ErrorCode(err))
			require.True(t, strings.HasPrefix(openzone.ErrorMessage(err), "programs[0].id: "), openzone.ErrorMessage(err))
		})
	}
}

func TestCheckAgentIDAndText(t *testing.T) {
	t.Parallel()
	require.NoError(t, openzone.CheckAgentID("agentid", 1000002))
	require.Error(t, openzone.CheckAgentID("agentid", 0))
	require.Error(t, openzone.CheckAgentID("agentid", 1<<31))
	require.NoError(t, openzone.CheckText("name", "演示企业 Demo", openzone.MaxNameLen, true))
	require.Error(t, openzone.CheckText("name", "", openzone.MaxNameLen, true))
	require.Error(t, openzone.CheckText("name", "a\nb", openzone.MaxNameLen, true))
	require.Error(t, openzone.CheckText("name", "\xff", openzone.MaxNameLen, true))
	require.Error(t, openzone.CheckText("name", strings.Repeat("名", 129), openzone.MaxNameLen, true))
}

func TestProgram_Check(t *testing.T) {
	t.Parallel()
	ok := func() *openzone.Program {
		return &openzone.Program{ID: "p", ProviderID: "isv", Kind: openzone.KindProgram, Name: "P",
			Deploy:    openzone.Deploy{Command: []string{"./bin/p"}, Instances: 1},
			Abilities: []openzone.Ability{{ID: "echo", Input: json.RawMessage(`{}`), Output: json.RawMessage(`{}`)}}}
	}
	tests := []struct {
		name   string
		change func(p *openzone.Program)
		field  string // "" = valid
	}{
		{"OK", func(p *openzone.Program) {}, ""},
		{"URLDeploy", func(p *openzone.Program) { p.Deploy = openzone.Deploy{URL: "http://10.0.0.5:8080"} }, ""},
		{"TooManyInstances", func(p *openzone.Program) { p.Deploy.Instances = 100000 }, "deploy.instances"},
		{"ZeroInstances", func(p *openzone.Program) { p.Deploy.Instances = 0 }, "deploy.instances"},
		{"NULInCommand", func(p *openzone.Program) { p.Deploy.Command = []string{"./p", "a\x00b"} }, "deploy.command[1]"},
		{"TooManyArgs", func(p *openzone.Program) { p.Deploy.Command = make([]string, 65); p.Deploy.Command[0] = "x" }, "deploy.command"},
		{"BothDeploys", func(p *openzone.Program) { p.Deploy.URL = "http://x" }, "deploy"},
		{"URLWithInstances", func(p *openzone.Program) { p.Deploy = openzone.Deploy{URL: "http://x", Instances: 2} }, "deploy.instances"},
		{"BadURL", func(p *openzone.Program) { p.Deploy = openzone.Deploy{URL: "ftp://x"} }, "deploy.url"},
		{"LongURL", func(p *openzone.Program) { p.Deploy = openzone.Deploy{URL: "http://x/" + strings.Repeat("a", 3000)} }, "deploy.url"},
		{"BadID", func(p *openzone.Program) { p.ID = "p q" }, "id"},
		{"BadProvider", func(p *openzone.Program) { p.ProviderID = "" }, "provider"},
		{"BadKind", func(p *openzone.Program) { p.Kind = "robot" }, "kind"},
		{"BadAbilityID", func(p *openzone.Program) { p.Abilities[0].ID = "é" }, "abilities[0].id"},
		{"DupAbility", func(p *openzone.Program) { p.Abilities = append(p.Abilities, p.Abilities[0]) }, "abilities[1].id"},
		{"HugeProtocol", func(p *openzone.Program) {
			p.Abilities[0].Input = json.RawMessage(`{"a":"` + strings.Repeat("x", 70<<10) + `"}`)
		}, "abilities[0].input"},
		{"TooManyAbilities", func(p *openzone.Program) { p.Abilities = make([]openzone.Ability, 101) }, "abilities"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ok()
			tc.change(p)
			err := p.Check("")
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.True(t, strings.HasPrefix(openzone.ErrorMessage(err), tc.field+": "), openzone.ErrorMessage(err))
		})
	}
}

func TestApp_Check(t *testing.T) {
	t.Parallel()
	key := "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	ok := func() *openzone.App {
		return &openzone.App{CorpID: "ww", AgentID: 1000002, Type: openzone.AppCustom, ProviderID: "isv", Secret: "s",
			Callback: openzone.Callback{URL: "https://app.example/cb", Token: "T", EncodingAESKey: key}}
	}
	tests := []struct {
		name   string
		change func(a *openzone.App)
		field  string
	}{
		{"OK", func(a *openzone.App) {}, ""},
		{"NoCallback", func(a *openzone.App) { a.Callback = openzone.Callback{} }, ""},
		{"BadCorp", func(a *openzone.App) { a.CorpID = "w w" }, "corpid"},
		{"BigAgent", func(a *openzone.App) { a.AgentID = 1 << 40 }, "agentid"},
		{"NoProvider", func(a *openzone.App) { a.ProviderID = "" }, "provider"},
		{"SecretSpace", func(a *openzone.App) { a.Secret = "a b" }, "secret"},
		{"ShortKey", func(a *openzone.App) { a.Callback.EncodingAESKey = "short" }, "callback.encoding_aes_key"},
		{"NoToken", func(a *openzone.App) { a.Callback.Token = "" }, "callback.token"},
		{"CallbackURL", func(a *openzone.App) { a.Callback.URL = "http://u:p@x/" }, "callback.url"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := ok()
			tc.change(a)
			err := a.Check("apps[0]")
			if tc.field == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			require.True(t, strings.HasPrefix(openzone.ErrorMessage(err), "apps[0]."+tc.field+": "), openzone.ErrorMessage(err))
		})
	}
}
