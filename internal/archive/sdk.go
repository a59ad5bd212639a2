package archive

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/quota"
	"github.com/openzone/openzone/internal/specapi"
	"github.com/openzone/openzone/internal/store"
)

// Register adds the archive's SDK interfaces (专区程序调用SDK) to r.
func (s *Service) Register(r *specapi.Registry) {
	for name, f := range map[string]specapi.Interface{
		"sync_msg":                   s.syncMsg,
		"get_msg_list_by_page_id":    s.msgListByPage,
		"get_group_chat":             s.getGroupChat,
		"get_agree_status_single":    s.agreeSingle,
		"get_agree_status_room":      s.agreeRoom,
		"search_chat":                s.searchChat,
		"search_msg":                 s.searchMsg,
		"search_contact_or_customer": s.searchContact,
		"create_rule":                s.createRule,
		"get_rule_list":              s.ruleList,
		"get_rule_detail":            s.ruleDetail,
		"update_rule":                s.updateRule,
		"delete_rule":                s.deleteRule,
		"get_hit_msg_list":           s.hitMsgList,
	} {
		r.Register(name, s.authorised(f))
	}
}

// noTokenLimit counts a sync_msg without an event token against its app's
// limit per minute (45009 past it).
func (s *Service) noTokenLimit(ctx context.Context, c *specapi.Context) error {
	max := s.cfg.SyncMsgNoTokenPerMinute
	if max == 0 {
		max = DefaultSyncMsgNoTokenPerMinute
	}
	if s.cfg.Quota == nil || max < 0 {
		return nil
	}
	l := quota.Limit{Name: "sync_msg_no_token", Max: max, Window: quota.Every(time.Minute),
		What: "sync_msg calls without an event token a minute (pass the token of conversation_new_message)"}
	return s.cfg.Quota.Take(ctx, l, fmt.Sprintf("%s/%d", c.CorpID, c.AgentID), 1)
}

// authorised runs f only while the corp's authorisation lets programs read
// its archive (openzone.Auth.ReadRefusal: 710651, 710652–710654).
func (s *Service) authorised(f specapi.Interface) specapi.Interface {
	return func(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
		if c.CorpID != "" {
			corp, err := s.cfg.Store.CorpGet(ctx, c.CorpID)
			if err != nil && !openzone.IsNotFound(err) {
				return nil, err
			}
			if corp != nil {
				if err := corp.Auth.ReadRefusal(c.CorpID, s.cfg.Now()); err != nil {
					return nil, err
				}
			}
		}
		return f(ctx, c, raw)
	}
}

// decode reads an interface's request; a field of the wrong type is 40058
// naming it. Unknown fields are ignored, as WeCom's API does.
func decode(req json.RawMessage, v any) error {
	if err := json.Unmarshal(req, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return openzone.Errorf(openzone.ErrInvalidParam, "parameter %s must be a %s", te.Field, te.Type)
		}
		return openzone.Errorf(openzone.ErrInvalidParam, "request is not a JSON object")
	}
	return nil
}

// Replies of the archive's SDK interfaces, field for field as WeCom's.

type msgItem struct {
	MsgID              string           `json:"msgid"`
	Sender             openzone.Party   `json:"sender"`
	ReceiverList       []openzone.Party `json:"receiver_list"`
	SendTime           int64            `json:"send_time"`
	MsgType            int              `json:"msgtype"`
	ServiceEncryptInfo encryptInfo      `json:"service_encrypt_info"`
	ChatID             string           `json:"chatid,omitempty"`
	ExtraInfo          json.RawMessage  `json:"extra_info,omitempty"`
}

type encryptInfo struct {
	EncryptedSecretKey string `json:"encrypted_secret_key"`
	PublicKeyVer       int    `json:"public_key_ver"`
}

type msgPage struct {
	openzone.Base
	HasMore    int       `json:"has_more"`
	NextCursor string    `json:"next_cursor"`
	MsgList    []msgItem `json:"msg_list"`
}

