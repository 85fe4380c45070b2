package policy

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/spell"
)

// The fields of each mapping of the policy file, in the order the README
// documents them. Parse rejects any other key.
var (
	topFields        = []string{"failOn", "defaultNamespace", "severities", "exemptions", "allow", "externalRoles", "overlays", "remoteBases", "remote", "legacyTokens", "controllerAccounts"}
	ruleFields       = []string{"kind", "overlay", "subject", "permission", "workload", "severity"}
	exemptionFields  = []string{"kind", "overlay", "subject", "permission", "workload", "reason", "expires"}
	allowFields      = []string{"kind", "namespace", "name", "reason"}
	subjectFields    = []string{"kind", "namespace", "name"}
	workloadFields   = []string{"kind", "namespace", "name"}
	permissionFields = []string{"verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"}
	externalFields   = []string{"roles", "paths"}
	overlayFields    = []string{"include", "exclude"}
	remoteFields     = []string{"allow"}
)

var (
	// findingKinds are the kinds a kind pattern may name; a glob must match
	// at least one of them.
	findingKinds = []report.Kind{
		report.RBACIncrease, report.RBACDecrease, report.RBACUnresolvedRole, report.RBACInert, report.RBACGrant, report.RBACEscalation,
		report.TokenAutomount, report.TokenLegacySecret, report.TokenProjected, report.TokenJWTLiteral,
		report.AuthnAPIServerFlag, report.AuthnJWTConfig, report.RenderError, report.RenderPartial, report.RenderUnpinned, report.RenderFirst, report.ManifestError, report.ManifestTemplate, report.ManifestUnused, report.OverlayInherited,
		report.PolicyChange, report.PolicyExpired, report.DriftOutOfBand, report.DriftNotApplied, report.DriftAdmission,
		report.AuditWeakened, report.AuditUnlogged, report.RBACUnused,
	}
	subjectKinds  = []string{"ServiceAccount", "User", "Group", "ClusterRole"}
	workloadKinds = []string{"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "ReplicationController"}
	dns1123Label  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
)

// maxNodes bounds how many YAML nodes Parse visits, following aliases, so
// an alias bomb in a pull request's policy file ends in an error.
const maxNodes = 100_000

// Parse reads a policy file strictly: unknown fields, wrong types, bad
// severities, bad dates and missing reasons are errors of the form
// "path:line: field F: message". Every error is reported, joined with
// errors.Join. An empty file is the default policy. Roles named in
// externalRoles.paths are not read here; Load reads them.
func Parse(name string, data []byte) (*Policy, error) {
	p := Default()
	p.Path = name
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s: policy file is larger than %d bytes", name, MaxFileBytes)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(name, err)
	}
	ps := &parser{path: name, p: p}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		ps.top(doc.Content[0])
	}
	if len(ps.errs) > 0 {
		return nil, errors.Join(ps.sorted()...)
	}
	return p, nil
}

type parser struct {
	path  string
	p     *Policy
	errs  []error
	lines []int // line of each error, to report them in file order
	nodes int
	bomb  bool
}

// sorted returns the errors in line order; errors of one line keep the
// order they were found in.
func (ps *parser) sorted() []error {
	idx := make([]int, len(ps.errs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return ps.lines[a] - ps.lines[b] })
	out := make([]error, len(idx))
	for i, j := range idx {
		out[i] = ps.errs[j]
	}
	return out
}

func (ps *parser) errorf(n *yaml.Node, field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = "field " + field + ": " + msg
	}
	ps.errs = append(ps.errs, fmt.Errorf("%s:%d: %s", ps.path, n.Line, msg))
	ps.lines = append(ps.lines, n.Line)
}

// resolve follows aliases and counts nodes; it returns nil once the budget
// is spent, after reporting it once.
func (ps *parser) resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return nil
	}
	ps.nodes++
	if ps.nodes > maxNodes {
		if !ps.bomb {
			ps.bomb = true
			ps.errorf(n, "", "more than %d YAML nodes (aliases expanded): refusing to read further", maxNodes)
		}
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" }

// describe names what a node is, for "want X, found Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int", "!!float":
			return "a number " + n.Value
		case "!!bool":
			return "a boolean " + n.Value
		}
		return fmt.Sprintf("%q", truncate(n.Value, 60))
	}
	return "something else"
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func join(parent, field string) string {
	if parent == "" {
		return field
	}
	return parent + "." + field
}

