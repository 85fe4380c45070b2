package workload

// RunsAs reports whether the workload's pods authenticate as a member of
// the binding subject kind/namespace/name: its own ServiceAccount, or a
// group every service account of its namespace is in
// (system:serviceaccounts, system:serviceaccounts:NS,
// system:authenticated).
func (w Workload) RunsAs(kind, namespace, name string) bool {
	switch kind {
	case "ServiceAccount":
		return w.Namespace == namespace && w.ServiceAccount == name
	case "Group":
		return name == "system:serviceaccounts" || name == "system:authenticated" ||
			name == "system:serviceaccounts:"+w.Namespace
	}
	return false
}
