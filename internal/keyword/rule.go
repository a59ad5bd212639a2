package keyword

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/openzone/openzone"
)

// WeCom errcodes of keyword rules (docs/wecom.md). They are declared here, with
// their literal values, so that the package does not depend on which of
// them the root package names.
const (
	ErrKeywordEmpty    = 710610 // keywords and semantics both empty
	ErrRuleNotFound    = 710612 // keyword rule id not found (the store's to raise)
	ErrSessionType     = 710615 // session_type incorrect
	ErrTooManyRules    = 710619 // rule count over limit (the caller's to raise, see MaxRules)
	ErrBadRuleID       = 710620 // rule id incorrect
	ErrBadMobile       = 710621 // phone number format incorrect (exclude_mobile)
	ErrBadBankCard     = 710622 // bank card format incorrect (exclude_bank_card)
	ErrBadSemantics    = 710648 // illegal semantics value
	ErrTooManyChats    = 710649 // too many chat ids
	ErrMissingWordList = 710650 // keyword given without word_list
)

// Limits of a rule (WeCom doc 99829, 2025 revision).
const (
	MaxRules          = 500  // rules per app; 710619 is the caller's to enforce with a count
	MaxWords          = 20   // keyword.word_list entries
	MaxWordLen        = 32   // characters (runes) of a word
	MaxNameLen        = 20   // characters (runes) of a rule name
	MaxDepartments    = 100  // department.id_list
	MaxUsers          = 1000 // user.id_list
	MaxExternals      = 100  // external_contact.id_list
	MaxChats          = 2000 // chat.id_list (710649 beyond)
	MaxWhiteList      = 100  // exclude_mobile / exclude_email / exclude_bank_card entries
	MaxExcludeWords   = 20   // exclude_keyword entries (OpenZone's choice, as word_list)
	MaxRuleIDLen      = 64   // rule_id length accepted by ValidRuleID
	maxErrValueLength = 40
)

// Keyword match rules (keyword.match_rule).
const (
	MatchContains = 0 // 包含
	MatchExact    = 1 // 完全匹配
)

// Semantics values (关键行为, semantics.semantics_list); see the package
// documentation for how each is recognised.
const (
	SemRedPacket   = 1  // 红包
	SemMobile      = 2  // 手机号码
	SemEmail       = 3  // 邮箱地址
	SemWeChatCard  = 4  // 微信名片
	SemQRCodeImage = 5  // 带二维码图片
	SemRecall      = 6  // 撤回消息
	SemBankCard    = 7  // 银行卡号
	SemIDCard      = 8  // 身份证号
	SemFile        = 9  // 发送文件（不包括微盘文件）
	SemLink        = 10 // 发送链接
	SemMiniProgram = 11 // 发送小程序
	SemWelcome     = 12 // 发送客户欢迎语
	semMax         = 12
)

var semanticNames = [...]string{
	SemRedPacket: "红包", SemMobile: "手机号码", SemEmail: "邮箱地址", SemWeChatCard: "微信名片",
	SemQRCodeImage: "带二维码图片", SemRecall: "撤回消息", SemBankCard: "银行卡号", SemIDCard: "身份证号",
	SemFile: "发送文件", SemLink: "发送链接", SemMiniProgram: "发送小程序", SemWelcome: "发送客户欢迎语",
}

// SemanticName returns WeCom's name of a semantics value, "" for an unknown one.
func SemanticName(v int) string {
	if v < 1 || v > semMax {
		return ""
	}
	return semanticNames[v]
}

// Applicable-range enums.
const (
	TargetMember   = 1 // target_type 员工
	TargetExternal = 2 // target_type 客户

	ChatSingle = 1 // chat_type 单聊
	ChatGroup  = 2 // chat_type 群聊

	SessionCustomer = 1 // session_type: a session with an external contact (OpenZone's reading)
	SessionInternal = 2 // session_type: members only (OpenZone's reading)

	ScopeAll      = 1 // msg_scope: every message (OpenZone's reading)
	ScopeMembers  = 2 // msg_scope: messages sent by members
	ScopeExternal = 3 // msg_scope: messages sent by external contacts

	MsgTypeText        = 1
	MsgTypeLink        = 4
	MsgTypeMiniProgram = 5
	MsgTypeVoice       = 6
	MsgTypeFile        = 8
	MsgTypeCard        = 9
	MsgTypeRedPacket   = 13
	MsgTypeAudioArch   = 21
)

