#!/usr/bin/env bash
# build.sh: the one way rbacguard's binaries are built. The release workflow
# builds the released binaries with it, the Dockerfile the image's, the
# Action its fallback from source, and .ci/run the host's on every change,
# so a release is never the first time this script runs.
#
#   scripts/build.sh [-o DIR] VERSION [OS/ARCH|host ...]
#
# VERSION is a release tag (v1.2.3, v1.3.0-rc.1) stamped into the binary,
# or "devel" for a source build that names its commit instead (see
# `rbacguard version`). Platforms default to the four released ones;
# "host" is this machine's. Writes DIR/rbacguard-OS-ARCH (.exe on Windows)
# and DIR/checksums.txt (SHA-256 in sha256sum's format, what the Action
# verifies downloads against). DIR defaults to dist.
#
# Binaries are static (CGO_ENABLED=0), stripped (-s -w) and reproducible:
# -trimpath and an empty build id, so the same commit and Go release give
# the same bytes on any machine.
set -euo pipefail

out=dist
if [ "${1:-}" = "-o" ]; then
	out=${2:?"-o needs a directory"}
	shift 2
fi
if [ $# -lt 1 ]; then
	echo "usage: scripts/build.sh [-o DIR] VERSION [OS/ARCH|host ...]" >&2
	exit 2
fi
version=$1
shift
if [ "$version" != devel ] && ! [[ $version =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
	echo "build.sh: version \"$version\" is not a release tag (v1.2.3, v1.2.3-rc.1) or \"devel\"" >&2
	exit 2
fi
platforms=("$@")
if [ ${#platforms[@]} -eq 0 ]; then
	platforms=(linux/amd64 linux/arm64 darwin/arm64 windows/amd64)
fi

cd "$(dirname "$0")/.."
export GOTOOLCHAIN=local CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -mod=readonly"
ldflags="-s -w -buildid="
if [ "$version" != devel ]; then
	ldflags="$ldflags -X main.version=$version"
fi

mkdir -p "$out"
names=()
for p in "${platforms[@]}"; do
	if [ "$p" = host ]; then
		p="$(go env GOOS)/$(go env GOARCH)"
	fi
	goos=${p%/*}
	goarch=${p#*/}
	name="rbacguard-$goos-$goarch"
	if [ "$goos" = windows ]; then
		name="$name.exe"
	fi
	echo "build.sh: $name ($version)" >&2
	GOOS=$goos GOARCH=$goarch go build -trimpath -ldflags="$ldflags" -o "$out/$name" ./cmd/rbacguard
	names+=("$name")
done

sha256() {
	if command -v sha256sum >/dev/null; then sha256sum "$@"; else shasum -a 256 "$@"; fi
}
(cd "$out" && sha256 "${names[@]}" | LC_ALL=C sort -k2) >"$out/checksums.txt"
