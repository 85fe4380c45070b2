package audit

import (
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/report"
)

// Tally is what reading the logs counted.
type Tally struct {
	// Events read; Requests counted once each (at their final event);
	// Denied of those, refused by the authorizer.
	Events, Requests, Denied int64
	Window                   Window
}

// Observe hands one event to every usage: the request of its subject
// (the impersonated user, if any) and the impersonation checks of the
// authenticated user. RequestReceived events come before authorization
// and say nothing of it: they are counted, not used.
func (t *Tally) Observe(e *Event, usages []*Usage) {
	t.Events++
	if ts := e.StageTimestamp; !ts.IsZero() {
		if t.Window.First.IsZero() || ts.Before(t.Window.First) {
			t.Window.First = ts
		}
		if ts.After(t.Window.Last) {
			t.Window.Last = ts
		}
	}
	if e.Stage == StageRequestReceived {
		return
	}
	denied := e.Denied()
	if e.Final() {
		t.Requests++
		if denied {
			t.Denied++
		}
	}
	u, r := e.Subject(), e.Request()
	var imp []rbac.Request
	if !denied {
		imp = e.Impersonation()
	}
	self := rbac.User{Name: e.User.Username, Groups: e.User.Groups}
	for _, us := range usages {
		us.Observe(u, r, denied)
		for _, ir := range imp {
			us.Observe(self, ir, false)
		}
	}
}

// Asked counts the logged requests of s (its own, allowed or denied)
// that rule allows in scope ("" cluster-wide): the evidence on an
// increase.
func (us *Usage) Asked(s report.Subject, rule rbacv1.PolicyRule, scope string) int {
	n := 0
	for _, m := range []map[report.Subject]*requestSet{us.used, us.denied} {
		if set := m[s]; set != nil {
			for r, c := range set.reqs {
				if (scope == "" || r.Namespace == scope) && rbac.RuleAllows(rule, r) {
					n += c
				}
			}
		}
	}
	return n
}
