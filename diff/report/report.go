// Package report holds the JSON report (the README's "What it reports"):
// the contract that every stage after compare fills in and every publisher
// reads. It has no logic beyond ordering, merging, ids and the verdict, so
// that diff/rbac, diff/token and diff/policy can all produce findings
// without importing each other.
package report

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Version is the schema version of the JSON report. Fields may be added
// without bumping it; none may be removed or change meaning.
const Version = 1

// Report is the whole result of one diff or scan.
type Report struct {
	Version int    `json:"version"`
	Mode    string `json:"mode,omitempty"` // "diff" or "scan"
	Base    string `json:"base,omitempty"`
	Head    string `json:"head"`
	// BaseName and HeadName are the revisions as the user typed them (a
	// tag, a branch, a directory), beside Base and Head's commits.
	BaseName string           `json:"baseName,omitempty"`
	HeadName string           `json:"headName,omitempty"`
	Overlays []Overlay        `json:"overlays"`
	Findings []Finding        `json:"findings"`
	Verdict  Verdict          `json:"verdict"`
	FailOn   Severity         `json:"failOn,omitempty"`
	Summary  map[Severity]int `json:"summary"`
	// SkippedDirs are the directories of manifests passed over as not
	// deployed (examples, tests, vendored code; see SkippedDir).
	SkippedDirs []SkippedDir `json:"skippedDirs,omitempty"`
}

// Overlay status values.
const (
	OverlayRendered  = "rendered"
	OverlayFailed    = "failed"
	OverlayRemoved   = "removed"
	OverlayAdded     = "added"
	OverlayUnchanged = "unchanged" // every input known and identical at both sides: not rendered
	OverlayPartial   = "partial"   // rendered without the inputs listed in Skipped
)

// Overlay is one rendered unit: a kustomize root or a directory of plain YAML.
type Overlay struct {
	Path   string `json:"path"`
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Skipped lists the inputs a partial overlay was rendered without.
	Skipped []SkippedInput `json:"skipped,omitempty"`
	// StandsInFor names the overlay that cannot be rendered and that this
	// one, a kustomization it uses, is checked in place of.
	StandsInFor string `json:"standsInFor,omitempty"`
	// Inputs are the remote bases and resources fetched and rendered with
	// the overlay at head: each with the ref asked for and the commit it
	// named.
	Inputs []RemoteInput `json:"inputs,omitempty"`
}

// RemoteInput is one remote entry an overlay was rendered with.
type RemoteInput struct {
	Path   string `json:"path"` // the kustomization naming it
	Line   int    `json:"line"`
	URL    string `json:"url"`           // without its ref: github.com/fluxcd/flux2/manifests/install
	Ref    string `json:"ref,omitempty"` // as asked: v2.4.0
	Commit string `json:"commit"`        // the commit it named; "sha256:…" for a file
}

// SkippedInput is an input rbacguard never fetches or runs (a remote base,
// a Helm chart, a KRM function, a plugin, a path leaving the repository),
// at the kustomization line that names it.
type SkippedInput struct {
	Path string `json:"path"`
	Line int    `json:"line"`
	What string `json:"what"`
	Why  string `json:"why"`
}

func (s SkippedInput) String() string {
	return fmt.Sprintf("%s (%s:%d): %s", s.What, s.Path, s.Line, s.Why)
}

// Kind names what a finding is about.
type Kind string

