package analyze

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/batchsli/batchsli/infer"
)

// randomSeries is a history for the detectors alone: platforms that come
// late, ecosystems that come late, batches too small to compare alone,
// gates named and narrowed, and drops that raise alarms.
func randomSeries(rng *rand.Rand, batches int) map[string]*series {
	hist := map[string]*series{}
	ecos := []string{"npm", "pypi", "crates.io", "go"}
	plats := []string{"p0", "p1", "p2", "p3", "p4"}
	for pi, id := range plats {
		s := &series{}
		hist[id] = s
		from := 0
		if pi >= 3 {
			from = rng.IntN(batches / 2) // comes late
		}
		p := 0.85 - 0.05*float64(pi)
		for pos := from; pos < batches; pos++ {
			if rng.IntN(5) == 0 {
				continue
			}
			eco := ecos[rng.IntN(2+min(2, pos/(batches/4+1)))]
			n := 1 + rng.IntN(20)
			q := p
			if pi%2 == 1 && pos > batches/2 {
				q -= 0.25 // a drop
			}
			x := 0
			for range n {
				if rng.Float64() < q {
					x++
				}
			}
			s.eco = append(s.eco, infer.Obs{Batch: int32(pos), Eco: infer.EcoOf(eco), Tested: int64(n), Passed: int64(x)})
			if pi > 0 {
				s.yield = append(s.yield, infer.Obs{Batch: int32(pos), Eco: infer.EcoOf(eco), Tested: int64(n + rng.IntN(5)), Passed: int64(x)})
			}
			if pi > 0 && rng.IntN(15) == 0 {
				g := []string{"p0"}
				if len(s.gateAt) == 0 {
					g = append(g, plats[rng.IntN(pi)])
				}
				s.gateAt = append(s.gateAt, gateChange{pos: pos, gates: g})
			}
		}
	}
	return hist
}

// TestDetectorRunResumes: the detectors saved after any batch, restored
// and extended by the batches since, end in the very state of detectors
// that ran through (their saved bytes are equal), alarms included.
func TestDetectorRunResumes(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	alarms := 0
	for h := 0; h < 12; h++ {
		const batches = 400
		hist := randomSeries(rng, batches)
		whole := newDetectorRun()
		detectorInputs(hist, batches, whole.add)
		want, err := whole.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		for _, pr := range whole.plats {
			alarms += len(pr.alarms)
		}
		for _, cut := range []int{0, 1, 57, 200, 201, 399} {
			r := newDetectorRun()
			switched := false
			detectorInputs(hist, batches, func(pos int, in []platInput) {
				if pos >= cut && !switched {
					b, err := r.MarshalBinary()
					if err != nil {
						t.Fatal(err)
					}
					r = newDetectorRun()
					if err := r.UnmarshalBinary(b); err != nil {
						t.Fatalf("history %d, cut %d: %v", h, cut, err)
					}
					switched = true
				}
				r.add(pos, in)
			})
			got, _ := r.MarshalBinary()
			if !bytes.Equal(got, want) {
				t.Errorf("history %d, resumed at %d: the state differs from the one that ran through", h, cut)
			}
		}
	}
	if alarms < 5 {
		t.Fatalf("only %d alarms: the histories test too little", alarms)
	}
}

// TestDetectorRunRefused: a cut or extended state is refused.
func TestDetectorRunRefused(t *testing.T) {
	r := newDetectorRun()
	detectorInputs(randomSeries(rand.New(rand.NewPCG(83, 84)), 200), 200, r.add)
	b, _ := r.MarshalBinary()
	for cut := 0; cut < len(b); cut += 1 + cut/50 {
		if err := newDetectorRun().UnmarshalBinary(b[:cut]); err == nil {
			t.Fatalf("a state cut at %d of %d bytes was taken", cut, len(b))
		}
	}
	if err := newDetectorRun().UnmarshalBinary(append(b, 0)); err == nil {
		t.Error("a state with a byte more was taken")
	}
}

// FuzzDetectorRunState: any bytes are refused or give detectors that
// extend without failing and save to the same bytes.
func FuzzDetectorRunState(f *testing.F) {
	r := newDetectorRun()
	hist := randomSeries(rand.New(rand.NewPCG(85, 86)), 60)
	detectorInputs(hist, 60, r.add)
	b, _ := r.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newDetectorRun()
		if r.UnmarshalBinary(b) != nil {
			return
		}
		again, _ := r.MarshalBinary()
		if !bytes.Equal(again, b) {
			t.Fatalf("state saved again differs")
		}
		detectorInputs(hist, 60, func(pos int, in []platInput) { r.add(pos+1000, in) })
		if _, err := r.MarshalBinary(); err != nil {
			t.Fatal(fmt.Sprint(err))
		}
	})
}
