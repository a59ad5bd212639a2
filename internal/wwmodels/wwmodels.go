// Package wwmodels answers WeCom's own models (企业微信官方模型): the
// general model (通用模型), summaries (会话摘要), sentiment (情感分析),
// spam (反垃圾), recommended replies (话术推荐) and customer tags (客户标
// 签). A Backend answers one Request; three exist: Builtin (the zone's own
// deterministic analysers, no network), OpenAI (any OpenAI-compatible
// chat-completions endpoint, through the zone's outbound client) and
// Program (one of the zone's own programs or models stands in). The tasks
// service (internal/tasks) checks requests, loads messages, keeps quotas
// and stores the tasks; this package only answers.
package wwmodels

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/openzone/openzone"
)

// Kind is which of WeCom's models a request is for; its value names the
// task kind in the store and in the inspector.
type Kind string

const (
	General    Kind = "ww_model"         // create_ww_model_task (通用模型)
	Summary    Kind = "summary"          // create_summary_task (会话摘要)
	Sentiment  Kind = "sentiment"        // create_sentiment_task (情感分析)
	Spam       Kind = "spam"             // create_spam_task (反垃圾)
	Recommend  Kind = "recommend_dialog" // create_recommend_dialog_task (话术推荐)
	CustomerTg Kind = "customer_tag"     // create_customer_tag_task (客户标签)
)

// Message is one message of a request.
type Message struct {
	MsgID string `json:"msgid"`
	// Who is the sender's name (or id); Role 员工 (staff), 客户
	// (customer) or 机器人 (bot).
	Who  string `json:"who"`
	Role string `json:"role"`
	Text string `json:"text"`
}

// Request is what a backend answers. Prompt is the general model's
// expanded prompt; the other kinds carry their messages, and what their
// model needs (knowledge fragments, tag groups).
type Request struct {
	Kind      Kind                `json:"kind"`
	ModelID   string              `json:"model_id"`
	Prompt    string              `json:"prompt,omitempty"`
	Messages  []Message           `json:"messages"`
	Knowledge []string            `json:"knowledge,omitempty"` // fragments, best first ("问题：…，回答：…" for Q&A)
	TagGroups []openzone.TagGroup `json:"tag_groups,omitempty"`
	NeedThink bool                `json:"need_think,omitempty"`
}

// Label is one message's analysis (sentiment or spam).
type Label struct {
	MsgID string `json:"msgid"`
	Value int    `json:"value"`
}

// TagHit is one tag a customer-tag request found.
type TagHit struct {
	GroupID string `json:"group_id"`
	TagID   string `json:"tag_id"`
}

// Result is a backend's answer: Text for the general model, summaries and
// recommended replies (Think, when asked for, is the reasoning shown as
// <think>…</think>); Labels for sentiment and spam, one per message;
// Tags for customer tags.
type Result struct {
	Text   string   `json:"text,omitempty"`
	Think  string   `json:"think,omitempty"`
	Labels []Label  `json:"labels,omitempty"`
	Tags   []TagHit `json:"tags,omitempty"`
}

// ResponseData is response_data as WeCom writes it: the text, after
// <think>…</think> when the caller asked for the reasoning.
func (r *Result) ResponseData(needThink bool) string {
	if needThink {
		return "<think>" + r.Think + "</think>" + r.Text
	}
	return r.Text
}

// Backend answers requests. Errors are *openzone.Error with the WeCom
// errcode the task fails with (710682 busy, 710675 timeout, 790013 a
// malformed answer, 710638 otherwise).
type Backend interface {
	// Name is what the inspector shows as the backend that answered.
	Name() string
	Answer(ctx context.Context, req *Request) (*Result, error)
}

// TagJSON is {tagjson}: WeCom's tag JSON of groups,
// {"tag_group":[{"group_id","group_name","tag_list":[{"tag_id","tag_name"}]}]},
// without HTML escaping (a model reads it as written).
func TagJSON(groups []openzone.TagGroup) string {
	type tag struct {
		TagID   string `json:"tag_id"`
		TagName string `json:"tag_name"`
	}
	type group struct {
		GroupID   string `json:"group_id"`
		GroupName string `json:"group_name"`
		TagList   []tag  `json:"tag_list"`
	}
	out := struct {
		TagGroup []group `json:"tag_group"`
	}{TagGroup: []group{}}
	for _, g := range groups {
		gg := group{GroupID: g.GroupID, GroupName: g.GroupName, TagList: []tag{}}
		for _, t := range g.Tags {
			gg.TagList = append(gg.TagList, tag{t.TagID, t.TagName})
		}
		out.TagGroup = append(out.TagGroup, gg)
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(out)
	return strings.TrimSuffix(b.String(), "\n")
}
