package keyword

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/openzone/openzone"
)

func ints(n, from int) string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprint(from + i)
	}
	return strings.Join(s, ",")
}

func strs(n int, f func(i int) string) string {
	s := make([]string, n)
	for i := range s {
		s[i] = `"` + f(i) + `"`
	}
	return strings.Join(s, ",")
}

// withRange builds a valid create body with the given applicable_range.
func withRange(rng string) string {
	return `{"name":"r","keyword":{"word_list":["退款"]},"applicable_range":` + rng + `}`
}

func TestParseErrors(t *testing.T) {
	long := strings.Repeat("字", 33)
	cases := []struct {
		name   string
		body   string
		update bool
		code   int
		msg    string // substring of the message
	}{
		{"not json", `{"name":`, false, openzone.ErrBadBodyJSON, "not valid JSON"},
		{"empty body", ``, false, openzone.ErrBadBodyJSON, "not valid JSON"},
		{"array body", `[1]`, false, openzone.ErrBadBodyJSON, "not a JSON object"},
		{"null body", `null`, false, openzone.ErrBadBodyJSON, "not a JSON object"},
		{"trailing data", `{"name":"a","semantics":{"semantics_list":[1]}} {}`, false, openzone.ErrBadBodyJSON, "after the JSON object"},
		{"unknown field", `{"name":"a","semantics":{"semantics_list":[1]},"color":1}`, false, openzone.ErrInvalidParam, "unknown field color"},
		{"unknown nested field", withRange(`{"chat_type":{"type_list":[1],"bogus":2}}`), false, openzone.ErrInvalidParam, "unknown field applicable_range.chat_type.bogus"},
		{"rule_id on create", `{"rule_id":"x","name":"a","semantics":{"semantics_list":[1]}}`, false, openzone.ErrInvalidParam, `"rule_id"`},
		{"name missing", `{"semantics":{"semantics_list":[1]}}`, false, openzone.ErrInvalidParam, "name is required"},
		{"name empty", `{"name":"","semantics":{"semantics_list":[1]}}`, false, openzone.ErrInvalidParam, "name is 0 characters"},
		{"name too long", `{"name":"` + strings.Repeat("规", 21) + `","semantics":{"semantics_list":[1]}}`, false, openzone.ErrInvalidParam, "name is 21 characters long, it must be 1–20"},
		{"name wrong type", `{"name":5,"semantics":{"semantics_list":[1]}}`, false, openzone.ErrInvalidParam, "name: got number, want a string"},
		{"keyword without word_list", `{"name":"a","keyword":{"match_rule":1}}`, false, ErrMissingWordList, "keyword.word_list is missing"},
		{"keyword word_list null", `{"name":"a","keyword":{"word_list":null},"semantics":{"semantics_list":[2]}}`, false, ErrMissingWordList, "keyword.word_list"},
		{"too many words", `{"name":"a","keyword":{"word_list":[` + strs(21, func(i int) string { return fmt.Sprint("w", i) }) + `]}}`, false, openzone.ErrInvalidParam, "keyword.word_list has 21 words, the limit is 20"},
		{"word too long", `{"name":"a","keyword":{"word_list":["a","b","c","` + long + `"]}}`, false, openzone.ErrInvalidParam, "keyword.word_list[3] is 33 characters long, the limit is 32"},
		{"empty word", `{"name":"a","keyword":{"word_list":["a",""]}}`, false, openzone.ErrInvalidParam, "keyword.word_list[1] is empty"},
		{"word not a string", `{"name":"a","keyword":{"word_list":[7]}}`, false, openzone.ErrInvalidParam, "keyword.word_list: got number, want a string"},
		{"bad match_rule", `{"name":"a","keyword":{"word_list":["a"],"match_rule":2}}`, false, openzone.ErrInvalidParam, "keyword.match_rule is 2"},
		{"match_rule string", `{"name":"a","keyword":{"word_list":["a"],"match_rule":"1"}}`, false, openzone.ErrInvalidParam, "keyword.match_rule: got string, want an integer"},
		{"bad is_case_sensitive", `{"name":"a","keyword":{"word_list":["a"],"is_case_sensitive":2}}`, false, openzone.ErrInvalidParam, "keyword.is_case_sensitive: got 2, want true/false or 0/1"},
		{"is_trim_msg string", `{"name":"a","keyword":{"word_list":["a"],"is_trim_msg":"true"}}`, false, openzone.ErrInvalidParam, "keyword.is_trim_msg"},
		{"semantics 0", `{"name":"a","semantics":{"semantics_list":[0]}}`, false, ErrBadSemantics, "semantics.semantics_list[0] is 0"},
		{"semantics 13", `{"name":"a","semantics":{"semantics_list":[2,13]}}`, false, ErrBadSemantics, "semantics.semantics_list[1] is 13"},
		{"nothing to watch", `{"name":"a"}`, false, ErrKeywordEmpty, "both empty"},
		{"both lists empty", `{"name":"a","keyword":{"word_list":[]},"semantics":{"semantics_list":[]}}`, false, ErrKeywordEmpty, "both empty"},
		{"bad target_type", withRange(`{"target_type":{"type_list":[1,3]}}`), false, openzone.ErrInvalidParam, "applicable_range.target_type.type_list[1] is 3"},
		{"bad chat_type", withRange(`{"chat_type":{"type_list":[0]}}`), false, openzone.ErrInvalidParam, "applicable_range.chat_type.type_list[0] is 0"},
		{"bad session_type", withRange(`{"session_type":{"session_type_list":[3]}}`), false, ErrSessionType, "applicable_range.session_type.session_type_list[0] is 3"},
		{"bad msg_scope", withRange(`{"msg_scope":4}`), false, openzone.ErrInvalidParam, "applicable_range.msg_scope is 4"},
		{"negative msg_scope", withRange(`{"msg_scope":-1}`), false, openzone.ErrInvalidParam, "applicable_range.msg_scope is -1"},
		{"too many departments", withRange(`{"department":{"id_list":[` + ints(101, 1) + `]}}`), false, openzone.ErrInvalidParam, "applicable_range.department.id_list has 101 entries, the limit is 100"},
		{"bad department", withRange(`{"department":{"id_list":[0]}}`), false, openzone.ErrInvalidParam, "applicable_range.department.id_list[0] is 0"},
		{"too many users", withRange(`{"user":{"id_list":[` + strs(1001, func(i int) string { return fmt.Sprint("u", i) }) + `]}}`), false, openzone.ErrInvalidParam, "applicable_range.user.id_list has 1001 entries, the limit is 1000"},
		{"empty user id", withRange(`{"user":{"id_list":["zhangsan",""]}}`), false, openzone.ErrInvalidParam, "applicable_range.user.id_list[1] is empty"},
		{"too many external contacts", withRange(`{"external_contact":{"id_list":[` + strs(101, func(i int) string { return fmt.Sprint("wm", i) }) + `]}}`), false, openzone.ErrInvalidParam, "applicable_range.external_contact.id_list has 101 entries"},
		{"too many chats", withRange(`{"chat":{"id_list":[` + strs(2001, func(i int) string { return fmt.Sprint("wr", i) }) + `]}}`), false, ErrTooManyChats, "applicable_range.chat.id_list has 2001 entries, the limit is 2000"},
		{"bad mobile", withRange(`{"exclude_mobile":{"mobile_list":["13800138000","12345"]}}`), false, ErrBadMobile, `applicable_range.exclude_mobile.mobile_list[1] "12345"`},
		{"too many mobiles", withRange(`{"exclude_mobile":{"mobile_list":[` + strs(101, func(i int) string { return fmt.Sprintf("138%08d", i) }) + `]}}`), false, openzone.ErrInvalidParam, "mobile_list has 101 entries"},
		{"bad bank card", withRange(`{"exclude_bank_card":{"bank_card_list":["6222abc"]}}`), false, ErrBadBankCard, "applicable_range.exclude_bank_card.bank_card_list[0]"},
		{"bad email", withRange(`{"exclude_email":{"email_list":["not-an-email"]}}`), false, openzone.ErrInvalidParam, "applicable_range.exclude_email.email_list[0]"},
		{"too many exclude words", withRange(`{"exclude_keyword":[` + strs(21, func(i int) string { return fmt.Sprint("x", i) }) + `]}`), false, openzone.ErrInvalidParam, "applicable_range.exclude_keyword has 21 entries"},
		{"exclude word too long", withRange(`{"exclude_keyword":{"word_list":["` + long + `"]}}`), false, openzone.ErrInvalidParam, "applicable_range.exclude_keyword[0] is 33 characters long"},
		{"exclude_keyword wrong type", withRange(`{"exclude_keyword":5}`), false, openzone.ErrInvalidParam, "applicable_range.exclude_keyword: got 5"},
		{"bad voice msgtype", withRange(`{"voice_match_msgtype":[6,1]}`), false, openzone.ErrInvalidParam, "applicable_range.voice_match_msgtype[1] is 1"},
		{"update without rule_id", `{"name":"a"}`, true, ErrBadRuleID, "rule_id is required"},
		{"update bad rule_id", `{"rule_id":"a b"}`, true, ErrBadRuleID, `rule_id "a b" is not a rule id`},
		{"update long rule_id", `{"rule_id":"` + strings.Repeat("a", 65) + `"}`, true, ErrBadRuleID, "65 bytes long"},
		{"update empties both", `{"rule_id":"r1","keyword":{"word_list":[]},"semantics":{"semantics_list":[]}}`, true, ErrKeywordEmpty, "both empty"},
		{"update empty name", `{"rule_id":"r1","name":""}`, true, openzone.ErrInvalidParam, "name is 0 characters"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Parse([]byte(c.body), c.update)
			if err == nil {
				t.Fatalf("Parse = %v, want errcode %d", r, c.code)
			}
			var oe *openzone.Error
			if !errors.As(err, &oe) {
				t.Fatalf("error %T %v is not an *openzone.Error", err, err)
			}
			if oe.Code != c.code || !strings.Contains(oe.Message, c.msg) {
				t.Fatalf("error = %d %q, want %d containing %q", oe.Code, oe.Message, c.code, c.msg)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	body := `{
		"name": "敏感信息规则二十个字以内的名字是这样的",
		"keyword": {"word_list": ["退款", "Refund"], "is_case_sensitive": 1, "match_rule": 1, "is_trim_msg": true},
		"semantics": {"semantics_list": [2, 7, 2, 3]},
		"applicable_range": {
			"target_type": {"type_list": [1, 2]},
			"chat_type": {"type_list": [2]},
			"department": {"id_list": [1, 2]},
			"user": {"id_list": ["zhangsan"]},
			"external_contact": {"id_list": ["wmABC"]},
			"chat": {"id_list": ["wrXYZ"]},
			"session_type": {"session_type_list": [1]},
			"msg_scope": 2,
			"exclude_mobile": {"mobile_list": ["138 0013 8000", "+8613900139000"]},
			"exclude_email": {"email_list": ["boss@example.com"]},
			"exclude_bank_card": {"bank_card_list": ["4111 1111 1111 1111"]},
			"exclude_keyword": ["测试"],
			"voice_match_msgtype": [6, 21]
		}
	}`
	r, err := Parse([]byte(body), false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "敏感信息规则二十个字以内的名字是这样的" || !bool(r.Keyword.IsCaseSensitive) || !bool(r.Keyword.IsTrimMsg) || r.Keyword.MatchRule != MatchExact {
		t.Fatalf("parsed %v", r)
	}
	if got := r.Semantics.SemanticsList; !reflect.DeepEqual(got, []int{2, 7, 3}) {
		t.Fatalf("semantics_list = %v, want deduplicated [2 7 3]", got)
	}
	g := r.ApplicableRange
	if g.MsgScope != 2 || !reflect.DeepEqual(g.ExcludeKeyword.Words, []string{"测试"}) || !reflect.DeepEqual(g.VoiceMatchMsgtype, []int{6, 21}) {
		t.Fatalf("range %+v", g)
	}

	// The stored form reads back the same, and keeps the flat exclude_keyword.
	stored, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(stored), `"exclude_keyword":["测试"]`) || !strings.Contains(string(stored), `"is_case_sensitive":true`) {
		t.Fatalf("stored form %s", stored)
	}
	r2, err := Parse(stored, false)
	if err != nil {
		t.Fatalf("stored form does not parse: %v\n%s", err, stored)
	}
	if r2.String() != r.String() {
		t.Fatalf("round trip changed the rule:\n%s\n%s", r, r2)
	}
}

func TestParseFlags(t *testing.T) {
	for _, c := range []struct {
		v    string
		want bool
	}{{"true", true}, {"false", false}, {"1", true}, {"0", false}, {"null", false}} {
		r, err := Parse([]byte(`{"name":"a","keyword":{"word_list":["x"],"is_case_sensitive":`+c.v+`}}`), false)
		if err != nil {
			t.Fatalf("%s: %v", c.v, err)
		}
		if bool(r.Keyword.IsCaseSensitive) != c.want {
			t.Fatalf("is_case_sensitive %s = %v", c.v, r.Keyword.IsCaseSensitive)
		}
	}
}

func TestParseNormalizes(t *testing.T) {
	r, err := Parse([]byte(`{"name":"a","keyword":{"word_list":[]},"semantics":{"semantics_list":[1]},
		"applicable_range":{"chat_type":{"type_list":[]},"exclude_keyword":{"word_list":[]},"voice_match_msgtype":[]}}`), false)
	if err != nil {
		t.Fatal(err)
	}
	if r.Keyword != nil || r.ApplicableRange != nil {
		t.Fatalf("empty parts kept: %v", r)
	}
	if got := r.String(); got != `{"name":"a","semantics":{"semantics_list":[1]}}` {
		t.Fatalf("stored form %s", got)
	}
}

func TestUpdateApply(t *testing.T) {
	base, err := Parse([]byte(`{"name":"旧","keyword":{"word_list":["a"],"match_rule":1},"semantics":{"semantics_list":[2]},
		"applicable_range":{"chat_type":{"type_list":[1]},"user":{"id_list":["u1"]},"msg_scope":3,"voice_match_msgtype":[6]}}`), false)
	if err != nil {
		t.Fatal(err)
	}
	u, err := Parse([]byte(`{"rule_id":"RULE_1-x","name":"新","applicable_range":{"user":{"id_list":[]},"chat":{"id_list":["wr1"]},"voice_match_msgtype":[]}}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if u.RuleID != "RULE_1-x" {
		t.Fatalf("rule_id %q", u.RuleID)
	}
	got, err := base.Apply(u)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"新","keyword":{"word_list":["a"],"is_case_sensitive":false,"match_rule":1,"is_trim_msg":false},"semantics":{"semantics_list":[2]},"applicable_range":{"chat_type":{"type_list":[1]},"chat":{"id_list":["wr1"]},"msg_scope":3}}`
	if got.String() != want {
		t.Fatalf("Apply =\n%s\nwant\n%s", got, want)
	}
	if base.ApplicableRange.User == nil {
		t.Fatal("Apply changed the base rule")
	}

	// Clearing the semantics of a semantics-only rule leaves it empty.
	sOnly, _ := Parse([]byte(`{"name":"s","semantics":{"semantics_list":[1]}}`), false)
	clear, err := Parse([]byte(`{"rule_id":"r","semantics":{"semantics_list":[]}}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sOnly.Apply(clear); openzone.ErrorCode(err) != ErrKeywordEmpty {
		t.Fatalf("Apply clearing everything = %v, want %d", err, ErrKeywordEmpty)
	}
	// An update that names only the rule changes nothing.
	same, err := Parse([]byte(`{"rule_id":"r"}`), true)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := base.Apply(same); err != nil || got.String() != base.String() {
		t.Fatalf("no-op Apply = %v, %v", got, err)
	}
}

func TestDetailAndSummary(t *testing.T) {
	r, err := Parse([]byte(`{"name":"语义","semantics":{"semantics_list":[1,2]}}`), false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r.Detail())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"applicable_range":{},"keyword":{"word_list":[],"is_case_sensitive":false,"match_rule":0,"is_trim_msg":false},"name":"语义","semantics":{"semantics_list":[1,2]}}`
	if string(b) != want {
		t.Fatalf("Detail = %s\nwant %s", b, want)
	}
	if _, err := Parse(b, false); err != nil {
		t.Fatalf("detail does not parse back: %v", err)
	}
	b, _ = json.Marshal(r.Summary("rid", 1700000000))
	if string(b) != `{"create_time":1700000000,"name":"语义","rule_id":"rid"}` {
		t.Fatalf("Summary = %s", b)
	}
}

func TestRuleIDs(t *testing.T) {
	a, b := NewRuleID(), NewRuleID()
	if a == b || len(a) != 32 || ValidRuleID(a) != nil {
		t.Fatalf("NewRuleID = %q, %q", a, b)
	}
	for _, bad := range []string{"", "a/b", "规则", strings.Repeat("x", 65)} {
		if openzone.ErrorCode(ValidRuleID(bad)) != ErrBadRuleID {
			t.Fatalf("ValidRuleID(%q) accepted", bad)
		}
	}
}

func TestSemanticName(t *testing.T) {
	if SemanticName(SemRedPacket) != "红包" || SemanticName(SemWelcome) != "发送客户欢迎语" || SemanticName(0) != "" || SemanticName(13) != "" {
		t.Fatal("SemanticName")
	}
}

func TestParseLimitsInclusive(t *testing.T) {
	name := strings.Repeat("名", MaxNameLen)
	words := strs(MaxWords, func(i int) string { return strings.Repeat("词", MaxWordLen-1) + fmt.Sprint(i%10) })
	body := `{"name":"` + name + `","keyword":{"word_list":[` + words + `]},"applicable_range":{"chat":{"id_list":[` +
		strs(MaxChats, func(i int) string { return fmt.Sprint("wr", i) }) + `]}}}`
	if _, err := Parse([]byte(body), false); err != nil {
		t.Fatalf("limits themselves are refused: %v", err)
	}
}

func TestWordListForms(t *testing.T) {
	g := &Range{ExcludeKeyword: &WordList{Words: []string{"a"}}}
	b, _ := json.Marshal(g)
	if string(b) != `{"exclude_keyword":{"word_list":["a"]}}` {
		t.Fatalf("object form %s", b)
	}
	g.ExcludeKeyword = Flat("a")
	b, _ = json.Marshal(g)
	if string(b) != `{"exclude_keyword":["a"]}` {
		t.Fatalf("flat form %s", b)
	}
}
