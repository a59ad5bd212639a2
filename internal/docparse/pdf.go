package docparse

import (
	"bytes"
	"cmp"
	"errors"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
)

// PDF returns the text of a PDF, page by page, a line per line of text
// on the page. An encrypted PDF that needs a password fails, as does one
// with no text at all (a scan: this zone does no OCR).
func PDF(data []byte) (text string, err error) {
	defer guard("PDF", &err)
	if !bytes.HasPrefix(bytes.TrimLeft(data, "\x00\t\r\n "), []byte("%PDF-")) {
		return "", fail(nil, "the file is not a PDF (it does not start with %%PDF-)")
	}
	r, err := pdf.NewReaderEncrypted(bytes.NewReader(data), int64(len(data)), func() string { return "" })
	if err != nil {
		if errors.Is(err, pdf.ErrInvalidPassword) {
			return "", fail(err, "the PDF is encrypted with a password")
		}
		// The library reads RC4 and AES-128 encryption only; it refuses
		// the others (AES-256, other filters) in errors that say
		// "encryption".
		if strings.Contains(err.Error(), "encryption") {
			return "", fail(err, "the PDF is encrypted in a way this zone cannot read (%v): save it without a password", err)
		}
		return "", fail(err, "the PDF is damaged: %v", err)
	}
	var out strings.Builder
	runes := 0
	for i := 1; i <= r.NumPage(); i++ {
		p := r.Page(i)
		if p.V.IsNull() {
			continue
		}
		for _, line := range pageLines(p.Content().Text) {
			runes += utf8.RuneCountInString(line) + 1
			if runes > MaxTextRunes {
				return "", fail(nil, "the PDF holds more than %d characters of text", MaxTextRunes)
			}
			out.WriteString(line)
			out.WriteByte('\n')
		}
	}
	if strings.TrimSpace(out.String()) == "" {
		return "", fail(nil, "the PDF has no text layer (a scanned document? this zone does no OCR)")
	}
	return out.String(), nil
}

// pageLines lays a page's glyphs out as lines: glyphs whose baselines are
// within half a font size of each other share a line, read left to right.
// A space is added where the producer positioned a word instead of
// writing a space: a gap over a third of the font size after the end of
// the previous glyph. Where the library knows no widths (it reads none for
// CID fonts, which Chinese PDFs use, and gives every glyph of a run the
// run's origin) no space can be inferred: the producer's own spaces are
// kept (Chromium writes them).
func pageLines(glyphs []pdf.Text) []string {
	gs := make([]pdf.Text, 0, len(glyphs))
	for _, g := range glyphs {
		// Glyphs of a font without a name are Type 3 glyphs (Chromium
		// draws synthetic bold so); the library decodes them through
		// their Differences, not their ToUnicode map, into byte codes
		// that are no text: left out rather than indexed as noise.
		if g.Font == "" {
			continue
		}
		if g.S != "" && !(g.FontSize <= 0) && !math.IsNaN(g.X) && !math.IsNaN(g.Y) {
			gs = append(gs, g)
		}
	}
	// Top to bottom (PDF's Y grows upwards), then left to right.
	slices.SortStableFunc(gs, func(a, b pdf.Text) int { return cmp.Compare(b.Y, a.Y) })
	var lines [][]pdf.Text
	for _, g := range gs {
		if n := len(lines); n > 0 {
			first := lines[n-1][0]
			if math.Abs(first.Y-g.Y) <= math.Max(first.FontSize, g.FontSize)/2 {
				lines[n-1] = append(lines[n-1], g)
				continue
			}
		}
		lines = append(lines, []pdf.Text{g})
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		slices.SortStableFunc(l, func(a, b pdf.Text) int { return cmp.Compare(a.X, b.X) })
		var b strings.Builder
		end := math.Inf(-1)
		for _, g := range l {
			gap := g.W > 0 && g.X-end > g.FontSize/3
			if b.Len() > 0 && gap && !strings.HasSuffix(b.String(), " ") && !strings.HasPrefix(g.S, " ") {
				b.WriteByte(' ')
			}
			b.WriteString(g.S)
			end = math.Max(end, g.X+g.W)
		}
		if s := strings.TrimRightFunc(b.String(), unicode.IsSpace); s != "" {
			out = append(out, s)
		}
	}
	return out
}
