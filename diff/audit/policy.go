package audit

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
)

// Level is how much of a request the API server logs.
type Level string

// The levels of audit.k8s.io/v1, from none to everything.
const (
	LevelNone            Level = "None"
	LevelMetadata        Level = "Metadata"
	LevelRequest         Level = "Request"
	LevelRequestResponse Level = "RequestResponse"
)

// Stage is a point of a request's life at which an event is written.
type Stage string

// The stages of audit.k8s.io/v1.
const (
	StageRequestReceived  Stage = "RequestReceived"
	StageResponseStarted  Stage = "ResponseStarted"
	StageResponseComplete Stage = "ResponseComplete"
	StagePanic            Stage = "Panic"
)

var levels = []Level{LevelNone, LevelMetadata, LevelRequest, LevelRequestResponse}

var stages = []Stage{StageRequestReceived, StageResponseStarted, StageResponseComplete, StagePanic}

// Policy is an audit.k8s.io Policy: its rules, in order, and the stages
// every rule omits.
type Policy struct {
	Rules      []Rule
	OmitStages []Stage
	// Obj is the object it was read from (nil when built by hand).
	Obj *manifest.Object
}

// Rule is one PolicyRule: a request matches when it matches every field
// that is set.
type Rule struct {
	Level           Level
	Users           []string
	UserGroups      []string
	Verbs           []string
	Resources       []GroupResources
	Namespaces      []string
	NonResourceURLs []string
	OmitStages      []Stage
}

// GroupResources selects resources of one API group.
type GroupResources struct {
	Group         string
	Resources     []string
	ResourceNames []string
}

// Decision is what the policy decides for one request: its level, the
// stages it omits, and the index of the rule that decided (-1: no rule
// matched, and the level is None).
type Decision struct {
	Level      Level
	OmitStages []Stage
	Rule       int
}

// Logged reports whether the request's outcome reaches the log: a level
// above None, with the ResponseComplete stage (where the authorization
// decision and the response code are) not omitted.
func (d Decision) Logged() bool {
	return d.Level != LevelNone && !slices.Contains(d.OmitStages, StageResponseComplete)
}

// Evaluate decides for a request of user u as the API server's policy
// evaluator does (k8s.io/apiserver/pkg/audit/policy/checker.go): the
// first rule that matches wins; no match is level None. The audit filter
// runs before impersonation, so u is the authenticated user.
func (p *Policy) Evaluate(u rbac.User, r rbac.Request) Decision {
	for i, ru := range p.Rules {
		if ru.matches(u, r) {
			return Decision{Level: ru.Level, OmitStages: union(p.OmitStages, ru.OmitStages), Rule: i}
		}
	}
	return Decision{Level: LevelNone, OmitStages: union(p.OmitStages, nil), Rule: -1}
}

