package adminapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/knowledge"
	"github.com/openzone/openzone/internal/media"
)

// Knowledge is the corp admin's side of knowledge sets (知识集), and the
// CLI's acting as an app (knowledge.Service).
type Knowledge interface {
	Sets(ctx context.Context, a knowledge.Actor) ([]*openzone.KnowledgeBase, error)
	Detail(ctx context.Context, a knowledge.Actor, kbID string) (*openzone.KnowledgeBase, []*openzone.KnowledgeDoc, error)
	Create(ctx context.Context, a knowledge.Actor, name string, docs []knowledge.DocSpec) (*openzone.KnowledgeBase, []knowledge.DocSpec, error)
	AddDocs(ctx context.Context, a knowledge.Actor, kbID string, docs []knowledge.DocSpec) ([]knowledge.DocSpec, error)
	Delete(ctx context.Context, a knowledge.Actor, kbID string) error
	Grant(ctx context.Context, corpID, kbID string, agentID int64, granted bool) error
	Query(ctx context.Context, a knowledge.Actor, kbID, text string, limit int) (*openzone.KnowledgeQuery, error)
}

// Media stores a file uploaded through the admin API.
type Media interface {
	Put(ctx context.Context, f media.File) (*openzone.Media, error)
}

// actor is who a knowledge request acts as: ?agentid= (or the body's
// agentid) names an app, which must exist; none is the corp admin.
func (a *API) actor(r *http.Request, agentID int64) (knowledge.Actor, error) {
	corpID, err := a.corp(r)
	if err != nil {
		return knowledge.Actor{}, err
	}
	if q := r.URL.Query().Get("agentid"); q != "" && agentID == 0 {
		if agentID, err = strconv.ParseInt(q, 10, 64); err != nil || agentID < 0 {
			return knowledge.Actor{}, openzone.Errorf(openzone.ErrInvalidParam, "agentid %q is not an app's agentid", q)
		}
	}
	if agentID != 0 {
		if _, err := a.cfg.Store.AppGet(r.Context(), corpID, agentID); err != nil {
			return knowledge.Actor{}, err
		}
	}
	return knowledge.Actor{CorpID: corpID, AgentID: agentID}, nil
}

type kbView struct {
	*openzone.KnowledgeBase
	DocList []*openzone.KnowledgeDoc `json:"doc_list,omitempty"`
}

// handleKBList lists the sets the actor may read, each with its documents.
func (a *API) handleKBList(r *http.Request) (any, error) {
	ac, err := a.actor(r, 0)
	if err != nil {
		return nil, err
	}
	kbs, err := a.cfg.Knowledge.Sets(r.Context(), ac)
	if err != nil {
		return nil, err
	}
	out := make([]kbView, len(kbs))
	for i, kb := range kbs {
		_, docs, err := a.cfg.Knowledge.Detail(r.Context(), ac, kb.KBID)
		if err != nil {
			return nil, err
		}
		out[i] = kbView{KnowledgeBase: kb, DocList: docs}
	}
	return map[string]any{"knowledge_bases": out}, nil
}

func (a *API) handleKBGet(r *http.Request) (any, error) {
	ac, err := a.actor(r, 0)
	if err != nil {
		return nil, err
	}
	kb, docs, err := a.cfg.Knowledge.Detail(r.Context(), ac, r.PathValue("kb_id"))
	if err != nil {
		return nil, err
	}
	if docs == nil {
		docs = []*openzone.KnowledgeDoc{}
	}
	return kbView{KnowledgeBase: kb, DocList: docs}, nil
}

type kbBody struct {
	AgentID int64               `json:"agentid"`
	KBName  string              `json:"kb_name"`
	DocList []knowledge.DocSpec `json:"doc_list"`
}

const kbShape = `{"agentid": 0 (the corp admin) or an app's, "kb_name", "doc_list": [{"doc_name", "type": 2|4|6|101, "file_media_id" | "web_url"}]}`

// kbRequest reads the body of a create or add request and who acts.
func (a *API) kbRequest(r *http.Request) (kbBody, knowledge.Actor, error) {
	var b kbBody
	if err := decodeBody(r, 1<<20, &b, kbShape); err != nil {
		return b, knowledge.Actor{}, err
	}
	ac, err := a.actor(r, b.AgentID)
	return b, ac, err
}

