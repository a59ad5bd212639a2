package keyword

import (
	"regexp"
	"strings"
	"time"
)

// Text detectors of the semantics 手机号码 (2), 邮箱地址 (3), 银行卡号 (7),
// 身份证号 (8) and 发送链接 (10). They scan once, in linear time, and never
// use backtracking regular expressions.

// group is a maximal run of digits (ASCII or full-width) of a text; x is set
// when an X or x follows it directly (the check character of a 身份证号).
type group struct {
	digits string
	x      bool
}

func digitOf(r rune) (byte, bool) {
	switch {
	case r >= '0' && r <= '9':
		return byte(r), true
	case r >= '０' && r <= '９':
		return byte('0' + (r - '０')), true
	}
	return 0, false
}

// digitChains splits text into chains of digit groups. Two groups belong to
// one chain when a single space or hyphen separates them, as in
// "138 0013 8000" or "6222-0212-3456-7890".
func digitChains(text string) [][]group {
	var (
		chains [][]group
		chain  []group
		cur    []byte
		sep    bool // a separator follows the last group of chain
	)
	flush := func() {
		if len(chain) > 0 {
			chains = append(chains, chain)
			chain = nil
		}
	}
	for _, r := range text {
		if d, ok := digitOf(r); ok {
			if len(cur) == 0 && !sep {
				flush()
			}
			cur = append(cur, d)
			sep = false
			continue
		}
		if len(cur) > 0 {
			g := group{digits: string(cur), x: r == 'X' || r == 'x'}
			chain = append(chain, g)
			cur = cur[:0]
			if !g.x && (r == ' ' || r == '-') {
				sep = true
				continue
			}
		}
		sep = false
		flush()
	}
	if len(cur) > 0 {
		chain = append(chain, group{digits: string(cur)})
	}
	flush()
	return chains
}

// mobileOf returns the 11-digit mainland mobile number d is, "" if none:
// 1[3-9] and 9 more digits, optionally prefixed by the country code 86.
func mobileOf(d string) string {
	if len(d) == 13 && d[:2] == "86" {
		d = d[2:]
	}
	if len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9' && allDigits(d) {
		return d
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// luhn reports whether the digits d pass the Luhn check.
func luhn(d string) bool {
	sum, double := 0, false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

func isCard(d string) bool {
	return len(d) >= 13 && len(d) <= 19 && luhn(d) && !isIDNumber(d) && mobileOf(d) == ""
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheck = "10X98765432"

// isIDNumber reports whether s is an 18-character resident identity number
// (GB 11643-1999): province code, a real birth date and the MOD 11-2 check
// character (0–9 or X).
func isIDNumber(s string) bool {
	if len(s) != 18 || !allDigits(s[:17]) || s[0] < '1' || s[0] > '8' {
		return false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(s[i]-'0') * idWeights[i]
	}
	c := s[17]
	if c == 'x' {
		c = 'X'
	}
	if c != idCheck[sum%11] {
		return false
	}
	y := atoi(s[6:10])
	m := atoi(s[10:12])
	d := atoi(s[12:14])
	if y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1 {
		return false
	}
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC).Day() == d
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// numbers is what scanNumbers found.
type numbers struct {
	mobiles []string // 11 digits each
	cards   []string // digits
	id      bool
}

// scanNumbers finds mobile numbers, bank card numbers and identity numbers
// in text; the want flags skip the work not needed.
func scanNumbers(text string, wantMobile, wantCard, wantID bool) numbers {
	var n numbers
	if !hasDigit(text) {
		return n
	}
	for _, ch := range digitChains(text) {
		for _, g := range ch {
			if wantMobile && !g.x {
				if m := mobileOf(g.digits); m != "" {
					n.mobiles = append(n.mobiles, m)
				}
			}
			full := g.digits
			if g.x {
				full += "X"
			}
			isID := (wantID || wantCard) && isIDNumber(full)
			if isID && wantID {
				n.id = true
			}
			if wantCard && !g.x && !isID && isCard(g.digits) {
				n.cards = append(n.cards, g.digits)
			}
		}
		if len(ch) < 2 {
			continue
		}
		if wantMobile { // 3-4-4, e.g. "138 0013 8000"
			for i := 0; i+2 < len(ch); i++ {
				if len(ch[i].digits) == 3 && len(ch[i+1].digits) == 4 && len(ch[i+2].digits) == 4 && !ch[i+2].x {
					if m := mobileOf(ch[i].digits + ch[i+1].digits + ch[i+2].digits); m != "" {
						n.mobiles = append(n.mobiles, m)
					}
				}
			}
		}
		if wantCard { // groups of 4 and a last group of 1–4, e.g. "6222 0212 3456 7890 128"
			for i := 0; i < len(ch); i++ {
				if len(ch[i].digits) != 4 {
					continue
				}
				s := ch[i].digits
				for j := i + 1; j < len(ch) && !ch[j].x && len(s)+len(ch[j].digits) <= 19; j++ {
					s += ch[j].digits
					if len(s) >= 13 && isCard(s) {
						n.cards = append(n.cards, s)
					}
					if len(ch[j].digits) != 4 {
						break
					}
				}
			}
		}
	}
	return n
}

func hasDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' || c == 0xEF { // 0xEF starts the full-width digits ０–９
			return true
		}
	}
	return false
}

var (
	emailInText = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
	emailWhole  = regexp.MustCompile(`^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$`)
)

// emails returns the e-mail addresses in text, lower-cased.
func emails(text string) []string {
	if strings.IndexByte(text, '@') < 0 {
		return nil
	}
	found := emailInText.FindAllString(text, -1)
	for i, e := range found {
		found[i] = strings.ToLower(e)
	}
	return found
}

func isEmail(s string) bool { return len(s) <= 254 && emailWhole.MatchString(s) }

// hasLink reports whether text holds a link: http:// or https:// followed by
// something, or www. followed by a letter or digit (ASCII case ignored).
func hasLink(text string) bool {
	for i := 0; i < len(text); i++ {
		switch text[i] | 0x20 {
		case 'h':
			for _, p := range [...]string{"http://", "https://"} {
				if hasPrefixFold(text[i:], p) && i+len(p) < len(text) && !isSpace(text[i+len(p)]) {
					return true
				}
			}
		case 'w':
			if hasPrefixFold(text[i:], "www.") && i+4 < len(text) && isAlnum(text[i+4]) {
				return true
			}
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// normMobile returns the 11 digits of a white-listed mobile number ("138
// 0013 8000", "+86-13800138000", …), "" if s is not one.
func normMobile(s string) string {
	d := strings.TrimPrefix(strip(s), "+")
	return mobileOf(d)
}

// normCard returns the digits of a white-listed bank card number (13–19
// digits, spaces and hyphens allowed), "" if s is not one.
func normCard(s string) string {
	d := strip(s)
	if len(d) < 13 || len(d) > 19 || !allDigits(d) {
		return ""
	}
	return d
}

// strip removes spaces and hyphens and turns full-width digits into ASCII.
func strip(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == ' ' || r == '-' {
			continue
		}
		if d, ok := digitOf(r); ok {
			b.WriteByte(d)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
