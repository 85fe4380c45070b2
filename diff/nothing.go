package diff

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/query"
	"github.com/rbacguard/rbacguard/diff/render"
	"github.com/rbacguard/rbacguard/diff/source"
)

// NothingError is a run that checked nothing: the trees it read hold no
// overlay, or their overlays render no Kubernetes object (an empty file,
// a kubectl error saved as the export, a directory holding a README). A
// check of nothing must never read as a pass: the commands exit 2, the
// Action and the App conclude failure, saying what was read and what to
// pass instead.
type NothingError struct {
	Read string // what was read: "directory x: 1 file (README.md), no manifest"
	Want string // what to pass instead
}

func (e *NothingError) Error() string { return "nothing to check: " + e.Read + "; " + e.Want }

// wantManifests is what to pass when a tree gave nothing to check.
const wantManifests = "pass a directory, file or revision that holds Kubernetes manifests (YAML with apiVersion and kind, or a kustomization), or --include the overlays to check"

// tally counts what a run's overlays rendered, to tell a check of
// something from a check of nothing.
type tally struct {
	overlays, objects int
	// undecided: an overlay was left unrendered (unchanged at both
	// commits) or failed to render (a finding of its own): the run did not
	// check nothing.
	undecided bool
	// cut are the inputs the overlays were rendered without (head side):
	// with no object rendered, they are all the overlays held.
	cut []render.Skipped
}

func (c *tally) add(p render.Rendered) {
	c.overlays++
	if p.Status == render.Unchanged || p.BaseErr != nil || p.HeadErr != nil {
		c.undecided = true
		return
	}
	for _, r := range []*render.Result{p.Base, p.Head} {
		if r != nil {
			// Documents that could not be read are findings of their own
			// (manifest.error): the report says what they are.
			c.objects += len(r.Objects) + len(r.Problems)
		}
	}
	if p.Head != nil && len(c.cut) < 3 {
		c.cut = append(c.cut, p.Head.Skipped[:min(len(p.Head.Skipped), 3-len(c.cut))]...)
	}
}

// nothing is the NothingError of a run that found no overlay in trees,
// or whose overlays all rendered without one object; nil otherwise.
func (c *tally) nothing(trees ...source.Tree) error {
	switch {
	case c.overlays == 0:
		return noOverlay(trees...)
	case c.objects == 0 && !c.undecided:
		e := noObject(trees...)
		if len(c.cut) > 0 {
			var cut []string
			for _, s := range c.cut {
				cut = append(cut, fmt.Sprintf("%s (%s:%d: %s)", s.What, s.Path, s.Line, s.Why))
			}
			e.Read += "; what the overlays name was cut, and it is all they hold: " + strings.Join(cut, ", ")
			e.Want = "vendor those inputs into the repository (or allow their host in the policy's remote.allow) so they are checked, or " + e.Want
		}
		return e
	}
	return nil
}

// noOverlay is the NothingError of trees in which discovery found no
// overlay at all.
func noOverlay(trees ...source.Tree) *NothingError {
	var read []string
	for _, t := range trees {
		read = append(read, describeTree(t)+": no kustomization and no manifest")
	}
	return &NothingError{Read: strings.Join(read, "; "), Want: wantManifests}
}

// noObject is the NothingError of trees whose overlays rendered without
// one Kubernetes object.
func noObject(trees ...source.Tree) *NothingError {
	var read []string
	for _, t := range trees {
		read = append(read, describeTree(t)+": no Kubernetes object")
	}
	return &NothingError{Read: strings.Join(read, "; "), Want: wantManifests}
}

// noRBAC is the NothingError of a cluster's export that holds no RBAC
// object: a live cluster always holds its bootstrap roles, so the export
// failed (a kubectl error saved as the file, an empty List, the wrong
// kinds) and comparing with it would report "no drift" forever. Nil when
// the export holds one, or an overlay of it failed to render (the drift
// report says so).
func noRBAC(cluster source.Tree, ovs []query.Overlay) error {
	var unread []string
	for _, ov := range ovs {
		unread = append(unread, ov.Unread...)
		if ov.Err != nil {
			return nil
		}
		for _, o := range ov.Objects {
			if o.Group() == rbacGroup && slices.Contains(rbacKinds, o.Kind) {
				return nil
			}
		}
	}
	if len(ovs) == 0 {
		return &NothingError{Read: describeTree(cluster) + ": no manifest", Want: wantExport}
	}
	read := describeTree(cluster)
	if kinds := objectKinds(ovs); len(kinds) > 0 {
		read = cluster.Rev() + ": only " + strings.Join(kinds, ", ")
	}
	read += ": no Role, ClusterRole, RoleBinding or ClusterRoleBinding"
	if len(unread) > 0 {
		read += " (" + strings.Join(unread[:min(len(unread), 3)], "; ") + ")"
	}
	return &NothingError{Read: read, Want: wantExport}
}

// objectKinds names the kinds of the objects of ovs, sorted.
func objectKinds(ovs []query.Overlay) []string {
	var kinds []string
	for _, ov := range ovs {
		for _, o := range ov.Objects {
			if !slices.Contains(kinds, o.Kind) {
				kinds = append(kinds, o.Kind)
			}
		}
	}
	slices.Sort(kinds)
	return kinds
}

const (
	rbacGroup  = "rbac.authorization.k8s.io"
	wantExport = "pass the cluster's export, made with kubectl get clusterroles,clusterrolebindings,roles,rolebindings,serviceaccounts -A -o yaml by a command that succeeded (a live cluster always holds its bootstrap roles)"
)

var rbacKinds = []string{"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}

// describeTree says what a tree held: its name, its files (the first few)
// and, for a tree of one file, what that file is. It never quotes a
// file's content beyond a command's error message: a file may hold a
// secret.
func describeTree(t source.Tree) string {
	files := t.Files()
	name := t.Rev()
	switch {
	case len(files) == 0:
		return name + ": nothing in it"
	case len(files) == 1 && path.Base(name) == files[0]: // a file argument
		data, _ := fs.ReadFile(t, files[0])
		return name + ": " + describeFile(data)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d file(s) (%s", name, len(files), strings.Join(files[:min(len(files), 5)], ", "))
	if n := len(files) - 5; n > 0 {
		fmt.Fprintf(&b, ", %d more", n)
	}
	b.WriteString(")")
	return b.String()
}

// describeFile says what a file that held no object is: empty, a kubectl
// error saved by a redirect whose command failed ("error: You must be
// logged in to the server (Unauthorized)"), not YAML, an empty List, or
// YAML that is not Kubernetes objects.
func describeFile(data []byte) string {
	text := strings.TrimSpace(string(data))
	if text == "" {
		return "an empty file"
	}
	first, _, _ := strings.Cut(text, "\n")
	for _, p := range []string{"error:", "Error from server", "The connection to the server", "Unable to connect to the server"} {
		if strings.HasPrefix(first, p) {
			return fmt.Sprintf("a command's error message saved in place of manifests: %.160q", first)
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Sprintf("%d bytes that are not YAML", len(data))
		}
		if m, ok := doc.(map[string]any); ok && m["kind"] == "List" {
			if items, _ := m["items"].([]any); len(items) == 0 {
				return "an empty List (kind: List without items)"
			}
		}
	}
	return "YAML without apiVersion and kind"
}
