package rbac

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/diff/manifest"
)

func TestHolder_NamesFor(t *testing.T) {
	objs, errs := manifest.Decode("rbac.yaml", []byte(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: hooks}
rules:
- {apiGroups: [admissionregistration.k8s.io], resources: [mutatingwebhookconfigurations], verbs: [update], resourceNames: [b-hook, a-hook]}
- {apiGroups: [admissionregistration.k8s.io], resources: [mutatingwebhookconfigurations], verbs: [get], resourceNames: [read-only]}
- {apiGroups: [admissionregistration.k8s.io], resources: [validatingwebhookconfigurations], verbs: [update]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: hooks}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: hooks}
subjects: [{kind: User, name: alice, apiGroup: rbac.authorization.k8s.io}]
`))
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	h := Build(objs, Options{}).Holder(User{Name: "alice"})
	upd := Request{ResourceRequest: true, Verb: "update", APIGroup: "admissionregistration.k8s.io", Resource: "mutatingwebhookconfigurations"}
	if diff := cmp.Diff([]string{"a-hook", "b-hook"}, h.NamesFor(upd)); diff != "" {
		t.Errorf("NamesFor(update mutating webhooks) (-want +got):\n%s", diff)
	}
	upd.Resource = "validatingwebhookconfigurations"
	if got := h.NamesFor(upd); len(got) != 0 {
		t.Errorf("an unnamed rule names nothing: NamesFor = %v", got)
	}
}
