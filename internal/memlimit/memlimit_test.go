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
