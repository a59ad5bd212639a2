package keyword

import (
	"slices"
	"strings"

	"github.com/openzone/openzone"
)

// Msg is what matching needs of an archived message.
type Msg struct {
	MsgType int
	// Text is the content of a text message, or the transcript of a voice
	// message (msgtype 6 or 21) when the rule lists its msgtype in
	// voice_match_msgtype; other messages need none.
	Text      string
	Sender    openzone.Party
	Receivers []openzone.Party
	ChatID    string // "" for a single chat (单聊)
	// SenderDepartments are the departments of a member sender; needed only
	// by rules with applicable_range.department.
	SenderDepartments []int64
	// Detected lists semantics established outside this package (e.g. 5 an
	// image holding a QR code, 6 a recalled message, 12 a welcome message);
	// they count when the rule watches them.
	Detected []int
}

// Matcher is a compiled rule: words lower-cased once, lists turned into
// sets. It is immutable and safe for concurrent use.
type Matcher struct {
	words         []string            // lower-cased unless caseSensitive
	exact         map[string]struct{} // words, for match_rule 1
	matchExact    bool
	caseSensitive bool
	trim          bool
	exclude       []string // exclude_keyword, cased as words

	sem      [semMax + 1]bool
	semOrder []int // the watched semantics, ascending

	targets         uint8 // bits 1<<TargetMember, 1<<TargetExternal; 0: any
	restrictMembers bool
	users           map[string]struct{}
	depts           map[int64]struct{}
	externals       map[string]struct{} // nil: any
	chatTypes       uint8               // bits 1<<ChatSingle, 1<<ChatGroup; 0: any
	chats           map[string]struct{} // nil: any group
	sessions        uint8               // bits 1<<SessionCustomer, 1<<SessionInternal; 0: any
	scope           int
	voice, voiceArc bool // voice_match_msgtype 6, 21

	exMobile, exEmail, exCard map[string]struct{}
}

func set(vs []string, f func(string) string) map[string]struct{} {
	m := make(map[string]struct{}, len(vs))
	for _, v := range vs {
		if f != nil {
			v = f(v)
		}
		m[v] = struct{}{}
	}
	return m
}

// Compile prepares r for matching. r must not change afterwards.
func (r *Rule) Compile() *Matcher {
	c := &Matcher{}
	if r == nil {
		return c
	}
	if k := r.Keyword; k != nil && len(k.WordList) > 0 {
		c.caseSensitive = bool(k.IsCaseSensitive)
		c.matchExact = k.MatchRule == MatchExact
		c.trim = c.matchExact && bool(k.IsTrimMsg)
		for _, w := range k.WordList {
			if w == "" {
				continue
			}
			if !c.caseSensitive {
				w = strings.ToLower(w)
			}
			if !slices.Contains(c.words, w) {
				c.words = append(c.words, w)
			}
		}
		if c.matchExact {
			c.exact = set(c.words, nil)
		}
	}
	if s := r.Semantics; s != nil {
		for _, v := range s.SemanticsList {
			if v >= 1 && v <= semMax && !c.sem[v] {
				c.sem[v] = true
				c.semOrder = append(c.semOrder, v)
			}
		}
		slices.Sort(c.semOrder)
	}
	g := r.ApplicableRange
	if g == nil {
		return c
	}
	if g.ExcludeKeyword != nil {
		for _, w := range g.ExcludeKeyword.Words {
			if w == "" {
				continue
			}
			if !c.caseSensitive {
				w = strings.ToLower(w)
			}
			c.exclude = append(c.exclude, w)
		}
	}
	bits := func(vs []int) (b uint8) {
		for _, v := range vs {
			if v >= 0 && v < 8 {
				b |= 1 << v
			}
		}
		return b
	}
	if g.TargetType != nil {
		c.targets = bits(g.TargetType.TypeList)
	}
	if g.ChatType != nil {
		c.chatTypes = bits(g.ChatType.TypeList)
	}
	if g.SessionType != nil {
		c.sessions = bits(g.SessionType.SessionTypeList)
	}
	if g.User != nil && len(g.User.IDList) > 0 {
		c.restrictMembers = true
		c.users = set(g.User.IDList, nil)
	}
	if g.Department != nil && len(g.Department.IDList) > 0 {
		c.restrictMembers = true
		c.depts = make(map[int64]struct{}, len(g.Department.IDList))
		for _, d := range g.Department.IDList {
			c.depts[d] = struct{}{}
		}
	}
	if g.ExternalContact != nil && len(g.ExternalContact.IDList) > 0 {
		c.externals = set(g.ExternalContact.IDList, nil)
	}
	if g.Chat != nil && len(g.Chat.IDList) > 0 {
		c.chats = set(g.Chat.IDList, nil)
	}
	c.scope = g.MsgScope
	for _, t := range g.VoiceMatchMsgtype {
		c.voice = c.voice || t == MsgTypeVoice
		c.voiceArc = c.voiceArc || t == MsgTypeAudioArch
	}
	if g.ExcludeMobile != nil {
		c.exMobile = set(g.ExcludeMobile.MobileList, normMobile)
	}
	if g.ExcludeEmail != nil {
		c.exEmail = set(g.ExcludeEmail.EmailList, strings.ToLower)
	}
	if g.ExcludeBankCard != nil {
		c.exCard = set(g.ExcludeBankCard.BankCardList, normCard)
	}
	return c
}

