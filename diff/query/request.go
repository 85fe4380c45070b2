package query

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/rbac"
	"github.com/rbacguard/rbacguard/diff/spell"
)

// Request is what a question asks about, in the terms of the command line
// and the JSON answer.
type Request struct {
	Verb        string `json:"verb"`
	Group       string `json:"group"`
	Resource    string `json:"resource,omitempty"`
	Subresource string `json:"subresource,omitempty"`
	Namespace   string `json:"namespace,omitempty"`
	Name        string `json:"name,omitempty"`
	URL         string `json:"url,omitempty"`
	// AllNamespaces (who-can -A) asks in every namespace: the cluster-wide
	// bindings and each namespace's RoleBindings; Namespace is then "".
	AllNamespaces bool `json:"allNamespaces,omitempty"`
}

// ParseRequest reads a request literally, the way kubectl auth can-i
// reads one for a resource it cannot look up: resource is RESOURCE,
// RESOURCE/SUBRESOURCE or RESOURCE.GROUP[/SUBRESOURCE]
// (deployments.apps/scale); group, when set, is the API group and must
// agree with a dotted suffix. The command line resolves names first
// (Resources.Request); this is for callers that spell requests exactly.
func ParseRequest(verb, resource, group, namespace, name, url string) (Request, error) {
	return parseRequest(RequestArgs{Verb: verb, Resource: resource, Group: group, GroupSet: group != "", Namespace: namespace, Name: name, URL: url}, nil)
}

// RequestArgs are a request as the command line spells it.
type RequestArgs struct {
	Verb string
	// Resource is RESOURCE[.GROUP][/SUBRESOURCE|/NAME], as kubectl takes
	// it: plural, singular, short name or kind.
	Resource    string
	Subresource string // --subresource: then RESOURCE/X names the object X
	Group       string
	GroupSet    bool // --group was given ("" is then the core group)
	Namespace   string
	Name        string
	URL         string
	// AllNamespaces is -A: every namespace; it takes no -n.
	AllNamespaces bool
}

// Request resolves a against rs the way kubectl resolves a resource
// argument: any spelling of a built-in or tree-defined resource, the
// first in priority order when several groups serve the name, and
// RESOURCE/X a subresource when the resource has one named X, else the
// object named X (kubectl's TYPE/NAME). An unknown resource is an
// *UnknownResourceError naming the nearest ones: never a silent "no".
func (rs Resources) Request(a RequestArgs) (Request, error) {
	return parseRequest(a, &rs)
}

func parseRequest(a RequestArgs, rs *Resources) (Request, error) {
	verb, resource, group, namespace, name, url := a.Verb, a.Resource, a.Group, a.Namespace, a.Name, a.URL
	if verb == "" {
		return Request{}, fmt.Errorf("no verb: say what to ask about, e.g. get secrets")
	}
	if url != "" {
		if resource != "" || namespace != "" || name != "" || a.GroupSet || a.Subresource != "" {
			return Request{}, fmt.Errorf("--url %s asks about a non-resource URL: it takes no resource, namespace, name or group", url)
		}
		if !strings.HasPrefix(url, "/") {
			return Request{}, fmt.Errorf("--url %q: a non-resource URL starts with /", url)
		}
		return Request{Verb: verb, URL: url}, nil
	}
	if a.AllNamespaces && namespace != "" {
		return Request{}, fmt.Errorf("-A asks in every namespace: drop -n %s, or -A", namespace)
	}
	if resource == "" {
		return Request{}, fmt.Errorf("no resource: give RESOURCE[/SUBRESOURCE] (e.g. secrets, pods/exec, deployments.apps) or --url")
	}
	res, sub, _ := strings.Cut(resource, "/")
	if strings.Contains(sub, "/") || res == "" {
		return Request{}, fmt.Errorf("resource %q: want RESOURCE[/SUBRESOURCE] or TYPE/NAME (e.g. secrets, pods/exec, pods/web-0, deployments.apps)", resource)
	}
	switch {
	case rs == nil || res == "*":
		if r, g, ok := strings.Cut(res, "."); ok {
			if a.GroupSet && group != g {
				return Request{}, fmt.Errorf("resource %q names group %q but --group is %q", resource, g, group)
			}
			res, group = r, g
		}
		if a.Subresource != "" {
			if sub != "" {
				name = cmp.Or(name, sub)
			}
			sub = a.Subresource
		}
	default:
		r, err := rs.lookup(res, group, a.GroupSet)
		if err != nil {
			return Request{}, err
		}
		res, group = r.Plural, r.Group
		if sub, name, err = r.split(resource, sub, a.Subresource, name); err != nil {
			return Request{}, err
		}
	}
	if group == "" && res == "namespaces" && name == "" && namespace != "" {
		return Request{}, fmt.Errorf("%s namespaces without --name is a cluster-wide request (the API server gives it no namespace): drop -n %s", verb, namespace)
	}
	if group == "" && res == "namespaces" && name != "" {
		// A request for one Namespace object carries its own name as its
		// namespace (requestinfo.go), which is how a RoleBinding in shop
		// can grant get on the namespace shop.
		if namespace != "" && namespace != name {
			return Request{}, fmt.Errorf("the namespace %s is requested in namespace %s itself: drop -n %s", name, name, namespace)
		}
		namespace = name
	}
	return Request{Verb: verb, Group: group, Resource: res, Subresource: sub, Namespace: namespace, Name: name, AllNamespaces: a.AllNamespaces}, nil
}

