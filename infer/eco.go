package infer

import (
	"strings"
	"sync"
	"sync/atomic"
)

// Eco is an ecosystem, as its index in a table of names that the process
// shares (EcoOf, String): an observation holds no pointer, so a series of
// them costs the collector nothing to scan, and 24 bytes an observation
// rather than 40. Its zero value names no ecosystem (the empty name).
type Eco uint32

var ecoTable struct {
	mu    sync.Mutex
	idx   map[string]Eco
	names atomic.Pointer[[]string] // grown by copying: read without the lock
}

// EcoOf returns the ecosystem named name, adding it to the table when new.
func EcoOf(name string) Eco {
	t := &ecoTable
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.idx[name]; ok {
		return e
	}
	if t.idx == nil {
		t.idx = map[string]Eco{"": 0}
		if name == "" {
			return 0
		}
	}
	names := []string{""}
	if p := t.names.Load(); p != nil {
		names = *p
	}
	e := Eco(len(names))
	// Appended in place when there is room: a reader indexes only within
	// the length it loaded, which this does not write. Copying the table
	// for every name would make many names quadratic.
	grown := append(names, name)
	t.names.Store(&grown)
	t.idx[name] = e
	return e
}

// String returns the ecosystem's name ("" for an index EcoOf did not give).
func (e Eco) String() string {
	p := ecoTable.names.Load()
	if p == nil || int(e) >= len(*p) {
		return ""
	}
	return (*p)[e]
}

// CompareEcos orders ecosystems by name (not by index, which follows the
// order names were first met).
func CompareEcos(a, b Eco) int { return strings.Compare(a.String(), b.String()) }
