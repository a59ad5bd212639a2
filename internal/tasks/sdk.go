package tasks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/openzone/openzone"
	"github.com/openzone/openzone/internal/debugmode"
	"github.com/openzone/openzone/internal/protocol"
	"github.com/openzone/openzone/internal/specapi"
	"github.com/openzone/openzone/internal/store"
	"github.com/openzone/openzone/internal/wwmodels"
)

// Register adds the task interfaces to the SDK registry.
func (s *Service) Register(r *specapi.Registry) {
	r.Register("create_program_task", s.createProgramTask)
	r.Register("get_program_task_result", s.resultOf(openzone.TaskProgram))
	r.Register("create_model_task", s.createModelTask)
	r.Register("get_model_task_result", s.resultOf(openzone.TaskModel))
	r.Register("program_async_job_call_back", s.asyncJobCallBack)
	r.AllowAgentless("program_async_job_call_back")
	s.registerWW(r)
}

func decode(raw json.RawMessage, v any) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	if err := d.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return openzone.Errorf(openzone.ErrInvalidParam, "parameter %s has the wrong type: want %s", te.Field, te.Type)
		}
		return openzone.Errorf(openzone.ErrInvalidParam, "request is not a valid JSON object")
	}
	return nil
}

// msgItem is one msg_list entry: a message and the secret_key the app
// decrypted from sync_msg's service_encrypt_info.
type msgItem struct {
	MsgID       string `json:"msgid"`
	EncryptInfo struct {
		SecretKey string `json:"secret_key"`
	} `json:"encrypt_info"`
}

// failMsg is a fail_list entry (WeCom's FailMsg).
type failMsg struct {
	Errcode     int    `json:"errcode"`
	Errmsg      string `json:"errmsg"`
	MsgID       string `json:"msgid"`
	EncryptInfo struct {
		SecretKey string `json:"secret_key"`
	} `json:"encrypt_info"`
}

type debugInfo struct {
	Chat        *string `json:"chat"`
	ChatContent *string `json:"chat_content"`
	Knowledge   *string `json:"knowledge"`
	TagJSON     *string `json:"tagjson"`
}

// Replies of the task interfaces.

type createTaskReply struct {
	openzone.Base
	JobID    string    `json:"jobid"`
	FailList []failMsg `json:"fail_list"`
}

type createModelTaskReply struct {
	createTaskReply
	FailTagGroupIDList []string `json:"fail_tag_group_id_list"`
}

// taskResultReply is get_program_task_result / get_model_task_result.
type taskResultReply struct {
	openzone.Base
	FailList        json.RawMessage `json:"fail_list"`
	Status          int             `json:"status"` // 0 running, 1 done, 2 failed
	ResponseErrcode int             `json:"response_errcode"`
	ResponseData    string          `json:"response_data"`
	ResponseErrmsg  string          `json:"response_errmsg,omitempty"` // failed only
}

// taskReq is the request of create_program_task and create_model_task.
type taskReq struct {
	ProgramID    string     `json:"program_id"`
	ModelID      string     `json:"model_id"`
	AbilityID    string     `json:"ability_id"`
	MsgList      *[]msgItem `json:"msg_list"`
	DebugInfo    *debugInfo `json:"debug_info"`
	EscapeType   *int       `json:"escape_type"`
	KbID         string     `json:"kb_id"`
	ServiceKbID  string     `json:"service_kb_id"`
	TagGroupList []struct {
		GroupID string `json:"group_id"`
	} `json:"tag_group_list"`
}

func (s *Service) createProgramTask(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	var req taskReq
	if err := decode(raw, &req); err != nil {
		return nil, err
	}
	t, fails, _, err := s.createTask(ctx, c, openzone.TaskProgram, &req)
	if err != nil {
		return nil, err
	}
	return &createTaskReply{Base: openzone.OK, JobID: t.JobID, FailList: fails}, nil
}

