package memlimit

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

var keep [][]byte

// TestLimitFollowsLiveHeap holds a live heap twice the floor and checks
// that the limit rose above it (with the margin) after a collection,
// instead of staying below it.
func TestLimitFollowsLiveHeap(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	const floor = 8 << 20
	Keep(floor)
	if got := Limit(); got != floor {
		t.Fatalf("Limit() = %d after Keep(%d)", got, floor)
	}
	for range 16 {
		keep = append(keep, make([]byte, 1<<20))
	}
	// The finalizer runs on its own goroutine after a collection.
	want := int64(16 << 20 * (1 + Margin))
	for i := 0; i < 500 && Limit() < want; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if lim := Limit(); lim < want {
		t.Errorf("limit %d MiB with 16 MiB live; want at least %d MiB", lim>>20, want>>20)
	}
	if got := debug.SetMemoryLimit(-1); got < want {
		t.Errorf("the runtime's limit is %d MiB with 16 MiB live; want at least %d MiB", got>>20, want>>20)
	}
	keep = nil
}

// TestGrowth: the GC percent Growth sets lets a small live heap grow by the
// least growth, and a large one by the share, after each collection.
func TestGrowth(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer func() {
		mu.Lock()
		minGrowth, minPercent, percent = 0, 0, 0
		mu.Unlock()
	}()
	for _, c := range []struct {
		live int64
		want int
	}{{0, MaxPercent}, {1 << 20, MaxPercent}, {8 << 20, 400}, {32 << 20, 100}, {128 << 20, 25}, {1 << 30, 25}} {
		mu.Lock()
		minGrowth, minPercent = 32<<20, 25
		got := growthPercent(c.live)
		mu.Unlock()
		if got != c.want {
			t.Errorf("live %d MiB: percent %d, want %d", c.live>>20, got, c.want)
		}
	}
	// A live heap of about 64 MiB: after a collection, the percent is
	// about 50 (32 MiB over 64), and the runtime has it.
	Growth(32<<20, 25)
	if Percent() != MaxPercent {
		t.Fatalf("percent %d before any collection, want %d", Percent(), MaxPercent)
	}
	for range 64 {
		keep = append(keep, make([]byte, 1<<20))
	}
	for i := 0; i < 500 && Percent() > 60; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if p := Percent(); p < 40 || p > 60 {
		t.Errorf("percent %d with 64 MiB live, want about 50", p)
	}
	if got := debug.SetGCPercent(100); got != Percent() {
		t.Errorf("the runtime's GC percent is %d, Growth's %d", got, Percent())
	}
	debug.SetGCPercent(Percent())
	keep = nil
}
