package sensitive

import (
	"testing"
	"unicode/utf8"
)

const all = Phone | IDCard | BankCard | Email

func TestMask(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		hide       Kind
		want       string
	}{
		// Phones: mainland mobiles, in groups, with the country code; any
		// international number written with its +.
		{"mobile", "我的手机13812345678请回电", Phone, "我的手机138****5678请回电"},
		{"mobile in groups", "call 138 1234 5678.", Phone, "call 138 **** 5678."},
		{"mobile with hyphens", "138-1234-5678", Phone, "138-****-5678"},
		{"mobile +86", "+86 138 1234 5678", Phone, "+86 138 **** 5678"},
		{"mobile 0086", "0086 13812345678", Phone, "0086 138****5678"},
		{"mobile 86 and a space", "86 13812345678", Phone, "86 138****5678"},
		{"US", "Call +1 (415) 555-2671 now", Phone, "Call +1 (41*) ***-2671 now"},
		{"UK", "+44 20 7946 0958", Phone, "+44 20 **** 0958"},
		{"HK", "+852 9123 4567", Phone, "+852 **** 4567"},
		{"dots", "+1.415.555.2671", Phone, "+1.41*.***.2671"},
		// ID cards: mainland (check character, X too), Hong Kong, Taiwan,
		// Singapore.
		{"mainland ID", "身份证110101199003074573。", IDCard, "身份证110***********4573。"},
		{"mainland ID X", "id 31011519700101002X", IDCard, "id 310***********002X"},
		{"mainland ID x", "31011519700101002x", IDCard, "310***********002x"},
		{"HK ID", "HKID A123456(3)", IDCard, "HKID A1****6(3)"},
		{"HK ID bare", "Z683138A", IDCard, "Z6****8A"},
		{"HK ID two letters", "AB9876543", IDCard, "AB*****43"},
		{"TW ID", "身分證字號A123456789", IDCard, "身分證字號A1******89"},
		{"SG NRIC", "NRIC S1234567D ok", IDCard, "NRIC S1*****7D ok"},
		// Bank cards: a network's prefix and the Luhn check.
		{"UnionPay 19", "卡号6222020200012345670", BankCard, "卡号6222***********5670"},
		{"UnionPay 16 in groups", "6214 8300 0000 0009", BankCard, "6214 **** **** 0009"},
		{"Visa", "4111-1111-1111-1111", BankCard, "4111-****-****-1111"},
		{"Mastercard", "5555555555554444", BankCard, "5555********4444"},
		{"Amex", "3782 822463 10005", BankCard, "3782 ****** *0005"},
		{"JCB", "3530111333300000", BankCard, "3530********0000"},
		{"Diners", "30569309025904", BankCard, "3056******5904"},
		// Emails.
		{"email", "mail zhang.san+zone@example.com.cn!", Email, "mail z*************@example.com.cn!"},
		{"short email", "a@b.io", Email, "a***@b.io"},
		{"email in Chinese", "邮箱lisi@corp.example，谢谢", Email, "邮箱l***@corp.example，谢谢"},
		// Only what is hidden is masked; each is what it is.
		{"ID not masked as a card", "110101199003074573", BankCard, "110101199003074573"},
		{"several", "13812345678 / 4111111111111111 / a@b.io", Phone | Email, "138****5678 / 4111111111111111 / a***@b.io"},
		{"nothing hidden", "13812345678", 0, "13812345678"},
	} {
		if got := Mask(tt.text, tt.hide); got != tt.want {
			t.Errorf("%s: Mask(%q) = %q, want %q", tt.name, tt.text, got, tt.want)
		}
	}
}

// TestNoFalsePositives: what looks like a number in a chat but is none of
// them stays as it is, with everything hidden.
func TestNoFalsePositives(t *testing.T) {
	for _, text := range []string{
		"订单号 202601011234567",                  // 15 digits: no card prefix
		"订单20260101123456789012",               // 20 digits
		"时间戳 1767225600123",                    // 13-digit millisecond timestamp
		"1767225600",                           // unix seconds
		"金额 ¥1,380,000.00 元",                   // an amount
		"price 13812345678.00",                 // a mobile-shaped integer part of a decimal
		"v13812345678",                         // glued to a letter
		"138123456789",                         // 12 digits
		"1381234567",                           // 10 digits
		"12812345678",                          // 11 digits, not 13–19
		"ip 138.123.45.67 and 10.0.0.1",        // IP addresses
		"version 1.38.1234.5678",               // a version
		"110101199003074574",                   // a mainland ID with a wrong check digit
		"110101199013074573",                   // month 13
		"4111111111111112",                     // Visa prefix, fails Luhn
		"1234567812345670",                     // passes Luhn, no network prefix
		"A123456(4)",                           // HK check character wrong
		"A123456780",                           // TW checksum wrong
		"S1234567A",                            // SG check letter wrong
		"ABC1234567",                           // a product code
		"@张三 你好",                               // a mention
		"user@localhost",                       // no top-level domain
		"git@1.2.3",                            // numeric "domain"
		"日期 2026-01-01 13:81",                  // a date
		"+0 123 456 789",                       // a + number starting with 0
		"+1 23",                                // too short for a phone
		"发票 No.4111111111111111X",              // glued X: neither card nor ID
		"https://example.com/p/13812345678abc", // inside a word
		"id_13812345678",                       // after an underscore
		"13812345678_tmp",                      // before an underscore
		"(13812345678)",                        // parentheses around a mainland number
		"2026-13812345678",                     // continuing a number with a hyphen
	} {
		if ms := Find(text); len(ms) != 0 {
			t.Errorf("Find(%q) = %+v, want nothing", text, ms)
		}
		if got := Mask(text, all); got != text {
			t.Errorf("Mask(%q) = %q, want it unchanged", text, got)
		}
	}
}

func TestChecksums(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"110101199003074573", true}, {"440304198512121237", true}, {"31011519700101002X", true},
		{"110101199003074572", false}, {"010101199003074573", false}, {"11010118990307457X", false},
	} {
		if got := mainlandID(tt.name); got != tt.ok {
			t.Errorf("mainlandID(%s) = %v", tt.name, got)
		}
	}
	for _, d := range []string{"4111111111111111", "6222020200012345670", "378282246310005", "6011111111111117"} {
		if !luhn(d) {
			t.Errorf("luhn(%s) = false", d)
		}
	}
	if luhn("6222020200012345671") {
		t.Error("luhn accepts a wrong check digit")
	}
	for _, id := range []string{"A1234563", "Z683138A", "AB9876543"} {
		if !hongKongID(id) {
			t.Errorf("hongKongID(%s) = false", id)
		}
	}
	if !taiwanID("A123456789") || taiwanID("A123456788") {
		t.Error("taiwanID")
	}
	if !singaporeID("S1234567D") || !singaporeID("T1234567J") || singaporeID("S1234567E") {
		t.Error("singaporeID")
	}
}

func FuzzMask(f *testing.F) {
	f.Add("我的手机13812345678，卡号6222020200012345670，a@b.io", uint8(15))
	f.Fuzz(func(t *testing.T, text string, hide uint8) {
		for _, m := range Find(text) {
			if m.Start < 0 || m.End > len(text) || m.Start >= m.End {
				t.Fatalf("Find(%q): match %+v out of bounds", text, m)
			}
		}
		if got := Mask(text, Kind(hide)&all); utf8.ValidString(text) && !utf8.ValidString(got) {
			t.Fatalf("Mask(%q) = %q: not UTF-8", text, got)
		}
	})
}
