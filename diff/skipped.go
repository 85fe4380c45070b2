package diff

import (
	"fmt"

	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

// skippedDirs lists, once each, the directories of manifests every command
// passes over as not deployed (render.NotDeployed), for the report's
// skippedDirs: not a finding (nothing is wrong), but never silent.
func skippedDirs(o Options, trees ...source.Tree) []report.SkippedDir {
	var out []report.SkippedDir
	for _, d := range render.PassedOverDirs(o.Render, trees...) {
		out = append(out, report.SkippedDir{
			Path:   d.Path,
			Reason: fmt.Sprintf("%s directories are not deployed (fixtures, examples, tests, docs, scripts, vendored code): passed over; name it in --include or the policy's overlays.include to check it", d.Name),
		})
	}
	return out
}
