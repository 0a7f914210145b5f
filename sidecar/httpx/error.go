package httpx

import (
	"fmt"
	"net/http"
)

// Error is a request refused before policy sees it. Status is the response code the
// proxy sends (400, 405, 413, 417, 431, 505); Reason says why, for logs only.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Reason)
}

func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Reason: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, format, args...)
}
