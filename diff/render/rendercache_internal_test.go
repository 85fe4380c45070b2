package render

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestCacheable: a failure is kept when the inputs alone decide it; a
// time limit or a cancellation says nothing about them.
func TestCacheable(t *testing.T) {
	timeout := fmt.Errorf("%w: %w", ErrTooLarge, timedOut(time.Minute))
	if got, want := timeout.Error(), "over the render limits: rendering took longer than 1m0s"; got != want {
		t.Errorf("timeout reads %q, want %q as before", got, want)
	}
	kept := []error{
		nil,
		&Error{Overlay: "o", Err: errors.New("accumulating resources: missing.yaml does not exist")},
		&Error{Overlay: "o", Err: fmt.Errorf("%w: 60000 resources, over the limit of 50000", ErrTooLarge)},
	}
	for _, err := range kept {
		if !cacheable(err) {
			t.Errorf("%v: not kept, though the inputs alone decide it", err)
		}
	}
	for _, err := range []error{&Error{Overlay: "o", Err: timeout}, &Error{Overlay: "o", Err: context.Canceled}, fmt.Errorf("render: %w", context.DeadlineExceeded)} {
		if cacheable(err) {
			t.Errorf("%v: kept", err)
		}
	}
}
