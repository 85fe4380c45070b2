package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rbacguard/rbacguard/checks"
	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/policy"
	"github.com/rbacguard/rbacguard/diff/query"
	"github.com/rbacguard/rbacguard/diff/source"
)

// queryFlags are shared by who-can and can-i: how to read the tree (as for
// a diff) and how to print the answer.
type queryFlags struct {
	reportFlags
	namespace, name, group, url, subresource string
	allNamespaces, showBuiltins              bool
}

func (f *queryFlags) register(c *cobra.Command) {
	f.output = "text"
	c.Flags().VarP(&f.output, "output", "o", "answer format: text, json or markdown")
	c.Flags().StringVarP(&f.namespace, "namespace", "n", "", "namespace of the request (default: a cluster-wide request)")
	c.Flags().StringVar(&f.name, "name", "", "name of the object asked about")
	c.Flags().StringVar(&f.group, "group", "", `API group of the resource ("" is the core group; RESOURCE.GROUP works too)`)
	c.Flags().StringVar(&f.url, "url", "", "ask about a non-resource URL (e.g. /metrics) instead of a resource")
	c.Flags().StringVar(&f.subresource, "subresource", "", "subresource asked about (then RESOURCE/NAME names the object, as with kubectl)")
	c.Flags().StringVar(&f.defaultNamespace, "default-namespace", "", `namespace of objects that name none (default: the policy's, else "default")`)
	c.Flags().StringSliceVar(&f.include, "include", nil, `ask only the overlays matching these path globs (repeatable)`)
	c.Flags().StringSliceVar(&f.exclude, "exclude", nil, "skip the overlays matching these path globs (repeatable)")
	c.Flags().StringVar(&f.config, "config", "", "policy file: a local file, else a path in the tree (default "+policy.DefaultPath+")")
	c.Flags().StringSliceVar(&f.remoteBases, "allow-remote-base", nil, "URL prefix of kustomize remote bases and resources rbacguard may fetch itself, over HTTPS at a pinned ref, never with git (repeatable; default none; see the policy's remote.allow)")
	c.Flags().StringSliceVar(&f.roots, "root", nil, "directory a directory argument may read from, when its kustomizations name ../ paths (default: the git work tree holding it, else the argument itself)")
}

// open opens the tree a query asks about and the options to read it
// with. A directory inside a git work tree is read from the work tree's
// top with the directory selected, as kustomize build DIR reads DIR's ../
// bases: the directory is checked as asked, even when other
// kustomizations use it or it lies under testdata/.
func (f *queryFlags) open(c *cobra.Command, arg string) (tree, diff.Options, error) {
	if info, err := os.Stat(arg); err == nil && info.IsDir() && len(f.roots) == 0 {
		if top := workTreeTop(c, arg); top != "" {
			if wd, err := os.Getwd(); err == nil {
				if rel, err := filepath.Rel(wd, top); err == nil {
					top = rel
				}
			}
			f.roots = []string{top}
		}
	}
	t, err := f.openTree(c, arg)
	if err != nil {
		return tree{}, diff.Options{}, err
	}
	o, err := f.options(t)
	return t, o, err
}

// args splits the positional arguments into the request, as typed, and
// the tree argument: VERB RESOURCE [TREE], or VERB [TREE] with --url.
func (f *queryFlags) args(c *cobra.Command, args []string) (query.RequestArgs, string, error) {
	if len(args) == 0 {
		return query.RequestArgs{}, "", fmt.Errorf("no verb: say what to ask about, e.g. get secrets")
	}
	verb, rest := args[0], args[1:]
	resource := ""
	if f.url == "" && len(rest) > 0 {
		resource, rest = rest[0], rest[1:]
	}
	if len(rest) > 1 {
		return query.RequestArgs{}, "", fmt.Errorf("too many arguments: %q", rest[1:])
	}
	tree := ""
	if len(rest) == 1 {
		tree = rest[0]
	}
	return query.RequestArgs{Verb: verb, Resource: resource, Subresource: f.subresource, Group: f.group, GroupSet: c.Flags().Changed("group"),
		Namespace: f.namespace, Name: f.name, URL: f.url, AllNamespaces: f.allNamespaces}, tree, nil
}

