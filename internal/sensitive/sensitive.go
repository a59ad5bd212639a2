// Package sensitive finds and masks what WeCom's display component (会话展示
// 组件) hides when an app's sensitive-info configuration says so
// (set_hide_sensitiveinfo_config): mobile phone numbers, ID card numbers
// and bank card numbers — and, an OpenZone extension, email addresses.
//
// Chinese and international formats are found, each held to its checksum
// where it has one, so that order numbers, timestamps, amounts and other
// digits are left alone:
//
//   - phone: a mainland mobile number (1[3-9] and 9 digits, optionally
//     after +86 or 0086, in groups), or any international number written
//     with its leading + (E.164: 8 to 15 digits in groups);
//   - ID card: a mainland resident ID (18 characters: region, a real date
//     of birth, the ISO 7064 MOD 11-2 check character), a Hong Kong,
//     Taiwan or Singapore identity card number (each with its check
//     character);
//   - bank card: 13 to 19 digits, in groups or not, of a card network's
//     prefix (UnionPay, Visa, Mastercard, American Express, JCB, Discover,
//     Diners), passing the Luhn check;
//   - email: local@domain.tld with a letter top-level domain.
//
// A candidate must stand alone: no letter or digit right before or after
// it (a CJK character is no letter here: 电话13812345678 is a phone).
package sensitive

import (
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is what a match is.
type Kind uint8

// Kinds, as bits of a set.
const (
	Phone Kind = 1 << iota
	IDCard
	BankCard
	Email
)

// Match is one finding in a text: bytes [Start, End).
type Match struct {
	Start, End int
	Kind       Kind
}

// Find returns the sensitive strings of text, in order, without overlaps.
// What a string is does not depend on what is to be masked: an ID number
// is an ID number even where only bank cards are hidden.
func Find(text string) []Match {
	var out []Match
	for _, loc := range numberRE.FindAllStringIndex(text, -1) {
		start, end := loc[0], loc[1]
		if !standsAlone(text, start, end) {
			continue
		}
		if k := classifyNumber(text[start:end]); k != 0 {
			out = append(out, Match{start, end, k})
		}
	}
	for _, id := range alnumIDs {
		for _, loc := range id.re.FindAllStringIndex(text, -1) {
			if standsAlone(text, loc[0], loc[1]) && id.valid(strings.ToUpper(text[loc[0]:loc[1]])) {
				out = append(out, Match{loc[0], loc[1], IDCard})
			}
		}
	}
	for _, loc := range emailRE.FindAllStringIndex(text, -1) {
		if standsAloneEmail(text, loc[0], loc[1]) {
			out = append(out, Match{loc[0], loc[1], Email})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].Start < out[j].Start || out[i].Start == out[j].Start && out[i].End > out[j].End
	})
	// Drop a match that overlaps an earlier one (a passport-like run inside
	// an email's local part, say): the first found stands.
	kept := out[:0]
	for _, m := range out {
		if len(kept) > 0 && m.Start < kept[len(kept)-1].End {
			continue
		}
		kept = append(kept, m)
	}
	return kept
}

// Mask returns text with the matches of the kinds in hide masked: digits
// and letters replaced by '*', keeping enough to recognise the string by
// (a phone's last 4 digits and those before the 4 masked, a mainland ID's
// first 3 and last 4 characters and a shorter ID's 2 and 2, a card's first
// and last 4 digits, an email's first character and its domain), and the
// separators as they were.
func Mask(text string, hide Kind) string {
	if hide == 0 {
		return text
	}
	ms := Find(text)
	var b strings.Builder
	last := 0
	for _, m := range ms {
		if m.Kind&hide == 0 {
			continue
		}
		b.WriteString(text[last:m.Start])
		b.WriteString(mask(text[m.Start:m.End], m.Kind))
		last = m.End
	}
	if last == 0 {
		return text
	}
	b.WriteString(text[last:])
	return b.String()
}

// mask masks one match of kind k.
func mask(s string, k Kind) string {
	switch k {
	case Email:
		at := strings.LastIndexByte(s, '@')
		return s[:1] + strings.Repeat("*", max(at-1, 3)) + s[at:]
	case Phone:
		// Hide the 4 digits before the last 4: 138****5678, +86 138****5678.
		n := countAlnum(s)
		return maskAlnum(s, n-8, n-4)
	case BankCard:
		n := countAlnum(s)
		return maskAlnum(s, 4, n-4)
	default: // IDCard: a mainland number shows 3 and 4, a shorter one 2 and 2
		n := countAlnum(s)
		if n >= 15 {
			return maskAlnum(s, 3, n-4)
		}
		return maskAlnum(s, 2, n-2)
	}
}

