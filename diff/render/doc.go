// Package render is the render stage: it finds the overlays of a tree (each
// kustomize root, and the plain YAML no kustomization includes), plans
// which of them a change between two trees affects (Plan follows every
// input a kustomization names), renders those at both commits on a bounded
// pool (RenderAll), and turns each into Kubernetes objects whose fields
// remember the file and line that wrote them, through patches, name and
// namespace transformers and generators. It is the only package that knows
// kustomize.
//
// Rendering never runs code from the tree, never reads outside it and never
// reaches the network: kustomize runs on an in-memory filesystem holding
// only the overlay's inputs at that commit, with plugins, exec and container
// functions and Helm off; remote bases, Helm charts, functions and
// kustomization cycles are refused before kustomize sees them, and file
// size, rendered bytes, resources and time are bounded per overlay.
package render
