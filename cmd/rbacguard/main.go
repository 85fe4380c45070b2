// Command rbacguard reports what a change does to who may do what in a
// Kubernetes cluster. main only wires the process to run, which the tests
// call directly.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// defaultMemoryLimit is the heap a one-shot run keeps within (Go's soft
// memory limit), unless GOMEMLIMIT says otherwise.
const defaultMemoryLimit = 400 << 20

func main() {
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		if os.Getenv("GOGC") == "" {
			// A one-shot run holds two parsed trees at once; collecting
			// less often trades some of the idle memory for about a fifth
			// of the time. The long-running server keeps Go's default.
			debug.SetGCPercent(200)
		}
		if os.Getenv("GOMEMLIMIT") == "" {
			// ... but never past what a CI runner or a pod holds: near the
			// limit the collector works harder instead. argo-cd's release
			// diff peaks at 228 MB of live heap, so the limit costs little
			// there and bounds what collecting less often would otherwise
			// let grow (730 MB of RSS). GOMEMLIMIT sets another limit.
			debug.SetMemoryLimit(defaultMemoryLimit)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
