// Package doctest makes small real documents for tests: a PDF printed by
// headless Chromium from an HTML page (so the PDF is not written by the
// library that reads it back), a .docx written as Word writes its body,
// and an .xlsx Q&A sheet. Tests only.
package doctest

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/openzone/openzone/internal/docparse/docgen"
)

// Chromium returns the path of a Chromium, or skips tb (fails it when
// OPENZONE_REQUIRE_BROWSER=1).
func Chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("OPENZONE_REQUIRE_BROWSER") == "1" {
		tb.Fatal("chromium not found and OPENZONE_REQUIRE_BROWSER=1 (apt-get install -y chromium fonts-wqy-microhei)")
	}
	tb.Skip("chromium not installed (apt-get install -y chromium fonts-wqy-microhei); set OPENZONE_REQUIRE_BROWSER=1 to fail instead")
	return ""
}

// PDF prints page (an HTML document) to PDF with headless Chromium.
func PDF(tb testing.TB, page string) []byte {
	tb.Helper()
	bin := Chromium(tb)
	dir := tb.TempDir()
	in, out := filepath.Join(dir, "page.html"), filepath.Join(dir, "page.pdf")
	if err := os.WriteFile(in, []byte(page), 0o600); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
		"--disable-background-networking", "--disable-component-update", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--print-to-pdf="+out, "file://"+in)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("chromium --print-to-pdf: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// ChinesePage is an HTML page in Chinese with a line of English, in the
// CJK font the console uses (Debian's fonts-wqy-microhei).
func ChinesePage(title string, paragraphs ...string) string {
	var b bytes.Buffer
	b.WriteString(`<!doctype html><html><head><meta charset="utf-8"><title>`)
	xml.EscapeText(&b, []byte(title))
	b.WriteString(`</title><style>body{font-family:"WenQuanYi Micro Hei",sans-serif;font-size:14px}</style></head><body>`)
	for _, p := range paragraphs {
		b.WriteString("<p>")
		xml.EscapeText(&b, []byte(p))
		b.WriteString("</p>")
	}
	b.WriteString("</body></html>")
	return b.String()
}

// DOCX returns a Word document whose body is paragraphs, zipped as Word
// saves it (content types, package and document relationships, body).
func DOCX(tb testing.TB, paragraphs ...string) []byte {
	tb.Helper()
	b, err := docgen.DOCX(paragraphs)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// XLSX returns a workbook whose first sheet holds rows.
func XLSX(tb testing.TB, rows [][]string) []byte {
	tb.Helper()
	b, err := docgen.XLSX(rows)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