type prePageReply struct {
	openzone.Base
	HasMore    int      `json:"has_more"`
	NextCursor string   `json:"next_cursor"`
	MsgList    []any    `json:"msg_list"`
	PageIDList []string `json:"page_id_list"`
}

type msgListReply struct {
	openzone.Base
	MsgList []msgItem `json:"msg_list"`
}

type groupChatReply struct {
	openzone.Base
	Creator        string        `json:"creator"`
	RoomCreateTime int64         `json:"room_create_time"`
	Members        []groupMember `json:"members"`
}

type groupMember struct {
	MemberID string `json:"memberid"`
	JoinTime int64  `json:"jointime"`
	Type     int    `json:"type"`
}

type agreeReply struct {
	openzone.Base
	AgreeInfo []agreeInfo `json:"agreeinfo"`
}

type agreeInfo struct {
	UserID           string `json:"userid,omitempty"`
	ExternalUserID   string `json:"external_userid"`
	AgreeStatus      string `json:"agree_status"`
	StatusChangeTime int64  `json:"status_change_time"`
}

type chatHit struct {
	ChatID string `json:"chatid"`
}

type searchChatReply struct {
	openzone.Base
	HasMore    int       `json:"has_more"`
	NextCursor string    `json:"next_cursor"`
	ChatList   []chatHit `json:"chat_list"`
}

type userHit struct {
	Type int    `json:"type"`
	ID   string `json:"id"`
}

type searchContactReply struct {
	openzone.Base
	HasMore    int       `json:"has_more"`
	NextCursor string    `json:"next_cursor"`
	UserList   []userHit `json:"user_list"`
}

type msgHit struct {
	MsgID string `json:"msgid"`
}

type searchMsgReply struct {
	openzone.Base
	HasMore    int      `json:"has_more"`
	NextCursor string   `json:"next_cursor"`
	MsgList    []msgHit `json:"msg_list"`
}

// Cursors are opaque to callers; inside they are a kind and a number.
func encodeCursor(kind string, n int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strconv.FormatInt(n, 10)))
}

func decodeCursor(kind, c string, max int) (int64, error) {
	if c == "" {
		return 0, nil
	}
	if len(c) > max {
		return 0, openzone.Errorf(openzone.ErrBadCursor, "cursor is longer than %d bytes", max)
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	k, num, found := strings.Cut(string(raw), ":")
	n, err2 := strconv.ParseInt(num, 10, 64)
	if err != nil || !found || k != kind || err2 != nil || n < 0 {
		return 0, openzone.Errorf(openzone.ErrBadCursor, "cursor is not one this interface returned")
	}
	return n, nil
}

func limitOf(l *int, def, max int) (int, error) {
	if l == nil || *l == 0 {
		return def, nil
	}
	if *l < 0 || *l > max {
		return 0, openzone.Errorf(openzone.ErrInvalidParam, "limit must be from 1 to %d, got %d", max, *l)
	}
	return *l, nil
}

// appKey returns the app's public key: archiving (and so every archive
// read) starts only once the app has set one.
func (s *Service) appKey(ctx context.Context, c *specapi.Context) (*openzone.AppPublicKey, error) {
	k, err := s.cfg.Store.AppPublicKeyGet(ctx, c.CorpID, c.AgentID)
	if openzone.IsNotFound(err) {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "app %d has not set a public key (set_public_key): archiving for it has not started", c.AgentID)
	}
	return k, err
}

// token checks an event token of kind for the calling app.
func (s *Service) token(ctx context.Context, c *specapi.Context, tok, kind string) (*openzone.EventToken, error) {
	if len(tok) > 128 {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "token is longer than 128 bytes")
	}
	t, err := s.cfg.Store.EventTokenGet(ctx, tok)
	if err != nil {
		if openzone.IsNotFound(err) {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "token is not one an event gave this app")
		}
		return nil, err
	}
	if t.CorpID != c.CorpID || t.AgentID != c.AgentID || t.Kind != kind {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "token is not one an event gave this app")
	}
	if !s.cfg.Now().Before(t.ExpiresAt) {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "token expired (event tokens are valid 10 minutes)")
	}
	return t, nil
}

