package adminapi

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/archive"
)

// MaxBatch is the most messages one batch request may carry.
const MaxBatch = 1000

// handleMessageCreate archives one message: POST /admin/v1/corps/{corpid}/messages
// with a sync_msg-shaped item plus its content → {"msgid"}.
func (a *API) handleMessageCreate(r *http.Request) (any, error) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20+1))
	if err != nil || len(raw) > 1<<20 {
		return nil, openzone.Errorf(openzone.ErrRequestTooLarge, "a message is limited to 1 MiB")
	}
	in, err := archive.ParseInput(raw)
	if err != nil {
		return nil, err
	}
	res, err := a.cfg.Archive.Ingest(r.Context(), r.PathValue("corpid"), []*archive.Input{in})
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// handleMessageBatch archives up to MaxBatch messages in one transaction:
// all or none. Body {"messages": [...]} → {"results": [{msgid, seq}]}.
func (a *API) handleMessageBatch(r *http.Request) (any, error) {
	var body struct {
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<20)).Decode(&body); err != nil {
		return nil, openzone.Errorf(openzone.ErrBadBodyJSON, `body must be {"messages": [...]}`)
	}
	if len(body.Messages) == 0 || len(body.Messages) > MaxBatch {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "a batch holds 1 to %d messages, got %d", MaxBatch, len(body.Messages))
	}
	ins := make([]*archive.Input, 0, len(body.Messages))
	for i, raw := range body.Messages {
		in, err := archive.ParseInput(raw)
		if err != nil {
			return nil, openzone.Errorf(openzone.ErrorCode(err), "messages[%d]: %s", i, openzone.ErrorMessage(err))
		}
		ins = append(ins, in)
	}
	res, err := a.cfg.Archive.Ingest(r.Context(), r.PathValue("corpid"), ins)
	if err != nil {
		return nil, err
	}
	return map[string]any{"results": res}, nil
}

// handleMessageList lists a corp's archived messages, metadata only: the
// content stays sealed (see it through /display/message with its key).
func (a *API) handleMessageList(r *http.Request) (any, error) {
	f := openzone.MessageFilter{CorpID: r.PathValue("corpid"), ChatID: r.URL.Query().Get("chatid"), Limit: 100}
	if s := r.URL.Query().Get("after_seq"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "after_seq must be a non-negative integer")
		}
		f.AfterSeq = n
	}
	if _, err := a.cfg.Store.CorpGet(r.Context(), f.CorpID); err != nil {
		return nil, err
	}
	ms, err := a.cfg.Store.MessageList(r.Context(), f)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		out = append(out, map[string]any{"msgid": m.MsgID, "seq": m.Seq, "sender": m.Sender, "receiver_list": m.Receivers,
			"chatid": m.ChatID, "msgtype": m.MsgType, "send_time": m.SendTime.Unix(), "ingested_at": m.Ingested})
	}
	return map[string]any{"messages": out}, nil
}

// handleChatPut creates or replaces a group chat: PUT /admin/v1/corps/{corpid}/chats/{chatid}
// {"name","owner","create_time","members":[{"memberid","type","jointime"}]}.
func (a *API) handleChatPut(r *http.Request) (any, error) {
	var body struct {
		Name       string `json:"name"`
		Owner      string `json:"owner"`
		CreateTime int64  `json:"create_time"`
		Members    []struct {
			MemberID string `json:"memberid"`
			Type     int    `json:"type"`
			JoinTime int64  `json:"jointime"`
		} `json:"members"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<20)).Decode(&body); err != nil {
		return nil, openzone.Errorf(openzone.ErrBadBodyJSON, "body must be a chat object {name, owner, members}")
	}
	if err := openzone.CheckUserID("chatid", r.PathValue("chatid")); err != nil {
		return nil, err
	}
	if err := openzone.CheckText("name", body.Name, openzone.MaxNameLen, false); err != nil {
		return nil, err
	}
	if len(body.Members) > openzone.MaxChatMembers {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "members: %d members, over the limit of %d", len(body.Members), openzone.MaxChatMembers)
	}
	c := &openzone.Chat{CorpID: r.PathValue("corpid"), ChatID: r.PathValue("chatid"), Name: body.Name, Owner: body.Owner,
		CreateTime: time.Unix(body.CreateTime, 0)}
	if body.CreateTime == 0 {
		c.CreateTime = a.cfg.Now()
	}
	for i, m := range body.Members {
		if m.Type < 1 || m.Type > 3 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "members[%d] needs memberid and type 1, 2 or 3", i)
		}
		if err := openzone.CheckUserID(fmt.Sprintf("members[%d].memberid", i), m.MemberID); err != nil {
			return nil, err
		}
		jt := time.Unix(m.JoinTime, 0)
		if m.JoinTime == 0 {
			jt = c.CreateTime
		}
		c.Members = append(c.Members, openzone.ChatMember{MemberID: m.MemberID, Type: m.Type, JoinTime: jt})
	}
	if err := a.cfg.Store.ChatUpsert(r.Context(), c); err != nil {
		return nil, err
	}
	return c, nil
}

// handleAgreePut records consent (同意会话存档): POST /admin/v1/corps/{corpid}/agree
// {"userid"|"chatid", "external_userid", "agree_status": "Agree"|"Disagree"};
// an agreement raises chat_archive_audit_approved_single / _room.
func (a *API) handleAgreePut(r *http.Request) (any, error) {
	var as openzone.AgreeStatus
	if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&as); err != nil {
		return nil, openzone.Errorf(openzone.ErrBadBodyJSON, "body must be {userid or chatid, external_userid, agree_status}")
	}
	as.CorpID = r.PathValue("corpid")
	if (as.UserID == "") == (as.ChatID == "") || as.ExternalUserID == "" {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "give external_userid and exactly one of userid (a single chat) or chatid (a group)")
	}
	if as.Status != "Agree" && as.Status != "Disagree" {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, `agree_status must be "Agree" or "Disagree"`)
	}
	as.ChangeTime = a.cfg.Now()
	if err := a.cfg.Archive.SetAgree(r.Context(), &as); err != nil {
		return nil, err
	}
	return &as, nil
}
