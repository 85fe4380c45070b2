package bot

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v62/github"

	"github.com/rbacguard/rbacguard/checks"
	"github.com/rbacguard/rbacguard/diff"
	"github.com/rbacguard/rbacguard/diff/glob"
	"github.com/rbacguard/rbacguard/diff/remote"
	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/source"
)

// ActionEnv is everything the Action reads from its process environment,
// read in one place (ReadActionEnv) so that tests inject it.
type ActionEnv struct {
	EventName   string // GITHUB_EVENT_NAME
	EventPath   string // GITHUB_EVENT_PATH
	Repository  string // GITHUB_REPOSITORY, owner/name
	SHA         string // GITHUB_SHA (a merge commit on pull_request: not used there)
	StepSummary string // GITHUB_STEP_SUMMARY
	OutputFile  string // GITHUB_OUTPUT
	APIURL      string // GITHUB_API_URL
	ServerURL   string // GITHUB_SERVER_URL
	Workspace   string // GITHUB_WORKSPACE
	RunID       string // GITHUB_RUN_ID
	RunnerTemp  string // RUNNER_TEMP
	// The running workflow and step, to find the step in the base
	// branch's copy of the workflow (see workflow.go).
	WorkflowRef      string // GITHUB_WORKFLOW_REF: owner/repo/.github/workflows/x.yml@ref
	WorkflowSHA      string // GITHUB_WORKFLOW_SHA: the commit the workflow file was read from
	Job              string // GITHUB_JOB: the job's id
	ActionID         string // GITHUB_ACTION: the step's id, or a generated name
	ActionPath       string // GITHUB_ACTION_PATH: the action's directory
	ActionRepository string // GITHUB_ACTION_REPOSITORY: empty in composite actions
	Inputs           ActionInputs
}

// ActionInputs are the inputs of action.yml.
type ActionInputs struct {
	Token       string // github-token
	Paths       string // paths: overlay globs, comma or newline separated
	Config      string // config: policy file, read from the base tree
	FailOn      string // fail-on
	CommentMode string // comment-mode
	BaseRef     string // base-ref: overrides the pull request's merge base
	CheckName   string // check-name
	AuditLog    string // audit-log: API server audit log files, comma or newline separated
}

// ReadActionEnv reads the Actions environment through getenv. Inputs are
// read as the runner names them (INPUT_GITHUB-TOKEN, hyphen kept) and, for
// a composite action's env block, with an underscore (INPUT_GITHUB_TOKEN).
func ReadActionEnv(getenv func(string) string) ActionEnv {
	input := func(name string) string {
		up := strings.ToUpper(name)
		v := getenv("INPUT_" + up)
		if v == "" {
			v = getenv("INPUT_" + strings.ReplaceAll(up, "-", "_"))
		}
		return strings.TrimSpace(v)
	}
	return ActionEnv{
		EventName:   getenv("GITHUB_EVENT_NAME"),
		EventPath:   getenv("GITHUB_EVENT_PATH"),
		Repository:  getenv("GITHUB_REPOSITORY"),
		SHA:         getenv("GITHUB_SHA"),
		StepSummary: getenv("GITHUB_STEP_SUMMARY"),
		OutputFile:  getenv("GITHUB_OUTPUT"),
		APIURL:      getenv("GITHUB_API_URL"),
		ServerURL:   getenv("GITHUB_SERVER_URL"),
		Workspace:   getenv("GITHUB_WORKSPACE"),
		RunID:       getenv("GITHUB_RUN_ID"),
		RunnerTemp:  getenv("RUNNER_TEMP"),

		WorkflowRef:      getenv("GITHUB_WORKFLOW_REF"),
		WorkflowSHA:      getenv("GITHUB_WORKFLOW_SHA"),
		Job:              getenv("GITHUB_JOB"),
		ActionID:         getenv("GITHUB_ACTION"),
		ActionPath:       getenv("GITHUB_ACTION_PATH"),
		ActionRepository: getenv("GITHUB_ACTION_REPOSITORY"),
		Inputs: ActionInputs{
			Token:       input("github-token"),
			Paths:       input("paths"),
			Config:      input("config"),
			FailOn:      input("fail-on"),
			CommentMode: input("comment-mode"),
			BaseRef:     input("base-ref"),
			CheckName:   input("check-name"),
			AuditLog:    input("audit-log"),
		},
	}
}

// DefaultCheckName is the check run's name when the input sets none.
const DefaultCheckName = "rbacguard"

