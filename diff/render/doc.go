// Package render is the render stage: it finds the overlays of a tree (each
// kustomize root, and the plain YAML no kustomization includes) and turns
// each into Kubernetes objects that remember the file and line they came
// from. It is the only package that knows kustomize. Rendering never runs
// code from the tree, never reads outside it and never reaches the network:
// kustomize runs on an in-memory copy of the tree with plugins, exec and
// container functions and Helm off, and remote bases are refused first.
package render
