package policy

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
)

// DefaultPath is where the policy file lives when --config is not given.
const DefaultPath = ".github/rbacguard.yaml"

// MaxFileBytes bounds the policy file; a real one is a few kilobytes.
const MaxFileBytes = 1 << 20

// MaxRoleFileBytes bounds each file named in externalRoles.paths; a dump of
// a large cluster's roles is a few megabytes.
const MaxRoleFileBytes = 64 << 20

// Policy is a parsed policy file. The zero value is not useful; start from
// Default or Parse.
type Policy struct {
	// Path is where the policy was read from, for messages and the source
	// of exemptions ("path:line").
	Path string
	// FailOn is the gate threshold: the verdict fails when a finding that is
	// not exempted is at or above it. None never fails.
	FailOn report.Severity
	// DefaultNamespace is the namespace of rendered objects that have none.
	DefaultNamespace string
	// Severities change a finding's severity; the first matching rule wins.
	Severities []SeverityRule
	// Exemptions keep matching findings in the report but out of the gate.
	Exemptions []Exemption
	// Allow lists known-powerful subjects: all their findings are exempted.
	Allow []Allowed
	// ExternalRoles define Roles and ClusterRoles that live outside the
	// repository (roleRefs the repository cannot resolve). Parse fills it
	// from externalRoles.roles; Load adds the roles of ExternalRolePaths.
	ExternalRoles []*manifest.Object
	// ExternalRolePaths are the files and directories of externalRoles.paths,
	// relative to the repository root.
	ExternalRolePaths []string
	// Overlays select which overlays are checked.
	Overlays Overlays
	// RemoteBases are URL prefixes from which kustomize remote bases may be
	// fetched; none by default.
	RemoteBases []string
	// Remote says which remote bases rbacguard fetches itself.
	Remote Remote
	// LegacyTokens is what rbac.escalation assumes about legacy
	// service-account token Secrets the repository does not define:
	// LegacyTokensCluster (the default) or LegacyTokensRepository.
	LegacyTokens string
	// ControllerAccounts is what rbac.escalation assumes about the accounts
	// kube-system's controllers run as: ControllerAccountsKubeSystem (the
	// default) or ControllerAccountsNone.
	ControllerAccounts string

	pathLines []int // line of each ExternalRolePaths entry
}

// SeverityRule sets the severity of the findings it matches. Every matcher
// that is set must match; at least one is set.
type SeverityRule struct {
	Kind       string             // finding kind glob: "rbac.increase", "token.*"
	Overlay    string             // overlay path glob: "overlays/prod", "overlays/**"
	Subject    *SubjectPattern    // who holds the permission
	Permission *PermissionPattern // what the permission is
	Workload   *WorkloadPattern   // matches when any of the finding's workloads does
	Severity   report.Severity
	Line       int
}

// Exemption keeps matching findings in the report, marked, and out of the
// gate. Every matcher that is set must match; at least one is set.
type Exemption struct {
	Kind       string
	Overlay    string
	Subject    *SubjectPattern
	Permission *PermissionPattern
	Workload   *WorkloadPattern
	Reason     string // required
	Expires    string // YYYY-MM-DD; the exemption applies through that day (UTC)
	Line       int
}

// Allowed is a known-powerful subject whose findings are all exempted.
type Allowed struct {
	SubjectPattern
	Reason string // optional; "allowed subject" when empty
	Line   int
}

// SubjectPattern matches a finding's subject; empty fields match anything,
// the others are globs.
type SubjectPattern struct {
	Kind      string // ServiceAccount, User, Group or ClusterRole
	Namespace string
	Name      string
}

// WorkloadPattern matches one of a finding's workloads; empty fields match
// anything, the others are globs.
type WorkloadPattern struct {
	Kind      string // Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, ReplicationController
	Namespace string
	Name      string
}

