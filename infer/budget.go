// Package infer turns aggregates into estimates and decisions: today the
// macOS budget forecast. It reads no files and prints nothing; the methods
// and their references are in docs/METHODS.md.
package infer

import (
	"math"
	"math/rand/v2"
	"sort"

	"github.com/batchsli/batchsli/stats"
)

// BudgetInput is what the forecast knows at one moment of a budget week.
type BudgetInput struct {
	Used      float64 // minutes used so far this week
	Budget    float64 // the week's budget in minutes
	Remaining float64 // days left in the week (may be fractional)
	// Daily holds the minutes used on each of the trailing days (24-hour
	// slots ending now), oldest first, zeros included.
	Daily []float64
}

// Forecast is the week's projected total with its uncertainty.
type Forecast struct {
	MeanPerDay float64 // the trailing days' mean
	// Projected is the median of the week's total, Low and High its 5%
	// and 95% prediction quantiles.
	Projected, Low, High float64
	// PExceed is the chance the week's total reaches the budget.
	PExceed float64
	// RunOut holds the 5%, 50% and 95% quantiles of when the budget is
	// reached, in days from now; +Inf where that quantile falls after the
	// week's end.
	RunOut [3]float64
}

// ForecastPaths is the number of simulated weeks; the forecast's own
// sampling error on PExceed is then below 0.004.
const ForecastPaths = 20000

// BudgetForecast projects the rest of the week by resampling whole days of
// the trailing window (a bootstrap of daily totals, Efron and Tibshirani
// 1993): each simulated future day draws one of the trailing days' totals,
// so the busy and idle days of the real history, and their spread (which
// batches arriving in bursts make wider than a Poisson count would), carry
// over. The seed is fixed: the same input gives the same forecast.
func BudgetForecast(in BudgetInput) Forecast {
	f := Forecast{Projected: in.Used, Low: in.Used, High: in.Used, RunOut: [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}}
	if len(in.Daily) == 0 {
		return f
	}
	for _, d := range in.Daily {
		f.MeanPerDay += d
	}
	f.MeanPerDay /= float64(len(in.Daily))
	if in.Used >= in.Budget {
		f.PExceed = 1
		f.RunOut = [3]float64{0, 0, 0}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	totals := make([]float64, ForecastPaths)
	runOut := make([]float64, ForecastPaths)
	exceed := 0
	for p := range totals {
		total, when := in.Used, math.Inf(1)
		if total >= in.Budget {
			when = 0
		}
		for day := 0.0; day < in.Remaining; day++ {
			length := math.Min(1, in.Remaining-day)
			add := in.Daily[rng.IntN(len(in.Daily))] * length
			if math.IsInf(when, 1) && total+add >= in.Budget && add > 0 {
				when = day + length*(in.Budget-total)/add
			}
			total += add
		}
		totals[p], runOut[p] = total, when
		if total >= in.Budget {
			exceed++
		}
	}
	sort.Float64s(totals)
	sort.Float64s(runOut)
	f.Projected, f.Low, f.High = stats.Quantile(totals, 0.5), stats.Quantile(totals, 0.05), stats.Quantile(totals, 0.95)
	f.PExceed = float64(exceed) / ForecastPaths
	for i, q := range []float64{0.05, 0.5, 0.95} {
		f.RunOut[i] = runOut[int(math.Min(float64(len(runOut)-1), math.Floor(q*float64(len(runOut)))))]
	}
	return f
}
