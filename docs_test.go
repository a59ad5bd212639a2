package openzone_test

import (
	"bufio"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// TestDocLinks: every relative link in the repository's Markdown resolves
// inside the repository, anchors included (as GitHub makes them from
// headings), and no document points outside it — the repository stands
// alone.
func TestDocLinks(t *testing.T) {
	docs := map[string]*mdDoc{}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && p != "." || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			doc, err := readMD(p)
			if err != nil {
				return err
			}
			docs[p] = doc
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 10 {
		t.Fatalf("found only %d Markdown files", len(docs))
	}
	for p, doc := range docs {
		for _, l := range doc.links {
			target, frag, _ := strings.Cut(l.dest, "#")
			if strings.Contains(l.dest, "../shared") || strings.Contains(target, "DESIGN.md") {
				t.Errorf("%s:%d: %q points outside the repository", p, l.line, l.dest)
				continue
			}
			file := p
			if target != "" {
				tp, err := url.PathUnescape(target)
				if err != nil {
					t.Errorf("%s:%d: link %q: %v", p, l.line, l.dest, err)
					continue
				}
				file = filepath.Join(filepath.Dir(p), filepath.FromSlash(tp))
				rel, err := filepath.Rel(".", file)
				if err != nil || strings.HasPrefix(rel, "..") {
					t.Errorf("%s:%d: %q leaves the repository", p, l.line, l.dest)
					continue
				}
				if _, err := os.Stat(file); err != nil {
					t.Errorf("%s:%d: %q: no such file or folder", p, l.line, l.dest)
					continue
				}
			}
			if frag == "" {
				continue
			}
			td, ok := docs[filepath.Clean(file)]
			if !ok {
				t.Errorf("%s:%d: %q: an anchor into a file that is not Markdown", p, l.line, l.dest)
				continue
			}
			if !td.anchors[frag] {
				t.Errorf("%s:%d: %q: %s has no heading with anchor #%s", p, l.line, l.dest, file, frag)
			}
		}
		for _, n := range doc.outside {
			t.Errorf("%s:%d: mentions a file outside the repository (../shared, DESIGN.md)", p, n)
		}
	}
}

type mdLink struct {
	dest string
	line int
}

type mdDoc struct {
	links   []mdLink
	anchors map[string]bool
	outside []int // lines that name notes outside the repository
}

var (
	mdLinkRE   = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	inlineCode = regexp.MustCompile("`[^`]*`")
	outsideRE  = regexp.MustCompile(`\.\./shared/|\bDESIGN\.md\b|\bzone-spec\b`)
)

func readMD(p string) (*mdDoc, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	doc := &mdDoc{anchors: map[string]bool{}}
	seen := map[string]int{}
	fenced := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if outsideRE.MatchString(line) {
			doc.outside = append(doc.outside, n)
		}
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		if h := strings.TrimLeft(line, "#"); len(h) < len(line) && len(line)-len(h) <= 6 && strings.HasPrefix(h, " ") {
			slug := slugify(strings.TrimSpace(h))
			if k := seen[slug]; k > 0 {
				doc.anchors[slug+"-"+strconv.Itoa(k)] = true
			} else {
				doc.anchors[slug] = true
			}
			seen[slug]++
		}
		for _, m := range mdLinkRE.FindAllStringSubmatch(inlineCode.ReplaceAllString(line, ""), -1) {
			d := m[1]
			if strings.Contains(d, "://") || strings.HasPrefix(d, "mailto:") {
				continue
			}
			doc.links = append(doc.links, mdLink{dest: d, line: n})
		}
	}
	return doc, sc.Err()
}

// slugify makes a heading's anchor as GitHub does: lower case, letters,
// digits, '-' and '_' kept, spaces to '-', everything else dropped.
func slugify(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case unicode.IsLetter(r) || unicode.IsNumber(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

func TestSlugify(t *testing.T) {
	for h, want := range map[string]string{
		"Protocol v2: text bodies":                          "protocol-v2-text-bodies",
		"WeCom's SDKs: the Python drop-in (`wwspecapisdk`)": "wecoms-sdks-the-python-drop-in-wwspecapisdk",
		"15.1 Opening: `POST /spec/v1/debug/open`":          "151-opening-post-specv1debugopen",
		"运行你的企业微信专区程序":                                      "运行你的企业微信专区程序",
		"Debug mode — walkthrough":                          "debug-mode--walkthrough",
	} {
		if got := slugify(h); got != want {
			t.Errorf("slugify(%q) = %q, want %q", h, got, want)
		}
	}
}
