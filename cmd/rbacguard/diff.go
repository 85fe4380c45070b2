package main

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rbacguard/rbacguard/checks"
	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/glob"
	"github.com/rbacguard/rbacguard/diff/policy"
	"github.com/rbacguard/rbacguard/diff/remote"
	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

// reportFlags are shared by the commands that print a report.
type reportFlags struct {
	output           outputFormat
	failOn           report.Severity
	defaultNamespace string
	remoteBases      []string
	config           string
	include, exclude []string
	roots            []string
}

func (f *reportFlags) register(c *cobra.Command) {
	f.output = "text"
	c.Flags().VarP(&f.output, "output", "o", "report format: text, json, markdown or sarif")
	c.Flags().Var(&f.failOn, "fail-on", "fail (exit 1) on findings at or above this severity: critical, high, medium, low, info or none (default: the policy's failOn, else high)")
	c.Flags().StringVar(&f.defaultNamespace, "default-namespace", "", `namespace of objects that name none (default: the policy's, else "default")`)
	c.Flags().StringSliceVar(&f.include, "include", nil, `check only the overlays matching these path globs (repeatable; "*" within a directory, "**" across)`)
	c.Flags().StringSliceVar(&f.exclude, "exclude", nil, "skip the overlays matching these path globs (repeatable)")
	c.Flags().StringVar(&f.config, "config", "", "policy file: a local file, else a path in the base tree (default "+policy.DefaultPath+" in the base tree)")
	c.Flags().StringSliceVar(&f.remoteBases, "allow-remote-base", nil, "URL prefix of kustomize remote bases and resources rbacguard may fetch itself, over HTTPS at a pinned ref, never with git (repeatable; default none; see the policy's remote.allow)")
	c.Flags().StringSliceVar(&f.roots, "root", nil, "directory a directory argument may read from, when its kustomizations name ../ paths (repeatable: each argument takes the first root that holds it; default: the argument itself)")
}

// options are the run's options for the trees the arguments named: a
// directory argument under a --root selects its overlay, and holds
// rendering to its root.
func (f *reportFlags) options(trees ...tree) (diff.Options, error) {
	o := diff.DefaultOptions()
	selected := map[string]bool{}
	for _, t := range trees {
		if t.strict {
			o.Render.StrictRoot = true
			o.Render.OutsideHint = cmp.Or(o.Render.OutsideHint, t.hint, "name a directory that holds it with --root (the repository's top, for instance)")
		}
		if t.overlay != "" {
			selected[t.overlay] = true
		}
	}
	switch len(selected) {
	case 0:
	case 1:
		for dir := range selected {
			o.Render.Selections = append(o.Render.Selections, render.Selection{From: "the directory argument", Include: []string{dir, dir + "/**"}})
		}
	default:
		return o, fmt.Errorf("BASE and HEAD name different directories under their --root (%s): name the same overlay in both trees", strings.Join(slices.Sorted(maps.Keys(selected)), ", "))
	}
	o.FailOn = f.failOn
	o.DefaultNamespace = f.defaultNamespace
	o.Render.RemoteBases = f.remoteBases
	o.Render.Remote.CacheDir = remote.DefaultCacheDir()
	o.Render.Include, o.Render.Exclude = f.include, f.exclude
	for _, g := range append(slices.Clone(f.include), f.exclude...) {
		if err := glob.ValidPath(g); err != nil {
			return o, err
		}
	}
	if f.config != "" {
		if info, err := os.Stat(f.config); err == nil && !info.IsDir() {
			fsys, rel, err := localFile(f.config)
			if err != nil {
				return o, err
			}
			p, err := policy.Load(fsys, rel)
			if err != nil {
				return o, err
			}
			o.Policy = p
		} else {
			o.PolicyPath = f.config
		}
	}
	return o, nil
}