// Action is one run of `rbacguard action`.
type Action struct {
	Env     ActionEnv
	Stdout  io.Writer    // workflow commands
	Log     *slog.Logger // nil = discard
	Version string
	// HTTPClient talks to the API; nil: a client with NewRetryTransport
	// over http.DefaultTransport.
	HTTPClient *http.Client
}

// ActionResult is what a run produced besides the report.
type ActionResult struct {
	Report     *report.Report
	ReportPath string
	SARIFPath  string
	// AdmissionPath is the policy file's admission checks
	// (rbacguard export admission), beside the report.
	AdmissionPath string
	Increases     int
	Publish       Result
	// Degraded is set when the token could not write the check run: the
	// findings went to workflow commands and the job summary only.
	Degraded bool
}

// actionPlan is the run's parsed configuration.
type actionPlan struct {
	// policyTree is the tree the run read its policy file from (the base
	// of a pull request, the head of a scan), set by analyse.
	policyTree  source.Tree
	owner, repo string
	event       *Event
	opts        diff.Options
	commentMode string
	checkName   string
	scan        bool
	baseRef     string // the base-ref input
	// inputsFrom names where the inputs came from when not the running
	// step (" (from the base branch's .github/workflows/x.yml)"), for errors.
	inputsFrom string
	base, head string // SHAs; base empty for a scan
}

// Run analyses the event's commits and publishes the result. The step's
// exit code is the caller's: 1 when the verdict fails, 0 otherwise, and 2
// for any returned error (bad input, unreadable repository). A lack of
// permission to write checks or comments is not an error: it degrades to
// workflow commands and the job summary.
func (a *Action) Run(ctx context.Context) (*ActionResult, error) {
	log := a.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if a.Stdout == nil {
		a.Stdout = io.Discard
	}
	p, err := a.parse()
	if err != nil {
		return nil, err
	}
	log = log.With("repo", p.owner+"/"+p.repo, "event", p.event.Name)
	dir := cmp.Or(a.Env.Workspace, ".")
	g := &gitRunner{dir: dir}

	// On a pull request the base branch's workflow sets the gate; this
	// may change p's inputs, base-ref included, so it comes first.
	gate, err := a.baseInputs(ctx, g, p, log)
	if err != nil {
		return nil, err
	}

	// Resolve the commits before anything is posted: a shallow checkout is
	// a workflow error to fix, not a check run to leave behind.
	if err := a.resolveCommits(ctx, g, p); err != nil {
		return nil, err
	}

	var pub *Publisher
	target := Target{Owner: p.owner, Repo: p.repo, HeadSHA: p.head, CheckName: p.checkName, DetailsURL: a.detailsURL(p)}
	if !p.scan {
		target.PR = p.event.PR.Number
	}
	res := &ActionResult{}
	var runID int64
	degradedWhy := ""
	if a.Env.Inputs.Token == "" {
		degradedWhy = "no github-token was given"
	} else {
		client, err := a.client()
		if err != nil {
			return nil, err
		}
		// Any bot account's comment carrying our marker is ours: the
		// workflow token writes as github-actions[bot], an App token given
		// as github-token as that App's bot.
		pub = &Publisher{Client: client, Log: log}
		runID, err = pub.Start(ctx, target)
		if err != nil {
			degradedWhy = "the token may not create check runs here"
			if !IsPermissionError(err) {
				degradedWhy = "creating the check run failed"
			}
			log.Warn("no check run; falling back to workflow commands", "err", err)
			runID = 0
		}
	}

	r, err := a.analyse(ctx, g, p)
	if err != nil {
		if runID != 0 {
			failRun(ctx, log, pub, target, runID, err)
		}
		return nil, err
	}
	if len(gate) > 0 {
		r.Findings = append(r.Findings, gate...)
		r.Finish(r.FailOn)
	}
	res.Report = r
	res.Increases = countIncreases(r)
	if res.ReportPath, res.SARIFPath, err = a.writeFiles(r); err != nil {
		if runID != 0 {
			failRun(ctx, log, pub, target, runID, err)
		}
		return nil, err
	}
	if res.AdmissionPath, err = a.writeAdmission(filepath.Dir(res.ReportPath), p, log); err != nil {
		if runID != 0 {
			failRun(ctx, log, pub, target, runID, err)
		}
		return nil, err
	}

	if runID != 0 {
		mode := p.commentMode
		var patches map[string]string
		if mode == CommentReview && target.PR != 0 {
			patches, err = PullRequestFiles(ctx, pub.Client, p.owner, p.repo, target.PR)
			if err != nil {
				// Without the patches every comment would look off the
				// diff, and the plan would resolve them all.
				log.Warn("cannot list the pull request's files; no review comments this run", "err", err)
				mode = CommentAnnotations
			}
		}
		res.Publish, err = pub.Publish(ctx, target, runID, r, patches, PublishOptions{CommentMode: mode, Version: a.Version})
		if err != nil {
			log.Warn("publishing the check run failed; falling back to workflow commands", "err", err)
			failRun(ctx, log, pub, target, runID, err)
			degradedWhy = "writing the check run failed"
			if IsPermissionError(err) {
				degradedWhy = "the token may not write check runs here"
			}
		}
	}
	res.Degraded = degradedWhy != ""

	// Workflow commands attach to this job, whatever suite the check run
	// landed in: always for a scan, and whenever the API refused us.
	commands := p.scan || res.Degraded || res.Publish.Fallback && res.Publish.PermissionDenied
	if commands {
		anns := checks.CheckRun(r, p.checkName, checks.DefaultLimits()).Annotations
		if _, err := WriteWorkflowCommands(a.Stdout, anns, 0); err != nil {
			return nil, err
		}
	}
	if err := a.writeSummary(r, res, degradedWhy); err != nil {
		return nil, err
	}
	if err := a.writeOutputs(res); err != nil {
		return nil, err
	}
	log.Info("done", "verdict", r.Verdict, "increases", res.Increases, "degraded", res.Degraded)
	return res, nil
}

