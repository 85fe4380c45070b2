package admission

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// Objects returns the policies and bindings in apply order: each policy
// before its binding.
func (s *Set) Objects() []any {
	var out []any
	for i := range s.Policies {
		out = append(out, &s.Policies[i], &s.Bindings[i])
	}
	return out
}

// WriteYAML writes the set as one YAML stream that kubectl apply -f reads,
// under a header saying where it comes from.
func (s *Set) WriteYAML(w io.Writer, header string) error {
	if header != "" {
		if _, err := fmt.Fprintf(w, "# %s\n", header); err != nil {
			return err
		}
	}
	for _, o := range s.Objects() {
		b, err := marshalYAML(o)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "---\n%s", b); err != nil {
			return err
		}
	}
	return nil
}

// marshalYAML writes one object without its empty status, which the API
// server owns.
func marshalYAML(o any) ([]byte, error) {
	j, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	return yaml.Marshal(m)
}
