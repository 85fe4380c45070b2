package helm

import (
	"fmt"
	"text/template"

	"github.com/Masterminds/sprig/v3"
)

// boundedFuncs replaces the template functions whose cost is a count the
// template chooses (a list of N numbers, a string of N spaces or random
// letters) with ones that refuse a count over maxListLen. Everything
// else a template can do grows its output or its time step by step, and
// the child's bounds stop it.
func boundedFuncs() template.FuncMap {
	s := sprig.TxtFuncMap()
	count := func(name string, n int) error {
		if n > maxListLen {
			return fmt.Errorf("%s %d: %w (at most %d)", name, n, errBound, maxListLen)
		}
		return nil
	}
	out := template.FuncMap{
		"until": func(n int) ([]int, error) {
			if err := count("until", n); err != nil {
				return nil, err
			}
			return s["until"].(func(int) []int)(n), nil
		},
		"untilStep": func(start, stop, step int) ([]int, error) {
			if step != 0 {
				if err := count("untilStep", (stop-start)/step); err != nil {
					return nil, err
				}
			}
			return s["untilStep"].(func(int, int, int) []int)(start, stop, step), nil
		},
		"seq": func(params ...int) (string, error) {
			if len(params) > 0 {
				lo, hi := 1, params[len(params)-1]
				if len(params) > 1 {
					lo = params[0]
				}
				if err := count("seq", abs(hi-lo)); err != nil {
					return "", err
				}
			}
			return s["seq"].(func(...int) string)(params...), nil
		},
		"repeat": func(n int, str string) (string, error) {
			if err := count("repeat", n); err != nil || n > 0 && len(str) > maxListLen/n {
				if err == nil {
					err = count("repeat", n*len(str))
				}
				return "", err
			}
			return s["repeat"].(func(int, string) string)(n, str), nil
		},
		"indent": func(n int, str string) (string, error) {
			if err := count("indent", n); err != nil {
				return "", err
			}
			return s["indent"].(func(int, string) string)(n, str), nil
		},
		"nindent": func(n int, str string) (string, error) {
			if err := count("nindent", n); err != nil {
				return "", err
			}
			return s["nindent"].(func(int, string) string)(n, str), nil
		},
	}
	for _, name := range []string{"randAlphaNum", "randAlpha", "randNumeric", "randAscii"} {
		fn := s[name].(func(int) string)
		out[name] = func(n int) (string, error) {
			if err := count(name, n); err != nil {
				return "", err
			}
			return fn(n), nil
		}
	}
	return out
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
