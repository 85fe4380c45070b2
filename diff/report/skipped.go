package report

// SkippedDir is a directory of manifests that no command checks unless
// asked: its name (testdata, examples, test, tests, e2e, docs, hack,
// vendor, third_party) says it is not what the repository deploys. Each is
// listed once, the top-most of its path; --include or the policy's
// overlays.include naming it checks it.
type SkippedDir struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

func (s SkippedDir) String() string { return s.Path + ": " + s.Reason }
