// Package githubtest is an in-process, stateful fake of the GitHub REST API
// for the tests of the publish stage (bot: the Action runtime and the App).
// It runs on a loopback httptest server under the prefix /api-v3/, is driven
// through a real go-github v62 client (Server.Client), and enforces the rules
// of GitHub that callers get wrong, so that a test fails where production
// would. Anything outside the known routes fails the test (t.Errorf) and
// answers 404, which catches hand-built absolute URLs.
//
// Rules enforced, and where they come from:
//
// Authentication (https://docs.github.com/rest/authentication/authenticating-to-the-rest-api):
// every API request needs "Authorization: token X" or "Bearer X"; none is 401
// "Requires authentication", an unknown or expired token 401 "Bad
// credentials". Tokens added ReadOnly get 403 "Resource not accessible by
// integration" on writes, like a fork pull request's workflow token.
//
// App JWT (https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app):
// GET /repos/{o}/{r}/installation and POST /app/installations/{id}/access_tokens
// take only a Bearer JWT signed RS256 by the App's key, iss = app id (string
// or number), integer iat not in the future, integer exp in the future and
// no more than 10 minutes ahead.
// Installation tokens (https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app)
// expire one hour after the fake clock's now (Server.SetNow), see only the
// installation's repositories (others answer 404) and act as AppBotLogin.
//
// Check runs (https://docs.github.com/rest/checks/runs#create-a-check-run,
// https://docs.github.com/rest/checks/runs#update-a-check-run): only App
// tokens write (workflow tokens are the github-actions App; a user token gets
// 403); only the creating App updates; name and head_sha required; status in
// queued|in_progress|completed; a conclusion forces completed and is required
// with status completed or completed_at; completed never goes back; output
// needs title and summary; summary and text at most 65535 (counted in bytes,
// the stricter reading) with GitHub's message "Only 65535 characters are
// allowed; N were supplied."; at most 50 annotations per request, appended
// across updates; annotation path, start_line, end_line ≥ 1,
// annotation_level notice|warning|failure and message required, columns only
// on single-line annotations; at most 3 actions. A PATCH with "name":""
// is 422: go-github v62's UpdateCheckRunOptions.Name has no omitempty.
// Listing for a ref (https://docs.github.com/rest/checks/runs#list-check-runs-for-a-git-reference)
// supports check_name, status, app_id and filter=latest|all.
//
// Pull requests: files (https://docs.github.com/rest/pulls/pulls#list-pull-requests-files)
// are capped at 3000; every list paginates with per_page (default 30,
// clamped to 100) and page, and a Link header with rel="next"/"last"
// (https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api).
// Reviews (https://docs.github.com/rest/pulls/reviews#create-a-review-for-a-pull-request)
// and review comments (https://docs.github.com/rest/pulls/comments) are
// all-or-nothing: a comment whose line is not in the file's patch on its side
// (RIGHT: added and context lines, new numbers; LEFT: removed and context
// lines, old numbers), on a file not in the pull request or without a patch,
// or that mixes position with line, rejects the whole review with 422
// "Line could not be resolved" and stores nothing. Multi-line comments need
// start_line before line in the same hunk; commit_id must be the head;
// bodies are at most 65536. Patches are parsed with sourcegraph/go-diff.
// Issue comments (https://docs.github.com/rest/issues/comments) share the
// body limit.
//
// Tarballs (https://docs.github.com/rest/repos/contents#download-a-repository-archive-tar)
// are gzip tars with a pax global header and a top directory
// owner-repo-<sha7>/, served directly (200) or, with TarballRedirect, as a
// 302 to a codeload link valid 5 minutes.
//
// App and installation listings (https://docs.github.com/rest/apps/apps,
// https://docs.github.com/rest/apps/installations): GET /app and
// GET /app/installations take the App JWT; GET /installation/repositories
// takes an installation token and lists that installation's repositories
// (other tokens get 403). GET /repos/{o}/{r}/pulls lists by state
// (open by default; PullRequest.Closed marks closed ones), paginated.
// GET /repos/{o}/{r}/compare/{base}...{head} answers the base as merge base
// (the fake has no history).
//
// Faults (https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api):
// Server.FailNext answers 5xx with a gateway page, 403/429 with the
// secondary-rate-limit message, documentation_url and "Retry-After: 1",
// without doing the work. Server.FailAfter does the work first (a check
// run or review is created) and then answers the same way, as a gateway
// timeout after the fact looks to a client: a client that posts again
// blindly duplicates what it created.
//
// Nothing sleeps. Token values are never stored in the request log
// (Server.Requests keeps only the kind of credential) nor printed.
package githubtest
