package analyze

import (
	"fmt"

	"github.com/batchsli/batchsli/infer"
	"sort"
	"strings"

	"github.com/batchsli/batchsli/model"
)

// pct formats a fraction as a percentage with one decimal.
func pct(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) }

func ciText(lo, hi float64) string { return fmt.Sprintf("95%% CI %s–%s", pct(lo), pct(hi)) }

// capabilityGaps names, per platform, the causes that alone explain the most
// failing recipes. Infrastructure categories are not capability gaps.
func capabilityGaps(rep *Report, fa *failureAgg, o ReportOptions) {
	counts, failing := fa.gapCounts()
	capabilityGapsFrom(rep, counts, failing, o)
}

// capabilityGapsFrom states the capability gaps of counts and failing
// (failureAgg.gapCounts).
func capabilityGapsFrom(rep *Report, counts map[cause]int64, failing map[string]int64, o ReportOptions) {
	byPlat := map[string][]cause{}
	for c, n := range counts {
		if n < 2 || (c.dep == "" && model.CategoryKind(c.category) == model.KindInfrastructure) {
			continue
		}
		byPlat[c.platform] = append(byPlat[c.platform], c)
	}
	var gaps []Insight
	for p, cs := range byPlat {
		sort.Slice(cs, func(i, j int) bool {
			if counts[cs[i]] != counts[cs[j]] {
				return counts[cs[i]] > counts[cs[j]]
			}
			if cs[i].dep != cs[j].dep {
				return cs[i].dep < cs[j].dep
			}
			return cs[i].category < cs[j].category
		})
		if len(cs) > o.TopGaps {
			cs = cs[:o.TopGaps]
		}
		for _, c := range cs {
			n := counts[c]
			in := Insight{Kind: KindGap, Platform: p, Category: c.category, BlockedBy: []string{}, Recipes: n, FailingRecipes: failing[p]}
			if c.dep != "" {
				in.BlockedBy = []string{c.dep}
				in.Evidence = fmt.Sprintf("on %s, %d of %d failing recipes fail only because they are blocked by %s: providing it would unlock up to %d recipes",
					p, n, failing[p], c.dep, n)
			} else {
				in.Evidence = fmt.Sprintf("on %s, %d of %d failing recipes fail only with %s: fixing it would unlock up to %d recipes",
					p, n, failing[p], c.category, n)
			}
			gaps = append(gaps, in)
		}
	}
	sort.SliceStable(gaps, func(i, j int) bool {
		if gaps[i].Recipes != gaps[j].Recipes {
			return gaps[i].Recipes > gaps[j].Recipes
		}
		if gaps[i].Platform != gaps[j].Platform {
			return gaps[i].Platform < gaps[j].Platform
		}
		return strings.Join(gaps[i].BlockedBy, ",")+gaps[i].Category < strings.Join(gaps[j].BlockedBy, ",")+gaps[j].Category
	})
	rep.Insights = append(rep.Insights, gaps...)
	var total int64
	for _, n := range failing {
		total += n
	}
	if len(gaps) == 0 {
		rep.Verdicts.CapabilityGaps = fmt.Sprintf("no single cause explains two or more failing recipes on any platform (%d failing recipe x platform pairs in the window)", total)
	} else {
		rep.Verdicts.CapabilityGaps = fmt.Sprintf("%d gap(s) named in the insights, ranked by recipes unlocked (%d failing recipe x platform pairs in the window)", len(gaps), total)
	}
}

