// Package archive is the chat archive (会话存档) inside the zone: members,
// external contacts, group chats, consent, and messages whose content is
// encrypted at rest with each message's own random secret key. Ingestion
// raises the events programs receive (conversation_new_message,
// hit_keyword) in the same transaction as the message, and the SDK data
// interfaces (sync_msg, get_group_chat, search_msg…) read it.
package archive

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/quota"
	"github.com/openzone/openzone/internal/store"
)

// Window is how far back sync_msg reaches: records without ciphertext are
// kept 5 days in WeCom's zone.
const Window = 5 * 24 * time.Hour

// TokenTTL is the validity of an event token.
const TokenTTL = 10 * time.Minute

// Events stores an event and enqueues its delivery in the caller's
// transaction (events.Service).
type Events interface {
	Enqueue(ctx context.Context, tx store.Executor, e *openzone.Event) error
}

// Config configures the archive.
type Config struct {
	Store store.Store
	// Key is the zone's 32-byte archive key that seals each message's
	// secret key at rest.
	Key    []byte
	Now    func() time.Time
	Logger *slog.Logger
	// Events raises the archive events programs receive; nil: none.
	Events Events
	// Quota limits sync_msg calls made without an event token (WeCom:
	// "without it, strict rate limits"), per app, across nodes; nil
	// limits nothing.
	Quota *quota.Service
	// SyncMsgNoTokenPerMinute is that limit: 0 the default
	// (DefaultSyncMsgNoTokenPerMinute), negative none.
	SyncMsgNoTokenPerMinute int64
}

// DefaultSyncMsgNoTokenPerMinute is how many sync_msg calls without a
// token an app may make a minute (WeCom documents a strict limit without
// a number; docs/decisions.md).
const DefaultSyncMsgNoTokenPerMinute = 600

// Service is the chat archive.
type Service struct{ cfg Config }

// New returns the archive.
func New(cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg}
}

// msgtypes are WeCom's message types (sync_msg, docs/wecom.md), by number, with
// the JSON key that holds each type's content in an ingested message.
var msgtypes = map[int]string{
	1: "text", 2: "image", 3: "emotion", 4: "link", 5: "weapp", 6: "voice", 7: "video", 8: "file",
	9: "card", 10: "chatrecord", 11: "sphfeed", 12: "calendar", 13: "redpacket", 14: "location",
	15: "meeting", 16: "todo", 17: "vote", 18: "docmsg", 19: "news", 20: "mixed", 21: "voiceaudio",
	22: "voip", 23: "wedrive", 24: "agree", 25: "disagree", 26: "collect", 27: "markdown", 28: "note",
}

// Input is one message to archive, shaped like a sync_msg item plus its
// content under the key named for its msgtype ("text": {"content": …}).
type Input struct {
	MsgID     string           `json:"msgid"`
	Sender    *openzone.Party  `json:"sender"`
	Receivers []openzone.Party `json:"receiver_list"`
	ChatID    string           `json:"chatid"`
	SendTime  int64            `json:"send_time"`
	MsgType   int              `json:"msgtype"`
	Extra     json.RawMessage  `json:"extra_info"`
	// Content is the msgtype's object, filled by ParseInput.
	Content json.RawMessage `json:"-"`
}

// ParseInput decodes one message to archive; errors name the field.
func ParseInput(raw []byte) (*Input, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, openzone.Errorf(openzone.ErrBadBodyJSON, "message is not a JSON object")
	}
	in := &Input{}
	if err := json.Unmarshal(raw, in); err != nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "message fields have the wrong types: %v", jsonErr(err))
	}
	name, ok := msgtypes[in.MsgType]
	if !ok {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "msgtype %d is not a WeCom message type (1 text … 28 note)", in.MsgType)
	}
	known := map[string]bool{"msgid": true, "sender": true, "receiver_list": true, "chatid": true, "send_time": true, "msgtype": true, "extra_info": true, name: true}
	for k := range fields {
		if !known[k] {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "unknown field %q in a msgtype %d (%s) message", k, in.MsgType, name)
		}
	}
	in.Content = fields[name]
	if len(in.Content) == 0 || string(in.Content) == "null" {
		in.Content = json.RawMessage("{}")
		if in.MsgType == 1 {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, `missing field "text": a text message needs {"text":{"content":"…"}}`)
		}
	}
	if in.MsgType == 1 {
		var t struct {
			Content *string `json:"content"`
		}
		if json.Unmarshal(in.Content, &t) != nil || t.Content == nil || *t.Content == "" {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, "text.content must be a non-empty string")
		}
	}
	return in, nil
}

