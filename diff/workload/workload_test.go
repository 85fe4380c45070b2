package workload_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/workload"
)

const objects = `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: jobs}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          serviceAccountName: worker
          containers: [{name: c, image: c}]
---
apiVersion: v1
kind: Pod
metadata: {name: legacy}
spec:
  serviceAccount: old
  automountServiceAccountToken: false
  containers: [{name: c, image: c}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: jobs}
spec:
  template:
    spec:
      automountServiceAccountToken: true
      containers: [{name: c, image: c}]
      volumes:
      - name: kube
        projected:
          sources:
          - configMap: {name: ca}
          - serviceAccountToken: {path: token, expirationSeconds: 7200}
          - serviceAccountToken: {path: vault, audience: vault}
---
apiVersion: example.com/v1
kind: Deployment
metadata: {name: custom, namespace: jobs}
spec: {template: {spec: {}}}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: nospec, namespace: jobs}
spec: {template: {spec: 7}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: worker, namespace: jobs}
automountServiceAccountToken: false
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: old}
`

func decode(t *testing.T) []*manifest.Object {
	t.Helper()
	objs, errs := manifest.Decode("w.yaml", []byte(objects))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return objs
}

func TestFind(t *testing.T) {
	ws := workload.Find(decode(t), "dflt")
	type row struct {
		Kind, Namespace, Name, SA string
		Automount                 *bool
		Spec                      []any
		Line                      int
	}
	var got []row
	for _, w := range ws {
		got = append(got, row{w.Kind, w.Namespace, w.Name, w.ServiceAccount, w.Automount, w.SpecPath, w.LineOf().Line})
	}
	f, tr := false, true
	want := []row{
		{"Pod", "dflt", "legacy", "old", &f, []any{"spec"}, 15},
		{"CronJob", "jobs", "nightly", "worker", nil, []any{"spec", "jobTemplate", "spec", "template", "spec"}, 8},
		{"Deployment", "jobs", "web", "default", &tr, []any{"spec", "template", "spec"}, 25},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Find (-want +got):\n%s", diff)
	}
}

func TestAutomountPrecedence(t *testing.T) {
	on, off := true, false
	sa := func(v any) map[[2]string]*manifest.Object {
		body := map[string]any{"apiVersion": "v1", "kind": "ServiceAccount"}
		if v != nil {
			body["automountServiceAccountToken"] = v
		}
		return map[[2]string]*manifest.Object{{"ns", "sa"}: {Kind: "ServiceAccount", Name: "sa", Body: body}}
	}
	tests := []struct {
		name   string
		pod    *bool
		sas    map[[2]string]*manifest.Object
		want   bool
		setter workload.Setter
	}{
		{"nothing set: true", nil, nil, true, workload.ByDefault},
		{"account without field", nil, sa(nil), true, workload.ByDefault},
		{"account false", nil, sa(false), false, workload.ByServiceAccount},
		{"account true", nil, sa(true), true, workload.ByServiceAccount},
		{"account field of wrong type ignored", nil, sa("no"), true, workload.ByDefault},
		{"pod true beats account false", &on, sa(false), true, workload.ByPod},
		{"pod false beats account true", &off, sa(true), false, workload.ByPod},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := workload.Workload{Namespace: "ns", ServiceAccount: "sa", Automount: tt.pod, PodSpec: map[string]any{}}
			got, by := workload.Automount(w, tt.sas)
			if got != tt.want || by != tt.setter {
				t.Errorf("Automount = %v, %v; want %v, %v", got, by, tt.want, tt.setter)
			}
			if workload.MountsToken(w, tt.sas) != tt.want {
				t.Errorf("MountsToken = %v, want %v", !tt.want, tt.want)
			}
		})
	}
}

func TestMountsTokenProjected(t *testing.T) {
	objs := decode(t)
	sas := workload.ServiceAccounts(objs, "dflt")
	ws := workload.Find(objs, "dflt")
	// legacy: automount off, no volumes. nightly: the account says false.
	if workload.MountsToken(ws[0], sas) || workload.MountsToken(ws[1], sas) {
		t.Error("a pod with automount off and no projected token holds none")
	}
	proj := func(aud string) workload.Workload {
		off := false
		return workload.Workload{Automount: &off, PodSpec: map[string]any{"volumes": []any{
			map[string]any{"name": "v", "projected": map[string]any{"sources": []any{
				map[string]any{"serviceAccountToken": map[string]any{"audience": aud}}}}}}}}
	}
	for aud, want := range map[string]bool{"": true, "https://kubernetes.default.svc.cluster.local": true, "vault": false, "https://kubernetes.example.com": false} {
		if got := workload.MountsToken(proj(aud), nil); got != want {
			t.Errorf("projected audience %q: MountsToken = %v, want %v", aud, got, want)
		}
	}
}

func TestProjectedTokens(t *testing.T) {
	ws := workload.Find(decode(t), "dflt")
	got := workload.ProjectedTokens(ws[2])
	want := []workload.Projected{
		{Volume: "kube", Path: "token", ExpirationSeconds: 7200, ExpirationSet: true,
			Field: []any{"volumes", 0, "projected", "sources", 1, "serviceAccountToken"}},
		{Volume: "kube", Path: "vault", Audience: "vault", ExpirationSeconds: workload.DefaultExpirationSeconds,
			Field: []any{"volumes", 0, "projected", "sources", 2, "serviceAccountToken"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ProjectedTokens (-want +got):\n%s", diff)
	}
	if l := ws[2].LineOf(got[1].Field...); l.Line != 34 {
		t.Errorf("line of the vault source = %d, want 34", l.Line)
	}
}

func TestServiceAccounts(t *testing.T) {
	sas := workload.ServiceAccounts(decode(t), "dflt")
	var keys [][2]string
	for k := range sas {
		keys = append(keys, k)
	}
	if len(sas) != 2 || sas[[2]string{"jobs", "worker"}] == nil || sas[[2]string{"dflt", "old"}] == nil {
		t.Errorf("ServiceAccounts keys = %v", keys)
	}
}
