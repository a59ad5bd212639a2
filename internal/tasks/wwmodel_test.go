package tasks

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/wwmodels"
)

// TestExpandGeneral: the general model's placeholders, byte for byte.
func TestExpandGeneral(t *testing.T) {
	t.Parallel()
	template := `{"prompt":"对话：{chat}|内容：{chatcontent}|知识：{knowledge}|片段：{doc_fragments}|标签：{tagjson}|客户：{$customer$}|未知：{$nope$}|{other}"}`
	var req wwReq
	json.Unmarshal([]byte(`{"var_args":[{"name":"customer","value":"王\"五\""}],
		"doc_retrieval_params":{"retrieved_knowledge_list":[{"fragment":"片一","ref_id":"r1"},{"fragment":"片/二","ref_id":"r2"}]}}`), &req)
	mr := &wwmodels.Request{
		Messages: []wwmodels.Message{
			{Who: "张三", Role: wwmodels.RoleStaff, Text: "您好{chat}"},
			{Who: "客户甲", Role: wwmodels.RoleCustomer, Text: "价格\n多少"},
		},
		Knowledge: []string{"问题：价格，回答：100元"},
		TagGroups: []openzone.TagGroup{{GroupID: "g1", GroupName: "意向", Tags: []openzone.Tag{{TagID: "t1", TagName: "高意向", Synonyms: []string{"买"}}}}},
	}
	got, err := expandGeneral(template, &req, mr, false)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"prompt":"对话：张三(员工)说：您好{chat}\n客户甲(客户)说：价格\n多少|内容：您好{chat}\n价格\n多少|知识：文档1：问题：价格，回答：100元|` +
		`片段：文档1：片一\n文档2：片\/二|标签：{\"tag_group\":[{\"group_id\":\"g1\",\"group_name\":\"意向\",\"tag_list\":[{\"tag_id\":\"t1\",\"tag_name\":\"高意向\"}]}]}|` +
		`客户：王\"五\"|未知：{$nope$}|{other}"}`
	if got != want {
		t.Fatalf("expandGeneral =\n%s\nwant\n%s", got, want)
	}
	if !json.Valid([]byte(got)) {
		t.Fatal("the expansion is not JSON")
	}

	// Debug mode: debug_info stands in, as given.
	chat, content, kn, tj := "甲说：嗨", "嗨", "文档1：k", `{"tag_group":[]}`
	req.DebugInfo = &debugInfo{Chat: &chat, ChatContent: &content, Knowledge: &kn, TagJSON: &tj}
	got, _ = expandGeneral(`{"p":"{chat}|{chatcontent}|{knowledge}|{tagjson}"}`, &req, mr, true)
	if want := `{"p":"甲说：嗨|嗨|文档1：k|{\"tag_group\":[]}"}`; got != want {
		t.Fatalf("debug expansion = %s, want %s", got, want)
	}

	// Over 30,000 characters: 790040.
	mr.Messages = []wwmodels.Message{{Who: "x", Text: strings.Repeat("长", MaxExpandedRunes)}}
	if _, err := expandGeneral(`{"p":"{chatcontent}"}`, &wwReq{}, mr, false); openzone.ErrorCode(err) != openzone.ErrInputTooLong {
		t.Fatalf("long prompt: %v, want 790040", err)
	}
}
