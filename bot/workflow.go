package bot

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"path"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/report"
)

// On pull_request GitHub runs the workflow file of the pull request's merge
// commit, so the author can edit the rbacguard step's inputs in the very
// pull request they gate. This file reads the step as the base branch has
// it and decides which inputs the run applies:
//
//	base branch has the step, same values    → the running inputs, no finding
//	base branch has the step, other values   → the base's values; high policy.change per input
//	base value is an expression (${{ … }})   → the running value when the running step has the
//	                                           same text and what it reads is not the pull
//	                                           request's (below), else the action's default and
//	                                           a high policy.change finding
//	workflow, job or step not on the base    → the action's defaults; low policy.change note
//	                                           (info when the inputs are the defaults anyway);
//	                                           a step in a reusable workflow is not followed, so
//	                                           it is "not on the base" too
//	base workflow does not parse             → the action's defaults, as for a new workflow
//	no GITHUB_WORKFLOW_REF (not GitHub's runner) → the action's defaults; medium policy.change
//	several rbacguard steps, none identified → an error: give each step an `id:`
//
// An expression cannot be evaluated offline (vars, secrets, matrix,
// needs). The value the runner computed is the base's expression evaluated
// only when the running step has the same text and nothing it reads comes
// from the pull request's copy of the file: either the whole file is
// unchanged, or the expression reads only vars and secrets (env, matrix,
// inputs and the rest are defined in the file the pull request edits).
// Otherwise the value comes from the pull request, so it is not used.

// gateInputs are the inputs that decide what the gate checks and how it
// fails, in the order findings are reported, with their action.yml
// defaults. base-ref belongs here: a pull request setting it to its own
// head would compare the head with itself. github-token and check-name do
// not loosen the gate (without a token the exit code still gates; another
// name leaves the required check unreported), so they are left to the
// running workflow.
var gateInputs = []struct {
	name, def string
	field     func(*ActionInputs) *string
}{
	{"fail-on", "", func(in *ActionInputs) *string { return &in.FailOn }},
	{"paths", "", func(in *ActionInputs) *string { return &in.Paths }},
	{"config", "", func(in *ActionInputs) *string { return &in.Config }},
	{"comment-mode", CommentReview, func(in *ActionInputs) *string { return &in.CommentMode }},
	{"base-ref", "", func(in *ActionInputs) *string { return &in.BaseRef }},
}

// maxWorkflowBytes bounds the workflow file read from git objects; real
// workflows are a few kilobytes.
const maxWorkflowBytes = 1 << 20

// sameInput reports whether two values of input name configure the same
// run: paths compare as lists of globs, comment-mode with its default.
func sameInput(name, a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	switch name {
	case "paths":
		return slices.Equal(splitGlobs(a), splitGlobs(b))
	case "comment-mode":
		return cmp.Or(a, CommentReview) == cmp.Or(b, CommentReview)
	}
	return a == b
}

// splitGlobs splits the paths input into its globs: separated by commas
// or newlines, blanks trimmed, empty ones dropped.
func splitGlobs(spec string) []string {
	var out []string
	for _, g := range strings.FieldsFunc(spec, func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

// ParseWorkflowRef splits GITHUB_WORKFLOW_REF
// ("owner/repo/.github/workflows/ci.yml@refs/pull/1/merge") into the
// repository and the workflow file's path in it. The path must be a clean
// path under .github/workflows ending in .yml or .yaml.
func ParseWorkflowRef(ref string) (repo, file string, err error) {
	bad := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("GITHUB_WORKFLOW_REF %q is not owner/repo/.github/workflows/FILE@REF: %s", ref, why)
	}
	at := strings.LastIndex(ref, "@")
	if at < 0 {
		return bad("no @ref")
	}
	parts := strings.SplitN(ref[:at], "/", 3)
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return bad("no owner/repo")
	}
	file = parts[2]
	if !strings.HasPrefix(file, ".github/workflows/") || path.Clean(file) != file ||
		slices.Contains(strings.Split(file, "/"), "..") ||
		(path.Ext(file) != ".yml" && path.Ext(file) != ".yaml") {
		return bad("the file is not a .yml or .yaml file under .github/workflows")
	}
	return parts[0] + "/" + parts[1], file, nil
}

// actionSelf says how a workflow step refers to this action.
type actionSelf struct {
	// repo is the action's repository, owner/name in lower case, when known
	// (GITHUB_ACTION_REPOSITORY, which composite actions leave empty, or
	// the _actions/OWNER/REPO/REF directory of GITHUB_ACTION_PATH).
	repo string
	// local is the action's directory relative to the workspace ("." for
	// `uses: ./`) when the action runs from the checkout; "" otherwise.
	local string
}