func jsonErr(err error) string {
	var te *json.UnmarshalTypeError
	if ok := asType(err, &te); ok && te.Field != "" {
		return fmt.Sprintf("%s must be a %s", te.Field, te.Type)
	}
	return "invalid JSON"
}

func asType(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*te = t
	}
	return ok
}

// Ingested is the result of archiving one message.
type Ingested struct {
	MsgID  string `json:"msgid"`
	Seq    int64  `json:"seq"`
	Events int    `json:"events"`
	// NotArchived says why a valid message was not archived (its parties
	// are outside the corp's authorised scope, or the corp's authorisation
	// is not in use); its Seq is 0.
	NotArchived string `json:"not_archived,omitempty"`
}

// Ingest archives messages of one corp in one transaction (all or none),
// raising for each app that archives (public key set, receiving program
// chosen) one conversation_new_message event for the batch, and a
// hit_keyword event when its keyword rules hit.
func (s *Service) Ingest(ctx context.Context, corpID string, ins []*Input) ([]Ingested, error) {
	out := make([]Ingested, 0, len(ins))
	err := s.cfg.Store.InTx(ctx, func(tx store.Executor) error {
		out = out[:0]
		corp, err := tx.CorpGet(ctx, corpID)
		if err != nil {
			return err
		}
		d, err := s.directory(ctx, tx, corpID)
		if err != nil {
			return err
		}
		now := s.cfg.Now()
		var msgs []*openzone.Message
		var texts []string
		archiving := corp.Auth.Archiving(now)
		for i, in := range ins {
			m, text, err := s.seal(ctx, tx, d, corpID, in, now, archiving)
			if err != nil {
				if len(ins) > 1 {
					return openzone.Errorf(openzone.ErrorCode(err), "message %d: %s", i+1, openzone.ErrorMessage(err))
				}
				return err
			}
			if m.Seq == 0 { // valid, not archived: text says why
				out = append(out, Ingested{MsgID: m.MsgID, NotArchived: text})
				continue
			}
			msgs = append(msgs, m)
			texts = append(texts, text)
			out = append(out, Ingested{MsgID: m.MsgID, Seq: m.Seq})
		}
		n, err := s.raise(ctx, tx, corpID, msgs, texts, now)
		if err != nil {
			return err
		}
		if len(out) > 0 {
			out[len(out)-1].Events = n
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// directory is who exists in a corp, to check senders and receivers.
type directory struct {
	members, externals map[string]bool
	editions           map[string][]int // authorised editions by member
}

func (s *Service) directory(ctx context.Context, tx store.Executor, corpID string) (*directory, error) {
	d := &directory{members: map[string]bool{}, externals: map[string]bool{}, editions: map[string][]int{}}
	ms, err := tx.MemberList(ctx, corpID)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		d.members[m.UserID] = true
		d.editions[m.UserID] = m.MemberEditions()
	}
	es, err := tx.ExternalContactList(ctx, corpID)
	if err != nil {
		return nil, err
	}
	for _, e := range es {
		d.externals[e.ExternalUserID] = true
	}
	return d, nil
}

func (d *directory) check(p openzone.Party, field string) error {
	switch p.Type {
	case openzone.PartyMember:
		if !d.members[p.ID] {
			return openzone.Errorf(openzone.ErrInvalidParam, "%s: %q is not a member of the corp", field, p.ID)
		}
	case openzone.PartyExternal:
		if !d.externals[p.ID] {
			return openzone.Errorf(openzone.ErrInvalidParam, "%s: %q is not an external contact of the corp", field, p.ID)
		}
	case openzone.PartyBot:
		if err := openzone.CheckUserID(field+".id", p.ID); err != nil {
			return err
		}
	default:
		return openzone.Errorf(openzone.ErrInvalidParam, "%s.type %d is not 1 (member), 2 (external contact) or 3 (bot)", field, p.Type)
	}
	return nil
}

// voiceTypes are the message types only edition 3 (内外部会话以及语音通话)
// archives: voice calls.
var voiceTypes = map[int]bool{21: true, 22: true}

// outOfScope says why the corp does not archive a message between parties
// (a group's members for a group message), "" when it does: it needs one
// member authorised for an edition that covers the chat — any edition for
// members among themselves, 2 or 3 when an external contact takes part, 3
// for a voice call (docs/decisions.md).
func (d *directory) outOfScope(msgType int, parties []openzone.Party) string {
	need := openzone.EditionInternal
	for _, p := range parties {
		if p.Type == openzone.PartyExternal {
			need = openzone.EditionExternal
		}
	}
	if voiceTypes[msgType] {
		need = openzone.EditionVoice
	}
	for _, p := range parties {
		if p.Type == openzone.PartyMember && openzone.Covers(d.editions[p.ID], need) {
			return ""
		}
	}
	return fmt.Sprintf("no member of this chat is authorised for edition %d or above (授权范围)", need)
}

// seal validates one input and stores it encrypted. A valid message the
// corp does not archive (archiving false, or outside the authorised scope)
// is returned unstored, Seq 0, with the reason in place of its text.
func (s *Service) seal(ctx context.Context, tx store.Executor, d *directory, corpID string, in *Input, now time.Time, archiving bool) (*openzone.Message, string, error) {
	if in.Sender == nil {
		return nil, "", openzone.Errorf(openzone.ErrInvalidParam, "missing field sender")
	}
	if err := d.check(*in.Sender, "sender"); err != nil {
		return nil, "", err
	}
	parties := append([]openzone.Party{*in.Sender}, in.Receivers...)
	switch {
	case in.ChatID != "" && len(in.Receivers) > 0:
		return nil, "", openzone.Errorf(openzone.ErrInvalidParam, "give either chatid (a group message) or receiver_list (a single chat), not both")
	case in.ChatID == "" && len(in.Receivers) == 0:
		return nil, "", openzone.Errorf(openzone.ErrInvalidParam, "missing field receiver_list or chatid")
	case in.ChatID != "":
		chat, err := tx.ChatGet(ctx, corpID, in.ChatID)
		if err != nil {
			if openzone.IsNotFound(err) {
				return nil, "", openzone.Errorf(openzone.ErrInvalidParam, "chatid %q is not a group chat of the corp", in.ChatID)
			}
			return nil, "", err
		}
		for _, cm := range chat.Members {
			parties = append(parties, openzone.Party{Type: cm.Type, ID: cm.MemberID})
		}
	}
	for i, r := range in.Receivers {
		if err := d.check(r, fmt.Sprintf("receiver_list[%d]", i)); err != nil {
			return nil, "", err
		}
	}
	msgID := in.MsgID
	if msgID == "" {
		var b [12]byte
		rand.Read(b[:])
		msgID = hex.EncodeToString(b[:]) + "_" + fmt.Sprint(now.Unix())
	} else if err := openzone.CheckMsgID("msgid", msgID); err != nil {
		return nil, "", err
	}
	if !archiving {
		return &openzone.Message{MsgID: msgID}, "the corp's zone authorisation is not in use (expired or not yet in effect)", nil
	}
	if why := d.outOfScope(in.MsgType, parties); why != "" {
		return &openzone.Message{MsgID: msgID}, why, nil
	}
	sendTime := now
	if in.SendTime > 0 {
		sendTime = time.Unix(in.SendTime, 0)
	}
	secret, key := newSecretKey()
	m := &openzone.Message{
		CorpID: corpID, MsgID: msgID, Sender: *in.Sender, Receivers: in.Receivers, ChatID: in.ChatID,
		SendTime: sendTime, MsgType: in.MsgType, Extra: in.Extra, Ingested: now,
		Content:   seal(key, in.Content, contentAAD(corpID, msgID)),
		SealedKey: seal(s.cfg.Key, []byte(secret), keyAAD(corpID, msgID)),
		KeyTag:    keyTag(s.cfg.Key, key),
	}
	if err := tx.MessageInsert(ctx, m); err != nil {
		if openzone.ErrorKind(err) == openzone.Conflict {
			return nil, "", openzone.Errorf(openzone.ErrDuplicateMsgID, "msgid %q is already archived", msgID)
		}
		return nil, "", err
	}
	text := ""
	if in.MsgType == 1 {
		var t struct{ Content string }
		json.Unmarshal(in.Content, &t)
		text = t.Content
	}
	return m, text, nil
}

// TagMessages gives every message archived before key tags existed its
// tag, in batches, so the display page finds it (run at start; idempotent).
func (s *Service) TagMessages(ctx context.Context) (int, error) {
	n := 0
	for {
		ms, err := s.cfg.Store.MessageListUntagged(ctx, 500)
		if err != nil || len(ms) == 0 {
			return n, err
		}
		for _, m := range ms {
			sk, err := s.SecretKey(m)
			if err != nil {
				return n, err
			}
			key, ok := parseSecretKey(sk)
			if !ok {
				return n, fmt.Errorf("archive: message %s: its secret_key is malformed", m.MsgID)
			}
			if err := s.cfg.Store.MessageSetKeyTag(ctx, m.Seq, keyTag(s.cfg.Key, key)); err != nil {
				return n, err
			}
			n++
		}
	}
}

// SecretKey returns a message's secret_key (inside the zone only).
func (s *Service) SecretKey(m *openzone.Message) (string, error) {
	k, err := open(s.cfg.Key, m.SealedKey, keyAAD(m.CorpID, m.MsgID))
	if err != nil {
		return "", fmt.Errorf("archive: message %s: key does not open with the archive key", m.MsgID)
	}
	return string(k), nil
}

// Content opens a message's content with its secret_key; a wrong key is
// openzone.ErrBadMsgKey.
func (s *Service) Content(m *openzone.Message, secretKey string) (json.RawMessage, error) {
	key, ok := parseSecretKey(secretKey)
	if !ok {
		return nil, openzone.Errorf(openzone.ErrBadMsgKey, "secret_key is not a message key")
	}
	pt, err := open(key, m.Content, contentAAD(m.CorpID, m.MsgID))
	if err != nil {
		return nil, openzone.Errorf(openzone.ErrBadMsgKey, "secret_key does not open message %s", m.MsgID)
	}
	return pt, nil
}

// Text returns the text of a text message, decrypted inside the zone (for
// search and keyword rules); "" for other types.
func (s *Service) Text(m *openzone.Message) string {
	if m.MsgType != 1 {
		return ""
	}
	sk, err := s.SecretKey(m)
	if err != nil {
		return ""
	}
	c, err := s.Content(m, sk)
	if err != nil {
		return ""
	}
	var t struct{ Content string }
	json.Unmarshal(c, &t)
	return t.Content
}

// NewToken mints an event token.
func NewToken() string {
	var b [24]byte
	rand.Read(b[:])
	return "oztk_" + hex.EncodeToString(b[:])
}

// NewEventID mints a stable event id.
func NewEventID() string {
	var b [16]byte
	rand.Read(b[:])
	return "ev_" + hex.EncodeToString(b[:])
}

// raise creates the events a batch causes, for every app of the corp that
// archives and has chosen a receiving program.
func (s *Service) raise(ctx context.Context, tx store.Executor, corpID string, msgs []*openzone.Message, texts []string, now time.Time) (int, error) {
	if len(msgs) == 0 || s.cfg.Events == nil {
		return 0, nil
	}
	keys, err := tx.AppPublicKeyList(ctx, corpID)
	if err != nil {
		return 0, err
	}
	textOf := make(map[int64]string, len(msgs))
	for i, m := range msgs {
		textOf[m.Seq] = texts[i]
	}
	n := 0
	for _, k := range keys {
		app, err := tx.AppGet(ctx, corpID, k.AgentID)
		if err != nil {
			return 0, err
		}
		if !app.ZonePermission || app.ReceiveProgramID == "" {
			continue
		}
		var fresh []*openzone.Message
		for _, m := range msgs {
			if m.Seq > k.StartSeq {
				fresh = append(fresh, m)
			}
		}
		if len(fresh) == 0 {
			continue
		}
		tok := &openzone.EventToken{Token: NewToken(), CorpID: corpID, AgentID: app.AgentID, Kind: "sync_msg",
			FromSeq: fresh[0].Seq - 1, ExpiresAt: now.Add(TokenTTL)}
		if err := tx.EventTokenInsert(ctx, tok); err != nil {
			return 0, err
		}
		if err := s.emit(ctx, tx, app, "conversation_new_message", map[string]any{"token": tok.Token}, now); err != nil {
			return 0, err
		}
		n++
		hits, err := s.matchRules(ctx, tx, app, fresh, textOf, now)
		if err != nil {
			return 0, err
		}
		n += hits
	}
	return n, nil
}

// emit stores one event for the app's receiving program; its payload sits
// under a key named like the event.
func (s *Service) emit(ctx context.Context, tx store.Executor, app *openzone.App, typ string, payload any, now time.Time) error {
	return s.emitAs(ctx, tx, app, typ, typ, payload, now)
}

// emitAs is emit with the payload under key (WeCom puts both
// chat_archive_audit_approved_* payloads under "chat_archive_audit_approved").
func (s *Service) emitAs(ctx context.Context, tx store.Executor, app *openzone.App, typ, key string, payload any, now time.Time) error {
	data, err := json.Marshal(map[string]any{"event_type": typ, "timestamp": now.Unix(), key: payload})
	if err != nil {
		return err
	}
	return s.cfg.Events.Enqueue(ctx, tx, &openzone.Event{
		ID: NewEventID(), CorpID: app.CorpID, AgentID: app.AgentID, ProgramID: app.ReceiveProgramID,
		Type: typ, Data: data, State: openzone.EventPending, CreatedAt: now,
	})
}

// SetAgree records a consent change (同意会话存档) and, when it is an
// agreement, raises chat_archive_audit_approved_single (or _room for a
// group) to every app of the corp that has chosen a receiving program — in
// the same transaction.
func (s *Service) SetAgree(ctx context.Context, as *openzone.AgreeStatus) error {
	return s.cfg.Store.InTx(ctx, func(tx store.Executor) error {
		if _, err := tx.CorpGet(ctx, as.CorpID); err != nil {
			return err
		}
		d, err := s.directory(ctx, tx, as.CorpID)
		if err != nil {
			return err
		}
		if !d.externals[as.ExternalUserID] {
			return openzone.Errorf(openzone.ErrInvalidParam, "external_userid %q is not an external contact of corp %s", as.ExternalUserID, as.CorpID)
		}
		typ, payload := "chat_archive_audit_approved_single", map[string]any{"userid": as.UserID, "external_userid": as.ExternalUserID}
		if as.ChatID != "" {
			if _, err := tx.ChatGet(ctx, as.CorpID, as.ChatID); err != nil {
				if openzone.IsNotFound(err) {
					return openzone.Errorf(openzone.ErrInvalidParam, "chatid %q is not a group chat of corp %s", as.ChatID, as.CorpID)
				}
				return err
			}
			typ, payload = "chat_archive_audit_approved_room", map[string]any{"chatid": as.ChatID, "external_userid": as.ExternalUserID}
		} else if !d.members[as.UserID] {
			return openzone.Errorf(openzone.ErrInvalidParam, "userid %q is not a member of corp %s", as.UserID, as.CorpID)
		}
		if err := tx.AgreeUpsert(ctx, as); err != nil {
			return err
		}
		if as.Status != "Agree" || s.cfg.Events == nil {
			return nil
		}
		apps, err := tx.AppList(ctx, as.CorpID)
		if err != nil {
			return err
		}
		for _, app := range apps {
			if app.ZonePermission && app.ReceiveProgramID != "" {
				if err := s.emitAs(ctx, tx, app, typ, "chat_archive_audit_approved", payload, as.ChangeTime); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