// PermissionPattern matches a finding's permission. Each non-empty field
// must match: every value of the finding's field must match one of the
// field's globs.
type PermissionPattern struct {
	Verbs           []string
	APIGroups       []string
	Resources       []string
	ResourceNames   []string
	NonResourceURLs []string
}

// Overlays select overlays by path glob ("*" within a path segment, "**"
// across segments). An empty Include selects every overlay; Exclude wins.
type Overlays struct {
	Include []string
	Exclude []string
}

// The values of LegacyTokens.
const (
	// LegacyTokensCluster: the cluster may hold a legacy token Secret for
	// any account, so listing a namespace's Secrets reaches all its accounts.
	LegacyTokensCluster = "cluster"
	// LegacyTokensRepository: only the token Secrets the repository defines
	// exist.
	LegacyTokensRepository = "repository"
)

// The values of ControllerAccounts.
const (
	// ControllerAccountsKubeSystem: kube-controller-manager runs each
	// controller as its own ServiceAccount of kube-system
	// (--use-service-account-credentials, kubeadm's default), bound to its
	// bootstrap role; whoever can become those accounts holds their roles.
	ControllerAccountsKubeSystem = "kube-system"
	// ControllerAccountsNone: the controllers share one credential.
	ControllerAccountsNone = "none"
)

// Default is the policy used when the repository has no policy file.
func Default() *Policy {
	return &Policy{Path: DefaultPath, FailOn: report.High, DefaultNamespace: "default", LegacyTokens: LegacyTokensCluster,
		ControllerAccounts: ControllerAccountsKubeSystem}
}

// Expired reports whether the exemption no longer applies at now: an
// exemption expiring 2026-06-30 applies through that day (UTC).
func (e Exemption) Expired(now time.Time) bool {
	if e.Expires == "" {
		return false
	}
	d, err := time.Parse(time.DateOnly, e.Expires)
	if err != nil {
		return true // Parse never lets a bad date through; fail closed anyway
	}
	return !now.UTC().Before(d.AddDate(0, 0, 1))
}

// Load reads the policy file name from fsys and the role files it names.
// When name is "" or DefaultPath and the file does not exist, it returns
// Default(); a missing file named explicitly (--config) is an error.
func Load(fsys fs.FS, name string) (*Policy, error) {
	optional := name == "" || name == DefaultPath
	if name == "" {
		name = DefaultPath
	}
	data, err := readFile(fsys, name, MaxFileBytes)
	if err != nil {
		if optional && errors.Is(err, fs.ErrNotExist) {
			return Default(), nil
		}
		return nil, fmt.Errorf("read policy: %w", err)
	}
	p, err := Parse(name, data)
	if err != nil {
		return nil, err
	}
	if err := p.loadRolePaths(fsys); err != nil {
		return nil, err
	}
	return p, nil
}

// ValidateFile checks a policy file and the role files it names, for
// `rbacguard policy validate [FILE]`; name "" means DefaultPath. Unlike
// Load, a missing file is always an error.
func ValidateFile(fsys fs.FS, name string) error {
	if name == "" {
		name = DefaultPath
	}
	data, err := readFile(fsys, name, MaxFileBytes)
	if err != nil {
		return fmt.Errorf("read policy: %w", err)
	}
	p, err := Parse(name, data)
	if err != nil {
		return err
	}
	return p.loadRolePaths(fsys)
}

// readFile reads at most limit bytes, so a hostile tree cannot make the
// policy stage read a huge file.
func readFile(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("read %s: file is larger than %d bytes", name, limit)
	}
	return data, nil
}

// Remote is the policy's remote section.
type Remote struct {
	// Allow are host/owner globs of the repositories remote bases and
	// resources may be fetched from ("github.com/fluxcd", "gitlab.com").
	// nil when the policy does not say: the caller's default holds (the
	// Action: github.com and gitlab.com; the App and the CLI: none); an
	// empty list allows none.
	Allow []string
}