func newDiffCmd(e *env) *cobra.Command {
	var f reportFlags
	var auditLogs []string
	c := &cobra.Command{
		Use:   "diff BASE [HEAD]",
		Short: "Report what HEAD grants that BASE did not",
		Long: `diff compares two trees of Kubernetes manifests. Each of BASE and HEAD is a
directory or a git revision of the repository in the current directory (read from
git objects, so untracked and ignored files play no part). HEAD defaults to the
working tree. The exit code is 1 when a finding is at or above --fail-on.`,
		Example: `  rbacguard diff testdata/example/base testdata/example/head
  rbacguard diff main            # the working tree against branch main
  rbacguard diff origin/main HEAD -o json`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			ctx := c.Context()
			headArg := ""
			if len(args) == 2 {
				headArg = args[1]
			}
			base, err := f.openTree(c, args[0])
			if err != nil {
				return err
			}
			head, err := f.openTree(c, headArg)
			if err != nil {
				return err
			}
			o, err := f.options(base, head)
			if err != nil {
				return err
			}
			o.AuditLogs = auditLogs
			r, err := diff.Run(ctx, base.Tree, head.Tree, o)
			if err != nil {
				return err
			}
			r.BaseName, r.HeadName = args[0], headArg
			return writeReport(e, r, f.output, head.prefix)
		},
	}
	f.register(c)
	c.Flags().StringSliceVar(&auditLogs, "audit-log", nil, "API server audit log (JSON lines, plain or gzip; repeatable): each increase says whether its account ever asked for it")
	return c
}

func newScanCmd(e *env) *cobra.Command {
	var f reportFlags
	var admissionOut string
	c := &cobra.Command{
		Use:   "scan [REV|DIR]",
		Short: "Report the risky access one tree grants",
		Long: `scan reports every risky permission a tree grants as it stands, most severe
first: a directory, or a git revision of the repository in the current directory
(default: the working tree). The exit code is 1 when a finding is at or above
--fail-on.`,
		Example: `  rbacguard scan testdata/example/head
  rbacguard scan main --fail-on critical`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			t, o, err := f.openOne(c, args)
			if err != nil {
				return err
			}
			r, err := diff.Scan(c.Context(), t.Tree, o)
			if err != nil {
				return err
			}
			if len(args) == 1 {
				r.HeadName = args[0]
			}
			if err := writeAdmission(e, admissionOut, t.Tree, o); err != nil {
				return err
			}
			return writeReport(e, r, f.output, t.prefix)
		},
	}
	f.register(c)
	c.Flags().StringVar(&admissionOut, "admission-out", "", "also write the policy's admission checks (rbacguard export admission) to this file, for a repository to commit or a pipeline to apply")
	return c
}

// openOne opens the one optional tree argument of a command (default:
// the working tree) and the run's options for it.
func (f *reportFlags) openOne(c *cobra.Command, args []string) (tree, diff.Options, error) {
	arg := ""
	if len(args) == 1 {
		arg = args[0]
	}
	t, err := f.openTree(c, arg)
	if err != nil {
		return t, diff.Options{}, err
	}
	o, err := f.options(t)
	return t, o, err
}

// tree is what an argument names: the tree to read, the overlay a
// directory under a --root selects in it, and how to show its paths.
type tree struct {
	source.Tree
	overlay string // "" for the whole tree
	strict  bool   // a directory the user chose: references leaving it are errors
	hint    string // how to widen a strict tree, when rbacguard knows better than "use --root"
	prefix  string // joined before report paths in the terminal
}

// openTree reads arg as a directory if one exists by that name, a file of
// manifests (a cluster's export) if it is one, else as a git revision of
// the repository in the current directory; "" is the working tree.
func openTree(c *cobra.Command, arg string) (source.Tree, error) {
	t, err := (&reportFlags{}).openTree(c, arg)
	return t.Tree, err
}

