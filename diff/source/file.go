package source

import (
	"fmt"
	"os"
	"path/filepath"
)

// File reads one file into a tree that holds it under its base name: a
// live cluster's export (kubectl get clusterroles,clusterrolebindings,
// roles,rolebindings,serviceaccounts -A -o yaml), or any single manifest,
// given where a tree is expected. Its plain YAML is then one overlay, ".",
// which pairs with the root overlay of the other side of a diff. The
// cluster's own bootstrap objects in an export are recognised by the RBAC
// engine (rbac.WithoutBootstrap), not here, and server-set fields
// (managedFields, status, uid, …) play no part in any answer.
func File(name string, lim Limits) (Tree, error) {
	info, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("read file: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("read file %s: not a regular file", name)
	}
	// The operator named this file (an export of a large cluster easily
	// passes the per-file bound meant for a repository's files): only the
	// bound of a whole tree applies.
	lim = Limits{MaxTotalBytes: lim.MaxTotalBytes}
	if lim.MaxTotalBytes > 0 && info.Size() > lim.MaxTotalBytes {
		return nil, &LimitError{What: fmt.Sprintf("%s: %d bytes, more than %d", name, info.Size(), lim.MaxTotalBytes)}
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read file: %w", err)
	}
	m := NewMem(name, lim)
	if err := m.Add(filepath.Base(name), data); err != nil {
		return nil, fmt.Errorf("read file %s: %w", name, err)
	}
	return m, nil
}
