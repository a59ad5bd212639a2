package console

import (
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

type corp struct {
	CorpID        string `json:"corpid"`
	Name          string `json:"name"`
	RetentionDays int    `json:"retention_days"`
}

// app is an app as the console shows it: the callback's token and
// EncodingAESKey are read only to say whether they are set.
type app struct {
	CorpID         string `json:"corpid"`
	AgentID        int64  `json:"agentid"`
	Type           string `json:"type"`
	Provider       string `json:"provider"`
	TestInstall    bool   `json:"test_install"`
	ZonePermission bool   `json:"zone_permission"`
	// KnowledgePermission is 「数据与智能专区-知识集」.
	KnowledgePermission bool     `json:"knowledge_permission"`
	ReceiveProgram      string   `json:"receive_program_id"`
	Programs            []string `json:"programs"`
	Callback            struct {
		URL            string `json:"url"`
		Token          string `json:"token"`
		EncodingAESKey string `json:"encoding_aes_key"`
	} `json:"callback"`
}

// appCard is one app with what its page needs: the programs it may be
// given, and why an unreleased one may or may not.
type appCard struct {
	App      app
	Choices  []choice
	Scenario string // "" when the app is in a test scenario; else why not
	Rules    []rule
	Error    string
	Saved    bool
	CorpID   string
}

type choice struct {
	ID, Name string
	Released bool
	Attached bool
	Allowed  bool // attachable: released, or the app is in a test scenario
}

type rule struct {
	RuleID     string          `json:"rule_id"`
	Name       string          `json:"name"`
	Body       json.RawMessage `json:"body"`
	CreateTime time.Time       `json:"create_time"`
}

func (c *Console) handleCorps(w http.ResponseWriter, r *http.Request, s *req) error {
	return c.corpsPage(w, s, "")
}

func (c *Console) corpsPage(w http.ResponseWriter, s *req, errMsg string) error {
	var cs struct{ Corps []corp }
	var pv struct{ Providers []provider }
	if err := s.get("/admin/v1/corps", &cs); err != nil {
		return err
	}
	if err := s.get("/admin/v1/providers", &pv); err != nil {
		return err
	}
	type corpRow struct {
		Corp   corp
		Counts map[string]int
	}
	var rows []corpRow
	for _, co := range cs.Corps {
		var as struct{ Apps []app }
		if err := s.get("/admin/v1/corps/"+url.PathEscape(co.CorpID)+"/apps", &as); err != nil {
			return err
		}
		n := map[string]int{}
		for _, a := range as.Apps {
			n[a.Type]++
		}
		rows = append(rows, corpRow{co, n})
	}
	return s.page(w, "corps", "corps", "Corps & apps 企业与应用", map[string]any{"Corps": rows, "Providers": pv.Providers, "AllCorps": cs.Corps}, errMsg)
}

// handleTestCorps saves a provider's test corps (测试企业) from checkboxes.
func (c *Console) handleTestCorps(w http.ResponseWriter, r *http.Request, s *req) error {
	r.ParseForm()
	corps := r.PostForm["corp"]
	if corps == nil {
		corps = []string{}
	}
	if err := s.call(http.MethodPut, "/admin/v1/providers/"+url.PathEscape(r.PathValue("pid"))+"/test_corps", map[string]any{"test_corps": corps}, nil); err != nil {
		if ae := errOf(err); ae != nil {
			w.WriteHeader(http.StatusBadRequest)
			return c.corpsPage(w, s, ae.Message)
		}
		return err
	}
	http.Redirect(w, r, "/console/corps", http.StatusSeeOther)
	return nil
}

// scenario says, as the zone decides it, whether the app is in a test
// scenario (测试场景) — where debug mode and unreleased programs are allowed.
func scenario(a *app, providers map[string]provider) string {
	switch a.Type {
	case "self_built":
		return ""
	case "custom":
		for _, c := range providers[a.Provider].TestCorps {
			if c == a.CorpID {
				return ""
			}
		}
		return "代开发 custom app: " + a.CorpID + " is not a test corp (测试企业) of provider " + a.Provider
	case "third_party":
		if a.TestInstall {
			return ""
		}
		return "第三方 third-party app: not test-installed (测试安装) in " + a.CorpID
	}
	return "unknown app type " + a.Type
}

func (c *Console) corpData(s *req, corpID string) (*corp, []*appCard, error) {
	var cs struct{ Corps []corp }
	if err := s.get("/admin/v1/corps", &cs); err != nil {
		return nil, nil, err
	}
	var co *corp
	for i := range cs.Corps {
		if cs.Corps[i].CorpID == corpID {
			co = &cs.Corps[i]
		}
	}
	var as struct{ Apps []app }
	if err := s.get("/admin/v1/corps/"+url.PathEscape(corpID)+"/apps", &as); err != nil {
		return nil, nil, err
	}
	var ps struct{ Programs []program }
	var pv struct{ Providers []provider }
	if err := s.get("/admin/v1/programs", &ps); err != nil {
		return nil, nil, err
	}
	if err := s.get("/admin/v1/providers", &pv); err != nil {
		return nil, nil, err
	}
	provs := map[string]provider{}
	for _, p := range pv.Providers {
		provs[p.ID] = p
	}
	var cards []*appCard
	for _, a := range as.Apps {
		card := &appCard{App: a, Scenario: scenario(&a, provs), CorpID: corpID}
		for _, p := range ps.Programs {
			ch := choice{ID: p.ID, Name: p.Name, Released: p.Released}
			for _, id := range a.Programs {
				if id == p.ID {
					ch.Attached = true
				}
			}
			ch.Allowed = p.Released || card.Scenario == ""
			card.Choices = append(card.Choices, ch)
		}
		var rs struct{ Rules []rule }
		if err := s.get("/admin/v1/corps/"+url.PathEscape(corpID)+"/apps/"+strconv.FormatInt(a.AgentID, 10)+"/keyword_rules", &rs); err != nil {
			return nil, nil, err
		}
		card.Rules = rs.Rules
		cards = append(cards, card)
	}
	return co, cards, nil
}

func (c *Console) handleCorp(w http.ResponseWriter, r *http.Request, s *req) error {
	return c.corpPage(w, s, r.PathValue("corpid"), "", "")
}

// corpPage shows a corp; errMsg and tagJSON (the edit box as sent) when a
// change of its tag groups was refused.
func (c *Console) corpPage(w http.ResponseWriter, s *req, corpID, errMsg, tagJSON string) error {
	co, cards, err := c.corpData(s, corpID)
	if err != nil {
		return notFound(w, s, err)
	}
	var keys struct {
		PublicKeys []struct {
			AgentID  int64     `json:"agentid"`
			Ver      int       `json:"public_key_ver"`
			PEM      string    `json:"public_key"`
			SetAt    time.Time `json:"set_at"`
			StartSeq int64     `json:"start_seq"`
		} `json:"public_keys"`
	}
	if err := s.get("/admin/v1/corps/"+url.PathEscape(corpID)+"/public_keys", &keys); err != nil {
		return err
	}
	groups := []struct {
		Type, Label string
		Cards       []*appCard
	}{
		{"self_built", "自建应用 Self-built apps", nil},
		{"custom", "代开发应用 Custom apps", nil},
		{"third_party", "第三方应用 Third-party apps", nil},
	}
	for _, cd := range cards {
		for i := range groups {
			if groups[i].Type == cd.App.Type {
				groups[i].Cards = append(groups[i].Cards, cd)
			}
		}
	}
	data := map[string]any{"Corp": co, "Groups": groups, "Keys": keys.PublicKeys}
	if err := c.modelData(s, corpID, data); err != nil {
		return err
	}
	if errMsg != "" {
		w.WriteHeader(http.StatusBadRequest)
		data["TagJSON"] = tagJSON
	}
	return s.page(w, "corp", "corps", co.Name+" · "+corpID, data, errMsg)
}

// tagGroup is a customer tag group as the admin API gives it.
type tagGroup struct {
	GroupID   string `json:"group_id"`
	GroupName string `json:"group_name"`
	Tags      []struct {
		TagID    string   `json:"tag_id"`
		TagName  string   `json:"tag_name"`
		Synonyms []string `json:"synonyms,omitempty"`
	} `json:"tags"`
}

// modelData adds the corp's customer tag groups (as a table and as the
// JSON the edit box holds) and its use of the daily model quotas.
func (c *Console) modelData(s *req, corpID string, data map[string]any) error {
	var tg struct {
		TagGroups []tagGroup `json:"tag_groups"`
	}
	if err := s.get("/admin/v1/corps/"+url.PathEscape(corpID)+"/tag_groups", &tg); err != nil {
		return err
	}
	js, _ := json.MarshalIndent(tg.TagGroups, "", "  ")
	var q struct {
		Quota map[string]struct {
			Used   int64     `json:"used"`
			Max    int64     `json:"max"`
			Resets time.Time `json:"resets"`
		} `json:"quota"`
	}
	if err := s.get("/admin/v1/corps/"+url.PathEscape(corpID)+"/quota", &q); err != nil {
		return err
	}
	data["TagGroups"], data["TagJSON"], data["Quota"] = tg.TagGroups, string(js), q.Quota
	return nil
}

// handleTagGroups replaces the corp's customer tag groups with the JSON
// of the edit box; a refusal is shown on the corp's page.
func (c *Console) handleTagGroups(w http.ResponseWriter, r *http.Request, s *req) error {
	corpID, body := r.PathValue("corpid"), r.PostFormValue("tag_groups")
	var groups []tagGroup
	if err := json.Unmarshal([]byte(body), &groups); err != nil {
		return c.corpPage(w, s, corpID, "tag_groups: not a JSON list of groups: "+err.Error(), body)
	}
	if err := s.call(http.MethodPut, "/admin/v1/corps/"+url.PathEscape(corpID)+"/tag_groups", map[string]any{"tag_groups": groups}, nil); err != nil {
		if ae := errOf(err); ae != nil {
			return c.corpPage(w, s, corpID, ae.Message, body)
		}
		return err
	}
	http.Redirect(w, r, "/console/corps/"+url.PathEscape(corpID)+"#tags", http.StatusSeeOther)
	return nil
}

// appCardFor re-reads one app's card after a change.
func (c *Console) appCardFor(s *req, corpID string, agentID int64) (*appCard, error) {
	_, cards, err := c.corpData(s, corpID)
	if err != nil {
		return nil, err
	}
	for _, cd := range cards {
		if cd.App.AgentID == agentID {
			return cd, nil
		}
	}
	return nil, &apiError{Status: http.StatusNotFound, Code: 404, Message: "app not found"}
}

// handleAppPrograms saves the programs an app may use (应用可使用程序): the
// admin API enforces the test-scenario rule and its refusal is shown on
// the app's card.
func (c *Console) handleAppPrograms(w http.ResponseWriter, r *http.Request, s *req) error {
	r.ParseForm()
	progs := r.PostForm["program"]
	if progs == nil {
		progs = []string{}
	}
	return c.appChange(w, r, s, http.MethodPut, "/programs", map[string]any{"programs": progs}, true)
}

func (c *Console) handleTestInstall(w http.ResponseWriter, r *http.Request, s *req) error {
	return c.appChange(w, r, s, http.MethodPut, "/test_install", map[string]any{"test_install": r.PostFormValue("test_install") == "true"}, false)
}

func (c *Console) handleRuleDelete(w http.ResponseWriter, r *http.Request, s *req) error {
	return c.appChange(w, r, s, http.MethodDelete, "/keyword_rules/"+url.PathEscape(r.PathValue("rule")), nil, false)
}

// appChange sends one change of an app to the admin API and answers with
// the app's card, re-read, showing the API's refusal if there was one.
func (c *Console) appChange(w http.ResponseWriter, r *http.Request, s *req, method, sub string, body any, saySaved bool) error {
	corpID, agent := r.PathValue("corpid"), r.PathValue("agentid")
	err := s.call(method, "/admin/v1/corps/"+url.PathEscape(corpID)+"/apps/"+url.PathEscape(agent)+sub, body, nil)
	ae := errOf(err)
	if err != nil && ae == nil {
		return err
	}
	agentID, _ := strconv.ParseInt(agent, 10, 64)
	card, err := c.appCardFor(s, corpID, agentID)
	if err != nil {
		return err
	}
	if ae != nil {
		card.Error = ae.Message
	} else {
		card.Saved = saySaved
	}
	return s.fragment(w, "corp", "app-card", card)
}

// handleArchive is the archive browser: members, chats and message
// metadata. Content is never fetched here: a message opens only through
// the display page (/display/message) with its secret_key.
func (c *Console) handleArchive(w http.ResponseWriter, r *http.Request, s *req) error {
	corpID := r.PathValue("corpid")
	var mem struct {
		Members []struct {
			UserID string `json:"userid"`
			Name   string `json:"name"`
		} `json:"members"`
		External []struct {
			ExternalUserID string `json:"external_userid"`
			Name           string `json:"name"`
		} `json:"external_contacts"`
	}
	if err := s.get("/admin/v1/corps/"+url.PathEscape(corpID)+"/members", &mem); err != nil {
		return notFound(w, s, err)
	}
	var chats struct {
		Chats []struct {
			ChatID  string `json:"chatid"`
			Name    string `json:"name"`
			Owner   string `json:"owner"`
			Members []struct {
				MemberID string `json:"memberid"`
				Type     int    `json:"type"`
			} `json:"members"`
		} `json:"chats"`
	}
	if err := s.get("/admin/v1/corps/"+url.PathEscape(corpID)+"/chats", &chats); err != nil {
		return err
	}
	q := url.Values{}
	chatID := r.URL.Query().Get("chatid")
	if chatID != "" {
		q.Set("chatid", chatID)
	}
	after := r.URL.Query().Get("after_seq")
	if after != "" {
		q.Set("after_seq", after)
	}
	var msgs struct {
		Messages []struct {
			MsgID     string  `json:"msgid"`
			Seq       int64   `json:"seq"`
			Sender    party   `json:"sender"`
			Receivers []party `json:"receiver_list"`
			ChatID    string  `json:"chatid"`
			MsgType   int     `json:"msgtype"`
			SendTime  int64   `json:"send_time"`
		} `json:"messages"`
	}
	errMsg := ""
	if err := s.get("/admin/v1/corps/"+url.PathEscape(corpID)+"/messages?"+q.Encode(), &msgs); err != nil {
		ae := errOf(err)
		if ae == nil {
			return err
		}
		errMsg = ae.Message
	}
	var next template.URL
	if n := len(msgs.Messages); n == 100 {
		nq := url.Values{}
		if chatID != "" {
			nq.Set("chatid", chatID)
		}
		nq.Set("after_seq", strconv.FormatInt(msgs.Messages[n-1].Seq, 10))
		next = template.URL("?" + nq.Encode()) // encoded here: the template would escape "=" and "&"
	}
	return s.page(w, "archive", "corps", "会话存档 Archive · "+corpID, map[string]any{
		"CorpID": corpID, "Members": mem.Members, "External": mem.External, "Chats": chats.Chats,
		"Messages": msgs.Messages, "ChatID": chatID, "Next": next, "MsgID": r.URL.Query().Get("msgid"),
	}, errMsg)
}

type party struct {
	Type int    `json:"type"`
	ID   string `json:"id"`
}

func (p party) String() string {
	switch p.Type {
	case 1:
		return p.ID + " (员工)"
	case 2:
		return p.ID + " (客户)"
	case 3:
		return p.ID + " (机器人)"
	}
	return p.ID
}

func joinParties(ps []party) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}