// mapping walks the keys of a mapping node in order, rejecting keys not in
// known and duplicates, and skipping null values (a null value is the same
// as leaving the field out).
func (ps *parser) mapping(n *yaml.Node, where string, known []string, fn func(key string, v *yaml.Node)) bool {
	if n = ps.resolve(n); n == nil {
		return false
	}
	if n.Kind != yaml.MappingNode {
		what := where
		if what == "" {
			ps.errorf(n, "", "the policy must be a mapping of fields, found %s", describe(n))
		} else {
			ps.errorf(n, what, "want a mapping, found %s", describe(n))
		}
		return false
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			ps.errorf(k, where, "want field names, found %s as a key", describe(k))
			continue
		}
		if k.ShortTag() == "!!merge" {
			ps.errorf(k, where, "merge keys (<<) are not supported; write the fields out")
			continue
		}
		if !slices.Contains(known, k.Value) {
			ps.errorf(k, "", "unknown field %q in %s%s", k.Value, orTop(where), suggest(k.Value, known))
			continue
		}
		if line, dup := seen[k.Value]; dup {
			ps.errorf(k, join(where, k.Value), "given twice (first at line %d)", line)
			continue
		}
		seen[k.Value] = k.Line
		if r := ps.resolve(v); r != nil && !isNull(r) {
			fn(k.Value, r)
		}
	}
	return true
}

func orTop(where string) string {
	if where == "" {
		return "the policy"
	}
	return where
}

// suggest names the known field closest to a misspelt one.
func suggest(got string, known []string) string {
	for _, k := range known {
		if strings.EqualFold(k, got) || spell.Distance(strings.ToLower(k), strings.ToLower(got)) <= 2 {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
	}
	return " (known fields: " + strings.Join(known, ", ") + ")"
}

// str reads a string scalar. Numbers and booleans are refused (quote them)
// so that the file means the same to Parse and to the JSON Schema.
func (ps *parser) str(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		ps.errorf(n, field, "want a string, found %s", describe(n))
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!timestamp", "!!binary":
		return n.Value, true
	}
	ps.errorf(n, field, "want a string, found %s (quote it)", describe(n))
	return "", false
}

// oneOf reads a string scalar that must be one of want.
func (ps *parser) oneOf(n *yaml.Node, field string, want ...string) (string, bool) {
	s, ok := ps.str(n, field)
	if ok && !slices.Contains(want, s) {
		ps.errorf(n, field, "%q is not one of %s", s, strings.Join(want, ", "))
		return "", false
	}
	return s, ok
}

func (ps *parser) strList(n *yaml.Node, field string) []string {
	if n.Kind != yaml.SequenceNode {
		ps.errorf(n, field, "want a list of strings, found %s", describe(n))
		return nil
	}
	out := []string{}
	for i, e := range n.Content {
		if e = ps.resolve(e); e == nil {
			continue
		}
		if s, ok := ps.str(e, fmt.Sprintf("%s[%d]", field, i)); ok {
			out = append(out, s)
		}
	}
	return out
}

// list calls fn for every item of a sequence with its field path.
func (ps *parser) list(n *yaml.Node, field string, fn func(where string, item *yaml.Node)) {
	if n.Kind != yaml.SequenceNode {
		ps.errorf(n, field, "want a list, found %s", describe(n))
		return
	}
	for i, e := range n.Content {
		if e = ps.resolve(e); e == nil {
			continue
		}
		fn(fmt.Sprintf("%s[%d]", field, i), e)
	}
}

