package keyword

import (
	"reflect"
	"strings"
	"testing"

	"github.com/openzone/openzone"
)

var (
	member   = openzone.Party{Type: openzone.PartyMember, ID: "zhangsan"}
	member2  = openzone.Party{Type: openzone.PartyMember, ID: "lisi"}
	customer = openzone.Party{Type: openzone.PartyExternal, ID: "wmCustomer"}
	bot      = openzone.Party{Type: openzone.PartyBot, ID: "bot"}
)

func mustParse(t testing.TB, body string) *Rule {
	t.Helper()
	r, err := Parse([]byte(body), false)
	if err != nil {
		t.Fatalf("Parse(%s): %v", body, err)
	}
	return r
}

func text(s string) *Msg {
	return &Msg{MsgType: MsgTypeText, Text: s, Sender: member, Receivers: []openzone.Party{customer}}
}

// withLuhn appends the Luhn check digit to digits.
func withLuhn(digits string) string {
	for c := byte('0'); c <= '9'; c++ {
		if luhn(digits + string(c)) {
			return digits + string(c)
		}
	}
	panic("unreachable")
}

// withIDCheck appends the GB 11643 check character to 17 digits.
func withIDCheck(d17 string) string {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(d17[i]-'0') * idWeights[i]
	}
	return d17 + string(idCheck[sum%11])
}

func TestMatchKeywords(t *testing.T) {
	contains := `{"name":"k","keyword":{"word_list":["退款","Refund"]}}`
	sensitive := `{"name":"k","keyword":{"word_list":["Refund"],"is_case_sensitive":true}}`
	exact := `{"name":"k","keyword":{"word_list":["退款","OK"],"match_rule":1}}`
	exactTrim := `{"name":"k","keyword":{"word_list":["退款"],"match_rule":1,"is_trim_msg":1}}`
	containsTrim := `{"name":"k","keyword":{"word_list":["退款 "],"is_trim_msg":1}}`
	excl := `{"name":"k","keyword":{"word_list":["退款"]},"semantics":{"semantics_list":[2]},"applicable_range":{"exclude_keyword":["不退款","TEST"]}}`
	voice := `{"name":"k","keyword":{"word_list":["退款"]},"applicable_range":{"voice_match_msgtype":[6]}}`
	cases := []struct {
		name string
		rule string
		msg  *Msg
		hit  bool
	}{
		{"contains chinese", contains, text("你好，我要退款了"), true},
		{"contains not there", contains, text("你好，我要退货"), false},
		{"contains ignores case", contains, text("please REFUND me"), true},
		{"case sensitive hit", sensitive, text("Refund please"), true},
		{"case sensitive miss", sensitive, text("refund please"), false},
		{"exact hit", exact, text("退款"), true},
		{"exact is not contains", exact, text("我要退款"), false},
		{"exact ignores case", exact, text("ok"), true},
		{"exact untrimmed", exact, text(" 退款\n"), false},
		{"exact trimmed", exactTrim, text(" \t退款\r\n"), true},
		{"trim needs exact", containsTrim, text("退款"), false},
		{"excluded word", excl, text("我不退款，电话13800138000"), false},
		{"excluded word ignores case", excl, text("退款 test"), false},
		{"not excluded", excl, text("我要退款"), true},
		{"not a text message", contains, &Msg{MsgType: 2, Text: "退款", Sender: member}, false},
		{"voice without voice_match", contains, &Msg{MsgType: MsgTypeVoice, Text: "退款", Sender: member}, false},
		{"voice with voice_match", voice, &Msg{MsgType: MsgTypeVoice, Text: "我要退款", Sender: member}, true},
		{"audio archive not listed", voice, &Msg{MsgType: MsgTypeAudioArch, Text: "我要退款", Sender: member}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := mustParse(t, c.rule)
			hit, kw, sem := r.Match(c.msg)
			if hit != c.hit || kw != c.hit || len(sem) != 0 {
				t.Fatalf("Match = %v %v %v, want hit=%v by keyword", hit, kw, sem, c.hit)
			}
		})
	}
}

