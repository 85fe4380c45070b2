package app

import (
	"flag"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"
)

// renderCacheRoles sizes the shared base of TestRenderCache_*. Kustomize's
// time grows with the square of it: 10 keeps the test quick; 40 makes
// rendering most of a job's time, as in a real repository:
//
//	go test -run RenderCache -v ./bot/app -render-cache-roles=40
var renderCacheRoles = flag.Int("render-cache-roles", 10, "Roles in the shared base of TestRenderCache_TwentyPullRequestsOneBase")

// renderCacheRepo is a base commit with five overlays over one shared
// base of n Roles and RoleBindings, so that every pull request touching
// the shared base changes all five.
func renderCacheRepo(n int) map[string]string {
	var roles strings.Builder
	for i := range n {
		roles.WriteString(boundRole(fmt.Sprint("app-", i), "configmaps", fmt.Sprintf("\n  resourceNames: [\"app-%d\"]", i)) + "---\n")
	}
	files := map[string]string{
		"base/kustomization.yaml":  "resources: [serviceaccount.yaml, roles.yaml]\n",
		"base/serviceaccount.yaml": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n",
		"base/roles.yaml":          roles.String(),
	}
	for _, env := range renderCacheEnvs {
		files["overlays/"+env+"/kustomization.yaml"] = "resources: [../../base]\nnamespace: " + env + "\n"
	}
	return files
}

var renderCacheEnvs = []string{"dev", "qa", "staging", "prod", "dr"}

// boundRole is a Role that may get resource (then extra, more of its
// rule) and its binding to the app's account.
func boundRole(name, resource, extra string) string {
	return fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: %[1]s
rules:
- apiGroups: [""]
  resources: [%[2]q]
  verbs: ["get"]%[3]s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: %[1]s
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: %[1]s
subjects:
- kind: ServiceAccount
  name: app
`, name, resource, extra)
}

// renderCachePR is pull request i's head: the base plus one Role of its
// own, bound to the app's account; even pull requests let it read Secrets
// (the gate fails), odd ones a ConfigMap.
func renderCachePR(base map[string]string, i int) map[string]string {
	head := maps.Clone(base)
	resource := "configmaps"
	if i%2 == 0 {
		resource = "secrets"
	}
	head["base/roles.yaml"] += boundRole(fmt.Sprint("pr-", i), resource, "")
	return head
}

// TestRenderCache_TwentyPullRequestsOneBase checks 20 pull requests
// against one base commit, one at a time: the base's five overlays are
// rendered by the first and found in the cache by the other 19, every
// head is rendered, and the verdicts are those the App gives without the
// cache. It logs the hit rate and the time per job, cold and warm, with
// the cache and without.
func TestRenderCache_TwentyPullRequestsOneBase(t *testing.T) {
	const prs = 20
	roles := *renderCacheRoles
	overlays := len(renderCacheEnvs)
	type run struct {
		verdicts     []string
		first, later time.Duration // the first job; the mean of the others
	}
	check := func(t *testing.T, cacheBytes int64) (*env, run) {
		e := newEnv(t, func(c *Config) { c.Workers, c.QueueSize, c.RenderCacheBytes = 1, 32, cacheBytes })
		finished := make(chan time.Time, prs)
		after := e.srv.afterJob
		e.srv.afterJob = func(j *job, o string) { finished <- time.Now(); after(j, o) }
		base := renderCacheRepo(roles)
		e.fake.SetTarball(owner, repoName, baseSHA, base)
		var r run
		start := time.Now()
		for i := range prs {
			n, head := 300+i, fmt.Sprintf("%040x", 0xcace000+i)
			files := renderCachePR(base, i)
			e.fake.SetTarball(owner, repoName, head, files)
			e.seedPull(n, head, base, files)
			if code, err := e.post("pull_request", fmt.Sprintf("cache-%d", i), prPayload(t, "opened", n, head)); err != nil || code != http.StatusAccepted {
				t.Fatalf("delivery %d: %d %v", i, code, err)
			}
		}
		outcomes := e.wait(prs)
		prev := start
		for i := range prs {
			done := <-finished
			if i == 0 {
				r.first = done.Sub(prev)
			} else {
				r.later += done.Sub(prev) / (prs - 1)
			}
			prev = done
		}
		for _, o := range outcomes {
			if o != jobSuccess && o != jobFailure {
				t.Fatalf("outcomes %v, want a verdict for each", outcomes)
			}
		}
		byHead := map[string]string{}
		for _, cr := range e.fake.CheckRuns(owner, repoName) {
			byHead[cr.HeadSHA] = cr.Conclusion + ": " + cr.Title
		}
		for i := range prs {
			r.verdicts = append(r.verdicts, byHead[fmt.Sprintf("%040x", 0xcace000+i)])
		}
		return e, r
	}

	e, cached := check(t, 128<<20)
	hits, misses := e.counter("rbacguard_render_cache_hits_total"), e.counter("rbacguard_render_cache_misses_total")
	// Every pull request renders the five overlays at head (each head is
	// new); only the first renders them at base.
	if want := float64((prs - 1) * overlays); hits != want {
		t.Errorf("render cache hits = %v, want %v: the base's overlays once per pull request after the first", hits, want)
	}
	if want := float64(overlays + prs*overlays); misses != want {
		t.Errorf("render cache misses = %v, want %v: the base's overlays once, every head", misses, want)
	}
	if got := e.counter("rbacguard_render_cache_entries"); got != float64(overlays+prs*overlays) {
		t.Errorf("render cache entries = %v, want every render kept", got)
	}
	if got, want := e.counter("rbacguard_render_cache_hit_ratio"), hits/(hits+misses); got != want {
		t.Errorf("hit ratio = %v, want %v", got, want)
	}
	if e.counter("rbacguard_render_cache_evictions_total")+e.counter("rbacguard_render_cache_declined_total") != 0 || e.counter("rbacguard_render_cache_bytes") <= 0 {
		t.Errorf("evictions %v, bytes %v: want none evicted and the bytes held", e.counter("rbacguard_render_cache_evictions_total"), e.counter("rbacguard_render_cache_bytes"))
	}

	off, uncached := check(t, 0)
	if got := off.counter("rbacguard_render_cache_hits_total") + off.counter("rbacguard_render_cache_misses_total"); got != 0 {
		t.Errorf("cache off: %v lookups, want none", got)
	}
	for i := range prs {
		if cached.verdicts[i] != uncached.verdicts[i] || cached.verdicts[i] == "" {
			t.Errorf("pull request %d: %q with the cache, %q without", i, cached.verdicts[i], uncached.verdicts[i])
		}
		if want := map[bool]string{true: "failure", false: "success"}[i%2 == 0]; !strings.HasPrefix(cached.verdicts[i], want) {
			t.Errorf("pull request %d: %q, want %s", i, cached.verdicts[i], want)
		}
	}
	t.Logf("%d pull requests against one base (%d overlays of %d Roles and RoleBindings): render cache hit rate %.0f%% (%v hits, %v misses, %.1f MiB held); "+
		"time per job: first %v, later %v with the cache; first %v, later %v without",
		prs, overlays, roles, 100*hits/(hits+misses), hits, misses, e.counter("rbacguard_render_cache_bytes")/(1<<20),
		cached.first.Round(time.Millisecond), cached.later.Round(time.Millisecond), uncached.first.Round(time.Millisecond), uncached.later.Round(time.Millisecond))
}
