// Package docgen writes documents: .docx bodies and .xlsx sheets as Word
// and Excel save them, and synthetic Chinese text for the bench, whose
// words follow a Zipf law over a fixed vocabulary so index terms have the
// spread of real text (a few very common, most rare).
package docgen

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/xuri/excelize/v2"
)

// DOCX returns a Word document whose body is paragraphs.
func DOCX(paragraphs []string) ([]byte, error) {
	var body bytes.Buffer
	body.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`)
	for _, p := range paragraphs {
		body.WriteString(`<w:p><w:r><w:t xml:space="preserve">`)
		xml.EscapeText(&body, []byte(p))
		body.WriteString(`</w:t></w:r></w:p>`)
	}
	body.WriteString(`<w:sectPr/></w:body></w:document>`)
	parts := []struct{ name, data string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		{"word/document.xml", body.String()},
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, p := range parts {
		w, err := zw.Create(p.name)
		if err != nil {
			return nil, err
		}
		w.Write([]byte(p.data))
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// XLSX returns a workbook whose first sheet holds rows.
func XLSX(rows [][]string) ([]byte, error) {
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		vals := make([]any, len(r))
		for j, v := range r {
			vals[j] = v
		}
		if err := f.SetSheetRow("Sheet1", cell, &vals); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Gen makes synthetic Chinese text.
type Gen struct {
	rng   *rand.Rand
	zipf  *rand.Zipf
	words []string
}

// vocabulary sizes: words of 1 to 3 characters drawn from the first 3,500
// CJK ideographs (about the common characters' count).
const (
	vocabWords = 20_000
	vocabChars = 3500
)

// New returns a generator seeded by rng (a fixed seed gives fixed text).
func New(rng *rand.Rand) *Gen {
	g := &Gen{rng: rng, zipf: rand.NewZipf(rng, 1.1, 2, vocabWords-1)}
	charZipf := rand.NewZipf(rng, 1.05, 1, vocabChars-1)
	for range vocabWords {
		n := 1 + rng.IntN(3)
		var b strings.Builder
		for range n {
			b.WriteRune(rune(0x4E00 + charZipf.Uint64()))
		}
		g.words = append(g.words, b.String())
	}
	return g
}

// sentence is 6 to 20 words and a full stop.
func (g *Gen) sentence() string {
	var b strings.Builder
	for range 6 + g.rng.IntN(15) {
		b.WriteString(g.words[g.zipf.Uint64()])
	}
	b.WriteString("。")
	return b.String()
}

// Text is paragraphs of sentences, about n bytes in all.
func (g *Gen) Text(n int) []string {
	var paras []string
	size := 0
	for size < n {
		var b strings.Builder
		for range 3 + g.rng.IntN(5) {
			b.WriteString(g.sentence())
		}
		paras = append(paras, b.String())
		size += b.Len()
	}
	return paras
}

// DOCX is a Word document of about n bytes of text.
func (g *Gen) DOCX(n int) []byte {
	b, err := DOCX(g.Text(n))
	if err != nil {
		panic(err) // writing to memory does not fail
	}
	return b
}

// XLSX is a Q&A sheet of rows pairs under a 问题 | 回答 header.
func (g *Gen) XLSX(rows int) []byte {
	all := [][]string{{"问题", "回答"}}
	for range rows {
		all = append(all, []string{strings.TrimSuffix(g.sentence(), "。") + "？", g.sentence() + g.sentence()})
	}
	b, err := XLSX(all)
	if err != nil {
		panic(err)
	}
	return b
}

// Chat is a chat-like query: one to three short sentences.
func (g *Gen) Chat() string {
	var b strings.Builder
	for range 1 + g.rng.IntN(3) {
		b.WriteString(g.sentence())
	}
	return b.String()
}

// Page is a web page named name with about n bytes of text, the same for
// the same name.
func Page(name string, n int) string {
	var seed uint64
	for _, c := range name {
		seed = seed*31 + uint64(c)
	}
	g := New(rand.New(rand.NewPCG(seed, 7)))
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html><html><head><meta charset=\"utf-8\"><title>%s</title></head><body>", name)
	for _, p := range g.Text(n) {
		b.WriteString("<p>" + p + "</p>")
	}
	b.WriteString("</body></html>")
	return b.String()
}
