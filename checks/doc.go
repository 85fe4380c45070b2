// Package checks is the last pure stage of the pipeline (report → publish):
// it turns a *report.Report into everything a reviewer or a tool reads — the
// terminal text, JSON, Markdown and SARIF files, the check-run output with
// its annotations, and the inline review comments with a plan for updating
// them on the next push. It prints the answers of the query commands
// (who-can, can-i, can-i --list) as text, JSON and Markdown too (query.go).
//
// Nothing here talks to GitHub, the network or a logger. GitHub's limits
// (summary bytes, annotations per request, comment body size) are applied
// here, as data, so that the bot package only sends what it is given and a
// golden file shows exactly what a pull request will display.
package checks
