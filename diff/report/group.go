package report

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// GroupByRule turns atomic permission findings into one finding per
// subject, scope and chain (binding subject → role rule): what one rule
// grants one subject through one binding is one cause, whatever the YAML
// layout (block or flow lists, many resourceNames, verbs split over
// lines). The engine's atoms stay exact: the group's Permissions list
// them as rectangles (verbs × resources × names that really are granted
// together), Permission is the most severe of them, Severity the highest
// of the members'. Findings with an escalation path, without a
// permission, or that a policy exempted differently stay apart.
//
// The group is located at the first line the change touched among its
// members' locations (changed may be nil: a scan), else the first one.
func GroupByRule(fs []Finding, changed func(path string, line int) bool) []Finding {
	var out []Finding
	groups := map[string]int{} // key → index in out
	members := map[int][]Finding{}
	for _, f := range fs {
		key, ok := ruleKey(f)
		if !ok {
			out = append(out, f)
			continue
		}
		i, seen := groups[key]
		if !seen {
			i = len(out)
			groups[key] = i
			out = append(out, f)
		}
		members[i] = append(members[i], f)
	}
	for i, ms := range members {
		if len(ms) > 1 {
			out[i] = combine(ms, changed)
		}
	}
	return out
}

// ruleKey is everything that must be equal for atoms to be one cause.
func ruleKey(f Finding) (string, bool) {
	if f.Permission == nil || len(f.Path) > 0 || f.Subject == nil {
		return "", false
	}
	switch f.Kind {
	case RBACIncrease, RBACDecrease, RBACGrant, RBACInert:
	default:
		return "", false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\x00%s\x00%s\x00", f.Kind, f.Overlay, subjectKey(f.Subject))
	if f.Scope != nil {
		fmt.Fprintf(&b, "%v\x00", *f.Scope)
	}
	for _, v := range f.Via {
		fmt.Fprintf(&b, "%s|%s|%s|%s|%s\x01", v.Kind, v.Namespace, v.Name, v.Field, v.Path)
	}
	if f.Exemption != nil {
		fmt.Fprintf(&b, "\x00exempt:%+v", *f.Exemption)
	}
	fmt.Fprintf(&b, "\x00%v", f.Preexisting)
	return b.String(), true
}

// combine makes one finding of the atoms of one rule.
func combine(ms []Finding, changed func(string, int) bool) Finding {
	top := ms[0]
	for _, m := range ms[1:] {
		if m.Severity.Rank() > top.Severity.Rank() {
			top = m
		}
	}
	g := top
	blocks := Rectangles(ms)
	g.Permission = &blocks[0]
	g.Permissions = blocks
	parts := make([]string, len(blocks))
	for i, p := range blocks {
		parts[i] = p.String()
	}
	if old := top.Permission.String(); strings.Contains(top.Message, old) {
		g.Message = strings.Replace(top.Message, old, strings.Join(parts, "; "), 1)
	}
	g.Location, g.AlsoAt = firstLocation(ms, changed)
	var via []string
	for _, v := range top.Via {
		via = append(via, v.Object())
	}
	g.ID = ID(top.Kind, top.Overlay, *top.Subject, top.Scope, strings.Join(via, " → "), "rule")
	return g
}

// Rectangles merges atoms into as few permissions as are exactly granted:
// atoms that differ in verb only, then resources with the same verbs,
// then names with the same verbs and resources. The most severe comes
// first; the rest keep the order of their first atom.
func Rectangles(ms []Finding) []Permission {
	// One block per group, resource, name and URL set, with its verbs.
	var blocks []block
	index := map[string]int{}
	for _, m := range ms {
		p := m.Permission
		for _, g := range orEmpty(p.APIGroups) {
			for _, r := range orEmpty(p.Resources) {
				for _, n := range orEmpty(p.ResourceNames) {
					b := block{sev: m.Severity, p: Permission{Verbs: p.Verbs, APIGroups: []string{}, Resources: []string{},
						ResourceNames: []string{}, NonResourceURLs: p.NonResourceURLs}}
					if len(p.NonResourceURLs) == 0 {
						b.p.APIGroups, b.p.Resources = []string{g}, []string{r}
						if n != "" {
							b.p.ResourceNames = []string{n}
						}
					}
					key := fmt.Sprintf("%q|%q|%q|%q", b.p.APIGroups, b.p.Resources, b.p.ResourceNames, b.p.NonResourceURLs)
					if i, ok := index[key]; ok {
						blocks[i].absorb(b, func(p *Permission) { p.Verbs = union(p.Verbs, b.p.Verbs) })
						continue
					}
					index[key] = len(blocks)
					blocks = append(blocks, b)
				}
			}
		}
	}
	for i := range blocks {
		blocks[i].p.Verbs = SortVerbs(blocks[i].p.Verbs)
	}
	blocks = mergeBlocks(blocks,
		func(p Permission) string {
			if len(p.NonResourceURLs) > 0 {
				return fmt.Sprintf("urls|%q", p.Verbs)
			}
			return fmt.Sprintf("%q|%q|%q", p.Verbs, p.APIGroups, p.ResourceNames)
		},
		func(into *Permission, p Permission) {
			into.Resources = union(into.Resources, p.Resources)
			into.NonResourceURLs = union(into.NonResourceURLs, p.NonResourceURLs)
		})
	for i := range blocks {
		slices.Sort(blocks[i].p.Resources) // so that the names of equal resource sets meet
	}
	blocks = mergeBlocks(blocks,
		func(p Permission) string {
			return fmt.Sprintf("%q|%q|%q|%q", p.Verbs, p.APIGroups, p.Resources, p.NonResourceURLs)
		},
		func(into *Permission, p Permission) { into.ResourceNames = union(into.ResourceNames, p.ResourceNames) })
	slices.SortStableFunc(blocks, func(a, b block) int { return b.sev.Rank() - a.sev.Rank() })
	perms := make([]Permission, len(blocks))
	for i, b := range blocks {
		perms[i] = b.p
	}
	return perms
}

// block is a permission being built and the severity of its worst atom.
type block struct {
	p   Permission
	sev Severity
}

func (b *block) absorb(o block, merge func(*Permission)) {
	merge(&b.p)
	if o.sev.Rank() > b.sev.Rank() {
		b.sev = o.sev
	}
}

// mergeBlocks merges blocks with equal keys, in order of first appearance.
// Named and unnamed blocks never merge: an empty list is not a value.
func mergeBlocks(bs []block, key func(Permission) string, merge func(into *Permission, p Permission)) []block {
	var out []block
	index := map[string]int{}
	for _, b := range bs {
		k := key(b.p) + fmt.Sprintf("|%v", len(b.p.ResourceNames) > 0)
		if i, ok := index[k]; ok {
			out[i].absorb(b, func(p *Permission) { merge(p, b.p) })
			continue
		}
		index[k] = len(out)
		b.p = clonePermission(b.p)
		out = append(out, b)
	}
	return out
}

func clonePermission(p Permission) Permission {
	return Permission{Verbs: slices.Clone(p.Verbs), APIGroups: slices.Clone(p.APIGroups), Resources: slices.Clone(p.Resources),
		ResourceNames: slices.Clone(p.ResourceNames), NonResourceURLs: slices.Clone(p.NonResourceURLs)}
}

func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, v := range b {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func orEmpty(s []string) []string {
	if len(s) == 0 {
		return []string{""}
	}
	return s
}

// firstLocation picks the group's location: the first changed line of its
// members, else the first line; the others become AlsoAt.
func firstLocation(ms []Finding, changed func(string, int) bool) (Location, []Location) {
	set := map[Location]bool{}
	for _, m := range ms {
		set[m.Location] = true
		for _, l := range m.AlsoAt {
			set[l] = true
		}
	}
	all := slices.SortedFunc(maps.Keys(set), func(a, b Location) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	at := all[0]
	if changed != nil {
		for _, l := range all {
			if l.Path != "" && changed(l.Path, l.Line) {
				at = l
				break
			}
		}
	}
	// Other lines of the same rule are the same place for a reader.
	var also []Location
	for _, l := range all {
		if l != at && l.Path != at.Path {
			also = append(also, l)
		}
	}
	return at, also
}

// verbRank orders verbs the way kubectl and the docs list them; other
// verbs follow, alphabetically.
func verbRank(v string) int {
	if i := slices.Index([]string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}, v); i >= 0 {
		return i
	}
	return 8
}

// SortVerbs orders verbs as kubectl lists them (get, list, watch, create,
// update, patch, delete, deletecollection, then the rest alphabetically).
func SortVerbs(vs []string) []string {
	vs = slices.Clone(vs)
	slices.SortFunc(vs, func(a, b string) int {
		if c := verbRank(a) - verbRank(b); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return vs
}

// MergeAcrossOverlays reports a finding that several overlays share word
// for word (the same kind, subject, permission, chain and line: a base
// that many overlays build on) once, in the first overlay, with the others
// in AlsoIn. Severity and exemptions are part of what must be equal.
func MergeAcrossOverlays(fs []Finding) []Finding {
	first := map[string]int{}
	out := fs[:0]
	for _, f := range fs {
		g := f
		g.Overlay, g.ID, g.AlsoIn = "", "", nil
		k, err := json.Marshal(g)
		if err != nil {
			out = append(out, f)
			continue
		}
		key := string(k) + "\x00" + f.Cause
		if i, ok := first[key]; ok {
			if f.Overlay != out[i].Overlay && !slices.Contains(out[i].AlsoIn, f.Overlay) {
				out[i].AlsoIn = append(out[i].AlsoIn, f.Overlay)
			}
			continue
		}
		first[key] = len(out)
		out = append(out, f)
	}
	return out
}
