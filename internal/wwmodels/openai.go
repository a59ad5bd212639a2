package wwmodels

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/outbound"
)

// OpenAIConfig configures the openai backend: any endpoint that speaks
// OpenAI's chat-completions API (a hosted service, a local Ollama or
// vLLM). The zone reads it from OPENZONE_OPENAI_BASE_URL,
// OPENZONE_OPENAI_MODEL and OPENZONE_OPENAI_API_KEY.
type OpenAIConfig struct {
	// BaseURL is the API root; the backend posts to BaseURL +
	// "/chat/completions" ("http://127.0.0.1:11434/v1" for Ollama).
	BaseURL string
	// Model is the model name sent when a WeCom model id names none.
	Model string
	// APIKey is sent as "Authorization: Bearer"; empty sends none.
	APIKey string
	// Client sends the requests: the zone's outbound client
	// (outbound.New), so its address policy applies. Required.
	Client *http.Client
	// Timeout bounds one attempt; default 60 s.
	Timeout time.Duration
	// Attempts is how many times a request is tried when the endpoint is
	// busy (429, 5xx), unreachable or too slow; default 3.
	Attempts int
	// Backoff is the wait before the second attempt, doubled each time;
	// default 1 s.
	Backoff time.Duration
	// Sleep waits (time.Sleep's meaning, cancelled with ctx); tests
	// shorten it.
	Sleep func(ctx context.Context, d time.Duration) error
}

// OpenAI is the openai backend.
type OpenAI struct {
	cfg   OpenAIConfig
	model string // this backend's model name (the WeCom model id's, or cfg.Model)
}

// NewOpenAI returns the backend; model overrides cfg.Model when set.
func NewOpenAI(cfg OpenAIConfig, model string) *OpenAI {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleep
	}
	if model == "" {
		model = cfg.Model
	}
	return &OpenAI{cfg: cfg, model: model}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Name implements Backend.
func (o *OpenAI) Name() string { return "openai" }

// Prompt is what the openai backend sends for a request: the general
// model's expanded prompt as it is; for the other models an instruction
// in Chinese and English, the messages, and the JSON answer wanted.
func Prompt(req *Request) string {
	if req.Kind == General {
		return req.Prompt
	}
	var b strings.Builder
	switch req.Kind {
	case Summary:
		b.WriteString("请用中文简要总结以下会话（Summarize the conversation briefly）。只输出摘要。\n")
	case Recommend:
		b.WriteString("根据知识库，为员工推荐一句回复客户最后一条消息的话术（Suggest the staff's reply）。只输出话术。\n知识库：\n")
		for i, k := range req.Knowledge {
			fmt.Fprintf(&b, "文档%d：%s\n", i+1, k)
		}
	case Sentiment:
		b.WriteString(`判断每条消息的情感：0 无，1 正面，2 负面。只输出 JSON：{"results":[{"msgid":"…","value":0}]}` + "\n")
	case Spam:
		b.WriteString(`判断每条消息是否违规：0 正常，1 涉政，2 色情。只输出 JSON：{"results":[{"msgid":"…","value":0}]}` + "\n")
	case CustomerTg:
		b.WriteString(`从以下标签中选出会话体现的客户标签。只输出 JSON：{"tags":[{"group_id":"…","tag_id":"…"}]}` + "\n标签：" + TagJSON(req.TagGroups) + "\n")
	}
	b.WriteString("会话：\n")
	for _, m := range req.Messages {
		if req.Kind == Sentiment || req.Kind == Spam {
			fmt.Fprintf(&b, "[%s] ", m.MsgID)
		}
		fmt.Fprintf(&b, "%s(%s)说：%s\n", m.Who, m.Role, m.Text)
	}
	return b.String()
}