// item renders a message as a sync_msg msg_list item, with its secret_key
// RSA-encrypted to the app's public key (service_encrypt_info).
func (s *Service) item(m *openzone.Message, k *openzone.AppPublicKey) (*msgItem, error) {
	pub, err := ParsePublicKey(k.PEM)
	if err != nil {
		return nil, fmt.Errorf("archive: stored public key of app %d: %w", k.AgentID, err)
	}
	sk, err := s.SecretKey(m)
	if err != nil {
		return nil, err
	}
	enc, err := EncryptSecretKey(pub, sk)
	if err != nil {
		return nil, err
	}
	return &msgItem{
		MsgID: m.MsgID, Sender: m.Sender, ReceiverList: nonNil(m.Receivers),
		SendTime: m.SendTime.Unix(), MsgType: m.MsgType,
		ServiceEncryptInfo: encryptInfo{EncryptedSecretKey: enc, PublicKeyVer: k.Ver},
		ChatID:             m.ChatID, ExtraInfo: m.Extra,
	}, nil
}

func nonNil(p []openzone.Party) []openzone.Party {
	if p == nil {
		return []openzone.Party{}
	}
	return p
}

type syncMsgReq struct {
	Cursor    string `json:"cursor"`
	Token     string `json:"token"`
	Limit     *int   `json:"limit"`
	Mode      int    `json:"mode"`
	BeginTime int64  `json:"begin_time"`
}

