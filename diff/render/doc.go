// Package render is the render stage: it finds the overlays of a tree (each
// kustomize root, the kustomizations a selection names, and the plain YAML
// no kustomization includes), plans which of them a change between two
// trees affects (Plan follows every input a kustomization names), renders
// those at both commits on a bounded pool (RenderEach), and turns each into
// Kubernetes objects whose fields remember the file and line that wrote
// them, through patches, name and namespace transformers and generators.
// It is the only package that knows kustomize.
//
// # What an overlay is, and stays
//
// Discovery passes over what is not deployed: directories named in
// NotDeployed (testdata, examples, test, tests, e2e, docs, hack, vendor,
// third_party) and a Helm chart's templates/, in every command, unless a
// selection names them (Options.Ignoring; PassedOverDirs lists them once
// for the report). Plain YAML is grouped by plainOverlays: one overlay per
// directory, directories that need each other joined under their closest
// common directory (top-level ones too: apart, a binding would grant
// nothing known), and a directory whose YAML holds no object is no
// overlay.
//
// Across a change an overlay keeps its identity (identity.go): a
// kustomize root of one side stays an overlay on the other side while its
// kustomization is there, whoever starts or stops using it, so Removed
// means gone. A kustomize overlay new at head that builds on
// kustomizations that existed at base has them in Pair.BuiltOn; its base
// side is what they render to at base, placed by the new overlay's
// namespace and name transformers (Pair.Placement), so that the caller
// reports only what the new overlay adds or changes.
//
// Rendering never runs code from the tree and never reads outside it:
// kustomize runs on an in-memory filesystem holding only the overlay's
// inputs at that commit, with plugins, exec and container functions and
// its Helm inflator off, and file size, rendered bytes, resources and time
// are bounded per overlay. The network is reached only by package remote,
// for the remote bases, resources and charts Options.Remote allows, at a
// pinned ref or version (remote.go): each base is fetched as an archive,
// mounted under RemoteDir and its entry rewritten to the local copy, so
// kustomize never runs git; its files are inputs and its commit part of
// the overlay's identity. A helmCharts entry (helm.go) is rendered by
// package helm, in a bounded child process, from the repository's chart
// directory or a fetched archive; its output is mounted under HelmDir and
// named a resource of its kustomization, so that the kustomization's
// transformers apply to it as after kustomize's inflator.
//
// # Never a silent pass
//
// What rbacguard must never fetch or run — remote resources, bases and
// charts (every URL form kustomize accepts) that are not allowed, not
// pinned or not fetched, a chart that does not render, exec and container
// KRM functions, legacy plugins, paths leaving the tree — is cut out of
// the overlay before kustomize sees it, and the rest renders as kustomize
// renders it without them (Result.Skipped lists
// each, file:line, what and why). A patch or replacement whose object only
// a skipped input provided is cut with it. The caller reports such an
// overlay as partial.
//
// The rules that keep "could not look" from reading as "checked" are
// enforced here and in diff:
//   - Plan marks a pair Unchanged only when every input is known and
//     identical at both commits; inputs that cannot all be followed make
//     it Changed, so doubt renders rather than hides. The files a cut
//     entry names (Skipped.Inputs: values files, a local chart's
//     directory, a function's config, the patch of a cut object) are
//     inputs too, though nothing renders them; Skipped.Line..EndLine are
//     the entry's own lines, so that diff can tell an edit of what was
//     not checked.
//   - Pair.Touched says whether the change reached the overlay; a head that
//     cannot be rendered fails the gate when it did (or when the overlay
//     reads outside the directory being checked, Options.StrictRoot).
//   - StandIns checks the kustomizations a broken overlay uses in its
//     place, so a broken top overlay does not hide its bases.
//   - A selection (include globs, the policy's, the Action's paths) that
//     selects nothing is a *SelectionError, never an empty pass.
//
// # Reusing renders
//
// Options.ResultCache (rendercache.go) keeps results across diffs, keyed
// by a content hash of everything one render reads: the overlay, every
// file of its closure (or that it is absent), what was cut, and the
// options that change the outcome. The App holds one per replica, so that
// pull requests against one base render its overlays once. An overlay
// whose inputs cannot all be followed, and a render that ran out of time
// or was cancelled, are never kept; cached results are shared, read-only.
package render
