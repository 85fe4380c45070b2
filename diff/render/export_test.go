package render

import (
	"context"

	"github.com/rbacguard/rbacguard/diff/source"
)

// RenderAll renders like RenderEach and returns the pairs in their order,
// for tests.
func RenderAll(ctx context.Context, base, head source.Tree, pairs []Pair, o Options) []Rendered {
	out := make([]Rendered, 0, len(pairs))
	RenderEach(ctx, base, head, pairs, o, func(r Rendered) { out = append(out, r) })
	return out
}
