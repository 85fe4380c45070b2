package bot

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Event is what rbacguard needs from a GitHub Actions event payload
// (GITHUB_EVENT_PATH, the same shape as the webhook payload).
type Event struct {
	// Name is GITHUB_EVENT_NAME: pull_request, pull_request_target,
	// workflow_dispatch, push or schedule.
	Name string
	// Repo is the repository's full name, owner/name ("" when the payload
	// has none, as schedule payloads may not).
	Repo string
	// PR is set for pull_request and pull_request_target.
	PR *PullRequest
}

// PullRequest is the part of a pull_request payload rbacguard uses.
type PullRequest struct {
	Number  int
	BaseSHA string // tip of the base branch when the event fired
	HeadSHA string // the pull request's head commit (not GITHUB_SHA)
	BaseRef string
	HeadRef string
	// HeadRepo is the head repository's full name; "" when the fork was
	// deleted. Fork is true when it is not the base repository.
	HeadRepo string
	Fork     bool
}

// IsPullRequest reports whether the event is one rbacguard diffs.
func IsPullRequest(name string) bool {
	return name == "pull_request" || name == "pull_request_target"
}

// IsScan reports whether the event is one rbacguard scans (the tree at
// GITHUB_SHA, as it stands).
func IsScan(name string) bool {
	switch name {
	case "workflow_dispatch", "push", "schedule":
		return true
	}
	return false
}

// payload mirrors the few fields of GitHub's payloads that are read.
type payload struct {
	Number      int `json:"number"`
	PullRequest *struct {
		Number int `json:"number"`
		Base   struct {
			SHA  string `json:"sha"`
			Ref  string `json:"ref"`
			Repo *struct {
				FullName string `json:"full_name"`
			} `json:"repo"`
		} `json:"base"`
		Head struct {
			SHA  string `json:"sha"`
			Ref  string `json:"ref"`
			Repo *struct {
				FullName string `json:"full_name"`
				Fork     bool   `json:"fork"`
			} `json:"repo"`
		} `json:"head"`
	} `json:"pull_request"`
	Repository *struct {
		FullName string `json:"full_name"`
	} `json:"repository"`
}

// ParseEvent reads the payload of event name. Pull request events must
// carry the number and both SHAs, as full hexadecimal object names: they
// end up on a git command line.
func ParseEvent(name string, data []byte) (*Event, error) {
	if !IsPullRequest(name) && !IsScan(name) {
		return nil, fmt.Errorf("event %q is not supported: use pull_request, pull_request_target, workflow_dispatch, push or schedule", name)
	}
	ev := &Event{Name: name}
	var p payload
	if len(strings.TrimSpace(string(data))) > 0 {
		if err := json.Unmarshal(data, &p); err != nil {
			return nil, fmt.Errorf("parse %s event payload: %w", name, err)
		}
	} else if IsPullRequest(name) {
		return nil, fmt.Errorf("parse %s event payload: empty", name)
	}
	if p.Repository != nil {
		ev.Repo = p.Repository.FullName
	}
	if !IsPullRequest(name) {
		return ev, nil
	}
	pr := p.PullRequest
	if pr == nil {
		return nil, fmt.Errorf("parse %s event payload: no pull_request object", name)
	}
	out := &PullRequest{
		Number:  pr.Number,
		BaseSHA: pr.Base.SHA, HeadSHA: pr.Head.SHA,
		BaseRef: pr.Base.Ref, HeadRef: pr.Head.Ref,
	}
	if out.Number == 0 {
		out.Number = p.Number
	}
	if out.Number <= 0 {
		return nil, fmt.Errorf("parse %s event payload: pull_request.number missing", name)
	}
	for field, sha := range map[string]string{"pull_request.base.sha": out.BaseSHA, "pull_request.head.sha": out.HeadSHA} {
		if !IsSHA(sha) {
			return nil, fmt.Errorf("parse %s event payload: %s %q is not a commit SHA", name, field, sha)
		}
	}
	if r := pr.Head.Repo; r != nil {
		out.HeadRepo = r.FullName
		base := ev.Repo
		if pr.Base.Repo != nil && pr.Base.Repo.FullName != "" {
			base = pr.Base.Repo.FullName
		}
		out.Fork = !strings.EqualFold(r.FullName, base)
	} else {
		out.Fork = true // deleted fork
	}
	ev.PR = out
	return ev, nil
}

// IsSHA reports whether s is a full SHA-1 or SHA-256 object name.
func IsSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
