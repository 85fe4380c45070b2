package policy

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	data, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("schema.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // so that "format": "date" rejects 2026-02-30
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("compile schema.json: %v", err)
	}
	return s
}

// toJSON reads YAML the way an editor's YAML language server does before
// validating against a JSON Schema: timestamps stay strings, numbers and
// booleans keep their types.
func toJSON(t *testing.T, data []byte) any {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var conv func(n *yaml.Node) any
	conv = func(n *yaml.Node) any {
		switch n.Kind {
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return map[string]any{}
			}
			return conv(n.Content[0])
		case yaml.AliasNode:
			return conv(n.Alias)
		case yaml.MappingNode:
			m := map[string]any{}
			for i := 0; i+1 < len(n.Content); i += 2 {
				m[n.Content[i].Value] = conv(n.Content[i+1])
			}
			return m
		case yaml.SequenceNode:
			l := []any{}
			for _, e := range n.Content {
				l = append(l, conv(e))
			}
			return l
		}
		switch n.ShortTag() {
		case "!!int", "!!float":
			return json.Number(n.Value)
		case "!!bool":
			return n.Value == "true"
		case "!!null":
			return nil
		}
		return n.Value
	}
	return conv(&doc)
}

// TestSchema_Examples: every example policy is accepted by both the JSON
// Schema and Parse, and every bad one is rejected by both.
func TestSchema_Examples(t *testing.T) {
	s := compileSchema(t)
	for _, dir := range []string{"examples", "bad"} {
		files, err := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no files in testdata/%s: %v", dir, err)
		}
		for _, f := range files {
			t.Run(dir+"/"+filepath.Base(f), func(t *testing.T) {
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				schemaErr := s.Validate(toJSON(t, data))
				_, parseErr := Parse(filepath.Base(f), data)
				if dir == "examples" {
					if schemaErr != nil {
						t.Errorf("schema rejects an example: %v", schemaErr)
					}
					if parseErr != nil {
						t.Errorf("Parse rejects an example: %v", parseErr)
					}
					return
				}
				if schemaErr == nil {
					t.Error("schema accepts a bad policy")
				}
				if testing.Verbose() {
					t.Logf("schema: %v\nparse: %v", schemaErr, parseErr)
				}
				if parseErr == nil {
					t.Error("Parse accepts a bad policy")
				}
			})
		}
	}
}

// TestSchema_Fields keeps the schema, the parser and the README in step:
// each object of the schema has exactly the parser's fields, and the README
// documents every field.
func TestSchema_Fields(t *testing.T) {
	data, err := os.ReadFile("schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"properties"`
		Defs map[string]struct {
			Properties map[string]any `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(data, &schema); err != nil {
		t.Fatal(err)
	}
	names := func(m map[string]any) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	sorted := func(l []string) []string { l = slices.Clone(l); sort.Strings(l); return l }
	top := map[string]any{}
	for k := range schema.Properties {
		top[k] = nil
	}
	for _, tc := range []struct {
		name   string
		schema []string
		parser []string
	}{
		{"policy", names(top), topFields},
		{"severityRule", names(schema.Defs["severityRule"].Properties), ruleFields},
		{"exemption", names(schema.Defs["exemption"].Properties), exemptionFields},
		{"allowed", names(schema.Defs["allowed"].Properties), allowFields},
		{"subject", names(schema.Defs["subject"].Properties), subjectFields},
		{"workload", names(schema.Defs["workload"].Properties), workloadFields},
		{"permission", names(schema.Defs["permission"].Properties), permissionFields},
		{"externalRoles", names(schema.Properties["externalRoles"].Properties), externalFields},
		{"overlays", names(schema.Properties["overlays"].Properties), overlayFields},
		{"remote", names(schema.Properties["remote"].Properties), remoteFields},
		{"role", names(schema.Defs["role"].Properties), roleFields},
	} {
		if d := cmp.Diff(sorted(tc.parser), tc.schema); d != "" {
			t.Errorf("%s: schema and parser fields differ (-parser +schema):\n%s", tc.name, d)
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range [][]string{topFields, ruleFields, exemptionFields, allowFields, subjectFields, workloadFields, permissionFields, externalFields, overlayFields, remoteFields} {
		for _, f := range l {
			if !strings.Contains(string(readme), "`"+f+"`") {
				t.Errorf("README.md does not document the field `%s`", f)
			}
		}
	}
}

// FuzzParse: a pull request's policy file is untrusted input (Changed
// parses head); Parse must never panic, and a policy it accepts must be
// usable.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"examples", "bad"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("policy.yaml", data)
		if err != nil {
			return
		}
		if p.FailOn == "" || p.DefaultNamespace == "" {
			t.Errorf("accepted policy has no failOn or defaultNamespace: %+v", p)
		}
		Changed(data, []byte("failOn: none\n"), DefaultPath)
	})
}
