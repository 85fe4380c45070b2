package manifest

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecode(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       string
		objects  []string // "Kind ns/name @line"
		problems []string // substrings of each error, in order
	}{
		{
			name: "multi-document with empty documents",
			in: `---
apiVersion: v1
kind: ServiceAccount
metadata: {name: a, namespace: x}
---
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: b
`,
			objects: []string{"ServiceAccount x/a @2", "ServiceAccount b @7"},
		},
		{
			name: "List is expanded",
			in: `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a}
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleList
  metadata: {name: nested-is-kept}
`,
			objects: []string{"ConfigMap a @4", "RoleList nested-is-kept @7"},
		},
		{
			name:     "invalid YAML names the line",
			in:       "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n   bad: indent\n",
			problems: []string{"x.yaml:5: document 1:"},
		},
		{
			name:     "a list is not an object",
			in:       "- a\n- b\n",
			problems: []string{"document 1: want a mapping (an object), found a list"},
		},
		{
			name:     "a scalar is not an object",
			in:       "just text\n",
			problems: []string{`found a scalar "just text"`},
		},
		{
			name:     "no kind",
			in:       "apiVersion: v1\nmetadata: {name: a}\n",
			problems: []string{"kind is missing"},
		},
		{
			name:     "no name",
			in:       "apiVersion: v1\nkind: ConfigMap\n",
			problems: []string{"ConfigMap has no metadata.name"},
		},
		{
			name: "one bad document does not hide the next",
			in: `apiVersion: v1
kind: ConfigMap
---
apiVersion: v1
kind: ConfigMap
metadata: {name: ok}
`,
			objects:  []string{"ConfigMap ok @4"},
			problems: []string{"document 1"},
		},
		{
			name: "alias bomb ends in an error",
			in: `a: &a ["x","x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
`,
			problems: []string{"document 1"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs, errs := Decode("x.yaml", []byte(tc.in))
			var got []string
			for _, o := range objs {
				got = append(got, o.String()+" @"+itoa(o.Origin.Line))
			}
			if diff := cmp.Diff(tc.objects, got); diff != "" {
				t.Errorf("objects (-want +got):\n%s", diff)
			}
			if len(errs) != len(tc.problems) {
				t.Fatalf("errors = %v, want %d", errs, len(tc.problems))
			}
			for i, e := range errs {
				var de *DocError
				if !errors.As(e, &de) {
					t.Errorf("error %v is not a *DocError", e)
				}
				if !strings.Contains(e.Error(), tc.problems[i]) {
					t.Errorf("error %q does not contain %q", e, tc.problems[i])
				}
			}
		})
	}
}

func TestLineOf(t *testing.T) {
	in := `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: r
  labels:
    a.b/c: "true"
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs:
  - get
  - list
`
	objs, errs := Decode("r.yaml", []byte(in))
	if len(errs) > 0 || len(objs) != 1 {
		t.Fatal(errs)
	}
	o := objs[0]
	for _, tc := range []struct {
		path []any
		want int
	}{
		{nil, 1},
		{[]any{"kind"}, 2},
		{[]any{"metadata", "labels", "a.b/c"}, 6},
		{[]any{"rules", 0}, 8},
		{[]any{"rules", 0, "verbs", 1}, 12},
		{[]any{"rules", 0, "resources", 0}, 9},
		{[]any{"rules", 3, "verbs"}, 7}, // a missing index: the deepest field there is
		{[]any{"nope"}, 1},
	} {
		if got := o.LineOf(tc.path...); got.Line != tc.want || got.Path != "r.yaml" {
			t.Errorf("LineOf(%v) = %v, want r.yaml:%d", tc.path, got, tc.want)
		}
	}
}

func TestDecodeValues(t *testing.T) {
	objs, errs := Decode("v.yaml", []byte(`apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  automountServiceAccountToken: false
  n: 3600
  f: 1.5
  s: "3600"
  nothing: null
  base: &base {x: 1}
  merged:
    <<: *base
    y: 2
`))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	spec := objs[0].Body["spec"].(map[string]any)
	want := map[string]any{
		"automountServiceAccountToken": false, "n": int64(3600), "f": 1.5, "s": "3600", "nothing": nil,
		"base": map[string]any{"x": int64(1)}, "merged": map[string]any{"x": int64(1), "y": int64(2)},
	}
	if diff := cmp.Diff(want, spec); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// FuzzDecode feeds arbitrary bytes to the manifest loader: it must never
// panic, and every object it returns must have a kind and a name.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Pod, metadata: {name: p}}\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("--- \n- x\n---\n{\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, _ := Decode("f.yaml", data)
		for _, o := range objs {
			if o.Kind == "" || o.Name == "" {
				t.Fatalf("object without kind or name: %+v", o)
			}
			_ = o.LineOf("spec", 0, "x")
		}
	})
}

func TestDecode_ConfigFilesAreNamedByPath(t *testing.T) {
	objs, errs := Decode("etc/kubeadm.yaml", []byte(`apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
apiServer:
  extraArgs:
  - name: anonymous-auth
    value: "true"
---
apiVersion: apiserver.config.k8s.io/v1
kind: AuthenticationConfiguration
jwt: []
---
apiVersion: v1
kind: Config
users: []
`))
	if len(errs) > 0 || len(objs) != 3 {
		t.Fatalf("objects %d, errors %v", len(objs), errs)
	}
	for _, o := range objs {
		if o.Name != "etc/kubeadm.yaml" {
			t.Errorf("%s named %q, want the file path", o.Kind, o.Name)
		}
	}
}

// TestCache_SameAsDecode: the cache gives the objects and lines Decode
// gives, shares unchanged documents, and decodes a moved one again.
func TestCache_SameAsDecode(t *testing.T) {
	file := func(extra string) []byte {
		return []byte("# header\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n" + extra +
			"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: b\n--- # c\napiVersion: v1\nkind: Secret\nmetadata: {name: c}\n")
	}
	c := NewCache()
	for _, data := range [][]byte{file(""), file(""), file("# moved down\n")} {
		want, _ := Decode("f.yaml", data)
		got, errs := c.Decode("f.yaml", data)
		if len(errs) > 0 || len(got) != len(want) {
			t.Fatalf("cache: %d objects %v, want %d", len(got), errs, len(want))
		}
		for i := range want {
			if got[i].String() != want[i].String() || got[i].Origin != want[i].Origin ||
				got[i].LineOf("metadata", "name") != want[i].LineOf("metadata", "name") {
				t.Errorf("object %d: %s at %v/%v, want %s at %v/%v", i, got[i], got[i].Origin, got[i].LineOf("metadata", "name"),
					want[i], want[i].Origin, want[i].LineOf("metadata", "name"))
			}
		}
	}
	first, _ := c.Decode("f.yaml", file(""))
	again, _ := c.Decode("f.yaml", file(""))
	if first[0] != again[0] {
		t.Error("an unchanged document was decoded twice")
	}
	// A broken document: exactly Decode's errors.
	bad := []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: [\n")
	_, want := Decode("b.yaml", bad)
	_, got := c.Decode("b.yaml", bad)
	if len(got) != len(want) || got[0].Error() != want[0].Error() {
		t.Errorf("errors %v, want %v", got, want)
	}
}
