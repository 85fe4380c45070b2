package token

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/workload"
)

// Rules for authn.apiserver-flag (diff mode; a new kube-apiserver is judged
// by the scan rules, without their info findings):
//
//	flag                                     change                         severity
//	--service-account-issuer                 first value (the issuer) moves high
//	--service-account-issuer                 another accepted issuer        medium
//	--service-account-key-file               any key added/removed/replaced high
//	--service-account-signing-key-file       replaced or removed            high
//	--service-account-max-token-expiration   removed, or raised above 24h   high
//	--service-account-max-token-expiration   raised                         medium
//	--service-account-extend-token-expiration false → true (default true)   medium
//	--anonymous-auth                         false → true (default true)    critical
//	--authorization-mode                     loses RBAC or gains AlwaysAllow critical
//	--token-auth-file                        added or changed               critical
//	--oidc-issuer-url, --oidc-client-id      added or changed               high
//	--oidc-username-prefix/-claim            usernames may now be system:*  high
//	--oidc-username-prefix/-claim            other change                   medium
//	--oidc-groups-prefix/-claim              groups may now be system:*     high
//	--oidc-required-claim                    a required claim removed       high
//
// Scan: AlwaysAllow and --token-auth-file critical; authorization without
// RBAC and explicit --anonymous-auth=true medium; OIDC usernames or groups
// that can be system:* and a non-https OIDC issuer high; one info finding
// per kube-apiserver sums up the rest.
//
// Usernames: kube-apiserver prefixes OIDC usernames with "<issuer>#" unless
// the claim is "email" or the prefix is "-"; an explicit empty prefix is the
// same as none. So only "-" (or "email", whose values cannot contain ":")
// turns the prefix off.

// kubeadmIssuer is kubeadm's --service-account-issuer for a DNS domain.
func kubeadmIssuer(domain string) string { return "https://kubernetes.default.svc." + domain }

type flagVal struct {
	value string
	at    manifest.Location
	field string
}

// apiserver is one kube-apiserver command line: a container of a static
// pod (or any workload) or a kubeadm ClusterConfiguration's extraArgs.
type apiserver struct {
	id       string
	desc     string
	kubeadm  bool
	holder   *manifest.Object
	ns       string
	anchor   manifest.Location
	field    string
	flags    map[string][]flagVal
	defaults map[string]string
}

var apiserverDefaults = map[string]string{
	"anonymous-auth":                          "true",
	"authorization-mode":                      "AlwaysAllow",
	"service-account-extend-token-expiration": "true",
	"oidc-username-claim":                     "sub",
}

// values returns every value of a flag, or its default.
func (a apiserver) values(name string) []string {
	if vs, ok := a.flags[name]; ok {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = v.value
		}
		return out
	}
	if d, ok := a.defaults[name]; ok {
		return []string{d}
	}
	return nil
}

// last returns the value pflag keeps for a single-valued flag: the last.
func (a apiserver) last(name string) (string, bool) {
	if vs := a.flags[name]; len(vs) > 0 {
		return vs[len(vs)-1].value, true
	}
	d, ok := a.defaults[name]
	return d, ok
}

func (a apiserver) set(name string) bool { return len(a.flags[name]) > 0 }

