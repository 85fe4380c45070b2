// Package spell finds the names a user most likely meant, for errors that
// say "did you mean …?" (policy fields, resource types, subresources,
// verbs). It is a leaf: pure functions over strings.
package spell

// Distance is Levenshtein's edit distance between a and b, in bytes.
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Near returns the names of known within two edits of got, in order.
func Near(got string, known []string) []string {
	var out []string
	for _, k := range known {
		if Distance(got, k) <= 2 {
			out = append(out, k)
		}
	}
	return out
}
