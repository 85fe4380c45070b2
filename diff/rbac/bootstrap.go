package rbac

import "github.com/rbacguard/rbacguard/diff/report"

// BootstrapSubjects lists the subjects the built-in policy's bindings name
// (kube-system's controller accounts, the scheduler, the nodes…), each
// once, in the order of Subjects.
func (g *Graph) BootstrapSubjects() []report.Subject {
	return g.subjectsOf(func(b *binding) bool { return b.builtin })
}

// subjectsOf lists the subjects of the bindings keep selects, each once,
// in the order of the bindings and of their subjects.
func (g *Graph) subjectsOf(keep func(*binding) bool) []report.Subject {
	var out []report.Subject
	seen := map[subject]bool{}
	for _, b := range g.bindings {
		if !keep(b) {
			continue
		}
		for _, rs := range b.subjects {
			if s, ok := subjectOf(rs, b); ok && !seen[s] {
				seen[s] = true
				out = append(out, *s.report())
			}
		}
	}
	return out
}
