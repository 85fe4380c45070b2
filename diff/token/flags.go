package token

import "strings"

// Flag is one flag of a command line.
type Flag struct {
	Name string // without leading dashes, underscores read as dashes
	// Value is the text after "=" or the next argument; "true" for a
	// boolean flag written alone.
	Value string
	// HasValue says whether a value was written ("--a=b", "--a b").
	HasValue bool
	// Index is the position in args of the argument that names the flag.
	Index int
}

// boolFlags are kube-apiserver flags that take no separate value: written
// "--anonymous-auth false", the "false" is a positional argument, as pflag
// reads it, and the flag is true.
var boolFlags = map[string]bool{
	"anonymous-auth": true,
	"service-account-extend-token-expiration": true,
	"service-account-lookup":                  true,
	"enable-bootstrap-token-auth":             true,
	"allow-privileged":                        true,
	"profiling":                               true,
	"enable-aggregator-routing":               true,
}

// ParseFlags reads command-line arguments the way kube-apiserver's pflag
// does for the flags this package checks: "--flag=value", "--flag value"
// (unless the flag is boolean or the next argument is itself a flag),
// "-flag" like "--flag", "--" ending the flags. Arguments that are not
// flags are skipped. It never fails: a malformed argument is ignored.
func ParseFlags(args []string) []Flag {
	var out []Flag
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		if len(a) < 2 || a[0] != '-' {
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		f := Flag{Index: i}
		if eq := strings.IndexByte(name, '='); eq >= 0 {
			name, f.Value, f.HasValue = name[:eq], name[eq+1:], true
		}
		name = strings.ReplaceAll(name, "_", "-")
		if name == "" || strings.HasPrefix(name, "-") {
			continue
		}
		f.Name = name
		if !f.HasValue {
			switch {
			case boolFlags[name]:
				f.Value = "true"
			case i+1 < len(args) && !strings.HasPrefix(args[i+1], "-"):
				i++
				f.Value, f.HasValue = args[i], true
			}
		}
		out = append(out, f)
	}
	return out
}