// syncMsg is sync_msg (获取会话记录): messages of the last 5 days after the
// cursor (or the event token's position), oldest first.
func (s *Service) syncMsg(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	var req syncMsgReq
	if err := decode(raw, &req); err != nil {
		return nil, err
	}
	limit, err := limitOf(req.Limit, 200, 1000)
	if err != nil {
		return nil, err
	}
	if req.Mode < 0 || req.Mode > 2 {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "mode must be 0, 1 (pre-paging) or 2 (adaptive), got %d", req.Mode)
	}
	if req.Token == "" {
		if err := s.noTokenLimit(ctx, c); err != nil {
			return nil, err
		}
	}
	k, err := s.appKey(ctx, c)
	if err != nil {
		return nil, err
	}
	after, err := decodeCursor("m", req.Cursor, 128)
	if err != nil {
		return nil, err
	}
	if req.Token != "" {
		t, err := s.token(ctx, c, req.Token, "sync_msg")
		if err != nil {
			return nil, err
		}
		if req.Cursor == "" {
			after = t.FromSeq
		}
	}
	after = max(after, k.StartSeq)
	now := s.cfg.Now()
	since := now.Add(-Window)
	if req.BeginTime > 0 {
		bt := time.Unix(req.BeginTime, 0)
		if bt.Before(since) {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "begin_time is more than 5 days ago: the zone keeps message records 5 days")
		}
		since = bt
	}
	if req.Mode > 0 {
		return s.prePage(ctx, c, after, since, limit, req.Mode, k)
	}
	msgs, err := s.cfg.Store.MessageList(ctx, openzone.MessageFilter{CorpID: c.CorpID, AfterSeq: after, Since: since, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	return s.page(msgs, limit, after, k)
}

func (s *Service) page(msgs []*openzone.Message, limit int, after int64, k *openzone.AppPublicKey) (*msgPage, error) {
	hasMore := 0
	if len(msgs) > limit {
		msgs, hasMore = msgs[:limit], 1
	}
	list := make([]msgItem, 0, len(msgs))
	next := after
	for _, m := range msgs {
		it, err := s.item(m, k)
		if err != nil {
			return nil, err
		}
		list = append(list, *it)
		next = m.Seq
	}
	return &msgPage{Base: openzone.OK, HasMore: hasMore, NextCursor: encodeCursor("m", next), MsgList: list}, nil
}

// prePage is sync_msg modes 1 and 2: instead of messages, up to 10 page ids
// of limit messages each, read with get_msg_list_by_page_id. Mode 2 answers
// with the messages themselves when they fit in one page.
func (s *Service) prePage(ctx context.Context, c *specapi.Context, after int64, since time.Time, limit, mode int, k *openzone.AppPublicKey) (openzone.Reply, error) {
	msgs, err := s.cfg.Store.MessageList(ctx, openzone.MessageFilter{CorpID: c.CorpID, AfterSeq: after, Since: since, Limit: limit*10 + 1})
	if err != nil {
		return nil, err
	}
	if mode == 2 && len(msgs) <= limit {
		return s.page(msgs, limit, after, k)
	}
	hasMore := 0
	if len(msgs) > limit*10 {
		msgs, hasMore = msgs[:limit*10], 1
	}
	var ids []string
	next := after
	for i := 0; i < len(msgs); i += limit {
		j := min(i+limit, len(msgs))
		start := after
		if i > 0 {
			start = msgs[i-1].Seq
		}
		ids = append(ids, s.pageID(c, start, msgs[j-1].Seq, since.Unix()))
		next = msgs[j-1].Seq
	}
	return &prePageReply{Base: openzone.OK, HasMore: hasMore, NextCursor: encodeCursor("m", next), MsgList: []any{}, PageIDList: nonNilStr(ids)}, nil
}

// pageID names one pre-cut page: messages after seq from up to seq to,
// ingested at or after since. It is MACed with a key derived from the
// archive key and bound to the corp and app, so a page id cannot be
// forged, widened or used by another app.
func (s *Service) pageID(c *specapi.Context, from, to, since int64) string {
	body := fmt.Sprintf("p:%d:%d:%d", from, to, since)
	return base64.RawURLEncoding.EncodeToString(append([]byte(body+":"), s.pageMAC(c, body)...))
}

func (s *Service) pageMAC(c *specapi.Context, body string) []byte {
	m := hmac.New(sha256.New, s.cfg.Key)
	fmt.Fprintf(m, "openzone page_id\x00%s\x00%d\x00%s", c.CorpID, c.AgentID, body)
	return m.Sum(nil)[:16]
}

func (s *Service) parsePageID(c *specapi.Context, id string) (from, to, since int64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) < 17 || b[len(b)-17] != ':' {
		return 0, 0, 0, false
	}
	body, mac := string(b[:len(b)-17]), b[len(b)-16:]
	if !hmac.Equal(mac, s.pageMAC(c, body)) {
		return 0, 0, 0, false
	}
	if n, _ := fmt.Sscanf(body, "p:%d:%d:%d", &from, &to, &since); n != 3 || to <= from {
		return 0, 0, 0, false
	}
	return from, to, since, true
}

func nonNilStr(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// msgListByPage is get_msg_list_by_page_id.
func (s *Service) msgListByPage(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	var req struct {
		PageID string `json:"page_id"`
	}
	if err := decode(raw, &req); err != nil {
		return nil, err
	}
	k, err := s.appKey(ctx, c)
	if err != nil {
		return nil, err
	}
	from, to, since, valid := s.parsePageID(c, req.PageID)
	if !valid {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "page_id is not one sync_msg returned to this app")
	}
	// The window is enforced when the page is read, not when it was cut:
	// a page id kept past 5 days yields only what is still in the window.
	since = max(since, s.cfg.Now().Add(-Window).Unix())
	msgs, err := s.cfg.Store.MessageList(ctx, openzone.MessageFilter{CorpID: c.CorpID, AfterSeq: max(from, k.StartSeq), Since: time.Unix(since, 0), Limit: 1000})
	if err != nil {
		return nil, err
	}
	list := []msgItem{}
	for _, m := range msgs {
		if m.Seq > to {
			break
		}
		it, err := s.item(m, k)
		if err != nil {
			return nil, err
		}
		list = append(list, *it)
	}
	return &msgListReply{Base: openzone.OK, MsgList: list}, nil
}

