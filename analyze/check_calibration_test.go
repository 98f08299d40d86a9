package analyze

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/batchsli/batchsli/infer"
	"github.com/batchsli/batchsli/stats"
)

// betaBinomial draws the failures of n tests whose failure probability is
// itself Beta with mean mu and intra-batch correlation rho.
func betaBinomial(rng *rand.Rand, n int64, mu, rho float64) int64 {
	p := stats.BetaDraw(rng, mu, rho)
	var k int64
	for range n {
		if rng.Float64() < p {
			k++
		}
	}
	return k
}

// sloCalibration re-checks k independent series after every batch, as
// record's gate does, from batch warm on to batch total; each series'
// failure rate is burn times the budget (1 - target) from batch onset on
// (and on budget before). It returns the share of checks with any warn or
// breach (family-wise over the k series), and the share of series that
// raised one within detect batches of the onset.
func sloCalibration(seed uint64, reps, k int, target, rho, burn float64, onset, detect int) (alarmShare, detected float64) {
	const warm, total, window = 40, 300, DefaultSLOWindow
	budget := 1 - target
	checks, alarms, series, found := 0, 0, 0, 0
	for rep := range reps {
		rng := rand.New(rand.NewPCG(seed, uint64(rep)))
		obs := make([][]infer.Obs, k)
		first := make([]int, k)
		for i := range first {
			first[i] = -1
		}
		for b := range total {
			for i := range k {
				n := int64(20 + rng.IntN(41))
				mu := budget
				if b >= onset {
					mu = math.Min(0.95, burn*budget)
				}
				obs[i] = append(obs[i], infer.Obs{Batch: int32(b), Tested: n, Passed: betaBinomial(rng, n, mu, rho)})
			}
			if b < warm {
				continue
			}
			any := false
			for i := range k {
				r := evaluateSeries(sloSeries{slo: SLO{Name: "s", Objective: ObjectivePassRate, Target: target, Window: window}, platform: fmt.Sprint(i), obs: obs[i]}, DefaultBurn, k)
				if r.Status == StatusWarn || r.Status == StatusBreach {
					any = true
					if first[i] < 0 && b >= onset {
						first[i] = b
					}
				}
			}
			checks++
			if any {
				alarms++
			}
		}
		for i := range k {
			series++
			if first[i] >= 0 && first[i] < onset+detect {
				found++
			}
		}
	}
	return float64(alarms) / float64(checks), float64(found) / float64(series)
}

// TestSLOGateCalibration: eleven platforms on budget (burn 1), overdispersed
// batches (rho 0.1, design effects near 4), re-checked after every batch:
// the share of checks that raise any warn or breach stays under the
// family-wise alpha (0.01). Power: the share of platforms whose burn jumped
// to 2, 3 or 5 that are flagged within 25 batches (logged, and at burn 5
// required to be high). docs/METHODS.md quotes the long run's figures.
func TestSLOGateCalibration(t *testing.T) {
	reps := 4
	if *calibrationLong {
		reps = 100
	}
	if testing.Short() || raceOn {
		reps = 1
	}
	for _, tt := range []struct {
		target, rho float64
	}{{0.9, 0.1}, {0.9, 0.02}, {0.98, 0.1}, {0.98, 0.02}, {0.9, 0.3}} {
		fa, _ := sloCalibration(11, reps, 11, tt.target, tt.rho, 1, 1<<30, 0)
		t.Logf("target %.2f, rho %.2f, on budget: %.4f of %d checks raised an alarm", tt.target, tt.rho, fa, reps*260)
		if fa > DefaultBurn.Alpha {
			t.Errorf("target %.2f, rho %.2f: false alarms in %.3f of checks, above alpha %.2f", tt.target, tt.rho, fa, DefaultBurn.Alpha)
		}
		for _, burn := range []float64{2, 3, 5} {
			_, power := sloCalibration(12, reps, 11, tt.target, tt.rho, burn, 150, 25)
			t.Logf("target %.2f, rho %.2f, burn %.0f from batch 150: %.2f of platforms flagged within 25 batches", tt.target, tt.rho, burn, power)
			if burn == 5 && tt.target == 0.9 && tt.rho <= 0.1 && power < 0.9 {
				t.Errorf("target %.2f, rho %.2f, burn 5: only %.2f flagged within 25 batches", tt.target, tt.rho, power)
			}
		}
	}
}

// TestBurnAtThreshold: a burn rate exactly at the threshold counts, though
// 1 - 0.98 is not 0.02 in binary (2 failures in 25 tests against a 98%
// target is a burn rate of 4, which floating point makes 3.9999999999999964).
func TestBurnAtThreshold(t *testing.T) {
	var obs []infer.Obs
	for i := range 400 {
		obs = append(obs, infer.Obs{Batch: int32(i), Tested: 25, Passed: 2})
	}
	r := evaluateSeries(sloSeries{slo: SLO{Name: "x", Objective: ObjectivePassRate, Target: 0.98, Window: 400}, platform: "p", obs: obs}, DefaultBurn, 1)
	if r.Status != StatusBreach || r.Windows[0].Burn != 4 {
		t.Errorf("status %s, burn %v; want breach at 4", r.Status, r.Windows[0].Burn)
	}
}
