package escalation

import "slices"

// Assumptions a path may rest on: what rbacguard cannot see of the cluster
// and assumes by default, each with the policy setting that turns it off.
// A finding whose path rests on one says so, in these words, at the end
// of its message.
const (
	assumeControllerAccounts = "if kube-system's controllers run as their own service accounts — policy controllerAccounts: kube-system"
)

// assumptions lists, in path order and each once, the assumptions steps
// rest on: a step to a controller account the repository does not name
// rests on Options.ControllerAccounts.
func (m *Model) assumptions(steps []Step) []string {
	var out []string
	for _, st := range steps {
		if m.nodes[m.index[st.To]].assumed && !slices.Contains(out, assumeControllerAccounts) {
			out = append(out, assumeControllerAccounts)
		}
	}
	return out
}