// getGroupChat is get_group_chat (获取内部群信息).
func (s *Service) getGroupChat(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	var req struct {
		ChatID string `json:"chatid"`
	}
	if err := decode(raw, &req); err != nil {
		return nil, err
	}
	if req.ChatID == "" {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter chatid")
	}
	ch, err := s.cfg.Store.ChatGet(ctx, c.CorpID, req.ChatID)
	if err != nil {
		if openzone.IsNotFound(err) {
			return nil, openzone.Errorf(openzone.ErrBadChatID, "chatid %q is not a group chat of corp %s", req.ChatID, c.CorpID)
		}
		return nil, err
	}
	members := make([]groupMember, 0, len(ch.Members))
	for _, m := range ch.Members {
		members = append(members, groupMember{MemberID: m.MemberID, JoinTime: m.JoinTime.Unix(), Type: m.Type})
	}
	return &groupChatReply{Base: openzone.OK, Creator: ch.Owner, RoomCreateTime: ch.CreateTime.Unix(), Members: members}, nil
}

// agreeSingle is get_agree_status_single. Pairs without a record answer
// "Disagree": consent is never assumed.
func (s *Service) agreeSingle(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	var req struct {
		Item []struct {
			UserID         string `json:"userid"`
			ExternalUserID string `json:"external_userid"`
		} `json:"item"`
	}
	if err := decode(raw, &req); err != nil {
		return nil, err
	}
	if len(req.Item) == 0 || len(req.Item) > 100 {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "item must hold 1 to 100 {userid, external_userid} pairs, got %d", len(req.Item))
	}
	out := make([]agreeInfo, 0, len(req.Item))
	for i, it := range req.Item {
		if it.UserID == "" || it.ExternalUserID == "" {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "item[%d] needs userid and external_userid", i)
		}
		a, err := s.cfg.Store.AgreeGetSingle(ctx, store.AgreeGetSingleParams{CorpID: c.CorpID, UserID: it.UserID, ExternalUserID: it.ExternalUserID})
		row := agreeInfo{UserID: it.UserID, ExternalUserID: it.ExternalUserID, AgreeStatus: "Disagree"}
		switch {
		case err == nil:
			row.AgreeStatus, row.StatusChangeTime = a.Status, a.ChangeTime.Unix()
		case !openzone.IsNotFound(err):
			return nil, err
		}
		out = append(out, row)
	}
	return &agreeReply{Base: openzone.OK, AgreeInfo: out}, nil
}

// agreeRoom is get_agree_status_room.
func (s *Service) agreeRoom(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	var req struct {
		ChatID string `json:"chatid"`
	}
	if err := decode(raw, &req); err != nil {
		return nil, err
	}
	if req.ChatID == "" {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter chatid")
	}
	if _, err := s.cfg.Store.ChatGet(ctx, c.CorpID, req.ChatID); err != nil {
		if openzone.IsNotFound(err) {
			return nil, openzone.Errorf(openzone.ErrBadChatID, "chatid %q is not a group chat of corp %s", req.ChatID, c.CorpID)
		}
		return nil, err
	}
	as, err := s.cfg.Store.AgreeListRoom(ctx, c.CorpID, req.ChatID)
	if err != nil {
		return nil, err
	}
	out := make([]agreeInfo, 0, len(as))
	for _, a := range as {
		out = append(out, agreeInfo{ExternalUserID: a.ExternalUserID, AgreeStatus: a.Status, StatusChangeTime: a.ChangeTime.Unix()})
	}
	return &agreeReply{Base: openzone.OK, AgreeInfo: out}, nil
}

func queryWord(w string, minLen, maxLen int) (string, error) {
	n := utf8.RuneCountInString(w)
	if n < minLen || (maxLen > 0 && n > maxLen) {
		if maxLen > 0 {
			return "", openzone.Errorf(openzone.ErrInvalidParam, "query_word must be %d to %d characters, got %d", minLen, maxLen, n)
		}
		return "", openzone.Errorf(openzone.ErrInvalidParam, "query_word must be at least %d characters, got %d", minLen, n)
	}
	return strings.ToLower(w), nil
}

