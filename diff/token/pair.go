package token

// pairUp matches each head item with a base item and returns, per head
// item, the index of its base item or -1. Items match first by exact key
// (identity: kind/namespace/name, issuer URL …). Head items left over then
// match, in order, base items left over by loose key (what stays the same
// across a rename: account and settings, the kind of server …), but only
// base items whose exact key is gone from head: a base item still present
// under its own name is not also the ancestor of a new one. Nil loose keys
// skip the second pass. It runs in linear time, whatever the input size.
func pairUp(base, head, baseLoose, headLoose []string) []int {
	out := make([]int, len(head))
	exact := map[string][]int{}
	for j, k := range base {
		exact[k] = append(exact[k], j)
	}
	used := make([]bool, len(base))
	headKeys := make(map[string]bool, len(head))
	for i, k := range head {
		out[i] = -1
		headKeys[k] = true
		if q := exact[k]; len(q) > 0 {
			out[i], used[q[0]] = q[0], true
			exact[k] = q[1:]
		}
	}
	if baseLoose == nil || headLoose == nil {
		return out
	}
	loose := map[string][]int{}
	for j, k := range baseLoose {
		if !used[j] && !headKeys[base[j]] {
			loose[k] = append(loose[k], j)
		}
	}
	for i := range head {
		if out[i] >= 0 {
			continue
		}
		if q := loose[headLoose[i]]; len(q) > 0 {
			out[i] = q[0]
			loose[headLoose[i]] = q[1:]
		}
	}
	return out
}

// pairBy is pairUp over items: it returns, per head item, its base item
// (nil when it is new), keying items with exact and loose (nil loose: exact
// keys only).
func pairBy[T any](base, head []T, exact, loose func(T) string) []*T {
	keys := func(ts []T) (e, l []string) {
		for _, t := range ts {
			e = append(e, exact(t))
			if loose != nil {
				l = append(l, loose(t))
			}
		}
		return e, l
	}
	be, bl := keys(base)
	he, hl := keys(head)
	out := make([]*T, len(head))
	for i, j := range pairUp(be, he, bl, hl) {
		if j >= 0 {
			out[i] = &base[j]
		}
	}
	return out
}

// missing returns the values of from that are not in in, in order.
func missing(from, in []string) []string {
	set := make(map[string]bool, len(in))
	for _, v := range in {
		set[v] = true
	}
	var out []string
	for _, v := range from {
		if !set[v] {
			out = append(out, v)
		}
	}
	return out
}