// failRun completes the check run without a verdict — failure, timed_out
// or cancelled (Publisher.Fail), never neutral, which would pass a
// required check — even when ctx has ended (a cancelled job), so that it
// is never left in progress. The Action's exit code fails too.
func failRun(ctx context.Context, log *slog.Logger, pub *Publisher, t Target, runID int64, cause error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := pub.Fail(ctx, t, runID, cause); err != nil {
		log.Error("could not mark the check run as failed", "err", err)
	}
}

// parse validates the environment and inputs.
func (a *Action) parse() (*actionPlan, error) {
	e := a.Env
	if e.EventName == "" {
		return nil, fmt.Errorf("GITHUB_EVENT_NAME is not set: `rbacguard action` runs inside GitHub Actions (use `rbacguard diff` or `scan` elsewhere)")
	}
	var data []byte
	if e.EventPath != "" {
		var err error
		if data, err = os.ReadFile(e.EventPath); err != nil {
			return nil, fmt.Errorf("read event payload: %w", err)
		}
	}
	ev, err := ParseEvent(e.EventName, data)
	if err != nil {
		return nil, err
	}
	full := cmp.Or(e.Repository, ev.Repo)
	owner, repo, ok := strings.Cut(full, "/")
	if !ok || owner == "" || repo == "" || strings.Contains(repo, "/") {
		return nil, fmt.Errorf("GITHUB_REPOSITORY %q is not owner/name", full)
	}
	p := &actionPlan{owner: owner, repo: repo, event: ev, scan: IsScan(ev.Name)}
	if err := p.setInputs(e.Inputs); err != nil {
		return nil, err
	}
	if e.Inputs.Token != "" && strings.TrimSuffix(cmp.Or(e.APIURL, "https://api.github.com"), "/") == "https://api.github.com" {
		// github.com's token raises the API's rate limit for resolving
		// the refs of remote bases; a GHES token never goes to github.com.
		p.opts.Render.Remote.Tokens = map[string]string{"github.com": e.Inputs.Token}
	}
	return p, nil
}

// ActionRemoteAllow are the hosts the Action fetches remote bases from
// when the policy has no remote.allow.
var ActionRemoteAllow = []string{"github.com", "gitlab.com"}