// flag reads an optional boolean that WeCom's clients send as true/false
// or 1/0.
func flag(raw json.RawMessage, name string) (bool, error) {
	switch string(raw) {
	case "", "null", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	}
	return false, openzone.Errorf(openzone.ErrInvalidParam, "parameter %s must be true or false (or 1 or 0)", name)
}

func containsAll(text string, fragments []string) bool {
	for _, f := range fragments {
		if !strings.Contains(text, f) {
			return false
		}
	}
	return true
}

// stopChars are Chinese function characters and stopWords English function
// words that skip_stop_words leaves out of a query (a small list of our
// own: particles, pronouns, conjunctions).
var (
	stopChars = map[rune]bool{'的': true, '了': true, '是': true, '在': true, '和': true, '与': true, '及': true,
		'或': true, '呢': true, '吗': true, '吧': true, '啊': true, '呀': true, '么': true, '也': true, '就': true,
		'都': true, '而': true, '着': true, '把': true, '被': true, '给': true, '之': true, '其': true, '我': true,
		'你': true, '他': true, '她': true, '它': true, '们': true, '这': true, '那': true, '有': true, '个': true}
	stopWords = map[string]bool{"a": true, "an": true, "the": true, "of": true, "to": true, "in": true, "on": true,
		"at": true, "for": true, "and": true, "or": true, "is": true, "are": true, "was": true, "be": true, "it": true,
		"this": true, "that": true, "with": true, "by": true, "i": true, "you": true, "we": true, "my": true, "your": true}
)

// withoutStopWords splits a lower-cased query where its stop words are,
// returning the fragments left (punctuation and spaces split too).
func withoutStopWords(q string) []string {
	var out []string
	var cur, word strings.Builder
	flushWord := func() {
		if w := word.String(); w != "" && !stopWords[w] {
			cur.WriteString(w)
		} else if w != "" && cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
		word.Reset()
	}
	flush := func() {
		flushWord()
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	for _, r := range q {
		switch {
		case r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			word.WriteRune(r)
		case stopChars[r]:
			flush()
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			flushWord()
			cur.WriteRune(r)
		default: // space, punctuation
			flush()
		}
	}
	flush()
	return out
}

// inScope checks that the members named are authorised (710608 naming
// one that is not); ids that are not members (external contacts, "") pass.
func (s *Service) inScope(ctx context.Context, corpID string, ids []string) error {
	ms, err := s.cfg.Store.MemberList(ctx, corpID)
	if err != nil {
		return err
	}
	out := map[string]bool{}
	for _, m := range ms {
		if len(m.MemberEditions()) == 0 {
			out[m.UserID] = true
		}
	}
	for _, id := range ids {
		if out[id] {
			return openzone.Errorf(openzone.ErrUserOutOfScope, "member %q is not in the authorised scope (授权范围)", id)
		}
	}
	return nil
}

// offsetPage slices n results from an offset cursor.
func offsetPage(kind, cursor string, total int, limit int) (int, int, string, int, error) {
	off, err := decodeCursor(kind, cursor, 128)
	if err != nil {
		return 0, 0, "", 0, err
	}
	start := min(int(off), total)
	end := min(start+limit, total)
	hasMore := 0
	next := ""
	if end < total {
		hasMore, next = 1, encodeCursor(kind, int64(end))
	}
	return start, end, next, hasMore, nil
}

// searchChat is search_chat (会话名称搜索): named group chats only.
func (s *Service) searchChat(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	var req struct {
		QueryWord string `json:"query_word"`
		Limit     *int   `json:"limit"`
		Cursor    string `json:"cursor"`
	}
	if err := decode(raw, &req); err != nil {
		return nil, err
	}
	q, err := queryWord(req.QueryWord, 2, 0)
	if err != nil {
		return nil, err
	}
	limit, err := limitOf(req.Limit, 50, 100)
	if err != nil {
		return nil, err
	}
	chats, err := s.cfg.Store.ChatList(ctx, c.CorpID)
	if err != nil {
		return nil, err
	}
	hits := []chatHit{}
	for _, ch := range chats {
		if ch.Name != "" && strings.Contains(strings.ToLower(ch.Name), q) {
			hits = append(hits, chatHit{ChatID: ch.ChatID})
		}
	}
	start, end, next, hasMore, err := offsetPage("c", req.Cursor, len(hits), limit)
	if err != nil {
		return nil, err
	}
	return &searchChatReply{Base: openzone.OK, HasMore: hasMore, NextCursor: next, ChatList: hits[start:end]}, nil
}

// searchContact is search_contact_or_customer (员工或客户名称搜索).
func (s *Service) searchContact(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	var req struct {
		QueryWord     string `json:"query_word"`
		QueryUserType int    `json:"query_user_type"`
		Limit         *int   `json:"limit"`
		Cursor        string `json:"cursor"`
	}
	if err := decode(raw, &req); err != nil {
		return nil, err
	}
	q, err := queryWord(req.QueryWord, 2, 31)
	if err != nil {
		return nil, err
	}
	if req.QueryUserType < 0 || req.QueryUserType > 2 {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "query_user_type must be 0 (both), 1 (members) or 2 (customers), got %d", req.QueryUserType)
	}
	limit, err := limitOf(req.Limit, 50, 100)
	if err != nil {
		return nil, err
	}
	hits := []userHit{}
	if req.QueryUserType != 2 {
		ms, err := s.cfg.Store.MemberList(ctx, c.CorpID)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if strings.Contains(strings.ToLower(m.Name), q) {
				hits = append(hits, userHit{Type: 1, ID: m.UserID})
			}
		}
	}
	if req.QueryUserType != 1 {
		es, err := s.cfg.Store.ExternalContactList(ctx, c.CorpID)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if strings.Contains(strings.ToLower(e.Name), q) {
				hits = append(hits, userHit{Type: 2, ID: e.ExternalUserID})
			}
		}
	}
	start, end, next, hasMore, err := offsetPage("u", req.Cursor, len(hits), limit)
	if err != nil {
		return nil, err
	}
	return &searchContactReply{Base: openzone.OK, HasMore: hasMore, NextCursor: next, UserList: hits[start:end]}, nil
}