// Rule is a keyword rule as create_rule receives it and get_rule_detail
// returns it; json.Marshal of a Rule is its stored form, which Parse reads
// back. A nil pointer field is a part that is not set (on update: left as
// it was).
type Rule struct {
	// RuleID is set only by Parse for update_rule, whose body names the rule.
	RuleID          string     `json:"rule_id,omitempty"`
	Name            string     `json:"name,omitempty"`
	Keyword         *Keyword   `json:"keyword,omitempty"`
	Semantics       *Semantics `json:"semantics,omitempty"`
	ApplicableRange *Range     `json:"applicable_range,omitempty"`

	matcher atomic.Pointer[Matcher] // cache of Compile for Match
}

// Keyword is the keyword part of a rule.
type Keyword struct {
	WordList        []string `json:"word_list"`
	IsCaseSensitive Flag     `json:"is_case_sensitive"` // true: case-sensitive
	MatchRule       int      `json:"match_rule"`        // MatchContains or MatchExact
	IsTrimMsg       Flag     `json:"is_trim_msg"`       // trim " \t\r\n" before an exact match
}

// Semantics is the key-behaviour part of a rule.
type Semantics struct {
	SemanticsList []int `json:"semantics_list"`
}

// Range is a rule's applicable range (规则适用范围). A nil item is not set;
// on update, an item given with an empty list clears it.
type Range struct {
	TargetType      *TypeList    `json:"target_type,omitempty"`
	ChatType        *TypeList    `json:"chat_type,omitempty"`
	Department      *DeptList    `json:"department,omitempty"`
	User            *IDList      `json:"user,omitempty"`
	ExternalContact *IDList      `json:"external_contact,omitempty"`
	Chat            *IDList      `json:"chat,omitempty"`
	SessionType     *SessionList `json:"session_type,omitempty"`
	// MsgScope is 1 all, 2 sent by members, 3 sent by external contacts; 0 is
	// not set (= all).
	MsgScope        int           `json:"msg_scope,omitempty"`
	ExcludeMobile   *MobileList   `json:"exclude_mobile,omitempty"`
	ExcludeEmail    *EmailList    `json:"exclude_email,omitempty"`
	ExcludeBankCard *BankCardList `json:"exclude_bank_card,omitempty"`
	ExcludeKeyword  *WordList     `json:"exclude_keyword,omitempty"`
	// VoiceMatchMsgtype lists the voice msgtypes (6, 21) whose transcript is
	// matched like a text message; nil is not set, empty clears on update.
	VoiceMatchMsgtype []int `json:"voice_match_msgtype,omitempty"`
}

// TypeList is {"type_list": [...]} (target_type, chat_type).
type TypeList struct {
	TypeList []int `json:"type_list"`
}

// DeptList is {"id_list": [department ids]}.
type DeptList struct {
	IDList []int64 `json:"id_list"`
}

// IDList is {"id_list": [ids]} (user, external_contact, chat).
type IDList struct {
	IDList []string `json:"id_list"`
}

// SessionList is {"session_type_list": [...]}.
type SessionList struct {
	SessionTypeList []int `json:"session_type_list"`
}

// MobileList is the phone-number white list {"mobile_list": [...]}.
type MobileList struct {
	MobileList []string `json:"mobile_list"`
}

// EmailList is the e-mail white list {"email_list": [...]}.
type EmailList struct {
	EmailList []string `json:"email_list"`
}

// BankCardList is the bank-card white list {"bank_card_list": [...]}.
type BankCardList struct {
	BankCardList []string `json:"bank_card_list"`
}