// Builtin reports whether a's resource is one Kubernetes itself serves
// (or a wildcard or URL): then the tree's CustomResourceDefinitions need
// not be read to resolve it.
func (rs Resources) Builtin(a RequestArgs) bool {
	if a.URL != "" {
		return true
	}
	res, _, _ := strings.Cut(a.Resource, "/")
	if res == "*" {
		return true
	}
	r, err := rs.lookup(res, a.Group, a.GroupSet)
	return err == nil && !r.unknown
}

// split reads what follows RESOURCE/ in arg: a subresource r serves, else
// the object's name, as kubectl reads TYPE/NAME; with --subresource
// (flagSub) it is always the name. A near miss of a subresource is an
// error rather than a question about an object nobody meant.
func (r Resource) split(arg, after, flagSub, name string) (sub, objName string, err error) {
	serves := func(s string) bool { return slices.Contains(r.Subresources, s) || slices.Contains(r.Subresources, "*") }
	if flagSub != "" && !serves(flagSub) {
		return "", "", fmt.Errorf("--subresource %s: %s has no such subresource%s", flagSub, r.Plural, didYouMean(spell.Near(flagSub, r.Subresources), r.Plural+"/"))
	}
	objName = name
	switch {
	case after == "":
	case flagSub == "" && serves(after):
		sub = after
	case flagSub == "" && len(spell.Near(after, r.Subresources)) > 0:
		return "", "", fmt.Errorf("%s: %s has no subresource %s%s; to ask about the object named %s, pass --name %s",
			arg, r.Plural, after, didYouMean(spell.Near(after, r.Subresources), r.Plural+"/"), after, after)
	case name != "" && name != after:
		return "", "", fmt.Errorf("%s names the object %s but --name is %s", arg, after, name)
	default:
		objName = after
	}
	return cmp.Or(sub, flagSub), objName, nil
}

func didYouMean(names []string, prefix string) string {
	if len(names) == 0 {
		return ""
	}
	for i := range names {
		names[i] = prefix + names[i]
	}
	return " (did you mean " + strings.Join(names, ", ") + "?)"
}

// rbac returns the request as the engine matches it.
func (r Request) rbac() rbac.Request {
	if r.URL != "" {
		return rbac.Request{Verb: r.Verb, Path: r.URL}
	}
	return rbac.Request{ResourceRequest: true, Verb: r.Verb, APIGroup: r.Group, Resource: r.Resource,
		Subresource: r.Subresource, Name: r.Name, Namespace: r.Namespace}
}

// String reads like "get secrets in namespace shop", "create pods/exec
// named web-0 in namespace shop", "get /metrics".
func (r Request) String() string {
	if r.URL != "" {
		return r.Verb + " " + r.URL
	}
	s := r.Verb + " " + r.Resource
	if r.Group != "" {
		s = r.Verb + " " + r.Group + "/" + r.Resource
	}
	if r.Subresource != "" {
		s += "/" + r.Subresource
	}
	if r.Name != "" {
		s += " named " + r.Name
	}
	switch {
	case r.Namespace != "":
		s += " in namespace " + r.Namespace
	case r.AllNamespaces:
		s += " in any namespace"
	default:
		s += " cluster-wide"
	}
	return s
}

// Identity is who can-i asks about, spelled as with kubectl --as and
// --as-group.
type Identity struct {
	As     string   `json:"as"`
	Groups []string `json:"groups"`
}

// ParseIdentity mirrors the API server's impersonation filter: a service
// account's user name (system:serviceaccount:NS:NAME) without --as-group
// is in the service account groups; every impersonated user but
// system:anonymous is added to system:authenticated, which is added to
// system:unauthenticated instead.
func ParseIdentity(as string, groups []string) (Identity, error) {
	if as == "" {
		return Identity{}, fmt.Errorf("--as is required: a user name, or system:serviceaccount:NS:NAME for a service account")
	}
	if rest, ok := strings.CutPrefix(as, "system:serviceaccount:"); ok {
		ns, name, ok := strings.Cut(rest, ":")
		if !ok || ns == "" || name == "" || strings.Contains(name, ":") {
			return Identity{}, fmt.Errorf("--as %q: a service account is system:serviceaccount:NAMESPACE:NAME", as)
		}
		if len(groups) == 0 {
			groups = []string{"system:serviceaccounts", "system:serviceaccounts:" + ns}
		}
	}
	id := Identity{As: as, Groups: append([]string{}, groups...)}
	add := "system:authenticated"
	if as == "system:anonymous" {
		add = "system:unauthenticated"
	}
	if !slices.Contains(id.Groups, add) {
		id.Groups = append(id.Groups, add)
	}
	return id, nil
}

func (id Identity) user() rbac.User { return rbac.User{Name: id.As, Groups: id.Groups} }
