package render

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/internal/safetext"
)

// SummaryLimit is the size a job summary is kept under. GitHub drops a step
// summary larger than 1 MiB whole; half of that leaves room to spare.
const SummaryLimit = 512 << 10

// Summary detail levels, from everything to the tables only.
const (
	DetailFull = iota
	DetailShortMessages
	DetailNoRecipes
	DetailTablesOnly
)

const shortExcerpt = 80

// duration is a time in seconds as every text and markdown output shows
// one: 4.2s (tenths under ten seconds), 5s, 41s, 43m 40s, 2h 05m (JSON
// keeps seconds).
func duration(f *float64) string {
	if f == nil {
		return "–"
	}
	if t := math.Round(*f*10) / 10; t < 10 && t != math.Trunc(t) {
		return fmt.Sprintf("%.1fs", t)
	}
	s := int64(math.Round(*f))
	switch {
	case s >= 3600:
		return fmt.Sprintf("%dh %02dm", s/3600, s%3600/60)
	case s >= 60:
		return fmt.Sprintf("%dm %02ds", s/60, s%60)
	default:
		return fmt.Sprintf("%ds", s)
	}
}

// SummaryMarkdown renders a batch's job summary within limit bytes,
// degrading in steps when it would not fit: messages trimmed (and the
// per-recipe list cut to the failures that fit), then the per-recipe detail
// dropped, then the tables only. A line containing "left out" says what was
// left out and where the full data is.
func SummaryMarkdown(s *analyze.Summary, limit int) (string, int) {
	for level := DetailFull; level < DetailTablesOnly; level++ {
		if out, got := summaryAt(s, level, limit); len(out) <= limit {
			return out, got
		}
	}
	out, _ := summaryAt(s, DetailTablesOnly, limit)
	if len(out) > limit {
		// Nothing else can go: cut at a line boundary and say so.
		cut := strings.LastIndexByte(out[:limit-200], '\n')
		out = out[:cut+1] + "\n_The summary was cut at " + fmt.Sprint(limit) + " bytes; left out: the rest of the tables. The full data is in the records._\n"
	}
	return out, DetailTablesOnly
}

