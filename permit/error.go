package permit

import (
	"errors"
	"fmt"
	"strings"
)

// Error is an error a caller is meant to see: a stable machine code and a
// human message. Any other error is internal and its text is never shown
// outside the process.
type Error struct {
	Code    Code
	Message string
	// Problems lists field-level validation failures, if any.
	Problems []Problem
}

// Problem is one invalid field of an input.
type Problem struct {
	Field  string `json:"field"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

func (e *Error) Error() string {
	if len(e.Problems) == 0 {
		return e.Message
	}
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Reason
	}
	return e.Message + ": " + strings.Join(parts, "; ")
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, and
// ECodeInternal otherwise.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ECodeInternal
}

// ErrorMessage returns the human message of err if it is (or wraps) an
// *Error; for anything else it returns a generic text, since internal errors
// may carry details that must not leave the process.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// problems collects field problems while validating.
type problems []Problem

func (ps *problems) add(field, code, reason string, args ...any) {
	*ps = append(*ps, Problem{Field: field, Code: code, Reason: fmt.Sprintf(reason, args...)})
}

// err returns nil when nothing was added, else an *Error with every problem.
func (ps problems) err(what string) error {
	if len(ps) == 0 {
		return nil
	}
	return &Error{Code: ECodeInvalid, Message: "invalid " + what, Problems: ps}
}
