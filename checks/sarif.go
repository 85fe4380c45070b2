package checks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/owenrumney/go-sarif/v2/sarif"

	"github.com/rbacguard/rbacguard/diff/report"
)

// SARIFOptions describe the tool in the SARIF run.
type SARIFOptions struct {
	// Version is rbacguard's version; "dev" when empty.
	Version string
	// InformationURI is the tool's home page; the project's repository
	// when empty.
	InformationURI string
}

// DefaultInformationURI is where code scanning links the tool name.
const DefaultInformationURI = "https://github.com/rbacguard/rbacguard"

// fingerprintKey names rbacguard's finding id in partialFingerprints, so
// code scanning keeps one alert per finding across pushes.
const fingerprintKey = "rbacguardFindingId/v1"

// securitySeverity is the number code scanning turns back into a severity.
func securitySeverity(s report.Severity) string {
	switch s {
	case report.Critical:
		return "9.5"
	case report.High:
		return "8.0"
	case report.Medium:
		return "5.5"
	case report.Low:
		return "3.0"
	}
	return "1.0"
}

// sarifLevel maps a severity to a SARIF result level.
func sarifLevel(s report.Severity) string {
	switch s {
	case report.Critical, report.High:
		return "error"
	case report.Medium:
		return "warning"
	}
	return "note"
}

// WriteSARIF writes a SARIF 2.1.0 log with one run: one rule per finding
// kind (every kind, so rule indexes are stable across reports) and one
// result per finding. Exempted findings carry an accepted suppression with
// the exemption's reason, so code scanning shows them as dismissed rather
// than dropping them.
func WriteSARIF(w io.Writer, r *report.Report, o SARIFOptions) error {
	if r == nil {
		return fmt.Errorf("write sarif report: no report")
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.InformationURI == "" {
		o.InformationURI = DefaultInformationURI
	}
	log, err := sarif.New(sarif.Version210)
	if err != nil {
		return fmt.Errorf("write sarif report: %w", err)
	}
	run := sarif.NewRun(*sarif.NewTool(sarif.NewVersionedDriver("rbacguard", o.Version).WithInformationURI(o.InformationURI)))

	known := map[report.Kind]bool{}
	addRule := func(ki kindInfo) {
		known[ki.Kind] = true
		rule := run.AddRule(string(ki.Kind)).
			WithName(ki.Name).
			WithShortDescription(sarif.NewMultiformatMessageString(ki.Short)).
			WithFullDescription(sarif.NewMultiformatMessageString(ki.Full)).
			WithHelp(sarif.NewMultiformatMessageString(stripMarkdown(ki.Help)).WithMarkdown(ki.Help)).
			WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(sarifLevel(ki.Severity)))
		rule.Properties = sarif.Properties{
			"security-severity": securitySeverity(ki.Severity),
			"tags":              ki.Tags,
			"precision":         "high",
			"problem.severity":  problemSeverity(ki.Severity),
		}
	}
	for _, ki := range kinds() {
		addRule(ki)
	}

	for _, f := range ordered(r) {
		if !known[f.Kind] {
			addRule(infoFor(f.Kind)) // a kind newer than this formatter
		}
		text := sentence(f.Message)
		if f.Risk != "" {
			text += " Risk: " + sentence(f.Risk)
		}
		if len(f.Via) > 0 {
			text += " Via: " + sentence(chain(f.Via, nil))
		}
		if len(f.Workloads) > 0 {
			text += " Runs in: " + sentence(workloads(f.Workloads))
		}
		res := sarif.NewRuleResult(string(f.Kind)).
			WithLevel(sarifLevel(f.Severity)).
			WithMessage(sarif.NewTextMessage(text)).
			WithPartialFingerPrints(map[string]interface{}{fingerprintKey: f.ID})
		res.Properties = sarif.Properties{"severity": string(f.Severity), "overlay": f.Overlay}
		var loc *sarif.Location
		if f.Location.Path != "" {
			loc = sarif.NewLocationWithPhysicalLocation(physical(f.Location.Path, f.Location.Line))
			res.AddLocation(loc)
		}
		for i, v := range f.Via {
			if v.Path == "" {
				continue
			}
			rel := sarif.NewLocationWithPhysicalLocation(physical(v.Path, v.Line)).
				WithId(i + 1).
				WithMessage(sarif.NewTextMessage(refString(report.Ref{Kind: v.Kind, Namespace: v.Namespace, Name: v.Name, Field: v.Field}, nil)))
			res.RelatedLocations = append(res.RelatedLocations, rel)
		}
		if f.Exemption != nil {
			// go-sarif writes every suppression field, null or not, and
			// the schema wants objects and GUIDs there: fill them all.
			sloc := loc
			if sloc == nil {
				sloc = sarif.NewLocation()
			}
			res.Suppressions = append(res.Suppressions, sarif.NewSuppression("external").
				WithStatus("accepted").
				WithJustifcation(exemptionString(f.Exemption)).
				WithGuid(guid(f.ID)).
				WithLocation(sloc))
		}
		run.AddResult(res)
	}
	log.AddRun(run)
	if err := log.PrettyWrite(w); err != nil {
		return fmt.Errorf("write sarif report: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write sarif report: %w", err)
	}
	return nil
}

// problemSeverity is the older property code scanning reads for rules
// without security-severity.
func problemSeverity(s report.Severity) string {
	switch sarifLevel(s) {
	case "error":
		return "error"
	case "warning":
		return "warning"
	}
	return "recommendation"
}

func physical(path string, line int) *sarif.PhysicalLocation {
	pl := sarif.NewPhysicalLocation().
		WithArtifactLocation(sarif.NewSimpleArtifactLocation(path).WithUriBaseId("%SRCROOT%"))
	if line > 0 { // SARIF lines start at 1; a missing region means the whole file
		pl = pl.WithRegion(sarif.NewRegion().WithStartLine(line))
	}
	return pl
}

// guid derives a stable version-5-shaped UUID from a finding id.
func guid(id string) string {
	h := sha256.Sum256([]byte("rbacguard suppression\x00" + id))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// stripMarkdown turns the catalog's help into plain text for SARIF's text
// field: it drops the bold and code marks, which is all the catalog uses.
func stripMarkdown(s string) string {
	return strings.NewReplacer("**", "", "`", "").Replace(s)
}

// sentence ends s with a full stop, so parts read as one message.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") {
		return s
	}
	return s + "."
}