type chatRequest struct {
	Model    string        `json:"model"`
	Messages []chatMessage `json:"messages"`
	Stream   bool          `json:"stream"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatReply struct {
	Choices []struct {
		Message struct {
			Content          *string `json:"content"`
			ReasoningContent string  `json:"reasoning_content"` // DeepSeek-style reasoning
		} `json:"message"`
	} `json:"choices"`
}

// Answer implements Backend: one chat completion (tried again with
// backoff while the endpoint is busy or away), then the answer parsed for
// the request's kind. Errors: 710682 busy after every attempt, 710675
// too slow, 790013 an answer that is not what was asked for, 710638
// otherwise.
func (o *OpenAI) Answer(ctx context.Context, req *Request) (*Result, error) {
	body, _ := json.Marshal(chatRequest{Model: o.model, Messages: []chatMessage{{Role: "user", Content: Prompt(req)}}})
	var last error
	for attempt := 1; attempt <= o.cfg.Attempts; attempt++ {
		if attempt > 1 {
			if err := o.cfg.Sleep(ctx, o.cfg.Backoff<<(attempt-2)); err != nil {
				return nil, openzone.Errorf(openzone.ErrProgramTimeout, "model backend openai: cancelled while waiting to retry: %v", last)
			}
		}
		content, think, err := o.complete(ctx, body)
		if err == nil {
			return parseAnswer(req, content, think)
		}
		last = err
		if !retryable(err) {
			return nil, err
		}
	}
	return nil, last
}

func retryable(err error) bool {
	switch openzone.ErrorCode(err) {
	case openzone.ErrLLMBusy, openzone.ErrProgramTimeout, openzone.ErrCallProgram:
		return true
	}
	return false
}

// complete makes one attempt.
func (o *OpenAI) complete(ctx context.Context, body []byte) (content, think string, err error) {
	ctx, cancel := context.WithTimeout(ctx, o.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(o.cfg.BaseURL, "/")+"/chat/completions", bytes.NewReader(body))
	if err != nil {
		return "", "", openzone.Errorf(openzone.ErrCallProgram, "model backend openai: bad base URL: %v", err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	if o.cfg.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+o.cfg.APIKey)
	}
	resp, err := o.cfg.Client.Do(hreq)
	if err != nil {
		switch {
		case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
			return "", "", openzone.Errorf(openzone.ErrProgramTimeout, "model backend openai: no answer within %s", o.cfg.Timeout)
		case outbound.Refused(err):
			return "", "", openzone.Errorf(openzone.ErrCallProgram, "model backend openai: the outbound policy refuses the endpoint's address (%s)", outbound.Reason(err))
		}
		return "", "", openzone.Errorf(openzone.ErrCallProgram, "model backend openai: the endpoint could not be reached")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		if ctx.Err() != nil {
			return "", "", openzone.Errorf(openzone.ErrProgramTimeout, "model backend openai: no complete answer within %s", o.cfg.Timeout)
		}
		return "", "", openzone.Errorf(openzone.ErrCallProgram, "model backend openai: the answer broke off")
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return "", "", openzone.Errorf(openzone.ErrLLMBusy, "model backend openai: the endpoint is busy (HTTP %d)", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return "", "", openzone.Errorf(openzone.ErrProgramStatus, "model backend openai: HTTP %d (a reply of %d bytes)", resp.StatusCode, len(raw))
	}
	var cr chatReply
	if err := json.Unmarshal(raw, &cr); err != nil || len(cr.Choices) == 0 || cr.Choices[0].Message.Content == nil {
		return "", "", openzone.Errorf(openzone.ErrBadResultJSON, "model backend openai: the answer is not a chat completion")
	}
	return *cr.Choices[0].Message.Content, cr.Choices[0].Message.ReasoningContent, nil
}

// parseAnswer reads a completion for the request's kind: <think>…</think>
// at its start (or the reply's reasoning) is the reasoning; the other
// kinds' JSON is found between the first '{' and the last '}'.
func parseAnswer(req *Request, content, think string) (*Result, error) {
	content = strings.TrimSpace(content)
	if rest, ok := strings.CutPrefix(content, "<think>"); ok {
		if t, after, ok := strings.Cut(rest, "</think>"); ok {
			think, content = strings.TrimSpace(t), strings.TrimSpace(after)
		}
	}
	switch req.Kind {
	case General, Summary, Recommend:
		return &Result{Text: content, Think: think}, nil
	}
	i, j := strings.IndexByte(content, '{'), strings.LastIndexByte(content, '}')
	if i < 0 || j < i {
		return nil, openzone.Errorf(openzone.ErrBadResultJSON, "model backend openai: the answer holds no JSON object")
	}
	var out struct {
		Results []Label  `json:"results"`
		Tags    []TagHit `json:"tags"`
	}
	if err := json.Unmarshal([]byte(content[i:j+1]), &out); err != nil {
		return nil, openzone.Errorf(openzone.ErrBadResultJSON, "model backend openai: the answer's JSON does not parse")
	}
	res := &Result{Think: think}
	if req.Kind == CustomerTg {
		known := map[[2]string]bool{}
		for _, g := range req.TagGroups {
			for _, t := range g.Tags {
				known[[2]string{g.GroupID, t.TagID}] = true
			}
		}
		res.Tags = []TagHit{}
		for _, h := range out.Tags {
			if known[[2]string{h.GroupID, h.TagID}] { // a model may invent tags: only the asked-for ones count
				res.Tags = append(res.Tags, h)
			}
		}
		return res, nil
	}
	got := map[string]int{}
	for _, l := range out.Results {
		if l.Value < 0 || l.Value > 2 {
			return nil, openzone.Errorf(openzone.ErrBadResultJSON, "model backend openai: value %d for message %q is not 0, 1 or 2", l.Value, l.MsgID)
		}
		got[l.MsgID] = l.Value
	}
	res.Labels = []Label{}
	for _, m := range req.Messages {
		v, ok := got[m.MsgID]
		if !ok {
			return nil, openzone.Errorf(openzone.ErrBadResultJSON, "model backend openai: the answer has no value for message %q", m.MsgID)
		}
		res.Labels = append(res.Labels, Label{MsgID: m.MsgID, Value: v})
	}
	return res, nil
}
