package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rbacguard/rbacguard/checks"
	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/query"
)

func newCanICmd(e *env) *cobra.Command {
	var f queryFlags
	var as string
	var asGroups []string
	var list bool
	c := &cobra.Command{
		Use:   "can-i --as SUBJECT (VERB RESOURCE[/SUBRESOURCE] | --list) [REV|DIR]",
		Short: "Answer whether an identity may make a request, per overlay",
		Long: `can-i answers, offline and for one revision, what kubectl auth can-i answers
against a live cluster: yes or no per overlay, with the chain that allows it. The
identity is spelled as with kubectl: --as system:serviceaccount:NS:NAME for a
service account (in its three groups), --as NAME for a user (in
system:authenticated), --as-group for the groups of an impersonated user.
RESOURCE is spelled as with kubectl (secret, po, deploy, deployments.apps,
pods/web-0 for one object, --subresource); an unknown one is an error naming the
nearest. A "no" from an overlay rendered without some inputs names them.

With --list it prints the identity's whole permission set per overlay and scope,
merged the way kubectl auth can-i --list merges it; -n narrows it to one namespace.

The tree is a directory, a git revision or a cluster's export (default: the working
tree). The exit code is 0 when every overlay answers yes (or with --list), 1 when
one answers no or could not be rendered.`,
		Example: `  rbacguard can-i --as system:serviceaccount:shop:checkout get secrets -n shop testdata/example/head
  rbacguard can-i --as jane --as-group shop-developers create pods/exec -n shop testdata/example/head
  rbacguard can-i --as system:serviceaccount:shop:report --list testdata/example/head`,
		Args: cobra.RangeArgs(0, 3),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := query.ParseIdentity(as, asGroups)
			if err != nil {
				return err
			}
			format, err := f.format()
			if err != nil {
				return err
			}
			if list {
				if len(args) > 1 || f.url != "" || f.name != "" || f.group != "" || f.subresource != "" {
					return fmt.Errorf("--list takes no request, only the tree (and -n)")
				}
				arg := ""
				if len(args) == 1 {
					arg = args[0]
				}
				t, o, err := f.open(c, arg)
				if err != nil {
					return err
				}
				var namespaces []string
				if f.namespace != "" {
					namespaces = []string{f.namespace}
				}
				a := &query.ListAnswer{Version: query.Version, Identity: id, Head: t.Rev(), HeadName: arg, Overlays: []query.ListOverlay{}}
				err = diff.Overlays(c.Context(), t.Tree, o, func(ov query.Overlay, qo query.Options) {
					a.Overlays = append(a.Overlays, query.List(ov, id, namespaces, qo))
				})
				if err != nil {
					return err
				}
				return checks.WriteList(e.stdout, a, format, checks.TextOptions{PathPrefix: t.prefix})
			}
			ra, arg, err := f.args(c, args)
			if err != nil {
				return err
			}
			t, o, err := f.open(c, arg)
			if err != nil {
				return err
			}
			r, err := request(e, t, ra)
			if err != nil {
				return err
			}
			// kubectl auth can-i -A asks with no namespace: a cluster-wide
			// request, as here without -n.
			r.AllNamespaces = false
			a := &query.CanIAnswer{Version: query.Version, Identity: id, Request: r, Head: t.Rev(), HeadName: arg, Overlays: []query.CanIOverlay{}}
			err = diff.Overlays(c.Context(), t.Tree, o, func(ov query.Overlay, qo query.Options) {
				a.Overlays = append(a.Overlays, query.CanI(ov, id, r, qo))
			})
			if err != nil {
				return err
			}
			if err := checks.WriteCanI(e.stdout, a, format, checks.TextOptions{PathPrefix: t.prefix}); err != nil {
				return err
			}
			for _, ov := range a.Overlays {
				if !ov.Allowed {
					return errGateFailed
				}
			}
			return nil
		},
	}
	f.register(c)
	c.Flags().StringVar(&as, "as", "", "the user to ask about: a user name, or system:serviceaccount:NS:NAME")
	c.Flags().StringSliceVar(&asGroups, "as-group", nil, "a group of the user (repeatable)")
	c.Flags().BoolVar(&list, "list", false, "list everything the user can do instead of answering one request")
	c.Flags().BoolVarP(&f.allNamespaces, "all-namespaces", "A", false, "ask in all namespaces: a request of no namespace, as kubectl auth can-i -A (the default here)")
	return c
}
