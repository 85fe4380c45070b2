package admission_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/generic"
	"k8s.io/apiserver/pkg/admission/plugin/policy/matching"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/client-go/kubernetes/fake"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/kubernetes/pkg/apis/admissionregistration"
	admissionregistrationv1 "k8s.io/kubernetes/pkg/apis/admissionregistration/v1"
	"k8s.io/kubernetes/pkg/apis/admissionregistration/validation"
)

// cluster is the API server's validating admission policy stage, put
// together from its own parts and called in process: compilePolicy's
// compiler and validator, the generic matcher (matchConstraints, the
// binding's selectors) and the dispatcher that turns decisions into
// Deny, Warn and Audit by the binding's validationActions. Nothing runs
// in the background: the policies are handed to Dispatch directly, as
// the policy source would hand them once its informers had synced.
type cluster struct {
	hooks      []validating.PolicyHook
	dispatcher generic.Dispatcher[validating.PolicyHook]
	// conditions evaluate each policy's validations alone, to read the
	// cost the API server charges per evaluation.
	conditions map[string]plugincel.ConditionEvaluator
	namespaces cache.Indexer
	errors     []string // answers that are not a check's message
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// compile mirrors validating.compilePolicy (plugin.go, unexported) with
// the environment the API server uses for stored expressions.
func compile(p *admissionv1.ValidatingAdmissionPolicy) (validating.Validator, plugincel.ConditionEvaluator, error) {
	withAuthz := plugincel.OptionalVariableDeclarations{HasAuthorizer: true}
	noAuthz := plugincel.OptionalVariableDeclarations{}
	c, err := plugincel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		return nil, nil, err
	}
	var vars []plugincel.NamedExpressionAccessor
	for _, v := range p.Spec.Variables {
		vars = append(vars, &validating.Variable{Name: v.Name, Expression: v.Expression})
	}
	c.CompileAndStoreVariables(vars, withAuthz, environment.StoredExpressions)
	var matcher matchconditions.Matcher
	if len(p.Spec.MatchConditions) > 0 {
		var conds []plugincel.ExpressionAccessor
		for i := range p.Spec.MatchConditions {
			conds = append(conds, (*matchconditions.MatchCondition)(&p.Spec.MatchConditions[i]))
		}
		matcher = matchconditions.NewMatcher(c.CompileCondition(conds, withAuthz, environment.StoredExpressions), p.Spec.FailurePolicy, "policy", "validate", p.Name)
	}
	var vs, msgs []plugincel.ExpressionAccessor
	for _, v := range p.Spec.Validations {
		vs = append(vs, &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason})
		if v.MessageExpression != "" {
			msgs = append(msgs, &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression})
		} else {
			msgs = append(msgs, nil)
		}
	}
	validations := c.CompileCondition(vs, withAuthz, environment.StoredExpressions)
	return validating.NewValidator(validations, matcher, c.CompileCondition(nil, withAuthz, environment.StoredExpressions),
		c.CompileCondition(msgs, noAuthz, environment.StoredExpressions), p.Spec.FailurePolicy, nil), validations, nil
}

func newCluster(t *testing.T, policies []admissionv1.ValidatingAdmissionPolicy, bindings []admissionv1.ValidatingAdmissionPolicyBinding) *cluster {
	t.Helper()
	// As the API server stores them: defaulted, then validated (names,
	// matchConditions, every expression compiled for a new object).
	for i := range policies {
		admissionregistrationv1.SetObjectDefaults_ValidatingAdmissionPolicy(&policies[i])
		var internal admissionregistration.ValidatingAdmissionPolicy
		if err := admissionregistrationv1.Convert_v1_ValidatingAdmissionPolicy_To_admissionregistration_ValidatingAdmissionPolicy(&policies[i], &internal, nil); err != nil {
			t.Fatal(err)
		}
		if errs := validation.ValidateValidatingAdmissionPolicy(&internal); len(errs) > 0 {
			t.Errorf("the API server refuses %s: %v", policies[i].Name, errs.ToAggregate())
		}
	}
	for i := range bindings {
		admissionregistrationv1.SetObjectDefaults_ValidatingAdmissionPolicyBinding(&bindings[i])
		var internal admissionregistration.ValidatingAdmissionPolicyBinding
		if err := admissionregistrationv1.Convert_v1_ValidatingAdmissionPolicyBinding_To_admissionregistration_ValidatingAdmissionPolicyBinding(&bindings[i], &internal, nil); err != nil {
			t.Fatal(err)
		}
		if errs := validation.ValidateValidatingAdmissionPolicyBinding(&internal); len(errs) > 0 {
			t.Errorf("the API server refuses %s: %v", bindings[i].Name, errs.ToAggregate())
		}
	}
	c := &cluster{conditions: map[string]plugincel.ConditionEvaluator{},
		namespaces: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})}
	for i := range policies {
		p := &policies[i]
		v, cond, err := compile(p)
		if err != nil {
			t.Fatalf("compile %s: %v", p.Name, err)
		}
		hook := validating.PolicyHook{Policy: p, Evaluator: v}
		for j := range bindings {
			if bindings[j].Spec.PolicyName == p.Name {
				hook.Bindings = append(hook.Bindings, &bindings[j])
			}
		}
		c.hooks = append(c.hooks, hook)
		c.conditions[p.Name] = cond
	}
	m := matching.NewMatcher(corelisters.NewNamespaceLister(c.namespaces), fake.NewClientset())
	c.dispatcher = validating.NewDispatcher(nil, generic.NewPolicyMatcher(m))
	return c
}