func (s *Service) createModelTask(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	var req taskReq
	if err := decode(raw, &req); err != nil {
		return nil, err
	}
	t, fails, failGroups, err := s.createTask(ctx, c, openzone.TaskModel, &req)
	if err != nil {
		return nil, err
	}
	return &createModelTaskReply{createTaskReply: createTaskReply{Base: openzone.OK, JobID: t.JobID, FailList: fails},
		FailTagGroupIDList: failGroups}, nil
}

// callee names a task's callee: the program or model its request names,
// and that field's name.
func (req *taskReq) callee(kind openzone.TaskKind) (id, field string, want openzone.ProgramKind) {
	if kind == openzone.TaskModel {
		return req.ModelID, "model_id", openzone.KindModel
	}
	return req.ProgramID, "program_id", openzone.KindProgram
}

// createTask applies the checks of create_program_task /
// create_model_task in order — the request, the callee, debug mode — fills
// the callee's input protocol and stores the task.
//
// It returns the task, the fail list and, for a model task, the groups of
// tag_group_list the corp does not have.
func (s *Service) createTask(ctx context.Context, c *specapi.Context, kind openzone.TaskKind, req *taskReq) (*openzone.Task, []failMsg, []string, error) {
	escapeType, err := req.check(kind)
	if err != nil {
		return nil, nil, nil, err
	}
	callee, ability, err := s.callee(ctx, c, kind, req)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := s.debugBoth(ctx, c, kind, callee); err != nil {
		return nil, nil, nil, err
	}
	f, fails, err := s.fill(ctx, c, kind, req)
	if err != nil {
		return nil, fails, nil, err
	}
	if kind == openzone.TaskProgram {
		// A program's input protocol may use {chat} and {chatcontent} only;
		// other braces are its own text.
		f.knowledge, f.tagJSON = phKnowledge, phTagJSON
	}
	input, err := fit(string(ability.Input), f, escapeType)
	if err != nil {
		return nil, nil, nil, openzone.Errorf(openzone.ErrInputTooLong, "%v", err)
	}
	if kind == openzone.TaskModel {
		if err := s.take(ctx, kind, c.CorpID, 0); err != nil {
			return nil, nil, nil, err
		}
	}
	failJSON, _ := json.Marshal(fails)
	t := &openzone.Task{Kind: kind, CorpID: c.CorpID, AgentID: c.AgentID, CallerID: c.ProgramID, ProgramID: callee.ID,
		AbilityID: req.AbilityID, FailList: failJSON, Debug: c.Debug}
	if err := s.create(ctx, t, []byte(input), DeliveryArgs{}); err != nil {
		return nil, nil, nil, err
	}
	if f.failTagGroups == nil {
		f.failTagGroups = []string{}
	}
	return t, fails, f.failTagGroups, nil
}

// check checks a task request's own fields and returns its escape_type.
func (req *taskReq) check(kind openzone.TaskKind) (int, error) {
	calleeID, idField, _ := req.callee(kind)
	if calleeID == "" {
		return 0, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter %s", idField)
	}
	if req.AbilityID == "" {
		return 0, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter ability_id")
	}
	escapeType := 0
	if req.EscapeType != nil {
		if *req.EscapeType != 0 && *req.EscapeType != 1 {
			return 0, openzone.Errorf(openzone.ErrInvalidParam, "escape_type must be 0 (special characters become spaces) or 1 (JSON-escaped), got %d", *req.EscapeType)
		}
		escapeType = *req.EscapeType
	}
	if req.MsgList == nil {
		return 0, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter msg_list (required in debug mode too, where its content is ignored)")
	}
	if len(*req.MsgList) > MaxMsgList {
		return 0, openzone.Errorf(openzone.ErrTooManyMsgs, "msg_list has %d items, at most %d", len(*req.MsgList), MaxMsgList)
	}
	return escapeType, nil
}

