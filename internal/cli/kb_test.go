package cli_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openzone/openzone/internal/cli"
	"github.com/openzone/openzone/internal/docparse/doctest"
	"github.com/openzone/openzone/internal/testenv"
)

const kbSeed = `
providers: [{id: isv, name: ISV}]
corps: [{corpid: wwdemo, name: Demo}]
apps:
  - {corpid: wwdemo, agentid: 1000002, type: self_built, secret: s, knowledge_permission: true}
  - {corpid: wwdemo, agentid: 1000003, type: self_built, secret: t}
`

func TestKB(t *testing.T) {
	t.Parallel()
	z := testenv.Start(t, testenv.Options{Seed: kbSeed})
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	policy := write("退货政策.docx", doctest.DOCX(t, "退货政策：签收后七天内可以无理由退货。"))
	qa := write("问答.xlsx", doctest.XLSX(t, [][]string{{"问题", "回答"}, {"多久可以退货？", "签收后七天内。"}}))
	legacy := write("old.doc", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 a legacy Word file"))

	code, out, errs := run(z, "kb", "create", "售后", policy, qa)
	if code != 0 || !strings.Contains(out, "退货政策.docx\tok") || !strings.Contains(out, "问答.xlsx\tok") {
		t.Fatalf("kb create: exit %d out %q err %q", code, out, errs)
	}
	kbID := strings.SplitN(out, "\n", 2)[0]

	code, out, errs = run(z, "kb", "query", kbID, "请问多久可以退货")
	if want := "文档1：问题：多久可以退货？，回答：签收后七天内。\n文档2：退货政策：签收后七天内可以无理由退货。\n"; code != 0 || out != want {
		t.Fatalf("kb query: exit %d out %q err %q, want %q", code, out, errs, want)
	}
	code, out, _ = run(z, "kb", "query", "--why", kbID, "请问多久可以退货")
	if code != 0 || !strings.Contains(out, "# 文档1  score") || !strings.Contains(out, "退货") {
		t.Fatalf("kb query --why: exit %d out %q", code, out)
	}

	code, out, errs = run(z, "kb", "add", kbID, legacy)
	if code != cli.ExitFailure || !strings.Contains(errs, "legacy Word .doc") {
		t.Fatalf("kb add .doc: exit %d out %q err %q", code, out, errs)
	}
	code, out, errs = run(z, "kb", "add", kbID, write("坏.pdf", []byte("%PDF-1.4 broken")))
	if code != cli.ExitFailure || !strings.Contains(out, "failed") || !strings.Contains(errs, "could not be learned") {
		t.Fatalf("kb add corrupt pdf: exit %d out %q err %q", code, out, errs)
	}

	code, out, errs = run(z, "kb", "list")
	if code != 0 || !strings.Contains(out, kbID) || !strings.Contains(out, "售后") || !strings.Contains(out, "坏.pdf") {
		t.Fatalf("kb list: exit %d out %q err %q", code, out, errs)
	}
	// The app without 数据与智能专区-知识集 sees nothing of it.
	code, out, _ = run(z, "kb", "query", "--agent", "1000003", kbID, "退货")
	if code != cli.ExitFailure {
		t.Fatalf("kb query as another app: exit %d out %q", code, out)
	}
	if code, _, errs := run(z, "kb", "query", kbID); code != cli.ExitUsage {
		t.Fatalf("kb query without TEXT: exit %d err %q", code, errs)
	}
}