// WordList is exclude_keyword. The public documentation does not show its
// shape, so both a plain array ["w", …] and {"word_list": ["w", …]} are
// accepted; it is written back in the form it was read in (the object form
// when built in Go).
type WordList struct {
	Words []string
	flat  bool
}

// Flat returns a WordList that marshals as a plain array.
func Flat(words ...string) *WordList { return &WordList{Words: words, flat: true} }

// MarshalJSON implements json.Marshaler.
func (w WordList) MarshalJSON() ([]byte, error) {
	words := w.Words
	if words == nil {
		words = []string{}
	}
	if w.flat {
		return json.Marshal(words)
	}
	return json.Marshal(struct {
		WordList []string `json:"word_list"`
	}{words})
}

// UnmarshalJSON implements json.Unmarshaler.
func (w *WordList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var words []string
		if err := json.Unmarshal(b, &words); err != nil {
			return err
		}
		w.Words, w.flat = words, true
		return nil
	}
	if len(b) == 0 || b[0] != '{' {
		return &json.UnmarshalTypeError{Value: describeLiteral(b), Type: reflect.TypeFor[WordList]()}
	}
	var obj struct {
		WordList []string `json:"word_list"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&obj); err != nil {
		return err
	}
	w.Words, w.flat = obj.WordList, false
	return nil
}

// Flag is a WeCom boolean that arrives as true/false or as 0/1; it is
// written as true/false.
type Flag bool

// UnmarshalJSON implements json.Unmarshaler.
func (f *Flag) UnmarshalJSON(b []byte) error {
	switch string(bytes.TrimSpace(b)) {
	case "true", "1":
		*f = true
	case "false", "0":
		*f = false
	case "null":
	default:
		return &json.UnmarshalTypeError{Value: describeLiteral(b), Type: reflect.TypeFor[Flag]()}
	}
	return nil
}

func describeLiteral(b []byte) string {
	s := string(bytes.TrimSpace(b))
	if len(s) > maxErrValueLength {
		s = s[:maxErrValueLength] + "…"
	}
	return s
}

// ruleWire is the request as decoded, with presence of every part.
type ruleWire struct {
	RuleID          *string      `json:"rule_id"`
	Name            *string      `json:"name"`
	Keyword         *keywordWire `json:"keyword"`
	Semantics       *Semantics   `json:"semantics"`
	ApplicableRange *Range       `json:"applicable_range"`
}

type keywordWire struct {
	WordList        *[]string `json:"word_list"`
	IsCaseSensitive Flag      `json:"is_case_sensitive"`
	MatchRule       int       `json:"match_rule"`
	IsTrimMsg       Flag      `json:"is_trim_msg"`
}

// Parse decodes and validates a create_rule body (update false) or an
// update_rule body (update true), or a stored rule (update false). Unknown
// fields are refused. On create the name and a keyword or semantics part are
// required; on update only rule_id is, and the result holds just the parts
// given (apply it to the stored rule with Apply). Errors are *openzone.Error
// naming the field at fault: 47001 for a body that is not a JSON object,
// 40058 for a missing or invalid parameter, and the keyword-rule codes
// ErrKeywordEmpty, ErrMissingWordList, ErrBadSemantics, ErrSessionType,
// ErrBadRuleID, ErrBadMobile, ErrBadBankCard, ErrTooManyChats.
func Parse(body []byte, update bool) (*Rule, error) {
	var w ruleWire
	if err := decodeStrict(body, &w); err != nil {
		return nil, err
	}
	r := &Rule{}
	if w.RuleID != nil {
		if !update {
			return nil, openzone.Errorf(openzone.ErrInvalidParam, `unknown field "rule_id": create_rule takes no rule_id`)
		}
		r.RuleID = *w.RuleID
	}
	if update {
		if err := ValidRuleID(r.RuleID); err != nil {
			return nil, err
		}
	}
	switch {
	case w.Name != nil:
		if err := checkName(*w.Name); err != nil {
			return nil, err
		}
		r.Name = *w.Name
	case !update:
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "name is required (1–%d characters)", MaxNameLen)
	}
	if k := w.Keyword; k != nil {
		if k.WordList == nil {
			return nil, openzone.Errorf(ErrMissingWordList, "keyword.word_list is missing: a keyword part needs its word list")
		}
		r.Keyword = &Keyword{WordList: *k.WordList, IsCaseSensitive: k.IsCaseSensitive, MatchRule: k.MatchRule, IsTrimMsg: k.IsTrimMsg}
		if err := checkKeyword(r.Keyword); err != nil {
			return nil, err
		}
	}
	if s := w.Semantics; s != nil {
		for i, v := range s.SemanticsList {
			if v < 1 || v > semMax {
				return nil, openzone.Errorf(ErrBadSemantics, "semantics.semantics_list[%d] is %d, an illegal semantics value (1 红包 … 12 发送客户欢迎语)", i, v)
			}
		}
		r.Semantics = &Semantics{SemanticsList: dedupInts(s.SemanticsList)}
	}
	if update {
		if r.Keyword != nil && r.Semantics != nil && r.Keyword.empty() && r.Semantics.empty() {
			return nil, bothEmpty()
		}
	} else if (r.Keyword == nil || r.Keyword.empty()) && (r.Semantics == nil || r.Semantics.empty()) {
		return nil, bothEmpty()
	}
	if w.ApplicableRange != nil {
		if err := checkRange(w.ApplicableRange); err != nil {
			return nil, err
		}
		r.ApplicableRange = w.ApplicableRange
	}
	if !update {
		r.normalize()
	}
	return r, nil
}

func bothEmpty() error {
	return openzone.Errorf(ErrKeywordEmpty, "keyword.word_list and semantics.semantics_list are both empty: a rule needs keywords or semantics")
}

// decodeStrict decodes one JSON object into v, refusing unknown fields and
// trailing data, and turns decoding errors into *openzone.Error.
func decodeStrict(body []byte, v any) error {
	if bytes.Equal(bytes.TrimSpace(body), []byte("null")) {
		return openzone.Errorf(openzone.ErrBadBodyJSON, "request body is not a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if e := decodeError(err); openzone.ErrorCode(e) != openzone.ErrInvalidParam || !strings.HasPrefix(openzone.ErrorMessage(e), "unknown field ") {
			return e
		}
		// Name the unknown field by its path.
		var raw any
		if json.Unmarshal(body, &raw) == nil {
			if path := unknownField(raw, reflect.TypeOf(v), ""); path != "" {
				return openzone.Errorf(openzone.ErrInvalidParam, "unknown field %s", path)
			}
		}
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return openzone.Errorf(openzone.ErrBadBodyJSON, "request body has data after the JSON object")
	}
	return nil
}

func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		if te.Field == "" {
			return openzone.Wrap(openzone.ErrBadBodyJSON, err, "request body is not a JSON object")
		}
		return openzone.Wrap(openzone.ErrInvalidParam, err, "%s: got %s, want %s", te.Field, te.Value, describeType(te.Type))
	case errors.As(err, &se), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return openzone.Wrap(openzone.ErrBadBodyJSON, err, "request body is not valid JSON")
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return openzone.Errorf(openzone.ErrInvalidParam, "unknown field %s", strings.TrimPrefix(msg, "json: unknown field "))
	}
	return openzone.Wrap(openzone.ErrBadBodyJSON, err, "request body is not the JSON object expected")
}

// unknownField returns the path of the first field of the JSON value v
// that type t does not have, "" if none.
func unknownField(v any, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch t {
	case reflect.TypeFor[Flag]():
		return ""
	case reflect.TypeFor[WordList]():
		if obj, ok := v.(map[string]any); ok {
			for k := range obj {
				if k != "word_list" {
					return join(k)
				}
			}
		}
		return ""
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			f, ok := fieldByJSONName(t, k)
			if !ok {
				return join(k)
			}
			if p := unknownField(obj[k], f.Type, join(k)); p != "" {
				return p
			}
		}
	case reflect.Slice:
		if arr, ok := v.([]any); ok {
			for i, e := range arr {
				if p := unknownField(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); p != "" {
					return p
				}
			}
		}
	}
	return ""
}

// fieldByJSONName finds the field of struct type t that decodes JSON key k
// (exact tag match first, then case-insensitive as encoding/json does).
func fieldByJSONName(t reflect.Type, k string) (reflect.StructField, bool) {
	var fold *reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == k {
			return f, true
		}
		if fold == nil && strings.EqualFold(name, k) {
			fold = &f
		}
	}
	if fold != nil {
		return *fold, true
	}
	return reflect.StructField{}, false
}

func describeType(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Flag]():
		return "true/false or 0/1"
	case reflect.TypeFor[WordList]():
		return `an array of strings or {"word_list": [...]}`
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "true or false"
	}
	return t.String()
}

func checkName(name string) error {
	n := utf8.RuneCountInString(name)
	if n < 1 || n > MaxNameLen {
		return openzone.Errorf(openzone.ErrInvalidParam, "name is %d characters long, it must be 1–%d", n, MaxNameLen)
	}
	return nil
}

func checkKeyword(k *Keyword) error {
	if len(k.WordList) > MaxWords {
		return openzone.Errorf(openzone.ErrInvalidParam, "keyword.word_list has %d words, the limit is %d", len(k.WordList), MaxWords)
	}
	if err := checkWords("keyword.word_list", k.WordList); err != nil {
		return err
	}
	if k.MatchRule != MatchContains && k.MatchRule != MatchExact {
		return openzone.Errorf(openzone.ErrInvalidParam, "keyword.match_rule is %d, want 0 (contains) or 1 (exact)", k.MatchRule)
	}
	return nil
}

func checkWords(field string, words []string) error {
	for i, w := range words {
		n := utf8.RuneCountInString(w)
		if n == 0 {
			return openzone.Errorf(openzone.ErrInvalidParam, "%s[%d] is empty, a word has 1–%d characters", field, i, MaxWordLen)
		}
		if n > MaxWordLen {
			return openzone.Errorf(openzone.ErrInvalidParam, "%s[%d] is %d characters long, the limit is %d", field, i, n, MaxWordLen)
		}
	}
	return nil
}

func checkEnum(field string, vals []int, code int, want string, ok func(int) bool) error {
	for i, v := range vals {
		if !ok(v) {
			return openzone.Errorf(code, "%s[%d] is %d, want %s", field, i, v, want)
		}
	}
	return nil
}

func checkCount(field string, n, limit, code int) error {
	if n > limit {
		return openzone.Errorf(code, "%s has %d entries, the limit is %d", field, n, limit)
	}
	return nil
}

func checkRange(g *Range) error {
	const p = "applicable_range."
	oneOrTwo := func(v int) bool { return v == 1 || v == 2 }
	if g.TargetType != nil {
		if err := checkEnum(p+"target_type.type_list", g.TargetType.TypeList, openzone.ErrInvalidParam, "1 (员工 member) or 2 (客户 external contact)", oneOrTwo); err != nil {
			return err
		}
	}
	if g.ChatType != nil {
		if err := checkEnum(p+"chat_type.type_list", g.ChatType.TypeList, openzone.ErrInvalidParam, "1 (单聊 single) or 2 (群聊 group)", oneOrTwo); err != nil {
			return err
		}
	}
	if g.Department != nil {
		if err := checkCount(p+"department.id_list", len(g.Department.IDList), MaxDepartments, openzone.ErrInvalidParam); err != nil {
			return err
		}
		for i, id := range g.Department.IDList {
			if id <= 0 {
				return openzone.Errorf(openzone.ErrInvalidParam, "%sdepartment.id_list[%d] is %d, a department id is positive", p, i, id)
			}
		}
	}
	ids := []struct {
		field string
		l     *IDList
		limit int
		code  int
	}{
		{"user.id_list", g.User, MaxUsers, openzone.ErrInvalidParam},
		{"external_contact.id_list", g.ExternalContact, MaxExternals, openzone.ErrInvalidParam},
		{"chat.id_list", g.Chat, MaxChats, ErrTooManyChats},
	}
	for _, c := range ids {
		if c.l == nil {
			continue
		}
		if err := checkCount(p+c.field, len(c.l.IDList), c.limit, c.code); err != nil {
			return err
		}
		for i, id := range c.l.IDList {
			if id == "" {
				return openzone.Errorf(openzone.ErrInvalidParam, "%s%s[%d] is empty", p, c.field, i)
			}
		}
	}
	if g.SessionType != nil {
		if err := checkEnum(p+"session_type.session_type_list", g.SessionType.SessionTypeList, ErrSessionType, "1 (customer session) or 2 (internal session)", oneOrTwo); err != nil {
			return err
		}
	}
	if g.MsgScope < 0 || g.MsgScope > ScopeExternal {
		return openzone.Errorf(openzone.ErrInvalidParam, "%smsg_scope is %d, want 1 (all), 2 (sent by members) or 3 (sent by external contacts)", p, g.MsgScope)
	}
	if l := g.ExcludeMobile; l != nil {
		if err := checkCount(p+"exclude_mobile.mobile_list", len(l.MobileList), MaxWhiteList, openzone.ErrInvalidParam); err != nil {
			return err
		}
		for i, s := range l.MobileList {
			if normMobile(s) == "" {
				return openzone.Errorf(ErrBadMobile, "%sexclude_mobile.mobile_list[%d] %q is not a mobile number (11 digits 1[3-9]…)", p, i, clip(s))
			}
		}
	}
	if l := g.ExcludeEmail; l != nil {
		if err := checkCount(p+"exclude_email.email_list", len(l.EmailList), MaxWhiteList, openzone.ErrInvalidParam); err != nil {
			return err
		}
		for i, s := range l.EmailList {
			if !isEmail(s) {
				return openzone.Errorf(openzone.ErrInvalidParam, "%sexclude_email.email_list[%d] %q is not an e-mail address", p, i, clip(s))
			}
		}
	}
	if l := g.ExcludeBankCard; l != nil {
		if err := checkCount(p+"exclude_bank_card.bank_card_list", len(l.BankCardList), MaxWhiteList, openzone.ErrInvalidParam); err != nil {
			return err
		}
		for i, s := range l.BankCardList {
			if normCard(s) == "" {
				return openzone.Errorf(ErrBadBankCard, "%sexclude_bank_card.bank_card_list[%d] %q is not a bank card number (13–19 digits)", p, i, clip(s))
			}
		}
	}
	if l := g.ExcludeKeyword; l != nil {
		if err := checkCount(p+"exclude_keyword", len(l.Words), MaxExcludeWords, openzone.ErrInvalidParam); err != nil {
			return err
		}
		if err := checkWords(p+"exclude_keyword", l.Words); err != nil {
			return err
		}
	}
	return checkEnum(p+"voice_match_msgtype", g.VoiceMatchMsgtype, openzone.ErrInvalidParam, "6 (voice) or 21 (audio archive)",
		func(v int) bool { return v == MsgTypeVoice || v == MsgTypeAudioArch })
}

func clip(s string) string {
	if len(s) <= maxErrValueLength {
		return s
	}
	i := maxErrValueLength
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

func dedupInts(vs []int) []int {
	out := make([]int, 0, len(vs))
	for _, v := range vs {
		dup := false
		for _, o := range out {
			if o == v {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}

func (k *Keyword) empty() bool   { return k == nil || len(k.WordList) == 0 }
func (s *Semantics) empty() bool { return s == nil || len(s.SemanticsList) == 0 }

// normalize drops the parts that are set but empty, so that a stored rule
// holds only what it watches.
func (r *Rule) normalize() {
	if r.Keyword.empty() {
		r.Keyword = nil
	}
	if r.Semantics.empty() {
		r.Semantics = nil
	}
	g := r.ApplicableRange
	if g == nil {
		return
	}
	if g.TargetType != nil && len(g.TargetType.TypeList) == 0 {
		g.TargetType = nil
	}
	if g.ChatType != nil && len(g.ChatType.TypeList) == 0 {
		g.ChatType = nil
	}
	if g.Department != nil && len(g.Department.IDList) == 0 {
		g.Department = nil
	}
	if g.User != nil && len(g.User.IDList) == 0 {
		g.User = nil
	}
	if g.ExternalContact != nil && len(g.ExternalContact.IDList) == 0 {
		g.ExternalContact = nil
	}
	if g.Chat != nil && len(g.Chat.IDList) == 0 {
		g.Chat = nil
	}
	if g.SessionType != nil && len(g.SessionType.SessionTypeList) == 0 {
		g.SessionType = nil
	}
	if g.ExcludeMobile != nil && len(g.ExcludeMobile.MobileList) == 0 {
		g.ExcludeMobile = nil
	}
	if g.ExcludeEmail != nil && len(g.ExcludeEmail.EmailList) == 0 {
		g.ExcludeEmail = nil
	}
	if g.ExcludeBankCard != nil && len(g.ExcludeBankCard.BankCardList) == 0 {
		g.ExcludeBankCard = nil
	}
	if g.ExcludeKeyword != nil && len(g.ExcludeKeyword.Words) == 0 {
		g.ExcludeKeyword = nil
	}
	if len(g.VoiceMatchMsgtype) == 0 {
		g.VoiceMatchMsgtype = nil
	}
	if g.TargetType == nil && g.ChatType == nil && g.Department == nil && g.User == nil &&
		g.ExternalContact == nil && g.Chat == nil && g.SessionType == nil && g.MsgScope == 0 &&
		g.ExcludeMobile == nil && g.ExcludeEmail == nil && g.ExcludeBankCard == nil &&
		g.ExcludeKeyword == nil && g.VoiceMatchMsgtype == nil {
		r.ApplicableRange = nil
	}
}

// Apply returns the rule r updated by u, a rule Parse read from an
// update_rule body: a given name, keyword or semantics part replaces r's
// (an empty list clears it), and each given applicable_range item replaces
// r's item (an empty list clears it). The result has no RuleID. It fails
// with ErrKeywordEmpty when the update leaves neither keywords nor semantics.
func (r *Rule) Apply(u *Rule) (*Rule, error) {
	out := r.clone()
	out.RuleID = ""
	if u == nil {
		return out, nil
	}
	if u.Name != "" {
		out.Name = u.Name
	}
	if u.Keyword != nil {
		out.Keyword = u.Keyword.clone()
	}
	if u.Semantics != nil {
		out.Semantics = &Semantics{SemanticsList: append([]int(nil), u.Semantics.SemanticsList...)}
	}
	if ug := u.ApplicableRange; ug != nil {
		if out.ApplicableRange == nil {
			out.ApplicableRange = &Range{}
		}
		g := out.ApplicableRange
		set := func(dst, src any) {
			// dst is a **T, src a *T: replace when src is given.
			sv := reflect.ValueOf(src)
			if !sv.IsNil() {
				reflect.ValueOf(dst).Elem().Set(sv)
			}
		}
		c := ug.clone()
		set(&g.TargetType, c.TargetType)
		set(&g.ChatType, c.ChatType)
		set(&g.Department, c.Department)
		set(&g.User, c.User)
		set(&g.ExternalContact, c.ExternalContact)
		set(&g.Chat, c.Chat)
		set(&g.SessionType, c.SessionType)
		set(&g.ExcludeMobile, c.ExcludeMobile)
		set(&g.ExcludeEmail, c.ExcludeEmail)
		set(&g.ExcludeBankCard, c.ExcludeBankCard)
		set(&g.ExcludeKeyword, c.ExcludeKeyword)
		if c.MsgScope != 0 {
			g.MsgScope = c.MsgScope
		}
		if c.VoiceMatchMsgtype != nil {
			g.VoiceMatchMsgtype = c.VoiceMatchMsgtype
		}
	}
	out.normalize()
	if out.Keyword == nil && out.Semantics == nil {
		return nil, bothEmpty()
	}
	return out, nil
}

func (r *Rule) clone() *Rule {
	if r == nil {
		return &Rule{}
	}
	out := &Rule{RuleID: r.RuleID, Name: r.Name, Keyword: r.Keyword.clone()}
	if r.Semantics != nil {
		out.Semantics = &Semantics{SemanticsList: append([]int(nil), r.Semantics.SemanticsList...)}
	}
	if r.ApplicableRange != nil {
		out.ApplicableRange = r.ApplicableRange.clone()
	}
	return out
}

func (k *Keyword) clone() *Keyword {
	if k == nil {
		return nil
	}
	c := *k
	c.WordList = append([]string(nil), k.WordList...)
	return &c
}

// clone deep-copies g, keeping empty-but-set lists non-nil.
func (g *Range) clone() *Range {
	b, err := json.Marshal(g)
	if err != nil {
		panic("keyword: marshal range: " + err.Error())
	}
	var c Range
	if err := json.Unmarshal(b, &c); err != nil {
		panic("keyword: unmarshal range: " + err.Error())
	}
	if g.VoiceMatchMsgtype != nil && c.VoiceMatchMsgtype == nil {
		c.VoiceMatchMsgtype = []int{} // omitempty dropped a set-but-empty list
	}
	return &c
}

// Detail returns the rule as get_rule_detail returns it: name, keyword,
// semantics and applicable_range, always present (empty when not set), with
// WeCom's field names. The caller adds errcode and errmsg.
func (r *Rule) Detail() Detail {
	k := Keyword{WordList: []string{}}
	if r.Keyword != nil {
		k = *r.Keyword.clone()
		if k.WordList == nil {
			k.WordList = []string{}
		}
	}
	s := Semantics{SemanticsList: []int{}}
	if r.Semantics != nil && r.Semantics.SemanticsList != nil {
		s.SemanticsList = append([]int(nil), r.Semantics.SemanticsList...)
	}
	g := &Range{}
	if r.ApplicableRange != nil {
		g = r.ApplicableRange.clone()
	}
	return Detail{Name: r.Name, Keyword: k, Semantics: s, ApplicableRange: g}
}

// Detail is a rule as get_rule_detail answers it: every part present.
type Detail struct {
	ApplicableRange *Range    `json:"applicable_range"`
	Keyword         Keyword   `json:"keyword"`
	Name            string    `json:"name"`
	Semantics       Semantics `json:"semantics"`
}

// Summary is a rule as an item of get_rule_list's rule_list.
type Summary struct {
	CreateTime int64  `json:"create_time"`
	Name       string `json:"name"`
	RuleID     string `json:"rule_id"`
}

// Summary returns the rule as an item of get_rule_list's rule_list.
func (r *Rule) Summary(ruleID string, createTime int64) Summary {
	return Summary{RuleID: ruleID, Name: r.Name, CreateTime: createTime}
}

// NewRuleID returns a fresh rule id: 32 lower-case hex digits.
func NewRuleID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("keyword: crypto/rand: " + err.Error())
	}
	return hex.EncodeToString(b[:])
}

// ValidRuleID reports, as an ErrBadRuleID error, whether id cannot be a rule
// id: empty, longer than MaxRuleIDLen, or not made of [A-Za-z0-9_-]. A well
// formed id that names no rule is the store's ErrRuleNotFound.
func ValidRuleID(id string) error {
	if id == "" {
		return openzone.Errorf(ErrBadRuleID, "rule_id is required")
	}
	if len(id) > MaxRuleIDLen {
		return openzone.Errorf(ErrBadRuleID, "rule_id is %d bytes long, the limit is %d", len(id), MaxRuleIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return openzone.Errorf(ErrBadRuleID, "rule_id %q is not a rule id", clip(id))
		}
	}
	return nil
}

// String returns the stored form of r, for logs and tests.
func (r *Rule) String() string {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Sprintf("keyword.Rule(%v)", err)
	}
	return string(b)
}