// searchMsg is search_msg (会话消息搜索): message ids whose text contains
// the query word, newest first, within at most 31 days. The zone decrypts
// inside itself to search; nothing but msgids leaves.
func (s *Service) searchMsg(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	var req struct {
		QueryWord string `json:"query_word"`
		ChatInfo  *struct {
			ChatType    int      `json:"chat_type"`
			IDList      []string `json:"id_list"`
			ChatID      string   `json:"chat_id"`
			MsgTypeList []int    `json:"msg_type_list"`
			Sender      string   `json:"sender"`
			SenderList  []string `json:"sender_list"`
		} `json:"chat_info"`
		StartTime     int64           `json:"start_time"`
		EndTime       int64           `json:"end_time"`
		SkipStopWords json.RawMessage `json:"skip_stop_words"`
		Limit         *int            `json:"limit"`
		Cursor        string          `json:"cursor"`
	}
	if err := decode(raw, &req); err != nil {
		return nil, err
	}
	q, err := queryWord(req.QueryWord, 2, 0)
	if err != nil {
		return nil, err
	}
	skip, err := flag(req.SkipStopWords, "skip_stop_words")
	if err != nil {
		return nil, err
	}
	// Without stop words, the query is its remaining fragments, each of
	// which a message must contain.
	fragments := []string{q}
	if skip {
		if fragments = withoutStopWords(q); len(fragments) == 0 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "query_word %q holds only stop words (skip_stop_words)", req.QueryWord)
		}
	}
	limit, err := limitOf(req.Limit, 50, 100)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now()
	end := now
	if req.EndTime > 0 {
		end = time.Unix(req.EndTime, 0)
	}
	start := end.Add(-31 * 24 * time.Hour)
	if req.StartTime > 0 {
		start = time.Unix(req.StartTime, 0)
	}
	if end.Before(start) || end.Sub(start) > 31*24*time.Hour {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "start_time to end_time must span at most 31 days")
	}
	if ci := req.ChatInfo; ci != nil {
		if ci.ChatType != 0 && ci.ChatType != 1 && ci.ChatType != 2 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "chat_info.chat_type must be 1 (single) or 2 (group)")
		}
		if len(ci.SenderList) > 100 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "chat_info.sender_list holds at most 100 ids")
		}
		if err := s.inScope(ctx, c.CorpID, append([]string{ci.Sender}, ci.SenderList...)); err != nil {
			return nil, err
		}
	}
	k, err := s.appKey(ctx, c)
	if err != nil {
		return nil, err
	}
	var hits []*openzone.Message
	after := k.StartSeq
	for {
		msgs, err := s.cfg.Store.MessageList(ctx, openzone.MessageFilter{CorpID: c.CorpID, AfterSeq: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			after = m.Seq
			if m.SendTime.Before(start) || m.SendTime.After(end) || !s.searchable(m, req.ChatInfo) {
				continue
			}
			if containsAll(strings.ToLower(s.searchText(m)), fragments) {
				hits = append(hits, m)
			}
		}
		if len(msgs) < 1000 {
			break
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].SendTime.After(hits[j].SendTime) })
	from, to, next, hasMore, err := offsetPage("s", req.Cursor, len(hits), limit)
	if err != nil {
		return nil, err
	}
	list := make([]msgHit, 0, to-from)
	for _, m := range hits[from:to] {
		list = append(list, msgHit{MsgID: m.MsgID})
	}
	return &searchMsgReply{Base: openzone.OK, HasMore: hasMore, NextCursor: next, MsgList: list}, nil
}

