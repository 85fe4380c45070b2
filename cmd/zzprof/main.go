package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/source"
)

func main() {
	ctx := context.Background()
	lim := source.DefaultLimits()
	b, _ := source.GitRev(ctx, os.Args[1], os.Args[2], lim)
	h, _ := source.GitRev(ctx, os.Args[1], os.Args[3], lim)
	var peak uint64
	done := make(chan bool)
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Second):
			}
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak {
				peak = ms.HeapAlloc
				f, _ := os.Create("/tmp/heap.prof")
				pprof.WriteHeapProfile(f)
				f.Close()
			}
		}
	}()
	r, err := diff.Run(ctx, b, h, diff.DefaultOptions())
	close(done)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(r.Findings), "findings; peak live", peak>>20, "MB")
}
