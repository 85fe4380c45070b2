package admission

import (
	"regexp"
	"strconv"
	"strings"
)

// quote writes s as a CEL string literal. strconv.Quote's escapes (\" \\
// \n \t \xNN \uNNNN) are all CEL escapes too.
func quote(s string) string { return strconv.Quote(s) }

// list writes ss as a CEL list of string literals.
func list(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// globCEL is a CEL condition that x (a string expression) matches the
// policy glob pattern: "*" any run of characters, "?" one character, as
// the policy file means them (glob.Name). An empty pattern matches
// anything, as an unset pattern field does.
func globCEL(pattern, x string) string {
	switch {
	case pattern == "" || pattern == "*":
		return "true"
	case !strings.ContainsAny(pattern, "*?"):
		return x + " == " + quote(pattern)
	}
	var re strings.Builder
	re.WriteString("^")
	for _, r := range pattern {
		switch r {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	re.WriteString("$")
	return x + ".matches(" + quote(re.String()) + ")"
}

// and joins conditions, leaving out "true".
func and(conds ...string) string {
	var kept []string
	for _, c := range conds {
		if c != "" && c != "true" {
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		return "true"
	}
	if len(kept) == 1 {
		return kept[0]
	}
	return "(" + strings.Join(kept, " && ") + ")"
}

// or joins conditions; none is "false".
func or(conds ...string) string {
	if len(conds) == 0 {
		return "false"
	}
	if len(conds) == 1 {
		return conds[0]
	}
	return "(" + strings.Join(conds, " || ") + ")"
}

// objectName is a CEL string naming the admitted object as the CLI names
// one: "Kind namespace/name", or "Kind name" when cluster-scoped.
// The kind is the request's: the object of a request need not carry one.
const objectName = `request.kind.kind + " " + (object.metadata.?namespace.orValue("") != "" ? object.metadata.namespace + "/" : "") + object.metadata.?name.orValue(object.metadata.?generateName.orValue(""))`
