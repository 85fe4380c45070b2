package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
)

// Changed compares the policy file at a pull request's base and head and
// returns one policy.change finding when they differ (none when the bytes
// are equal). A nil slice means the file does not exist at that revision;
// a file that is missing or empty means the default policy.
//
// The finding is high when the change loosens the gate — failOn raised or
// set to none, exemptions or allow entries added or broadened, an expiry
// extended or removed, severities lowered, severity rules reordered,
// overlays excluded, remote bases added, the default namespace or external
// roles changed, or the head file is invalid — and low otherwise. Changes
// whose effect cannot be judged without the findings count as loosening.
// Its message lists what changed; its location is the first changed line
// in head (line 0 when the file is deleted).
//
// Changed reads only the policy file: it does not see a change to the role
// files named in externalRoles.paths.
func Changed(base, head []byte, path string) []report.Finding {
	if bytes.Equal(base, head) && (base == nil) == (head == nil) {
		return nil
	}
	var cs changes
	bp, berr := parseOrDefault(path, base)
	hp, herr := parseOrDefault(path, head)
	switch {
	case base == nil:
		cs.note(tighten, "policy file added")
	case head == nil:
		cs.note(loosen, "policy file deleted: the default policy applies")
	}
	switch {
	case herr != nil:
		first, _, _ := strings.Cut(herr.Error(), "\n")
		cs.note(loosen, "the policy file at head is invalid, so every run after merge fails: %s", first)
	case berr != nil:
		cs.note(loosen, "the policy file at base is invalid; the change cannot be judged")
	default:
		compare(&cs, bp, hp)
	}
	if len(cs.items) == 0 {
		cs.note(neutral, "comments or formatting only")
	}
	sev, verb := report.Low, "changes"
	if cs.loosens {
		sev, verb = report.High, "loosens"
	}
	return []report.Finding{{
		ID:       report.ID(report.PolicyChange, "", path),
		Kind:     report.PolicyChange,
		Severity: sev,
		Location: report.Location{Path: path, Line: firstChangedLine(base, head)},
		Message:  fmt.Sprintf("this pull request %s the rbacguard policy %s: %s", verb, path, strings.Join(cs.items, "; ")),
		Risk:     "the policy is read from the base revision, so this change takes effect only after merge; review it on its own",
	}}
}

func parseOrDefault(path string, data []byte) (*Policy, error) {
	if len(data) == 0 {
		p := Default()
		p.Path = path
		return p, nil
	}
	return Parse(path, data)
}

type direction int

const (
	neutral direction = iota
	tighten
	loosen
)

type changes struct {
	items   []string
	loosens bool
}

func (c *changes) note(d direction, format string, args ...any) {
	c.items = append(c.items, fmt.Sprintf(format, args...))
	if d == loosen {
		c.loosens = true
	}
}

// strictness orders failOn thresholds from strict (info) to loose (none).
func strictness(s report.Severity) int {
	if s == report.None {
		return 6
	}
	return s.Rank()
}

func compare(cs *changes, b, h *Policy) {
	switch {
	case strictness(h.FailOn) > strictness(b.FailOn):
		cs.note(loosen, "failOn raised from %s to %s", b.FailOn, h.FailOn)
	case strictness(h.FailOn) < strictness(b.FailOn):
		cs.note(tighten, "failOn lowered from %s to %s", b.FailOn, h.FailOn)
	}
	if b.DefaultNamespace != h.DefaultNamespace {
		cs.note(loosen, "defaultNamespace changed from %s to %s", b.DefaultNamespace, h.DefaultNamespace)
	}
	if b.LegacyTokens != h.LegacyTokens {
		d := tighten // assuming more tokens finds more paths
		if h.LegacyTokens == LegacyTokensRepository {
			d = loosen
		}
		cs.note(d, "legacyTokens changed from %s to %s", b.LegacyTokens, h.LegacyTokens)
	}
	if b.ControllerAccounts != h.ControllerAccounts {
		d := tighten // assuming the controllers' accounts finds more paths
		if h.ControllerAccounts == ControllerAccountsNone {
			d = loosen
		}
		cs.note(d, "controllerAccounts changed from %s to %s", b.ControllerAccounts, h.ControllerAccounts)
	}
	compareRules(cs, b, h)
	compareExemptions(cs, b, h)
	compareAllow(cs, b, h)
	compareRoles(cs, b, h)
	compareOverlays(cs, b, h)
	added, removed := setDiff(b.RemoteBases, h.RemoteBases)
	for _, u := range added {
		cs.note(loosen, "remote base %s allowed", u)
	}
	for _, u := range removed {
		cs.note(tighten, "remote base %s no longer allowed", u)
	}
	// Fetching from more hosts reaches further from the runner (an
	// address inside its network, a less trusted owner): a loosening.
	added, removed = setDiff(b.Remote.Allow, h.Remote.Allow)
	for _, g := range added {
		cs.note(loosen, "remote.allow %s added", g)
	}
	for _, g := range removed {
		cs.note(tighten, "remote.allow %s removed", g)
	}
}

