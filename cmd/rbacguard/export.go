package main

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"time"

	"github.com/spf13/cobra"

	"github.com/rbacguard/rbacguard/bot"
	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/admission"
	"github.com/rbacguard/rbacguard/diff/manifest"
	"github.com/rbacguard/rbacguard/diff/policy"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

func newExportCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "export",
		Short: "Write the policy for other enforcement points",
	}
	var config, output string
	adm := &cobra.Command{
		Use:   "admission [--config POLICY] [-o yaml]",
		Short: "Print the policy's single-object checks as ValidatingAdmissionPolicies",
		Long: `admission prints ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding
objects (admissionregistration.k8s.io/v1, Kubernetes 1.30 and later) for the checks one
object decides: Roles and ClusterRoles with "*" in verbs, apiGroups or resources or
granting escalate, bind or impersonate; bindings to cluster-admin, to everyone
(system:authenticated, system:unauthenticated, system:serviceaccounts,
system:anonymous) or to every service account of a namespace; workloads that run as
their namespace's default ServiceAccount with its token mounted; legacy token Secrets.

Each check carries the severity the policy file gives it: at or above failOn the
binding denies, below it warns and audits. Exemptions and allow entries in force today
become matchConditions (or the binding's namespaceSelector); expired exemptions are
left out. Notes on what admission cannot express go to stderr.`,
		Example: `  rbacguard export admission > admission.yaml
  rbacguard export admission --config .github/rbacguard.yaml | kubectl apply -f -`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if output != "yaml" {
				return fmt.Errorf("unknown format %q for export admission: want yaml", output)
			}
			p, err := loadPolicy(config)
			if err != nil {
				return err
			}
			now := time.Now()
			s := admission.Export(p, now)
			printNotes(e, s.Notes)
			return s.WriteYAML(e.stdout, bot.AdmissionHeader(versionString(), p, now))
		},
	}
	adm.Flags().StringVar(&config, "config", "", "policy file (default "+policy.DefaultPath+" when it exists, else the default policy)")
	adm.Flags().StringVarP(&output, "output", "o", "yaml", "output format: yaml")
	c.AddCommand(adm)
	return c
}

// loadPolicy reads the policy file at name, a local file; "" reads
// DefaultPath when it exists and the default policy otherwise.
func loadPolicy(name string) (*policy.Policy, error) {
	if name != "" {
		if _, err := os.Stat(name); err != nil {
			return nil, fmt.Errorf("policy file %s: %w", name, err)
		}
	}
	if name == "" {
		name = policy.DefaultPath
	}
	fsys, rel, err := localFile(name)
	if err != nil {
		return nil, err
	}
	return policy.Load(fsys, rel)
}

// writeAdmission writes the export of the run's policy to path ("" does
// nothing), next to the report.
func writeAdmission(e *env, path string, t source.Tree, o diff.Options) error {
	if path == "" {
		return nil
	}
	p, err := diff.PolicyOf(t, o)
	if err != nil {
		return err
	}
	now := time.Now()
	notes, err := bot.WriteAdmission(path, p, now, bot.AdmissionHeader(versionString(), p, now))
	printNotes(e, notes)
	return err
}

func printNotes(e *env, notes []string) {
	for _, n := range notes {
		fmt.Fprintf(e.stderr, "rbacguard: note: %s\n", n)
	}
}

// admissionDrift adds to a drift report the rbacguard admission policies
// of the cluster's export that differ from the repository policy's export.
func admissionDrift(r *report.Report, cluster, repo source.Tree, o diff.Options) error {
	p, err := diff.PolicyOf(repo, o)
	if err != nil {
		return err
	}
	var objs []*manifest.Object
	err = fs.WalkDir(cluster, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch path.Ext(name) {
		case ".yaml", ".yml", ".json":
		default:
			return nil
		}
		data, err := fs.ReadFile(cluster, name)
		if err != nil {
			return err
		}
		decoded, _ := manifest.Decode(name, data) // what cannot be read is the RBAC drift's to report
		objs = append(objs, decoded...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the cluster's export: %w", err)
	}
	found := admission.Drift(objs, admission.Export(p, time.Now()))
	if len(found) == 0 {
		return nil
	}
	if !hasAdmissionPolicies(objs) {
		return nil // an export of RBAC only: nothing to compare
	}
	r.Findings = append(r.Findings, found...)
	r.Finish(r.FailOn)
	return nil
}

func hasAdmissionPolicies(objs []*manifest.Object) bool {
	for _, o := range objs {
		if o.Kind == "ValidatingAdmissionPolicy" {
			return true
		}
	}
	return false
}
