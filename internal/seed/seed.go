// Package seed reads OpenZone seed files: the YAML file that `openzone serve
// --seed FILE` and `openzone seed apply FILE` load into a zone (docs/operations.md).
//
// The format is a fixed point; this package is its definition:
//
//	providers:
//	  - id: isv-demo                  # required, unique
//	    name: Demo ISV
//	    test_corps: [wwdemo]          # corps of this file
//	corps:
//	  - corpid: wwdemo                # required, unique
//	    name: Demo Corp
//	    members: [{userid: zhangsan, name: Zhang San}]
//	    external_contacts: [{external_userid: wmcustomer1, name: Customer One}]
//	    chats: [{chatid: wrchat1, name: 项目群, owner: zhangsan, members: [zhangsan, wmcustomer1]}]
//	    messages: [{msgid: m1, from: zhangsan, to: [wmcustomer1], text: 你好}]   # or chat: wrchat1
//	    tag_groups:                   # customer tag groups (客户标签); the list replaces the corp's
//	      - group_id: g-intent        # required, unique in the corp
//	        group_name: 购买意向       # required
//	        tags: [{tag_id: t-high, tag_name: 高意向, synonyms: [下单]}]   # synonyms optional
//	programs:
//	  - id: prog-echo                 # required, unique
//	    provider: isv-demo            # required, a provider of this file
//	    kind: program                 # program (default) | model
//	    name: Echo
//	    released: false
//	    deploy:                       # omit: not deployed (debug mode only)
//	      command: [./bin/zoneprogram, --name, deployed]
//	      instances: 1                # default 1 with a command
//	      # url: http://host:8080     # or a URL; not both
//	      isolation: auto             # auto (default) | on | off: sandboxed instances
//	      # image: ./app.tar          # a container filesystem (docker export); command runs in it
//	      # sdk_path: /usr/local/wwspecdemo/sdk   # where the image loads WeCom's SDK (default)
//	      limits: {memory_mb: 1024, disk_mb: 1024}   # per instance, the defaults; cpus: X sets a CPU limit
//	    abilities:
//	      - id: echo                  # required, unique in the program
//	        name: Echo                # optional
//	        input:  {"text": ""}      # required: a mapping, or a string holding JSON
//	        output: {"text": "", "served_by": ""}
//	apps:
//	  - corpid: wwdemo                # required, a corp of this file
//	    agentid: 1000002              # required, > 0; (corpid, agentid) unique
//	    type: self_built              # required: self_built | custom | third_party
//	    provider: isv-demo            # required for custom and third_party, optional for self_built
//	    secret: demo-secret           # required
//	    test_install: false           # true only for third_party
//	    zone_permission: true         # default true
//	    knowledge_permission: false   # 数据与智能专区-知识集; default false
//	    callback: {url: "http://127.0.0.1:9000/cb", token: "T", encoding_aes_key: "…"}
//	    programs: [prog-echo]         # programs of this file
//	ww_models:                        # the backend of WeCom model ids (others: the zone's default)
//	  - model_id: hunyuan-fast        # required, unique
//	    backend: program              # required: builtin | openai | program
//	    program_id: prog-echo         # program only: a program of this file, and its ability
//	    ability_id: echo
//	    # openai_model: qwen2.5       # openai only: the endpoint's model name
//
// Rules:
//
//   - Unknown keys are errors; so are values of the wrong YAML type. A key
//     whose value is null (`deploy:` with nothing after it) counts as absent.
//   - A seed file is self-contained: every corp, provider and program it
//     refers to must be defined in the same file, even if the zone already
//     knows it. Applying a file therefore never depends on what was applied
//     before.
//   - Ability input and output protocols (输入协议 / 输出协议) may be written
//     as YAML mappings, flow or block, or as a string holding JSON. Either
//     way they become compact JSON with the keys in the order written, and
//     must be a JSON object that internal/protocol compiles.
//   - deploy.command is kept as written. The server resolves a relative
//     program path (a command[0] such as ./bin/x or bin/x) against the
//     directory of the seed file, not the working directory, so a seed and
//     its binaries can move together; a bare name (python3) is looked up in
//     PATH. With deploy.image, the command is WeCom's 启动命令 and 启动参数,
//     paths inside the image, and the image path resolves against the
//     seed's directory instead.
//   - Anchors, aliases and merge keys (<<) work; one YAML document per file.
//
// Every error is an *openzone.Error with code 40058 (openzone.ErrInvalidParam)
// whose message names the file, the line and the key at fault, e.g.
//
//	demo.yaml:12: unknown key "instance" in programs[0].deploy (known: command, instances, url, isolation, image, sdk_path, limits)
package seed

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"github.com/openzone/openzone"
	"go.yaml.in/yaml/v3"
)