func (ps *parser) top(n *yaml.Node) {
	p := ps.p
	if r := ps.resolve(n); r != nil && isNull(r) {
		return // a file of comments only
	}
	ps.mapping(n, "", topFields, func(key string, v *yaml.Node) {
		switch key {
		case "failOn":
			if s, ok := ps.str(v, key); ok {
				sev, err := report.ParseSeverity(s)
				if err != nil {
					ps.errorf(v, key, "%v", err)
					return
				}
				p.FailOn = sev
			}
		case "defaultNamespace":
			if s, ok := ps.str(v, key); ok {
				if len(s) > 63 || !dns1123Label.MatchString(s) {
					ps.errorf(v, key, "%q is not a valid namespace name (lower-case letters, digits and '-', at most 63)", s)
					return
				}
				p.DefaultNamespace = s
			}
		case "severities":
			ps.list(v, key, func(where string, item *yaml.Node) {
				if r, ok := ps.rule(item, where); ok {
					p.Severities = append(p.Severities, r)
				}
			})
		case "exemptions":
			ps.list(v, key, func(where string, item *yaml.Node) {
				if e, ok := ps.exemption(item, where); ok {
					p.Exemptions = append(p.Exemptions, e)
				}
			})
		case "allow":
			ps.list(v, key, func(where string, item *yaml.Node) {
				if a, ok := ps.allowed(item, where); ok {
					p.Allow = append(p.Allow, a)
				}
			})
		case "externalRoles":
			ps.externalRoles(v, key)
		case "overlays":
			ps.mapping(v, key, overlayFields, func(k string, v *yaml.Node) {
				globs := ps.pathGlobs(v, join(key, k))
				if k == "include" {
					p.Overlays.Include = globs
				} else {
					p.Overlays.Exclude = globs
				}
			})
		case "remote":
			ps.mapping(v, key, remoteFields, func(k string, v *yaml.Node) {
				where := join(key, k)
				allow := []string{}
				for i, e := range ps.strList(v, where) {
					if strings.TrimSpace(e) == "" || strings.ContainsAny(e, " \t\r\n?#:") || strings.Contains(e, "..") {
						ps.errorf(v.Content[i], fmt.Sprintf("%s[%d]", where, i), "want a host/owner glob such as github.com/fluxcd, found %q", e)
						continue
					}
					allow = append(allow, e)
				}
				p.Remote.Allow = allow
			})
		case "remoteBases":
			for i, e := range ps.strList(v, key) {
				if strings.TrimSpace(e) == "" || strings.ContainsAny(e, " \t\r\n") {
					ps.errorf(v.Content[i], fmt.Sprintf("%s[%d]", key, i), "want a URL prefix without spaces, found %q", e)
					continue
				}
				p.RemoteBases = append(p.RemoteBases, e)
			}
		case "legacyTokens":
			if s, ok := ps.oneOf(v, key, LegacyTokensCluster, LegacyTokensRepository); ok {
				p.LegacyTokens = s
			}
		case "controllerAccounts":
			if s, ok := ps.oneOf(v, key, ControllerAccountsKubeSystem, ControllerAccountsNone); ok {
				p.ControllerAccounts = s
			}
		}
	})
}

// matchers are the fields that severity rules and exemptions share.
type matchers struct {
	kind       string
	overlay    string
	subject    *SubjectPattern
	permission *PermissionPattern
	workload   *WorkloadPattern
	n          int // how many are set
}

func (ps *parser) matcher(m *matchers, key, where string, v *yaml.Node) bool {
	field := join(where, key)
	switch key {
	case "kind":
		if s, ok := ps.str(v, field); ok && ps.checkKind(v, field, s) {
			m.kind = s
			m.n++
		}
	case "overlay":
		if s, ok := ps.str(v, field); ok {
			if g, ok := ps.pathGlob(v, field, s); ok {
				m.overlay = g
				m.n++
			}
		}
	case "subject":
		if kind, ns, name, ok := ps.objectPattern(v, field, subjectFields, subjectKinds); ok {
			m.subject = &SubjectPattern{Kind: kind, Namespace: ns, Name: name}
			m.n++
		}
	case "workload":
		if kind, ns, name, ok := ps.objectPattern(v, field, workloadFields, workloadKinds); ok {
			m.workload = &WorkloadPattern{Kind: kind, Namespace: ns, Name: name}
			m.n++
		}
	case "permission":
		pp := &PermissionPattern{}
		before := len(ps.errs)
		ps.mapping(v, field, permissionFields, func(k string, v *yaml.Node) {
			l := ps.strList(v, join(field, k))
			switch k {
			case "verbs":
				pp.Verbs = l
			case "apiGroups":
				pp.APIGroups = l
			case "resources":
				pp.Resources = l
			case "resourceNames":
				pp.ResourceNames = l
			case "nonResourceURLs":
				pp.NonResourceURLs = l
			}
		})
		if len(ps.errs) > before {
			return true
		}
		if pp.empty() {
			ps.errorf(v, field, "set at least one of %s", strings.Join(permissionFields, ", "))
			return true
		}
		m.permission = pp
		m.n++
	default:
		return false
	}
	return true
}

