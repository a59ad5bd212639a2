package listener

import "errors"

// How a delivery through a program's listener can end without an answer.
var (
	// ErrAbsent: no listener of the program can take the delivery now (none
	// is connected, to this node or one it can relay to). It is in the chain
	// of the 710674 a call gets; durable deliveries (events, async calls)
	// that see it wait for the listener instead of using up a retry.
	ErrAbsent = errors.New("no debug listener connected")
	// ErrClosed: the connection had already closed; the request was not
	// sent.
	ErrClosed = errors.New("listener connection closed")
	// ErrLost: the connection ended before the answer came; the request
	// may or may not have reached the program.
	ErrLost = errors.New("listener connection lost")
	// ErrNotReady: the listener is delivering held work first, and the
	// request is durable work that must wait behind it.
	ErrNotReady = errors.New("the debug listener is delivering held work first")
)