// callee finds the task's callee and ability: a program or model of the
// kind asked for (800001), configured for the app (790020), with the
// ability (800003), whose input protocol compiles (790012).
func (s *Service) callee(ctx context.Context, c *specapi.Context, kind openzone.TaskKind, req *taskReq) (*openzone.Program, *openzone.Ability, error) {
	calleeID, idField, want := req.callee(kind)
	callee, err := s.cfg.Store.ProgramGet(ctx, calleeID)
	if err != nil && !openzone.IsNotFound(err) {
		return nil, nil, err
	}
	if callee == nil || callee.Kind != want {
		return nil, nil, openzone.Errorf(openzone.ErrBadProgramID, "invalid %s %q: no such %s", idField, calleeID, want)
	}
	has, err := s.cfg.Store.AppProgramHas(ctx, store.AppProgramHasParams{CorpID: c.CorpID, AgentID: c.AgentID, ProgramID: calleeID})
	if err != nil {
		return nil, nil, err
	}
	if !has {
		return nil, nil, openzone.Errorf(openzone.ErrNotAssociated, "%s %q is not configured for app %d of corp %s", want, calleeID, c.AgentID, c.CorpID)
	}
	if err := debugmode.CheckUse(ctx, s.cfg.Store, c.App, callee); err != nil {
		return nil, nil, err
	}
	ability := callee.Ability(req.AbilityID)
	if ability == nil {
		return nil, nil, openzone.Errorf(openzone.ErrAbilityNotFound, "%s %q has no ability %q", want, calleeID, req.AbilityID)
	}
	if _, err := protocol.Cached(ability.Input); err != nil {
		return nil, nil, openzone.Errorf(openzone.ErrBadProtocol, "the input protocol of ability %q is not a valid JSON template", req.AbilityID)
	}
	return callee, ability, nil
}

// debugBoth applies debug mode's rule for tasks: caller and callee both
// in debug mode or neither (docs/wecom.md, "Debug mode", 710673); outside
// it the callee must be reachable.
func (s *Service) debugBoth(ctx context.Context, c *specapi.Context, kind openzone.TaskKind, callee *openzone.Program) error {
	var calleeDebug bool
	if s.cfg.Debug != nil {
		r, err := s.cfg.Debug.Route(ctx, c.CorpID, c.AgentID, callee.ID)
		if err != nil {
			return err
		}
		calleeDebug = r != nil
	}
	want := callee.Kind
	switch {
	case c.Debug && !calleeDebug:
		return openzone.Errorf(openzone.ErrNotInDebugMode, "the caller is in debug mode but %s %q is not in debug mode for app %d of corp %s: open it for the callee too", want, callee.ID, c.AgentID, c.CorpID)
	case !c.Debug && calleeDebug:
		return openzone.Errorf(openzone.ErrNotInDebugMode, "%s %q is in debug mode for app %d but the calling program %q is not: open debug mode in the caller's SDK too", want, callee.ID, c.AgentID, c.ProgramID)
	case !c.Debug:
		return s.reachable(ctx, c.CorpID, c.AgentID, callee)
	}
	return nil
}

// fill gathers what fills the placeholders: debug_info in debug mode,
// which stands in for the archive (never read then); else the messages of
// msg_list from the archive, with those that cannot be used in the fail
// list (all failing is 790041).
func (s *Service) fill(ctx context.Context, c *specapi.Context, kind openzone.TaskKind, req *taskReq) (fill, []failMsg, error) {
	var f fill
	if c.Debug {
		d := req.DebugInfo
		if d == nil || d.Chat == nil || d.ChatContent == nil {
			return f, nil, openzone.Errorf(openzone.ErrInvalidParam, "debug mode: debug_info.chat and debug_info.chat_content are required (they fill {chat} and {chatcontent} in place of archived messages)")
		}
		f.chat, f.chatContent = *d.Chat, *d.ChatContent
		if kind == openzone.TaskModel {
			if d.Knowledge != nil {
				f.knowledge = *d.Knowledge
			}
			f.tagJSON = `{"tag_group":[]}`
			if d.TagJSON != nil {
				f.tagJSON = *d.TagJSON
			}
		}
		return f, []failMsg{}, nil
	}
	f, fails, used, err := s.fromArchive(ctx, c.CorpID, *req.MsgList)
	if err != nil {
		return f, nil, err
	}
	if used == 0 && len(*req.MsgList) > 0 {
		return f, fails, openzone.Errorf(openzone.ErrAllMsgsFailed, "none of the %d messages in msg_list could be loaded (first: errcode %d, %s)", len(*req.MsgList), fails[0].Errcode, fails[0].Errmsg)
	}
	if kind == openzone.TaskModel {
		// {tagjson}: the groups of tag_group_list the corp has; the
		// others are returned in fail_tag_group_id_list.
		ids := make([]string, len(req.TagGroupList))
		for i, g := range req.TagGroupList {
			ids[i] = g.GroupID
		}
		groups, missing, err := s.tagGroups(ctx, c.CorpID, ids)
		if err != nil {
			return f, nil, err
		}
		f.tagJSON, f.failTagGroups = wwmodels.TagJSON(groups), missing
		// {knowledge}: the set's best fragments for the chat's text.
		if f.fragments, err = s.knowledge(ctx, c, req, f.chatContent); err != nil {
			return f, nil, err
		}
	}
	return f, fails, nil
}

