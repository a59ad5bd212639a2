// Package docparse takes the text out of the documents a knowledge set
// (知识集) learns: PDF (github.com/ledongthuc/pdf), Word .docx (the
// standard library: it is a zip of XML), Excel .xlsx in WeCom's Q&A
// template (github.com/xuri/excelize/v2) and web pages (golang.org/x/net/html).
// Why these, and why legacy .doc is refused, is in docs/decisions.md
// ("Knowledge sets").
//
// Every parser works on untrusted bytes: it never panics (a library's
// panic is recovered and becomes an error), and every failure is an
// *Error whose Reason can be shown to the document's owner.
package docparse

import (
	"fmt"
	"runtime/debug"
)

// Error is a document that cannot be learned; Reason says why, for the
// document's owner (knowledge_base_detail shows it).
type Error struct {
	Reason string
	Err    error // the cause, for logs
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Reason + ": " + e.Err.Error()
	}
	return e.Reason
}

func (e *Error) Unwrap() error { return e.Err }

func fail(err error, format string, args ...any) *Error {
	return &Error{Reason: fmt.Sprintf(format, args...), Err: err}
}

// MaxTextRunes bounds the text taken from one document (about 20 MB of
// Chinese): a small file that inflates to more (a zip bomb, a PDF of
// endless pages) fails instead of filling the zone.
const MaxTextRunes = 5_000_000

// QA is one row of a Q&A sheet.
type QA struct {
	Question, Answer string
}

// guard turns a panic in a parser into an *Error.
func guard(what string, err *error) {
	if p := recover(); p != nil {
		*err = fail(fmt.Errorf("panic: %v\n%s", p, debug.Stack()), "the %s could not be read: it is damaged or uses a feature this zone does not support", what)
	}
}
