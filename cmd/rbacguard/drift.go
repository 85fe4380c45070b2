package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rbacguard/rbacguard/diff"
)

func newDriftCmd(e *env) *cobra.Command {
	var f reportFlags
	var cluster, repo string
	c := &cobra.Command{
		Use:   "drift --cluster EXPORT [OVERLAY...]",
		Short: "Report what a live cluster grants beyond the repository, and the reverse",
		Long: `drift compares a live cluster's RBAC, exported with
  kubectl get clusterroles,clusterrolebindings,roles,rolebindings,serviceaccounts -A -o yaml
(a file, or a directory of such files), with what the repository's overlays grant,
subject by subject: what the cluster grants beyond the repository (drift.out-of-band,
high: somebody applied RBAC by hand) and what the repository grants that the cluster
lacks (drift.not-applied, info). Kubernetes' own bootstrap roles and bindings in the
export are built-ins, not drift. When the export holds rbacguard's ValidatingAdmission-
Policies (kubectl get validatingadmissionpolicies,validatingadmissionpolicybindings -o yaml),
each that differs from what "rbacguard export admission" writes for the repository's
policy file is drift.admission (high; medium for a leftover).

OVERLAY names the overlays of the repository meant for that cluster (paths in the
tree given by --repo, default the working tree); with none, every overlay is read as
one. The exit code is 1 when a finding is at or above --fail-on, as for diff.`,
		Example: `  rbacguard drift --cluster export.yaml overlays/prod
  rbacguard drift --cluster export.yaml --repo testdata/example/head -o markdown`,
		RunE: func(c *cobra.Command, args []string) error {
			if cluster == "" {
				return fmt.Errorf("--cluster is required: the export of the cluster's RBAC (kubectl get clusterroles,clusterrolebindings,roles,rolebindings,serviceaccounts -A -o yaml)")
			}
			ct, err := openTree(c, cluster)
			if err != nil {
				return err
			}
			rt, err := openTree(c, repo)
			if err != nil {
				return err
			}
			o, err := f.options()
			if err != nil {
				return err
			}
			r, err := diff.Drift(c.Context(), ct, rt, args, o)
			if err != nil {
				return err
			}
			r.BaseName, r.HeadName = repo, cluster
			if err := admissionDrift(r, ct, rt, o); err != nil {
				return err
			}
			// Paths of both trees are in the report: no one prefix fits.
			return writeReport(e, r, f.output, "")
		},
	}
	f.register(c)
	c.Flags().StringVar(&cluster, "cluster", "", "the cluster's export: a YAML file or a directory of them")
	c.Flags().StringVar(&repo, "repo", "", "the repository: a directory or a git revision (default: the working tree)")
	return c
}