// knowledge returns the fragments of the model task's kb_id (or
// service_kb_id) for the chat's text; none without a set.
func (s *Service) knowledge(ctx context.Context, c *specapi.Context, req *taskReq, query string) ([]string, error) {
	if req.KbID == "" && req.ServiceKbID == "" {
		return nil, nil
	}
	if s.cfg.Knowledge == nil || c.App == nil {
		id := req.KbID
		if id == "" {
			id = req.ServiceKbID
		}
		return nil, openzone.Errorf(openzone.ErrBadKnowledgeBase, "illegal kb_id %q: this zone serves no knowledge sets", id)
	}
	return s.cfg.Knowledge.ForTask(ctx, c.App, req.KbID, req.ServiceKbID, query)
}

// fromArchive loads msg_list from the archive with each item's
// secret_key: {chat} gets "<sender>说：<text>" lines and {chatcontent}
// the texts, in send_time order. Items that cannot be used go to the
// fail list; used counts the others.
func (s *Service) fromArchive(ctx context.Context, corpID string, items []msgItem) (fill, []failMsg, int, error) {
	msgs, fails, err := s.loadMessages(ctx, corpID, items)
	if err != nil {
		return fill{}, nil, 0, err
	}
	return fill{chat: chatLines(msgs, false), chatContent: contentLines(msgs)}, fails, len(msgs), nil
}

// chatLines writes {chat}: "<who>说：<text>" a line, or with roles
// "<who>(<role>)说：<text>" (the general model's).
func chatLines(msgs []wwmodels.Message, roles bool) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(m.Who)
		if roles {
			b.WriteString("(" + m.Role + ")")
		}
		b.WriteString("说：" + m.Text)
	}
	return b.String()
}

// contentLines writes {chatcontent}: the texts, a line each.
func contentLines(msgs []wwmodels.Message) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(m.Text)
	}
	return b.String()
}

// roles names a sender type as the general model's {chat} does.
var roles = map[int]string{1: wwmodels.RoleStaff, 2: wwmodels.RoleCustomer, 3: wwmodels.RoleBot}