const (
	RBACIncrease       Kind = "rbac.increase"
	RBACDecrease       Kind = "rbac.decrease"
	RBACUnresolvedRole Kind = "rbac.unresolved-role"
	RBACInert          Kind = "rbac.inert" // a rule that grants no real request
	RBACGrant          Kind = "rbac.grant" // scan mode: risky access a tree grants
	RBACEscalation     Kind = "rbac.escalation"
	TokenAutomount     Kind = "token.automount"
	TokenLegacySecret  Kind = "token.legacy-secret"
	TokenProjected     Kind = "token.projected"
	TokenJWTLiteral    Kind = "token.jwt-literal"
	AuthnAPIServerFlag Kind = "authn.apiserver-flag"
	AuthnJWTConfig     Kind = "authn.jwt-config"
	RenderError        Kind = "render.error"
	RenderPartial      Kind = "render.partial"    // an overlay rendered without inputs rbacguard does not fetch or run
	RenderUnpinned     Kind = "render.unpinned"   // a remote base at a branch or no ref: it can change without a pull request
	RenderFirst        Kind = "render.first"      // a chart the base could not render renders at head: what it grants is checked for the first time
	ManifestError      Kind = "manifest.error"    // a document that cannot be understood
	ManifestTemplate   Kind = "manifest.template" // template files (Go templates, ${VAR}) passed over, per directory
	ManifestUnused     Kind = "manifest.unused"   // RBAC in a file no overlay renders
	OverlayInherited   Kind = "overlay.inherited" // a new overlay compared with the one it builds on
	PolicyChange       Kind = "policy.change"
	PolicyExpired      Kind = "policy.expired-exemption"
	DriftOutOfBand     Kind = "drift.out-of-band" // the cluster grants beyond the repository
	DriftNotApplied    Kind = "drift.not-applied" // the repository grants beyond the cluster
	DriftAdmission     Kind = "drift.admission"   // the cluster's rbacguard admission policies differ from the policy file's export
	AuditWeakened      Kind = "audit.weakened"    // a watched request stops reaching the audit log
	AuditUnlogged      Kind = "audit.unlogged"    // scan: a watched request is logged for nobody
	RBACUnused         Kind = "rbac.unused"       // rbacguard unused: a grant no logged request used
)

// Finding is one thing a reviewer should know.
type Finding struct {
	ID         string      `json:"id"`
	Kind       Kind        `json:"kind"`
	Severity   Severity    `json:"severity"`
	Overlay    string      `json:"overlay"`
	Subject    *Subject    `json:"subject,omitempty"`
	Scope      *Scope      `json:"scope,omitempty"`
	Permission *Permission `json:"permission,omitempty"`
	// Permissions, on a finding that stands for several atoms of one rule
	// (GroupByRule), lists them as exact rectangles; Permission is the
	// most severe of them.
	Permissions []Permission `json:"permissions,omitempty"`
	Via         []Ref        `json:"via,omitempty"`
	Workloads   []Workload   `json:"workloads,omitempty"`
	Path        []PathStep   `json:"path,omitempty"` // rbac.escalation: how the identity is reached
	Location    Location     `json:"location"`
	// AlsoAt are the other places of a finding reported once for one
	// cause (the same object defined in several files).
	AlsoAt []Location `json:"alsoAt,omitempty"`
	// AlsoIn are the other overlays that have this very finding (the same
	// cause, reached through a base they share): reported once.
	AlsoIn  []string `json:"alsoIn,omitempty"`
	Message string   `json:"message"`
	Risk    string   `json:"risk,omitempty"`
	// Exemption is set when a policy exemption or allow entry matched; an
	// exempted finding is kept in the report but does not fail the gate.
	Exemption *Exemption `json:"exemption,omitempty"`
	// Preexisting marks, in a diff, a problem whose cause exists at the
	// base too: not the change's doing, kept at info for tools to see.
	Preexisting bool `json:"preexisting,omitempty"`
	// Usage is the audit log's evidence on an increase (diff --audit-log):
	// how often the subject asked for the permission in the log's window.
	Usage *Usage `json:"usage,omitempty"`
	// Cause identifies what a finding without a permission is about (an
	// object and what is wrong with it), for its id and for matching it
	// across base and head; never shown, never a message.
	Cause string `json:"-"`
}

// Usage is what an audit log says of a permission: the requests of the
// subject it allows (allowed or denied, 0 = never requested) between the
// log's first and last event.
type Usage struct {
	Requests int    `json:"requests"`
	From     string `json:"from"` // RFC 3339
	To       string `json:"to"`
	Days     int    `json:"days"`
}

// Exemption records why a finding does not count against the gate.
type Exemption struct {
	Reason  string `json:"reason"`
	Expires string `json:"expires,omitempty"`
	Source  string `json:"source,omitempty"` // path:line of the policy entry
}