func union(a, b []Stage) []Stage {
	var out []Stage
	for _, s := range stages {
		if slices.Contains(a, s) || slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// matches mirrors ruleMatches of the API server's checker.
func (ru *Rule) matches(u rbac.User, r rbac.Request) bool {
	if len(ru.Users) > 0 && !slices.Contains(ru.Users, u.Name) {
		return false
	}
	if len(ru.UserGroups) > 0 && !slices.ContainsFunc(u.Groups, func(g string) bool { return slices.Contains(ru.UserGroups, g) }) {
		return false
	}
	if len(ru.Verbs) > 0 && !slices.Contains(ru.Verbs, r.Verb) {
		return false
	}
	if len(ru.Namespaces) > 0 || len(ru.Resources) > 0 {
		return ru.matchesResource(r)
	}
	if len(ru.NonResourceURLs) > 0 {
		return !r.ResourceRequest && slices.ContainsFunc(ru.NonResourceURLs, func(spec string) bool { return pathMatches(r.Path, spec) })
	}
	return true
}

func pathMatches(path, spec string) bool {
	return spec == "*" || spec == path || strings.HasSuffix(spec, "*") && strings.HasPrefix(path, strings.TrimRight(spec, "*"))
}

// matchesResource: unlike RBAC, "pods/*" does match every subresource of
// pods (and pods itself), and a group "*" matches every group.
func (ru *Rule) matchesResource(r rbac.Request) bool {
	if !r.ResourceRequest {
		return false
	}
	if len(ru.Namespaces) > 0 && !slices.Contains(ru.Namespaces, r.Namespace) {
		return false
	}
	if len(ru.Resources) == 0 {
		return true
	}
	combined := r.Resource
	if r.Subresource != "" {
		combined += "/" + r.Subresource
	}
	for _, gr := range ru.Resources {
		if gr.Group != r.APIGroup && gr.Group != "*" {
			continue
		}
		if len(gr.Resources) == 0 {
			return true
		}
		if len(gr.ResourceNames) > 0 && !slices.Contains(gr.ResourceNames, r.Name) {
			continue
		}
		for _, res := range gr.Resources {
			switch {
			case res == combined || res == "*":
				return true
			case r.Subresource != "" && strings.HasPrefix(res, "*/") && r.Subresource == strings.TrimPrefix(res, "*/"):
				return true
			case strings.HasSuffix(res, "/*") && r.Resource == strings.TrimSuffix(res, "/*"):
				return true
			}
		}
	}
	return false
}

// DecodePolicy reads an audit.k8s.io Policy object. It is as strict as
// the API server's loader about what changes a decision (levels and
// stages must be known; the server refuses to start otherwise), and
// lenient about the rest.
func DecodePolicy(o *manifest.Object) (*Policy, error) {
	p := &Policy{Obj: o}
	var err error
	if p.OmitStages, err = stageList(o.Body["omitStages"], "omitStages"); err != nil {
		return nil, err
	}
	rules, ok := o.Body["rules"].([]any)
	if !ok && o.Body["rules"] != nil {
		return nil, fmt.Errorf("rules: want a list")
	}
	for i, rv := range rules {
		m, ok := rv.(map[string]any)
		field := fmt.Sprintf("rules[%d]", i)
		if !ok {
			return nil, fmt.Errorf("%s: want a mapping", field)
		}
		lv, _ := m["level"].(string)
		if !slices.Contains(levels, Level(lv)) {
			return nil, fmt.Errorf("%s.level: %q is not a level (None, Metadata, Request or RequestResponse)", field, lv)
		}
		ru := Rule{Level: Level(lv)}
		for _, f := range []struct {
			name string
			dst  *[]string
		}{{"users", &ru.Users}, {"userGroups", &ru.UserGroups}, {"verbs", &ru.Verbs}, {"namespaces", &ru.Namespaces}, {"nonResourceURLs", &ru.NonResourceURLs}} {
			if *f.dst, err = strList(m[f.name], field+"."+f.name); err != nil {
				return nil, err
			}
		}
		if ru.OmitStages, err = stageList(m["omitStages"], field+".omitStages"); err != nil {
			return nil, err
		}
		grs, ok := m["resources"].([]any)
		if !ok && m["resources"] != nil {
			return nil, fmt.Errorf("%s.resources: want a list", field)
		}
		for j, gv := range grs {
			gm, ok := gv.(map[string]any)
			gf := fmt.Sprintf("%s.resources[%d]", field, j)
			if !ok {
				return nil, fmt.Errorf("%s: want a mapping", gf)
			}
			var gr GroupResources
			gr.Group, _ = gm["group"].(string)
			if gr.Resources, err = strList(gm["resources"], gf+".resources"); err != nil {
				return nil, err
			}
			if gr.ResourceNames, err = strList(gm["resourceNames"], gf+".resourceNames"); err != nil {
				return nil, err
			}
			ru.Resources = append(ru.Resources, gr)
		}
		p.Rules = append(p.Rules, ru)
	}
	return p, nil
}

func strList(v any, field string) ([]string, error) {
	if v == nil {
		return nil, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: want a list of strings", field)
	}
	out := make([]string, len(l))
	for i, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("%s[%d]: want a string", field, i)
		}
		out[i] = s
	}
	return out, nil
}

func stageList(v any, field string) ([]Stage, error) {
	l, err := strList(v, field)
	var out []Stage
	for i, s := range l {
		if !slices.Contains(stages, Stage(s)) {
			return nil, fmt.Errorf("%s[%d]: %q is not a stage", field, i, s)
		}
		out = append(out, Stage(s))
	}
	return out, err
}

// ruleLocation is the line of rule i of the policy, or of the policy
// when i is -1 (no rule matched).
func (p *Policy) ruleLocation(i int) report.Location {
	if p.Obj == nil {
		return report.Location{}
	}
	var l manifest.Location
	if i >= 0 {
		l = p.Obj.LineOf("rules", i, "level")
	} else {
		l = p.Obj.LineOf("rules")
	}
	return report.Location{Path: l.Path, Line: l.Line}
}
