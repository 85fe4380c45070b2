// Package checks is the last pure stage of the pipeline (report → publish):
// it turns a *report.Report into everything a reviewer or a tool reads — the
// terminal text, JSON, Markdown and SARIF files, the check-run output with
// its annotations, and the inline review comments with a plan for updating
// them on the next push. It prints the answers of the query commands
// (who-can, can-i, can-i --list) as text, JSON and Markdown too (query.go),
// folded for people: built-in subjects once, overlays with the same answer
// grouped, the inputs a partial overlay was rendered without named.
//
// Nothing here talks to GitHub, the network or a logger. GitHub's limits
// (summary bytes, annotations per request, comment body size, comments per
// review) are applied here, as data, so that the bot package only sends
// what it is given and a golden file shows exactly what a pull request
// will display.
//
// One file per concern: group.go merges findings into what a reader sees
// as one and groups them by overlay and subject (drift.go: drift findings
// by binding and role); format.go holds the
// formatters every output shares; text.go, markdown.go, json.go, sarif.go
// and checkrun.go write the outputs; coverage.go the line that says what
// was checked; comments.go, plan.go and review.go the review comments
// (Reviews: what to post, rewrite and strike through); patch.go reads
// GitHub's patches.
package checks
