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

func main() {
	if os.Getenv("GOGC") == "" && (len(os.Args) < 2 || os.Args[1] != "serve") {
		// A one-shot run holds two parsed trees at once; collecting less
		// often trades some of the idle memory for about a fifth of the
		// time. The long-running server keeps Go's default.
		debug.SetGCPercent(200)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