// summaryAt renders the summary at one detail level. At
// DetailShortMessages the failure list keeps as many failures as fit in
// limit, and says how many it left out.
func summaryAt(s *analyze.Summary, level, limit int) (string, int) {
	var b strings.Builder
	fmt.Fprintf(&b, "## Batch %s: %s\n\n", MD(s.BatchID), MD(s.Ecosystem))
	fmt.Fprintf(&b, "Finished %s UTC: %d recipes, %d generated, %d merged.", s.Timestamp.UTC().Format("2006-01-02 15:04"), s.Total, s.Generated, s.Merged)
	if len(s.Ecosystems) > 0 {
		var parts []string
		for _, e := range sortedKeys(s.Ecosystems) {
			parts = append(parts, fmt.Sprintf("%s %d", MD(e), s.Ecosystems[e]))
		}
		fmt.Fprintf(&b, " Ecosystems: %s.", strings.Join(parts, ", "))
	}
	b.WriteString("\n\n")

	// The thresholds this batch crossed, as GitHub alert blocks.
	for _, w := range s.Warnings {
		msg := "**" + MD(w.Title) + ":** " + MD(w.Message)
		if rest, ok := strings.CutPrefix(w.Message, w.Title+" "); ok {
			msg = "**" + MD(w.Title) + "** " + MD(rest)
		}
		b.WriteString(mdAlert("WARNING", msg))
	}

	// The platform table, with the change against the previous batch of
	// the ecosystem in its last columns.
	var rows [][]string
	for _, p := range s.Platforms {
		skipped := fmt.Sprint(p.Skipped)
		if !p.SkippedKnown {
			skipped = "–"
		}
		pr := "–"
		if p.Tested > 0 {
			pr = pct(p.PassRate)
		}
		prev, delta := "–", "–"
		if p.Change != nil {
			prev = fmt.Sprintf("%s (%d)", pct(*p.PreviousPassRate), p.PreviousTested)
			delta = fmt.Sprintf("%+.1f", 100**p.Change)
		}
		rows = append(rows, []string{MD(p.Platform), fmt.Sprint(p.Tested), fmt.Sprint(p.Failed), skipped, pr, prev, delta, duration(p.DurationSeconds)})
	}
	mdTable(&b, []string{"Platform", "Tested", "Failed", "Skipped", "Pass rate", "Previous (n)", "Δ pts", "Duration"}, "right", rows)
	if s.Previous == "" {
		fmt.Fprintf(&b, "Previous: none, the first %s batch.\n\n", MD(s.Ecosystem))
	} else {
		fmt.Fprintf(&b, "Previous: %s, the ecosystem's batch before. One batch against another: no significance is claimed; `batchsli report` tests trends.\n\n", MD(s.Previous))
	}

	summaryTransitions(&b, s, level)

	// Top categories per platform.
	if len(s.Categories) > 0 {
		b.WriteString("**Top failure categories:**\n\n")
		byPlat := map[string][]string{}
		var order []string
		for _, c := range s.Categories {
			if _, ok := byPlat[c.Platform]; !ok {
				order = append(order, c.Platform)
			}
			if len(byPlat[c.Platform]) < 3 {
				byPlat[c.Platform] = append(byPlat[c.Platform], fmt.Sprintf("%s (%d)", MD(c.Category), c.Count))
			}
		}
		for _, p := range order {
			fmt.Fprintf(&b, "- %s: %s\n", MD(p), strings.Join(byPlat[p], ", "))
		}
		b.WriteString("\n")
	}

	// Budget.
	bu := s.Budget
	used := "unknown"
	if bu.UsedMinutes != nil {
		used = fmt.Sprintf("%.0f", *bu.UsedMinutes)
	}
	this := "unknown"
	if s.Minutes != nil {
		this = fmt.Sprintf("%.0f min", *s.Minutes)
	}
	fmt.Fprintf(&b, "**macOS budget:** %s min / %.0f min weekly (week of %s; this batch: %s); %s\n\n",
		used, bu.BudgetMinutes, bu.WeekStart.Format("Mon 2006-01-02"), this, MD(bu.Status))

	if level < DetailTablesOnly && (len(s.NewInsights) > 0 || len(s.ClearedInsights) > 0) {
		b.WriteString("**Insights this batch changed:**\n\n")
		for _, in := range s.NewInsights {
			fmt.Fprintf(&b, "- new **%s**: %s\n", kindTitle[in.Kind], MD(in.Evidence))
		}
		for _, in := range s.ClearedInsights {
			fmt.Fprintf(&b, "- no longer **%s**: %s\n", kindTitle[in.Kind], MD(in.Evidence))
		}
		b.WriteString("\n")
	}

	where := "the failure records"
	if len(s.FailureFiles) > 0 {
		var fs []string
		for _, f := range s.FailureFiles {
			fs = append(fs, MDCodeInline(f))
		}
		where = strings.Join(fs, ", ")
	}
	switch {
	case len(s.Failures) == 0:
	case level <= DetailShortMessages:
		max := 0
		if level == DetailShortMessages {
			max = shortExcerpt
		}
		recipes := map[string]bool{}
		for _, f := range s.Failures {
			recipes[f.PackageID] = true
		}
		var list strings.Builder
		// Room for the list: what the limit leaves after the rest, with a
		// margin for the closing lines.
		room := limit - b.Len() - 4096
		shown := 0
		for _, f := range s.Failures {
			line := failureLine(f, max)
			if level == DetailShortMessages && list.Len()+len(line) > room {
				break
			}
			list.WriteString(line)
			shown++
		}
		if shown == 0 {
			return summaryAt(s, DetailNoRecipes, limit) // not even one fits
		}
		fmt.Fprintf(&b, "<details>\n<summary>Failed recipes: %d failures of %d recipes</summary>\n\n", len(s.Failures), len(recipes))
		b.WriteString(list.String())
		b.WriteString("\n</details>\n\n")
		if level == DetailShortMessages {
			left := ""
			if shown < len(s.Failures) {
				left = fmt.Sprintf(" and only the first %d of the %d failures are listed (the other %d were left out)", shown, len(s.Failures), len(s.Failures)-shown)
			}
			fmt.Fprintf(&b, "_To fit GitHub's summary size limit, messages were trimmed to %d bytes (the rest of each message was left out)%s. The full data is in %s (batch %s)._\n\n", max, left, where, MD(s.BatchID))
		}
	case level == DetailNoRecipes:
		fmt.Fprintf(&b, "_To fit GitHub's summary size limit, the per-recipe detail (%d failures) was left out. The full data is in %s (batch %s)._\n\n", len(s.Failures), where, MD(s.BatchID))
	default:
		fmt.Fprintf(&b, "_To fit GitHub's summary size limit, only the tables are shown; the per-recipe detail (%d failures), the insights and the messages were left out. The full data is in %s and %s (batch %s)._\n\n",
			len(s.Failures), MDCodeInline(s.MetricsFile), where, MD(s.BatchID))
	}
	if s.Problems > 0 {
		fmt.Fprintf(&b, "_The data directory has %d problem records; run `batchsli validate`._\n\n", s.Problems)
	}
	return b.String(), level
}

