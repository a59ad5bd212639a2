// Package openzone holds the vocabulary of an OpenZone data & intelligence
// zone (数据与智能专区): corps, apps, providers, programs and their abilities,
// access tokens and traffic records, and the one Error type whose codes are
// WeCom errcodes. It imports no SQL and no HTTP; the store, the HTTP faces and
// the program supervisor are built on it.
package openzone

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Provider is a service provider (服务商): it owns programs and custom /
// third-party apps. TestCorps are the corps where its custom (代开发) apps may
// use debug mode.
type Provider struct {
	ID        string   `json:"id"`
	Name      string   `json:"name"`
	TestCorps []string `json:"test_corps"`
}

// Corp is a corporation (企业) that owns chat data.
type Corp struct {
	CorpID string `json:"corpid"`
	Name   string `json:"name"`
	// RetentionDays is how long archived message content is kept
	// (会话内容保存时长): default 90, at most 730 (2 years).
	RetentionDays int `json:"retention_days"`
	// Auth is the corp's authorisation of the zone (授权信息).
	Auth Auth `json:"auth"`
}

// Retention limits of a corp's archive, in days.
const (
	DefaultRetentionDays = 90
	MaxRetentionDays     = 730
)

// Member is a corp member (成员).
type Member struct {
	CorpID string `json:"corpid"`
	UserID string `json:"userid"`
	Name   string `json:"name"`
	// Editions are the editions (版本) the member is authorised for
	// archiving: nil is DefaultEditions, empty is none (MemberEditions).
	Editions []int `json:"editions"`
}

// ExternalContact is a corp's external contact (客户).
type ExternalContact struct {
	CorpID         string `json:"corpid"`
	ExternalUserID string `json:"external_userid"`
	Name           string `json:"name"`
}

// AppType is the kind of app calling the zone.
type AppType string

const (
	AppSelfBuilt  AppType = "self_built"  // 自建应用
	AppCustom     AppType = "custom"      // 代开发应用
	AppThirdParty AppType = "third_party" // 第三方应用
)

// Valid reports whether t is one of the three app types.
func (t AppType) Valid() bool {
	return t == AppSelfBuilt || t == AppCustom || t == AppThirdParty
}

// Callback is an app's data callback settings (数据回调URL, Token,
// EncodingAESKey), used for 应用接收专区通知.
type Callback struct {
	URL            string `json:"url,omitempty"`
	Token          string `json:"token,omitempty"`
	EncodingAESKey string `json:"encoding_aes_key,omitempty"`
}

// App is an app installed in a corp, identified by (CorpID, AgentID).
type App struct {
	CorpID     string  `json:"corpid"`
	AgentID    int64   `json:"agentid"`
	Type       AppType `json:"type"`
	ProviderID string  `json:"provider,omitempty"`
	Secret     string  `json:"-"`
	// TestInstall marks a third-party app test-installed (测试安装) in the corp.
	TestInstall bool `json:"test_install"`
	// ZonePermission is the app permission 「数据与智能专区权限」; without it
	// every zone API answers 710641.
	ZonePermission bool `json:"zone_permission"`
	// KnowledgePermission is the app permission 「数据与智能专区-知识集」:
	// without it the knowledge_base_* interfaces and kb_id answer 710643
	// and the app's program receives no knowledge-set events.
	KnowledgePermission bool     `json:"knowledge_permission"`
	Callback            Callback `json:"callback"`
	// ReceiveProgramID is the program chosen by set_receive_callback.
	ReceiveProgramID string `json:"receive_program_id,omitempty"`
}

// ProgramKind tells a program from a model.
type ProgramKind string

const (
	KindProgram ProgramKind = "program" // 专区程序
	KindModel   ProgramKind = "model"   // 专区模型 (自有模型)
)