// request resolves a against the tree t, as kubectl resolves a resource
// against the server's discovery, and warns of an unknown verb as kubectl
// does.
func request(e *env, t source.Tree, a query.RequestArgs) (query.Request, error) {
	rs := diff.Resources(t, a)
	r, err := rs.Request(a)
	if err != nil {
		return r, err
	}
	for _, w := range []string{query.VerbWarning(a.Verb), rs.ScopeWarning(r)} {
		if w != "" {
			fmt.Fprintf(e.stderr, "rbacguard: warning: %s\n", w)
		}
	}
	return r, nil
}

func (f *queryFlags) format() (checks.QueryFormat, error) {
	if f.output == "sarif" {
		return "", fmt.Errorf("--output sarif is for reports of findings: answers are text, json or markdown")
	}
	return checks.QueryFormat(f.output), nil
}

func newWhoCanCmd(e *env) *cobra.Command {
	var f queryFlags
	var base string
	c := &cobra.Command{
		Use:   "who-can VERB RESOURCE[/SUBRESOURCE] [REV|DIR]",
		Short: "List every subject that can make a request, per overlay",
		Long: `who-can answers, offline and for one revision, who may make a request: every
service account, user and group (and "everyone bound to ClusterRole X" for roles
the repository defines but binds elsewhere), per overlay, each with the chain from
binding to rule (file:line) and the workloads whose pods hold the token. The tree
is a directory, a git revision of the repository in the current directory, or a
cluster's export (a YAML file); default: the working tree.

RESOURCE is spelled as with kubectl (secret, po, deploy, deployments.apps,
pods/web-0 for one object, --subresource); an unknown one is an error naming the
nearest. -A asks in every namespace. The text is folded: Kubernetes' built-in
subjects once (--show-builtins: in every overlay), overlays with the same answer
grouped; -o json keeps everything. Inputs an overlay was rendered without are
named, and an answer they could change says so.

With --diff BASE it answers who newly can: the subjects that can at the tree but
could not at BASE (never a built-in). A tree with no overlay is exit 2; otherwise
the exit code is 0 whatever the answer.`,
		Example: `  rbacguard who-can get secrets -n shop testdata/example/head
  rbacguard who-can get secret -A
  rbacguard who-can create pods/exec -n shop --diff main
  rbacguard who-can patch deployments.apps -n shop export.yaml
  rbacguard who-can get --url /metrics`,
		Args: cobra.RangeArgs(1, 3),
		RunE: func(c *cobra.Command, args []string) error {
			ra, arg, err := f.args(c, args)
			if err != nil {
				return err
			}
			format, err := f.format()
			if err != nil {
				return err
			}
			var t tree
			var o diff.Options
			if c.Flags().Changed("diff") {
				// Two directories may name different overlays: each is
				// read as a tree of its own.
				if o, err = f.options(); err != nil {
					return err
				}
				tt, err := openTree(c, arg)
				if err != nil {
					return err
				}
				t = tree{Tree: tt, prefix: displayPrefix(arg)}
			} else if t, o, err = f.open(c, arg); err != nil {
				return err
			}
			r, err := request(e, t, ra)
			if err != nil {
				return err
			}
			a := &query.WhoCanAnswer{Version: query.Version, Request: r, Head: t.Rev(), HeadName: arg, Overlays: []query.WhoCanOverlay{}}
			if c.Flags().Changed("diff") {
				b, err := openTree(c, base)
				if err != nil {
					return err
				}
				a.Base, a.BaseName = b.Rev(), base
				a.Unchanged, err = diff.OverlayPairs(c.Context(), b, t.Tree, o, func(bo *query.Overlay, ho query.Overlay, qo query.Options) {
					a.Overlays = append(a.Overlays, query.NewlyCan(bo, ho, r, qo))
				})
				if err != nil {
					return err
				}
			} else {
				err = diff.Overlays(c.Context(), t.Tree, o, func(ov query.Overlay, qo query.Options) {
					a.Overlays = append(a.Overlays, query.WhoCan(ov, r, qo))
				})
				if err != nil {
					return err
				}
			}
			return checks.WriteWhoCan(e.stdout, a, format, checks.QueryTextOptions{TextOptions: checks.TextOptions{PathPrefix: t.prefix}, ShowBuiltins: f.showBuiltins})
		},
	}
	f.register(c)
	c.Flags().StringVar(&base, "diff", "", "answer who newly can: compare with this revision or directory")
	c.Flags().BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "ask in every namespace: the cluster-wide bindings and each namespace's RoleBindings")
	c.Flags().BoolVar(&f.showBuiltins, "show-builtins", false, "list Kubernetes' built-in subjects (system:masters, controllers) in every overlay, not once")
	return c
}
