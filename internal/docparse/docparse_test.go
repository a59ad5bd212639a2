package docparse_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/docparse"
	"github.com/openzone/openzone/internal/docparse/doctest"
)

func wantReason(t *testing.T, err error, part string) {
	t.Helper()
	var de *docparse.Error
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want a *docparse.Error", err)
	}
	if !strings.Contains(de.Reason, part) {
		t.Fatalf("reason %q lacks %q", de.Reason, part)
	}
}

func TestPDF(t *testing.T) {
	t.Parallel()
	data := doctest.PDF(t, doctest.ChinesePage("退货政策", "商品签收后七天内可以无理由退货。", "Refund within seven days, no questions asked.", "保修期为一年。"))
	t.Run("OK", func(t *testing.T) {
		t.Parallel()
		text, err := docparse.PDF(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"商品签收后七天内可以无理由退货。", "Refund within seven days, no questions asked.", "保修期为一年。"} {
			if !strings.Contains(text, want) {
				t.Fatalf("text %q lacks %q", text, want)
			}
		}
	})
	t.Run("Truncated", func(t *testing.T) {
		t.Parallel()
		_, err := docparse.PDF(data[:len(data)/2])
		wantReason(t, err, "PDF")
	})
	// Encrypted: the same file with an /Encrypt dictionary in its trailer
	// (the objects are not encrypted, but a reader must take the file as
	// encrypted): with a user password (RC4, whose U entry no empty
	// password matches), and with AES-256 (V 5), which the library does
	// not read. Both fail saying the PDF is encrypted.
	for name, enc := range map[string]string{
		"EncryptedRC4":    "/Encrypt << /Filter /Standard /V 2 /R 3 /Length 128 /P -4 /O <" + strings.Repeat("ab", 32) + "> /U <" + strings.Repeat("cd", 32) + "> >> /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]",
		"EncryptedAES256": "/Encrypt << /Filter /Standard /V 5 /R 6 /Length 256 /P -4 /O <" + strings.Repeat("ab", 48) + "> /U <" + strings.Repeat("cd", 48) + "> >> /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			i := strings.LastIndex(string(data), "trailer")
			j := strings.Index(string(data[i:]), "<<")
			if i < 0 || j < 0 {
				t.Fatal("the PDF has no trailer dictionary")
			}
			at := i + j + 2
			enc := string(data[:at]) + enc + " " + string(data[at:])
			_, err := docparse.PDF([]byte(enc))
			wantReason(t, err, "encrypted")
		})
	}
	t.Run("Garbled", func(t *testing.T) {
		t.Parallel()
		bad := []byte(strings.Replace(string(data), "endobj", "endXbj", 3))
		if _, err := docparse.PDF(bad); err != nil {
			wantReason(t, err, "PDF")
		}
	})
}

func TestPDFRefusals(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, data, reason string }{
		{"NotPDF", "hello world", "not a PDF"},
		{"HeaderOnly", "%PDF-1.4\n%%EOF", "damaged"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := docparse.PDF([]byte(tc.data))
			wantReason(t, err, tc.reason)
		})
	}
}

func TestDOCX(t *testing.T) {
	t.Parallel()
	text, err := docparse.DOCX(doctest.DOCX(t, "会员积分规则", "每消费一元积一分。", "Points expire after 12 months."))
	if err != nil {
		t.Fatal(err)
	}
	if want := "会员积分规则\n每消费一元积一分。\nPoints expire after 12 months.\n"; text != want {
		t.Fatalf("text = %q, want %q", text, want)
	}
	_, err = docparse.DOCX([]byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 rest"))
	wantReason(t, err, "encrypted")
	_, err = docparse.DOCX([]byte("plain text"))
	wantReason(t, err, "not a Word document")
}

func TestQASheet(t *testing.T) {
	t.Parallel()
	t.Run("Header", func(t *testing.T) {
		t.Parallel()
		rows, err := docparse.QASheet(doctest.XLSX(t, [][]string{
			{"序号", "问题", "回答"},
			{"1", "多久可以退货？", "签收后七天内。"},
			{"2", "", "no question: skipped"},
			{"3", "Do you ship abroad?", "Yes, to 20 countries."},
		}))
		if err != nil {
			t.Fatal(err)
		}
		want := []docparse.QA{{"多久可以退货？", "签收后七天内。"}, {"Do you ship abroad?", "Yes, to 20 countries."}}
		if !reflect.DeepEqual(rows, want) {
			t.Fatalf("rows = %q, want %q", rows, want)
		}
	})
	t.Run("NoHeader", func(t *testing.T) {
		t.Parallel()
		rows, err := docparse.QASheet(doctest.XLSX(t, [][]string{{"能开发票吗", "可以"}}))
		if err != nil || len(rows) != 1 || rows[0].Answer != "可以" {
			t.Fatalf("rows = %q, %v", rows, err)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		_, err := docparse.QASheet(doctest.XLSX(t, [][]string{{"问题", "回答"}}))
		wantReason(t, err, "no question-and-answer rows")
	})
	t.Run("NotXLSX", func(t *testing.T) {
		t.Parallel()
		_, err := docparse.QASheet([]byte("PK\x03\x04 broken"))
		wantReason(t, err, "cannot be opened")
	})
}

func TestHTML(t *testing.T) {
	t.Parallel()
	page := `<html><head><title> 配送说明 </title><style>p{}</style><script>var x="不要";</script></head>
<body><nav>首页</nav><h1>配送</h1><p>全国包邮，<b>三天</b>送达。</p><div>Free shipping.</div><footer>版权</footer></body></html>`
	title, text, err := docparse.HTML([]byte(page), "text/html")
	if err != nil {
		t.Fatal(err)
	}
	if title != "配送说明" {
		t.Fatalf("title = %q", title)
	}
	for _, no := range []string{"不要", "首页", "版权", "p{}"} {
		if strings.Contains(text, no) {
			t.Fatalf("text %q holds %q", text, no)
		}
	}
	if !strings.Contains(text, "全国包邮，三天送达。") || !strings.Contains(text, "Free shipping.") {
		t.Fatalf("text = %q", text)
	}
	// A GBK page that says so.
	gbk := []byte("<html><head><meta charset=\"gbk\"></head><body><p>\xc4\xe3\xba\xc3</p></body></html>") // 你好
	_, text, err = docparse.HTML(gbk, "")
	if err != nil || !strings.Contains(text, "你好") {
		t.Fatalf("GBK page: %q, %v", text, err)
	}
}
