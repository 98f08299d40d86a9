package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/internal/safetext"
)

// CheckText writes the gate's result for a terminal or a log, wrapped to
// o.Width (0: no limit).
func CheckText(w io.Writer, c *analyze.Check, o TextOptions) error {
	var b strings.Builder
	para := func(prefix, text string, indent int) {
		for _, l := range hanging(prefix, text, o.Width, indent) {
			b.WriteString(l + "\n")
		}
	}
	para("macos="+c.MacOS+": ", Clean(c.MacOSReason), 2)
	switch {
	case len(c.SLOs) == 0:
		para("slo="+c.SLO+": ", "no SLO configured (batchsli.toml, [[slo]])", 2)
	default:
		para("slo="+c.SLO+": ", fmt.Sprintf("%d series evaluated (burn-rate alerts: breach at %.1fx, warn at %.1fx, family-wise false-alarm rate %.2g)", c.Series, c.Burn.BreachRate, c.Burn.WarnRate, c.Burn.Alpha), 2)
		for _, s := range c.SLOs {
			where := Clean(s.Platform)
			if where == "" {
				where = "no platform yet"
			}
			if s.Ecosystem != "" {
				where += ", " + Clean(s.Ecosystem)
			}
			para("  "+statusMark(s.Status)+" ", fmt.Sprintf("%s (%s %.4g) on %s: %s", Clean(s.Name), s.Objective, s.Target, where, Clean(s.Evidence)), 9)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func statusMark(s string) string {
	switch s {
	case analyze.StatusBreach:
		return "BREACH"
	case analyze.StatusWarn:
		return "WARN  "
	case analyze.StatusTooFew:
		return "--    "
	}
	return "ok    "
}

// CheckOutputs is the gate's $GITHUB_OUTPUT lines.
func CheckOutputs(c *analyze.Check) string {
	var b strings.Builder
	kv := func(k, v string) {
		fmt.Fprintf(&b, "%s=%s\n", k, strings.NewReplacer("\n", " ", "\r", " ").Replace(safetext.Escape(v)))
	}
	kv("macos", c.MacOS)
	kv("slo", c.SLO)
	if c.Budget.UsedShare != nil {
		kv("macos_used_share", fmt.Sprintf("%.4f", *c.Budget.UsedShare))
	} else {
		kv("macos_used_share", "unknown")
	}
	n := map[string]int{}
	for _, s := range c.SLOs {
		n[s.Status]++
	}
	kv("slo_breaches", fmt.Sprint(n[analyze.StatusBreach]))
	kv("slo_warnings", fmt.Sprint(n[analyze.StatusWarn]))
	return b.String()
}

// CheckAnnotations are workflow commands for what the gate found: a
// warning for a macOS pause or sample and for each SLO warn, an error for
// each breach.
func CheckAnnotations(c *analyze.Check) string {
	var b strings.Builder
	if c.MacOS != "run" {
		b.WriteString(annotation("warning", "macOS "+c.MacOS, c.MacOSReason))
	}
	for _, s := range c.SLOs {
		level := ""
		switch s.Status {
		case analyze.StatusBreach:
			level = "error"
		case analyze.StatusWarn:
			level = "warning"
		default:
			continue
		}
		b.WriteString(annotation(level, fmt.Sprintf("SLO %s: %s on %s", s.Status, s.Name, s.Platform), s.Evidence))
	}
	return b.String()
}

// annotation is one workflow command, escaped as GitHub's workflow command
// syntax requires (control, C1 and bidi characters first: a runner log is
// a terminal too).
func annotation(level, title, msg string) string {
	data := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	prop := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	return fmt.Sprintf("::%s title=%s::%s\n", level, prop.Replace(safetext.EscapeLines(title)), data.Replace(safetext.EscapeLines(msg)))
}