// File is a parsed seed file.
type File struct {
	Providers []openzone.Provider
	Corps     []CorpEntry
	Programs  []openzone.Program
	Apps      []AppEntry
	// WWModels set the backend of WeCom model ids (ww_models).
	WWModels []openzone.WWModel

	name  string         // file name for messages
	lines map[string]int // path ("apps[0].type") → line, from Parse
}

// CorpEntry is a corp with its members and external contacts. Their CorpID
// is the corp's.
type CorpEntry struct {
	Corp             openzone.Corp
	Members          []openzone.Member
	ExternalContacts []openzone.ExternalContact
	Chats            []ChatEntry
	Messages         []MessageEntry
	// TagGroups are the corp's customer tag groups (客户标签); nil when the
	// seed says nothing of them (the corp's groups are left as they are),
	// empty when it lists none (they are removed).
	TagGroups []openzone.TagGroup
}

// ChatEntry is a group chat (群聊); Owner and Members are userids or
// external_userids of the corp.
type ChatEntry struct {
	ChatID, Name, Owner string
	Members             []string
}

// MessageEntry is a text message to archive; MsgID makes applying the
// seed again a no-op. From and To are userids or external_userids; Chat
// names a group chat instead of To.
type MessageEntry struct {
	MsgID, From, Chat, Text string
	To                      []string
}

// AppEntry is an app and the ids of the programs it uses.
type AppEntry struct {
	App      openzone.App
	Programs []string
}

// MaxBytes bounds a seed file, from the admin API or the command line.
const MaxBytes = 4 << 20

// Parse parses and validates a seed file. name is used in error messages
// only ("seed" when empty). An empty file is a valid, empty seed.
func Parse(name string, data []byte) (f *File, err error) {
	if name == "" {
		name = "seed"
	}
	if len(data) > MaxBytes {
		return nil, openzone.Errorf(openzone.ErrRequestTooLarge, "%s: the seed file is %d bytes, over the limit of %d", name, len(data), MaxBytes)
	}
	defer func() {
		if r := recover(); r != nil { // the YAML library panics on some inputs
			f, err = nil, openzone.Wrap(openzone.ErrInvalidParam, fmt.Errorf("panic: %v", r), "%s: cannot parse this YAML", name)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return &File{name: name}, nil
		}
		return nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		if err != nil {
			return nil, yamlError(name, err)
		}
		return nil, openzone.Errorf(openzone.ErrInvalidParam, "%s:%d: a seed file holds one YAML document, found another", name, extra.Line)
	}
	d := &decoder{
		name:       name,
		lines:      map[string]int{},
		active:     map[*yaml.Node]bool{},
		visits:     maxVisits + len(data),
		jsonBudget: maxJSONBytes + len(data),
	}
	f, err = d.file(&doc)
	if err != nil {
		return nil, err
	}
	f.name, f.lines = name, d.lines
	if err := f.Validate(); err != nil {
		return nil, err
	}
	return f, nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): `)

// yamlError turns a YAML syntax error into "name:line: problem".
func yamlError(name string, err error) error {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return openzone.Wrap(openzone.ErrInvalidParam, err, "%s:%d: %s", name, line, msg[len(m[0]):])
	}
	if len(msg) > 6 && msg[:6] == "yaml: " {
		msg = msg[6:]
	}
	return openzone.Wrap(openzone.ErrInvalidParam, err, "%s: %s", name, msg)
}

// errorf returns the error for the thing at path, positioned at the line
// Parse recorded for path or, failing that, for its closest parent.
func (f *File) errorf(path, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	line := f.line(path)
	switch {
	case f.name == "" && line == 0:
		return openzone.Errorf(openzone.ErrInvalidParam, "%s", msg)
	case line == 0:
		return openzone.Errorf(openzone.ErrInvalidParam, "%s: %s", f.name, msg)
	}
	return openzone.Errorf(openzone.ErrInvalidParam, "%s:%d: %s", f.name, line, msg)
}

// line returns the line of path or of its closest recorded parent.
func (f *File) line(path string) int {
	for path != "" {
		if l, ok := f.lines[path]; ok {
			return l
		}
		path = parent(path)
	}
	return 0
}

// at renders " (line N)" for path when its line is known.
func (f *File) at(path string) string {
	if l, ok := f.lines[path]; ok {
		return " (line " + strconv.Itoa(l) + ")"
	}
	return ""
}

// parent drops the last step of a path: "a[0].b" → "a[0]" → "a" → "".
func parent(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		switch path[i] {
		case '.':
			return path[:i]
		case '[':
			return path[:i]
		}
	}
	return ""
}
