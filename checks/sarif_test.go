package checks

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"

	"github.com/rbacguard/rbacguard/diff/report"
)

// contractKinds reads the Kind constants from the report package's source,
// so that a kind added there without a catalog entry fails a test.
func contractKinds(t *testing.T) []report.Kind {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../diff/report/report.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []report.Kind
	for _, decl := range f.Decls {
		g, ok := decl.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Kind" {
				continue
			}
			for _, v := range vs.Values {
				lit, ok := v.(*ast.BasicLit)
				if !ok {
					continue
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				out = append(out, report.Kind(s))
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("found only %d Kind constants in report.go", len(out))
	}
	return out
}

func TestKinds_CoverContract(t *testing.T) {
	catalog := map[report.Kind]kindInfo{}
	for _, ki := range kinds() {
		if _, dup := catalog[ki.Kind]; dup {
			t.Errorf("%s listed twice", ki.Kind)
		}
		catalog[ki.Kind] = ki
		if ki.Name == "" || ki.Short == "" || ki.Full == "" || ki.Help == "" || len(ki.Tags) == 0 || ki.Severity.Rank() == 0 {
			t.Errorf("%s: incomplete catalog entry", ki.Kind)
		}
	}
	inGolden := map[report.Kind]bool{}
	for _, tc := range goldenReports {
		for _, f := range tc.r().Findings {
			inGolden[f.Kind] = true
		}
	}
	for _, k := range contractKinds(t) {
		if _, ok := catalog[k]; !ok {
			t.Errorf("kind %s has no catalog entry in kinds.go", k)
		}
		if !inGolden[k] {
			t.Errorf("kind %s is in no golden report", k)
		}
	}
	sevs := map[report.Severity]bool{}
	for _, f := range fullReport().Findings {
		sevs[f.Severity] = true
	}
	for _, s := range report.Severities {
		if !sevs[s] {
			t.Errorf("severity %s is in no finding of fullReport", s)
		}
	}
}

// TestWriteSARIF_Schema checks the fields SARIF 2.1.0 requires and the
// ones code scanning relies on, on the generic JSON rather than the
// library's types.
func TestWriteSARIF_Schema(t *testing.T) {
	for _, tc := range goldenReports {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.r()
			var buf bytes.Buffer
			if err := WriteSARIF(&buf, r, SARIFOptions{Version: "1.2.3"}); err != nil {
				t.Fatal(err)
			}
			if len(r.Findings) == 0 && !bytes.Contains(buf.Bytes(), []byte(`"results": []`)) {
				t.Error(`no "results": [] in an empty log`)
			}
			var log map[string]any
			if err := json.Unmarshal(buf.Bytes(), &log); err != nil {
				t.Fatal(err)
			}
			noNulls(t, "$", log)
			if log["version"] != "2.1.0" {
				t.Errorf("version = %v", log["version"])
			}
			if s, _ := log["$schema"].(string); !strings.Contains(s, "sarif-schema-2.1.0.json") {
				t.Errorf("$schema = %v", log["$schema"])
			}
			runs := list(t, log["runs"])
			if len(runs) != 1 {
				t.Fatalf("%d runs, want 1", len(runs))
			}
			run := obj(t, runs[0])
			driver := obj(t, obj(t, run["tool"])["driver"])
			if driver["name"] != "rbacguard" || driver["version"] != "1.2.3" || driver["informationUri"] != DefaultInformationURI {
				t.Errorf("driver = %v %v %v", driver["name"], driver["version"], driver["informationUri"])
			}
			rules := list(t, driver["rules"])
			ruleIndex := map[string]int{}
			for i, x := range rules {
				rule := obj(t, x)
				id, _ := rule["id"].(string)
				ruleIndex[id] = i
				if text(t, rule["shortDescription"]) == "" || text(t, rule["fullDescription"]) == "" {
					t.Errorf("rule %s: no descriptions", id)
				}
				help := obj(t, rule["help"])
				if help["text"] == "" || help["markdown"] == "" {
					t.Errorf("rule %s: no help", id)
				}
				props := obj(t, rule["properties"])
				ss, err := strconv.ParseFloat(props["security-severity"].(string), 64)
				if err != nil || ss < 0.1 || ss > 10 {
					t.Errorf("rule %s: security-severity %v", id, props["security-severity"])
				}
				if tags := list(t, props["tags"]); len(tags) == 0 || len(tags) > 20 {
					t.Errorf("rule %s: %d tags", id, len(tags))
				}
			}
			for _, ki := range kinds() {
				if _, ok := ruleIndex[string(ki.Kind)]; !ok {
					t.Errorf("no rule for %s", ki.Kind)
				}
			}
			results := list(t, run["results"])
			if n := len(r.Findings) - preexisting(r); len(results) != n {
				t.Errorf("%d results for %d findings that are not preexisting", len(results), n)
			}
			byID := map[string]report.Finding{}
			for _, f := range r.Findings {
				byID[f.ID] = f
			}
			for i, x := range results {
				res := obj(t, x)
				ruleID, _ := res["ruleId"].(string)
				idx, ok := ruleIndex[ruleID]
				if !ok {
					t.Errorf("result %d: ruleId %q not among the rules", i, ruleID)
				}
				if got, _ := res["ruleIndex"].(float64); int(got) != idx {
					t.Errorf("result %d: ruleIndex %v, want %d", i, res["ruleIndex"], idx)
				}
				if text(t, res["message"]) == "" {
					t.Errorf("result %d: no message text", i)
				}
				fid, _ := obj(t, res["partialFingerprints"])[fingerprintKey].(string)
				f, ok := byID[fid]
				if !ok {
					t.Fatalf("result %d: fingerprint %q is no finding id", i, fid)
				}
				if want := sarifLevel(f.Severity); res["level"] != want {
					t.Errorf("result %d: level %v, want %s", i, res["level"], want)
				}
				locs, _ := res["locations"].([]any)
				if f.Location.Path == "" {
					if len(locs) != 0 {
						t.Errorf("result %d: location without a path", i)
					}
				} else {
					pl := obj(t, obj(t, locs[0])["physicalLocation"])
					al := obj(t, pl["artifactLocation"])
					if al["uri"] != f.Location.Path || al["uriBaseId"] != "%SRCROOT%" {
						t.Errorf("result %d: artifactLocation %v", i, al)
					}
					region, hasRegion := pl["region"]
					switch {
					case f.Location.Line == 0 && hasRegion:
						t.Errorf("result %d: region for line 0", i)
					case f.Location.Line > 0 && obj(t, region)["startLine"] != float64(f.Location.Line):
						t.Errorf("result %d: region %v, want line %d", i, region, f.Location.Line)
					}
				}
				sup, _ := res["suppressions"].([]any)
				if (f.Exemption != nil) != (len(sup) == 1) {
					t.Errorf("result %d: %d suppressions, exempted %v", i, len(sup), f.Exemption != nil)
				}
				if f.Exemption != nil {
					s := obj(t, sup[0])
					if s["kind"] != "external" || s["status"] != "accepted" || !strings.Contains(s["justification"].(string), f.Exemption.Reason) {
						t.Errorf("result %d: suppression %v", i, s)
					}
				}
			}
		})
	}
	// Line 0 nowhere: not even in related locations.
	var buf bytes.Buffer
	if err := WriteSARIF(&buf, fullReport(), SARIFOptions{}); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte(`"startLine": 0`)) {
		t.Error("startLine 0 in the log")
	}
	if !bytes.Contains(buf.Bytes(), []byte(`"version": "dev"`)) {
		t.Error("default version is not dev")
	}
}

func noNulls(t *testing.T, path string, v any) {
	t.Helper()
	switch v := v.(type) {
	case nil:
		t.Errorf("%s is null", path)
	case map[string]any:
		for k, x := range v {
			noNulls(t, path+"."+k, x)
		}
	case []any:
		for i, x := range v {
			noNulls(t, path+"["+strconv.Itoa(i)+"]", x)
		}
	}
}

func obj(t *testing.T, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("want an object, got %T", v)
	}
	return m
}

func list(t *testing.T, v any) []any {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("want an array, got %T", v)
	}
	return l
}

func text(t *testing.T, v any) string {
	t.Helper()
	s, _ := obj(t, v)["text"].(string)
	return s
}
