// Package memlimit keeps the Go runtime's soft memory limit above the live
// heap.
//
// A soft limit below the live heap does not keep the heap under it: the
// collector runs back to back (up to half the CPU) and the heap stays where
// it is. Keep sets a floor for the limit and, after every collection, raises
// the limit to a margin above what that collection found live, so the limit
// bounds the garbage between collections, never the live data.
//
// Growth sets how far the heap may grow between collections: a share of
// the live heap (GOGC), but never less than a number of bytes, so a small
// heap is not collected over and over for little garbage each time.
package memlimit

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Margin is how far above the live heap the limit is kept: the heap may
// hold this share of the live heap in garbage before a collection.
const Margin = 0.25

// MaxPercent bounds the GC percent Growth sets.
const MaxPercent = 800

var (
	mu     sync.Mutex
	floor  int64
	limit  int64
	sample = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	armed  bool
	// Growth's least growth and share (0: not set), and the percent set.
	minGrowth  int64
	minPercent int
	percent    int
)

// Growth lets the heap grow between collections by the larger of pct
// percent of the live heap and atLeast bytes: it sets the GC percent to
// pct, or to more (at most MaxPercent) while the live heap is below
// atLeast*100/pct, after every collection.
func Growth(atLeast int64, pct int) {
	mu.Lock()
	minGrowth, minPercent = atLeast, pct
	percent = growthPercent(0)
	debug.SetGCPercent(percent)
	start()
}

// growthPercent is the GC percent for a live heap of live bytes.
func growthPercent(live int64) int {
	p := MaxPercent
	if live > 0 && minGrowth*100/live < int64(MaxPercent) {
		p = int(minGrowth * 100 / live)
	}
	return max(p, minPercent)
}

// Percent returns the GC percent Growth set last (0 before Growth).
func Percent() int {
	mu.Lock()
	defer mu.Unlock()
	return percent
}

// Keep sets the soft memory limit to floor and keeps it at least (1 +
// Margin) times the live heap found by each collection from then on.
func Keep(floorBytes int64) {
	mu.Lock()
	floor, limit = floorBytes, floorBytes
	debug.SetMemoryLimit(limit)
	start()
}

// start arms the collections' hook (arm) the first time; it is called
// with mu held, and unlocks it.
func start() {
	first := !armed
	armed = true
	mu.Unlock()
	if first {
		arm()
	}
}

// Limit returns the limit Keep set last (0 before Keep).
func Limit() int64 {
	mu.Lock()
	defer mu.Unlock()
	return limit
}

// arm leaves an unreachable object whose finalizer runs after the next
// collection; the finalizer adjusts the limit and arms again.
func arm() {
	s := new([16]byte)
	runtime.SetFinalizer(s, func(*[16]byte) {
		adjust()
		arm()
	})
}

// adjust raises the limit above the live heap the last collection found,
// and sets the GC percent for it (Growth).
func adjust() {
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	live := int64(sample[0].Value.Uint64())
	want := max(floor, live+int64(float64(live)*Margin))
	mu.Lock()
	defer mu.Unlock()
	if minPercent > 0 {
		if p := growthPercent(live); p != percent {
			percent = p
			debug.SetGCPercent(p)
		}
	}
	if floor > 0 && want > limit {
		limit = want
		debug.SetMemoryLimit(limit)
	}
}