// searchable types per WeCom: text, link, mini-program, file, online doc,
// mixed, WeDrive file.
var searchTypes = map[int]bool{1: true, 4: true, 5: true, 8: true, 18: true, 20: true, 23: true}

func (s *Service) searchable(m *openzone.Message, ci *struct {
	ChatType    int      `json:"chat_type"`
	IDList      []string `json:"id_list"`
	ChatID      string   `json:"chat_id"`
	MsgTypeList []int    `json:"msg_type_list"`
	Sender      string   `json:"sender"`
	SenderList  []string `json:"sender_list"`
}) bool {
	if !searchTypes[m.MsgType] {
		return false
	}
	if ci == nil {
		return true
	}
	switch ci.ChatType {
	case 1:
		if m.ChatID != "" {
			return false
		}
		if len(ci.IDList) == 2 {
			ids := map[string]bool{m.Sender.ID: true}
			for _, r := range m.Receivers {
				ids[r.ID] = true
			}
			if !ids[ci.IDList[0]] || !ids[ci.IDList[1]] {
				return false
			}
		}
	case 2:
		if m.ChatID == "" || (ci.ChatID != "" && m.ChatID != ci.ChatID) {
			return false
		}
	}
	if len(ci.MsgTypeList) > 0 && !containsInt(ci.MsgTypeList, m.MsgType) {
		return false
	}
	if ci.Sender != "" && m.Sender.ID != ci.Sender {
		return false
	}
	if len(ci.SenderList) > 0 && !containsStr(ci.SenderList, m.Sender.ID) {
		return false
	}
	return true
}

// searchText is what search_msg matches: the text of a text message, the
// whole decrypted content of other searchable types.
func (s *Service) searchText(m *openzone.Message) string {
	if m.MsgType == 1 {
		return s.Text(m)
	}
	sk, err := s.SecretKey(m)
	if err != nil {
		return ""
	}
	c, err := s.Content(m, sk)
	if err != nil {
		return ""
	}
	return string(c)
}

func containsInt(l []int, v int) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}

func containsStr(l []string, v string) bool {
	for _, x := range l {
		if x == v {
			return true
		}
	}
	return false
}