// loadMessages loads msg_list from the archive with each item's
// secret_key, in send_time order. Items that cannot be used go to the
// fail list: a repeated msgid 710613 (the first is used), unknown 710601,
// a wrong key 710603, voice 710700, other non-text types 710602.
func (s *Service) loadMessages(ctx context.Context, corpID string, items []msgItem) ([]wwmodels.Message, []failMsg, error) {
	fails := []failMsg{}
	fail := func(it msgItem, code int, format string, args ...any) {
		fm := failMsg{Errcode: code, Errmsg: fmt.Sprintf(format, args...), MsgID: it.MsgID}
		fm.EncryptInfo.SecretKey = it.EncryptInfo.SecretKey
		fails = append(fails, fm)
	}
	names, err := s.names(ctx, corpID)
	if err != nil {
		return nil, nil, err
	}
	type line struct {
		at int64
		m  wwmodels.Message
	}
	var lines []line
	seen := map[string]bool{}
	for _, it := range items {
		if seen[it.MsgID] {
			fail(it, openzone.ErrDuplicateMsgID, "duplicate msgid %q: the first occurrence is used", it.MsgID)
			continue
		}
		seen[it.MsgID] = true
		if it.MsgID == "" {
			fail(it, openzone.ErrBadMsgID, "msgid is empty")
			continue
		}
		m, err := s.cfg.Store.MessageGet(ctx, corpID, it.MsgID)
		if openzone.IsNotFound(err) {
			fail(it, openzone.ErrBadMsgID, "msgid %q is not an archived message of corp %s", it.MsgID, corpID)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		content, err := s.cfg.Archive.Content(m, it.EncryptInfo.SecretKey)
		if err != nil {
			fail(it, openzone.ErrBadMsgKey, "encrypt_info.secret_key does not open message %q", it.MsgID)
			continue
		}
		switch m.MsgType {
		case 1:
		case 6, 21:
			fail(it, openzone.ErrSpeechToText, "message %q is voice: this zone has no speech-to-text", it.MsgID)
			continue
		default:
			fail(it, openzone.ErrBadMsgType, "message %q has msgtype %d: only text, voice and audio archive messages can be analysed", it.MsgID, m.MsgType)
			continue
		}
		var txt struct {
			Content string `json:"content"`
		}
		json.Unmarshal(content, &txt)
		who := m.Sender.ID
		if n := names[m.Sender.ID]; n != "" {
			who = n
		}
		lines = append(lines, line{at: m.SendTime.UnixMilli(), m: wwmodels.Message{MsgID: it.MsgID, Who: who, Role: roles[m.Sender.Type], Text: txt.Content}})
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].at < lines[j].at })
	msgs := make([]wwmodels.Message, len(lines))
	for i, l := range lines {
		msgs[i] = l.m
	}
	return msgs, fails, nil
}

// names maps member and external contact ids of a corp to their names.
func (s *Service) names(ctx context.Context, corpID string) (map[string]string, error) {
	out := map[string]string{}
	ms, err := s.cfg.Store.MemberList(ctx, corpID)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		out[m.UserID] = m.Name
	}
	ec, err := s.cfg.Store.ExternalContactList(ctx, corpID)
	if err != nil {
		return nil, err
	}
	for _, e := range ec {
		out[e.ExternalUserID] = e.Name
	}
	return out, nil
}

// ownTask reads the task a result interface's {jobid} names: one the
// calling program created for this corp and app (40058 otherwise), of
// kind (710616 otherwise).
func (s *Service) ownTask(ctx context.Context, c *specapi.Context, raw json.RawMessage, kind openzone.TaskKind) (*openzone.Task, error) {
	var req struct {
		JobID string `json:"jobid"`
	}
	if err := decode(raw, &req); err != nil {
		return nil, err
	}
	if req.JobID == "" {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter jobid")
	}
	t, err := s.cfg.Store.TaskGet(ctx, req.JobID)
	if err != nil && !openzone.IsNotFound(err) {
		return nil, err
	}
	if t == nil || t.CallerID != c.ProgramID || t.CorpID != c.CorpID || t.AgentID != c.AgentID {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "invalid jobid %q: this program created no task with it for this app (results are kept %s)", req.JobID, Retention)
	}
	if t.Kind != kind {
		return nil, openzone.Errorf(openzone.ErrTaskTypeMismatch, "job %s is a %s task, not a %s task", req.JobID, t.Kind, kind)
	}
	return t, nil
}

// resultOf is get_program_task_result / get_model_task_result{jobid}:
// status 0 running, 1 done, 2 failed.
func (s *Service) resultOf(kind openzone.TaskKind) specapi.Interface {
	return func(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
		t, err := s.ownTask(ctx, c, raw, kind)
		if err != nil {
			return nil, err
		}
		out := &taskResultReply{Base: openzone.OK, FailList: orEmpty(t.FailList)}
		state, code, msg := s.status(t)
		switch state {
		case openzone.TaskDone:
			data, err := s.open(t.JobID, "response", t.Response)
			if err != nil {
				return nil, err
			}
			out.Status, out.ResponseErrcode, out.ResponseData = 1, t.ResponseErrcode, string(data)
		case openzone.TaskFailed:
			out.Status, out.ResponseErrcode, out.ResponseErrmsg = 2, code, msg
		}
		return out, nil
	}
}

