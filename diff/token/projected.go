package token

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rbacguard/rbacguard/diff/report"
	"github.com/rbacguard/rbacguard/diff/workload"
)

// longToken is the lifetime above which a projected token counts as long
// lived: a stolen one outlives any incident response of the same day.
const longToken = 24 * 60 * 60

// lifetime prints seconds as "1h", "90m" or "45s".
func lifetime(s int64) string {
	switch {
	case s != 0 && s%3600 == 0:
		return fmt.Sprintf("%dh", s/3600)
	case s != 0 && s%60 == 0:
		return fmt.Sprintf("%dm", s/60)
	}
	return fmt.Sprintf("%ds", s)
}

func audienceName(a string) string {
	if a == "" {
		return "the API server"
	}
	return quote(a)
}

// projected reports serviceAccountToken sources of projected volumes whose
// tokens live longer, become usable against the API server or go to a new
// audience. Sources are matched by workload, volume name and file path, so
// reordering volumes or sources changes nothing.
func (c *checker) projected(bs, hs *snapshot, scan bool) {
	pairs := pairWorkloads(bs, hs)
	for i, w := range hs.workloads {
		var before []workload.Projected
		if pairs[i] != nil {
			before = workload.ProjectedTokens(*pairs[i])
		}
		after := workload.ProjectedTokens(w)
		match := pairBy(before, after,
			func(p workload.Projected) string { return p.Volume + "\x00" + p.Path },
			func(p workload.Projected) string { return p.Volume })
		for k, p := range after {
			var b workload.Projected
			had := match[k] != nil
			if had {
				b = *match[k]
			}
			sev, changes, field := projectedChange(b, had, p, scan)
			if sev == "" {
				continue
			}
			at := w.LineOf(append(slices.Clip(p.Field), field)...)
			name := fmt.Sprintf("projected token %q of volume %q", p.Path, p.Volume)
			var msg string
			switch {
			case scan:
				msg = fmt.Sprintf("%s: %s is for %s and lives %s", w, name, audienceName(p.Audience), lifetime(p.ExpirationSeconds))
			case !had:
				msg = fmt.Sprintf("%s: new %s is for %s and lives %s", w, name, audienceName(p.Audience), lifetime(p.ExpirationSeconds))
			default:
				msg = fmt.Sprintf("%s: %s %s", w, name, strings.Join(changes, " and "))
			}
			risk := "a token for another audience can be replayed against that audience only"
			if workload.APIAudience(p.Audience) {
				risk = fmt.Sprintf("the API server accepts this token as ServiceAccount %s/%s until it expires, even outside the pod", w.Namespace, w.ServiceAccount)
			}
			c.add(report.Finding{
				ID:        id(report.TokenProjected, c.overlay, "projected", w.Kind, w.Namespace, w.Name, p.Volume, p.Path),
				Kind:      report.TokenProjected,
				Severity:  sev,
				Subject:   saSubject(w.Namespace, w.ServiceAccount),
				Workloads: wl(w),
				Location:  loc(at),
				Message:   msg,
				Risk:      risk,
			})
		}
	}
}

// projectedChange applies the table of the package documentation. It
// returns "" when nothing is worth reporting, the phrases that describe the
// change and the field of the serviceAccountToken map to point at.
func projectedChange(b workload.Projected, had bool, p workload.Projected, scan bool) (report.Severity, []string, string) {
	long := p.ExpirationSeconds > longToken
	api := workload.APIAudience(p.Audience)
	if scan {
		switch {
		case api && long:
			return report.High, nil, "expirationSeconds"
		case long:
			return report.Low, nil, "expirationSeconds"
		}
		return report.Info, nil, "audience"
	}
	if !had {
		if api {
			return pick(long, report.High, report.Medium), nil, "audience"
		}
		return report.Medium, nil, "audience"
	}
	sev := report.Severity("")
	var changes []string
	field := ""
	if p.Audience != b.Audience && !(api && workload.APIAudience(b.Audience)) {
		field = "audience"
		if api {
			sev = report.Max(sev, pick(long, report.High, report.Medium))
			changes = append(changes, fmt.Sprintf("is now for the API server (was for %q)", b.Audience))
			if p.ExpirationSeconds <= b.ExpirationSeconds {
				changes = append(changes, "lives "+lifetime(p.ExpirationSeconds))
			}
		} else {
			sev = report.Max(sev, report.Medium)
			changes = append(changes, fmt.Sprintf("is now for %q (was for %s)", p.Audience, audienceName(b.Audience)))
		}
	}
	if p.ExpirationSeconds > b.ExpirationSeconds {
		if field == "" {
			field = "expirationSeconds"
		}
		if api {
			sev = report.Max(sev, pick(long, report.High, report.Medium))
		} else {
			sev = report.Max(sev, pick(long, report.Medium, report.Low))
		}
		changes = append(changes, fmt.Sprintf("lives %s instead of %s", lifetime(p.ExpirationSeconds), lifetime(b.ExpirationSeconds)))
	}
	return sev, changes, field
}

func pick(cond bool, yes, no report.Severity) report.Severity {
	if cond {
		return yes
	}
	return no
}