// Deploy says how a program runs inside the zone. Command programs are
// supervised local processes, each instance in a sandbox where the host
// allows it; URL programs run elsewhere and are called where they are. A
// zero Deploy means "not deployed" (debug mode only).
type Deploy struct {
	Command   []string `json:"command,omitempty"`
	Instances int      `json:"instances,omitempty"`
	URL       string   `json:"url,omitempty"`
	// Isolation is auto (the default: sandboxed where the host allows it),
	// on (sandboxed, or not deployed) or off (plain local processes).
	Isolation string `json:"isolation,omitempty"`
	// Image is the tarball of a container filesystem (docker export) that
	// Command runs in, as WeCom's 启动命令 and 启动参数.
	Image string `json:"image,omitempty"`
	// SDKPath is where the image loads WeCom's SDK from; the zone puts
	// its drop-in there. Default /usr/local/wwspecdemo/sdk.
	SDKPath string `json:"sdk_path,omitempty"`
	// Limits bound each instance; zero fields take the zone's defaults.
	Limits Limits `json:"limits,omitzero"`
}

// States of a deployed program's instance, as the runtime reports them.
const (
	InstanceStarting   = "starting"   // process started, health check not yet passed
	InstanceHealthy    = "healthy"    // process running and accepting TCP connections
	InstanceUnhealthy  = "unhealthy"  // process running but its health check failed (or the gateway could not connect)
	InstanceRestarting = "restarting" // process exited; waiting out the backoff before starting again
	InstanceStopped    = "stopped"    // instance stopped (undeployed, replaced, or runtime shut down)
)

// InstanceStateStyle says how an instance state reads at a glance — "ok",
// "warn", "bad" or "muted" — for every face that draws one (the console's
// pills, the CLI). The one place states meet their meaning.
func InstanceStateStyle(state string) string {
	switch state {
	case InstanceHealthy:
		return "ok"
	case InstanceStarting, InstanceRestarting:
		return "warn"
	case InstanceStopped:
		return "muted"
	}
	return "bad"
}

// Limits bound one instance of a program. Zero fields take the zone's
// defaults; CPUs 0 is no CPU limit.
type Limits struct {
	MemoryMB int     `json:"memory_mb,omitempty"`
	CPUs     float64 `json:"cpus,omitempty"`
	DiskMB   int     `json:"disk_mb,omitempty"` // quota of /mnt/data
}

// Isolation modes of Deploy.Isolation.
const (
	IsolationAuto = "auto"
	IsolationOn   = "on"
	IsolationOff  = "off"
)

// Deployed reports whether the program has a deployment.
func (d Deploy) Deployed() bool { return len(d.Command) > 0 || d.URL != "" }

// SandboxProblem checks the sandbox settings of a deployment (isolation,
// image, sdk_path, limits) and returns the field at fault, relative to
// deploy ("limits.cpus"), and what is wrong; "" when they are fine.
func (d Deploy) SandboxProblem() (field, problem string) {
	switch d.Isolation {
	case "", IsolationAuto, IsolationOn, IsolationOff:
	default:
		return "isolation", fmt.Sprintf("%q is not one of auto, on, off", d.Isolation)
	}
	if d.URL != "" {
		for _, f := range []struct {
			name string
			set  bool
		}{{"isolation", d.Isolation != ""}, {"image", d.Image != ""}, {"sdk_path", d.SDKPath != ""}, {"limits", d.Limits != Limits{}}} {
			if f.set {
				return f.name, "only a command deploy has it: a url deploy runs elsewhere"
			}
		}
	}
	if d.Image != "" {
		if len(d.Command) == 0 {
			return "command", "an image needs its start command (启动命令 and 启动参数), e.g. [/bin/sh, /usr/local/wwspecdemo/start.sh]"
		}
		if d.Isolation == IsolationOff {
			return "isolation", "an image runs only in a sandbox: remove isolation: off, or the image"
		}
	}
	if d.SDKPath != "" {
		if d.Image == "" {
			return "sdk_path", "only an image has an SDK path"
		}
		if !strings.HasPrefix(d.SDKPath, "/") || strings.Contains("/"+d.SDKPath+"/", "/../") {
			return "sdk_path", fmt.Sprintf("%q is not an absolute path inside the image", d.SDKPath)
		}
	}
	l := d.Limits
	switch {
	case l.MemoryMB != 0 && (l.MemoryMB < 16 || l.MemoryMB > 1<<20):
		return "limits.memory_mb", fmt.Sprintf("must be from 16 to 1048576 (MB), got %d", l.MemoryMB)
	case l.CPUs != 0 && (l.CPUs < 0.01 || l.CPUs > 1024):
		return "limits.cpus", fmt.Sprintf("must be from 0.01 to 1024, got %g", l.CPUs)
	case l.DiskMB != 0 && (l.DiskMB < 1 || l.DiskMB > 1<<24):
		return "limits.disk_mb", fmt.Sprintf("must be from 1 to 16777216 (MB), got %d", l.DiskMB)
	}
	return "", ""
}