func orEmpty(b json.RawMessage) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("[]")
	}
	return b
}

// asyncJobCallBack is program_async_job_call_back{errcode, result}
// (上报异步任务结果), from the SDK context of the async call: its job_info
// names the task. A result reported with errcode 0 must match the
// callee's output protocol; the first report wins and any later one is
// refused with 790010, leaving the first untouched.
func (s *Service) asyncJobCallBack(ctx context.Context, c *specapi.Context, raw json.RawMessage) (openzone.Reply, error) {
	if c.JobInfo == "" {
		return nil, openzone.Errorf(openzone.ErrBadJobInfo, "job_info is missing from the SDK context: report from the context of the async call (is_async) that carried it")
	}
	jobID, ok := s.parseJobInfo(c.JobInfo, c.ProgramID)
	if !ok {
		return nil, openzone.Errorf(openzone.ErrBadJobInfo, "illegal job_info: it is not one the zone gave program %q", c.ProgramID)
	}
	var req struct {
		Errcode *int    `json:"errcode"`
		Result  *string `json:"result"`
	}
	if err := decode(raw, &req); err != nil {
		return nil, err
	}
	if req.Errcode == nil {
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "missing required parameter errcode (0 = success)")
	}
	t, err := s.cfg.Store.TaskGet(ctx, jobID)
	if openzone.IsNotFound(err) {
		return nil, openzone.Errorf(openzone.ErrBadJobInfo, "illegal job_info: job %s is unknown or expired (kept %s)", jobID, Retention)
	}
	if err != nil {
		return nil, err
	}
	if t.CorpID != c.CorpID {
		return nil, openzone.Errorf(openzone.ErrBadJobInfo, "illegal job_info: job %s belongs to another corp", jobID)
	}
	if state, _, msg := s.status(t); state == openzone.TaskDone || state == openzone.TaskFailed {
		if msg == "" {
			msg = "its result was already reported"
		}
		return nil, openzone.Errorf(openzone.ErrTaskNotRunning, "job %s is not in progress: %s", jobID, msg)
	}
	result := ""
	if req.Result != nil {
		result = *req.Result
	}
	if *req.Errcode == 0 {
		if err := s.checkOutput(ctx, t, result); err != nil {
			return nil, err
		}
	}
	if err := s.cfg.Store.TaskReport(ctx, store.TaskReportParams{JobID: jobID, Errcode: *req.Errcode, Response: s.seal(jobID, "response", []byte(result)), At: s.cfg.Now()}); err != nil {
		if openzone.ErrorKind(err) == openzone.Conflict {
			return nil, openzone.Errorf(openzone.ErrTaskNotRunning, "job %s is not in progress: its result was already reported", jobID)
		}
		return nil, err
	}
	return openzone.OK, nil
}

func (s *Service) checkOutput(ctx context.Context, t *openzone.Task, result string) error {
	prog, err := s.cfg.Store.ProgramGet(ctx, t.ProgramID)
	if err != nil {
		return err
	}
	ab := prog.Ability(t.AbilityID)
	if ab == nil {
		return openzone.Errorf(openzone.ErrAbilityNotFound, "program %q no longer has ability %q", t.ProgramID, t.AbilityID)
	}
	out, err := protocol.Cached(ab.Output)
	if err != nil {
		return openzone.Errorf(openzone.ErrBadProtocol, "the output protocol of ability %q is not a valid JSON template", ab.ID)
	}
	if err := out.Match([]byte(result)); err != nil {
		if errors.Is(err, protocol.ErrNotJSON) {
			return openzone.Errorf(openzone.ErrBadResultJSON, "result is not valid JSON")
		}
		return openzone.Errorf(openzone.ErrResultMismatch, "result does not match the output protocol of ability %q: %v", ab.ID, err)
	}
	return nil
}