// compareRules judges severity rules by what they do to the gate: a rule
// below failOn can move findings out of it, a rule at or above cannot.
func compareRules(cs *changes, b, h *Policy) {
	bk := keys(b.Severities, SeverityRule.key)
	hk := keys(h.Severities, SeverityRule.key)
	var common []string
	for i, r := range h.Severities {
		j := slices.Index(bk, hk[i])
		if j < 0 {
			if r.Severity.AtLeast(h.FailOn) {
				cs.note(tighten, "severity rule added at line %d (%s → %s)", r.Line, hk[i], r.Severity)
			} else {
				cs.note(loosen, "severity rule added at line %d (%s → %s, below failOn %s)", r.Line, hk[i], r.Severity, h.FailOn)
			}
			continue
		}
		common = append(common, hk[i])
		old := b.Severities[j].Severity
		switch {
		case r.Severity.Rank() < old.Rank():
			cs.note(loosen, "severity of %s lowered from %s to %s at line %d", hk[i], old, r.Severity, r.Line)
		case r.Severity.Rank() > old.Rank():
			cs.note(tighten, "severity of %s raised from %s to %s at line %d", hk[i], old, r.Severity, r.Line)
		}
	}
	for i, r := range b.Severities {
		if slices.Contains(hk, bk[i]) {
			continue
		}
		if r.Severity.AtLeast(b.FailOn) {
			cs.note(loosen, "severity rule removed (%s → %s)", bk[i], r.Severity)
		} else {
			cs.note(tighten, "severity rule removed (%s → %s)", bk[i], r.Severity)
		}
	}
	var baseOrder []string
	for _, k := range bk {
		if slices.Contains(common, k) {
			baseOrder = append(baseOrder, k)
		}
	}
	if !slices.Equal(baseOrder, common) {
		cs.note(loosen, "severity rules reordered (the first matching rule wins)")
	}
}

func compareExemptions(cs *changes, b, h *Policy) {
	bk := keys(b.Exemptions, Exemption.key)
	hk := keys(h.Exemptions, Exemption.key)
	for i, e := range h.Exemptions {
		j := slices.Index(bk, hk[i])
		if j < 0 {
			cs.note(loosen, "exemption added at line %d (%s, reason: %s)", e.Line, hk[i], e.Reason)
			continue
		}
		old := b.Exemptions[j]
		switch {
		case laterExpiry(e.Expires, old.Expires):
			cs.note(loosen, "expiry of the exemption at line %d (%s) extended from %s to %s", e.Line, hk[i], orNever(old.Expires), orNever(e.Expires))
		case laterExpiry(old.Expires, e.Expires):
			cs.note(tighten, "expiry of the exemption at line %d (%s) brought forward from %s to %s", e.Line, hk[i], orNever(old.Expires), orNever(e.Expires))
		}
		if old.Reason != e.Reason {
			cs.note(neutral, "reason of the exemption at line %d changed", e.Line)
		}
	}
	for i := range b.Exemptions {
		if !slices.Contains(hk, bk[i]) {
			cs.note(tighten, "exemption removed (%s)", bk[i])
		}
	}
}

// laterExpiry reports whether expiry a is later than b ("" is never).
func laterExpiry(a, b string) bool {
	if a == b {
		return false
	}
	return a == "" || (b != "" && a > b) // YYYY-MM-DD sorts as text
}

func orNever(d string) string {
	if d == "" {
		return "never"
	}
	return d
}

func compareAllow(cs *changes, b, h *Policy) {
	key := func(a Allowed) string { return a.SubjectPattern.String() }
	bk, hk := keys(b.Allow, key), keys(h.Allow, key)
	for i, a := range h.Allow {
		if !slices.Contains(bk, hk[i]) {
			cs.note(loosen, "allowed subject added at line %d (%s)", a.Line, hk[i])
		}
	}
	for i := range b.Allow {
		if !slices.Contains(hk, bk[i]) {
			cs.note(tighten, "allowed subject removed (%s)", bk[i])
		}
	}
}

