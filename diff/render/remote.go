package render

import (
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/source"
)

// isRemote reports whether a kustomization entry names something kustomize
// would fetch with git or HTTP rather than read from the tree.
func isRemote(ref string) bool {
	switch {
	case strings.Contains(ref, "://"), strings.HasPrefix(ref, "git@"), strings.HasPrefix(ref, "github.com/"),
		strings.HasPrefix(ref, "gitlab.com/"), strings.HasPrefix(ref, "bitbucket.org/"), strings.Contains(ref, "?ref="),
		strings.Contains(ref, ".git//"), strings.HasSuffix(ref, ".git"):
		return true
	}
	return false
}

// checkRemote walks the kustomizations dir loads and refuses any remote
// base not in the allow-list, naming the file and line. Kustomize would
// shell out to git for them even over an in-memory filesystem.
func checkRemote(t source.Tree, dir string, o Options, seen map[string]bool) error {
	if seen[dir] {
		return nil
	}
	seen[dir] = true
	for _, name := range KustomizationNames {
		file := path.Join(dir, name)
		data, err := fs.ReadFile(t, file)
		if err != nil {
			continue
		}
		var root yaml.Node
		if yaml.Unmarshal(data, &root) != nil || len(root.Content) == 0 {
			return nil // kustomize reports the syntax error itself
		}
		for _, field := range []string{"resources", "bases", "components"} {
			for _, item := range seqField(root.Content[0], field) {
				ref := item.Value
				if isRemote(ref) {
					if slices.ContainsFunc(o.RemoteBases, func(p string) bool { return p != "" && strings.HasPrefix(ref, p) }) {
						continue
					}
					return &Error{Overlay: dir, Path: file, Line: item.Line,
						Err: fmt.Errorf("%w: %s %q would be fetched from the network; vendor it into the repository or allow its prefix in the policy's remoteBases", ErrRemoteBase, field, ref)}
				}
				sub := path.Clean(path.Join(dir, ref))
				if info, err := fs.Stat(t, sub); err == nil && info.IsDir() {
					if err := checkRemote(t, sub, o, seen); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return nil
}

func seqField(m *yaml.Node, key string) []*yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key && m.Content[i+1].Kind == yaml.SequenceNode {
			return m.Content[i+1].Content
		}
	}
	return nil
}
