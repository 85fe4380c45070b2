package report

import (
	"fmt"
	"slices"
)

// Severity ranks findings; the gate fails at or above a threshold.
type Severity string

const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	Info     Severity = "info"
	// None is only a threshold: a gate that never fails.
	None Severity = "none"
)

// Severities lists the real severities, most severe first.
var Severities = []Severity{Critical, High, Medium, Low, Info}

// Rank orders severities: critical 5 … info 1, none 0.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 5
	case High:
		return 4
	case Medium:
		return 3
	case Low:
		return 2
	case Info:
		return 1
	}
	return 0
}

// AtLeast reports whether s is as severe as t or more.
func (s Severity) AtLeast(t Severity) bool { return s.Rank() >= t.Rank() }

// Raised is the next severity up; critical stays critical.
func (s Severity) Raised() Severity {
	if i := slices.Index(Severities, s); i > 0 {
		return Severities[i-1]
	}
	return s
}

// Max returns the more severe of s and t.
func Max(s, t Severity) Severity {
	if t.Rank() > s.Rank() {
		return t
	}
	return s
}

// ParseSeverity accepts the names above, "none" included.
func ParseSeverity(s string) (Severity, error) {
	switch v := Severity(s); v {
	case Critical, High, Medium, Low, Info, None:
		return v, nil
	}
	return "", fmt.Errorf("unknown severity %q: want critical, high, medium, low, info or none", s)
}

// String implements pflag.Value.
func (s Severity) String() string { return string(s) }

// Set implements pflag.Value so that --fail-on is validated by the flag parser.
func (s *Severity) Set(v string) error {
	p, err := ParseSeverity(v)
	if err != nil {
		return err
	}
	*s = p
	return nil
}

// Type implements pflag.Value.
func (s *Severity) Type() string { return "severity" }

// MarshalText keeps the summary map keyed by name in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s), nil }