// Ability is one 能力 of a program: its input and output protocols are JSON
// examples that requests and results must match (docs/wecom.md, "Protocols").
type Ability struct {
	ID     string          `json:"id"`
	Name   string          `json:"name,omitempty"`
	Input  json.RawMessage `json:"input"`
	Output json.RawMessage `json:"output"`
}

// Program is a 专区程序 or 专区模型.
type Program struct {
	ID         string      `json:"id"`
	ProviderID string      `json:"provider"`
	Kind       ProgramKind `json:"kind"`
	Name       string      `json:"name"`
	Released   bool        `json:"released"`
	Deploy     Deploy      `json:"deploy"`
	Abilities  []Ability   `json:"abilities"`
}

// Ability returns the ability with the given id, or nil.
func (p *Program) Ability(id string) *Ability {
	for i := range p.Abilities {
		if p.Abilities[i].ID == id {
			return &p.Abilities[i]
		}
	}
	return nil
}

// ProgramSecret is a program secret of the packet protocol: 32 random bytes
// with a version. Keys for each purpose are derived from it.
type ProgramSecret struct {
	ProgramID string
	Ver       int
	Key       []byte
}

// AccessToken is an app's access_token (7200 s).
type AccessToken struct {
	Token     string    `json:"access_token"`
	CorpID    string    `json:"corpid"`
	AgentID   int64     `json:"agentid"`
	ExpiresAt time.Time `json:"expires_at"`
}

// TokenTTL is the lifetime of an access_token.
const TokenTTL = 7200 * time.Second

// Traffic kinds and routes recorded for the inspector.
const (
	TrafficCall   = "call"   // app → program (sync or async)
	TrafficEvent  = "event"  // zone → program event
	TrafficInvoke = "invoke" // program → zone SDK interface
	TrafficNotify = "notify" // zone → app program_notify callback

	RouteDeployed = "deployed"
	RouteDebug    = "debug"
)

