package token

import (
	"fmt"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/workload"
)

// Options carry what this package cannot know by itself.
type Options struct {
	// DefaultNamespace is the namespace of objects that have none; "default"
	// when empty.
	DefaultNamespace string
	// AccountRisk tells what a service account can do at head, from the RBAC
	// engine (nil = unknown): the highest severity of its effective
	// permissions and a short phrase ("can get secrets in namespace
	// payments, create pods …"). An account with no permissions beyond the
	// defaults answers "" or info.
	AccountRisk func(namespace, name string) (report.Severity, string)
	// AccountIncrease tells what the change adds to that account (nil =
	// never): the highest severity of its increases in this overlay and a
	// phrase of what is new ("can now patch events cluster-wide"). An
	// account whose permissions did not grow answers "". A token finding
	// about a grown account is judged by what is new, never by what the
	// account already had.
	AccountIncrease func(namespace, name string) (report.Severity, string)
}

// Compare reports what the change from base to head does to token exposure
// and authentication settings of one overlay.
func Compare(overlay string, base, head []*manifest.Object, o Options) []report.Finding {
	c := newChecker(overlay, o)
	bs, hs := c.snapshot(base), c.snapshot(head)
	c.automount(bs, hs, false)
	c.legacySecrets(bs, hs, false)
	c.projected(bs, hs, false)
	c.apiserverFlags(bs, hs, false)
	c.jwtConfig(bs, hs, false)
	c.jwtLiterals(bs, hs, false)
	report.Sort(c.out)
	return c.out
}

// Scan reports the current state of one overlay: info for benign settings,
// ranked severities for risky ones.
func Scan(overlay string, objs []*manifest.Object, o Options) []report.Finding {
	c := newChecker(overlay, o)
	empty, hs := c.snapshot(nil), c.snapshot(objs)
	c.automount(empty, hs, true)
	c.legacySecrets(empty, hs, true)
	c.projected(empty, hs, true)
	c.apiserverFlags(empty, hs, true)
	c.jwtConfig(empty, hs, true)
	c.jwtLiterals(empty, hs, true)
	report.Sort(c.out)
	return c.out
}

type checker struct {
	overlay string
	o       Options
	out     []report.Finding
}

func newChecker(overlay string, o Options) *checker {
	if o.DefaultNamespace == "" {
		o.DefaultNamespace = "default"
	}
	return &checker{overlay: overlay, o: o}
}

// snapshot is one side of the comparison, indexed once.
type snapshot struct {
	objs      []*manifest.Object
	workloads []workload.Workload
	accounts  map[[2]string]*manifest.Object
	configs   []cfg
}

func (c *checker) snapshot(objs []*manifest.Object) *snapshot {
	return &snapshot{
		objs:      objs,
		workloads: workload.Find(objs, c.o.DefaultNamespace),
		accounts:  workload.ServiceAccounts(objs, c.o.DefaultNamespace),
		configs:   configs(objs),
	}
}

func (c *checker) ns(o *manifest.Object) string {
	if o.Namespace == "" {
		return c.o.DefaultNamespace
	}
	return o.Namespace
}

// risk asks the RBAC engine about an account. known is false when the
// engine gave no answer or the account holds nothing beyond the defaults.
func (c *checker) risk(ns, name string) (sev report.Severity, phrase string, known bool) {
	if c.o.AccountRisk == nil {
		return "", "", false
	}
	sev, phrase = c.o.AccountRisk(ns, name)
	return sev, phrase, sev.Rank() > report.Info.Rank()
}

// increased returns what the change adds to an account: grows is false
// when nothing.
func (c *checker) increased(ns, name string) (sev report.Severity, what string, grows bool) {
	if c.o.AccountIncrease == nil {
		return "", "", false
	}
	sev, what = c.o.AccountIncrease(ns, name)
	return sev, what, sev != ""
}

// canDo completes "the account …": the engine's phrase ("can get secrets
// …"), or says that the permissions are none or unknown.
func (c *checker) canDo(ns, name string) string {
	_, phrase, known := c.risk(ns, name)
	switch {
	case known && phrase != "":
		return phrase
	case c.o.AccountRisk == nil:
		return "has permissions unknown to this check"
	}
	return "has no permissions beyond the defaults"
}

func (c *checker) add(f report.Finding) {
	f.Overlay = c.overlay
	c.out = append(c.out, f)
}

func id(kind report.Kind, overlay string, parts ...any) string {
	return report.ID(kind, overlay, parts...)
}

func loc(l manifest.Location) report.Location { return report.Location{Path: l.Path, Line: l.Line} }

func ref(o *manifest.Object, ns string, l manifest.Location, field string) report.Ref {
	return report.Ref{Kind: o.Kind, Namespace: ns, Name: o.Name, Path: l.Path, Line: l.Line, Field: field}
}

func saSubject(ns, name string) *report.Subject {
	return &report.Subject{Kind: "ServiceAccount", Namespace: ns, Name: name}
}

func wl(w workload.Workload) []report.Workload {
	return []report.Workload{{Kind: w.Kind, Namespace: w.Namespace, Name: w.Name}}
}

func atLeast(s, floor report.Severity) report.Severity { return report.Max(s, floor) }

func quote(s string) string { return fmt.Sprintf("%q", s) }
