package docparse

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// oleMagic starts an OLE compound file: a legacy .doc or .xls, or an
// Office file encrypted with a password (it is wrapped in one).
var oleMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// maxPartBytes bounds one decompressed part of an Office file.
const maxPartBytes = 256 << 20

func notOOXML(data []byte, what, ext string) *Error {
	if bytes.HasPrefix(data, oleMagic) {
		return fail(nil, "the %s is encrypted with a password, or is a legacy binary file saved with a %s name", what, ext)
	}
	return fail(nil, "the file is not a %s (not a zip of Office XML)", what)
}

// DOCX returns the text of a Word .docx document: its body's paragraphs,
// one per line, table cells separated by tabs.
func DOCX(data []byte) (text string, err error) {
	defer guard("Word document", &err)
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", notOOXML(data, "Word document", ".docx")
	}
	var body *zip.File
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			body = f
		}
	}
	if body == nil {
		return "", fail(nil, "the file is a zip without word/document.xml: not a Word document")
	}
	rc, err := body.Open()
	if err != nil {
		return "", fail(err, "the Word document is damaged")
	}
	defer rc.Close()
	dec := xml.NewDecoder(io.LimitReader(rc, maxPartBytes))
	var out strings.Builder
	inText := false
	runes := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", fail(err, "the Word document is damaged (its XML does not parse)")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "t":
				inText = true
			case "tab":
				out.WriteByte('\t')
			case "br", "cr":
				out.WriteByte('\n')
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t":
				inText = false
			case "p":
				out.WriteByte('\n')
			case "tc":
				out.WriteByte('\t')
			}
		case xml.CharData:
			if inText {
				runes += utf8.RuneCount(t)
				if runes > MaxTextRunes {
					return "", fail(nil, "the Word document holds more than %d characters of text", MaxTextRunes)
				}
				out.Write(t)
			}
		}
	}
	if strings.TrimSpace(out.String()) == "" {
		return "", fail(nil, "the Word document has no text")
	}
	return out.String(), nil
}

// Header cells that name the question and answer columns of a Q&A sheet.
var (
	questionHeads = []string{"问题", "标准问题", "问", "question", "q"}
	answerHeads   = []string{"回答", "答案", "答", "answer", "a"}
)

func isHead(cell string, heads []string) bool {
	c := strings.ToLower(strings.TrimSpace(cell))
	for _, h := range heads {
		if c == h {
			return true
		}
	}
	return false
}

// QASheet returns the question-and-answer rows of an .xlsx in WeCom's Q&A
// template: the first sheet, a header row naming the question (问题) and
// answer (回答) columns, then one pair a row. Without such a header the
// first two columns are question and answer. Rows missing either are
// skipped.
func QASheet(data []byte) (rows []QA, err error) {
	defer guard("Excel workbook", &err)
	if !bytes.HasPrefix(data, []byte("PK")) {
		return nil, notOOXML(data, "Excel workbook", ".xlsx")
	}
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxPartBytes, UnzipXMLSizeLimit: maxPartBytes / 4})
	if err != nil {
		return nil, fail(err, "the Excel workbook cannot be opened: %v", err)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, fail(nil, "the Excel workbook has no sheet")
	}
	all, err := f.GetRows(sheets[0])
	if err != nil {
		return nil, fail(err, "sheet %q cannot be read: %v", sheets[0], err)
	}
	q, a, start := 0, 1, 0
	if len(all) > 0 {
		hq, ha := -1, -1
		for i, c := range all[0] {
			switch {
			case hq < 0 && isHead(c, questionHeads):
				hq = i
			case ha < 0 && isHead(c, answerHeads):
				ha = i
			}
		}
		if hq >= 0 && ha >= 0 {
			q, a, start = hq, ha, 1
		}
	}
	runes := 0
	for _, r := range all[start:] {
		if len(r) <= max(q, a) {
			continue
		}
		qa := QA{Question: strings.TrimSpace(r[q]), Answer: strings.TrimSpace(r[a])}
		if qa.Question == "" || qa.Answer == "" {
			continue
		}
		runes += utf8.RuneCountInString(qa.Question) + utf8.RuneCountInString(qa.Answer)
		if runes > MaxTextRunes {
			return nil, fail(nil, "the Q&A sheet holds more than %d characters", MaxTextRunes)
		}
		rows = append(rows, qa)
	}
	if len(rows) == 0 {
		return nil, fail(nil, "sheet %q has no question-and-answer rows (a header 问题 | 回答, then a pair a row)", sheets[0])
	}
	return rows, nil
}
