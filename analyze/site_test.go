package analyze

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/sample"
)

// rates is what the site shows of a platform.
type rates struct {
	Platform                     string
	PassRate, CILow, CIHigh      *float64
	N                            int64
	Batches, RateBatches         int
	SmallSample                  bool
	Health                       *float64
	HealthLow, HealthHigh        *float64
	Infrastructure, HealthTested int64
}

func ratesOf(ps []PlatformStat) []rates {
	var out []rates
	for _, p := range ps {
		out = append(out, rates{p.Platform, p.PassRate, p.CILow, p.CIHigh, p.N, p.Batches, p.RateBatches, p.SmallSample,
			p.Health.FailureRate, p.Health.CILow, p.Health.CIHigh, p.Health.Infrastructure, p.Health.Tested})
	}
	return out
}

// TestSiteIsTheReport: every number the site shows is the report's. The
// main window is BuildReport's, each pre-rendered window the report of
// that window, each week's platform rates those of `report --since
// --until` for the week, and each past week's budget the report's at the
// week's end; at the env and family levels, with an ecosystem filter.
func TestSiteIsTheReport(t *testing.T) {
	for _, tc := range []struct {
		by   model.Level
		ecos []string
		last int
	}{{model.LevelEnv, nil, 0}, {model.LevelFamily, nil, 0}, {model.LevelEnv, []string{"npm"}, 0}, {model.LevelEnv, nil, 30}} {
		o := DefaultReportOptions(sample.Clock)
		o.By, o.Ecosystems, o.Last = tc.by, tc.ecos, tc.last
		so := DefaultSiteOptions(o)
		so.Weeks = 5
		s, err := BuildSite(sample.FS(), "sample", so)
		if err != nil {
			t.Fatal(err)
		}
		want, err := BuildReport(sample.FS(), "sample", o)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(Comparable(s.Report), Comparable(want)) {
			t.Errorf("by %v %v: the main report differs from BuildReport's", tc.by, tc.ecos)
		}
		anchor := *want.Window.Last
		for _, w := range s.Windows {
			// The window within the main one.
			wo := o
			wo.Until = anchor
			if w.Last > 0 && (o.Last == 0 || w.Last < o.Last) {
				wo.Last = w.Last
			}
			if w.Days > 0 {
				wo.Since = anchor.AddDate(0, 0, -w.Days)
			}
			for _, p := range w.Report.Platforms {
				if !slices.ContainsFunc(want.Platforms, func(q PlatformStat) bool { return q.Platform == p.Platform }) {
					t.Errorf("window %s has platform %s, the main window not", w.Slug, p.Platform)
				}
			}
			r, err := BuildReport(sample.FS(), "sample", wo)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ratesOf(w.Report.Platforms), ratesOf(r.Platforms)) || !reflect.DeepEqual(w.Report.Matrix, r.Matrix) ||
				!reflect.DeepEqual(w.Report.Categories, r.Categories) || w.Report.Batches != r.Batches {
				t.Errorf("by %v %v: window %s differs from its report", tc.by, tc.ecos, w.Slug)
			}
		}
		if len(s.Weeks) < 3 {
			t.Fatalf("%d weeks", len(s.Weeks))
		}
		points := 0
		for _, w := range s.Weeks {
			wo := o
			wo.Last = 0
			wo.Since, wo.Until = w.Start, w.Start.AddDate(0, 0, 7).Add(-time.Nanosecond)
			r, err := BuildReport(sample.FS(), "sample", wo)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := ratesOf(w.Platforms), ratesOf(r.Platforms); !reflect.DeepEqual(got, want) {
				t.Errorf("by %v %v: week of %s: %+v, the report's %+v", tc.by, tc.ecos, w.Start.Format(time.DateOnly), got, want)
			}
			for _, p := range w.Platforms {
				if p.CILow != nil {
					points++
				}
			}
		}
		if points == 0 {
			t.Error("no week has an interval")
		}
		for _, b := range s.Budgets[:len(s.Budgets)-1] {
			bo := o
			bo.Now = b.WeekStart.AddDate(0, 0, 7).Add(-time.Nanosecond)
			r, err := BuildReport(sample.FS(), "sample", bo)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(b, r.Budget) {
				t.Errorf("budget of the week of %s: %+v, the report's %+v", b.WeekStart.Format(time.DateOnly), b, r.Budget)
			}
		}
		if last := s.Budgets[len(s.Budgets)-1]; !reflect.DeepEqual(last, want.Budget) {
			t.Errorf("this week's budget differs from the report's")
		}
	}
}

// TestRecipeViewKeep: a recipe's view cut to its newest batches lists
// those of the whole view, and counts every batch in its platforms and
// transitions.
func TestRecipeViewKeep(t *testing.T) {
	rr, err := readRecipes(sample.FS(), "sample", func(string) bool { return true }, recipeHooks{}, 300)
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for pkg := range rr.outs {
		whole, n := rr.view(pkg, 0)
		if n != len(whole.Batches) || n < 4 {
			continue
		}
		cut, m := rr.view(pkg, 3)
		if m != n || !reflect.DeepEqual(cut.Batches, whole.Batches[n-3:]) || !reflect.DeepEqual(cut.Platforms, whole.Platforms) ||
			!reflect.DeepEqual(cut.Transitions, whole.Transitions) || !reflect.DeepEqual(cut.Notes, whole.Notes) {
			t.Errorf("%s: the cut view differs from the whole one's newest batches", pkg)
		}
		if checked++; checked == 50 {
			break
		}
	}
	if checked == 0 {
		t.Fatal("no recipe with four batches")
	}
}

// TestHolder: a failure record's platform key rolls up to the rate's
// platform that holds it.
func TestHolder(t *testing.T) {
	r := &Report{Platforms: []PlatformStat{{Platform: "linux-x86_64", Level: "job"}, {Platform: "darwin-arm64", Level: "env"}, {Platform: "linux-glibc-arm64", Level: "env"}}}
	for key, want := range map[string]string{
		"linux-glibc-x86_64":        "linux-x86_64",
		"linux-debian-glibc-x86_64": "linux-x86_64",
		"linux-x86_64":              "linux-x86_64",
		"linux-debian-glibc-arm64":  "linux-glibc-arm64",
		"linux-musl-arm64":          "linux-musl-arm64",
		"darwin-arm64":              "darwin-arm64",
		"not a platform":            "not a platform",
	} {
		if got := r.Holder(key); got != want {
			t.Errorf("Holder(%q) = %q, want %q", key, got, want)
		}
	}
}
