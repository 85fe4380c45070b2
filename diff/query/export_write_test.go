package query

import (
	"flag"
	"os"
	"testing"
)

var exportFile = flag.String("export", "", "TestWriteExport writes the 10,000-role export of the benchmark to this file, for timing the command line")

// TestWriteExport writes the benchmark's export to -export.
func TestWriteExport(t *testing.T) {
	if *exportFile == "" {
		t.Skip("set -export FILE")
	}
	if err := os.WriteFile(*exportFile, export10k(), 0o644); err != nil {
		t.Fatal(err)
	}
}
