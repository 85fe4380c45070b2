package main

import (
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version is the release, stamped by scripts/build.sh with
// -ldflags "-X main.version=v1.2.3". Empty in a source build.
var version = ""

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(e.stdout, "rbacguard", versionString())
			return err
		},
	}
}

// versionString is what every surface reports as rbacguard's version: the
// --version flag, the version command, SARIF, the User-Agent of GitHub
// requests and the App's build_info metric.
func versionString() string {
	info, _ := debug.ReadBuildInfo()
	return describeVersion(version, info)
}

// pseudoVersion matches the suffix Go gives a module version that is not a
// tag (v0.0.0-20261129151139-998128f1234a): a timestamp and a commit.
var pseudoVersion = regexp.MustCompile(`\d{14}-[0-9a-f]{12}$`)

// describeVersion names a build: the stamped release; else the module's
// version when the go command resolved it to a tag (go install …@v1.2.3, or
// a clean checkout of a tag); else the commit a source build came from,
// "devel (commit 998128f, modified)"; else the module's pseudo-version
// (go install …@main records no commit but the version names it).
func describeVersion(stamped string, info *debug.BuildInfo) string {
	if stamped != "" {
		return stamped
	}
	if info == nil {
		return "devel"
	}
	mod := info.Main.Version
	if mod != "" && mod != "(devel)" && !strings.HasSuffix(mod, "+dirty") && !pseudoVersion.MatchString(mod) {
		return mod
	}
	var rev string
	var modified bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev != "" {
		if len(rev) > 7 {
			rev = rev[:7]
		}
		if modified {
			return "devel (commit " + rev + ", modified)"
		}
		return "devel (commit " + rev + ")"
	}
	if mod != "" && mod != "(devel)" {
		return mod
	}
	return "devel"
}
