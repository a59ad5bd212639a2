package appapi

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/archive"
)

// handleSetPublicKey serves set_public_key{public_key, public_key_ver}:
// message keys are delivered RSA-encrypted to this key, and archiving for
// the app starts with its first key. A new key needs a higher version.
func (a *API) handleSetPublicKey(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	pemText, err := req.str("public_key", true)
	if err != nil {
		return nil, err
	}
	ver, err := req.positiveInt("public_key_ver")
	if err != nil {
		return nil, err
	}
	if _, err := archive.ParsePublicKey(pemText); err != nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "%v", err)
	}
	last, err := a.cfg.Store.MessageLastSeq(ctx)
	if err != nil {
		return nil, err
	}
	err = a.cfg.Store.AppPublicKeyPut(ctx, &openzone.AppPublicKey{
		CorpID: app.CorpID, AgentID: app.AgentID, Ver: ver, PEM: pemText, SetAt: a.cfg.Now(), StartSeq: last,
	})
	if openzone.ErrorKind(err) == openzone.Conflict {
		cur, _ := a.cfg.Store.AppPublicKeyGet(ctx, app.CorpID, app.AgentID)
		if cur != nil {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "public_key_ver %d must be greater than the current version %d", ver, cur.Ver)
		}
	}
	if err != nil {
		return nil, err
	}
	return openzone.OK, nil
}

// positiveInt reads a required integer field ≥ 1.
func (q *request) positiveInt(name string) (int, error) {
	raw, present := q.fields[name]
	if !present || string(raw) == "null" {
		return 0, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter %s", name)
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, openzone.Errorf(openzone.ErrInvalidParam, "parameter %s must be an integer", name)
	}
	v, err := strconv.Atoi(n.String())
	if err != nil || v < 1 {
		return 0, openzone.Errorf(openzone.ErrInvalidParam, "parameter %s must be a positive integer", name)
	}
	return v, nil
}

// optInt reads an optional integer field.
func (q *request) optInt(name string, def int) (int, error) {
	raw, present := q.fields[name]
	if !present || string(raw) == "null" {
		return def, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, openzone.Errorf(openzone.ErrInvalidParam, "parameter %s must be an integer", name)
	}
	v, err := strconv.Atoi(n.String())
	if err != nil {
		return 0, openzone.Errorf(openzone.ErrInvalidParam, "parameter %s must be an integer", name)
	}
	return v, nil
}

type authUser struct {
	UserID      string `json:"userid"`
	EditionList []int  `json:"edition_list"`
}

type authUserListReply struct {
	openzone.Base
	AuthUserList []authUser `json:"auth_user_list"`
	NextCursor   string     `json:"next_cursor"`
	HasMore      bool       `json:"has_more"`
}

type authEdition struct {
	Edition         int       `json:"edition"`
	AuthScope       authScope `json:"auth_scope"`
	Status          int       `json:"status"`
	BeginTime       int64     `json:"begin_time,omitempty"`
	EndTime         int64     `json:"end_time,omitempty"`
	MsgDurationDays int       `json:"msg_duration_days"`
	AuthUserCount   int       `json:"auth_user_count"`
}

type authScope struct {
	UserIDList       []string `json:"userid_list"`
	DepartmentIDList []int    `json:"department_id_list"`
	TagIDList        []int    `json:"tag_id_list"`
}

type corpAuthInfoReply struct {
	openzone.Base
	AuthEditionList []authEdition `json:"auth_edition_list"`
}

// handleGetAuthUserList serves get_auth_user_list{cursor, limit}.
func (a *API) handleGetAuthUserList(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	cursor, err := req.str("cursor", false)
	if err != nil {
		return nil, err
	}
	limit, err := req.optInt("limit", 200)
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 200
	}
	if limit < 1 || limit > 1000 {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "limit must be from 1 to 1000, got %d", limit)
	}
	off := 0
	if cursor != "" {
		if off, err = strconv.Atoi(cursor); err != nil || off < 0 {
			return nil, openzone.Errorf(openzone.ErrBadCursor, "cursor is not one get_auth_user_list returned")
		}
	}
	all, err := a.cfg.Store.MemberList(ctx, app.CorpID)
	if err != nil {
		return nil, err
	}
	// The authorised members: those with at least one edition.
	var ms []*openzone.Member
	for _, m := range all {
		if len(m.MemberEditions()) > 0 {
			ms = append(ms, m)
		}
	}
	list := []authUser{}
	for i := off; i < len(ms) && len(list) < limit; i++ {
		list = append(list, authUser{UserID: ms[i].UserID, EditionList: ms[i].MemberEditions()})
	}
	next, more := "", off+len(list) < len(ms)
	if more {
		next = strconv.Itoa(off + len(list))
	}
	return &authUserListReply{Base: openzone.OK, AuthUserList: list, NextCursor: next, HasMore: more}, nil
}

// handleGetCorpAuthInfo serves get_corp_auth_info: custom and third-party
// apps only (846000 otherwise).
func (a *API) handleGetCorpAuthInfo(ctx context.Context, app *openzone.App, req *request) (openzone.Reply, error) {
	if app.Type == openzone.AppSelfBuilt {
		return nil, openzone.Errorf(openzone.ErrNotSuiteApp, "get_corp_auth_info is for custom (代开发) and third-party apps; app %d is self-built", app.AgentID)
	}
	corp, err := a.cfg.Store.CorpGet(ctx, app.CorpID)
	if err != nil {
		return nil, err
	}
	ms, err := a.cfg.Store.MemberList(ctx, app.CorpID)
	if err != nil {
		return nil, err
	}
	// One entry per edition some member is authorised for, naming them.
	users := map[int][]string{}
	for _, m := range ms {
		for _, e := range m.MemberEditions() {
			users[e] = append(users[e], m.UserID)
		}
	}
	list := []authEdition{}
	for e := openzone.EditionInternal; e <= openzone.EditionVoice; e++ {
		if len(users[e]) == 0 {
			continue
		}
		ed := authEdition{
			Edition:         e,
			AuthScope:       authScope{UserIDList: users[e], DepartmentIDList: []int{}, TagIDList: []int{}},
			Status:          corp.Auth.State(a.cfg.Now()),
			MsgDurationDays: corp.RetentionDays,
			AuthUserCount:   len(users[e]),
		}
		if !corp.Auth.Begin.IsZero() {
			ed.BeginTime = corp.Auth.Begin.Unix()
		}
		if !corp.Auth.End.IsZero() {
			ed.EndTime = corp.Auth.End.Unix()
		}
		list = append(list, ed)
	}
	return &corpAuthInfoReply{Base: openzone.OK, AuthEditionList: list}, nil
}
