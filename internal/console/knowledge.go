package console

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/openzone/openzone"
)

// kbDoc and kbSet are knowledge sets as the admin API lists them.
type kbDoc struct {
	DocID     string `json:"docid"`
	Name      string `json:"doc_name"`
	Type      int    `json:"type"`
	WebURL    string `json:"web_url"`
	Status    int    `json:"status"`
	Reason    string `json:"reason"`
	Fragments int    `json:"fragments"`
	Chars     int    `json:"chars"`
}

type kbSet struct {
	KBID      string  `json:"kb_id"`
	Name      string  `json:"kb_name"`
	AgentID   int64   `json:"agentid"`
	Fragments int     `json:"fragments"`
	Grants    []int64 `json:"grants"`
	DocList   []kbDoc `json:"doc_list"`
	Granted   bool    // to the app the page is about
}

// handleKnowledge is a corp's knowledge page (知识集), seen as one app
// (?agentid=): the sets it may use, their documents and learning status,
// the grants of the corp's own sets, and a search box that shows what a
// query retrieves for {knowledge}, and why.
func (c *Console) handleKnowledge(w http.ResponseWriter, r *http.Request, s *req) error {
	corpID := r.PathValue("corpid")
	var as struct{ Apps []app }
	if err := s.get("/admin/v1/corps/"+url.PathEscape(corpID)+"/apps", &as); err != nil {
		return err
	}
	agentID, _ := strconv.ParseInt(r.URL.Query().Get("agentid"), 10, 64)
	var cur *app
	for i := range as.Apps {
		if as.Apps[i].AgentID == agentID {
			cur = &as.Apps[i]
		}
	}
	if cur == nil && len(as.Apps) > 0 {
		cur, agentID = &as.Apps[0], as.Apps[0].AgentID
	}
	// The corp admin sees every set; the app's view is marked in it.
	var all struct {
		KnowledgeBases []kbSet `json:"knowledge_bases"`
	}
	if err := s.get("/admin/v1/corps/"+url.PathEscape(corpID)+"/knowledge_bases", &all); err != nil {
		return err
	}
	var mine, corpSets, others []kbSet
	for _, k := range all.KnowledgeBases {
		for _, g := range k.Grants {
			k.Granted = k.Granted || g == agentID
		}
		switch {
		case k.AgentID == agentID:
			mine = append(mine, k)
		case k.AgentID == 0:
			corpSets = append(corpSets, k)
		default:
			others = append(others, k)
		}
	}
	data := map[string]any{"CorpID": corpID, "Apps": as.Apps, "App": cur, "AgentID": agentID,
		"Mine": mine, "Corp": corpSets, "Others": others, "Sets": all.KnowledgeBases}
	errMsg := r.URL.Query().Get("error")
	if kbID, text := r.URL.Query().Get("kb"), r.URL.Query().Get("q"); kbID != "" && text != "" {
		var q openzone.KnowledgeQuery
		err := s.call(http.MethodPost, "/admin/v1/corps/"+url.PathEscape(corpID)+"/knowledge_bases/"+url.PathEscape(kbID)+"/query",
			map[string]any{"text": text, "agentid": agentID, "limit": 10}, &q)
		if ae := errOf(err); ae != nil {
			errMsg = ae.Message
		} else if err != nil {
			return err
		} else {
			data["Query"] = &q
		}
		data["KB"], data["Q"] = kbID, text
	}
	return s.page(w, "knowledge", "corps", "Knowledge sets 知识集", data, errMsg)
}

// knowledgeChange sends one change to the admin API and returns to the
// page, showing the API's refusal if there was one.
func (c *Console) knowledgeChange(w http.ResponseWriter, r *http.Request, s *req, method, path string, body any) error {
	corpID, agent := r.PathValue("corpid"), r.PostFormValue("agentid")
	err := s.call(method, "/admin/v1/corps/"+url.PathEscape(corpID)+path, body, nil)
	back := "/console/corps/" + url.PathEscape(corpID) + "/knowledge?agentid=" + url.QueryEscape(agent)
	if ae := errOf(err); ae != nil {
		back += "&error=" + url.QueryEscape(ae.Message)
	} else if err != nil {
		return err
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

func (c *Console) handleKnowledgePermission(w http.ResponseWriter, r *http.Request, s *req) error {
	return c.knowledgeChange(w, r, s, http.MethodPut, "/apps/"+url.PathEscape(r.PostFormValue("agentid"))+"/knowledge_permission",
		map[string]any{"knowledge_permission": r.PostFormValue("knowledge_permission") == "true"})
}

func (c *Console) handleKnowledgeGrant(w http.ResponseWriter, r *http.Request, s *req) error {
	method := http.MethodDelete
	if r.PostFormValue("granted") == "true" {
		method = http.MethodPut
	}
	return c.knowledgeChange(w, r, s, method, fmt.Sprintf("/apps/%s/knowledge_bases/%s", url.PathEscape(r.PostFormValue("agentid")), url.PathEscape(r.PathValue("kb"))), nil)
}

func (c *Console) handleKnowledgeDelete(w http.ResponseWriter, r *http.Request, s *req) error {
	return c.knowledgeChange(w, r, s, http.MethodDelete, "/knowledge_bases/"+url.PathEscape(r.PathValue("kb")), nil)
}
