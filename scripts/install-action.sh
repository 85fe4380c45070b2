#!/usr/bin/env bash
# install-action.sh: the Action's fast start. Downloads the rbacguard
# binary of the release matching the Action's own ref for this runner,
# verifies it against the release's checksums.txt and keeps it in the tool
# cache, so a job starts in about a second instead of compiling rbacguard.
#
# Exit status, which action.yml acts on:
#   0  installed; "path=<binary>" appended to $GITHUB_OUTPUT (and printed)
#   3  no release binary for this ref or runner: build from source instead
#      (a branch or SHA ref, a local action, an unsupported runner, a
#      release without this asset, or the download failing)
#   1  refused: the download does not match checksums.txt. Never run it,
#      and never fall back: an altered download is a reason to stop.
#
# Environment: RBACGUARD_ACTION_REF and RBACGUARD_ACTION_REPOSITORY
# (github.action_ref and github.action_repository; when empty they are read
# from GITHUB_ACTION_PATH, .../_actions/OWNER/REPO/REF), RUNNER_OS,
# RUNNER_ARCH, RUNNER_TOOL_CACHE, RUNNER_TEMP, and RBACGUARD_DOWNLOAD_URL
# (default https://github.com; releases are fetched from
# $RBACGUARD_DOWNLOAD_URL/OWNER/REPO/releases/download/TAG/ASSET).
set -euo pipefail

say() { echo "rbacguard: $*" >&2; }

# refuse MESSAGE: stop the step, with an error annotation on the job.
refuse() {
	say "$*"
	if [ "${GITHUB_ACTIONS:-}" = true ]; then
		echo "::error title=rbacguard download not verified::$*"
	fi
	exit 1
}

fallback() {
	say "$* — building rbacguard from the action's source instead"
	exit 3
}

ref=${RBACGUARD_ACTION_REF:-}
repo=${RBACGUARD_ACTION_REPOSITORY:-}
if [ -z "$ref" ] || [ -z "$repo" ]; then
	# actions/runner#2473: the expressions can be empty in a composite
	# action; the directory the runner unpacked the action into is not.
	case ${GITHUB_ACTION_PATH:-} in
	*/_actions/*/*/*)
		rest=${GITHUB_ACTION_PATH#*/_actions/}
		IFS=/ read -r owner name tag _ <<<"$rest"
		repo="$owner/$name"
		ref=$tag
		;;
	esac
fi
if [ -z "$ref" ] || [ -z "$repo" ]; then
	fallback "a local action (uses: ./) has no release"
fi
# A release tag (v1.2.3, v1.3.0-rc.1) or a moving major tag (v1). Branches
# and commit SHAs have no release; the tag names a URL path, so nothing
# else may pass.
if ! [[ $ref =~ ^v[0-9]+(\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?)?$ ]]; then
	fallback "ref \"$ref\" is not a release tag"
fi
if ! [[ $repo =~ ^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$ ]]; then
	fallback "action repository \"$repo\" is not OWNER/REPO"
fi

os=${RUNNER_OS:-$(uname -s)}
arch=${RUNNER_ARCH:-$(uname -m)}
case "$os/$arch" in
Linux/X64 | Linux/x86_64) asset=rbacguard-linux-amd64 cachearch=x64 ;;
Linux/ARM64 | Linux/aarch64) asset=rbacguard-linux-arm64 cachearch=arm64 ;;
macOS/ARM64 | Darwin/arm64) asset=rbacguard-darwin-arm64 cachearch=arm64 ;;
Windows/X64) asset=rbacguard-windows-amd64.exe cachearch=x64 ;;
*) fallback "no release binary for $os/$arch" ;;
esac
exe=rbacguard
case $asset in *.exe) exe=rbacguard.exe ;; esac

base=${RBACGUARD_DOWNLOAD_URL:-https://github.com}
url="${base%/}/$repo/releases/download/$ref"
cache="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}}/rbacguard/${ref#v}/$cachearch"

command -v curl >/dev/null || fallback "curl is not installed"
work=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/rbacguard-install.XXXXXX")
trap 'rm -rf "$work"' EXIT

# fetch URL FILE: 0 on success, 4 when the server says 404, 5 otherwise.
fetch() {
	local code
	code=$(curl --silent --show-error --location --fail --retry 2 --connect-timeout 10 --max-time 300 \
		--output "$2" --write-out '%{http_code}' "$1") && return 0
	if [ "$code" = 404 ]; then return 4; fi
	return 5
}

sha256() {
	if command -v sha256sum >/dev/null; then
		sha256sum "$1" | cut -d' ' -f1
	else
		shasum -a 256 "$1" | cut -d' ' -f1
	fi
}

rc=0
fetch "$url/checksums.txt" "$work/checksums.txt" || rc=$?
case $rc in
0) ;;
4) fallback "release $ref of $repo has no checksums.txt" ;;
*) fallback "could not download $url/checksums.txt" ;;
esac
# sha256sum's format: "<hex>  <name>", or "<hex> *<name>" in binary mode.
want=$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1 }' "$work/checksums.txt")
if [ -z "$want" ]; then
	fallback "checksums.txt of $ref lists no $asset"
fi
if ! [[ $want =~ ^[0-9a-f]{64}$ ]]; then
	refuse "refusing to run $asset of release $ref: checksums.txt has no single SHA-256 for it"
fi

# The cache is checked against checksums.txt on every run: a moving tag
# (v1) gets the new release's binary, and a file changed on a persistent
# self-hosted runner is replaced, not run.
if [ -f "$cache/$exe" ] && [ "$(sha256 "$cache/$exe")" = "$want" ]; then
	say "using $asset of $ref from the tool cache"
else
	rc=0
	fetch "$url/$asset" "$work/$exe" || rc=$?
	case $rc in
	0) ;;
	4) fallback "release $ref of $repo has no $asset" ;;
	*) fallback "could not download $url/$asset" ;;
	esac
	got=$(sha256 "$work/$exe")
	if [ "$got" != "$want" ]; then
		refuse "refusing to run $asset of release $ref: its SHA-256 is $got, checksums.txt says $want. The download was altered or damaged; re-run the job, and report it if it happens again."
	fi
	mkdir -p "$cache"
	# Copied beside its place, then renamed into it (the tool cache may be
	# on another file system than RUNNER_TEMP): an interrupted run never
	# leaves half a binary behind.
	cp "$work/$exe" "$cache/.$exe.$$"
	chmod +x "$cache/.$exe.$$"
	mv -f "$cache/.$exe.$$" "$cache/$exe"
	say "installed $asset of $ref (sha256 $want)"
fi

echo "path=$cache/$exe"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
	echo "path=$cache/$exe" >>"$GITHUB_OUTPUT"
fi
