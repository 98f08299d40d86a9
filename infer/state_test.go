package infer

import (
	"bytes"
	"maps"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestDetectorResumes: a detector saved after any batch and restored
// raises the same alarms, with the same state, as one that ran through:
// the checkpoint `record` extends loses nothing. The histories have
// drops (alarms and restarts), small batches (pooled) and a varying
// floor.
func TestDetectorResumes(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	floor := func(b int) float64 { return 0.02 * float64(b%7) }
	for r := 0; r < 20; r++ {
		obs := historySized(rng, 300, 1+4*(r%2), 0, 0.05, true, 120, 0.2)
		for i := range obs {
			obs[i].Batch = int32(i)
		}
		want, wantSt := Detect(obs, floor)
		if r == 0 && len(want) == 0 {
			t.Fatal("no alarm to resume across")
		}
		for _, cut := range []int{0, 1, 7, 121, 150, 299} {
			d := NewDetector()
			var got []Alarm
			for i, o := range obs {
				if i == cut {
					b, err := d.MarshalBinary()
					if err != nil {
						t.Fatal(err)
					}
					d = &Detector{}
					if err := d.UnmarshalBinary(b); err != nil {
						t.Fatalf("history %d, cut %d: %v", r, cut, err)
					}
					again, _ := d.MarshalBinary()
					if !bytes.Equal(again, b) {
						t.Fatalf("history %d, cut %d: the state saved again differs", r, cut)
					}
				}
				if a, ok := d.Add(o, floor); ok {
					got = append(got, a)
				}
			}
			if !reflect.DeepEqual(got, want) || d.State() != wantSt {
				t.Errorf("history %d, resumed at %d: alarms %+v state %+v, want %+v %+v", r, cut, got, d.State(), want, wantSt)
			}
		}
	}
}

// TestICCPoolResumes: the pooled sums saved and restored give the same
// correlation as they are extended.
func TestICCPoolResumes(t *testing.T) {
	rng := rand.New(rand.NewPCG(73, 74))
	var a ICCPool
	for step := 0; step < 3000; step++ {
		if step%500 == 250 {
			b, _ := a.MarshalBinary()
			var c ICCPool
			if err := c.UnmarshalBinary(b); err != nil {
				t.Fatal(err)
			}
			a = c
		}
		n := rng.IntN(20)
		a.Add(rng.IntN(30), Obs{Tested: int64(n), Passed: int64(rng.IntN(n + 1))})
	}
	var ref ICCPool
	rng = rand.New(rand.NewPCG(73, 74))
	for step := 0; step < 3000; step++ {
		n := rng.IntN(20)
		ref.Add(rng.IntN(30), Obs{Tested: int64(n), Passed: int64(rng.IntN(n + 1))})
	}
	if a.Rho() != ref.Rho() || !reflect.DeepEqual(a, ref) {
		t.Errorf("resumed pool rho %v, uninterrupted %v", a.Rho(), ref.Rho())
	}
}

// TestStateRefused: cut, extended or altered states are refused, never
// taken.
func TestStateRefused(t *testing.T) {
	rng := rand.New(rand.NewPCG(75, 76))
	d := NewDetector()
	for i, o := range history(rng, 130, 0, 0.05, true, 80, 0.3) {
		o.Batch = int32(i)
		d.Add(o, ConstFloor(0.05))
	}
	b, _ := d.MarshalBinary()
	for cut := 0; cut < len(b); cut++ {
		if err := new(Detector).UnmarshalBinary(b[:cut]); err == nil {
			t.Errorf("a state cut at %d of %d bytes was taken", cut, len(b))
		}
	}
	if err := new(Detector).UnmarshalBinary(append(b, 0)); err == nil {
		t.Error("a state with a byte more was taken")
	}
	p := ICCPool{}
	p.Add(0, Obs{Tested: 5, Passed: 3})
	pb, _ := p.MarshalBinary()
	if err := new(Detector).UnmarshalBinary(pb); err == nil {
		t.Error("a pool's state was taken as a detector's")
	}
}

// FuzzDetectorState: any bytes either are refused or give a detector
// that runs without failing and saves to the same bytes.
func FuzzDetectorState(f *testing.F) {
	rng := rand.New(rand.NewPCG(77, 78))
	d := NewDetector()
	for i, o := range history(rng, 60, 0, 0.05, true, 30, 0.3) {
		o.Batch = int32(i)
		d.Add(o, ConstFloor(0))
	}
	b, _ := d.MarshalBinary()
	f.Add(b)
	p := ICCPool{}
	p.Add(2, Obs{Tested: 5, Passed: 3})
	pb, _ := p.MarshalBinary()
	f.Add(pb)
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Detector
		if err := d.UnmarshalBinary(b); err == nil {
			again, _ := d.MarshalBinary()
			if !bytes.Equal(again, b) {
				t.Fatalf("state %x saved again as %x", b, again)
			}
			for i := range 20 {
				d.Add(Obs{Batch: int32(i), Eco: EcoOf("x"), Tested: int64(i % 9), Passed: int64(i % 4)}, ConstFloor(0.1))
			}
			_ = d.State()
		}
		var q ICCPool
		if err := q.UnmarshalBinary(b); err == nil {
			q.Add(1, Obs{Tested: 3, Passed: 1})
			_ = q.Rho()
		}
	})
}

// TestCompareSuffRunningTotals: a trend computed from running totals
// (the window before a batch, and the totals since it as a difference)
// is the trend of the observations themselves.
func TestCompareSuffRunningTotals(t *testing.T) {
	rng := rand.New(rand.NewPCG(79, 80))
	for r := 0; r < 200; r++ {
		obs := history(rng, 40+rng.IntN(200), 0, []float64{0, 0.05, 0.2}[r%3], true, -1, 0)
		from := rng.IntN(len(obs))
		to := from + rng.IntN(len(obs)-from+1)
		cum := map[string]Suff{}
		var atFrom map[string]Suff
		for i, o := range obs[:to] {
			if i == from {
				atFrom = maps.Clone(cum)
			}
			s := cum[o.Eco.String()]
			s.Add(o)
			cum[o.Eco.String()] = s
		}
		if atFrom == nil {
			atFrom = maps.Clone(cum)
		}
		after := map[string]Suff{}
		for e, s := range cum {
			after[e] = s.Sub(atFrom[e])
		}
		floor := 0.03 * float64(r%4)
		got, want := CompareSuffICC(atFrom, after, floor), CompareWindowsICC(obs[:from], obs[from:to], floor)
		close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
		if got.Testable != want.Testable || got.Reason != want.Reason || !reflect.DeepEqual(got.Strata, want.Strata) ||
			!reflect.DeepEqual(got.OnlyOne, want.OnlyOne) || got.PrevN != want.PrevN || got.CurBatches != want.CurBatches ||
			!close(got.Change, want.Change) || !close(got.SE, want.SE) || !close(got.P, want.P) || !close(got.ICC, want.ICC) {
			t.Fatalf("history %d, windows [0,%d) [%d,%d): from totals %+v, from observations %+v", r, from, from, to, got, want)
		}
	}
}