// TrafficRecord is one recorded call, event or SDK invoke. Payloads are kept
// decrypted but masked (no secrets, personal data masked).
type TrafficRecord struct {
	ID        int64     `json:"id"`
	Kind      string    `json:"kind"`
	Route     string    `json:"route,omitempty"`
	CorpID    string    `json:"corpid"`
	AgentID   int64     `json:"agentid"`
	ProgramID string    `json:"program_id"`
	AbilityID string    `json:"ability_id,omitempty"`
	Interface string    `json:"interface,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	Instance  string    `json:"instance,omitempty"`
	Errcode   int       `json:"errcode"`
	Errmsg    string    `json:"errmsg,omitempty"`
	Request   string    `json:"request,omitempty"`
	Response  string    `json:"response,omitempty"`
	StartedAt time.Time `json:"started_at"`
	TotalMS   float64   `json:"total_ms"`
	ProgramMS float64   `json:"program_ms"`
	ZoneMS    float64   `json:"zone_ms"`
}

// TrafficFilter selects traffic records; zero fields do not filter.
type TrafficFilter struct {
	ProgramID string
	Kind      string
	Route     string // RouteDeployed or RouteDebug
	RequestID string
	// Failed keeps only records with a non-zero errcode.
	Failed bool
	// AfterID keeps records with a larger id (for following new traffic).
	AfterID int64
	Limit   int
}

// DebugTokenTTL is the validity of a debug credential (调试凭证): 3 days.
const DebugTokenTTL = 72 * time.Hour

// DebugProgram is a program's debug page state: its receiver URL
// (接收事件服务器) and its current debug credential (调试凭证).
type DebugProgram struct {
	ProgramID      string    `json:"program_id"`
	ReceiverURL    string    `json:"receiver_url"`
	Token          string    `json:"-"`
	TokenIssuedAt  time.Time `json:"token_issued_at"`
	TokenExpiresAt time.Time `json:"token_expires_at"`
	// Listener and Probe are written only by DebugListenerSet and
	// DebugProbeSet; DebugProgramPut leaves them alone.
	Listener DebugListener `json:"listener"`
	Probe    *DebugProbe   `json:"probe,omitempty"`
}

// Listener states of a program (DebugListener.State).
const (
	ListenerConnected = "connected"
	ListenerLost      = "lost"
)

// DebugListener is the state of a program's debug listener (`openzone debug
// listen`): the CLI's outbound connection that stands in for the receiver
// URL. A zero State means the program uses its receiver URL. Once a
// listener connected, the program stays in listener mode, connected or
// lost, until a receiver URL is set again.
type DebugListener struct {
	State       string    `json:"state"`
	ID          string    `json:"id,omitempty"`   // the connection's id, new on every connect
	Node        string    `json:"node,omitempty"` // the zone node holding the connection
	ConnectedAt time.Time `json:"connected_at"`
	LostAt      time.Time `json:"lost_at"`
	Reason      string    `json:"reason,omitempty"` // why it was lost
}

// DebugProbe is the result of the pre-flight probe: a sealed call_type 3
// request the zone sends when debug mode opens (or the receiver changes),
// before real traffic reaches the receiver.
type DebugProbe struct {
	OK      bool      `json:"ok"`
	At      time.Time `json:"at"`
	Via     string    `json:"via"` // "listener" or "receiver"
	Target  string    `json:"target,omitempty"`
	CorpID  string    `json:"corpid"`
	AgentID int64     `json:"agentid"`
	Errcode int       `json:"errcode"`
	Errmsg  string    `json:"errmsg"`
	MS      float64   `json:"ms"`
}

// TokenValid reports whether the debug credential exists and is unexpired at now.
func (d *DebugProgram) TokenValid(now time.Time) bool {
	return d != nil && d.Token != "" && now.Before(d.TokenExpiresAt)
}

// DebugSession is the debug-mode state of one (corp, app, program). Debug
// mode is on when both halves are open under the program's current, valid
// debug credential: the app's open_debug_mode (AppHalf) and the SDK's
// OpenDebugMode (SDKHalf), which also minted the debug secret.
type DebugSession struct {
	CorpID      string    `json:"corpid"`
	AgentID     int64     `json:"agentid"`
	ProgramID   string    `json:"program_id"`
	Token       string    `json:"-"` // the debug credential the halves were opened with
	AppHalf     bool      `json:"app_half"`
	AppOpenedAt time.Time `json:"app_opened_at"`
	SDKHalf     bool      `json:"sdk_half"`
	SDKOpenedAt time.Time `json:"sdk_opened_at"`
	// SecretVer and Secret are the debug secret given to the SDK; zero
	// when the SDK half is closed.
	SecretVer int    `json:"secret_ver,omitempty"`
	Secret    []byte `json:"-"`
}

// AuditEntry is one admin action (审计日志): a change made through the admin
// API or the console, or refused there. It names what was done, never the
// values (a secret set or shown stays out of it).
type AuditEntry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	Actor   string    `json:"actor"`            // "console" or "admin-api"
	Source  string    `json:"source,omitempty"` // the client's address
	Action  string    `json:"action"`           // the route: "PUT /admin/v1/programs/{program_id}"
	Target  string    `json:"target,omitempty"` // the path acted on
	Errcode int       `json:"errcode"`          // 0: done; else why it was refused
}

// Notification is a message to a provider's operators, the stand-in for
// WeCom's push through 服务商助手 (e.g. a debug credential was issued).
type Notification struct {
	ID         int64     `json:"id"`
	ProviderID string    `json:"provider_id"`
	ProgramID  string    `json:"program_id,omitempty"`
	Kind       string    `json:"kind"`
	Title      string    `json:"title"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
}