func TestMatchSemantics(t *testing.T) {
	card19 := withLuhn("621700001000123456")
	id := withIDCheck("44030619900307123")
	idX := "11010519491231002X"
	if !isIDNumber(idX) || !isIDNumber(id) {
		t.Fatal("test identity numbers are not valid")
	}
	spaced := card19[:4] + " " + card19[4:8] + " " + card19[8:12] + " " + card19[12:16] + " " + card19[16:]
	cases := []struct {
		name string
		sem  int
		rng  string // applicable_range, "" none
		msg  *Msg
		hit  bool
	}{
		{"red packet", SemRedPacket, "", &Msg{MsgType: MsgTypeRedPacket, Sender: customer}, true},
		{"red packet text", SemRedPacket, "", text("给你发个红包"), false},

		{"mobile", SemMobile, "", text("我的手机是13800138000，请联系"), true},
		{"mobile spaced", SemMobile, "", text("电话：138 0013 8000"), true},
		{"mobile +86 hyphens", SemMobile, "", text("+86 138-0013-8000"), true},
		{"mobile 86 prefix", SemMobile, "", text("call 8613800138000"), true},
		{"mobile full-width", SemMobile, "", text("手机１３８００１３８０００"), true},
		{"mobile in voice transcript", SemMobile, `{"voice_match_msgtype":[21]}`, &Msg{MsgType: MsgTypeAudioArch, Text: "号码是13800138000", Sender: member}, true},
		{"not mobile 12x", SemMobile, "", text("号码12800138000"), false},
		{"not mobile too long", SemMobile, "", text("订单号 138001380001"), false},
		{"not mobile inside number", SemMobile, "", text("流水号213800138000"), false},
		{"mobile white-listed", SemMobile, `{"exclude_mobile":{"mobile_list":["13800138000"]}}`, text("客服电话 138-0013-8000"), false},
		{"mobile one not white-listed", SemMobile, `{"exclude_mobile":{"mobile_list":["13800138000"]}}`, text("13800138000 或 13900139000"), true},

		{"email", SemEmail, "", text("联系邮箱：Zhang.San@Example.com。谢谢"), true},
		{"email subdomain", SemEmail, "", text("发到a_b+c@mail.corp.example.cn"), true},
		{"not email no tld", SemEmail, "", text("zhang@localhost 不是"), false},
		{"not email at", SemEmail, "", text("@张三 你好"), false},
		{"email white-listed ignores case", SemEmail, `{"exclude_email":{"email_list":["zhang.san@example.com"]}}`, text("ZHANG.SAN@EXAMPLE.COM"), false},

		{"wechat card", SemWeChatCard, "", &Msg{MsgType: MsgTypeCard, Sender: member}, true},
		{"wechat card text", SemWeChatCard, "", text("名片"), false},

		{"bank card", SemBankCard, "", text("卡号" + card19 + "，户名张三"), true},
		{"bank card visa", SemBankCard, "", text("card 4111111111111111"), true},
		{"bank card grouped", SemBankCard, "", text("转到 " + spaced + " 谢谢"), true},
		{"bank card hyphens", SemBankCard, "", text("4111-1111-1111-1111"), true},
		{"not bank card luhn", SemBankCard, "", text("4111111111111112"), false},
		{"not bank card short", SemBankCard, "", text("411111111111"), false},
		{"not bank card id number", SemBankCard, "", text(id), false},
		{"not bank card mobile", SemBankCard, "", text("13800138000"), false},
		{"bank card white-listed", SemBankCard, `{"exclude_bank_card":{"bank_card_list":["4111 1111 1111 1111"]}}`, text("4111111111111111"), false},

		{"id card X", SemIDCard, "", text("身份证" + idX + "。"), true},
		{"id card lower x", SemIDCard, "", text("身份证" + strings.ToLower(idX)), true},
		{"id card digit", SemIDCard, "", text("证件号：" + id), true},
		{"not id bad check", SemIDCard, "", text("11010519491231002Y 110105194912310021"), false},
		{"not id bad date", SemIDCard, "", text(withIDCheck("11010519491331002")), false},
		{"not id 17 digits", SemIDCard, "", text("11010519491231002"), false},

		{"file", SemFile, "", &Msg{MsgType: MsgTypeFile, Sender: member}, true},
		{"wedrive file is not a file", SemFile, "", &Msg{MsgType: 23, Sender: member}, false},

		{"link message", SemLink, "", &Msg{MsgType: MsgTypeLink, Sender: member}, true},
		{"link in text", SemLink, "", text("看看这个 https://example.com/a?b=1"), true},
		{"www in text", SemLink, "", text("访问WWW.QQ.COM"), true},
		{"not link", SemLink, "", text("http:// 和 wwwx 和 www. "), false},

		{"mini program", SemMiniProgram, "", &Msg{MsgType: MsgTypeMiniProgram, Sender: member}, true},
		{"mini program not link", SemLink, "", &Msg{MsgType: MsgTypeMiniProgram, Sender: member}, false},

		{"qr image detected", SemQRCodeImage, "", &Msg{MsgType: 2, Sender: customer, Detected: []int{SemQRCodeImage}}, true},
		{"qr image undetected", SemQRCodeImage, "", &Msg{MsgType: 2, Sender: customer}, false},
		{"recall detected", SemRecall, "", &Msg{MsgType: 1, Sender: customer, Detected: []int{SemRecall}}, true},
		{"welcome detected", SemWelcome, "", &Msg{MsgType: 1, Sender: member, Detected: []int{SemWelcome}}, true},
		{"detected but not watched", SemMobile, "", &Msg{MsgType: 2, Sender: member, Detected: []int{SemWelcome, 99}}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := `{"name":"s","semantics":{"semantics_list":[` + itoa(c.sem) + `]}`
			if c.rng != "" {
				body += `,"applicable_range":` + c.rng
			}
			r := mustParse(t, body+`}`)
			hit, kw, sem := r.Match(c.msg)
			var want []int
			if c.hit {
				want = []int{c.sem}
			}
			if hit != c.hit || kw || !reflect.DeepEqual(sem, want) {
				t.Fatalf("Match = %v %v %v, want %v %v", hit, kw, sem, c.hit, want)
			}
		})
	}
}

