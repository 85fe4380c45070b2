// Command genbootstrap writes the bootstrap RBAC policy of the Kubernetes
// release pinned in go.mod as the YAML stream the rbacguard engine embeds.
//
//	go run ./cmd/genbootstrap -o ../bootstrap.yaml
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/rbacguard/rbacguard/diff/rbac/conformance"
)

func main() {
	out := flag.String("o", "../bootstrap.yaml", "file to write")
	flag.Parse()
	data, err := conformance.BootstrapYAML()
	if err != nil {
		fmt.Fprintln(os.Stderr, "genbootstrap:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "genbootstrap:", err)
		os.Exit(1)
	}
}