// addNamespace makes a namespace known with the label the API server
// sets on every namespace, which namespaceSelectors match.
func (c *cluster) addNamespace(name string) {
	if _, ok, _ := c.namespaces.GetByKey(name); ok {
		return
	}
	_ = c.namespaces.Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name,
		Labels: map[string]string{"kubernetes.io/metadata.name": name}}})
}

// decision is what the API server answers one create.
type decision struct {
	denied   error
	warnings []string
}

type recorder struct{ warnings []string }

func (r *recorder) AddWarning(agent, text string) { r.warnings = append(r.warnings, text) }

// resources maps the kinds the fixtures hold to their resource.
var resources = map[string]string{
	"Role": "roles", "ClusterRole": "clusterroles", "RoleBinding": "rolebindings", "ClusterRoleBinding": "clusterrolebindings",
	"Pod": "pods", "ReplicationController": "replicationcontrollers", "Deployment": "deployments", "StatefulSet": "statefulsets",
	"DaemonSet": "daemonsets", "ReplicaSet": "replicasets", "Job": "jobs", "CronJob": "cronjobs", "Secret": "secrets",
	"ServiceAccount": "serviceaccounts", "ConfigMap": "configmaps", "Service": "services", "Namespace": "namespaces",
}

func attributes(obj *unstructured.Unstructured) admission.Attributes {
	gvk := obj.GroupVersionKind()
	gvr := schema.GroupVersionResource{Group: gvk.Group, Version: gvk.Version, Resource: resources[gvk.Kind]}
	return admission.NewAttributesRecord(obj, nil, gvk, obj.GetNamespace(), obj.GetName(), gvr, "", admission.Create, &metav1.CreateOptions{}, false, nil)
}

var objectInterfaces = admission.NewObjectInterfacesFromScheme(runtime.NewScheme())

// create asks the API server's admission stage about creating obj.
func (c *cluster) create(obj *unstructured.Unstructured) decision {
	if ns := obj.GetNamespace(); ns != "" {
		c.addNamespace(ns)
	}
	rec := &recorder{}
	ctx := warning.WithWarningRecorder(context.Background(), rec)
	err := c.dispatcher.Dispatch(ctx, attributes(obj), objectInterfaces, c.hooks)
	d := decision{denied: err, warnings: rec.warnings}
	// Every answer is a check's own message: anything else is an error of
	// configuration or evaluation (a cost limit included).
	for _, m := range append(slices.Clone(d.warnings), errText(err)) {
		if m != "" && !strings.Contains(m, "(rbacguard: ") {
			c.errors = append(c.errors, fmt.Sprintf("%s %s/%s: %s", obj.GetKind(), obj.GetNamespace(), obj.GetName(), m))
		}
	}
	return d
}

// cost is what evaluating the validations of each policy that matches
// obj charged against the API server's runtime budget, by policy.
func (c *cluster) cost(t *testing.T, obj *unstructured.Unstructured) map[string]int64 {
	t.Helper()
	a := attributes(obj)
	va, err := admission.NewVersionedAttributes(a, a.GetKind(), objectInterfaces)
	if err != nil {
		t.Fatal(err)
	}
	var ns *corev1.Namespace
	if name := obj.GetNamespace(); name != "" {
		ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	out := map[string]int64{}
	m := generic.NewPolicyMatcher(matching.NewMatcher(corelisters.NewNamespaceLister(c.namespaces), fake.NewClientset()))
	for _, h := range c.hooks {
		ok, gvr, gvk, err := m.DefinitionMatches(a, objectInterfaces, validating.NewValidatingAdmissionPolicyAccessor(h.Policy))
		if err != nil || !ok {
			continue
		}
		req := plugincel.CreateAdmissionRequest(a, metav1.GroupVersionResource(gvr), metav1.GroupVersionKind(gvk))
		results, remaining, err := c.conditions[h.Policy.Name].ForInput(context.Background(), va, req,
			plugincel.OptionalVariableBindings{}, plugincel.CreateNamespaceObject(ns), celconfig.RuntimeCELCostBudget)
		if err != nil {
			t.Errorf("%s on %s %s: %v", h.Policy.Name, obj.GetKind(), obj.GetName(), err)
			continue
		}
		for _, r := range results {
			if r.Error != nil {
				t.Errorf("%s on %s %s: evaluation error (a cost limit is one): %v", h.Policy.Name, obj.GetKind(), obj.GetName(), r.Error)
			}
		}
		out[h.Policy.Name] = celconfig.RuntimeCELCostBudget - remaining
		if cost := out[h.Policy.Name]; cost > perCallLimit {
			t.Errorf("%s on %s %s: cost %d over the per-call limit %d", h.Policy.Name, obj.GetKind(), obj.GetName(), cost, perCallLimit)
		}
	}
	return out
}

// isDenied: the error is the dispatcher's Forbidden, not a failure of
// the harness.
func isDenied(err error) bool {
	var s interface{ Status() metav1.Status }
	return err != nil && errors.As(err, &s)
}

// perCallLimit is the API server's cost limit for one expression.
const perCallLimit = celconfig.PerCallLimit