func sortedKeys(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// OutputName makes a valid GitHub step output name from s: letters, digits,
// '_' and '-', starting with a letter or '_'.
func OutputName(s string) string {
	var b strings.Builder
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '_' || (i > 0 && (r >= '0' && r <= '9' || r == '-'))
		if ok {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// GitHubOutputs returns the summary's key figures as name=value lines for
// $GITHUB_OUTPUT.
func GitHubOutputs(s *analyze.Summary) string {
	var b strings.Builder
	kv := func(k, v string) {
		fmt.Fprintf(&b, "%s=%s\n", OutputName(k), strings.NewReplacer("\n", " ", "\r", " ").Replace(v))
	}
	kv("batch_id", s.BatchID)
	kv("ecosystem", s.Ecosystem)
	kv("tested", fmt.Sprint(s.Tested))
	kv("passed", fmt.Sprint(s.Passed))
	kv("failed", fmt.Sprint(s.Failed))
	kv("pass_rate", rateOut(s.PassRate))
	for _, p := range s.Platforms {
		var pr *float64
		if p.Tested > 0 {
			pr = &p.PassRate
		}
		kv("pass_rate_"+p.Platform, rateOut(pr))
		kv("failed_"+p.Platform, fmt.Sprint(p.Failed))
	}
	if s.Budget.UsedMinutes != nil {
		kv("macos_minutes_week", fmt.Sprintf("%.0f", *s.Budget.UsedMinutes))
	} else {
		kv("macos_minutes_week", "unknown")
	}
	kv("macos_budget_minutes", fmt.Sprintf("%.0f", s.Budget.BudgetMinutes))
	kv("warnings", fmt.Sprint(len(s.Warnings)))
	return b.String()
}

func rateOut(r *float64) string {
	if r == nil {
		return "unknown"
	}
	return fmt.Sprintf("%.4f", *r)
}

// Annotations returns workflow commands (::warning::) for the thresholds a
// batch crossed, escaped as GitHub's workflow command syntax requires.
func Annotations(s *analyze.Summary) string {
	data := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A")
	prop := strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C")
	var b strings.Builder
	for _, w := range s.Warnings {
		// Control, C1 and bidi characters are escaped first: a runner log
		// is a terminal too.
		fmt.Fprintf(&b, "::warning title=%s::%s\n", prop.Replace(safetext.EscapeLines(w.Title)), data.Replace(safetext.EscapeLines(w.Message)))
	}
	return b.String()
}

// failureLine is one failure of the per-recipe list; max > 0 trims the
// message excerpt.
func failureLine(f analyze.SummaryFailure, max int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "- **%s** on %s: %s", MD(f.PackageID), MD(f.Platform), MD(f.Category))
	if len(f.BlockedBy) > 0 {
		var bl []string
		for _, d := range f.BlockedBy {
			bl = append(bl, MDCodeInline(d))
		}
		fmt.Fprintf(&b, ", blocked by %s", strings.Join(bl, ", "))
	}
	if f.ExitCode != nil {
		fmt.Fprintf(&b, ", exit %d", *f.ExitCode)
	}
	if msg := f.Excerpt; msg != "" {
		if max > 0 {
			msg = analyze.Excerpt(msg, max)
		}
		fmt.Fprintf(&b, ": %s", MDCodeInline(msg))
	}
	b.WriteString("\n")
	return b.String()
}

// MaxSummaryTransitions bounds the job summary's transition table; the
// JSON summary holds every transition.
const MaxSummaryTransitions = 40

// summaryTransitions writes the batch's recipe transitions: a compact
// table (recipe x platform, with the previous outcome), newly failing
// first; counts only once the summary must shrink.
func summaryTransitions(b *strings.Builder, s *analyze.Summary, level int) {
	if !s.Outcomes {
		if s.SchemaVersion >= 2 {
			b.WriteString("_This batch has no outcome record, so which recipes newly failed or were fixed is not known._\n\n")
		}
		return
	}
	n := map[string]int{}
	for _, t := range s.Transitions {
		n[t.Kind]++
	}
	fmt.Fprintf(b, "**Recipes against their previous test on each platform:** %d newly failing, %d newly fixed, %d still failing.",
		n[analyze.NewlyFailing], n[analyze.NewlyFixed], n[analyze.StillFailing])
	if len(s.Transitions) == 0 || level >= DetailNoRecipes {
		b.WriteString("\n\n")
		return
	}
	b.WriteString("\n\n")
	var rows [][]string
	for i, t := range s.Transitions {
		if i == MaxSummaryTransitions {
			break
		}
		c := transitionCells(t, MD)
		rows = append(rows, []string{c[1], c[2], c[3], c[5], c[4]})
	}
	mdTable(b, []string{"Recipe", "Platform", "Change", "Now", "Before (batch)"}, "", rows)
	if more := len(s.Transitions) - len(rows); more > 0 {
		fmt.Fprintf(b, "_And %d more transitions, left out here; `batchsli summary --format json` lists them all._\n\n", more)
	}
}

// mdAlert is a GitHub alert block (> [!NOTE], > [!WARNING], ...) holding
// one paragraph of escaped markdown.
func mdAlert(kind, text string) string {
	return "> [!" + kind + "]\n> " + strings.ReplaceAll(text, "\n", " ") + "\n\n"
}