// Match reports whether m hits the rule, whether it hit a keyword, and the
// watched semantics it hit (ascending): the has_hit_keyword and
// semantics_list of get_hit_msg_list. It compiles the rule on first use and
// keeps the Matcher, so r must not change once matched.
func (r *Rule) Match(m *Msg) (hit bool, hasHitKeyword bool, semantics []int) {
	if r == nil {
		return false, false, nil
	}
	c := r.matcher.Load()
	if c == nil {
		c = r.Compile()
		r.matcher.Store(c)
	}
	return c.Match(m)
}

// Match is Rule.Match for the compiled rule.
func (c *Matcher) Match(m *Msg) (hit bool, hasHitKeyword bool, semantics []int) {
	if c == nil || m == nil || !c.inRange(m) {
		return false, false, nil
	}
	textual := m.MsgType == MsgTypeText || m.MsgType == MsgTypeVoice && c.voice || m.MsgType == MsgTypeAudioArch && c.voiceArc
	text := m.Text
	if textual && !c.caseSensitive && (len(c.words) > 0 || len(c.exclude) > 0) {
		text = strings.ToLower(text)
	}
	if textual {
		for _, w := range c.exclude {
			if strings.Contains(text, w) {
				return false, false, nil
			}
		}
		if c.matchExact {
			t := text
			if c.trim {
				t = strings.Trim(t, " \t\r\n")
			}
			_, hasHitKeyword = c.exact[t]
		} else {
			for _, w := range c.words {
				if strings.Contains(text, w) {
					hasHitKeyword = true
					break
				}
			}
		}
	}
	if len(c.semOrder) > 0 {
		var found [semMax + 1]bool
		for _, d := range m.Detected {
			if d >= 1 && d <= semMax {
				found[d] = true
			}
		}
		switch m.MsgType {
		case MsgTypeRedPacket:
			found[SemRedPacket] = true
		case MsgTypeCard:
			found[SemWeChatCard] = true
		case MsgTypeFile:
			found[SemFile] = true
		case MsgTypeLink:
			found[SemLink] = true
		case MsgTypeMiniProgram:
			found[SemMiniProgram] = true
		}
		if textual {
			c.detectText(m.Text, &found)
		}
		for _, v := range c.semOrder {
			if found[v] {
				semantics = append(semantics, v)
			}
		}
	}
	return hasHitKeyword || len(semantics) > 0, hasHitKeyword, semantics
}

// detectText sets found for the text semantics the rule watches.
func (c *Matcher) detectText(text string, found *[semMax + 1]bool) {
	wantMobile := c.sem[SemMobile] && !found[SemMobile]
	wantCard := c.sem[SemBankCard] && !found[SemBankCard]
	wantID := c.sem[SemIDCard] && !found[SemIDCard]
	if wantMobile || wantCard || wantID {
		n := scanNumbers(text, wantMobile, wantCard, wantID)
		for _, m := range n.mobiles {
			if _, ok := c.exMobile[m]; !ok {
				found[SemMobile] = true
				break
			}
		}
		for _, d := range n.cards {
			if _, ok := c.exCard[d]; !ok {
				found[SemBankCard] = true
				break
			}
		}
		found[SemIDCard] = found[SemIDCard] || n.id
	}
	if c.sem[SemEmail] && !found[SemEmail] {
		for _, e := range emails(text) {
			if _, ok := c.exEmail[e]; !ok {
				found[SemEmail] = true
				break
			}
		}
	}
	if c.sem[SemLink] && !found[SemLink] && hasLink(text) {
		found[SemLink] = true
	}
}

// inRange reports whether m lies in the rule's applicable range.
func (c *Matcher) inRange(m *Msg) bool {
	s := m.Sender
	switch s.Type {
	case openzone.PartyMember:
		if c.targets != 0 && c.targets&(1<<TargetMember) == 0 || c.scope == ScopeExternal {
			return false
		}
		if c.restrictMembers {
			_, ok := c.users[s.ID]
			for _, d := range m.SenderDepartments {
				if ok {
					break
				}
				_, ok = c.depts[d]
			}
			if !ok {
				return false
			}
		}
	case openzone.PartyExternal:
		if c.targets != 0 && c.targets&(1<<TargetExternal) == 0 || c.scope == ScopeMembers {
			return false
		}
		if c.externals != nil {
			if _, ok := c.externals[s.ID]; !ok {
				return false
			}
		}
	default: // bots and unknown senders are neither 员工 nor 客户
		if c.targets != 0 || c.scope == ScopeMembers || c.scope == ScopeExternal {
			return false
		}
	}
	group := m.ChatID != ""
	if c.chatTypes != 0 {
		t := ChatSingle
		if group {
			t = ChatGroup
		}
		if c.chatTypes&(1<<t) == 0 {
			return false
		}
	}
	if group && c.chats != nil {
		if _, ok := c.chats[m.ChatID]; !ok {
			return false
		}
	}
	if c.sessions != 0 {
		t := SessionInternal
		if s.Type == openzone.PartyExternal || slices.ContainsFunc(m.Receivers, func(p openzone.Party) bool { return p.Type == openzone.PartyExternal }) {
			t = SessionCustomer
		}
		if c.sessions&(1<<t) == 0 {
			return false
		}
	}
	return true
}
