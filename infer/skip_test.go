package infer

import (
	"math"
	"math/rand/v2"
	"testing"
)

// simulateCell draws a cell of batches: each batch's failure probability is
// rate plus or minus d (so the intra-batch correlation is d^2/(rate(1-rate))),
// and its tests fail independently given it.
func simulateCell(rng *rand.Rand, rate, icc float64, batches, perBatch int) []Obs {
	d := math.Sqrt(icc * rate * (1 - rate))
	obs := make([]Obs, batches)
	for b := range obs {
		p := rate + d
		if rng.IntN(2) == 0 {
			p = rate - d
		}
		obs[b] = Obs{Batch: int32(b), Tested: int64(perBatch), Passed: int64(perBatch)}
		for i := 0; i < perBatch; i++ {
			if rng.Float64() < p {
				obs[b].Passed--
			}
		}
	}
	return obs
}

// skipReport tests every cell of a matrix with the matrix's pooled
// intra-batch correlation.
func skipReport(cells [][]Obs, thr float64) []SkipTest {
	d := EstimateICC(cells)
	tests := make([]SkipTest, len(cells))
	for c := range cells {
		tests[c] = TestSkip(cells[c], thr, d)
	}
	return tests
}

// TestSkipCalibration: reports of 40 cells whose failure rate sits exactly
// at the threshold (the hardest null), with intra-batch correlation 0 to
// 0.2, advise a skip in at most 5% of reports (plus simulation error); the
// power to find one cell failing 95% of the time is logged and held to what
// was measured.
func TestSkipCalibration(t *testing.T) {
	const thr, cells = 0.8, 40
	reports := 200
	if raceOn {
		reports = 50
	}
	rng := rand.New(rand.NewPCG(11, 12))
	// The power measured with this seed (of 200 reports): 199 at icc 0,
	// 150 at 0.05, 0 at 0.2. At icc 0.2 a batch of 20 is worth under five
	// independent tests, and eight batches cannot tell 95% from 80% among
	// forty cells: the advice waits for more batches rather than guess.
	minPower := map[float64]int{0: 190, 0.05: 130, 0.2: 0}
	for _, icc := range []float64{0, 0.05, 0.2} {
		falseReports := 0
		for r := 0; r < reports; r++ {
			m := make([][]Obs, cells)
			for c := range m {
				m[c] = simulateCell(rng, thr, icc, 3+rng.IntN(10), 5+rng.IntN(30))
			}
			for _, a := range SkipAdvice(skipReport(m, thr)) {
				if a {
					falseReports++
					break
				}
			}
		}
		rate := float64(falseReports) / float64(reports)
		t.Logf("icc %.2f: %d of %d null reports advised a skip (%.1f%%)", icc, falseReports, reports, 100*rate)
		// 5% plus two standard errors.
		if rate > 0.05+2*math.Sqrt(0.05*0.95/float64(reports)) {
			t.Errorf("icc %.2f: false skip advice in %.1f%% of reports", icc, 100*rate)
		}
		// Power: one cell at 95% among 39 null ones, 8 batches of 20.
		found := 0
		for r := 0; r < reports; r++ {
			m := make([][]Obs, cells)
			for c := range m {
				rate := thr
				if c == 0 {
					rate = 0.95
				}
				m[c] = simulateCell(rng, rate, icc, 8, 20)
			}
			if SkipAdvice(skipReport(m, thr))[0] {
				found++
			}
		}
		t.Logf("icc %.2f: a cell failing 95%% advised in %d of %d reports", icc, found, reports)
		if found*200/reports < minPower[icc] {
			t.Errorf("icc %.2f: power %d of %d, below the %d measured when written", icc, found, reports, minPower[icc])
		}
	}
}

func TestSkipNeedsEvidence(t *testing.T) {
	// 3 failures of 3 in one batch: not testable, never advised.
	one := ICC{Rho: 0, DF: 100}
	if st := TestSkip([]Obs{{Tested: 3}}, 0.8, one); st.Testable {
		t.Errorf("one batch: %+v", st)
	}
	// Every test failing in 5 batches of 10 is advised on its own.
	st := TestSkip([]Obs{{Tested: 10}, {Tested: 10}, {Tested: 10}, {Tested: 10}, {Tested: 10}}, 0.8, one)
	if !st.Testable || st.P > 0.05 || st.Rate != 1 {
		t.Errorf("all failing: %+v", st)
	}
}