func itoa(n int) string {
	if n >= 10 {
		return itoa(n/10) + string(rune('0'+n%10))
	}
	return string(rune('0' + n))
}

func TestMatchBoth(t *testing.T) {
	r := mustParse(t, `{"name":"b","keyword":{"word_list":["转账"]},"semantics":{"semantics_list":[10,7,2,3]}}`)
	hit, kw, sem := r.Match(text("转账到4111111111111111，回执发 a@b.cn，详见 https://x.cn，电话13800138000"))
	if !hit || !kw || !reflect.DeepEqual(sem, []int{2, 3, 7, 10}) {
		t.Fatalf("Match = %v %v %v", hit, kw, sem)
	}
	hit, kw, sem = r.Match(text("没有什么"))
	if hit || kw || sem != nil {
		t.Fatalf("Match = %v %v %v", hit, kw, sem)
	}
	// Compile gives the same answers.
	c := r.Compile()
	for _, s := range []string{"转账", "13800138000", "x"} {
		h1, k1, s1 := r.Match(text(s))
		h2, k2, s2 := c.Match(text(s))
		if h1 != h2 || k1 != k2 || !reflect.DeepEqual(s1, s2) {
			t.Fatalf("%q: Rule.Match and Matcher.Match differ", s)
		}
	}
	var nilRule *Rule
	if h, _, _ := nilRule.Match(text("转账")); h {
		t.Fatal("nil rule hit")
	}
	if h, _, _ := r.Match(nil); h {
		t.Fatal("nil message hit")
	}
}

