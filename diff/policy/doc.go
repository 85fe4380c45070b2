// Package policy is the policy stage of the pipeline (compare → policy →
// report): it reads the repository's policy file (.github/rbacguard.yaml),
// changes finding severities, marks exempted and allowed findings, and says
// which overlays and remote bases the render stage may use. It also reports
// a pull request that changes the policy file itself, so that a loosened
// policy gets a review of its own.
//
// The package is pure: Parse and Changed work on bytes, Load and
// ValidateFile on an fs.FS, and Apply on a report with the time passed in.
// It never logs and keeps no global state.
package policy