// TestSkipMixedBatchSizes: in a matrix where a quarter of the cells have
// batches of 40 tests and the rest batches of 6, all failing exactly at
// the threshold, neither kind of cell is rejected (one-sided, unadjusted)
// in much more than 5% of cases: each cell's design effect follows its own
// batch sizes (one dispersion for the whole matrix let the cells of 40
// reject 11-15% of the time).
func TestSkipMixedBatchSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	const thr = 0.8
	reps := 300
	if raceOn {
		reps = 60
	}
	for _, icc := range []float64{0.05, 0.2} {
		var big, small, nBig, nSmall int
		for r := 0; r < reps; r++ {
			cells := make([][]Obs, 32)
			for c := range cells {
				n := 6
				if c < 8 {
					n = 40
				}
				for b := 0; b < 8; b++ {
					// Passes at 1 - thr: failures at the threshold.
					cells[c] = append(cells[c], Obs{Batch: int32(b), Tested: int64(n), Passed: betaBinom(rng, 1-thr, icc, n)})
				}
			}
			for c, st := range skipReport(cells, thr) {
				if !st.Testable {
					continue
				}
				rej := st.P < 0.05
				if c < 8 {
					nBig++
					if rej {
						big++
					}
				} else {
					nSmall++
					if rej {
						small++
					}
				}
			}
		}
		fb, fs := float64(big)/float64(nBig), float64(small)/float64(nSmall)
		t.Logf("icc %.2f: cells of 40 reject %.1f%%, cells of 6 reject %.1f%%", icc, 100*fb, 100*fs)
		if fb > 0.075 || fs > 0.075 {
			t.Errorf("icc %.2f: cells of 40 reject %.1f%%, of 6 %.1f%% at a nominal 5%%", icc, 100*fb, 100*fs)
		}
	}
}

// TestExceedsClustered checks the statistic against values worked by hand.
func TestExceedsClustered(t *testing.T) {
	// Three batches of 10 tests with 1, 2 and 3 failures: r = 0.2,
	// residuals -1, 0, 1, variance 3/2 * 2 / 900 = 1/300 above the
	// binomial floor 0.1*0.9/30 = 0.003; t = 0.1 / sqrt(1/300) = sqrt(3),
	// one-sided on 2 degrees of freedom: 1 - TCDF(sqrt 3, 2) =
	// (1 - sqrt(3)/sqrt(5)) / 2 = 0.1127.
	obs := []Obs{{Tested: 10, Passed: 9}, {Tested: 10, Passed: 8}, {Tested: 10, Passed: 7}}
	et := ExceedsClustered(obs, 0.1)
	if !et.Testable || et.Rate != 0.2 || math.Abs(et.T-math.Sqrt(3)) > 1e-12 || math.Abs(et.P-(1-math.Sqrt(3)/math.Sqrt(5))/2) > 1e-9 {
		t.Errorf("got %+v", et)
	}
	// Identical batches: the binomial floor, t = (0.2-0.1)/sqrt(0.09/30).
	obs = []Obs{{Tested: 10, Passed: 8}, {Tested: 10, Passed: 8}, {Tested: 10, Passed: 8}}
	if et := ExceedsClustered(obs, 0.1); math.Abs(et.T-0.1/math.Sqrt(0.003)) > 1e-12 {
		t.Errorf("floor: got %+v", et)
	}
	// One burst among quiet batches: large spread, no evidence.
	obs = []Obs{{Tested: 40, Passed: 40}, {Tested: 40, Passed: 40}, {Tested: 40, Passed: 39}, {Tested: 40, Passed: 18}}
	if et := ExceedsClustered(obs, 0.05); et.P < 0.1 {
		t.Errorf("burst: p = %g, want no evidence", et.P)
	}
	// Too few batches.
	if et := ExceedsClustered(obs[:2], 0.05); et.Testable {
		t.Error("two batches testable")
	}
}
