package helm

import (
	"errors"
	"fmt"
	"runtime"
	"time"
)

// Chart is a chart's files: a directory of the repository (Files, paths
// relative to the chart's directory) or a packaged chart (Archive, the
// .tgz a chart repository or an OCI registry serves).
type Chart struct {
	Files   map[string][]byte
	Archive []byte
}

// Request is one chart to render, with the settings of a kustomization's
// helmCharts entry that change what it renders to.
type Request struct {
	Chart       Chart
	ReleaseName string // "" renders as `helm template` does: "release-name"
	Namespace   string // "" is "default", as for helm
	// ValuesFile is the entry's valuesFile; nil means the chart's own
	// values.yaml, as kustomize defaults it.
	ValuesFile []byte
	// ValuesInline is the entry's valuesInline, as YAML; ValuesMerge how it
	// combines with ValuesFile: "override" (the default: inline wins),
	// "merge" (the file wins) or "replace" (inline alone).
	ValuesInline []byte
	ValuesMerge  string
	// AdditionalValues are the additionalValuesFiles, applied in order
	// over the rest.
	AdditionalValues [][]byte
	IncludeCRDs      bool
	SkipHooks        bool
	SkipTests        bool
	APIVersions      []string
	KubeVersion      string
}

// File is what one template (or CRD file) of the chart rendered to.
type File struct {
	// Source is the template's path as helm names it in "# Source:":
	// "<chart>/templates/role.yaml", "<chart>/charts/<sub>/templates/x.yaml",
	// "<chart>/crds/crd.yaml".
	Source  string
	Content string
}

// Output is a rendered chart: CRDs (when asked), manifests and hooks, in
// the order `helm template` prints them.
type Output struct {
	Name    string // the chart's name
	Version string // the chart's version
	Files   []File
}

// Limits bound one render. Zero values take DefaultLimits' value.
type Limits struct {
	Timeout        time.Duration
	MaxOutputBytes int64
	// MaxMemoryBytes bounds the child's heap: values or templates that
	// expand past it end the render.
	MaxMemoryBytes int64
	// MaxInputBytes bounds the request (chart and values together).
	MaxInputBytes int64
	// Concurrent bounds the renders running at once (0: GOMAXPROCS): each
	// is a process whose heap may reach MaxMemoryBytes.
	Concurrent int
}

// DefaultLimits fit real charts (kube-prometheus-stack renders 3 MB in
// well under a second) with a wide margin.
func DefaultLimits() Limits {
	return Limits{Timeout: 30 * time.Second, MaxOutputBytes: 64 << 20, MaxMemoryBytes: 1 << 30, MaxInputBytes: 128 << 20}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.Timeout <= 0 {
		l.Timeout = d.Timeout
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = d.MaxOutputBytes
	}
	if l.MaxMemoryBytes <= 0 {
		l.MaxMemoryBytes = d.MaxMemoryBytes
	}
	if l.MaxInputBytes <= 0 {
		l.MaxInputBytes = d.MaxInputBytes
	}
	if l.Concurrent <= 0 {
		l.Concurrent = runtime.GOMAXPROCS(0)
	}
	return l
}

// ErrTimeout is a render that ran out of time: unlike helm's refusals it
// depends on the machine's load, so it is never kept.
var ErrTimeout = errors.New("timed out")

// Error is a chart that did not render: what helm said, or which bound it
// ran into.
type Error struct {
	Chart string // name and version, when the chart loaded
	Err   error
}

func (e *Error) Error() string {
	if e.Chart == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("chart %s: %v", e.Chart, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
