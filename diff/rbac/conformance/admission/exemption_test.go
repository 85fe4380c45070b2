package admission_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/rbacguard/rbacguard/diff/admission"
	"github.com/rbacguard/rbacguard/diff/policy"
)

const exemptionPolicy = `failOn: high
exemptions:
  - subject: {kind: ServiceAccount, namespace: argocd, name: argo}
    reason: Argo CD manages the cluster (PLAT-1)
  - subject: {kind: ServiceAccount, namespace: legacy, name: "*"}
    reason: old tokens, being removed (PLAT-2)
    expires: 2026-01-31
  - workload: {kind: Deployment, namespace: "batch-*", name: "*"}
    kind: token.automount
    reason: batch workloads are sandboxed
  - subject: {namespace: ci}
    kind: token.legacy-secret
    reason: CI keeps a legacy token until 2027 (CI-9)
    expires: 2027-06-30
allow:
  - {kind: Group, name: "platform:admins"}
severities:
  - kind: token.automount
    severity: high
`

func object(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(y), &u.Object); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestAdmission_Exemptions: an object an exemption in force covers is
// admitted; the same object without it, or under an expired exemption,
// is denied; a harmless object is admitted; a check the policy raises to
// the gate denies.
func TestAdmission_Exemptions(t *testing.T) {
	p, err := policy.Parse("rbacguard.yaml", []byte(exemptionPolicy))
	if err != nil {
		t.Fatal(err)
	}
	set := admission.Export(p, now)
	c := newCluster(t, set.Policies, set.Bindings)
	tests := []struct {
		name, object string
		denied       bool
	}{
		{"exempted subject bound to cluster-admin", `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: argo-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: argo, namespace: argocd}]`, false},
		{"exempted and other subject bound to cluster-admin", `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: argo-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: argo, namespace: argocd}, {kind: ServiceAccount, name: intruder, namespace: argocd}]`, true},
		{"allowed group bound to cluster-admin", `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: admins}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: Group, name: "platform:admins", apiGroup: rbac.authorization.k8s.io}]`, false},
		{"expired exemption", `
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: old, namespace: legacy}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: old}]`, true},
		{"binding to everyone", `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: open}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects: [{kind: Group, name: "system:authenticated", apiGroup: rbac.authorization.k8s.io}]`, true},
		{"bootstrap binding to everyone", `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:discovery"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:discovery"}
subjects: [{kind: Group, name: "system:authenticated", apiGroup: rbac.authorization.k8s.io}]`, false},
		{"Role with escalate", `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: esc, namespace: app}
rules: [{apiGroups: [rbac.authorization.k8s.io], resources: [roles], verbs: [escalate]}]`, true},
		{"Role with a wildcard on configmaps (medium: warns)", `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cm, namespace: app}
rules: [{apiGroups: [""], resources: [configmaps], verbs: ["*"]}]`, false},
		{"harmless Role", `
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read, namespace: app}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]`, false},
		{"Deployment on default raised to high", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {template: {spec: {containers: [{name: web, image: web}]}}}`, true},
		{"exempted Deployment on default", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: nightly, namespace: batch-eu}
spec: {template: {spec: {containers: [{name: job, image: job}]}}}`, false},
		{"Deployment with its own account", `
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: shop}
spec: {template: {spec: {serviceAccountName: api, containers: [{name: api, image: api}]}}}`, false},
		{"legacy token Secret", `
apiVersion: v1
kind: Secret
metadata: {name: tok, namespace: shop, annotations: {kubernetes.io/service-account.name: api}}
type: kubernetes.io/service-account-token`, true},
		{"legacy token Secret in an exempted namespace", `
apiVersion: v1
kind: Secret
metadata: {name: tok, namespace: ci, annotations: {kubernetes.io/service-account.name: runner}}
type: kubernetes.io/service-account-token`, false},
		{"opaque Secret", `
apiVersion: v1
kind: Secret
metadata: {name: plain, namespace: shop}
type: Opaque`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := object(t, tt.object)
			d := c.create(u)
			if got := isDenied(d.denied); got != tt.denied {
				t.Errorf("denied = %v, want %v (answer: %v; warnings: %q)", got, tt.denied, d.denied, d.warnings)
			}
			if strings.HasSuffix(tt.name, "warns)") && len(d.warnings) == 0 {
				t.Errorf("no warning, want the check's (answer: %v)", d.denied)
			}
			c.cost(t, u)
		})
	}
	for _, e := range c.errors {
		t.Errorf("not a check's answer: %s", e)
	}
}
