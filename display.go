package openzone

import "time"

// HideConfig is what the display component (会话展示组件) hides from one
// member viewing messages through one app (会话组件敏感信息隐藏设置,
// set_hide_sensitiveinfo_config): a member without one sees everything.
type HideConfig struct {
	CorpID     string    `json:"corpid"`
	AgentID    int64     `json:"agentid"`
	UserID     string    `json:"userid"`
	HideMobile bool      `json:"hide_mobile"` // mobile phone numbers
	HideIDCard bool      `json:"hide_idcard"` // ID card numbers
	HideBankNo bool      `json:"hide_bankno"` // bank card numbers
	HideEmail  bool      `json:"hide_email"`  // email addresses: an OpenZone extension
	UpdatedAt  time.Time `json:"updated_at"`
}