// compareRoles counts every change to externalRoles as loosening: those
// definitions decide what roleRefs outside the repository grant, and a
// definition with fewer rules than the cluster's hides increases.
func compareRoles(cs *changes, b, h *Policy) {
	bk, hk := keys(b.ExternalRoles, roleKey), keys(h.ExternalRoles, roleKey)
	for i, o := range h.ExternalRoles {
		if !slices.Contains(bk, hk[i]) {
			cs.note(loosen, "external role %s defined or changed at line %d", o, o.Origin.Line)
		}
	}
	for i, o := range b.ExternalRoles {
		if !slices.Contains(hk, bk[i]) && !slices.ContainsFunc(h.ExternalRoles, func(x *manifest.Object) bool { return x.String() == o.String() }) {
			cs.note(loosen, "external role %s removed", o)
		}
	}
	added, removed := setDiff(b.ExternalRolePaths, h.ExternalRolePaths)
	for _, p := range added {
		cs.note(loosen, "external roles read from %s", p)
	}
	for _, p := range removed {
		cs.note(loosen, "external roles no longer read from %s", p)
	}
}

func roleKey(o *manifest.Object) string {
	body, _ := json.Marshal(o.Body) // map keys sort, so equal bodies are equal text
	return o.String() + " " + string(body)
}

func compareOverlays(cs *changes, b, h *Policy) {
	added, removed := setDiff(b.Overlays.Exclude, h.Overlays.Exclude)
	for _, g := range added {
		cs.note(loosen, "overlays matching %s excluded", g)
	}
	for _, g := range removed {
		cs.note(tighten, "overlays matching %s no longer excluded", g)
	}
	bi, hi := b.Overlays.Include, h.Overlays.Include
	switch {
	case len(bi) == 0 && len(hi) > 0:
		cs.note(loosen, "only overlays matching %s are checked now (was all)", strings.Join(hi, ", "))
	case len(bi) > 0 && len(hi) == 0:
		cs.note(tighten, "all overlays are checked now (was only %s)", strings.Join(bi, ", "))
	default:
		added, removed := setDiff(bi, hi)
		for _, g := range added {
			cs.note(tighten, "overlays matching %s included", g)
		}
		for _, g := range removed {
			cs.note(loosen, "overlays matching %s no longer included", g)
		}
	}
}

func keys[T any](xs []T, key func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = key(x)
	}
	return out
}

// setDiff returns the entries of head not in base, and of base not in head.
func setDiff(base, head []string) (added, removed []string) {
	for _, s := range head {
		if !slices.Contains(base, s) {
			added = append(added, s)
		}
	}
	for _, s := range base {
		if !slices.Contains(head, s) {
			removed = append(removed, s)
		}
	}
	return added, removed
}

// firstChangedLine is the 1-based first line where head differs from base,
// clamped to head's last line; 0 when head is gone or empty.
func firstChangedLine(base, head []byte) int {
	if len(head) == 0 {
		return 0
	}
	bl := strings.Split(string(base), "\n")
	hl := strings.Split(strings.TrimSuffix(string(head), "\n"), "\n")
	for i, l := range hl {
		if i >= len(bl) || bl[i] != l {
			return i + 1
		}
	}
	return len(hl)
}

// String reads like "ServiceAccount monitoring/*"; empty fields are "*".
func (s SubjectPattern) String() string {
	out := or(s.Kind, "*") + " "
	if s.Namespace != "" {
		out += s.Namespace + "/"
	}
	return out + or(s.Name, "*")
}

func (w WorkloadPattern) String() string {
	return or(w.Kind, "*") + " " + or(w.Namespace, "*") + "/" + or(w.Name, "*")
}

func (pp PermissionPattern) String() string {
	var parts []string
	add := func(name string, l []string) {
		if len(l) > 0 {
			parts = append(parts, name+"="+strings.Join(l, ","))
		}
	}
	add("verbs", pp.Verbs)
	add("apiGroups", quoteEmpty(pp.APIGroups))
	add("resources", pp.Resources)
	add("resourceNames", pp.ResourceNames)
	add("nonResourceURLs", pp.NonResourceURLs)
	return strings.Join(parts, " ")
}

func quoteEmpty(l []string) []string {
	out := slices.Clone(l)
	for i, s := range out {
		if s == "" {
			out[i] = `""`
		}
	}
	return out
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// matcherKey describes a rule's or exemption's matchers; it is the identity
// Changed uses to pair entries of base and head.
func matcherKey(kind, overlay string, s *SubjectPattern, pp *PermissionPattern, w *WorkloadPattern) string {
	var parts []string
	if kind != "" {
		parts = append(parts, "kind "+kind)
	}
	if overlay != "" {
		parts = append(parts, "overlay "+overlay)
	}
	if s != nil {
		parts = append(parts, "subject "+s.String())
	}
	if pp != nil {
		parts = append(parts, "permission "+pp.String())
	}
	if w != nil {
		parts = append(parts, "workload "+w.String())
	}
	return strings.Join(parts, ", ")
}

func (r SeverityRule) key() string {
	return matcherKey(r.Kind, r.Overlay, r.Subject, r.Permission, r.Workload)
}

func (e Exemption) key() string {
	return matcherKey(e.Kind, e.Overlay, e.Subject, e.Permission, e.Workload)
}
