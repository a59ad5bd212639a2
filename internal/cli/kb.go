package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"mime/multipart"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/openzone/openzone"
)

func init() {
	register(&command{
		name:  "kb list",
		args:  "[--corp wwdemo] [--agent 1000002] [--json]",
		short: "list the knowledge sets (知识集) an app may use, with their documents (--agent 0: all of the corp's)",
		run:   runKBList,
	})
	register(&command{
		name:  "kb create",
		args:  "NAME FILE|URL... [--corp wwdemo] [--agent 1000002] [--no-wait] [--json]",
		short: "create a knowledge set as an app (--agent 0: the corp admin's) from files (.pdf, .docx, .xlsx Q&A) and web pages, and wait for learning",
		run:   runKBCreate,
	})
	register(&command{
		name:  "kb add",
		args:  "KB_ID FILE|URL... [--corp wwdemo] [--agent 1000002] [--no-wait] [--json]",
		short: "add documents to a knowledge set as an app and wait until they are learned",
		run:   runKBAdd,
	})
	register(&command{
		name:  "kb query",
		args:  "KB_ID TEXT [--corp wwdemo] [--agent 1000002] [--why] [--json]",
		short: "print the fragments {knowledge} would get for TEXT, in that format (--why: scores and matched terms)",
		run:   runKBQuery,
	})
}

// kbFlags are the flags every kb command takes.
type kbFlags struct {
	remote
	corp  string
	agent int64
}

func (k *kbFlags) bind(e *env, name string) *flag.FlagSet {
	fs := newFlags(e, name)
	k.flags(fs)
	fs.StringVar(&k.corp, "corp", "wwdemo", "corpid")
	fs.Int64Var(&k.agent, "agent", 1000002, "agentid of the app to act as; 0 acts as the corp admin")
	return fs
}

func (k *kbFlags) path(rest string) string {
	return "/admin/v1/corps/" + url.PathEscape(k.corp) + rest
}

func (k *kbFlags) query() url.Values {
	return url.Values{"agentid": {fmt.Sprint(k.agent)}}
}

type kbDoc struct {
	DocID     string `json:"docid"`
	Name      string `json:"doc_name"`
	Type      int    `json:"type"`
	WebURL    string `json:"web_url"`
	Status    int    `json:"status"`
	Reason    string `json:"reason"`
	Fragments int    `json:"fragments"`
}

type kbSet struct {
	KBID      string  `json:"kb_id"`
	Name      string  `json:"kb_name"`
	AgentID   int64   `json:"agentid"`
	Fragments int     `json:"fragments"`
	Grants    []int64 `json:"grants"`
	DocList   []kbDoc `json:"doc_list"`
}

var docStatus = map[int]string{0: "ok", 1: "failed", 2: "learning"}

func runKBList(e *env, args []string) error {
	var k kbFlags
	fs := k.bind(e, "kb list")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usagef("takes no arguments")
	}
	var out struct {
		KnowledgeBases []kbSet `json:"knowledge_bases"`
	}
	if err := k.admin("GET", k.path("/knowledge_bases"), k.query(), nil, "", &out); err != nil {
		return err
	}
	if k.json {
		return printJSON(e.stdout, out)
	}
	if len(out.KnowledgeBases) == 0 {
		fmt.Fprintln(e.stdout, "no knowledge sets")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KB_ID\tNAME\tOWNER\tDOCS\tFRAGMENTS")
	for _, s := range out.KnowledgeBases {
		owner := fmt.Sprintf("app %d", s.AgentID)
		if s.AgentID == 0 {
			owner = fmt.Sprintf("corp (granted to %v)", s.Grants)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", s.KBID, s.Name, owner, len(s.DocList), s.Fragments)
		for _, d := range s.DocList {
			line := fmt.Sprintf("  %s\t%s\ttype %d\t%s\t%d", d.DocID, d.Name, d.Type, docStatus[d.Status], d.Fragments)
			if d.Reason != "" {
				line += "\t" + d.Reason
			}
			fmt.Fprintln(tw, line)
		}
	}
	return tw.Flush()
}

// docType is the doc_list type of a file or URL, by its extension.
func docType(src string) (int, error) {
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		return 101, nil
	}
	switch strings.ToLower(filepath.Ext(src)) {
	case ".pdf":
		return 2, nil
	case ".xlsx":
		return 4, nil
	case ".docx":
		return 6, nil
	case ".doc":
		return 5, nil // the zone says why it refuses it
	}
	return 0, fmt.Errorf("%s: not a .pdf, .docx, .xlsx (Q&A) file or an http(s) URL", src)
}

