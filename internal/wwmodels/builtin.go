package wwmodels

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Builtin is the zone's own backend: small deterministic analysers, no
// network, the same answer for the same request. Lexicons are in
// lexicon.go; how well they do is in BENCHMARKS.md.
type Builtin struct{}

// Name implements Backend.
func (Builtin) Name() string { return "builtin" }

// Answer implements Backend.
func (Builtin) Answer(_ context.Context, req *Request) (*Result, error) {
	switch req.Kind {
	case Sentiment:
		out := &Result{Labels: []Label{}}
		for _, m := range req.Messages {
			out.Labels = append(out.Labels, Label{MsgID: m.MsgID, Value: SentimentOf(m.Text)})
		}
		out.Think = fmt.Sprintf("builtin lexicon sentiment of %d messages", len(req.Messages))
		return out, nil
	case Spam:
		out := &Result{Labels: []Label{}}
		for _, m := range req.Messages {
			out.Labels = append(out.Labels, Label{MsgID: m.MsgID, Value: SpamOf(m.Text)})
		}
		return out, nil
	case Summary:
		return &Result{Text: summarize(req.Messages, 3), Think: "builtin extractive summary: the most informative messages, in order"}, nil
	case Recommend:
		return &Result{Text: recommend(req.Messages, req.Knowledge), Think: "builtin: the knowledge-set answer closest to the customer's last message"}, nil
	case CustomerTg:
		out := &Result{Tags: []TagHit{}}
		for _, g := range req.TagGroups {
			for _, t := range g.Tags {
				if tagMatches(t.TagName, t.Synonyms, req.Messages) {
					out.Tags = append(out.Tags, TagHit{GroupID: g.GroupID, TagID: t.TagID})
				}
			}
		}
		return out, nil
	}
	// The general model: no language model here, so a deterministic
	// digest of what the prompt was given — the chat's key lines and the
	// knowledge closest to it — in the shape a model's answer takes.
	var b strings.Builder
	if s := summarize(req.Messages, 3); s != "" {
		b.WriteString(s)
	}
	if r := recommend(req.Messages, req.Knowledge); r != "" {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(r)
	}
	if b.Len() == 0 {
		b.WriteString(firstRunes(req.Prompt, 200))
	}
	return &Result{Text: b.String(), Think: fmt.Sprintf("builtin backend (no language model): a digest of %d messages and %d knowledge fragments; prompt of %d characters",
		len(req.Messages), len(req.Knowledge), utf8.RuneCountInString(req.Prompt))}, nil
}

// words splits English text into lower-case words (apostrophes kept) and
// returns it as " w1 w2 … " so phrases match on word boundaries.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '\'' || r == '’')
	})
}

func normalizeApostrophes(ws []string) {
	for i, w := range ws {
		ws[i] = strings.ReplaceAll(w, "’", "'")
	}
}

// SentimentOf is the builtin sentiment of a text: 0 none, 1 positive, 2
// negative (WeCom's sentiment_result).
func SentimentOf(text string) int {
	score := sentimentScoreZH(text) + sentimentScoreEN(text)
	switch {
	case score > 0:
		return 1
	case score < 0:
		return 2
	}
	return 0
}

var maxZHLen = func() int {
	n := 0
	for w := range sentimentZH {
		n = max(n, utf8.RuneCountInString(w))
	}
	return n
}()

// sentimentScoreZH scans the text's runes longest match first; a negator
// flips the next sentiment word within three characters.
func sentimentScoreZH(text string) int {
	rs := []rune(text)
	score, negateUntil := 0, -1
	for i := 0; i < len(rs); {
		matched := false
		for l := min(maxZHLen, len(rs)-i); l >= 1; l-- {
			w := string(rs[i : i+l])
			if v, ok := sentimentZH[w]; ok {
				if i <= negateUntil {
					v = -v
					negateUntil = -1
				}
				score += v
				i += l
				matched = true
				break
			}
			if isNegatorZH(w) {
				negateUntil = i + l + 2
				i += l
				matched = true
				break
			}
		}
		if !matched {
			i++
		}
	}
	return score
}

func isNegatorZH(w string) bool {
	for _, n := range negatorsZH {
		if w == n {
			return true
		}
	}
	return false
}

