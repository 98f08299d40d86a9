// Package names numbers strings densely (0, 1, 2, ... in the order first
// met) in a table the garbage collector does not have to walk: the names'
// bytes are kept in a few large pages and found through an open-addressed
// index of integers, so a table of hundreds of thousands of recipe names
// holds a handful of pointers rather than one per name. A look-up costs
// what a map's does (BenchmarkLookup: both about 220 ns among 200,000
// names, mostly two cache misses); the table is built in half the time
// (BenchmarkBuild) and costs the collector nothing to mark.
package names

import (
	"hash/maphash"
	"slices"
	"unsafe"
)

// pageSize is the size of a page of name bytes; a name longer than a
// quarter of it gets a page of its own.
const pageSize = 64 << 10

// Table numbers names. Its zero value is an empty table ready to use. It is
// not safe for concurrent use.
type Table struct {
	seed  maphash.Seed
	pages [][]byte
	// cur is one more than the index of the page being filled (0: none).
	cur int
	// at holds each name's place.
	at []place
	// slots is the index.
	slots []slot
}

// slot is one entry of the index: n is 0 for an empty slot, else the
// name's number plus one; h is the name's hash (the index grows without
// hashing the names again) and at its place, so that a look-up reads the
// slot and the name's bytes and nothing between.
type slot struct {
	h  uint64
	n  uint32
	at place
}

// place is where a name's bytes are: page, offset and length.
type place struct {
	page, off, n uint32
}

// Len is the number of names.
func (t *Table) Len() int { return len(t.at) }

// Name returns name i. The string shares the table's memory, which is
// never written again once a name is in it; it stays valid as long as
// the string is referenced.
func (t *Table) Name(i uint32) string { return t.str(t.at[i]) }

// Index returns the number of name s, adding it when new.
func (t *Table) Index(s string) uint32 {
	i, _ := t.index(s, true)
	return i
}

// Lookup returns the number of name s, and whether it is in the table.
func (t *Table) Lookup(s string) (uint32, bool) {
	return t.index(s, false)
}

// Reserve makes room for n names in all without growing the index.
func (t *Table) Reserve(n int) {
	if need := slotsFor(n); need > len(t.slots) {
		t.rehash(need)
	}
	if cap(t.at) < n {
		at := make([]place, len(t.at), n)
		copy(at, t.at)
		t.at = at
	}
}

// slotsFor is the number of slots (a power of two) that holds n names at
// most seven eighths full.
func slotsFor(n int) int {
	s := 16
	for s*7/8 < n {
		s *= 2
	}
	return s
}

func (t *Table) index(s string, add bool) (uint32, bool) {
	if t.slots == nil {
		if !add {
			return 0, false
		}
		t.rehash(16)
	}
	h := maphash.String(t.seed, s)
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		sl := &t.slots[i]
		if sl.n == 0 {
			if !add {
				return 0, false
			}
			if (len(t.at) + 1) > len(t.slots)*7/8 {
				t.rehash(len(t.slots) * 2)
				return t.index(s, add)
			}
			n := uint32(len(t.at))
			p := t.store(s)
			t.at = append(t.at, p)
			*sl = slot{h: h, n: n + 1, at: p}
			return n, true
		}
		if sl.h == h && t.size(sl.at) == len(s) && t.str(sl.at) == s {
			return sl.n - 1, true
		}
	}
}

// ownPage is place.n for a name with a page of its own: its length is the
// page's, which may be more than 32 bits hold.
const ownPage = ^uint32(0)

// size is the length of the name at p.
func (t *Table) size(p place) int {
	if p.n == ownPage {
		return len(t.pages[p.page])
	}
	return int(p.n)
}

// str is the name at p.
func (t *Table) str(p place) string {
	n := t.size(p)
	if n == 0 {
		return ""
	}
	return unsafe.String(&t.pages[p.page][p.off], n)
}

// store copies s into the pages.
func (t *Table) store(s string) place {
	if len(s) == 0 {
		return place{}
	}
	if len(s) > pageSize/4 {
		// A long name has a page of its own; the page being filled
		// stays the one being filled.
		t.pages = append(t.pages, []byte(s))
		return place{page: uint32(len(t.pages) - 1), n: ownPage}
	}
	if t.cur == 0 || len(t.pages[t.cur-1])+len(s) > pageSize {
		t.pages = append(t.pages, make([]byte, 0, pageSize))
		t.cur = len(t.pages)
	}
	pg := t.pages[t.cur-1]
	off := len(pg)
	t.pages[t.cur-1] = append(pg, s...)
	return place{page: uint32(t.cur - 1), off: uint32(off), n: uint32(len(s))}
}

// rehash makes the index n slots and puts every name back in it.
func (t *Table) rehash(n int) {
	if t.slots == nil {
		t.seed = maphash.MakeSeed()
	}
	old := t.slots
	t.slots = make([]slot, n)
	mask := uint64(n - 1)
	for _, sl := range old {
		if sl.n == 0 {
			continue
		}
		i := sl.h & mask
		for t.slots[i].n != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = sl
	}
}

// Clone returns a copy of the table, which the two can then grow apart.
// Pages are shared but for the one being filled, which is copied: no page
// either writes to is the other's.
func (t *Table) Clone() Table {
	c := Table{seed: t.seed, cur: t.cur, pages: slices.Clone(t.pages), at: slices.Clone(t.at), slots: slices.Clone(t.slots)}
	if c.cur > 0 {
		pg := make([]byte, len(t.pages[c.cur-1]), pageSize)
		copy(pg, t.pages[c.cur-1])
		c.pages[c.cur-1] = pg
	}
	return c
}
