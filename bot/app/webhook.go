package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/google/go-github/v62/github"
)

// maxSuitePRs bounds the jobs one check_suite delivery may start.
const maxSuitePRs = 20

// reply is the body of every /webhook answer: short, never echoing input.
type reply struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	Jobs   int    `json:"jobs,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// webhook verifies, parses and queues one delivery. Nothing is read, parsed
// or logged from a delivery before its signature is verified. It answers
// at once: 202 once the work is queued (or ignored), 401 for a missing or
// wrong signature, 413 for a body over the limit, 503 when the queue stays
// full or the server is shutting down (GitHub then shows a failed delivery
// that can be redelivered).
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	// The event name is only a metric label until the body is verified;
	// bound its cardinality.
	event := github.WebHookType(r)
	label := eventLabel(event)
	count := func(outcome string) { s.m.deliveries.WithLabelValues(label, outcome).Inc() }

	if r.Header.Get(github.SHA256SignatureHeader) == "" {
		count(outcomeUnsigned)
		writeJSON(w, http.StatusUnauthorized, reply{Status: "refused", Reason: "missing X-Hub-Signature-256"})
		return
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (ct != "application/json" && ct != "application/x-www-form-urlencoded") {
		count(outcomeBadRequest)
		writeJSON(w, http.StatusUnsupportedMediaType, reply{Status: "refused", Reason: "content type must be application/json"})
		return
	}
	// A body is buffered before its signature can be checked, so reads are
	// bounded: at most MaxConcurrentReads bodies (each ≤ MaxBodyBytes) are
	// in memory at once, whoever sends them. Others wait up to 5 s (GitHub
	// allows 10 s for the whole delivery), then get 503; a delivery lost so
	// is found by the sweep.
	if !s.acquireRead(r.Context()) {
		count(outcomeBusy)
		w.Header().Set("Retry-After", "5")
		writeJSON(w, http.StatusServiceUnavailable, reply{Status: "refused", Reason: "too many deliveries being read"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
	var payload []byte
	if ct == "application/json" {
		payload, err = s.readSigned(r)
	} else {
		payload, err = github.ValidatePayload(r, s.cfg.WebhookSecret)
	}
	s.releaseRead()
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			count(outcomeTooLarge)
			writeJSON(w, http.StatusRequestEntityTooLarge, reply{Status: "refused", Reason: fmt.Sprintf("body over %d bytes", s.cfg.MaxBodyBytes)})
			return
		}
		count(outcomeBadSignature)
		writeJSON(w, http.StatusUnauthorized, reply{Status: "refused", Reason: "signature does not match"})
		return
	}

	delivery := github.DeliveryID(r)
	log := s.log.With("delivery_id", delivery, "event", event)
	if event == "ping" {
		count(outcomePing)
		log.Info("ping")
		writeJSON(w, http.StatusOK, reply{Status: "pong"})
		return
	}
	if s.q.seen(delivery) {
		count(outcomeDuplicate)
		log.Info("duplicate delivery ignored")
		writeJSON(w, http.StatusAccepted, reply{Status: "duplicate"})
		return
	}
	jobs, reason, err := s.jobsFor(event, payload)
	if err != nil {
		count(outcomeBadRequest)
		log.Warn("unreadable delivery", "err", err)
		writeJSON(w, http.StatusBadRequest, reply{Status: "refused", Reason: "payload is not a valid " + label + " event"})
		return
	}
	if len(jobs) == 0 {
		count(outcomeIgnored)
		log.Debug("delivery ignored", "reason", reason)
		writeJSON(w, http.StatusAccepted, reply{Status: "ignored", Reason: reason})
		return
	}

	accepted, outcome := 0, outcomeDuplicate
	for _, j := range jobs {
		j.delivery = delivery
		switch o := s.q.offer(r.Context(), j, s.cfg.EnqueueWait); o {
		case outcomeAccepted:
			accepted++
			outcome = o
			s.announce(j)
			log.Info("queued", "repo", j.owner+"/"+j.repo, "pr", j.pr, "head", sha7(j.headSHA), "installation_id", j.installation)
		case outcomeQueueFull, outcomeShuttingDown, outcomeStale:
			if accepted == 0 {
				outcome = o
			}
		}
	}
	count(outcome)
	switch outcome {
	case outcomeAccepted:
		s.q.remember(delivery)
		writeJSON(w, http.StatusAccepted, reply{Status: "accepted", Jobs: accepted})
	case outcomeDuplicate, outcomeStale:
		writeJSON(w, http.StatusAccepted, reply{Status: outcome})
	default:
		log.Warn("delivery refused", "reason", outcome)
		w.Header().Set("Retry-After", "30")
		writeJSON(w, http.StatusServiceUnavailable, reply{Status: "refused", Reason: outcome})
	}
}

// readSigned reads a JSON body into one buffer sized from Content-Length
// (io.ReadAll would leave a trail of doubled buffers for the collector)
// and verifies its signature.
func (s *Server) readSigned(r *http.Request) ([]byte, error) {
	var body []byte
	if r.ContentLength >= 0 && r.ContentLength <= s.cfg.MaxBodyBytes {
		buf := make([]byte, r.ContentLength+1) // +1: the read that sees EOF
		n, err := io.ReadFull(r.Body, buf)
		if err != io.ErrUnexpectedEOF && err != io.EOF {
			if err == nil {
				err = errors.New("body longer than its Content-Length")
			}
			return nil, err
		}
		body = buf[:n]
	} else {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return nil, err
		}
	}
	if err := github.ValidateSignature(r.Header.Get(github.SHA256SignatureHeader), body, s.cfg.WebhookSecret); err != nil {
		return nil, err
	}
	return body, nil
}

// acquireRead takes one of the body-read slots, waiting up to EnqueueWait.
func (s *Server) acquireRead(ctx context.Context) bool {
	select {
	case s.reads <- struct{}{}:
		s.m.readsWait.Inc()
		return true
	default:
	}
	// GitHub gives a delivery 10 s; a body waits up to half of that.
	wait := max(s.cfg.EnqueueWait, 5*time.Second)
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case s.reads <- struct{}{}:
		s.m.readsWait.Inc()
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

func (s *Server) releaseRead() {
	s.m.readsWait.Dec()
	<-s.reads
}

// eventLabel keeps the metric label set small and free of client input.
func eventLabel(event string) string {
	switch event {
	case "pull_request", "check_suite", "check_run", "installation", "installation_repositories", "ping":
		return event
	}
	return "other"
}

// jobsFor turns a verified delivery into jobs. No jobs and a reason means
// the event is not one rbacguard acts on.
func (s *Server) jobsFor(event string, payload []byte) ([]*job, string, error) {
	switch event {
	case "pull_request", "check_suite", "check_run", "installation", "installation_repositories":
	default:
		// The reason never quotes the event name: replies echo no input.
		return nil, "event not handled", nil
	}
	parsed, err := github.ParseWebHook(event, payload)
	if err != nil {
		return nil, "", err
	}
	switch e := parsed.(type) {
	case *github.PullRequestEvent:
		return s.pullRequestJobs(e)
	case *github.CheckSuiteEvent:
		return s.checkSuiteJobs(e)
	case *github.CheckRunEvent:
		return s.checkRunJobs(e)
	case *github.InstallationEvent:
		s.log.Info("installation", "action", e.GetAction(), "installation_id", e.GetInstallation().GetID(),
			"account", e.GetInstallation().GetAccount().GetLogin(), "repositories", len(e.Repositories))
		return nil, "installation logged", nil
	case *github.InstallationRepositoriesEvent:
		s.log.Info("installation repositories", "action", e.GetAction(), "installation_id", e.GetInstallation().GetID(),
			"added", len(e.RepositoriesAdded), "removed", len(e.RepositoriesRemoved))
		return nil, "installation logged", nil
	}
	return nil, "event not handled", nil
}

func (s *Server) pullRequestJobs(e *github.PullRequestEvent) ([]*job, string, error) {
	action := e.GetAction()
	rerun := false
	switch action {
	case "opened", "synchronize", "reopened", "ready_for_review":
	case "edited":
		if e.GetChanges().GetBase() == nil {
			return nil, "pull request edited without a base change", nil
		}
		rerun = true // same head, new base: the answer changes
	default:
		return nil, "pull_request action not handled", nil
	}
	pr := e.GetPullRequest()
	if pr.GetState() == "closed" {
		return nil, "pull request is closed", nil
	}
	j, err := s.newJob("pull_request."+action, e.GetInstallation(), e.GetRepo(), pr.GetNumber(), pr.GetHead().GetSHA())
	if err != nil {
		return nil, "", err
	}
	j.baseSHA, j.rerun, j.push, j.at = pr.GetBase().GetSHA(), rerun, true, pr.GetUpdatedAt().Time
	return []*job{j}, "", nil
}

func (s *Server) checkSuiteJobs(e *github.CheckSuiteEvent) ([]*job, string, error) {
	action := e.GetAction()
	if action != "requested" && action != "rerequested" {
		return nil, "check_suite action not handled", nil
	}
	suite := e.GetCheckSuite()
	if id := suite.GetApp().GetID(); id != 0 && id != s.cfg.AppID {
		return nil, "check suite of another app", nil
	}
	var jobs []*job
	for _, pr := range suite.PullRequests {
		if len(jobs) == maxSuitePRs {
			break
		}
		j, err := s.newJob("check_suite."+action, e.GetInstallation(), e.GetRepo(), pr.GetNumber(), suite.GetHeadSHA())
		if err != nil {
			return nil, "", err
		}
		j.rerun = action == "rerequested"
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		// Pushes to forks and to branches without a pull request: the
		// pull_request events drive those.
		return nil, "check suite has no pull request", nil
	}
	return jobs, "", nil
}

func (s *Server) checkRunJobs(e *github.CheckRunEvent) ([]*job, string, error) {
	if e.GetAction() != "rerequested" {
		return nil, "check_run action not handled", nil
	}
	run := e.GetCheckRun()
	if run.GetName() != s.cfg.CheckName || (run.GetApp().GetID() != 0 && run.GetApp().GetID() != s.cfg.AppID) {
		return nil, "check run is not ours", nil
	}
	// The pull request number is in external_id (before a lease, see
	// lease.go): check_run.pull_requests is empty for forks.
	l, ok := parseLease(run.GetExternalID())
	n := l.pr
	if !ok {
		if len(run.PullRequests) == 0 {
			return nil, "check run names no pull request", nil
		}
		n = run.PullRequests[0].GetNumber()
	}
	j, err := s.newJob("check_run.rerequested", e.GetInstallation(), e.GetRepo(), n, run.GetHeadSHA())
	if err != nil {
		return nil, "", err
	}
	j.rerun = true
	return []*job{j}, "", nil
}

func (s *Server) newJob(event string, inst *github.Installation, repo *github.Repository, pr int, head string) (*job, error) {
	switch {
	case inst.GetID() <= 0:
		return nil, errors.New("no installation in the payload")
	case repo.GetOwner().GetLogin() == "" || repo.GetName() == "":
		return nil, errors.New("no repository in the payload")
	case pr <= 0:
		return nil, errors.New("no pull request number in the payload")
	case !isSHA(head):
		return nil, errors.New("no head commit in the payload")
	}
	if err := validRepo(repo.GetOwner().GetLogin(), repo.GetName()); err != nil {
		return nil, err
	}
	return &job{event: event, installation: inst.GetID(), owner: repo.GetOwner().GetLogin(), repo: repo.GetName(), pr: pr, headSHA: head}, nil
}

// validRepo checks owner and repository names against GitHub's rules
// before they reach a URL: go-github pastes them into paths unescaped, so
// "acme/../../app" would address another endpoint with the installation
// token. Logins are 1–39 letters, digits and single inner hyphens (older
// ones may end in a hyphen or hold a doubled one); repository names are
// 1–100 of letters, digits, '.', '-' and '_', not "." or "..".
func validRepo(owner, repo string) error {
	if !validLogin(owner) {
		return errors.New("the repository owner is not a valid GitHub login")
	}
	if !validRepoName(repo) {
		return errors.New("the repository name is not a valid GitHub repository name")
	}
	return nil
}

func validLogin(s string) bool {
	if len(s) == 0 || len(s) > 39 || s[0] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func validRepoName(s string) bool {
	if len(s) == 0 || len(s) > 100 || s == "." || s == ".." {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
