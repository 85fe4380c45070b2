#!/bin/sh
# bench-render.sh: times rbacguard's render stage against the kustomize CLI
# on a generated monorepo (200 overlays over 20 shared bases, ~20,000
# resources) and rewrites the CLI golden outputs of testdata/render.
# The CLI is installed into a temporary GOBIN; it is never a test
# dependency. Usage: scripts/bench-render.sh [kustomize-version]
set -eu
export GOTOOLCHAIN=local
version=${1:-v5.8.0}
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "installing kustomize $version"
GOBIN="$work/bin" go install "sigs.k8s.io/kustomize/kustomize/v5@$version"
kustomize="$work/bin/kustomize"

echo "golden outputs of testdata/render"
for repo in testdata/render/*/; do
	repo=${repo%/}
	case $repo in *.golden) continue ;; esac
	rm -rf "$repo.golden" && mkdir -p "$repo.golden"
	go test ./diff/render -v -count=1 -run '^TestListOverlays$' -args -overlays "$PWD/$repo" |
		grep '^overlay ' | cut -d' ' -f2 | while read -r ov; do
		"$kustomize" build "$repo/$ov" >"$repo.golden/$(echo "$ov" | tr / _).yaml" 2>/dev/null
	done
done

echo "generating the monorepo"
go test ./diff/render -count=1 -run '^TestWriteMonorepo$' -args -monorepo "$work/repo" >/dev/null
overlays=$(cd "$work/repo" && ls -d overlays/*)

# What the CLI pays before any work: starting, and loading the OpenAPI
# schema (which any strategic-merge patch needs). An in-process renderer
# pays both once; the rest of the CLI's time is kustomize's own work.
mkdir -p "$work/empty" "$work/schema"
printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n' >"$work/empty/cm.yaml"
printf 'resources: [cm.yaml]\n' >"$work/empty/kustomization.yaml"
cp "$work/empty/cm.yaml" "$work/schema/cm.yaml"
printf 'resources: [cm.yaml]\npatches:\n- patch: |\n    apiVersion: v1\n    kind: ConfigMap\n    metadata:\n      name: x\n    data:\n      a: b\n' >"$work/schema/kustomization.yaml"
for probe in empty schema; do
	start=$(date +%s.%N)
	for _ in $(seq 50); do "$kustomize" build "$work/$probe" >/dev/null; done
	end=$(date +%s.%N)
	echo "kustomize CLI, one-object overlay ($probe): $(echo "($end - $start) * 20" | bc) ms per run"
done

echo "kustomize build, each overlay in sequence, twice (base and head)"
start=$(date +%s.%N)
for pass in base head; do
	for ov in $overlays; do
		"$kustomize" build "$work/repo/$ov" >/dev/null 2>&1
	done
done
end=$(date +%s.%N)
echo "kustomize CLI: $(echo "$end - $start" | bc) s for $(echo "$overlays" | wc -w) overlays x 2 (base and head)"

echo "rbacguard render (go test -bench)"
go test ./diff/render -run '^$' -bench 'Monorepo' -benchtime 3x 2>/dev/null | grep -E '^(Benchmark|ok)'
echo "compare: BenchmarkMonorepoAll ns/op against the CLI time above"
