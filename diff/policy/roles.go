package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"path"

	"go.yaml.in/yaml/v3"

	"github.com/rbacguard/rbacguard/diff/manifest"
)

const rbacAPIVersion = "rbac.authorization.k8s.io/v1"

var (
	roleFields = []string{"apiVersion", "kind", "metadata", "rules", "aggregationRule"}
	ruleKeys   = []string{"verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"}
)

func (ps *parser) externalRoles(n *yaml.Node, where string) {
	ps.mapping(n, where, externalFields, func(key string, v *yaml.Node) {
		field := join(where, key)
		switch key {
		case "roles":
			ps.list(v, field, func(item string, r *yaml.Node) {
				if o := ps.role(r, item); o != nil {
					ps.p.ExternalRoles = append(ps.p.ExternalRoles, o)
				}
			})
		case "paths":
			for i, s := range ps.strList(v, field) {
				e := v.Content[i]
				clean := path.Clean(s)
				if s == "" || !fs.ValidPath(clean) {
					ps.errorf(e, fmt.Sprintf("%s[%d]", field, i), "want a path relative to the repository root, found %q", s)
					continue
				}
				ps.p.ExternalRolePaths = append(ps.p.ExternalRolePaths, clean)
				ps.p.pathLines = append(ps.p.pathLines, e.Line)
			}
		}
	})
	ps.checkDuplicateRoles(ps.p.ExternalRoles)
}

// role checks one inline Role or ClusterRole as strictly as the rest of the
// policy (a typo in "verbs" would otherwise silently grant nothing) and
// returns it as a manifest object whose lines point into the policy file.
func (ps *parser) role(n *yaml.Node, where string) *manifest.Object {
	before := len(ps.errs)
	var kind, apiVersion, name, namespace string
	ok := ps.mapping(n, where, roleFields, func(key string, v *yaml.Node) {
		field := join(where, key)
		switch key {
		case "apiVersion":
			if s, ok := ps.str(v, field); ok {
				if s != rbacAPIVersion {
					ps.errorf(v, field, "want %s, found %q", rbacAPIVersion, s)
				}
				apiVersion = s
			}
		case "kind":
			if s, ok := ps.str(v, field); ok {
				if s != "ClusterRole" && s != "Role" {
					ps.errorf(v, field, "want ClusterRole or Role, found %q", s)
				}
				kind = s
			}
		case "metadata":
			ps.metadata(v, field, &name, &namespace)
		case "rules":
			ps.list(v, field, func(rw string, r *yaml.Node) {
				var verbs bool
				ps.mapping(r, rw, ruleKeys, func(k string, v *yaml.Node) {
					ps.strList(v, join(rw, k))
					verbs = verbs || k == "verbs"
				})
				if r.Kind == yaml.MappingNode && !verbs {
					ps.errorf(r, join(rw, "verbs"), "missing: a rule needs verbs")
				}
			})
		case "aggregationRule":
			if v.Kind != yaml.MappingNode {
				ps.errorf(v, field, "want a mapping, found %s", describe(v))
			}
		}
	})
	if !ok {
		return nil
	}
	if apiVersion == "" {
		ps.errorf(n, join(where, "apiVersion"), "missing: want %s", rbacAPIVersion)
	}
	if kind == "" {
		ps.errorf(n, join(where, "kind"), "missing: want ClusterRole or Role")
	}
	if name == "" {
		ps.errorf(n, join(where, "metadata.name"), "missing")
	}
	if kind == "Role" && namespace == "" {
		ps.errorf(n, join(where, "metadata.namespace"), "missing: a Role belongs to a namespace")
	}
	if kind == "ClusterRole" && namespace != "" {
		ps.errorf(n, join(where, "metadata.namespace"), "a ClusterRole has no namespace")
	}
	if len(ps.errs) > before {
		return nil
	}
	v, _, err := manifest.Value(n)
	if err != nil {
		ps.errorf(n, where, "%s", err)
		return nil
	}
	body, _ := v.(map[string]any)
	return manifest.FromBody(body).WithSource(ps.path, n)
}

