package tasks

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/jobs"
	"github.com/openzone/openzone/internal/protocol"
	"github.com/openzone/openzone/internal/quota"
	"github.com/openzone/openzone/internal/specapi"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/traffic"
	"github.com/openzone/openzone/internal/wwmodels"
)

// WeCom's own models (企业微信官方模型): the general model and the five
// analysis models. The zone answers them itself, through the backend set
// for the model id (docs/decisions.md, "WeCom's own models").

// Daily quotas per corp (WeCom: 10,000 calls of the general model and of
// own-model tasks; 100,000 messages of sentiment and spam analysis).
const (
	DefaultModelCallsPerDay    = 10000
	DefaultModelMessagesPerDay = 100000
)

// Model ids the zone knows without configuration: the general model's
// (the first is the default, WeCom's 混元快速回答) and each analysis
// model's own. A model id set in the store (ww_models in a seed) is known
// too.
var (
	GeneralModels   = []string{"hunyuan-fast", "hunyuan-think", "deepseek-r1", "deepseek-v3"}
	AnalysisModelID = map[wwmodels.Kind]string{
		wwmodels.Summary: "ww-summary", wwmodels.Sentiment: "ww-sentiment", wwmodels.Spam: "ww-spam",
		wwmodels.Recommend: "ww-recommend-dialog", wwmodels.CustomerTg: "ww-customer-tag",
	}
)

// wwInterfaces names each kind's create and result interfaces.
var wwInterfaces = map[wwmodels.Kind][2]string{
	wwmodels.General:    {"create_ww_model_task", "get_ww_model_result"},
	wwmodels.Summary:    {"create_summary_task", "get_summary_result"},
	wwmodels.Sentiment:  {"create_sentiment_task", "get_sentiment_result"},
	wwmodels.Spam:       {"create_spam_task", "get_spam_result"},
	wwmodels.Recommend:  {"create_recommend_dialog_task", "get_recommend_dialog_result"},
	wwmodels.CustomerTg: {"create_customer_tag_task", "get_customer_tag_result"},
}

// RegisterWW adds WeCom's models' interfaces, and the old names of the
// own-model task interfaces, to the SDK registry.
func (s *Service) registerWW(r *specapi.Registry) {
	for kind, names := range wwInterfaces {
		r.Register(names[0], func(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
			return s.createWW(ctx, c, kind, raw)
		})
		r.Register(names[1], func(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
			return s.resultWW(ctx, c, kind, raw)
		})
	}
	r.Register("create_private_task", s.createModelTask)
	r.Register("get_private_task_result", s.resultOf(openzone.TaskModel))
}

// limits are the quotas of a kind: calls, and messages (sentiment, spam).
func (s *Service) limits(kind openzone.TaskKind) (calls, msgs quota.Limit) {
	n, m := s.cfg.ModelCallsPerDay, s.cfg.ModelMessagesPerDay
	if n == 0 {
		n = DefaultModelCallsPerDay
	}
	if m == 0 {
		m = DefaultModelMessagesPerDay
	}
	switch wwmodels.Kind(kind) {
	case wwmodels.Sentiment, wwmodels.Spam:
		return quota.Limit{}, quota.Limit{Name: string(kind) + "_msgs", Max: m, Window: quota.ChinaDay, What: string(kind) + " messages a day"}
	}
	return quota.Limit{Name: string(kind) + "_calls", Max: n, Window: quota.ChinaDay, What: string(kind) + " model calls a day"}, quota.Limit{}
}

// take counts a task against its kind's quotas (45009 past one).
func (s *Service) take(ctx context.Context, kind openzone.TaskKind, corpID string, msgs int) error {
	if s.cfg.Quota == nil {
		return nil
	}
	calls, ms := s.limits(kind)
	if calls.Name != "" {
		if err := s.cfg.Quota.Take(ctx, calls, corpID, 1); err != nil {
			return err
		}
	}
	if ms.Name != "" {
		return s.cfg.Quota.Take(ctx, ms, corpID, int64(max(msgs, 1)))
	}
	return nil
}

