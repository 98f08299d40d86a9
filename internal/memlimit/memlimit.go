// Package memlimit keeps the Go runtime's soft memory limit above the live
// heap.
//
// A soft limit below the live heap does not keep the heap under it: the
// collector runs back to back (up to half the CPU) and the heap stays where
// it is. Keep sets a floor for the limit and, after every collection, raises
// the limit to a margin above what that collection found live, so the limit
// bounds the garbage between collections, never the live data.
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

var (
	mu     sync.Mutex
	floor  int64
	limit  int64
	sample = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	armed  bool
)

// Keep sets the soft memory limit to floor and keeps it at least (1 +
// Margin) times the live heap found by each collection from then on.
func Keep(floorBytes int64) {
	mu.Lock()
	floor, limit = floorBytes, floorBytes
	debug.SetMemoryLimit(limit)
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

// adjust raises the limit above the live heap the last collection found.
func adjust() {
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	live := int64(sample[0].Value.Uint64())
	want := max(floor, live+int64(float64(live)*Margin))
	mu.Lock()
	defer mu.Unlock()
	if want > limit {
		limit = want
		debug.SetMemoryLimit(limit)
	}
}
