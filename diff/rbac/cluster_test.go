package rbac

import (
	"testing"

	"github.com/rbacguard/rbacguard/diff/manifest"
)

// TestWithoutBootstrap: a cluster's copies of Kubernetes' own objects are
// left to the built-ins, unless they grant more.
func TestWithoutBootstrap(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		kept bool
	}{
		{"bootstrap binding as exported", `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:basic-user
  annotations: {rbac.authorization.kubernetes.io/autoupdate: "true"}
  labels: {kubernetes.io/bootstrapping: rbac-defaults}
  resourceVersion: "140"
  managedFields: [{manager: kube-apiserver}]
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: system:basic-user}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:authenticated}]
`, false},
		{"subject added by hand to cluster-admin", `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: cluster-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:masters}
- {kind: User, name: mallory}
`, true},
		{"roleRef changed", `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: system:basic-user}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: Group, name: system:authenticated}]
`, true},
		{"bootstrap role with fewer rules (an older cluster)", `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: system:basic-user}
rules: [{apiGroups: [authorization.k8s.io], resources: [selfsubjectaccessreviews], verbs: [create]}]
`, false},
		{"bootstrap role with a rule added", `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: system:basic-user}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get]}]
`, true},
		{"bootstrap role with an aggregation label added", `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:basic-user
  labels: {rbac.authorization.k8s.io/aggregate-to-admin: "true"}
rules: []
`, true},
		{"aggregated bootstrap role with its computed rules", `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: view
  labels: {kubernetes.io/bootstrapping: rbac-defaults}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {rbac.authorization.k8s.io/aggregate-to-view: "true"}}]
rules: [{apiGroups: [""], resources: [pods], verbs: [get, list, watch]}]
`, false},
		{"aggregated bootstrap role with another selector", `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: view}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {team: x}}]
`, true},
		{"a system: name Kubernetes does not have", `
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: system:totally-legit}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: User, name: mallory}]
`, true},
		{"not RBAC", `
apiVersion: v1
kind: ServiceAccount
metadata: {name: cluster-admin}
`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, errs := manifest.Decode("export.yaml", []byte(tc.yaml))
			if len(errs) > 0 || len(objs) != 1 {
				t.Fatalf("decode: %v", errs)
			}
			got := WithoutBootstrap(objs)
			if kept := len(got) == 1; kept != tc.kept {
				t.Errorf("kept = %v, want %v", kept, tc.kept)
			}
		})
	}
}