// objectPattern reads a subject or workload pattern: kind, namespace and
// name globs, at least one of them set.
func (ps *parser) objectPattern(v *yaml.Node, field string, fields, kinds []string) (kind, ns, name string, ok bool) {
	before := len(ps.errs)
	ps.mapping(v, field, fields, func(k string, v *yaml.Node) {
		ps.objectField(k, v, join(field, k), kinds, &kind, &ns, &name)
	})
	if len(ps.errs) > before {
		return "", "", "", false
	}
	if kind == "" && ns == "" && name == "" {
		ps.errorf(v, field, "set at least one of kind, namespace, name")
		return "", "", "", false
	}
	return kind, ns, name, true
}

func (pp *PermissionPattern) empty() bool {
	return len(pp.Verbs)+len(pp.APIGroups)+len(pp.Resources)+len(pp.ResourceNames)+len(pp.NonResourceURLs) == 0
}

func (ps *parser) objectField(key string, v *yaml.Node, field string, kinds []string, kind, ns, name *string) {
	s, ok := ps.str(v, field)
	if !ok {
		return
	}
	switch key {
	case "kind":
		if !slices.ContainsFunc(kinds, func(k string) bool { return globMatch(s, k) }) {
			ps.errorf(v, field, "%q matches no kind: want one of %s", s, strings.Join(kinds, ", "))
			return
		}
		*kind = s
	case "namespace":
		*ns = s
	case "name":
		*name = s
	}
}

func (ps *parser) checkKind(n *yaml.Node, field, s string) bool {
	for _, k := range findingKinds {
		if globMatch(s, string(k)) {
			return true
		}
	}
	if strings.ContainsAny(s, "*?") {
		ps.errorf(n, field, "%q matches no finding kind", s)
	} else {
		ps.errorf(n, field, "unknown finding kind %q (known: %s)", s, kindList())
	}
	return false
}