// QuotaUsage is a corp's use of each model quota today.
func (s *Service) QuotaUsage(ctx context.Context, corpID string) (map[string]quota.Usage, error) {
	out := map[string]quota.Usage{}
	if s.cfg.Quota == nil {
		return out, nil
	}
	kinds := []openzone.TaskKind{openzone.TaskModel}
	for k := range wwInterfaces {
		kinds = append(kinds, openzone.TaskKind(k))
	}
	for _, k := range kinds {
		calls, msgs := s.limits(k)
		for _, l := range []quota.Limit{calls, msgs} {
			if l.Name == "" {
				continue
			}
			u, err := s.cfg.Quota.Used(ctx, l, corpID)
			if err != nil {
				return nil, err
			}
			out[l.Name] = u
		}
	}
	return out, nil
}

// wwReq is the request of every WeCom model interface; each reads the
// fields its interface has.
type wwReq struct {
	ModelID         string     `json:"model_id"`
	KbID            string     `json:"kb_id"`
	ServiceKbID     string     `json:"service_kb_id"`
	MsgList         *[]msgItem `json:"msg_list"`
	NeedThinkResult bool       `json:"need_think_result"`
	DebugInfo       *debugInfo `json:"debug_info"`
	TagGroupList    []struct {
		GroupID string `json:"group_id"`
	} `json:"tag_group_list"`
	VarArgs []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"var_args"`
	DocRetrievalParams *struct {
		RetrievedKnowledgeList []struct {
			Fragment string `json:"fragment"`
			RefID    string `json:"ref_id"`
		} `json:"retrieved_knowledge_list"`
	} `json:"doc_retrieval_params"`
}

type wwCreateReply struct {
	openzone.Base
	JobID              string    `json:"jobid"`
	FailList           []failMsg `json:"fail_list"`
	FailTagGroupIDList []string  `json:"fail_tag_group_id_list,omitempty"`
}

// modelOf returns the model id a request names (or its kind's default),
// 800001 for one the zone does not know.
func (s *Service) modelOf(ctx context.Context, kind wwmodels.Kind, asked string) (string, error) {
	def := AnalysisModelID[kind]
	if kind == wwmodels.General {
		def = GeneralModels[0]
	}
	if asked == "" {
		return def, nil
	}
	if asked == def || kind == wwmodels.General && slices.Contains(GeneralModels, asked) {
		return asked, nil
	}
	if _, err := s.cfg.Store.WWModelGet(ctx, asked); err == nil {
		return asked, nil
	} else if !openzone.IsNotFound(err) {
		return "", err
	}
	return "", openzone.Errorf(openzone.ErrBadProgramID, "illegal model_id %q: this zone has %s and the model ids its ww_models set", asked, strings.Join(append(slices.Clone(GeneralModels), def), ", "))
}

// createWW is create_<kind>_task: checks in order — msg_list (40058,
// 710623), the model (800001), what the kind needs (kb_id, tag groups,
// the calling ability's template), the messages (fail_list; none usable
// 790041), the quota (45009) — then the task and its job in one
// transaction.
func (s *Service) createWW(ctx context.Context, c *specapi.Context, kind wwmodels.Kind, raw json.RawMessage) (openzone.Reply, error) {
	var req wwReq
	if err := decode(raw, &req); err != nil {
		return nil, err
	}
	if req.MsgList == nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter msg_list (required in debug mode too, where its content is ignored)")
	}
	if len(*req.MsgList) > MaxMsgList {
		return nil, openzone.Errorf(openzone.ErrTooManyMsgs, "msg_list has %d items, at most %d", len(*req.MsgList), MaxMsgList)
	}
	if kind == wwmodels.Recommend && req.KbID == "" && req.ServiceKbID == "" && !c.Debug {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter kb_id (recommended replies come from a knowledge set)")
	}
	if kind == wwmodels.CustomerTg && len(req.TagGroupList) == 0 && !c.Debug {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter tag_group_list")
	}
	modelID, err := s.modelOf(ctx, kind, req.ModelID)
	if err != nil {
		return nil, err
	}
	var template string
	if kind == wwmodels.General {
		if template, err = s.template(ctx, c); err != nil {
			return nil, err
		}
	}
	mr := &wwmodels.Request{Kind: kind, ModelID: modelID, NeedThink: req.NeedThinkResult}
	fails, failGroups, err := s.fillWW(ctx, c, &req, mr)
	if err != nil {
		return nil, err
	}
	if kind == wwmodels.General {
		if mr.Prompt, err = expandGeneral(template, &req, mr, c.Debug); err != nil {
			return nil, err
		}
	}
	backend, err := s.backendName(ctx, modelID)
	if err != nil {
		return nil, err
	}
	if err := s.take(ctx, openzone.TaskKind(kind), c.CorpID, len(mr.Messages)); err != nil {
		return nil, err
	}
	body, _ := json.Marshal(mr)
	failJSON, _ := json.Marshal(fails)
	t := &openzone.Task{Kind: openzone.TaskKind(kind), CorpID: c.CorpID, AgentID: c.AgentID, CallerID: c.ProgramID,
		ProgramID: modelID, AbilityID: backend, FailList: failJSON, Debug: c.Debug}
	if err := s.create(ctx, t, body, AnswerArgs{}); err != nil {
		return nil, err
	}
	out := &wwCreateReply{Base: openzone.OK, JobID: t.JobID, FailList: fails}
	if kind == wwmodels.CustomerTg {
		out.FailTagGroupIDList = failGroups
	}
	return out, nil
}

// template is the general model's prompt template: the input protocol of
// the calling program's ability (the invoke's ability_id), as WeCom's
// console configures it for the ability that calls the model.
func (s *Service) template(ctx context.Context, c *specapi.Context) (string, error) {
	if c.AbilityID == "" {
		return "", openzone.Errorf(openzone.ErrBadAbilityID, "the invoke names no ability_id: the general model's prompt is the input protocol of the calling ability")
	}
	prog, err := s.cfg.Store.ProgramGet(ctx, c.ProgramID)
	if err != nil {
		return "", err
	}
	ab := prog.Ability(c.AbilityID)
	if ab == nil {
		return "", openzone.Errorf(openzone.ErrBadAbilityID, "illegal ability_id %q: program %q has no such ability (its input protocol is the general model's prompt)", c.AbilityID, c.ProgramID)
	}
	if _, err := protocol.Cached(ab.Input); err != nil {
		return "", openzone.Errorf(openzone.ErrBadProtocol, "the input protocol of ability %q is not a valid JSON template", c.AbilityID)
	}
	return string(ab.Input), nil
}

// fillWW fills mr's messages, knowledge and tag groups: from debug_info
// in debug mode (the archive is not read), else from the archive, the
// knowledge set and the corp's tag groups. It returns the fail list and,
// for tag groups asked for, those the corp does not have.
func (s *Service) fillWW(ctx context.Context, c *specapi.Context, req *wwReq, mr *wwmodels.Request) ([]failMsg, []string, error) {
	if c.Debug {
		return []failMsg{}, []string{}, s.fillDebug(ctx, c, req, mr)
	}
	msgs, fails, err := s.loadMessages(ctx, c.CorpID, *req.MsgList)
	if err != nil {
		return nil, nil, err
	}
	if len(msgs) == 0 && len(*req.MsgList) > 0 {
		return nil, nil, openzone.Errorf(openzone.ErrAllMsgsFailed, "none of the %d messages in msg_list could be loaded (first: errcode %d, %s)", len(*req.MsgList), fails[0].Errcode, fails[0].Errmsg)
	}
	mr.Messages = msgs
	switch mr.Kind {
	case wwmodels.General, wwmodels.Recommend:
		if mr.Knowledge, err = s.knowledgeFor(ctx, c, req.KbID, req.ServiceKbID, contentLines(msgs)); err != nil {
			return nil, nil, err
		}
	}
	var failGroups []string
	switch mr.Kind {
	case wwmodels.General:
		if mr.TagGroups, err = s.cfg.Store.TagGroupList(ctx, c.CorpID); err != nil {
			return nil, nil, err
		}
	case wwmodels.CustomerTg:
		ids := make([]string, len(req.TagGroupList))
		for i, g := range req.TagGroupList {
			ids[i] = g.GroupID
		}
		if mr.TagGroups, failGroups, err = s.tagGroups(ctx, c.CorpID, ids); err != nil {
			return nil, nil, err
		}
		if len(mr.TagGroups) == 0 {
			return nil, nil, openzone.Errorf(openzone.ErrInvalidParam, "none of the tag groups of tag_group_list (%s) is a customer tag group of corp %s", strings.Join(failGroups, ", "), c.CorpID)
		}
	}
	return fails, failGroups, nil
}

// fillDebug fills mr from debug_info: chat and chat_content required;
// chat_content's lines are the messages, paired in order with msg_list's
// msgids for the per-message answers; knowledge's lines ("文档N：…") the
// fragments; tagjson the tag groups.
func (s *Service) fillDebug(ctx context.Context, c *specapi.Context, req *wwReq, mr *wwmodels.Request) error {
	d := req.DebugInfo
	if d == nil || d.Chat == nil || d.ChatContent == nil {
		return openzone.Errorf(openzone.ErrInvalidParam, "debug mode: debug_info.chat and debug_info.chat_content are required (they stand in for archived messages)")
	}
	lines := strings.Split(*d.ChatContent, "\n")
	chatLines := strings.Split(*d.Chat, "\n")
	for i, text := range lines {
		m := wwmodels.Message{Text: text, Role: wwmodels.RoleCustomer}
		if i < len(*req.MsgList) {
			m.MsgID = (*req.MsgList)[i].MsgID
		}
		if i < len(chatLines) {
			if who, _, ok := strings.Cut(chatLines[i], "说："); ok {
				m.Who = who
			}
		}
		mr.Messages = append(mr.Messages, m)
	}
	if d.Knowledge != nil && *d.Knowledge != "" {
		for _, l := range strings.Split(*d.Knowledge, "\n") {
			mr.Knowledge = append(mr.Knowledge, docPrefix.ReplaceAllString(l, ""))
		}
	}
	mr.TagGroups = []openzone.TagGroup{}
	if d.TagJSON != nil && *d.TagJSON != "" {
		var tj struct {
			TagGroup []struct {
				GroupID   string         `json:"group_id"`
				GroupName string         `json:"group_name"`
				TagList   []openzone.Tag `json:"tag_list"`
			} `json:"tag_group"`
		}
		if err := json.Unmarshal([]byte(*d.TagJSON), &tj); err != nil {
			return openzone.Errorf(openzone.ErrInvalidParam, "debug_info.tagjson is not tag JSON ({\"tag_group\":[{\"group_id\",\"group_name\",\"tag_list\":[{\"tag_id\",\"tag_name\"}]}]})")
		}
		for _, g := range tj.TagGroup {
			mr.TagGroups = append(mr.TagGroups, openzone.TagGroup{GroupID: g.GroupID, GroupName: g.GroupName, Tags: g.TagList})
		}
	} else if mr.Kind == wwmodels.CustomerTg {
		groups, err := s.cfg.Store.TagGroupList(ctx, c.CorpID)
		if err != nil {
			return err
		}
		mr.TagGroups = groups
	}
	return nil
}

var docPrefix = regexp.MustCompile(`^文档\d+：`)

// knowledgeFor returns the knowledge set's fragments for query; none
// without a kb_id; 800000 while the zone serves no knowledge sets.
func (s *Service) knowledgeFor(ctx context.Context, c *specapi.Context, kbID, serviceKbID, query string) ([]string, error) {
	if kbID == "" && serviceKbID == "" {
		return nil, nil
	}
	if s.cfg.Knowledge == nil || c.App == nil {
		id := kbID
		if id == "" {
			id = serviceKbID
		}
		return nil, openzone.Errorf(openzone.ErrBadKnowledgeBase, "illegal kb_id %q: this zone serves no knowledge sets (知识集) yet", id)
	}
	return s.cfg.Knowledge.ForTask(ctx, c.App, kbID, serviceKbID, query)
}

// tagGroups returns the corp's groups among ids, in the order asked, and
// the ids the corp does not have.
func (s *Service) tagGroups(ctx context.Context, corpID string, ids []string) (found []openzone.TagGroup, missing []string, err error) {
	all, err := s.cfg.Store.TagGroupList(ctx, corpID)
	if err != nil {
		return nil, nil, err
	}
	found, missing = []openzone.TagGroup{}, []string{}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		i := slices.IndexFunc(all, func(g openzone.TagGroup) bool { return g.GroupID == id })
		if i < 0 {
			missing = append(missing, id)
			continue
		}
		found = append(found, all[i])
	}
	return found, missing, nil
}

// Placeholders only the general model has.
const (
	phDocFragments = "{doc_fragments}"
)

// expandGeneral fills the general model's template: {chat} with roles
// ("<who>(<role>)说：<text>"; debug_info.chat as given in debug mode),
// {chatcontent}, {knowledge} ("文档N：…"), {doc_fragments} (the
// retrieved_knowledge_list fragments, "文档N：…"), {tagjson} (the corp's
// tag groups) and the third-party {$name$} from var_args (an unknown
// name stays as written). The substituted text is JSON-escaped (the
// template is a JSON protocol); over MaxExpandedRunes is 790040.
func expandGeneral(template string, req *wwReq, mr *wwmodels.Request, debug bool) (string, error) {
	f := fill{chat: chatLines(mr.Messages, true), chatContent: contentLines(mr.Messages),
		knowledge: numbered(mr.Knowledge), tagJSON: wwmodels.TagJSON(mr.TagGroups)}
	if debug {
		d := req.DebugInfo
		f.chat, f.chatContent = *d.Chat, *d.ChatContent
		if d.Knowledge != nil {
			f.knowledge = *d.Knowledge
		}
		if d.TagJSON != nil {
			f.tagJSON = *d.TagJSON
		}
	}
	var frags []string
	if p := req.DocRetrievalParams; p != nil {
		for _, k := range p.RetrievedKnowledgeList {
			frags = append(frags, k.Fragment)
		}
	}
	// One pass over the template: substituted text is never read again,
	// so a message holding "{chat}" stays as written.
	r := []string{
		phChat, escape(f.chat, 1), phChatContent, escape(f.chatContent, 1), phKnowledge, escape(f.knowledge, 1),
		phTagJSON, escape(f.tagJSON, 1), phDocFragments, escape(numbered(frags), 1),
	}
	for _, v := range req.VarArgs {
		r = append(r, "{$"+v.Name+"$}", escape(v.Value, 1))
	}
	out := strings.NewReplacer(r...).Replace(template)
	if n := utf8.RuneCountInString(out); n > MaxExpandedRunes {
		return "", openzone.Errorf(openzone.ErrInputTooLong, "the prompt after placeholder expansion is %d characters, over the limit of %d", n, MaxExpandedRunes)
	}
	return out, nil
}

func numbered(texts []string) string {
	var b strings.Builder
	for i, t := range texts {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "文档%d：%s", i+1, t)
	}
	return b.String()
}

// backendName is the backend that answers modelID: its store setting,
// else the zone's default.
func (s *Service) backendName(ctx context.Context, modelID string) (string, error) {
	m, err := s.cfg.Store.WWModelGet(ctx, modelID)
	switch {
	case err == nil:
		if m.Backend == openzone.BackendProgram {
			return openzone.BackendProgram + ":" + m.ProgramID, nil
		}
		return m.Backend, nil
	case !openzone.IsNotFound(err):
		return "", err
	case s.cfg.ModelBackend != "":
		return s.cfg.ModelBackend, nil
	}
	return openzone.BackendBuiltin, nil
}

// backend returns the backend that answers t.
func (s *Service) backend(ctx context.Context, t *openzone.Task) (wwmodels.Backend, error) {
	m, err := s.cfg.Store.WWModelGet(ctx, t.ProgramID)
	if openzone.IsNotFound(err) {
		m, err = &openzone.WWModel{ModelID: t.ProgramID, Backend: s.cfg.ModelBackend}, nil
	}
	if err != nil {
		return nil, err
	}
	switch m.Backend {
	case openzone.BackendOpenAI:
		if s.cfg.OpenAI == nil || s.cfg.OpenAI.BaseURL == "" {
			return nil, openzone.Errorf(openzone.ErrCallProgram, "model %q is answered by the openai backend, but the zone has no endpoint (set OPENZONE_OPENAI_BASE_URL)", t.ProgramID)
		}
		return wwmodels.NewOpenAI(*s.cfg.OpenAI, m.OpenAIModel), nil
	case openzone.BackendProgram:
		prog, err := s.cfg.Store.ProgramGet(ctx, m.ProgramID)
		if openzone.IsNotFound(err) {
			return nil, openzone.Errorf(openzone.ErrBadProgramID, "model %q is answered by program %q, which does not exist", t.ProgramID, m.ProgramID)
		}
		if err != nil {
			return nil, err
		}
		return &wwmodels.Program{Gateway: s.cfg.Gateway, Program: prog, AbilityID: m.AbilityID, CorpID: t.CorpID, AgentID: t.AgentID}, nil
	}
	return wwmodels.Builtin{}, nil
}

// AnswerArgs is the job that answers one WeCom model task. Its kind
// never changes.
type AnswerArgs struct {
	JobID string `json:"jobid"`
}

// Kind implements river.JobArgs.
func (AnswerArgs) Kind() string { return "ww_model_answer" }

// InsertOpts: River retries only what failed before the backend answered
// (the store); a backend's failure fails the task at once, its own
// retries (the openai backend's backoff) spent.
func (AnswerArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 5, Queue: jobs.QueueTasks}
}

type answerWorker struct {
	river.WorkerDefaults[AnswerArgs]
	s *Service
}

// Work answers a task through its model's backend and stores the result,
// or fails the task with the backend's errcode. A task already answered
// (a job run again after a crash) is left as it is.
func (w *answerWorker) Work(ctx context.Context, job *river.Job[AnswerArgs]) error {
	s := w.s
	t, err := s.pending(ctx, job.Args.JobID)
	if t == nil {
		return err
	}
	raw, err := s.open(t.JobID, "request", t.Request)
	if err != nil {
		return err
	}
	var req wwmodels.Request
	if err := json.Unmarshal(raw, &req); err != nil {
		return jobs.Cancel(fmt.Errorf("task %s: request: %w", t.JobID, err))
	}
	res, backendName, answerErr := s.answer(ctx, t, &req)
	now := s.cfg.Now()
	if answerErr != nil {
		code := openzone.ErrorCode(answerErr)
		if code == openzone.ErrSystem && job.Attempt < job.MaxAttempts {
			return answerErr // the store, not the backend: try again
		}
		msg := fmt.Sprintf("errcode %d: %s (backend %s)", code, openzone.ErrorMessage(answerErr), backendName)
		if err := s.cfg.Store.TaskAttemptFailed(ctx, store.TaskAttemptFailedParams{JobID: t.JobID, Attempts: t.Attempts + 1,
			ErrCode: code, LastError: msg, Final: true, At: now}); err != nil {
			return err
		}
		s.cfg.Logger.Warn("tasks: model backend failed", "jobid", t.JobID, "model_id", t.ProgramID, "backend", backendName, "errcode", code)
		return nil
	}
	body, _ := json.Marshal(res)
	err = s.cfg.Store.TaskReport(ctx, store.TaskReportParams{JobID: t.JobID, Errcode: 0, Response: s.seal(t.JobID, "response", body), At: now})
	if openzone.ErrorKind(err) == openzone.Conflict {
		return nil // answered already
	}
	return err
}

// answer asks the task's backend, recorded in the inspector like a
// program task's delivery: interface "<create interface>:answer", route
// the backend's name, the prompt (or the request as the backend sees it)
// and the answer, masked.
func (s *Service) answer(ctx context.Context, t *openzone.Task, req *wwmodels.Request) (*wwmodels.Result, string, error) {
	kind := wwmodels.Kind(t.Kind)
	span := s.cfg.Recorder.Begin(openzone.TrafficRecord{Kind: openzone.TrafficCall, CorpID: t.CorpID, AgentID: t.AgentID,
		ProgramID: t.ProgramID, AbilityID: t.AbilityID, Interface: wwInterfaces[kind][0] + ":answer",
		Request: traffic.Mask(wwmodels.Prompt(req)), StartedAt: s.cfg.Now()})
	b, err := s.backend(ctx, t)
	name := t.AbilityID
	var res *wwmodels.Result
	if err == nil {
		name = b.Name()
		if res, err = b.Answer(ctx, req); err != nil && openzone.ErrorCode(err) == openzone.ErrSystem {
			// An error without an errcode is the backend's failure, not
			// the zone's: the task fails with 710638.
			err = openzone.Errorf(openzone.ErrCallProgram, "model backend %s failed", name)
		}
	}
	span.Rec.Route = name
	if res != nil {
		shown, _ := json.Marshal(res)
		span.Rec.Response = traffic.Mask(string(shown))
	}
	span.End(err)
	return res, name, err
}

// Result replies of WeCom's models.

type analyzeResult struct {
	Errcode         int    `json:"errcode"`
	Errmsg          string `json:"errmsg"`
	MsgID           string `json:"msgid"`
	SentimentResult *int   `json:"sentiment_result,omitempty"`
	SpamResult      *int   `json:"spam_result,omitempty"`
}

type wwResultReply struct {
	openzone.Base
	Status            int                `json:"status"` // 0 running, 1 done, 2 failed
	FailList          json.RawMessage    `json:"fail_list,omitempty"`
	ResponseData      *string            `json:"response_data,omitempty"`
	FilteredDocList   *[]string          `json:"filtered_doc_list,omitempty"`
	AnalyzeResultList *[]analyzeResult   `json:"analyze_result_list,omitempty"`
	TagResultList     *[]wwmodels.TagHit `json:"tag_result_list,omitempty"`
	// ResponseErrcode and ResponseErrmsg say why a task failed (status
	// 2), as the own-model tasks' results do.
	ResponseErrcode int    `json:"response_errcode,omitempty"`
	ResponseErrmsg  string `json:"response_errmsg,omitempty"`
}

// resultWW is get_<kind>_result{jobid}: status 0 running, 1 done, 2
// failed, and the kind's fields in WeCom's shapes.
func (s *Service) resultWW(ctx context.Context, c *specapi.Context, kind wwmodels.Kind, raw json.RawMessage) (openzone.Reply, error) {
	t, err := s.ownTask(ctx, c, raw, openzone.TaskKind(kind))
	if err != nil {
		return nil, err
	}
	out := &wwResultReply{Base: openzone.OK}
	fails := []failMsg{}
	json.Unmarshal(orEmpty(t.FailList), &fails)
	if kind != wwmodels.Sentiment && kind != wwmodels.Spam {
		out.FailList = orEmpty(t.FailList)
	}
	switch t.State {
	case openzone.TaskFailed:
		out.Status, out.ResponseErrcode, out.ResponseErrmsg = 2, t.ErrCode, t.LastError
		return out, nil
	case openzone.TaskDone:
		out.Status = 1
	default:
		return out, nil
	}
	body, err := s.open(t.JobID, "response", t.Response)
	if err != nil {
		return nil, err
	}
	var res wwmodels.Result
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, err
	}
	var mr wwmodels.Request
	if rb, err := s.open(t.JobID, "request", t.Request); err == nil {
		json.Unmarshal(rb, &mr)
	}
	switch kind {
	case wwmodels.General, wwmodels.Summary, wwmodels.Recommend:
		data := res.ResponseData(kind == wwmodels.General && mr.NeedThink)
		out.ResponseData = &data
		if kind == wwmodels.General {
			out.FilteredDocList = &[]string{}
		}
	case wwmodels.CustomerTg:
		tags := res.Tags
		if tags == nil {
			tags = []wwmodels.TagHit{}
		}
		out.TagResultList = &tags
	case wwmodels.Sentiment, wwmodels.Spam:
		list := []analyzeResult{}
		for _, l := range res.Labels {
			v := l.Value
			a := analyzeResult{Errmsg: "ok", MsgID: l.MsgID}
			if kind == wwmodels.Sentiment {
				a.SentimentResult = &v
			} else {
				a.SpamResult = &v
			}
			list = append(list, a)
		}
		for _, f := range fails {
			list = append(list, analyzeResult{Errcode: f.Errcode, Errmsg: f.Errmsg, MsgID: f.MsgID})
		}
		out.AnalyzeResultList = &list
	}
	return out, nil
}