func TestMatchRange(t *testing.T) {
	const kw = `{"name":"r","keyword":{"word_list":["退款"]},"applicable_range":`
	msg := func(sender openzone.Party, chatID string, receivers ...openzone.Party) *Msg {
		return &Msg{MsgType: MsgTypeText, Text: "退款", Sender: sender, ChatID: chatID, Receivers: receivers}
	}
	inDept := msg(member2, "")
	inDept.SenderDepartments = []int64{7, 9}
	cases := []struct {
		name string
		rng  string
		msg  *Msg
		hit  bool
	}{
		{"no range member", `{}`, msg(member, ""), true},
		{"no range bot", `{}`, msg(bot, "wr1"), true},
		{"target members: member", `{"target_type":{"type_list":[1]}}`, msg(member, ""), true},
		{"target members: customer", `{"target_type":{"type_list":[1]}}`, msg(customer, ""), false},
		{"target customers: member", `{"target_type":{"type_list":[2]}}`, msg(member, ""), false},
		{"target both: bot", `{"target_type":{"type_list":[1,2]}}`, msg(bot, ""), false},
		{"user listed", `{"user":{"id_list":["zhangsan"]}}`, msg(member, ""), true},
		{"user not listed", `{"user":{"id_list":["zhangsan"]}}`, msg(member2, ""), false},
		{"user list leaves customers", `{"user":{"id_list":["zhangsan"]}}`, msg(customer, ""), true},
		{"user list with target members", `{"user":{"id_list":["zhangsan"]},"target_type":{"type_list":[1]}}`, msg(customer, ""), false},
		{"department listed", `{"department":{"id_list":[9]}}`, inDept, true},
		{"department not listed", `{"department":{"id_list":[8]}}`, inDept, false},
		{"department or user", `{"department":{"id_list":[8]},"user":{"id_list":["zhangsan"]}}`, msg(member, ""), true},
		{"department unknown", `{"department":{"id_list":[9]}}`, msg(member, ""), false},
		{"external listed", `{"external_contact":{"id_list":["wmCustomer"]}}`, msg(customer, ""), true},
		{"external not listed", `{"external_contact":{"id_list":["wmOther"]}}`, msg(customer, ""), false},
		{"external list leaves members", `{"external_contact":{"id_list":["wmOther"]}}`, msg(member, ""), true},
		{"single chats: single", `{"chat_type":{"type_list":[1]}}`, msg(member, ""), true},
		{"single chats: group", `{"chat_type":{"type_list":[1]}}`, msg(member, "wr1"), false},
		{"group chats: group", `{"chat_type":{"type_list":[2]}}`, msg(member, "wr1"), true},
		{"group chats: single", `{"chat_type":{"type_list":[2]}}`, msg(member, ""), false},
		{"chat listed", `{"chat":{"id_list":["wr1"]}}`, msg(member, "wr1"), true},
		{"chat not listed", `{"chat":{"id_list":["wr1"]}}`, msg(member, "wr2"), false},
		{"chat list leaves single chats", `{"chat":{"id_list":["wr1"]}}`, msg(member, ""), true},
		{"chat list with group type", `{"chat":{"id_list":["wr1"]},"chat_type":{"type_list":[2]}}`, msg(member, ""), false},
		{"customer session: with customer", `{"session_type":{"session_type_list":[1]}}`, msg(member, "", customer), true},
		{"customer session: internal", `{"session_type":{"session_type_list":[1]}}`, msg(member, "", member2), false},
		{"internal session: internal", `{"session_type":{"session_type_list":[2]}}`, msg(member, "wr1", member2), true},
		{"internal session: customer sends", `{"session_type":{"session_type_list":[2]}}`, msg(customer, "", member), false},
		{"msg_scope all", `{"msg_scope":1}`, msg(customer, ""), true},
		{"msg_scope members: member", `{"msg_scope":2}`, msg(member, ""), true},
		{"msg_scope members: customer", `{"msg_scope":2}`, msg(customer, ""), false},
		{"msg_scope customers: customer", `{"msg_scope":3}`, msg(customer, ""), true},
		{"msg_scope customers: member", `{"msg_scope":3}`, msg(member, ""), false},
		{"msg_scope customers: bot", `{"msg_scope":3}`, msg(bot, ""), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := mustParse(t, kw+c.rng+`}`)
			if hit, _, _ := r.Match(c.msg); hit != c.hit {
				t.Fatalf("Match = %v, want %v", hit, c.hit)
			}
		})
	}
}

func TestDigitChains(t *testing.T) {
	got := digitChains("a 138 0013-8000 b 12  34 5x６")
	want := [][]group{{{digits: "138"}, {digits: "0013"}, {digits: "8000"}}, {{digits: "12"}}, {{digits: "34"}, {digits: "5", x: true}}, {{digits: "6"}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("digitChains = %v\nwant %v", got, want)
	}
}

func BenchmarkMatch(b *testing.B) {
	r, err := Parse([]byte(`{"name":"b","keyword":{"word_list":["退款","投诉","Refund","竞品","加我微信"]},
		"semantics":{"semantics_list":[1,2,3,7,8,10]},"applicable_range":{"exclude_keyword":["测试"]}}`), false)
	if err != nil {
		b.Fatal(err)
	}
	c := r.Compile()
	m := text(strings.Repeat("您好，关于订单的问题我们已经处理完毕，请问还有什么可以帮您？", 4) + " 电话 138 0013 8000")
	b.ReportAllocs()
	for b.Loop() {
		c.Match(m)
	}
}

func TestMatchConcurrent(t *testing.T) {
	r := mustParse(t, `{"name":"c","keyword":{"word_list":["退款"]},"semantics":{"semantics_list":[2]}}`)
	done := make(chan bool)
	for range 4 {
		go func() {
			h, _, _ := r.Match(text("退款 13800138000"))
			done <- h
		}()
	}
	for range 4 {
		if !<-done {
			t.Fatal("no hit")
		}
	}
}