func countAlnum(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isAlnum(s[i]) {
			n++
		}
	}
	return n
}

// maskAlnum replaces the letters and digits from the from-th to before the
// to-th (counting letters and digits only) with '*'.
func maskAlnum(s string, from, to int) string {
	b := []byte(s)
	n := 0
	for i := range b {
		if !isAlnum(b[i]) {
			continue
		}
		if n >= from && n < to {
			b[i] = '*'
		}
		n++
	}
	return string(b)
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// numberRE is a run of digits in groups (single spaces, hyphens, dots or
// parentheses between them), optionally after a '+', optionally ending in
// X (a mainland ID's check character).
var numberRE = regexp.MustCompile(`\+?\(?\d(?:[ \-.()]{0,2}\d)*(?:[xX])?`)

// standsAlone reports whether text[start:end] has no letter or digit (or
// '+', '.', '-' continuing a number) right before or after it.
func standsAlone(text string, start, end int) bool {
	if start > 0 {
		c := text[start-1]
		if isAlnum(c) || c == '+' || c == '_' || c == '.' && start > 1 && isDigit(text[start-2]) {
			return false
		}
	}
	if end < len(text) {
		c := text[end]
		if isAlnum(c) || c == '_' || (c == '.' || c == '-') && end+1 < len(text) && isDigit(text[end+1]) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// classifyNumber says what a run of digits is, 0 for nothing sensitive.
func classifyNumber(run string) Kind {
	plus := strings.HasPrefix(run, "+")
	var d []byte
	x := false
	for i := 0; i < len(run); i++ {
		switch c := run[i]; {
		case isDigit(c):
			d = append(d, c)
		case c == 'x' || c == 'X':
			x = true
		}
	}
	if bad := badSeparators(run); bad {
		return 0
	}
	if x {
		if !plus && len(d) == 17 && mainlandID(string(d)+"X") {
			return IDCard
		}
		return 0
	}
	digits := string(d)
	switch {
	case plus:
		if len(digits) >= 8 && len(digits) <= 15 && digits[0] != '0' {
			return Phone
		}
	case len(digits) == 18 && mainlandID(digits):
		return IDCard
	case len(digits) == 11 && mainlandMobile(digits):
		return Phone
	case len(digits) == 13 && strings.HasPrefix(digits, "86") && mainlandMobile(digits[2:]) && strings.Contains(run[:3], " "):
		return Phone // 86 138 1234 5678
	case len(digits) == 15 && strings.HasPrefix(digits, "0086") && mainlandMobile(digits[4:]):
		return Phone
	case len(digits) >= 13 && len(digits) <= 19 && cardPrefix(digits) && luhn(digits):
		return BankCard
	}
	return 0
}

// badSeparators refuses runs whose grouping no phone, ID or card number
// has: a dot (decimals, versions, IP addresses) other than in a
// "+1.415.555.2671" phone, or parentheses in anything but a phone.
func badSeparators(run string) bool {
	if strings.ContainsAny(run, "()") && !strings.HasPrefix(run, "+") {
		return true
	}
	if strings.Contains(run, ".") && !strings.HasPrefix(run, "+") {
		return true
	}
	return false
}

// mainlandMobile: 11 digits starting 13–19.
func mainlandMobile(d string) bool {
	return len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9'
}

// mainlandID checks an 18-character resident ID number (GB 11643-1999):
// a region code not starting with 0 or 9, a real date of birth from 1900
// to now, and the ISO 7064 MOD 11-2 check character.
func mainlandID(id string) bool {
	if len(id) != 18 || id[0] == '0' || id[0] == '9' {
		return false
	}
	birth, err := time.Parse("20060102", id[6:14])
	if err != nil || birth.Year() < 1900 || birth.After(time.Now()) {
		return false
	}
	weights := [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		if !isDigit(id[i]) {
			return false
		}
		sum += int(id[i]-'0') * w
	}
	return "10X98765432"[sum%11] == upper(id[17])
}

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// cardPrefix reports whether a card number of that length starts as the
// networks' do: UnionPay 62 (16–19), Visa 4 (13, 16, 19), Mastercard 51–55
// and 2221–2720 (16), American Express 34, 37 (15), JCB 3528–3589 (16–19),
// Discover 6011, 644–649, 65 (16–19), Diners 300–305, 36, 38 (14–19).
func cardPrefix(d string) bool {
	n := len(d)
	p2, p3, p4 := atoi(d[:2]), atoi(d[:3]), atoi(d[:4])
	switch {
	case p2 == 62:
		return n >= 16
	case d[0] == '4':
		return n == 13 || n == 16 || n == 19
	case p2 >= 51 && p2 <= 55, p4 >= 2221 && p4 <= 2720:
		return n == 16
	case p2 == 34 || p2 == 37:
		return n == 15
	case p4 >= 3528 && p4 <= 3589:
		return n >= 16
	case p4 == 6011, p3 >= 644 && p3 <= 649, p2 == 65:
		return n >= 16
	case p3 >= 300 && p3 <= 305, p2 == 36, p2 == 38:
		return n >= 14
	}
	return false
}

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// luhn checks the Luhn (mod 10) check digit.
func luhn(d string) bool {
	sum := 0
	for i := 0; i < len(d); i++ {
		v := int(d[len(d)-1-i] - '0')
		if i%2 == 1 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return sum%10 == 0
}

// alnumIDs are the identity card numbers that start with letters: Hong
// Kong (one or two letters, 6 digits, a check character, often in
// parentheses), Taiwan (a letter, 1 or 2, 8 digits), Singapore (S, T, F,
// G or M, 7 digits, a letter). Each is found on its own: one may start
// like another.
var alnumIDs = []struct {
	re    *regexp.Regexp
	valid func(upper string) bool
}{
	{regexp.MustCompile(`[A-Za-z]{1,2}\d{6}(?:\([0-9Aa]\)|[0-9Aa])`), func(u string) bool {
		return hongKongID(strings.NewReplacer("(", "", ")", "").Replace(u))
	}},
	{regexp.MustCompile(`[A-Za-z][12]\d{8}`), taiwanID},
	{regexp.MustCompile(`[STFGMstfgm]\d{7}[A-Za-z]`), singaporeID},
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return s != ""
}

// hongKongID: A123456(7) or AB123456(9): letters valued A=10…Z=35 (a
// missing second letter 36), weights 9…2, the check makes the sum a
// multiple of 11 (10 is A).
func hongKongID(u string) bool {
	letters := u[:len(u)-7]
	digits, check := u[len(letters):len(u)-1], u[len(u)-1]
	if len(letters) < 1 || len(letters) > 2 || !allDigits(digits) || len(digits) != 6 {
		return false
	}
	vals := []int{36}
	if len(letters) == 2 {
		vals = nil
	}
	for i := 0; i < len(letters); i++ {
		if !isLetter(letters[i]) {
			return false
		}
		vals = append(vals, int(letters[i]-'A')+10)
	}
	for i := 0; i < len(digits); i++ {
		vals = append(vals, int(digits[i]-'0'))
	}
	sum := 0
	for i, v := range vals {
		sum += v * (9 - i)
	}
	c := (11 - sum%11) % 11
	want := byte('0' + c)
	if c == 10 {
		want = 'A'
	}
	return check == want
}

// taiwanID: a letter (its two-digit code), 1 or 2, 8 digits; weights 1, 9,
// 8 … 1, 1 over the 11 digits; the sum is a multiple of 10.
func taiwanID(u string) bool {
	codes := "ABCDEFGHJKLMNPQRSTUVXYWZIO" // 10, 11, … in this order
	i := strings.IndexByte(codes, u[0])
	if i < 0 {
		return false
	}
	code := 10 + i
	sum := code/10 + (code%10)*9
	for j := 1; j <= 8; j++ {
		sum += int(u[j]-'0') * (9 - j)
	}
	sum += int(u[9] - '0')
	return sum%10 == 0
}

// singaporeID: S/T (citizens) or F/G/M (foreigners), 7 digits, a check
// letter from weights 2, 7, 6, 5, 4, 3, 2 (T and G add 4, M adds 3).
func singaporeID(u string) bool {
	weights := [7]int{2, 7, 6, 5, 4, 3, 2}
	sum := 0
	for i, w := range weights {
		sum += int(u[1+i]-'0') * w
	}
	switch u[0] {
	case 'T', 'G':
		sum += 4
	case 'M':
		sum += 3
	}
	var table string
	switch u[0] {
	case 'S', 'T':
		table = "JZIHGFEDCBA"
	case 'F', 'G':
		table = "XWUTRQPNMLK"
	default: // M
		table = "XWUTRQPNJLK"
	}
	return table[sum%11] == u[8]
}

// emailRE is an address with a letter top-level domain.
var emailRE = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._%+\-]*@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,24}`)

// standsAloneEmail: no address character right before, no letter or digit
// right after.
func standsAloneEmail(text string, start, end int) bool {
	if start > 0 {
		r, _ := utf8.DecodeLastRuneInString(text[:start])
		if r < utf8.RuneSelf && (isAlnum(byte(r)) || strings.ContainsRune("._%+-@", r)) {
			return false
		}
	}
	if end < len(text) && (isAlnum(text[end]) || text[end] == '@') {
		return false
	}
	return true
}
