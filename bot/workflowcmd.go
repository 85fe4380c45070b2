package bot

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/rbacguard/rbacguard/checks"
)

// Actions limits (actions/toolkit, docs "Workflow commands" and "Adding a
// job summary").
const (
	// MaxCommandsPerLevel: the runner shows at most 10 error, 10 warning
	// and 10 notice annotations per step and drops the rest silently.
	MaxCommandsPerLevel = 10
	// MaxStepSummaryBytes: over 1 MiB the whole step summary is dropped
	// ("$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size
	// of 1024k").
	MaxStepSummaryBytes = 1 << 20
)

// EscapeData escapes the message of a workflow command, as the runner
// unescapes it: % first, then CR and LF.
func EscapeData(s string) string {
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	return strings.ReplaceAll(s, "\n", "%0A")
}

// EscapeProperty escapes a property value (file, title): as EscapeData,
// plus ':' and ',' which separate properties.
func EscapeProperty(s string) string {
	s = EscapeData(s)
	s = strings.ReplaceAll(s, ":", "%3A")
	return strings.ReplaceAll(s, ",", "%2C")
}

// commandLevel maps a check-run annotation level to a workflow command.
func commandLevel(level string) string {
	switch level {
	case checks.LevelFailure:
		return "error"
	case checks.LevelWarning:
		return "warning"
	}
	return "notice"
}

// WriteWorkflowCommands writes annotations as workflow commands
// (`::error file=…,line=…,title=…::message`), at most perLevel of each
// level (0: MaxCommandsPerLevel) in the order given — most severe first
// when they come from checks.CheckRun — and then one plain line counting
// what was left out and where to read it. It returns how many it left out.
func WriteWorkflowCommands(w io.Writer, anns []checks.Annotation, perLevel int) (int, error) {
	if perLevel <= 0 {
		perLevel = MaxCommandsPerLevel
	}
	shown := map[string]int{}
	left := 0
	for _, a := range anns {
		lvl := commandLevel(a.Level)
		if shown[lvl] >= perLevel {
			left++
			continue
		}
		shown[lvl]++
		props := []string{"file=" + EscapeProperty(a.Path)}
		if a.StartLine > 0 {
			props = append(props, fmt.Sprintf("line=%d", a.StartLine))
			if a.EndLine > a.StartLine {
				props = append(props, fmt.Sprintf("endLine=%d", a.EndLine))
			}
		}
		if a.Title != "" {
			props = append(props, "title="+EscapeProperty(a.Title))
		}
		if _, err := fmt.Fprintf(w, "::%s %s::%s\n", lvl, strings.Join(props, ","), EscapeData(a.Message)); err != nil {
			return left, fmt.Errorf("write workflow command: %w", err)
		}
	}
	if left > 0 {
		if _, err := fmt.Fprintf(w, "rbacguard: %d more %s not shown as annotations (GitHub shows at most %d per level and step); the job summary lists every finding.\n",
			left, pluralWord(left, "finding", "findings"), perLevel); err != nil {
			return left, fmt.Errorf("write workflow command: %w", err)
		}
	}
	return left, nil
}

// Output is one step output.
type Output struct{ Name, Value string }

// WriteOutputs appends outputs to the GITHUB_OUTPUT file in the heredoc
// form `name<<DELIM`, value, `DELIM`, which is safe for any value: the
// delimiter is random and checked not to occur in the value.
func WriteOutputs(w io.Writer, outs []Output) error {
	var b strings.Builder
	for _, o := range outs {
		if o.Name == "" || strings.ContainsAny(o.Name, "\r\n=<") {
			return fmt.Errorf("write output %q: invalid name", o.Name)
		}
		delim := ""
		for delim == "" || strings.Contains(o.Value, delim) {
			var buf [12]byte
			if _, err := rand.Read(buf[:]); err != nil {
				return fmt.Errorf("write output %s: %w", o.Name, err)
			}
			delim = "ghadelimiter_" + hex.EncodeToString(buf[:])
		}
		fmt.Fprintf(&b, "%s<<%s\n%s\n%s\n", o.Name, delim, o.Value, delim)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write outputs: %w", err)
	}
	return nil
}

// CapSummary keeps a job summary under max bytes (0: MaxStepSummaryBytes),
// cutting on a line, or else a rune, boundary and saying so.
func CapSummary(s string, max int) string {
	if max <= 0 {
		max = MaxStepSummaryBytes
	}
	if len(s) <= max {
		return s
	}
	const note = "\n\n> **Summary truncated**: it was over GitHub's step-summary limit. The JSON report (output `report`) has every finding.\n"
	keep := max - len(note)
	if keep < 0 {
		keep = 0
	}
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	cut := s[:keep]
	if i := strings.LastIndexByte(cut, '\n'); i > 0 {
		cut = cut[:i]
	}
	return cut + note
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