// canonicalRepo is the action's own repository: a step using it is always
// this action, whatever the environment says.
const canonicalRepo = "rbacguard/rbacguard"

func newActionSelf(e ActionEnv) actionSelf {
	s := actionSelf{repo: strings.ToLower(strings.TrimSpace(e.ActionRepository))}
	p := path.Clean(strings.ReplaceAll(e.ActionPath, `\`, "/"))
	if e.ActionPath == "" {
		return s
	}
	if ws := path.Clean(strings.ReplaceAll(e.Workspace, `\`, "/")); e.Workspace != "" {
		if p == ws {
			s.local = "."
			return s
		}
		if rel, ok := strings.CutPrefix(p, ws+"/"); ok {
			s.local = rel
			return s
		}
	}
	if i := strings.LastIndex(p, "/_actions/"); i >= 0 && s.repo == "" {
		if parts := strings.Split(p[i+len("/_actions/"):], "/"); len(parts) >= 2 {
			s.repo = strings.ToLower(parts[0] + "/" + parts[1])
		}
	}
	return s
}

// matches reports whether a step's `uses:` names this action: a local
// path equal to the action's directory, or owner/repo[/path]@ref of the
// action's repository or of rbacguard/rbacguard.
func (s actionSelf) matches(uses string) bool {
	uses = strings.TrimSpace(uses)
	if uses == "." || strings.HasPrefix(uses, "./") {
		p := path.Clean(uses)
		if s.local != "" {
			return p == s.local
		}
		// Unknown location: only the repository root can be this action.
		return s.repo == "" && p == "."
	}
	if strings.HasPrefix(uses, "docker://") {
		return false
	}
	name, _, ok := strings.Cut(uses, "@")
	parts := strings.SplitN(name, "/", 3)
	if !ok || len(parts) < 2 {
		return false
	}
	r := strings.ToLower(parts[0] + "/" + parts[1])
	return r == canonicalRepo || (s.repo != "" && r == s.repo)
}

// wfValue is one `with:` entry of a step.
type wfValue struct {
	raw  string
	line int
}

func (v wfValue) expr() bool { return strings.Contains(v.raw, "${{") }

// wfStep is a step of a workflow job that uses this action.
type wfStep struct {
	job  string
	id   string
	uses string
	line int // the line of `uses:`
	with map[string]wfValue
}

// value is the step's raw value for input name (the action's default when
// absent) and the line to point at.
func (s *wfStep) value(name, def string) wfValue {
	if v, ok := s.with[name]; ok {
		return v
	}
	return wfValue{raw: def, line: s.line}
}

// wfSteps parses a workflow file and returns the steps that use this
// action in job (every job when job is ""); jobFound says whether the job
// exists. Lines are 1-based lines of the file.
func wfSteps(data []byte, job string, self actionSelf) (steps []*wfStep, jobFound bool, err error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, false, err
	}
	root := deref(&doc)
	if root != nil && root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = deref(root.Content[0])
	}
	jobs := mapValue(root, "jobs")
	if jobs == nil || jobs.Kind != yaml.MappingNode {
		return nil, false, fmt.Errorf("no jobs mapping")
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		id := jobs.Content[i].Value
		if job != "" && id != job {
			continue
		}
		jobFound = true
		seq := mapValue(deref(jobs.Content[i+1]), "steps")
		if seq == nil || seq.Kind != yaml.SequenceNode {
			continue
		}
		for _, n := range seq.Content {
			n = deref(n)
			uses := mapEntry(n, "uses")
			if uses == nil || !self.matches(scalar(uses.value)) {
				continue
			}
			st := &wfStep{job: id, uses: scalar(uses.value), line: uses.key.Line, with: map[string]wfValue{}}
			if e := mapEntry(n, "id"); e != nil {
				st.id = scalar(e.value)
			}
			if with := mapValue(n, "with"); with != nil && with.Kind == yaml.MappingNode {
				for j := 0; j+1 < len(with.Content); j += 2 {
					// Input names are case-insensitive, as GitHub matches them.
					name := strings.ToLower(with.Content[j].Value)
					st.with[name] = wfValue{raw: scalar(deref(with.Content[j+1])), line: with.Content[j].Line}
				}
			}
			steps = append(steps, st)
		}
	}
	return steps, jobFound, nil
}

// workflowCalls lists the reusable workflows the jobs of a workflow file
// call (a job's `uses:`).
func workflowCalls(data []byte) []string {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return nil
	}
	jobs := mapValue(deref(doc.Content[0]), "jobs")
	if jobs == nil || jobs.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 1; i < len(jobs.Content); i += 2 {
		if u := mapValue(deref(jobs.Content[i]), "uses"); u != nil {
			out = append(out, scalar(u))
		}
	}
	return out
}

// deref follows aliases (a bounded number of times: a workflow is small,
// and a cycle must not loop).
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 8; i++ {
		n = n.Alias
	}
	return n
}

type kv struct{ key, value *yaml.Node }

func mapEntry(m *yaml.Node, key string) *kv {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return &kv{m.Content[i], deref(m.Content[i+1])}
		}
	}
	return nil
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if e := mapEntry(m, key); e != nil {
		return e.value
	}
	return nil
}

// scalar is a scalar's text ("" for null); other nodes, which GitHub
// would refuse as an input, read as their YAML tag so that they never
// equal a real value.
func scalar(n *yaml.Node) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode {
		return "<" + n.Tag + ">"
	}
	if n.Tag == "!!null" {
		return ""
	}
	return n.Value
}

// pickStep finds the running step among a job's steps that use this
// action: the one whose id is GITHUB_ACTION (or its first segment, which
// is the outer step's id inside a composite action), else the only one,
// else the first when they all set the same gate inputs. ok is false when
// the job has several that differ and none is identified.
func pickStep(steps []*wfStep, action string) (st *wfStep, ok bool) {
	outer, _, _ := strings.Cut(action, ".")
	for _, s := range steps {
		if s.id != "" && (s.id == action || s.id == outer) {
			return s, true
		}
	}
	switch len(steps) {
	case 0:
		return nil, true
	case 1:
		return steps[0], true
	}
	for _, s := range steps[1:] {
		for _, gi := range gateInputs {
			if !sameInput(gi.name, s.value(gi.name, gi.def).raw, steps[0].value(gi.name, gi.def).raw) {
				return nil, false
			}
		}
	}
	return steps[0], true
}

// exprContext finds the contexts an expression reads: a name followed by
// "." or "[" (function calls are followed by "(").
var exprContext = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_-]*)\s*[.\[]`)

// outsideFile reports whether every ${{ … }} of v reads only the vars and
// secrets contexts, whose values are set in the repository's settings and
// not in the workflow file a pull request can edit. String literals are
// left out; a doubled quote inside one escapes a quote and keeps it open.
func outsideFile(v string) bool {
	rest := v
	for {
		i := strings.Index(rest, "${{")
		if i < 0 {
			return true
		}
		rest = rest[i+3:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			return false
		}
		expr := stripLiterals(rest[:j])
		rest = rest[j+2:]
		for _, m := range exprContext.FindAllStringSubmatch(expr, -1) {
			if m[1] != "vars" && m[1] != "secrets" {
				return false
			}
		}
	}
}

// stripLiterals blanks the single-quoted strings of an expression.
func stripLiterals(expr string) string {
	var b strings.Builder
	in := false
	for _, r := range expr {
		if r == '\'' {
			in = !in // '' inside a literal toggles twice: still inside
			b.WriteRune(' ')
			continue
		}
		if in {
			b.WriteRune(' ')
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// gateQuery is what checkGate needs besides the files.
type gateQuery struct {
	File    string // the workflow file's path in the repository
	Job     string // GITHUB_JOB
	Action  string // GITHUB_ACTION
	Self    actionSelf
	Running ActionInputs
}

// checkGate decides the inputs of a pull request run from the workflow
// file at the base branch (base; nil when the file does not exist there)
// and as it runs (running; nil when unknown, used for the lines the
// findings point at and to tell an unchanged expression). See the table
// at the top of this file.
func checkGate(q gateQuery, base, running []byte) (ActionInputs, []report.Finding, error) {
	in := q.Running
	var runStep *wfStep
	if running != nil {
		if steps, _, err := wfSteps(running, q.Job, q.Self); err == nil {
			runStep, _ = pickStep(steps, q.Action)
		}
	}
	where := q.File
	if q.Job != "" {
		where += " (job " + q.Job + ")"
	}
	if base == nil {
		return withDefaults(q, runStep, fmt.Sprintf("the workflow %s is not on the base branch", q.File))
	}
	steps, jobFound, err := wfSteps(base, q.Job, q.Self)
	switch {
	case err != nil:
		first, _, _ := strings.Cut(err.Error(), "\n")
		return withDefaults(q, runStep, fmt.Sprintf("the workflow %s does not parse on the base branch (%s)", q.File, first))
	case !jobFound:
		why := fmt.Sprintf("the job %s of %s is not on the base branch", q.Job, q.File)
		if calls := workflowCalls(base); len(calls) > 0 {
			// GITHUB_WORKFLOW_REF names the caller, GITHUB_JOB the called
			// workflow's job: rbacguard does not follow the call.
			why += fmt.Sprintf(" (if rbacguard runs in a reusable workflow it calls — %s — its inputs are not read from there)", strings.Join(calls, ", "))
		}
		return withDefaults(q, runStep, why)
	}
	st, ok := pickStep(steps, q.Action)
	if !ok {
		var lines []string
		for _, s := range steps {
			lines = append(lines, fmt.Sprint(s.line))
		}
		return in, nil, fmt.Errorf("%s uses rbacguard in %d steps (lines %s) with different inputs, and none has the id %q of the running step: "+
			"give each of them an `id:` on the base branch so that rbacguard can check the running step's inputs against its own",
			where, len(steps), strings.Join(lines, ", "), q.Action)
	}
	if st == nil {
		return withDefaults(q, runStep, fmt.Sprintf("no step of %s uses rbacguard on the base branch", where))
	}

	unchanged := running != nil && bytes.Equal(base, running)
	var findings []report.Finding
	for _, gi := range gateInputs {
		name, field, def := gi.name, gi.field(&in), gi.def
		bv := st.value(name, def)
		loc := report.Location{Path: q.File, Line: bv.line}
		rawRun := ""
		if runStep != nil {
			rv := runStep.value(name, def)
			loc.Line, rawRun = rv.line, rv.raw
		}
		switch {
		case bv.expr() && runStep != nil && rawRun == bv.raw && (unchanged || outsideFile(bv.raw)):
			// The runner evaluated the base's own expression.
		case bv.expr():
			what := "and this pull request changes it to " + runningDesc(rawRun, *field)
			switch {
			case runStep == nil:
				what = "and the running copy of the step could not be read (here it runs as " + showValue(*field) + ")"
			case rawRun == bv.raw:
				what = "that reads what this pull request's copy of the workflow sets (here it runs as " + showValue(*field) + ")"
			}
			findings = append(findings, gateFinding(report.High, loc, name, fmt.Sprintf(
				"the base branch sets the rbacguard step's %s in %s to %q (line %d), an expression rbacguard cannot evaluate, %s: "+
					"this run used the action's default %s instead",
				name, where, bv.raw, bv.line, what, showValue(def))))
			*field = def
		case !sameInput(name, bv.raw, *field):
			findings = append(findings, gateFinding(report.High, loc, name, fmt.Sprintf(
				"this pull request changes the rbacguard step's %s in %s from %s (base branch, line %d) to %s: this run used the base branch's value",
				name, where, showValue(bv.raw), bv.line, showValue(*field))))
			*field = strings.TrimSpace(bv.raw)
		}
	}
	return in, findings, nil
}

// withDefaults is checkGate for a workflow, job or step the base branch
// does not have: the pull request's inputs are not trusted, the action's
// defaults apply, and a note says so.
func withDefaults(q gateQuery, runStep *wfStep, why string) (ActionInputs, []report.Finding, error) {
	in := q.Running
	var changed []string
	for _, gi := range gateInputs {
		name, field, def := gi.name, gi.field(&in), gi.def
		if !sameInput(name, *field, def) {
			changed = append(changed, fmt.Sprintf("%s %s", name, showValue(*field)))
		}
		*field = def
	}
	loc := report.Location{Path: q.File}
	if runStep != nil {
		loc.Line = runStep.line
	}
	sev, msg := report.Info, why+": this run used the action's defaults, which its inputs are anyway"
	if len(changed) > 0 {
		sev = report.Low
		msg = fmt.Sprintf("%s: this run used the action's defaults instead of the inputs this pull request gives it (%s); they take effect after merge",
			why, strings.Join(changed, ", "))
	}
	f := gateFinding(sev, loc, "", msg)
	f.Risk = "the workflow that runs rbacguard comes from the pull request on pull_request events, so rbacguard takes its inputs from the base branch only; " +
		"keep the gate in the policy file (failOn, overlays), which is read from the base whatever the workflow says"
	return in, []report.Finding{f}, nil
}

// gateFinding is a policy.change finding about one input of the step
// (input "" for the step as a whole).
func gateFinding(sev report.Severity, loc report.Location, input, msg string) report.Finding {
	return report.Finding{
		ID:       report.ID(report.PolicyChange, "", loc.Path, "with", input),
		Kind:     report.PolicyChange,
		Severity: sev,
		Location: loc,
		Message:  msg,
		Risk: "on pull_request the workflow comes from the pull request itself, so rbacguard takes the inputs that set its gate from the base branch's copy: " +
			"this change takes effect only after merge; review it on its own",
	}
}

// runningDesc shows a running value and, when it came from an
// expression, the expression too.
func runningDesc(raw, value string) string {
	if raw != "" && raw != value {
		return fmt.Sprintf("%q (runs as %s)", raw, showValue(value))
	}
	return showValue(value)
}

func showValue(v string) string {
	if v = strings.TrimSpace(v); v == "" {
		return "(empty)"
	}
	return fmt.Sprintf("%q", v)
}

// baseInputs applies to p, on a pull request, the gate inputs the base
// branch's copy of the running workflow gives the step (checkGate), and
// returns the findings to add to the report. Scans are not gated by a
// pull request, so nothing changes for them.
func (a *Action) baseInputs(ctx context.Context, g *gitRunner, p *actionPlan, log *slog.Logger) ([]report.Finding, error) {
	if p.scan {
		return nil, nil
	}
	e := a.Env
	if e.WorkflowRef == "" {
		// Not GitHub's runner (which always sets it): the inputs' origin is
		// unknown, so, as for a workflow the base lacks, the defaults apply.
		in := e.Inputs
		for _, gi := range gateInputs {
			*gi.field(&in) = gi.def
		}
		if err := p.setInputs(in); err != nil {
			return nil, err
		}
		return []report.Finding{{
			ID:       report.ID(report.PolicyChange, "", "GITHUB_WORKFLOW_REF"),
			Kind:     report.PolicyChange,
			Severity: report.Medium,
			Message: "GITHUB_WORKFLOW_REF is not set, so rbacguard could not find its step in the base branch's workflow: " +
				"this run used the action's defaults for fail-on, paths, config, comment-mode and base-ref",
			Risk: "on pull_request the workflow comes from the pull request, which could have loosened the step's inputs",
		}}, nil
	}
	repo, file, err := ParseWorkflowRef(e.WorkflowRef)
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(repo, p.owner+"/"+p.repo) {
		// Another repository's workflow (an organisation's required
		// workflow): the pull request cannot edit it.
		log.Info("the workflow lives in another repository; its inputs are used as given", "workflow", e.WorkflowRef)
		return nil, nil
	}
	pr := p.event.PR
	if strings.EqualFold(e.WorkflowSHA, pr.BaseSHA) {
		// pull_request_target: the runner read the base branch's own file.
		return nil, nil
	}
	if err := g.ensure(ctx, pr.BaseSHA, pr.HeadSHA); err != nil {
		return nil, err
	}
	base, found, err := g.readFile(ctx, pr.BaseSHA, file, maxWorkflowBytes)
	if err != nil {
		return nil, fmt.Errorf("the base branch's workflow: %w", err)
	}
	if found && base == nil {
		base = []byte{} // empty, not absent
	}
	// The running copy gives the lines findings point at and tells an
	// unchanged expression from an edited one: the commit the runner read
	// it from when the checkout has it (the merge commit), else the head.
	runRev := p.event.PR.HeadSHA
	switch {
	case IsSHA(e.WorkflowSHA) && g.hasCommit(ctx, e.WorkflowSHA):
		runRev = e.WorkflowSHA
	case p.event.Name == "pull_request_target":
		runRev = pr.BaseSHA
	}
	running, _, err := g.readFile(ctx, runRev, file, maxWorkflowBytes)
	if err != nil {
		log.Warn("cannot read the running workflow; findings point at the base branch's lines", "err", err)
		running = nil
	}
	in, findings, err := checkGate(gateQuery{File: file, Job: e.Job, Action: e.ActionID, Self: newActionSelf(e), Running: e.Inputs}, base, running)
	if err != nil {
		return nil, err
	}
	p.inputsFrom = " (from the base branch's " + file + ")"
	if in != e.Inputs {
		log.Warn("the pull request's workflow gives rbacguard other inputs than the base branch's; the base's apply", "workflow", file)
		if err := p.setInputs(in); err != nil {
			return nil, fmt.Errorf("the step in the base branch's %s: %w", file, err)
		}
	}
	return findings, nil
}
