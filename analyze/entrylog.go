package analyze

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
)

// entryLog keeps lists of uint32 entries by batch position (a report's
// per-batch outcomes) out of the heap: they are written to a temporary file
// as they come, and read back in chunks when the window is done. A report
// over a long history holds millions of them (4 bytes per recipe and
// platform tested), which would otherwise grow its memory with the history
// (docs/STORAGE.md, "Memory"). Where no temporary file can be made, they are
// kept in memory.
//
// The file is removed as soon as it is open (where the system allows), so
// nothing is left behind however the process ends. An error writing or
// reading it is kept (err) and fails the report.
type entryLog struct {
	f    *os.File
	name string // set while the file still has a name
	w    *bufio.Writer
	off  int64
	at   []logSpan        // by position; off -1: none
	mem  map[int][]uint32 // without a file
	err  error

	// The chunk last read back: the file's bytes [lo, lo+len(chunk)).
	chunk []byte
	lo    int64
	out   []uint32
}

type logSpan struct {
	off int64
	n   uint32
}

// logChunk is how much of the file a read back takes at once.
var logChunk int64 = 256 << 10 // a variable for tests

// spillOutcomes lets entry logs use a temporary file; tests turn it off
// to check that it changes nothing.
var spillOutcomes = true

func newEntryLog() *entryLog {
	l := &entryLog{}
	if !spillOutcomes {
		l.mem = map[int][]uint32{}
		return l
	}
	f, err := os.CreateTemp("", "batchsli-outcomes-*")
	if err != nil {
		l.mem = map[int][]uint32{}
		return l
	}
	l.f, l.w = f, bufio.NewWriterSize(f, 64<<10)
	if os.Remove(f.Name()) != nil {
		l.name = f.Name() // removed when closed
	}
	return l
}

// put keeps the entries of batch position i (once per position); es may
// be reused after.
func (l *entryLog) put(i int, es []uint32) {
	if l.mem != nil {
		l.mem[i] = slices.Clone(es)
		return
	}
	for len(l.at) <= i {
		l.at = append(l.at, logSpan{off: -1})
	}
	l.at[i] = logSpan{l.off, uint32(len(es))}
	var b [4]byte
	for _, e := range es {
		binary.LittleEndian.PutUint32(b[:], e)
		if _, err := l.w.Write(b[:]); err != nil && l.err == nil {
			l.err = err
		}
	}
	l.off += 4 * int64(len(es))
}

// done ends the writing; it returns the first error met.
func (l *entryLog) done() error {
	if l.w != nil {
		if err := l.w.Flush(); err != nil && l.err == nil {
			l.err = err
		}
		l.w = nil
	}
	if l.err != nil {
		return fmt.Errorf("the report's temporary file: %w", l.err)
	}
	return nil
}

// has reports whether batch position i has entries kept.
func (l *entryLog) has(i int) bool {
	if l.mem != nil {
		_, ok := l.mem[i]
		return ok
	}
	return i < len(l.at) && l.at[i].off >= 0
}

// positions returns the positions kept, in ascending order.
func (l *entryLog) positions() []int {
	var ps []int
	if l.mem != nil {
		for p := range l.mem {
			ps = append(ps, p)
		}
		slices.Sort(ps)
		return ps
	}
	for p, sp := range l.at {
		if sp.off >= 0 {
			ps = append(ps, p)
		}
	}
	return ps
}

// get returns the entries of batch position i (nil for none), valid until
// the next get. backward says the positions are being walked from the last
// to the first, so that a chunk read back serves the ones before i.
func (l *entryLog) get(i int, backward bool) []uint32 {
	if l.mem != nil {
		return l.mem[i]
	}
	if !l.has(i) || l.err != nil {
		return nil
	}
	sp := l.at[i]
	if sp.n == 0 {
		return nil
	}
	size := 4 * int64(sp.n)
	if sp.off < l.lo || sp.off+size > l.lo+int64(len(l.chunk)) {
		lo := sp.off
		n := max(size, logChunk)
		if backward {
			lo = max(0, sp.off+size-n)
		}
		n = min(n, l.off-lo)
		if int64(cap(l.chunk)) < n {
			l.chunk = make([]byte, n)
		}
		l.chunk = l.chunk[:n]
		if _, err := l.f.ReadAt(l.chunk, lo); err != nil && err != io.EOF {
			l.err = err
			l.chunk = l.chunk[:0]
			return nil
		}
		l.lo = lo
	}
	b := l.chunk[sp.off-l.lo : sp.off-l.lo+size]
	l.out = l.out[:0]
	for j := 0; j < len(b); j += 4 {
		l.out = append(l.out, binary.LittleEndian.Uint32(b[j:]))
	}
	return l.out
}

// close lets the entries go and removes the file.
func (l *entryLog) close() {
	if l == nil {
		return
	}
	if l.f != nil {
		l.f.Close()
		if l.name != "" {
			os.Remove(l.name)
		}
		l.f = nil
	}
	l.mem, l.at, l.chunk, l.out = nil, nil, nil, nil
}

// failed returns the error met reading the entries back, if any.
func (l *entryLog) failed() error {
	if l == nil || l.err == nil {
		return nil
	}
	return fmt.Errorf("the report's temporary file: %w", l.err)
}