// Subject is who holds a permission.
type Subject struct {
	Kind      string `json:"kind"` // ServiceAccount, User, Group, ClusterRole
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (s Subject) String() string {
	if s.Namespace != "" {
		return s.Kind + " " + s.Namespace + "/" + s.Name
	}
	return s.Kind + " " + s.Name
}

// EveryPod says which pods a group that every pod's account is in
// reaches: "every pod" for system:authenticated, system:serviceaccounts
// (and everyone, unauthenticated too), "every pod in namespace NS" for
// system:serviceaccounts:NS, "" for any other subject. Such a finding
// says this rather than list every workload of the tree.
func (s Subject) EveryPod() string {
	if s.Kind != "Group" && !(s.Kind == "User" && s.Name == "system:anonymous") {
		return ""
	}
	switch s.Name {
	case "system:authenticated", "system:serviceaccounts", "system:unauthenticated":
		return "every pod"
	}
	if ns, ok := strings.CutPrefix(s.Name, "system:serviceaccounts:"); ok {
		return "every pod in namespace " + ns
	}
	return ""
}

// Scope is where a permission applies: cluster-wide or one namespace.
type Scope struct {
	Cluster   bool   `json:"cluster"`
	Namespace string `json:"namespace,omitempty"`
}

func (s Scope) String() string {
	if s.Cluster {
		return "cluster-wide"
	}
	return "in namespace " + s.Namespace
}

// Permission is a PolicyRule-shaped grant: in findings, verbs × groups ×
// resources × names (or verbs × URLs) that are all granted.
type Permission struct {
	Verbs           []string `json:"verbs"`
	APIGroups       []string `json:"apiGroups"`
	Resources       []string `json:"resources"`
	ResourceNames   []string `json:"resourceNames"`
	NonResourceURLs []string `json:"nonResourceURLs"`
}

// String reads like "get secrets", "create apps/deployments", "get /metrics",
// "get every non-resource URL".
func (p Permission) String() string {
	verbs := strings.Join(p.Verbs, ",")
	if len(p.NonResourceURLs) > 0 {
		urls := strings.Join(p.NonResourceURLs, ",")
		if urls == "*" {
			urls = "every non-resource URL"
		}
		return verbs + " " + urls
	}
	var res []string
	for _, g := range p.APIGroups {
		for _, r := range p.Resources {
			if g == "" {
				res = append(res, r)
			} else {
				res = append(res, g+"/"+r)
			}
		}
	}
	s := verbs + " " + strings.Join(res, ",")
	if len(p.ResourceNames) > 0 {
		s += " named " + strings.Join(p.ResourceNames, ",")
	}
	return s
}

// Key identifies the permission exactly, for finding ids: unlike String, it
// never reads the same for a resource and a URL.
func (p Permission) Key() string {
	return fmt.Sprintf("%q|%q|%q|%q|%q", p.Verbs, p.APIGroups, p.Resources, p.ResourceNames, p.NonResourceURLs)
}

// Ref is one link of a chain: a binding, a role, a rule, a workload.
type Ref struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Path      string `json:"path,omitempty"`
	Line      int    `json:"line,omitempty"`
	// Field is the part of the object the line points at ("rules[2]",
	// "subjects[0]", "roleRef"); empty for the object itself.
	Field string `json:"field,omitempty"`
}

func (r Ref) String() string {
	if r.Path != "" {
		return fmt.Sprintf("%s (%s:%d)", r.Object(), r.Path, r.Line)
	}
	return r.Object()
}

// Object names the link without its place: "RoleBinding shop/api
// subjects[0]". Every formatter of chains starts from it.
func (r Ref) Object() string {
	s := r.Kind + " "
	if r.Namespace != "" {
		s += r.Namespace + "/"
	}
	s += r.Name
	if r.Field != "" {
		s += " " + r.Field
	}
	return s
}

// ShortRev shortens a commit id for display (7 hex digits, as git does);
// other revisions (a directory, "working tree") stay as given.
func ShortRev(rev string) string {
	if len(rev) > 7 && strings.Trim(rev, "0123456789abcdef") == "" {
		return rev[:7]
	}
	return rev
}