// handleKBCreate makes a set: the corp admin's (agentid 0, granted to apps
// later) or, as the CLI does, an app's.
func (a *API) handleKBCreate(r *http.Request) (any, error) {
	b, ac, err := a.kbRequest(r)
	if err != nil {
		return nil, err
	}
	kb, docs, err := a.cfg.Knowledge.Create(r.Context(), ac, b.KBName, b.DocList)
	if err != nil {
		return nil, err
	}
	return map[string]any{"kb_id": kb.KBID, "kb_name": kb.Name, "doc_list": docs}, nil
}

func (a *API) handleKBAddDocs(r *http.Request) (any, error) {
	b, ac, err := a.kbRequest(r)
	if err != nil {
		return nil, err
	}
	docs, err := a.cfg.Knowledge.AddDocs(r.Context(), ac, r.PathValue("kb_id"), b.DocList)
	if err != nil {
		return nil, err
	}
	return map[string]any{"doc_list": docs}, nil
}

// handleKBDelete deletes a set as the corp admin: the apps that used it
// get delete_knowledge_base.
func (a *API) handleKBDelete(r *http.Request) (any, error) {
	corpID, err := a.corp(r)
	if err != nil {
		return nil, err
	}
	if err := a.cfg.Knowledge.Delete(r.Context(), knowledge.Actor{CorpID: corpID}, r.PathValue("kb_id")); err != nil {
		return nil, err
	}
	return map[string]any{"deleted": r.PathValue("kb_id")}, nil
}

// handleKBGrant grants (PUT) or withdraws (DELETE) a corp set to an app:
// auth_knowledge_base / unauth_knowledge_base.
func (a *API) handleKBGrant(r *http.Request) (any, error) {
	app, err := a.appFromPath(r)
	if err != nil {
		return nil, err
	}
	granted := r.Method == http.MethodPut
	if err := a.cfg.Knowledge.Grant(r.Context(), app.CorpID, r.PathValue("kb_id"), app.AgentID, granted); err != nil {
		return nil, err
	}
	return map[string]any{"kb_id": r.PathValue("kb_id"), "agentid": app.AgentID, "granted": granted}, nil
}

// handleKBQuery shows what a query retrieves from a set, and why.
func (a *API) handleKBQuery(r *http.Request) (any, error) {
	var b struct {
		AgentID int64  `json:"agentid"`
		Text    string `json:"text"`
		Limit   int    `json:"limit"`
	}
	if err := decodeBody(r, 1<<20, &b, `{"text": "the query (a chat's text)", "agentid", "limit"}`); err != nil {
		return nil, err
	}
	ac, err := a.actor(r, b.AgentID)
	if err != nil {
		return nil, err
	}
	return a.cfg.Knowledge.Query(r.Context(), ac, r.PathValue("kb_id"), b.Text, b.Limit)
}

// handleMediaUpload is upload_media for the admin API: a multipart part
// "media", for the app ?agentid= (or the corp admin), valid 3 days.
func (a *API) handleMediaUpload(r *http.Request) (any, error) {
	ac, err := a.actor(r, 0)
	if err != nil {
		return nil, err
	}
	f, err := media.FromRequest(nil, r)
	if err != nil {
		return nil, err
	}
	f.CorpID, f.AgentID = ac.CorpID, ac.AgentID
	m, err := a.cfg.Media.Put(r.Context(), f)
	if err != nil {
		return nil, err
	}
	return map[string]any{"media_id": m.MediaID, "agentid": m.AgentID, "size": m.Size, "expires_at": m.ExpiresAt}, nil
}

// handleAppKnowledgePermission sets the app permission 「数据与智能专区-知识集」.
func (a *API) handleAppKnowledgePermission(r *http.Request) (any, error) {
	var b struct {
		KnowledgePermission *bool `json:"knowledge_permission"`
	}
	if err := decodeBody(r, 4<<10, &b, `{"knowledge_permission": true|false}`); err != nil {
		return nil, err
	}
	if b.KnowledgePermission == nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required field knowledge_permission")
	}
	app, err := a.appFromPath(r)
	if err != nil {
		return nil, err
	}
	app.KnowledgePermission = *b.KnowledgePermission
	if err := a.cfg.Store.AppUpsert(r.Context(), app); err != nil {
		return nil, err
	}
	a.changed()
	return app, nil
}