func (a apiserver) boolean(name string) bool {
	v, _ := a.last(name)
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

// listValue splits comma-separated values of a flag written once or more.
func (a apiserver) listValue(name string) []string {
	var out []string
	for _, v := range a.values(name) {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// where is the line a flag finding points at.
type where struct {
	at    manifest.Location
	field string
}

// where points at the flag's last occurrence (the one pflag keeps), or at
// the command line when the flag is not written.
func (a apiserver) where(name string) where {
	if vs := a.flags[name]; len(vs) > 0 {
		v := vs[len(vs)-1]
		return where{v.at, v.field}
	}
	return where{a.anchor, a.field}
}

// whereValue points at the first occurrence of the flag with that value.
func (a apiserver) whereValue(name, value string) where {
	for _, v := range a.flags[name] {
		if v.value == value {
			return where{v.at, v.field}
		}
	}
	return a.where(name)
}

func (c *checker) apiservers(s *snapshot) []apiserver {
	var out []apiserver
	for _, w := range s.workloads {
		out = append(out, staticPodServers(w)...)
	}
	for _, cf := range s.configs {
		if cf.obj.Kind == "ClusterConfiguration" {
			if a, ok := kubeadmServer(cf, c.holderNS(cf)); ok {
				out = append(out, a)
			}
		}
	}
	return out
}

func strs(v any) []string {
	l, _ := v.([]any)
	out := make([]string, len(l))
	for i, e := range l {
		out[i], _ = e.(string)
	}
	return out
}

// staticPodServers finds containers that run kube-apiserver: a command
// element naming the binary (flags follow it, then args), or an image
// called kube-apiserver with no command (flags in args).
func staticPodServers(w workload.Workload) []apiserver {
	var out []apiserver
	containers, _ := w.PodSpec["containers"].([]any)
	for ci, cv := range containers {
		cont, _ := cv.(map[string]any)
		name, _ := cont["name"].(string)
		cmd, args := strs(cont["command"]), strs(cont["args"])
		bin := slices.IndexFunc(cmd, func(s string) bool { return path.Base(s) == "kube-apiserver" })
		if bin < 0 {
			image, _ := cont["image"].(string)
			if len(cmd) > 0 || imageName(image) != "kube-apiserver" {
				continue
			}
		}
		// Each argument is remembered with its field for locations.
		var line []string
		var fields [][]any
		for k := bin + 1; bin >= 0 && k < len(cmd); k++ {
			line, fields = append(line, cmd[k]), append(fields, []any{"containers", ci, "command", k})
		}
		for k := range args {
			line, fields = append(line, args[k]), append(fields, []any{"containers", ci, "args", k})
		}
		a := apiserver{
			id:       fmt.Sprintf("pod|%s|%s|%s|%s", w.Kind, w.Namespace, w.Name, name),
			desc:     fmt.Sprintf("kube-apiserver in container %q of %s", name, w),
			holder:   w.Object,
			ns:       w.Namespace,
			anchor:   w.LineOf("containers", ci),
			field:    fmt.Sprintf("containers[%d]", ci),
			flags:    map[string][]flagVal{},
			defaults: apiserverDefaults,
		}
		for _, f := range ParseFlags(line) {
			fp := fields[f.Index]
			a.flags[f.Name] = append(a.flags[f.Name], flagVal{
				value: f.Value,
				at:    w.LineOf(fp...),
				field: fmt.Sprintf("containers[%d].%s[%d]", ci, fp[2], fp[3]),
			})
		}
		out = append(out, a)
	}
	return out
}

func imageName(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	base := path.Base(image)
	if i := strings.IndexByte(base, ':'); i >= 0 {
		base = base[:i]
	}
	return base
}

// kubeadmServer reads apiServer.extraArgs of a ClusterConfiguration: a map
// in v1beta3, a list of {name, value} in v1beta4 (which allows repeats).
func kubeadmServer(cf cfg, ns string) (apiserver, bool) {
	o := cf.obj
	domain, _ := o.Get("networking", "dnsDomain").(string)
	if domain == "" {
		domain = "cluster.local"
	}
	defaults := map[string]string{}
	for k, v := range apiserverDefaults {
		defaults[k] = v
	}
	defaults["authorization-mode"] = "Node,RBAC"
	defaults["service-account-issuer"] = kubeadmIssuer(domain)
	defaults["service-account-key-file"] = "/etc/kubernetes/pki/sa.pub"
	defaults["service-account-signing-key-file"] = "/etc/kubernetes/pki/sa.key"
	a := apiserver{
		id:       "kubeadm|" + cf.ident(),
		desc:     "kube-apiserver of kubeadm " + cf.String(),
		kubeadm:  true,
		holder:   cf.holder,
		ns:       ns,
		anchor:   o.LineOf("apiServer", "extraArgs"),
		field:    "apiServer.extraArgs",
		flags:    map[string][]flagVal{},
		defaults: defaults,
	}
	switch ea := o.Get("apiServer", "extraArgs").(type) {
	case map[string]any:
		keys := make([]string, 0, len(ea))
		for k := range ea {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			name := strings.ReplaceAll(strings.TrimLeft(k, "-"), "_", "-")
			a.flags[name] = append(a.flags[name], flagVal{value: scalar(ea[k]), at: o.LineOf("apiServer", "extraArgs", k), field: "apiServer.extraArgs." + k})
		}
	case []any:
		for i, e := range ea {
			m, _ := e.(map[string]any)
			n, _ := m["name"].(string)
			name := strings.ReplaceAll(strings.TrimLeft(n, "-"), "_", "-")
			if name == "" {
				continue
			}
			a.flags[name] = append(a.flags[name], flagVal{value: scalar(m["value"]), at: o.LineOf("apiServer", "extraArgs", i), field: fmt.Sprintf("apiServer.extraArgs[%d]", i)})
		}
	case nil:
	default:
		return apiserver{}, false
	}
	return a, true
}

// scalar prints a YAML scalar the way kubeadm passes it on: true, 3600, text.
func scalar(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	}
	return fmt.Sprint(v)
}

func (c *checker) apiserverFlags(bs, hs *snapshot, scan bool) {
	base, head := c.apiservers(bs), c.apiservers(hs)
	// A renamed static pod or moved kubeadm file is the same server.
	pairs := pairBy(base, head,
		func(a apiserver) string { return a.id },
		func(a apiserver) string { return strconv.FormatBool(a.kubeadm) })
	for i, h := range head {
		switch {
		case scan:
			c.scanFlags(h, true)
		case pairs[i] == nil:
			c.scanFlags(h, false)
		default:
			c.compareFlags(*pairs[i], h)
		}
	}
}

// flagFinding reports about one flag; key names it in the finding's ID.
func (c *checker) flagFinding(a apiserver, key string, w where, sev report.Severity, msg, risk string) {
	at, field := w.at, w.field
	c.add(report.Finding{
		ID:       id(report.AuthnAPIServerFlag, c.overlay, a.id, key),
		Kind:     report.AuthnAPIServerFlag,
		Severity: sev,
		Location: loc(at),
		Via:      []report.Ref{ref(a.holder, a.ns, at, field)},
		Message:  a.desc + ": " + msg,
		Risk:     risk,
	})
}

func (c *checker) compareFlags(b, h apiserver) {
	// Issuer: the first value signs new tokens; the rest are only accepted.
	bi, hi := b.values("service-account-issuer"), h.values("service-account-issuer")
	if len(hi) > 0 && (len(bi) == 0 || bi[0] != hi[0]) {
		was := "none"
		if len(bi) > 0 {
			was = bi[0]
		}
		c.flagFinding(h, "service-account-issuer", h.whereValue("service-account-issuer", hi[0]), report.High,
			fmt.Sprintf("--service-account-issuer now issues tokens as %s (was %s)", hi[0], was),
			"every relying party that trusts the old issuer must be checked; tokens from the new issuer reach whoever trusts it")
	}
	if len(hi) > 1 {
		if add := missing(hi[1:], bi); len(add) > 0 {
			c.flagFinding(h, "service-account-issuer|accepted", h.whereValue("service-account-issuer", add[0]), report.Medium,
				"--service-account-issuer now also accepts tokens of "+strings.Join(add, ", "),
				"tokens minted under those issuers authenticate against this cluster")
		}
	}
	for _, flag := range []string{"service-account-key-file", "service-account-signing-key-file"} {
		bk, hk := b.values(flag), h.values(flag)
		add, del := missing(hk, bk), missing(bk, hk)
		if len(add) == 0 && len(del) == 0 {
			continue
		}
		var parts []string
		if len(add) > 0 {
			parts = append(parts, "adds "+strings.Join(add, ", "))
		}
		if len(del) > 0 {
			parts = append(parts, "removes "+strings.Join(del, ", "))
		}
		c.flagFinding(h, flag, h.where(flag), report.High, "--"+flag+" "+strings.Join(parts, " and "),
			"the keys that sign or verify service-account tokens decide who can mint a valid token")
	}
	bm, bset := b.last("service-account-max-token-expiration")
	hm, hset := h.last("service-account-max-token-expiration")
	if bset && bm != hm {
		bd, errB := time.ParseDuration(bm)
		hd, errH := time.ParseDuration(hm)
		switch {
		case !hset:
			c.flagFinding(h, "service-account-max-token-expiration", h.where("service-account-max-token-expiration"), report.High,
				"--service-account-max-token-expiration is removed (was "+bm+"): requested tokens are no longer capped",
				"a pod or a token request can ask for a token that lives for years")
		case errB != nil || errH != nil:
			c.flagFinding(h, "service-account-max-token-expiration", h.where("service-account-max-token-expiration"), report.Medium,
				fmt.Sprintf("--service-account-max-token-expiration changes from %s to %s", bm, hm), "a longer cap lets stolen tokens live longer")
		case hd > bd:
			c.flagFinding(h, "service-account-max-token-expiration", h.where("service-account-max-token-expiration"), pick(hd > 24*time.Hour, report.High, report.Medium),
				fmt.Sprintf("--service-account-max-token-expiration rises from %s to %s", bm, hm), "a longer cap lets stolen tokens live longer")
		}
	}
	if !b.boolean("service-account-extend-token-expiration") && h.boolean("service-account-extend-token-expiration") {
		c.flagFinding(h, "service-account-extend-token-expiration", h.where("service-account-extend-token-expiration"), report.Medium,
			"--service-account-extend-token-expiration is on again (it defaults to true): tokens injected by admission live about a year",
			"a stolen pod token stays valid long after the pod is gone")
	}
	if !b.boolean("anonymous-auth") && h.boolean("anonymous-auth") {
		c.flagFinding(h, "anonymous-auth", h.where("anonymous-auth"), report.Critical,
			"--anonymous-auth turns anonymous requests on (it defaults to true when unset)",
			"unauthenticated callers reach the API as system:anonymous and get whatever is bound to it")
	}
	bz, hz := b.listValue("authorization-mode"), h.listValue("authorization-mode")
	var lost []string
	if slices.Contains(bz, "RBAC") && !slices.Contains(hz, "RBAC") {
		lost = append(lost, "loses RBAC")
	}
	if !slices.Contains(bz, "AlwaysAllow") && slices.Contains(hz, "AlwaysAllow") {
		lost = append(lost, "gains AlwaysAllow")
	}
	if len(lost) > 0 {
		c.flagFinding(h, "authorization-mode", h.where("authorization-mode"), report.Critical,
			fmt.Sprintf("--authorization-mode %s (now %s)", strings.Join(lost, " and "), strings.Join(hz, ",")),
			"RBAC in this repository no longer decides access: every authenticated caller may be allowed everything")
	}
	bt, _ := b.last("token-auth-file")
	if ht, _ := h.last("token-auth-file"); h.set("token-auth-file") && ht != bt {
		c.flagFinding(h, "token-auth-file", h.where("token-auth-file"), report.Critical,
			"--token-auth-file adds static bearer tokens from a file",
			"static tokens never expire and cannot be revoked without restarting the API server")
	}
	c.compareOIDC(b, h)
}

type oidc struct {
	on                        bool
	issuer, clientID          string
	usernameCollides          bool
	usernameClaim, userPrefix string
	groupsCollide             bool
	groupsClaim, groupsPrefix string
	required                  []string
}

func oidcOf(a apiserver) oidc {
	var o oidc
	o.issuer, _ = a.last("oidc-issuer-url")
	o.on = o.issuer != ""
	o.clientID, _ = a.last("oidc-client-id")
	o.usernameClaim, _ = a.last("oidc-username-claim")
	o.userPrefix, _ = a.last("oidc-username-prefix")
	o.usernameCollides = o.on && o.userPrefix == "-" && o.usernameClaim != "email"
	o.groupsClaim, _ = a.last("oidc-groups-claim")
	o.groupsPrefix, _ = a.last("oidc-groups-prefix")
	o.groupsCollide = o.on && o.groupsClaim != "" && o.groupsPrefix == ""
	o.required = a.listValue("oidc-required-claim")
	return o
}

const collideRisk = "an identity provider user whose claim reads system:... becomes that Kubernetes user or group (system:masters bypasses RBAC)"

func (c *checker) compareOIDC(b, h apiserver) {
	bo, ho := oidcOf(b), oidcOf(h)
	if !ho.on {
		return
	}
	if bo.issuer != ho.issuer {
		msg := "--oidc-issuer-url now accepts tokens of " + ho.issuer
		if bo.on {
			msg += " (was " + bo.issuer + ")"
		}
		if !strings.HasPrefix(ho.issuer, "https://") {
			msg += ", which is not https"
		}
		c.flagFinding(h, "oidc-issuer-url", h.where("oidc-issuer-url"), report.High, msg, "whoever controls that issuer can sign in to the cluster as any user it names")
	}
	if bo.on && bo.clientID != ho.clientID {
		c.flagFinding(h, "oidc-client-id", h.where("oidc-client-id"), report.High,
			fmt.Sprintf("--oidc-client-id changes from %q to %q", bo.clientID, ho.clientID),
			"tokens the issuer mints for another client are now accepted")
	}
	switch {
	case ho.usernameCollides && !bo.usernameCollides:
		flag := "oidc-username-prefix"
		c.flagFinding(h, flag, h.where(flag), report.High,
			fmt.Sprintf("OIDC usernames come from claim %q without a prefix, so they can collide with system: users", ho.usernameClaim), collideRisk)
	case bo.on && (bo.usernameClaim != ho.usernameClaim || bo.userPrefix != ho.userPrefix):
		c.flagFinding(h, "oidc-username-prefix", h.where("oidc-username-prefix"), report.Medium,
			fmt.Sprintf("OIDC usernames change from claim %q prefix %q to claim %q prefix %q", bo.usernameClaim, bo.userPrefix, ho.usernameClaim, ho.userPrefix),
			"existing RBAC bindings to OIDC users may now match other people")
	}
	if ho.groupsCollide && !bo.groupsCollide {
		c.flagFinding(h, "oidc-groups-prefix", h.where("oidc-groups-claim"), report.High,
			fmt.Sprintf("OIDC groups come from claim %q without a prefix, so they can name system: groups", ho.groupsClaim), collideRisk)
	}
	if bo.on {
		if gone := missing(bo.required, ho.required); len(gone) > 0 {
			c.flagFinding(h, "oidc-required-claim", h.where("oidc-required-claim"), report.High,
				"--oidc-required-claim no longer requires "+strings.Join(gone, ", "),
				"tokens the required claim used to reject are now accepted")
		}
	}
}

// scanFlags reports the state of one kube-apiserver; with withInfo false
// (a kube-apiserver new in a diff) only what is risky.
func (c *checker) scanFlags(a apiserver, withInfo bool) {
	modes := a.listValue("authorization-mode")
	switch {
	case slices.Contains(modes, "AlwaysAllow"):
		msg := "--authorization-mode includes AlwaysAllow (now " + strings.Join(modes, ",") + ")"
		if !a.set("authorization-mode") {
			msg = "--authorization-mode is not set, so kube-apiserver allows every request (AlwaysAllow)"
		}
		c.flagFinding(a, "authorization-mode", a.where("authorization-mode"), report.Critical, msg,
			"every authenticated request is allowed: RBAC does not matter")
	case !slices.Contains(modes, "RBAC"):
		c.flagFinding(a, "authorization-mode", a.where("authorization-mode"), report.Medium,
			"--authorization-mode does not include RBAC (now "+strings.Join(modes, ",")+")",
			"the RBAC objects in this repository have no effect")
	}
	if a.set("anonymous-auth") && a.boolean("anonymous-auth") {
		c.flagFinding(a, "anonymous-auth", a.where("anonymous-auth"), report.Medium,
			"--anonymous-auth=true lets unauthenticated requests in as system:anonymous",
			"whatever is bound to system:anonymous or system:unauthenticated is open to anyone who reaches the API server")
	}
	if a.set("token-auth-file") {
		c.flagFinding(a, "token-auth-file", a.where("token-auth-file"), report.Critical,
			"--token-auth-file accepts static bearer tokens from a file",
			"static tokens never expire and cannot be revoked without restarting the API server")
	}
	o := oidcOf(a)
	if o.on && !strings.HasPrefix(o.issuer, "https://") {
		c.flagFinding(a, "oidc-issuer-url", a.where("oidc-issuer-url"), report.High, "--oidc-issuer-url "+o.issuer+" is not https", "the discovery document and keys can be forged in transit")
	}
	if o.usernameCollides {
		c.flagFinding(a, "oidc-username-prefix", a.where("oidc-username-prefix"), report.High,
			fmt.Sprintf("OIDC usernames come from claim %q without a prefix, so they can collide with system: users", o.usernameClaim), collideRisk)
	}
	if o.groupsCollide {
		c.flagFinding(a, "oidc-groups-prefix", a.where("oidc-groups-claim"), report.High,
			fmt.Sprintf("OIDC groups come from claim %q without a prefix, so they can name system: groups", o.groupsClaim), collideRisk)
	}
	if !withInfo {
		return
	}
	issuers := a.values("service-account-issuer")
	state := []string{"authorization mode " + strings.Join(modes, ",")}
	if len(issuers) > 0 {
		state = append(state, "service-account issuer "+strings.Join(issuers, ", "))
	}
	if m, ok := a.last("service-account-max-token-expiration"); ok {
		state = append(state, "token lifetime capped at "+m)
	} else {
		state = append(state, "no cap on token lifetime")
	}
	if a.boolean("service-account-extend-token-expiration") {
		state = append(state, "admission-injected tokens extended to a year")
	}
	if a.boolean("anonymous-auth") {
		state = append(state, "anonymous requests allowed")
	}
	if o.on {
		state = append(state, "OIDC issuer "+o.issuer)
	}
	at, field := a.anchor, a.field
	c.add(report.Finding{
		ID:       id(report.AuthnAPIServerFlag, c.overlay, a.id, "state"),
		Kind:     report.AuthnAPIServerFlag,
		Severity: report.Info,
		Location: loc(at),
		Via:      []report.Ref{ref(a.holder, a.ns, at, field)},
		Message:  a.desc + ": " + strings.Join(state, "; "),
	})
}