// RevLabel names a revision as the user typed it, with the commit beside
// it when that differs: "v3.1.0 (03c4ad8)"; the short commit alone when
// nothing was typed.
func RevLabel(name, rev string) string {
	short := ShortRev(rev)
	if name == "" || name == rev || name == short {
		return short
	}
	if short != rev { // a commit
		return name + " (" + short + ")"
	}
	return name
}

// Workload is a pod owner that runs as a subject.
type Workload struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (w Workload) String() string { return w.Kind + " " + w.Namespace + "/" + w.Name }

// Location is a line in the repository (never a temp dir) for the reviewer.
type Location struct {
	Path string `json:"path"`
	Line int    `json:"line"`
}

func (l Location) String() string {
	if l.Line == 0 {
		return l.Path
	}
	return fmt.Sprintf("%s:%d", l.Path, l.Line)
}

// ID returns a stable id from the parts that make a finding the same
// finding across runs: kind, overlay, subject, scope and permission. It
// never depends on line numbers or messages, so edits elsewhere in a file
// do not turn an old finding into a "new" one.
func ID(kind Kind, overlay string, parts ...any) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s", kind, overlay)
	for _, p := range parts {
		fmt.Fprintf(h, "\x00%v", p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// ProblemKey identifies a manifest problem across base and head: its file
// and message with line numbers taken out, so that a problem an edit
// elsewhere in the file moved is still the same problem.
func ProblemKey(path, message string) string {
	return path + "\x00" + lineNumbers.ReplaceAllString(message, ":#")
}

var lineNumbers = regexp.MustCompile(`:[0-9]+\b`)

// Sort orders findings most severe first, then by overlay, subject, and
// location, so outputs are deterministic.
func Sort(fs []Finding) {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		if c := b.Severity.Rank() - a.Severity.Rank(); c != 0 {
			return c
		}
		if c := strings.Compare(a.Overlay, b.Overlay); c != 0 {
			return c
		}
		if c := strings.Compare(subjectKey(a.Subject), subjectKey(b.Subject)); c != 0 {
			return c
		}
		if c := strings.Compare(string(a.Kind), string(b.Kind)); c != 0 {
			return c
		}
		if c := strings.Compare(a.Location.Path, b.Location.Path); c != 0 {
			return c
		}
		if c := a.Location.Line - b.Location.Line; c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

func subjectKey(s *Subject) string {
	if s == nil {
		return ""
	}
	return s.Kind + "/" + s.Namespace + "/" + s.Name
}

// Finish merges findings with the same id (one cause, reported once, with
// every location), sorts them, counts them and sets the verdict: fail when
// any finding that is not exempted is at or above failOn.
func (r *Report) Finish(failOn Severity) {
	r.Version = Version
	r.Findings = merge(r.Findings)
	if r.Findings == nil {
		r.Findings = []Finding{}
	}
	if r.Overlays == nil {
		r.Overlays = []Overlay{}
	}
	Sort(r.Findings)
	r.FailOn = failOn
	r.Summary = map[Severity]int{Critical: 0, High: 0, Medium: 0, Low: 0, Info: 0}
	r.Verdict = Pass
	for _, f := range r.Findings {
		r.Summary[f.Severity]++
		if f.Exemption == nil && failOn != None && f.Severity.AtLeast(failOn) {
			r.Verdict = Fail
		}
	}
}

// merge keeps the first finding of each id and adds the locations of the
// others to it.
func merge(fs []Finding) []Finding {
	first := map[string]int{}
	out := fs[:0]
	for _, f := range fs {
		i, dup := first[f.ID]
		if !dup || f.ID == "" {
			first[f.ID] = len(out)
			out = append(out, f)
			continue
		}
		if at := out[i]; f.Location != at.Location && !slices.Contains(at.AlsoAt, f.Location) {
			out[i].AlsoAt = append(at.AlsoAt, f.Location)
		}
	}
	return out
}

// Verdict is the gate's answer.
type Verdict string

const (
	Pass Verdict = "pass"
	Fail Verdict = "fail"
)
