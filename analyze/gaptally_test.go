package analyze

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/batchsli/batchsli/model"
)

// TestGapTallyFollows: a tally of the gaps, followed through the failures
// added since (touched, retally), counts what counting every gap again
// does: new gaps, gaps that become mixed, and gaps whose blockers shrink.
func TestGapTallyFollows(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cats := []string{model.CatMissingDep, "install_failed", "verify_failed", "binary_incompatible"}
	deps := []string{"openssl", "zlib", "glibc", "libffi"}
	plats := []string{"linux-debian-glibc-x86_64", "linux-alpine-musl-arm64", "darwin-arm64"}
	failure := func() *model.Failure {
		f := &model.Failure{SchemaVersion: 2, BatchID: "b", Ecosystem: "npm", Environment: plats[rng.IntN(len(plats))],
			PackageID: fmt.Sprintf("npm:p%d", rng.IntN(40)), Category: cats[rng.IntN(len(cats))], Timestamp: time.Unix(0, 0)}
		for _, d := range deps {
			if rng.IntN(3) == 0 {
				f.BlockedBy = append(f.BlockedBy, d)
			}
		}
		return f
	}
	changed := 0
	for round := range 50 {
		fa := newFailureAgg(newRoller(model.LevelEnv, nil), nil, time.Time{}, time.Time{}, nil)
		fa.gapsOnly = true
		for range rng.IntN(120) {
			fa.add(failure())
		}
		tally := fa.gapTally()
		before := maps.Clone(fa.gaps)
		fa.touched = map[gapKey]gapPrev{}
		for range 1 + rng.IntN(30) {
			fa.add(failure())
		}
		tally.retally(fa)
		for k, st := range fa.gaps {
			if was, ok := before[k]; ok && was != st {
				changed++
			}
		}
		gotC, gotF := tally.counts()
		wantC, wantF := fa.gapCounts()
		if !maps.Equal(gotC, wantC) || !maps.Equal(gotF, wantF) {
			t.Fatalf("round %d: followed %v %v, counted again %v %v", round, gotC, gotF, wantC, wantF)
		}
	}
	if changed < 50 {
		t.Fatalf("only %d gaps changed state: the test holds too little", changed)
	}
}