// sentimentScoreEN matches phrases of up to three words, longest first; a
// negator flips the next sentiment word within three words.
func sentimentScoreEN(text string) int {
	ws := words(text)
	normalizeApostrophes(ws)
	score, negateUntil := 0, -1
	for i := 0; i < len(ws); {
		matched := false
		for l := min(3, len(ws)-i); l >= 1; l-- {
			p := strings.Join(ws[i:i+l], " ")
			if v, ok := sentimentEN[p]; ok {
				if i <= negateUntil {
					v = -v
					negateUntil = -1
				}
				score += v
				i += l
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		if negatorsEN[ws[i]] || strings.HasSuffix(ws[i], "n't") {
			negateUntil = i + 3
		}
		i++
	}
	return score
}

// SpamOf is the builtin spam verdict of a text: 0 ok, 1 political, 2
// porn (WeCom's spam_result). A kind needs cues weighing at least 2.
func SpamOf(text string) int {
	var sum [3]int
	lower := strings.ToLower(text)
	for w, c := range spamZH {
		if strings.Contains(lower, w) {
			sum[c.kind] += c.weight
		}
	}
	joined := " " + strings.Join(words(text), " ") + " "
	for w, c := range spamEN {
		if strings.Contains(joined, " "+w+" ") {
			sum[c.kind] += c.weight
		}
	}
	switch {
	case sum[2] >= 2 && sum[2] >= sum[1]:
		return 2
	case sum[1] >= 2:
		return 1
	}
	return 0
}

// containsCue reports whether text holds cue: Chinese by substring not
// right after a negator, English on word boundaries.
func containsCue(text, joined, cue string) bool {
	if isASCII(cue) {
		return strings.Contains(joined, " "+strings.ToLower(cue)+" ")
	}
	for off := 0; ; {
		i := strings.Index(text[off:], cue)
		if i < 0 {
			return false
		}
		at := off + i
		before := []rune(text[:at])
		negated := false
		for k := len(before) - 1; k >= 0 && k >= len(before)-2; k-- {
			if strings.ContainsRune("不没别无未", before[k]) {
				negated = true
			}
		}
		if !negated || strings.HasPrefix(cue, "不") {
			return true
		}
		off = at + len(cue)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// tagMatches: a tag matches messages holding a part of its name (parts
// split at spaces and punctuation, at least two characters), one of its
// synonyms, or a cue of a concept its name triggers.
func tagMatches(name string, synonyms []string, msgs []Message) bool {
	cues := append([]string{}, synonyms...)
	for _, part := range strings.FieldsFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) {
		if utf8.RuneCountInString(part) >= 2 {
			cues = append(cues, part)
		}
	}
	lname := strings.ToLower(name)
	sentiment := 0
	for _, c := range concepts {
		for _, t := range c.triggers {
			if strings.Contains(lname, t) {
				cues = append(cues, c.cues...)
				if c.sentiment != 0 {
					sentiment = c.sentiment
				}
				break
			}
		}
	}
	for _, m := range msgs {
		joined := " " + strings.Join(words(m.Text), " ") + " "
		for _, c := range cues {
			if containsCue(m.Text, joined, c) {
				return true
			}
		}
		if sentiment != 0 && SentimentOf(m.Text) == sentiment {
			return true
		}
	}
	return false
}

// terms are a text's content terms: Chinese character bigrams and English
// words of three letters or more.
func terms(s string) []string {
	var out []string
	var prev rune
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			if prev != 0 {
				out = append(out, string([]rune{prev, r}))
			}
			prev = r
		} else {
			prev = 0
		}
	}
	for _, w := range words(s) {
		if len(w) >= 3 {
			out = append(out, w)
		}
	}
	return out
}

// summarize picks up to n messages whose terms recur most in the chat
// (ties: longer, then earlier) and writes them in chat order as
// "<who>：<text>".
func summarize(msgs []Message, n int) string {
	if len(msgs) == 0 {
		return ""
	}
	freq := map[string]int{}
	for _, m := range msgs {
		for _, t := range terms(m.Text) {
			freq[t]++
		}
	}
	type scored struct {
		i     int
		score float64
	}
	var ss []scored
	for i, m := range msgs {
		ts := terms(m.Text)
		s := 0.0
		for _, t := range ts {
			s += float64(freq[t])
		}
		if len(ts) > 0 {
			s = s/float64(len(ts)) + float64(min(len(ts), 20))/10
		}
		ss = append(ss, scored{i, s})
	}
	sort.SliceStable(ss, func(a, b int) bool { return ss[a].score > ss[b].score })
	if len(ss) > n {
		ss = ss[:n]
	}
	sort.Slice(ss, func(a, b int) bool { return ss[a].i < ss[b].i })
	var b strings.Builder
	for k, s := range ss {
		if k > 0 {
			b.WriteByte('\n')
		}
		m := msgs[s.i]
		b.WriteString(m.Who + "：" + firstRunes(m.Text, 120))
	}
	return b.String()
}

func firstRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// recommend answers the customer's last message (the last message if no
// customer spoke) from the knowledge fragments: the fragment sharing the
// most terms with it, its answer when it is a Q&A pair ("问题：…，回答：…").
func recommend(msgs []Message, knowledge []string) string {
	if len(msgs) == 0 || len(knowledge) == 0 {
		return ""
	}
	q := msgs[len(msgs)-1].Text
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == RoleCustomer {
			q = msgs[i].Text
			break
		}
	}
	want := map[string]bool{}
	for _, t := range terms(q) {
		want[t] = true
	}
	best, bestScore := -1, 0
	for i, f := range knowledge {
		question, _ := splitQA(f)
		s := 0
		for _, t := range terms(question) {
			if want[t] {
				s++
			}
		}
		if s > bestScore {
			best, bestScore = i, s
		}
	}
	if best < 0 {
		return ""
	}
	_, answer := splitQA(knowledge[best])
	return answer
}

// splitQA splits a Q&A fragment into question and answer; any other
// fragment is its own question and answer.
func splitQA(f string) (question, answer string) {
	rest, ok := strings.CutPrefix(f, "问题：")
	if !ok {
		return f, f
	}
	if q, a, ok := strings.Cut(rest, "，回答："); ok {
		return q, a
	}
	return rest, rest
}

// Roles of a message's sender as the general model's {chat} writes them.
const (
	RoleStaff    = "员工"
	RoleCustomer = "客户"
	RoleBot      = "机器人"
)
