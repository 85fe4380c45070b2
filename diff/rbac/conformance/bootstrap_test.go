package conformance

import (
	"bytes"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBootstrapDrift fails when ../bootstrap.yaml is not what the pinned
// Kubernetes release generates: run `go generate ./...` to refresh it.
func TestBootstrapDrift(t *testing.T) {
	want, err := BootstrapYAML()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../bootstrap.yaml")
	if err != nil {
		t.Fatalf("read generated policy: %v (run go generate ./...)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("../bootstrap.yaml is stale; run `go generate ./...` in diff/rbac/conformance (-file +generated):\n%s",
			cmp.Diff(string(got), string(want)))
	}
}
