package keyword

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/openzone/openzone"
)

// FuzzParse: Parse never panics, fails only with an *openzone.Error of a
// WeCom code, and a rule it accepts survives its stored form unchanged.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","keyword":{"word_list":["退款"],"is_case_sensitive":1,"match_rule":1,"is_trim_msg":true}}`,
		`{"name":"a","semantics":{"semantics_list":[1,2,3,4,5,6,7,8,9,10,11,12]}}`,
		withRange(`{"target_type":{"type_list":[1,2]},"chat_type":{"type_list":[1]},"department":{"id_list":[1]},"user":{"id_list":["u"]},"external_contact":{"id_list":["wm"]},"chat":{"id_list":["wr"]},"session_type":{"session_type_list":[1,2]},"msg_scope":3}`),
		withRange(`{"exclude_mobile":{"mobile_list":["13800138000"]},"exclude_email":{"email_list":["a@b.cn"]},"exclude_bank_card":{"bank_card_list":["4111111111111111"]},"exclude_keyword":["x"],"voice_match_msgtype":[6,21]}`),
		withRange(`{"exclude_keyword":{"word_list":["y"]}}`),
		`{"rule_id":"abc","name":"n","keyword":{"word_list":[]}}`,
		`{"name":null,"keyword":null}`, `[]`, `{`, `null`, `{"name":"\ud800"}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	base := mustParse(f, `{"name":"base","keyword":{"word_list":["a"]},"applicable_range":{"user":{"id_list":["u"]}}}`)
	f.Fuzz(func(t *testing.T, body []byte, update bool) {
		r, err := Parse(body, update)
		if err != nil {
			var oe *openzone.Error
			if !errors.As(err, &oe) || oe.Code <= 0 || oe.Message == "" {
				t.Fatalf("error %v is not a WeCom *openzone.Error", err)
			}
			return
		}
		if update {
			merged, err := base.Apply(r)
			if err != nil {
				if openzone.ErrorCode(err) != ErrKeywordEmpty {
					t.Fatalf("Apply: %v", err)
				}
				return
			}
			r = merged
		}
		stored, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		r2, err := Parse(stored, false)
		if err != nil {
			t.Fatalf("stored form %s does not parse: %v", stored, err)
		}
		if r2.String() != string(stored) {
			t.Fatalf("stored form changed:\n%s\n%s", stored, r2)
		}
		if _, err := json.Marshal(r.Detail()); err != nil {
			t.Fatalf("detail: %v", err)
		}
		r.Match(&Msg{MsgType: MsgTypeText, Text: string(body), Sender: member})
	})
}

// FuzzMatch: matching never panics, its answers are consistent, and
// Rule.Match agrees with the compiled Matcher.
func FuzzMatch(f *testing.F) {
	for _, s := range []string{
		"我要退款", "13800138000", "138 0013 8000", "+86-138-0013-8000", "4111 1111 1111 1111", "11010519491231002X",
		"a@b.cn", "https://x.cn", "www.qq.com", "测试退款", "ＡＢＣ１３８００１３８０００", "\xff\xfe", "",
	} {
		f.Add(s, MsgTypeText, "", int(openzone.PartyMember))
	}
	f.Add("", MsgTypeRedPacket, "wr1", int(openzone.PartyExternal))
	f.Add("退款", MsgTypeVoice, "", int(openzone.PartyBot))
	rules := []*Rule{
		mustParse(f, `{"name":"a","keyword":{"word_list":["退款","REFUND","1380"]},"semantics":{"semantics_list":[1,2,3,4,5,6,7,8,9,10,11,12]},
			"applicable_range":{"exclude_keyword":["测试"],"exclude_mobile":{"mobile_list":["13900139000"]},"voice_match_msgtype":[6]}}`),
		mustParse(f, `{"name":"b","keyword":{"word_list":["退款"],"match_rule":1,"is_trim_msg":1,"is_case_sensitive":1},
			"applicable_range":{"target_type":{"type_list":[2]},"chat_type":{"type_list":[2]},"chat":{"id_list":["wr1"]},"session_type":{"session_type_list":[1]},"msg_scope":3}}`),
	}
	f.Fuzz(func(t *testing.T, s string, msgType int, chatID string, senderType int) {
		m := &Msg{MsgType: msgType, Text: s, Sender: openzone.Party{Type: senderType, ID: s}, ChatID: chatID,
			Receivers: []openzone.Party{{Type: openzone.PartyExternal, ID: "wm"}}, Detected: []int{msgType, -1}}
		for _, r := range rules {
			hit, kw, sem := r.Match(m)
			if hit != (kw || len(sem) > 0) {
				t.Fatalf("hit %v with keyword %v and semantics %v", hit, kw, sem)
			}
			for i, v := range sem {
				if v < 1 || v > semMax || i > 0 && sem[i-1] >= v {
					t.Fatalf("semantics %v not ascending values 1–12", sem)
				}
			}
			h2, k2, s2 := r.Compile().Match(m)
			if h2 != hit || k2 != kw || !reflect.DeepEqual(s2, sem) {
				t.Fatal("Rule.Match and Matcher.Match differ")
			}
		}
		scanNumbers(s, true, true, true)
		emails(s)
		hasLink(s)
		normMobile(s)
		normCard(s)
	})
}