// setInputs validates the inputs that configure the run and sets them on
// p, replacing what an earlier call set.
func (p *actionPlan) setInputs(in ActionInputs) error {
	var err error
	p.opts = diff.DefaultOptions()
	if p.scan {
		// A scan reports what exists: only the worst blocks by default.
		p.opts.FailOn = report.Critical
	}
	if in.FailOn != "" {
		if p.opts.FailOn, err = report.ParseSeverity(in.FailOn); err != nil {
			return fmt.Errorf("input fail-on: %w", err)
		}
	}
	if p.commentMode, err = ParseCommentMode(in.CommentMode); err != nil {
		return fmt.Errorf("input comment-mode: %w", err)
	}
	p.checkName = cmp.Or(in.CheckName, DefaultCheckName)
	sel, err := PathsSelection(in.Paths)
	if err != nil {
		return fmt.Errorf("input paths: %w", err)
	}
	if sel != nil {
		p.opts.Render.Selections = append(p.opts.Render.Selections, *sel)
	}
	p.opts.PolicyPath = in.Config
	// The Action runs on a hosted runner outside any private network:
	// public bases on github.com and gitlab.com are fetched unless the
	// policy's remote.allow says otherwise (the App allows none).
	p.opts.Render.Remote.Allow = slices.Clone(ActionRemoteAllow)
	p.opts.Render.Remote.CacheDir = remote.DefaultCacheDir()
	p.opts.AuditLogs = strings.FieldsFunc(in.AuditLog, func(r rune) bool { return r == ',' || r == '\n' })
	p.baseRef = in.BaseRef
	return nil
}

// resolveCommits fills p.base and p.head with the SHAs to read, fetching
// once from origin what a shallow checkout lacks.
func (a *Action) resolveCommits(ctx context.Context, g *gitRunner, p *actionPlan) error {
	if p.scan {
		sha := a.Env.SHA
		if sha == "" {
			var err error
			if sha, err = source.ResolveRev(ctx, g.dir, "HEAD"); err != nil {
				return fmt.Errorf("GITHUB_SHA is not set and HEAD does not resolve: %w", err)
			}
		}
		if !IsSHA(sha) {
			return fmt.Errorf("GITHUB_SHA %q is not a commit SHA", sha)
		}
		p.head = sha
		return g.ensure(ctx, sha)
	}
	pr := p.event.PR
	p.head = pr.HeadSHA
	if ref := p.baseRef; ref != "" {
		if err := g.ensure(ctx, pr.HeadSHA); err != nil {
			return err
		}
		sha, err := source.ResolveRev(ctx, g.dir, ref)
		if err != nil {
			return fmt.Errorf("input base-ref%s: %w", p.inputsFrom, err)
		}
		p.base = sha
		return nil
	}
	if err := g.ensure(ctx, pr.BaseSHA, pr.HeadSHA); err != nil {
		return err
	}
	mb, err := g.mergeBase(ctx, pr.BaseSHA, pr.HeadSHA)
	if err != nil {
		return err
	}
	p.base = mb
	return nil
}

// analyse reads the trees from git objects and runs the pipeline.
func (a *Action) analyse(ctx context.Context, g *gitRunner, p *actionPlan) (*report.Report, error) {
	lim := source.DefaultLimits()
	head, err := source.GitRev(ctx, g.dir, p.head, lim)
	if err != nil {
		return nil, fmt.Errorf("read head %s: %w", report.ShortRev(p.head), err)
	}
	if p.scan {
		p.policyTree = head
		return diff.Scan(ctx, head, p.opts)
	}
	base, err := source.GitRev(ctx, g.dir, p.base, lim)
	if err != nil {
		return nil, fmt.Errorf("read base %s: %w", report.ShortRev(p.base), err)
	}
	p.policyTree = base
	return diff.Run(ctx, base, head, p.opts)
}

func (a *Action) client() (*github.Client, error) {
	hc := a.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: NewRetryTransport(http.DefaultTransport, RetryOptions{}), Timeout: 2 * time.Minute}
	}
	c := github.NewClient(hc).WithAuthToken(a.Env.Inputs.Token)
	c.UserAgent = UserAgent(a.Version)
	if api := a.Env.APIURL; api != "" {
		u, err := url.Parse(strings.TrimSuffix(api, "/") + "/")
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, fmt.Errorf("GITHUB_API_URL %q is not a URL", api)
		}
		c.BaseURL, c.UploadURL = u, u
	}
	return c, nil
}

func (a *Action) detailsURL(p *actionPlan) string {
	if a.Env.ServerURL == "" || a.Env.RunID == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/%s/actions/runs/%s", strings.TrimSuffix(a.Env.ServerURL, "/"), p.owner, p.repo, url.PathEscape(a.Env.RunID))
}

