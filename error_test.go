package openzone_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/openzone/openzone"
)

func TestErrorCodeAndMessage(t *testing.T) {
	notFound := openzone.Errorf(openzone.ErrNotFound, "program %q not found", "p")
	cases := []struct {
		name     string
		err      error
		wantCode int
		wantMsg  string
	}{
		{"Nil", nil, 0, "ok"},
		{"Error", notFound, openzone.ErrNotFound, `program "p" not found`},
		{"Wrapped", fmt.Errorf("store: %w", notFound), openzone.ErrNotFound, `program "p" not found`},
		{"WithCause", openzone.Wrap(openzone.ErrCallProgram, errors.New("dial tcp: refused"), "calling failed"), openzone.ErrCallProgram, "calling failed"},
		{"Foreign", errors.New("sql: database is locked"), openzone.ErrSystem, "system busy, internal error"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := openzone.ErrorCode(tc.err); got != tc.wantCode {
				t.Errorf("ErrorCode = %d, want %d", got, tc.wantCode)
			}
			if got := openzone.ErrorMessage(tc.err); got != tc.wantMsg {
				t.Errorf("ErrorMessage = %q, want %q", got, tc.wantMsg)
			}
		})
	}
	if !openzone.IsNotFound(fmt.Errorf("x: %w", notFound)) {
		t.Error("IsNotFound does not see through wrapping")
	}
	cause := errors.New("cause")
	if !errors.Is(openzone.Wrap(1, cause, "m"), cause) {
		t.Error("Wrap does not unwrap to its cause")
	}
}
