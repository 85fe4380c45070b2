package rbac

import "slices"

// NamesFor lists, sorted, the resourceNames of the user's rules that allow
// r but for its name: the objects a named rule lets the user make r on
// (diff/escalation asks it for the webhook configurations a rule names).
// Each name must still be asked of Allows, with r's namespace.
func (h *Holder) NamesFor(r Request) []string {
	var out []string
	collect := func(grs []*grant) {
		for _, gr := range grs {
			if len(gr.ResourceNames) == 0 {
				continue
			}
			pr := gr.PolicyRule
			pr.ResourceNames = nil
			if RuleAllows(pr, r) {
				out = append(out, gr.ResourceNames...)
			}
		}
	}
	collect(h.cluster)
	if r.Namespace != "" {
		collect(h.ns[r.Namespace])
	}
	slices.Sort(out)
	return slices.Compact(out)
}