func (ps *parser) metadata(n *yaml.Node, where string, name, namespace *string) {
	if n.Kind != yaml.MappingNode {
		ps.errorf(n, where, "want a mapping, found %s", describe(n))
		return
	}
	// Other metadata (uid, resourceVersion, …) is allowed so that roles can be
	// pasted from kubectl output; labels and annotations must be string maps.
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], ps.resolve(n.Content[i+1])
		if v == nil || isNull(v) {
			continue
		}
		field := join(where, k.Value)
		switch k.Value {
		case "name":
			if s, ok := ps.str(v, field); ok {
				*name = s
			}
		case "namespace":
			if s, ok := ps.str(v, field); ok {
				*namespace = s
			}
		case "labels", "annotations":
			if v.Kind != yaml.MappingNode {
				ps.errorf(v, field, "want a mapping of strings, found %s", describe(v))
				continue
			}
			for j := 1; j < len(v.Content); j += 2 {
				if e := ps.resolve(v.Content[j]); e != nil {
					ps.str(e, join(field, v.Content[j-1].Value))
				}
			}
		}
	}
}

func (ps *parser) checkDuplicateRoles(roles []*manifest.Object) {
	seen := map[string]*manifest.Object{}
	for _, o := range roles {
		k := o.String()
		if prev, dup := seen[k]; dup {
			ps.errorf(o.Source(), "externalRoles.roles", "%s is defined twice (first at %s)", k, prev.Origin)
			continue
		}
		seen[k] = o
	}
}

// loadRolePaths reads the Roles and ClusterRoles of externalRoles.paths from
// fsys: YAML or JSON files, directories of them (recursively), and Lists
// such as `kubectl get clusterroles,roles -A -o yaml`. Other kinds in those
// files are skipped, so a dump may hold bindings too.
func (p *Policy) loadRolePaths(fsys fs.FS) error {
	var errs []error
	at := func(i int) string {
		return fmt.Sprintf("%s:%d: field externalRoles.paths[%d]", p.Path, p.pathLines[i], i)
	}
	for i, name := range p.ExternalRolePaths {
		info, err := fs.Stat(fsys, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", at(i), err))
			continue
		}
		files := []string{name}
		if info.IsDir() {
			files = nil
			err := fs.WalkDir(fsys, name, func(f string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if d.Type().IsRegular() && isManifestFile(f) {
					files = append(files, f)
				}
				return nil
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", at(i), err))
				continue
			}
			if len(files) == 0 {
				errs = append(errs, fmt.Errorf("%s: directory %s holds no .yaml, .yml or .json files", at(i), name))
				continue
			}
		}
		for _, f := range files {
			data, err := readFile(fsys, f, MaxRoleFileBytes)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", at(i), err))
				continue
			}
			objs, derrs := manifest.Decode(f, data)
			for _, e := range derrs {
				if errors.Is(e, manifest.ErrNotObject) && info.IsDir() {
					continue // a non-Kubernetes YAML file beside the dumps
				}
				errs = append(errs, fmt.Errorf("%s: %w", at(i), e))
			}
			for _, o := range objs {
				if o.APIVersion != rbacAPIVersion || (o.Kind != "ClusterRole" && o.Kind != "Role") {
					continue
				}
				if o.Kind == "Role" && o.Namespace == "" {
					errs = append(errs, fmt.Errorf("%s: %s: Role %s has no metadata.namespace", at(i), o.Origin, o.Name))
					continue
				}
				p.ExternalRoles = append(p.ExternalRoles, o)
			}
		}
	}
	seen := map[string]*manifest.Object{}
	for _, o := range p.ExternalRoles {
		k := o.String()
		if prev, dup := seen[k]; dup {
			errs = append(errs, fmt.Errorf("%s: externalRoles: %s is defined twice (%s and %s)", p.Path, k, prev.Origin, o.Origin))
			continue
		}
		seen[k] = o
	}
	return errors.Join(errs...)
}

func isManifestFile(name string) bool {
	switch path.Ext(name) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}
