package audit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
)

func objects(t *testing.T, path, yaml string) []*manifest.Object {
	t.Helper()
	objs, errs := manifest.Decode(path, []byte(yaml))
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	return objs
}

const basePolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
`

func TestCompare_Messages(t *testing.T) {
	for _, tc := range []struct {
		name, head string
		want       []string
	}{{
		name: "one group silenced on secrets in one namespace",
		head: `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  userGroups: ["system:serviceaccounts:ci"]
  namespaces: ["ci"]
  resources: [{group: "", resources: ["secrets"]}]
- level: Metadata
`,
		want: []string{"get,list,watch secrets in namespace ci is no longer logged for group system:serviceaccounts:ci (rules[0]: level None)"},
	}, {
		name: "a named secret silenced for everyone",
		head: `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  resources: [{group: "", resources: ["secrets"], resourceNames: ["leader"]}]
- level: Metadata
`,
		want: []string{"get,list,watch secrets named leader is no longer logged for everyone (rules[0]: level None)"},
	}, {
		name: "RequestReceived only: the decision is not logged",
		head: `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [ResponseComplete]
rules:
- level: RequestResponse
  resources: [{group: authentication.k8s.io, resources: [tokenreviews]}]
- level: Metadata
  omitStages: []
`,
		// The policy's omitStages applies to every rule: everything is lost.
		want: []string{"create authentication.k8s.io/tokenreviews is no longer logged for everyone (rules[0] omits the ResponseComplete stage)"},
	}, {
		name: "a drop to Request or Metadata is still logged",
		head: `apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
  resources: [{group: "", resources: ["*"]}]
- level: Request
`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			fs := Compare("o", objects(t, "p.yaml", basePolicy), objects(t, "p.yaml", tc.head), "default")
			var got []string
			for _, f := range fs {
				msg := strings.TrimPrefix(f.Message, "Policy in p.yaml: ")
				if strings.HasPrefix(msg, "create authentication") || !strings.Contains(tc.name, "RequestReceived") {
					got = append(got, msg)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("messages (-want +got):\n%s", diff)
			}
		})
	}
}

// A policy that names more users than are probed says what was not
// checked rather than passing silently, and stays fast.
func TestCompare_TooManyNames(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n")
	for i := range 900 {
		fmt.Fprintf(&b, "- level: Metadata\n  users: [u%d]\n  namespaces: [n%d]\n  resources: [{group: '', resources: [secrets], resourceNames: [s%d]}]\n", i, i, i)
	}
	b.WriteString("- level: None\n  users: [u899]\n- level: Metadata\n")
	fs := Compare("o", objects(t, "p.yaml", basePolicy), objects(t, "p.yaml", b.String()), "default")
	if len(fs) != 1 || !strings.Contains(fs[0].Message, "only the first were checked") || fs[0].Severity != report.Medium {
		t.Errorf("findings %v, want only the medium note that not everything was checked", fs)
	}
}
