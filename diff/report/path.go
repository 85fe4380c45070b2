package report

// PathStep is one step of an escalation path (kind rbac.escalation): the
// identity From can become the identity To because it holds Grants. An
// identity of kind ClusterRole is everyone bound to that role in its
// namespace ("" = cluster-wide); ClusterRole cluster-admin is "any role",
// which bind and escalate hand over.
type PathStep struct {
	From Subject `json:"from"`
	// Primitive names the escalation, e.g. "create pods in shop" or
	// "impersonate serviceaccounts".
	Primitive string `json:"primitive"`
	// Grants are the permissions the step takes, each with where it
	// applies and its chain from binding to rule; most steps take one,
	// some two (bind needs a binding to write as well).
	Grants []PathGrant `json:"grants"`
	To     Subject     `json:"to"`
}

// PathGrant is one permission a step takes.
type PathGrant struct {
	Permission Permission `json:"permission"`
	Scope      Scope      `json:"scope"`
	Via        []Ref      `json:"via,omitempty"`
}