// notes writes the footnotes that state the denominators and caveats.
func notes(rep *Report, o ReportOptions, sawV1 bool, levels map[string]platInfo, fa *failureAgg) {
	rep.Notes = append(rep.Notes, "Tested counts one result per recipe and platform key: a recipe tested on three Linux families counts three times at the family level."+
		" Passed + failed = tested; skipped recipes (not tested there, for example after failing earlier) are not in the pass rate.")
	if sawV1 {
		rep.Notes = append(rep.Notes, "Older (v1) records key Linux by validation job (linux-x86_64, linux-arm64) and count one result per recipe x distribution family; they do not count skips.")
	}
	var coarse []string
	for id, info := range levels {
		if info.coarser {
			coarse = append(coarse, fmt.Sprintf("%s (%s)", id, info.level))
		}
	}
	if len(coarse) > 0 {
		sort.Strings(coarse)
		rep.Notes = append(rep.Notes, fmt.Sprintf("Records coarser than the level asked (%s) are reported at their own level, never split: %s.", o.By, strings.Join(coarse, ", ")))
	}
	if rep.EmptyRuns > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d runs in the window tested nothing; they are not counted as batches.", rep.EmptyRuns))
	}
	var over []string
	for _, p := range rep.Platforms {
		if n := p.RecipeFailures + p.InfrastructureFailures; n > p.Failed {
			over = append(over, fmt.Sprintf("%s (%d records, %d failed)", p.Platform, n, p.Failed))
		}
	}
	if len(over) > 0 {
		rep.Notes = append(rep.Notes, "Some platforms have more failure records than failed tests: the failure files also hold failures from outside validation (such as generation), which the batch counters do not count: "+strings.Join(over, ", ")+".")
	}
	rep.Notes = append(rep.Notes, fmt.Sprintf("Failure records (%d in the window) fall in the window by batch ID where they carry one, else by time; categories network_error and timeout are infrastructure failures and do not count against a recipe.", fa.records))
	rep.Notes = append(rep.Notes, fmt.Sprintf("Pass rates count recipe results: a test that failed with network_error or timeout is the infrastructure's and is left out, as is every result of a batch that was an incident on the platform (at least %d infrastructure failures making up at least %.0f%% of its tests); runner health reports them.", incidentMin, 100*incidentShare))
	rep.Notes = append(rep.Notes, fmt.Sprintf("Intervals are 95%% with batches as clusters: Wilson on the effective number of tests with Student's t on batches-1 degrees of freedom (Korn-Graubard near 0 and 1), the design effect at least the one the pooled intra-batch correlation (%.2f) implies; none from fewer than %d batches, and rates from fewer than %d batches or %d tests are small samples. Trends compare ecosystem by ecosystem (Mantel-Haenszel weights); trend and skip claims need a Benjamini-Hochberg q <= %.2f. docs/METHODS.md states each method.", rep.Inference.ICC, infer.MinBatches, infer.MinBatches, infer.MinTests, infer.Q))
	var moved []string
	for _, p := range rep.Platforms {
		if t := p.Trend; t != nil && t.Testable && t.MixShift >= 0.2 {
			moved = append(moved, fmt.Sprintf("%s (%.0f%%)", p.Platform, 100*t.MixShift))
		}
	}
	if len(moved) > 0 {
		rep.Notes = append(rep.Notes, "The ecosystem mix differs between the trend's windows (share of tests that changed ecosystem): "+strings.Join(moved, ", ")+"; the crude change mixes ecosystems, the trend's change compares like with like.")
	}
	if anyGated(rep) {
		rep.Notes = append(rep.Notes, "Gated platforms are tested only on what passed their gates (progressive validation, inferred by `batchsli record` from the skips): their pass rate is given passing the gates, their yield counts passes per recipe entering the batch, and they are ranked only against platforms with the same gates.")
	}
	if len(o.Ecosystems) > 0 || len(o.Platforms) > 0 {
		rep.Notes = append(rep.Notes, "Filters apply to pass rates, categories and insights; the macOS budget always counts every batch of the week.")
	}
	for _, e := range o.Ecosystems {
		if e == model.Mixed {
			rep.Notes = append(rep.Notes, "`mixed` holds v1 runs that spanned several ecosystems: they cannot be split and are never apportioned.")
		}
	}
}

func anyGated(r *Report) bool {
	for _, p := range r.Platforms {
		if len(p.GatedBy) > 0 {
			return true
		}
	}
	return false
}
