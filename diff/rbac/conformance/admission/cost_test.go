package admission_test

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/checker"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	apiservercel "k8s.io/apiserver/pkg/cel"
	"k8s.io/apiserver/pkg/cel/common"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/apiserver/pkg/cel/library"
	"k8s.io/apiserver/pkg/cel/openapi"
	"k8s.io/apiserver/pkg/cel/openapi/resolver"
	"k8s.io/client-go/kubernetes/scheme"
	k8sopenapi "k8s.io/kubernetes/pkg/generated/openapi"

	"github.com/rbacguard/rbacguard/diff/admission"
)

// kinds maps the resources the exported policies match to their kinds.
var kinds = map[string]schema.GroupVersionKind{
	"roles": {Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}, "clusterroles": {Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"},
	"rolebindings":        {Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"},
	"clusterrolebindings": {Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"},
	"pods":                {Version: "v1", Kind: "Pod"}, "replicationcontrollers": {Version: "v1", Kind: "ReplicationController"},
	"secrets":     {Version: "v1", Kind: "Secret"},
	"deployments": {Group: "apps", Version: "v1", Kind: "Deployment"}, "statefulsets": {Group: "apps", Version: "v1", Kind: "StatefulSet"},
	"daemonsets": {Group: "apps", Version: "v1", Kind: "DaemonSet"}, "replicasets": {Group: "apps", Version: "v1", Kind: "ReplicaSet"},
	"jobs": {Group: "batch", Version: "v1", Kind: "Job"}, "cronjobs": {Group: "batch", Version: "v1", Kind: "CronJob"},
}

// objectSizes gives the cost estimator the size bounds of the object's
// lists and maps from its OpenAPI schema, as the API server's estimator
// for CRD validation rules does with self (apiextensions' sizeEstimator).
type objectSizes struct{ root *apiservercel.DeclType }

func (s objectSizes) EstimateSize(n checker.AstNode) *checker.SizeEstimate {
	path := n.Path()
	if len(path) == 0 || path[0] != "object" {
		return nil
	}
	t := s.root
	for _, name := range path[1:] {
		switch name {
		case "@items", "@values":
			t = t.ElemType
		case "@keys":
			t = t.KeyType
		default:
			f, ok := t.Fields[name]
			if !ok {
				return nil
			}
			t = f.Type
		}
		if t == nil {
			return nil
		}
	}
	return &checker.SizeEstimate{Min: 0, Max: uint64(t.MaxElements)}
}

func (objectSizes) EstimateCallCost(string, string, *checker.AstNode, []checker.AstNode) *checker.CallEstimate {
	return nil
}

// TestAdmission_CostEstimate type-checks every exported expression against
// the OpenAPI schema of each kind its policy matches (as the API server's
// type checker does) and reports the static cost estimate of each, with
// the policy's variables inlined: the worst case for an object of the
// largest size the API server accepts. A type error fails; the estimate is
// reported, not enforced (the API server enforces the per-call limit at
// run time, which TestAdmission_Fixtures checks on every fixture).
func TestAdmission_CostEstimate(t *testing.T) {
	set := admission.Export(nil, now)
	res := resolver.NewDefinitionsSchemaResolver(k8sopenapi.GetOpenAPIDefinitions, scheme.Scheme)
	type row struct {
		name string
		cost uint64
	}
	var rows []row
	for _, p := range set.Policies {
		worst := map[string]uint64{}
		for _, rule := range p.Spec.MatchConstraints.ResourceRules {
			for _, r := range rule.Resources {
				gvk := kinds[r]
				s, err := res.ResolveSchema(gvk)
				if err != nil {
					t.Fatalf("%s: schema of %v: %v", p.Name, gvk, err)
				}
				root := common.SchemaDeclType(&openapi.Schema{Schema: s}, true).MaybeAssignTypeName("__object_" + gvk.Kind)
				env := typedEnv(t, root)
				for what, expr := range expressions(p) {
					ast, iss := env.Compile(expr)
					if iss.Err() != nil {
						t.Errorf("%s %s on %s: does not type-check: %v", p.Name, what, gvk.Kind, iss.Err())
						continue
					}
					est, err := env.EstimateCost(ast, &library.CostEstimator{SizeEstimator: objectSizes{root}})
					if err != nil {
						t.Errorf("%s %s on %s: %v", p.Name, what, gvk.Kind, err)
						continue
					}
					worst[what] = max(worst[what], est.Max)
				}
			}
		}
		for what, c := range worst {
			rows = append(rows, row{p.Name + " " + what, c})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].name < rows[j].name })
	for _, r := range rows {
		note := ""
		if r.cost > perCallLimit {
			note = fmt.Sprintf(" (over the per-call limit %d for an object of the largest size)", perCallLimit)
		}
		if r.cost == math.MaxUint64 {
			note = " (unbounded)"
		}
		t.Logf("estimated cost %-70s %d%s", r.name, r.cost, note)
	}
}

// expressions are a policy's CEL expressions with its variables inlined.
func expressions(p admissionv1.ValidatingAdmissionPolicy) map[string]string {
	inline := func(e string) string {
		for strings.Contains(e, "variables.") { // variables may use variables
			for _, v := range p.Spec.Variables {
				e = strings.ReplaceAll(e, "variables."+v.Name, "("+v.Expression+")")
			}
		}
		return e
	}
	out := map[string]string{}
	for i, v := range p.Spec.Validations {
		out[fmt.Sprintf("validations[%d].expression", i)] = inline(v.Expression)
		if v.MessageExpression != "" {
			out[fmt.Sprintf("validations[%d].messageExpression", i)] = inline(v.MessageExpression)
		}
	}
	for i, m := range p.Spec.MatchConditions {
		out[fmt.Sprintf("matchConditions[%d]", i)] = m.Expression
	}
	return out
}

// typedEnv is the type checker's environment (validating/typechecking.go
// buildEnvSet): object typed from its schema, request and namespace as the
// API server declares them.
func typedEnv(t *testing.T, object *apiservercel.DeclType) *cel.Env {
	t.Helper()
	request, namespace := plugincel.BuildRequestType(), plugincel.BuildNamespaceType()
	set, err := environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()).Extend(environment.VersionedOptions{
		IntroducedVersion: version.MajorMinor(1, 0),
		EnvOptions: []cel.EnvOption{
			cel.Variable("object", object.CelType()), cel.Variable("oldObject", object.CelType()),
			cel.Variable("request", request.CelType()), cel.Variable("namespaceObject", namespace.CelType()),
			cel.Variable("authorizer", library.AuthorizerType),
		},
		DeclTypes: []*apiservercel.DeclType{object, request, namespace},
	})
	if err != nil {
		t.Fatal(err)
	}
	env, err := set.Env(environment.StoredExpressions)
	if err != nil {
		t.Fatal(err)
	}
	return env
}
