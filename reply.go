package openzone

// Base is the errcode and errmsg every WeCom-shaped reply starts with: the
// app API's replies and SDK interfaces' replies are structs that embed it.
type Base struct {
	Errcode int    `json:"errcode"`
	Errmsg  string `json:"errmsg"`
}

// OK is the Base of a reply that succeeded.
var OK = Base{Errcode: 0, Errmsg: "ok"}

// BaseOf is the Base of a reply that failed with err (OK when err is nil).
func BaseOf(err error) Base { return Base{Errcode: ErrorCode(err), Errmsg: ErrorMessage(err)} }

// Reply is a reply struct: one that embeds Base (or is one).
type Reply interface{ ReplyBase() Base }

// ReplyBase returns b: embedding Base makes a struct a Reply.
func (b Base) ReplyBase() Base { return b }