// docList uploads the files as the app (media valid 3 days) and returns
// the doc_list that adds them.
func (k *kbFlags) docList(srcs []string) ([]map[string]any, error) {
	var list []map[string]any
	for _, src := range srcs {
		typ, err := docType(src)
		if err != nil {
			return nil, err
		}
		if typ == 101 {
			list = append(list, map[string]any{"doc_name": src, "type": typ, "web_url": src})
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("media", filepath.Base(src))
		fw.Write(data)
		mw.Close()
		var m struct {
			MediaID string `json:"media_id"`
		}
		if err := k.admin("POST", k.path("/media"), k.query(), &body, mw.FormDataContentType(), &m); err != nil {
			return nil, fmt.Errorf("%s: %w", src, err)
		}
		list = append(list, map[string]any{"doc_name": filepath.Base(src), "type": typ, "file_media_id": m.MediaID})
	}
	return list, nil
}

func runKBCreate(e *env, args []string) error {
	return kbAddRun(e, "kb create", args, true)
}

func runKBAdd(e *env, args []string) error {
	return kbAddRun(e, "kb add", args, false)
}

// kbAddRun creates a set (create) or adds to one, then waits for learning.
func kbAddRun(e *env, name string, args []string, create bool) error {
	var k kbFlags
	fs := k.bind(e, name)
	noWait := fs.Bool("no-wait", false, "print the docids and exit without waiting for learning")
	timeout := fs.Duration("timeout", 5*time.Minute, "how long to wait for learning")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		if create {
			return usagef("want NAME FILE|URL...")
		}
		return usagef("want KB_ID FILE|URL...")
	}
	docs, err := k.docList(pos[1:])
	if err != nil {
		return err
	}
	body := map[string]any{"agentid": k.agent, "doc_list": docs}
	var out struct {
		KBID    string  `json:"kb_id"`
		DocList []kbDoc `json:"doc_list"`
	}
	kbID := pos[0]
	if create {
		body["kb_name"] = pos[0]
		err = k.admin("POST", k.path("/knowledge_bases"), nil, jsonBody(body), "application/json", &out)
		kbID = out.KBID
	} else {
		err = k.admin("POST", k.path("/knowledge_bases/"+url.PathEscape(kbID)+"/docs"), nil, jsonBody(body), "application/json", &out)
	}
	if err != nil {
		return err
	}
	if *noWait {
		if k.json {
			return printJSON(e.stdout, map[string]any{"kb_id": kbID, "doc_list": out.DocList})
		}
		fmt.Fprintln(e.stdout, kbID)
		for _, d := range out.DocList {
			fmt.Fprintf(e.stdout, "%s\t%s\n", d.DocID, d.Name)
		}
		return nil
	}
	added := map[string]bool{}
	for _, d := range out.DocList {
		added[d.DocID] = true
	}
	deadline := time.Now().Add(*timeout)
	for {
		var set kbSet
		if err := k.admin("GET", k.path("/knowledge_bases/"+url.PathEscape(kbID)), k.query(), nil, "", &set); err != nil {
			return err
		}
		var mine []kbDoc
		learning := 0
		for _, d := range set.DocList {
			if added[d.DocID] {
				mine = append(mine, d)
				if d.Status == 2 {
					learning++
				}
			}
		}
		if learning == 0 || time.Now().After(deadline) {
			if k.json {
				return printJSON(e.stdout, map[string]any{"kb_id": kbID, "doc_list": mine})
			}
			fmt.Fprintln(e.stdout, kbID)
			failed := 0
			for _, d := range mine {
				line := fmt.Sprintf("%s\t%s\t%s\t%d fragments", d.DocID, d.Name, docStatus[d.Status], d.Fragments)
				if d.Reason != "" {
					line += "\t" + d.Reason
					failed++
				}
				fmt.Fprintln(e.stdout, line)
			}
			switch {
			case learning > 0:
				return fmt.Errorf("%d documents still being learned after %s", learning, *timeout)
			case failed > 0:
				return fmt.Errorf("%d of %d documents could not be learned", failed, len(mine))
			}
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func runKBQuery(e *env, args []string) error {
	var k kbFlags
	fs := k.bind(e, "kb query")
	why := fs.Bool("why", false, "show each fragment's score, document and matched terms")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return usagef("want KB_ID TEXT")
	}
	var out openzone.KnowledgeQuery
	if err := k.admin("POST", k.path("/knowledge_bases/"+url.PathEscape(pos[0])+"/query"), nil,
		jsonBody(map[string]any{"text": pos[1], "agentid": k.agent}), "application/json", &out); err != nil {
		return err
	}
	if k.json {
		return printJSON(e.stdout, out)
	}
	if *why {
		fmt.Fprintf(e.stdout, "# %d fragments in the set; %d query terms used\n", out.Fragments, len(out.Terms))
		for i, h := range out.Hits {
			fmt.Fprintf(e.stdout, "# 文档%d  score %.3f  %s #%d  terms: %s\n", i+1, h.Score, h.DocName, h.Ord, strings.Join(h.Terms, " "))
		}
	}
	fmt.Fprintln(e.stdout, out.Knowledge)
	return nil
}

func jsonBody(v any) *bytes.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}