func kindList() string {
	s := make([]string, len(findingKinds))
	for i, k := range findingKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// pathGlob checks and cleans an overlay glob.
func (ps *parser) pathGlob(n *yaml.Node, field, s string) (string, bool) {
	g := strings.TrimPrefix(path.Clean(s), "./")
	if s == "" || strings.HasPrefix(g, "/") || g == ".." || strings.HasPrefix(g, "../") {
		ps.errorf(n, field, "want a path glob relative to the repository root, found %q", s)
		return "", false
	}
	for _, seg := range strings.Split(g, "/") {
		if _, err := path.Match(seg, ""); err != nil {
			ps.errorf(n, field, "bad glob %q: %v", s, err)
			return "", false
		}
	}
	return g, true
}

func (ps *parser) pathGlobs(n *yaml.Node, field string) []string {
	if n.Kind != yaml.SequenceNode {
		ps.errorf(n, field, "want a list of strings, found %s", describe(n))
		return nil
	}
	var out []string
	for i, e := range n.Content {
		if e = ps.resolve(e); e == nil {
			continue
		}
		f := fmt.Sprintf("%s[%d]", field, i)
		if s, ok := ps.str(e, f); ok {
			if g, ok := ps.pathGlob(e, f, s); ok {
				out = append(out, g)
			}
		}
	}
	return out
}

func (ps *parser) rule(n *yaml.Node, where string) (SeverityRule, bool) {
	var m matchers
	r := SeverityRule{Line: n.Line}
	before := len(ps.errs)
	ok := ps.mapping(n, where, ruleFields, func(key string, v *yaml.Node) {
		if ps.matcher(&m, key, where, v) {
			return
		}
		if s, ok := ps.str(v, join(where, key)); ok {
			sev, err := report.ParseSeverity(s)
			switch {
			case err != nil:
				ps.errorf(v, join(where, key), "%v", err)
			case sev == report.None:
				ps.errorf(v, join(where, key), "none is only a failOn threshold; to keep findings out of the gate, use an exemption")
			default:
				r.Severity = sev
			}
		}
	})
	if !ok {
		return r, false
	}
	if r.Severity == "" && len(ps.errs) == before {
		ps.errorf(n, join(where, "severity"), "missing: every rule needs a severity")
	}
	if m.n == 0 && len(ps.errs) == before {
		ps.errorf(n, where, "the rule matches every finding: set kind, overlay, subject, permission or workload (kind: \"*\" to mean every finding)")
	}
	r.Kind, r.Overlay, r.Subject, r.Permission, r.Workload = m.kind, m.overlay, m.subject, m.permission, m.workload
	return r, len(ps.errs) == before
}

func (ps *parser) exemption(n *yaml.Node, where string) (Exemption, bool) {
	var m matchers
	e := Exemption{Line: n.Line}
	before := len(ps.errs)
	ok := ps.mapping(n, where, exemptionFields, func(key string, v *yaml.Node) {
		if ps.matcher(&m, key, where, v) {
			return
		}
		field := join(where, key)
		switch key {
		case "reason":
			if s, ok := ps.str(v, field); ok {
				e.Reason = strings.TrimSpace(s)
				if e.Reason == "" {
					ps.errorf(v, field, "must not be empty: say why the exemption is safe")
				}
			}
		case "expires":
			if s, ok := ps.date(v, field); ok {
				e.Expires = s
			}
		}
	})
	if !ok {
		return e, false
	}
	if e.Reason == "" && len(ps.errs) == before {
		ps.errorf(n, join(where, "reason"), "missing: every exemption needs a reason")
	}
	if m.n == 0 && len(ps.errs) == before {
		ps.errorf(n, where, "the exemption matches every finding: set kind, overlay, subject, permission or workload")
	}
	e.Kind, e.Overlay, e.Subject, e.Permission, e.Workload = m.kind, m.overlay, m.subject, m.permission, m.workload
	return e, len(ps.errs) == before
}

// date reads a YYYY-MM-DD calendar date.
func (ps *parser) date(n *yaml.Node, field string) (string, bool) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!timestamp") {
		ps.errorf(n, field, "want a date YYYY-MM-DD, found %s", describe(n))
		return "", false
	}
	s := n.Value
	if _, err := time.Parse(time.DateOnly, s); err != nil || len(s) != len(time.DateOnly) {
		ps.errorf(n, field, "want a date YYYY-MM-DD, found %q", s)
		return "", false
	}
	return s, true
}

func (ps *parser) allowed(n *yaml.Node, where string) (Allowed, bool) {
	a := Allowed{Line: n.Line}
	before := len(ps.errs)
	ok := ps.mapping(n, where, allowFields, func(key string, v *yaml.Node) {
		field := join(where, key)
		if key == "reason" {
			if s, ok := ps.str(v, field); ok {
				a.Reason = strings.TrimSpace(s)
			}
			return
		}
		ps.objectField(key, v, field, subjectKinds, &a.Kind, &a.Namespace, &a.Name)
	})
	if !ok {
		return a, false
	}
	if a.SubjectPattern == (SubjectPattern{}) && len(ps.errs) == before {
		ps.errorf(n, where, "set at least one of kind, namespace, name")
	}
	return a, len(ps.errs) == before
}

// yamlErrLine pulls the line number out of a yaml.v3 error message.
func yamlErrLine(err error) int {
	msg := err.Error()
	if i := strings.Index(msg, "line "); i >= 0 {
		n := 0
		for _, c := range msg[i+5:] {
			if c < '0' || c > '9' {
				break
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	return 0
}

// yamlError turns "yaml: line 3: did not find expected key" into
// "path:3: did not find expected key".
func yamlError(name string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := yamlErrLine(err)
	if line > 0 {
		msg = strings.TrimPrefix(msg, fmt.Sprintf("line %d: ", line))
	}
	return fmt.Errorf("%s:%d: %s", name, line, msg)
}
