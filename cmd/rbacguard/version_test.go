package main

import (
	"runtime/debug"
	"testing"
)

func TestDescribeVersion(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name    string
		stamped string
		info    *debug.BuildInfo
		want    string
	}{
		{"release binary", "v1.2.3", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "v1.2.3"},
		{"stamp wins over the module", "v1.2.3", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261129151139-998128f1234a"}}, "v1.2.3"},
		{"go install at a tag", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{"clean checkout of a tag", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}, Settings: vcs("998128f1234a5678", "false")}, "v1.2.3"},
		{"checkout after a tag", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.4-0.20261129151139-998128f1234a"}, Settings: vcs("998128f1234a5678", "false")}, "devel (commit 998128f)"},
		{"modified checkout", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261129151139-998128f1234a+dirty"}, Settings: vcs("998128f1234a5678", "true")}, "devel (commit 998128f, modified)"},
		{"modified checkout of a tag", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3+dirty"}, Settings: vcs("998128f1234a5678", "true")}, "devel (commit 998128f, modified)"},
		{"go build -buildvcs=false", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
		{"go install at a branch", "", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261129151139-998128f1234a"}}, "v0.0.0-20261129151139-998128f1234a"},
		{"no build info", "", nil, "devel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := describeVersion(tt.stamped, tt.info); got != tt.want {
				t.Errorf("describeVersion(%q, …) = %q, want %q", tt.stamped, got, tt.want)
			}
		})
	}
}
