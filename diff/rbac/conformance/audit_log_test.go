package conformance

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	auditinternal "k8s.io/apiserver/pkg/apis/audit"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	auditlog "k8s.io/apiserver/plugin/pkg/audit/log"

	"github.com/rbacguard/rbacguard/diff/audit"
	"github.com/rbacguard/rbacguard/diff/rbac"
)

// TestAuditLog_AsTheAPIServerWritesIt writes events with kube-apiserver's
// own log backend (--audit-log-format=json, audit.k8s.io/v1) and reads
// them back with diff/audit: each request is counted once (at its
// ResponseComplete, whatever stages were logged), its subject is the
// impersonated user when there is one, and it maps to the request the
// authorizer saw.
func TestAuditLog_AsTheAPIServerWritesIt(t *testing.T) {
	sa := authnv1.UserInfo{Username: "system:serviceaccount:shop:checkout", UID: "7c1e",
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"}}
	alice := authnv1.UserInfo{Username: "alice", Groups: []string{"developers", "system:authenticated"}}
	at := func(min int) metav1.MicroTime {
		return metav1.NewMicroTime(time.Date(2026, 11, 1, 10, min, 0, 0, time.UTC))
	}
	ev := func(id string, stage auditinternal.Stage, verb, uri string, u authnv1.UserInfo, obj *auditinternal.ObjectReference, code int32, decision string, min int) *auditinternal.Event {
		e := &auditinternal.Event{Level: auditinternal.LevelMetadata, AuditID: types.UID(id), Stage: stage, RequestURI: uri, Verb: verb,
			User: u, SourceIPs: []string{"10.0.0.12"}, UserAgent: "kubectl/v1.34.0", ObjectRef: obj,
			RequestReceivedTimestamp: at(0), StageTimestamp: at(min)}
		if stage != auditinternal.StageRequestReceived {
			e.ResponseStatus = &metav1.Status{Code: code}
			e.Annotations = map[string]string{"authorization.k8s.io/decision": decision, "authorization.k8s.io/reason": ""}
		}
		return e
	}
	secret := &auditinternal.ObjectReference{Resource: "secrets", Namespace: "shop", Name: "payment-key", APIVersion: "v1"}
	cms := &auditinternal.ObjectReference{Resource: "configmaps", Namespace: "shop", APIVersion: "v1"}
	exec := &auditinternal.ObjectReference{Resource: "pods", Subresource: "exec", Namespace: "shop", Name: "web-0", APIVersion: "v1"}
	pods := &auditinternal.ObjectReference{Resource: "pods", Namespace: "shop", APIVersion: "v1"}
	impersonated := ev("5", auditinternal.StageResponseComplete, "create", "/api/v1/namespaces/shop/pods/web-0/exec?command=sh", alice, exec, 101, "allow", 5)
	impersonated.ImpersonatedUser = &sa
	events := []*auditinternal.Event{
		ev("1", auditinternal.StageRequestReceived, "get", "/api/v1/namespaces/shop/secrets/payment-key", sa, secret, 0, "", 1),
		ev("1", auditinternal.StageResponseComplete, "get", "/api/v1/namespaces/shop/secrets/payment-key", sa, secret, 200, "allow", 1),
		ev("2", auditinternal.StageResponseStarted, "watch", "/api/v1/namespaces/shop/configmaps?watch=true", sa, cms, 200, "allow", 2),
		ev("2", auditinternal.StageResponseComplete, "watch", "/api/v1/namespaces/shop/configmaps?watch=true", sa, cms, 200, "allow", 30),
		ev("3", auditinternal.StageResponseComplete, "get", "/metrics", sa, nil, 200, "allow", 3),
		ev("4", auditinternal.StageResponseComplete, "list", "/api/v1/namespaces/shop/pods?limit=500", sa, pods, 403, "forbid", 4),
		impersonated,
	}
	var log bytes.Buffer
	auditlog.NewBackend(&log, auditlog.FormatJson, auditv1.SchemeGroupVersion).ProcessEvents(events...)

	want := map[string]string{
		"1": "get secrets named payment-key in shop by system:serviceaccount:shop:checkout",
		"2": "watch configmaps named  in shop by system:serviceaccount:shop:checkout",
		"3": "get /metrics by system:serviceaccount:shop:checkout",
		"4": "list pods named  in shop by system:serviceaccount:shop:checkout (denied)",
		"5": "create pods/exec named web-0 in shop by system:serviceaccount:shop:checkout",
	}
	var tally audit.Tally
	err := audit.ReadLog("audit.log", &log, audit.DefaultLimits(), func(e *audit.Event) error {
		tally.Observe(e, nil)
		if !e.Final() {
			return nil
		}
		r, u := e.Request(), e.Subject()
		got := describeRequest(r) + " by " + u.Name
		if e.Denied() {
			got += " (denied)"
		}
		if got != want[e.AuditID] {
			t.Errorf("event %s: %s, want %s", e.AuditID, got, want[e.AuditID])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if tally.Events != 7 || tally.Requests != 5 || tally.Denied != 1 {
		t.Errorf("tally %+v, want 7 events, 5 requests, 1 denied", tally)
	}
	if got, want := tally.Window.Last.Sub(tally.Window.First), 29*time.Minute; got != want {
		t.Errorf("window %s, want %s", got, want)
	}
	if got := fmt.Sprint(impersonatedRequests(&log, impersonated)); got != "[{true impersonate  serviceaccounts  checkout shop }]" {
		t.Errorf("impersonation checks of alice: %s", got)
	}
}

func describeRequest(r rbac.Request) string {
	if !r.ResourceRequest {
		return r.Verb + " " + r.Path
	}
	res := r.Resource
	if r.Subresource != "" {
		res += "/" + r.Subresource
	}
	return fmt.Sprintf("%s %s named %s in %s", r.Verb, res, r.Name, r.Namespace)
}

// impersonatedRequests writes one event with the backend and returns the
// impersonation checks diff/audit derives from it.
func impersonatedRequests(buf *bytes.Buffer, e *auditinternal.Event) []rbac.Request {
	buf.Reset()
	auditlog.NewBackend(buf, auditlog.FormatJson, auditv1.SchemeGroupVersion).ProcessEvents(e)
	var out []rbac.Request
	_ = audit.ReadLog("one.log", buf, audit.DefaultLimits(), func(ev *audit.Event) error {
		out = ev.Impersonation()
		return nil
	})
	return out
}
