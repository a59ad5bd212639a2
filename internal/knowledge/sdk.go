package knowledge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/specapi"
)

// Register adds the knowledge_base_* interfaces (管理企业知识集) and the old
// name of knowledge_base_list, document_list, to the SDK registry.
func (s *Service) Register(r *specapi.Registry) {
	r.Register("knowledge_base_list", s.sdk(s.sdkList))
	r.Register("document_list", s.sdk(s.sdkList))
	r.Register("knowledge_base_create", s.sdk(s.sdkCreate))
	r.Register("knowledge_base_detail", s.sdk(s.sdkDetail))
	r.Register("knowledge_base_add_doc", s.sdk(s.sdkAddDoc))
	r.Register("knowledge_base_remove_doc", s.sdk(s.sdkRemoveDoc))
	r.Register("knowledge_base_modify_name", s.sdk(s.sdkModifyName))
	r.Register("knowledge_base_delete", s.sdk(s.sdkDelete))
}

// sdkReq is every field the interfaces take.
type sdkReq struct {
	KBID      string    `json:"kb_id"`
	KBName    string    `json:"kb_name"`
	DocList   []DocSpec `json:"doc_list"`
	DocIDList []string  `json:"docid_list"`
}

type sdkFunc func(ctx context.Context, a Actor, req *sdkReq) (openzone.Reply, error)

// sdk decodes the request and checks the app's knowledge-set permission
// (「数据与智能专区-知识集」, 710643) before f runs as the app.
func (s *Service) sdk(f sdkFunc) specapi.Interface {
	return func(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
		if c.App == nil || !c.App.KnowledgePermission {
			app := c.App
			if app == nil {
				app = &openzone.App{CorpID: c.CorpID, AgentID: c.AgentID}
			}
			return nil, permissionError(app)
		}
		var req sdkReq
		d := json.NewDecoder(bytes.NewReader(raw))
		if err := d.Decode(&req); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				return nil, openzone.Errorf(openzone.ErrInvalidParam, "parameter %s has the wrong type: want %s", te.Field, te.Type)
			}
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "request is not a valid JSON object")
		}
		return f(ctx, Actor{CorpID: c.CorpID, AgentID: c.AgentID}, &req)
	}
}

type kbInfo struct {
	KBID   string `json:"kb_id"`
	KBName string `json:"kb_name"`
}

type listReply struct {
	openzone.Base
	KBInfoList []kbInfo `json:"kb_info_list"`
}

// sdkList is knowledge_base_list (document_list): the sets the app may use.
func (s *Service) sdkList(ctx context.Context, a Actor, _ *sdkReq) (openzone.Reply, error) {
	kbs, err := s.Sets(ctx, a)
	if err != nil {
		return nil, err
	}
	out := &listReply{Base: openzone.OK, KBInfoList: make([]kbInfo, len(kbs))}
	for i, kb := range kbs {
		out.KBInfoList[i] = kbInfo{KBID: kb.KBID, KBName: kb.Name}
	}
	return out, nil
}

type docsReply struct {
	openzone.Base
	KBID    string    `json:"kb_id,omitempty"`
	DocList []DocSpec `json:"doc_list"`
}

// sdkCreate is knowledge_base_create{kb_name, doc_list} → kb_id and each
// document with its docid; learning starts (status 2).
func (s *Service) sdkCreate(ctx context.Context, a Actor, req *sdkReq) (openzone.Reply, error) {
	kb, docs, err := s.Create(ctx, a, req.KBName, req.DocList)
	if err != nil {
		return nil, err
	}
	return &docsReply{Base: openzone.OK, KBID: kb.KBID, DocList: docs}, nil
}

// sdkAddDoc is knowledge_base_add_doc{kb_id, doc_list}.
func (s *Service) sdkAddDoc(ctx context.Context, a Actor, req *sdkReq) (openzone.Reply, error) {
	docs, err := s.AddDocs(ctx, a, req.KBID, req.DocList)
	if err != nil {
		return nil, err
	}
	return &docsReply{Base: openzone.OK, DocList: docs}, nil
}

// docView is a document in knowledge_base_detail: status 0 ok, 1 failed
// (fail_reason says why, an OpenZone addition), 2 being learned.
type docView struct {
	DocID      string `json:"docid"`
	DocName    string `json:"doc_name"`
	Type       int    `json:"type"`
	WebURL     string `json:"web_url,omitempty"`
	Status     int    `json:"status"`
	FailReason string `json:"fail_reason,omitempty"`
}

type detailReply struct {
	openzone.Base
	KBID    string    `json:"kb_id"`
	KBName  string    `json:"kb_name"`
	DocList []docView `json:"doc_list"`
}

// sdkDetail is knowledge_base_detail{kb_id}.
func (s *Service) sdkDetail(ctx context.Context, a Actor, req *sdkReq) (openzone.Reply, error) {
	kb, docs, err := s.Detail(ctx, a, req.KBID)
	if err != nil {
		return nil, err
	}
	out := &detailReply{Base: openzone.OK, KBID: kb.KBID, KBName: kb.Name, DocList: make([]docView, len(docs))}
	for i, d := range docs {
		out.DocList[i] = docView{DocID: d.DocID, DocName: d.Name, Type: d.Type, WebURL: d.WebURL, Status: d.Status, FailReason: d.Reason}
	}
	return out, nil
}

// sdkRemoveDoc is knowledge_base_remove_doc{kb_id, docid_list}.
func (s *Service) sdkRemoveDoc(ctx context.Context, a Actor, req *sdkReq) (openzone.Reply, error) {
	if err := s.RemoveDocs(ctx, a, req.KBID, req.DocIDList); err != nil {
		return nil, err
	}
	return openzone.OK, nil
}

// sdkModifyName is knowledge_base_modify_name{kb_id, kb_name}.
func (s *Service) sdkModifyName(ctx context.Context, a Actor, req *sdkReq) (openzone.Reply, error) {
	if err := s.Rename(ctx, a, req.KBID, req.KBName); err != nil {
		return nil, err
	}
	return openzone.OK, nil
}

// sdkDelete is knowledge_base_delete{kb_id}.
func (s *Service) sdkDelete(ctx context.Context, a Actor, req *sdkReq) (openzone.Reply, error) {
	if err := s.Delete(ctx, a, req.KBID); err != nil {
		return nil, err
	}
	return openzone.OK, nil
}
