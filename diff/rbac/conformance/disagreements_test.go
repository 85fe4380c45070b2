package conformance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
	rbacv1 "k8s.io/api/rbac/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/rbacguard/rbacguard/diff/rbac"
)

// parsePolicy reads a YAML stream of RBAC objects.
func parsePolicy(data []byte) (Policy, error) {
	var p Policy
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return p, nil
		}
		if err != nil {
			return p, err
		}
		if len(bytes.TrimSpace(raw)) == 0 || string(raw) == "null" {
			continue
		}
		var tm struct{ Kind string }
		if err := json.Unmarshal(raw, &tm); err != nil {
			return p, err
		}
		switch tm.Kind {
		case "ClusterRole":
			o := &rbacv1.ClusterRole{}
			err = json.Unmarshal(raw, o)
			p.ClusterRoles = append(p.ClusterRoles, o)
		case "ClusterRoleBinding":
			o := &rbacv1.ClusterRoleBinding{}
			err = json.Unmarshal(raw, o)
			p.ClusterRoleBindings = append(p.ClusterRoleBindings, o)
		case "Role":
			o := &rbacv1.Role{}
			err = json.Unmarshal(raw, o)
			p.Roles = append(p.Roles, o)
		case "RoleBinding":
			o := &rbacv1.RoleBinding{}
			err = json.Unmarshal(raw, o)
			p.RoleBindings = append(p.RoleBindings, o)
		default:
			err = fmt.Errorf("unexpected kind %q", tm.Kind)
		}
		if err != nil {
			return p, err
		}
	}
}

// TestDisagreements replays every recorded disagreement (testdata/
// disagreements/*.txtar: base.yaml, head.yaml, note, record.json). Each
// fails until the engine is fixed, then guards the fix.
func TestDisagreements(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "disagreements", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var base, head Policy
			var rec record
			for _, f := range ar.Files {
				switch f.Name {
				case "base.yaml":
					base, err = parsePolicy(f.Data)
				case "head.yaml":
					head, err = parsePolicy(f.Data)
				case "record.json":
					err = json.Unmarshal(f.Data, &rec)
				}
				if err != nil {
					t.Fatalf("%s: %v", f.Name, err)
				}
			}
			v := newVocabulary(base, head, rand.New(rand.NewPCG(0, 0)), 1<<30)
			if rec.User != nil && rec.Request != nil {
				v.users = append(v.users, rec.User)
				v.reqs = append(v.reqs, *rec.Request)
			}
			fails, err := check(base, head, v, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fails {
				t.Errorf("%s", f)
			}
			if *recordFlag && len(fails) > 0 {
				// Re-minimise in place, keeping the comment.
				f := fails[0]
				mb, mh := minimise(base, head, stillFails(v, f))
				by, _ := mb.MarshalYAML()
				hy, _ := mh.MarshalYAML()
				for i := range ar.Files {
					switch ar.Files[i].Name {
					case "base.yaml":
						ar.Files[i].Data = by
					case "head.yaml":
						ar.Files[i].Data = hy
					case "note":
						// Keep the analysis above "failure:".
						analysis, _, _ := strings.Cut(string(ar.Files[i].Data), "failure:\n")
						ar.Files[i].Data = []byte(analysis + "failure:\n" + f.String() + "\n")
					case "record.json":
						ar.Files[i].Data = []byte(f.record() + "\n")
					}
				}
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if testing.Verbose() {
				bs, _ := buildSide(base, "base.yaml")
				hs, _ := buildSide(head, "head.yaml")
				for _, f := range rbac.Compare("replay", bs.graph, hs.graph) {
					t.Logf("engine finding: %s %s %s %s: %s", f.Kind, f.Subject, f.Scope, f.Permission, f.Message)
				}
			}
		})
	}
}
