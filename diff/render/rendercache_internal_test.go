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
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, true},
		{&Error{Overlay: "o", Err: errors.New("accumulating resources: missing.yaml does not exist")}, true},
		{&Error{Overlay: "o", Err: fmt.Errorf("%w: 60000 resources, over the limit of 50000", ErrTooLarge)}, true},
		{&Error{Overlay: "o", Err: fmt.Errorf("%w: %w", ErrTooLarge, timedOut(time.Minute))}, false},
		{&Error{Overlay: "o", Err: context.Canceled}, false},
		{fmt.Errorf("render: %w", context.DeadlineExceeded), false},
	} {
		if got := cacheable(tc.err); got != tc.want {
			t.Errorf("cacheable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if got, want := fmt.Errorf("%w: %w", ErrTooLarge, timedOut(time.Minute)).Error(), "over the render limits: rendering took longer than 1m0s"; got != want {
		t.Errorf("timeout reads %q, want %q as before", got, want)
	}
}