// openTree reads arg as the package function does; a directory inside a
// --root reads the root and selects the directory's overlays, as kustomize
// build DIR reads DIR's ../ bases.
func (f *reportFlags) openTree(c *cobra.Command, arg string) (tree, error) {
	lim := source.DefaultLimits()
	if arg == "" {
		t, err := source.WorkTree(c.Context(), ".", lim)
		if err != nil {
			t, err = source.Dir(".", lim)
		}
		return tree{Tree: t}, err
	}
	if isManifestFile(arg) {
		t, err := source.File(arg, lim)
		return tree{Tree: t, prefix: displayPrefix(arg)}, err
	}
	info, err := os.Stat(arg)
	if err != nil || !info.IsDir() {
		t, err := source.GitRev(c.Context(), ".", arg, lim)
		return tree{Tree: t}, err
	}
	root, overlay, err := f.rootOf(arg)
	if err != nil {
		return tree{}, err
	}
	t, err := source.Dir(root, lim)
	if err != nil {
		return tree{}, err
	}
	return tree{Tree: t, overlay: overlay, strict: true, hint: rootHint(c, root), prefix: displayPrefix(root)}, nil
}

// rootHint names the --root that would let dir's ../ references be read
// when dir lies inside a git work tree: the work tree's top.
func rootHint(c *cobra.Command, dir string) string {
	top := workTreeTop(c, dir)
	if top == "" {
		return ""
	}
	return "to check it with what it names, pass --root " + top + " (the repository's top)"
}

// workTreeTop is the top of the git work tree holding dir, when dir lies
// below it; "" otherwise.
func workTreeTop(c *cobra.Command, dir string) string {
	out, err := source.Git(c.Context(), dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return ""
	}
	top := strings.TrimSpace(string(out))
	abs, err := filepath.Abs(dir)
	if err != nil || top == "" || filepath.Clean(abs) == filepath.Clean(top) {
		return ""
	}
	return top
}

// rootOf returns the first --root that holds dir and dir's path in it;
// without one, dir is its own root.
func (f *reportFlags) rootOf(dir string) (root, overlay string, err error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", "", err
	}
	for _, r := range f.roots {
		ra, err := filepath.Abs(r)
		if err != nil {
			return "", "", err
		}
		rel, err := filepath.Rel(ra, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		if rel = filepath.ToSlash(rel); rel == "." {
			rel = ""
		}
		return r, rel, nil
	}
	if len(f.roots) > 0 {
		return "", "", fmt.Errorf("%s is under no --root (%s)", dir, strings.Join(f.roots, ", "))
	}
	return dir, "", nil
}

// isManifestFile reports a regular file named like a manifest: a
// cluster's export (kubectl get … -o yaml) or one file of manifests, read
// as a tree of its own. Other names stay git revisions.
func isManifestFile(arg string) bool {
	info, err := os.Stat(arg)
	if err != nil || !info.Mode().IsRegular() {
		return false
	}
	switch filepath.Ext(arg) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// displayPrefix is joined before report paths in the terminal when the
// tree is a directory or a file, so that paths can be clicked.
func displayPrefix(arg string) string {
	if arg == "." || arg == "" {
		return ""
	}
	if info, err := os.Stat(arg); err == nil && info.IsDir() {
		return strings.TrimSuffix(arg, "/") + "/"
	}
	if isManifestFile(arg) && filepath.Dir(arg) != "." {
		return filepath.Dir(arg) + "/"
	}
	return ""
}

func writeReport(e *env, r *report.Report, format outputFormat, prefix string) error {
	var err error
	switch format {
	case "json":
		err = checks.WriteJSON(e.stdout, r)
	case "markdown":
		err = checks.WriteMarkdown(e.stdout, r)
	case "sarif":
		err = checks.WriteSARIF(e.stdout, r, checks.SARIFOptions{Version: versionString()})
	default:
		err = checks.WriteText(e.stdout, r, checks.TextOptions{PathPrefix: prefix, Color: isTerminal(e.stdout)})
	}
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if r.Verdict == report.Fail {
		return errGateFailed
	}
	return nil
}

// outputFormat is the --output flag, checked when parsed.
type outputFormat string

func (o *outputFormat) String() string { return string(*o) }
func (o *outputFormat) Type() string   { return "format" }
func (o *outputFormat) Set(v string) error {
	switch v {
	case "text", "json", "markdown", "sarif":
		*o = outputFormat(v)
		return nil
	}
	return fmt.Errorf("unknown format %q: want text, json, markdown or sarif", v)
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0 && os.Getenv("NO_COLOR") == ""
}
