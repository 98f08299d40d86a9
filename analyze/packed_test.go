package analyze

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestPackedPlats: platform counts read back from their packed form are
// the ones packed, in order, whatever their values (counts up to the
// reader's bound, negative zero and fractional seconds, gate lists).
func TestPackedPlats(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	tab := newPlatTable()
	gates := [][]string{nil, {"linux-x86_64"}, {"linux-x86_64", "darwin-arm64"}}
	for trial := range 500 {
		pcs := make([]platCount, rng.IntN(14))
		for i := range pcs {
			n := func() int64 {
				switch rng.IntN(4) {
				case 0:
					return 0
				case 1:
					return 1 << 40
				default:
					return rng.Int64N(5000)
				}
			}
			pc := platCount{id: []string{"linux-x86_64", "darwin-arm64", "linux-alpine-musl-arm64", ""}[rng.IntN(4)],
				c:     counts{Tested: n(), Passed: n(), Failed: n(), Skipped: n(), SkippedKnown: rng.IntN(2) == 0},
				infra: n(), timed: rng.IntN(2) == 0, infraKnown: rng.IntN(2) == 0, gateless: rng.IntN(2) == 0,
				gates: gates[rng.IntN(len(gates))]}
			switch rng.IntN(4) {
			case 0:
				pc.seconds = rng.Float64() * 1e5
			case 1:
				pc.seconds = math.Copysign(0, -1)
			case 2:
				pc.seconds = 1e300
			}
			pcs[i] = pc
		}
		var got []platCount
		for pc := range packPlats(tab, pcs).all() {
			got = append(got, pc)
		}
		if len(got) != len(pcs) {
			t.Fatalf("trial %d: %d platforms back, want %d", trial, len(got), len(pcs))
		}
		for i := range pcs {
			if !reflect.DeepEqual(got[i], pcs[i]) || math.Signbit(got[i].seconds) != math.Signbit(pcs[i].seconds) {
				t.Fatalf("trial %d, platform %d: %+v back, want %+v", trial, i, got[i], pcs[i])
			}
		}
	}
	// A loop broken early stops.
	n := 0
	for range packPlats(tab, []platCount{{id: "a"}, {id: "b"}}).all() {
		n++
		break
	}
	if n != 1 {
		t.Fatalf("%d platforms after break", n)
	}
}
