package docparse

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/charset"
)

// skipped elements hold no readable text.
var skipped = map[string]bool{
	"script": true, "style": true, "noscript": true, "template": true, "svg": true, "head": true,
	"iframe": true, "object": true, "canvas": true, "nav": true, "footer": true,
}

// blocks end a line.
var blocks = map[string]bool{
	"p": true, "div": true, "br": true, "li": true, "tr": true, "h1": true, "h2": true, "h3": true, "h4": true,
	"h5": true, "h6": true, "section": true, "article": true, "header": true, "table": true, "ul": true,
	"ol": true, "dl": true, "dt": true, "dd": true, "blockquote": true, "pre": true, "hr": true, "main": true,
}

// HTML returns the readable text of a web page and its title: scripts,
// styles, navigation and footers left out, a line per block. The page's
// declared encoding (GBK, Big5…) is honoured; contentType is its
// Content-Type header.
func HTML(data []byte, contentType string) (title, text string, err error) {
	defer guard("web page", &err)
	r, err := charset.NewReader(bytes.NewReader(data), contentType)
	if err != nil {
		return "", "", fail(err, "the web page's character set is unknown")
	}
	doc, err := html.Parse(io.LimitReader(r, maxPartBytes))
	if err != nil {
		return "", "", fail(err, "the web page does not parse as HTML")
	}
	var out strings.Builder
	runes := 0
	var walk func(n *html.Node) bool
	walk = func(n *html.Node) bool {
		switch n.Type {
		case html.ElementNode:
			if skipped[n.Data] {
				return true
			}
		case html.TextNode:
			runes += utf8.RuneCountInString(n.Data)
			if runes > MaxTextRunes {
				return false
			}
			out.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if !walk(c) {
				return false
			}
		}
		if n.Type == html.ElementNode && blocks[n.Data] {
			out.WriteByte('\n')
		}
		return true
	}
	// The title lives in head, which walk skips for its text.
	var findTitle func(n *html.Node)
	findTitle = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "title" && n.FirstChild != nil && title == "" {
			title = strings.TrimSpace(n.FirstChild.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			findTitle(c)
		}
	}
	findTitle(doc)
	if !walk(doc) {
		return "", "", fail(nil, "the web page holds more than %d characters of text", MaxTextRunes)
	}
	if strings.TrimSpace(out.String()) == "" {
		return "", "", fail(nil, "the web page has no readable text")
	}
	return title, out.String(), nil
}
