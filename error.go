package openzone

import (
	"errors"
	"fmt"
)

// Error is the one application error type. Kind is the class of failure,
// which each HTTP face maps to its own answer in one writer (the admin API
// to an HTTP status); Code is the errcode the answer carries, a WeCom
// errcode (spec §6) or, when the zone's failure has none, its kind's
// (ErrNotFound, ErrConflict, ErrUnauthorizedAdmin). Message is the errmsg
// shown to the caller and must name the field or thing at fault. Err, when
// set, is the underlying cause for operators; it is never shown to API
// callers.
type Error struct {
	Kind    Kind
	Code    int
	Message string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%d: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Kind is the class of a failure.
type Kind uint8

const (
	// Invalid: the zone refused the request; its errcode says why.
	Invalid Kind = iota
	NotFound
	Conflict
	Unauthorized
	TooLarge
	// Internal: the zone failed; details only in logs (errcode -1).
	Internal
	// RateLimited: the caller must wait (45009).
	RateLimited
)

// Code is the errcode of a kind's errors that have none of WeCom's.
func (k Kind) Code() int {
	switch k {
	case NotFound:
		return ErrNotFound
	case Conflict:
		return ErrConflict
	case Unauthorized:
		return ErrUnauthorizedAdmin
	case TooLarge:
		return ErrRequestTooLarge
	case Internal:
		return ErrSystem
	case RateLimited:
		return ErrFreqLimit
	}
	return ErrInvalidParam
}

// Errorf returns an error of kind k with a formatted message.
func (k Kind) Errorf(format string, args ...any) *Error {
	return &Error{Kind: k, Code: k.Code(), Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an error of kind k that keeps err as its cause.
func (k Kind) Wrap(err error, format string, args ...any) *Error {
	e := k.Errorf(format, args...)
	e.Err = err
	return e
}

// KindOf is the kind of errors with errcode code: a kind's own code is
// that kind, -1 Internal, 45002 TooLarge, 45009 RateLimited, and any other
// errcode Invalid.
func KindOf(code int) Kind {
	switch code {
	case ErrNotFound:
		return NotFound
	case ErrConflict:
		return Conflict
	case ErrUnauthorizedAdmin:
		return Unauthorized
	case ErrRequestTooLarge:
		return TooLarge
	case ErrSystem:
		return Internal
	case ErrFreqLimit:
		return RateLimited
	}
	return Invalid
}

// Errorf returns an *Error with the given errcode and a formatted message;
// its kind follows from the code (KindOf).
func Errorf(code int, format string, args ...any) *Error {
	return &Error{Kind: KindOf(code), Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with errcode code that keeps err as its cause.
func Wrap(code int, err error, format string, args ...any) *Error {
	e := Errorf(code, format, args...)
	e.Err = err
	return e
}

// ErrorCode returns the errcode of err: 0 for nil, the Code of an *Error in
// its chain, and ErrSystem (-1, WeCom's 系统繁忙) for anything else.
func ErrorCode(err error) int {
	if err == nil {
		return 0
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ErrSystem
}

// ErrorKind returns the kind of err: the Kind of an *Error in its chain,
// Internal for any other error, and the zero Kind (Invalid) for nil, which
// is no failure: a check for Internal or NotFound is false for nil.
func ErrorKind(err error) Kind {
	if err == nil {
		return Invalid
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}

// ErrorMessage returns the caller-facing message of err. Errors that are not
// an *Error never leak their text: they read "system busy".
func ErrorMessage(err error) string {
	if err == nil {
		return "ok"
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "system busy, internal error"
}

// IsNotFound reports whether err is a "not found".
func IsNotFound(err error) bool { return ErrorKind(err) == NotFound }

// WeCom errcodes used by the zone (docs/wecom.md, "Error codes").
const (
	ErrSystem = -1 // 系统繁忙: internal failure, details only in logs

	ErrInvalidSecret   = 40001 // invalid credential (corpsecret)
	ErrInvalidCorpID   = 40013 // invalid corpid
	ErrInvalidToken    = 40014 // invalid access_token
	ErrInvalidParam    = 40058 // a parameter is missing or invalid
	ErrMissingToken    = 41001 // access_token missing
	ErrMissingCorpID   = 41002 // corpid missing
	ErrMissingSecret   = 41004 // corpsecret missing
	ErrTokenExpired    = 42001 // access_token expired
	ErrRequestTooLarge = 45002 // request body over the size limit
	ErrFreqLimit       = 45009 // 接口调用超过限制: too many (failed) calls, wait
	ErrBadBodyJSON     = 47001 // request body is not the JSON object expected
	ErrForbidden       = 48002 // API forbidden for this app
	ErrUserNotFound    = 60111 // userid not found (UserID不存在)

	ErrBadMsgKey          = 710603 // key info incorrect (secret_key)
	ErrDuplicateMsgID     = 710613 // duplicate msgid
	ErrBadCursor          = 710611 // cursor incorrect
	ErrKeywordEmpty       = 710610 // keywords and semantics both empty
	ErrRuleNotFound       = 710612 // keyword rule id not found
	ErrTooManyRules       = 710619 // keyword rule count over limit
	ErrBadRuleID          = 710620 // keyword rule id incorrect
	ErrBadChatID          = 710624 // illegal chat id
	ErrBadNotifyID        = 710646 // illegal notify_id
	ErrZonePermission     = 710641 // app lacks 数据与智能专区 permission
	ErrCallProgram        = 710638 // calling the program failed
	ErrWaitingResult      = 710642 // waiting for the program's / model's result
	ErrModelNotDeployed   = 710635 // self-owned model not deployed
	ErrTooManyMsgs        = 710623 // too many messages in one analysis task
	ErrBadMsgID           = 710601 // msgid incorrect
	ErrBadMsgType         = 710602 // msgtype incorrect
	ErrTaskTypeMismatch   = 710616 // analysis task type mismatch
	ErrSpeechToText       = 710700 // speech-to-text failed
	ErrGroupOutOfScope    = 710606 // group chat not in the authorised scope
	ErrUserOutOfScope     = 710608 // member not in the authorised scope
	ErrFollowerOutOfScope = 710609 // the external contact's follower not in the authorised scope
	ErrNoMemberInScope    = 710614 // no group member in the authorised scope
	ErrNoPaidEdition      = 710651 // no paid edition (in effect)
	ErrArchiveExpired     = 710652 // archive expired
	ErrTrialEnded         = 710653 // trial ended more than 30 days ago
	ErrPaidEnded          = 710654 // paid period ended more than 30 days ago
	ErrDebugTokenExp      = 710671
	ErrDebugNotAllowed    = 710672
	ErrNotInDebugMode     = 710673
	ErrProgramConnect     = 710674
	ErrProgramTimeout     = 710675
	ErrProgramStatus      = 710676
	ErrProgramDecrypt     = 710677

	ErrBadResultJSON    = 790013
	ErrLLMBusy          = 710682 // LLM service busy, retry (a model backend refused or failed)
	ErrBadAbilityID     = 710636 // illegal ability id
	ErrResultMismatch   = 790014
	ErrBadRequestJSON   = 790015
	ErrRequestMismatch  = 790016
	ErrBadJobInfo       = 790017
	ErrTaskNotRunning   = 790010 // task not in progress
	ErrInputTooLong     = 790040 // model input too long after placeholder expansion
	ErrAllMsgsFailed    = 790041 // every message passed to the model failed to load
	ErrBadKnowledgeBase = 800000 // illegal knowledge-base id
	ErrNotAssociated    = 790020
	ErrBadProgramID     = 800001
	ErrNotDeployed      = 800002
	ErrAbilityNotFound  = 800003
	ErrUnknownInterface = 790011 // SDK interface name unknown (WeCom: illegal task type)
	ErrBadProtocol      = 790012 // illegal JSON template (protocol)

	ErrNotSuiteApp = 846000 // not a 代开发 or third-party app

	// Media (upload_media) and knowledge sets (知识集).
	ErrBadMediaType     = 40004  // upload_media type is not "file"
	ErrBadFileSize      = 40006  // a file under 6 B or over 60 MB
	ErrBadMediaID       = 40007  // media_id unknown, expired, or another app's
	ErrMissingMedia     = 41005  // the multipart part "media" is missing
	ErrKnowledgePerm    = 710643 // app lacks 数据与智能专区-知识集 permission
	ErrKBOtherApp       = 790024 // the set belongs to another app
	ErrKBBadWebURL      = 790025 // web_url is not a usable http(s) URL
	ErrKBTooManyDocs    = 790026 // over 1,000 documents in a set
	ErrKBTooMany        = 790027 // over 1,000 sets in a corp
	ErrKBRemoveAllDocs  = 790028 // removing every document of a set
	ErrKBDupWebURL      = 790029 // web_url already in the set
	ErrKBBadDocName     = 790032 // doc_name empty or over 200 bytes
	ErrKBInvisibleChars = 790033 // a name holding invisible characters
	ErrKBDeleted        = 790034 // the set was deleted
)

// Errcodes outside WeCom's table: those of the kinds that have none
// (Kind.Code), HTTP-like on purpose (docs/decisions.md).
const (
	ErrUnauthorizedAdmin = 401
	ErrNotFound          = 404
	ErrConflict          = 409
)