// writeFiles writes the JSON report and the SARIF log under RUNNER_TEMP
// (or a new temporary directory).
func (a *Action) writeFiles(r *report.Report) (jsonPath, sarifPath string, err error) {
	dir := ""
	if a.Env.RunnerTemp != "" {
		dir = filepath.Join(a.Env.RunnerTemp, "rbacguard")
		err = os.MkdirAll(dir, 0o755)
	} else {
		dir, err = os.MkdirTemp("", "rbacguard-")
	}
	if err != nil {
		return "", "", fmt.Errorf("create report directory: %w", err)
	}
	var js, sf bytes.Buffer
	if err := checks.WriteJSON(&js, r); err != nil {
		return "", "", err
	}
	if err := checks.WriteSARIF(&sf, r, checks.SARIFOptions{Version: a.Version}); err != nil {
		return "", "", err
	}
	jsonPath, sarifPath = filepath.Join(dir, "report.json"), filepath.Join(dir, "report.sarif")
	if err := os.WriteFile(jsonPath, js.Bytes(), 0o644); err != nil {
		return "", "", fmt.Errorf("write JSON report: %w", err)
	}
	if err := os.WriteFile(sarifPath, sf.Bytes(), 0o644); err != nil {
		return "", "", fmt.Errorf("write SARIF report: %w", err)
	}
	return jsonPath, sarifPath, nil
}

// writeAdmission writes the run's policy's admission checks to
// admission.yaml in dir, beside the report.
func (a *Action) writeAdmission(dir string, p *actionPlan, log *slog.Logger) (string, error) {
	pol, err := diff.PolicyOf(p.policyTree, p.opts)
	if err != nil {
		return "", err
	}
	now := time.Now()
	path := filepath.Join(dir, "admission.yaml")
	notes, err := WriteAdmission(path, pol, now, AdmissionHeader(a.Version, pol, now))
	for _, n := range notes {
		log.Warn("admission export: " + n)
	}
	return path, err
}

// writeSummary appends the Markdown report to GITHUB_STEP_SUMMARY, under
// 1 MiB, with a note when the findings could not be published as usual.
func (a *Action) writeSummary(r *report.Report, res *ActionResult, degradedWhy string) error {
	if a.Env.StepSummary == "" {
		return nil
	}
	var b strings.Builder
	if degradedWhy != "" {
		fmt.Fprintf(&b, "> [!NOTE]\n> No check run or review comments were written: %s. "+
			"This is expected on a pull request from a fork, whose workflow token is read-only; "+
			"the findings are shown below and as annotations on this job, and this step's exit code is the gate. "+
			"To get the check run on fork pull requests, run rbacguard on `pull_request_target` (see the README).\n\n", degradedWhy)
	} else if res.Publish.Fallback {
		fmt.Fprintf(&b, "> [!NOTE]\n> %s\n\n", "Review comments could not be posted ("+res.Publish.FallbackReason+"); the findings are shown below and as annotations.")
	}
	if err := checks.WriteMarkdown(&b, r); err != nil {
		return err
	}
	f, err := os.OpenFile(a.Env.StepSummary, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open step summary: %w", err)
	}
	if _, err := io.WriteString(f, CapSummary(b.String(), MaxStepSummaryBytes)); err != nil {
		f.Close()
		return fmt.Errorf("write step summary: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write step summary: %w", err)
	}
	return nil
}

func (a *Action) writeOutputs(res *ActionResult) error {
	if a.Env.OutputFile == "" {
		return nil
	}
	f, err := os.OpenFile(a.Env.OutputFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("open step outputs: %w", err)
	}
	err = WriteOutputs(f, []Output{
		{"verdict", string(res.Report.Verdict)},
		{"increases", fmt.Sprint(res.Increases)},
		{"report", res.ReportPath},
		{"sarif", res.SARIFPath},
		{"admission", res.AdmissionPath},
	})
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write step outputs: %w", cerr)
	}
	return err
}

// countIncreases counts the privilege increases not exempted: the kinds
// the check run's and job summary's title counts (checks.IsIncrease), so
// that the output and the headline agree.
func countIncreases(r *report.Report) int {
	n := 0
	for _, f := range r.Findings {
		if checks.IsIncrease(f.Kind) && f.Exemption == nil {
			n++
		}
	}
	return n
}

// PathsSelection turns the paths input — globs separated by commas or
// newlines — into a render.Selection. Each glob matches an overlay's path
// (e.g. "overlays/prod") with path.Match per segment, and a "**" segment
// matches any number of segments ("overlays/**", "**/prod"). An empty
// input selects every overlay (nil); a glob that matches no overlay fails
// the run (a typo must not check nothing and pass).
func PathsSelection(spec string) (*render.Selection, error) {
	globs := splitGlobs(spec)
	for _, g := range globs {
		if err := glob.ValidPath(g); err != nil {
			return nil, err
		}
	}
	if len(globs) == 0 {
		return nil, nil
	}
	return &render.Selection{From: "the paths input", Include: globs}, nil
}
