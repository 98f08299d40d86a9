package analyze

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
)

// entryLog keeps lists of uint32 entries by batch position (a report's
// per-batch outcomes) out of the heap: they are written to a temporary file
// as they come, and read back in chunks when the window is done. A report
// over a long history holds millions of them (4 bytes per recipe and
// platform tested), which would otherwise grow its memory with the history
// (docs/STORAGE.md, "Memory").
//
// Where no temporary file can be made, they are kept in memory; where one
// cannot be written to the end (a full or size-limited temporary
// directory), what it holds is read back into memory and the rest kept
// there. The file is removed as soon as it is open where the system allows
// it (not on Windows), else when the log is closed. An error reading it back
// is kept (err) and fails the report.
type entryLog struct {
	f    *os.File
	name string           // set while the file still has a name
	buf  []byte           // written entries not yet in the file, from off-len(buf)
	off  int64            // bytes written, in the file or buf
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

// logChunk is how much of the file a read back takes at once, and logBuf
// how much is written at once (variables for tests).
var (
	logChunk int64 = 256 << 10
	logBuf         = 64 << 10
)

// openLogs counts the logs' files open (for tests).
var openLogs atomic.Int64

// spillOutcomes lets entry logs use a temporary file; tests turn it off
// to check that it changes nothing.
var spillOutcomes = true

// logWrite and logReadAt write and read the log's file (variables for
// tests).
var (
	logWrite  = (*os.File).Write
	logReadAt = (*os.File).ReadAt
)

// newEntryLog returns an empty log, in a temporary file when spill is set
// and one can be made.
func newEntryLog(spill bool) *entryLog {
	l := &entryLog{}
	if !spill || !spillOutcomes {
		l.mem = map[int][]uint32{}
		return l
	}
	f, err := os.CreateTemp("", "batchsli-outcomes-*")
	if err != nil {
		l.mem = map[int][]uint32{}
		return l
	}
	l.f = f
	openLogs.Add(1)
	if os.Remove(f.Name()) != nil {
		l.name = f.Name() // removed when closed
	}
	return l
}

// put keeps the entries of batch position i; es may be reused after. A
// position put again replaces what it had.
func (l *entryLog) put(i int, es []uint32) {
	if l.err != nil {
		return // the report fails (failed)
	}
	if l.mem != nil {
		l.mem[i] = slices.Clone(es)
		return
	}
	for len(l.at) <= i {
		l.at = append(l.at, logSpan{off: -1})
	}
	l.at[i] = logSpan{l.off, uint32(len(es))}
	for _, e := range es {
		l.buf = binary.LittleEndian.AppendUint32(l.buf, e)
	}
	l.off += 4 * int64(len(es))
	if len(l.buf) >= logBuf {
		l.flush()
	}
}

// flush writes buf to the file; where that fails, the log moves to memory.
func (l *entryLog) flush() {
	if len(l.buf) == 0 {
		return
	}
	if _, err := logWrite(l.f, l.buf); err != nil {
		l.toMemory()
		return
	}
	l.buf = l.buf[:0]
}

// toMemory moves the log's entries to memory: those in the file (all of it
// but buf) are read back, the rest taken from buf. A file that cannot be
// read back fails the log.
func (l *entryLog) toMemory() {
	inFile := l.off - int64(len(l.buf))
	file := make([]byte, inFile)
	if n, err := logReadAt(l.f, file, 0); int64(n) != inFile {
		l.err = fmt.Errorf("reading back %d bytes: %v", inFile, err)
		l.closeFile()
		return
	}
	all := append(file, l.buf...)
	l.mem = map[int][]uint32{}
	for p, sp := range l.at {
		if sp.off < 0 {
			continue
		}
		es := make([]uint32, sp.n)
		for j := range es {
			es[j] = binary.LittleEndian.Uint32(all[sp.off+4*int64(j):])
		}
		l.mem[p] = es
	}
	l.at, l.buf = nil, nil
	l.closeFile()
}

// done ends the writing; it returns the first error met.
func (l *entryLog) done() error {
	if l != nil && l.f != nil {
		l.flush()
		l.buf = nil
	}
	return l.failed()
}

// has reports whether batch position i has entries kept (none in a nil
// log, as in every reader below).
func (l *entryLog) has(i int) bool {
	if l == nil {
		return false
	}
	if l.mem != nil {
		_, ok := l.mem[i]
		return ok
	}
	return i < len(l.at) && l.at[i].off >= 0
}

// positions returns the positions kept, in ascending order.
func (l *entryLog) positions() []int {
	var ps []int
	if l == nil {
		return nil
	}
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
	if l == nil {
		return nil
	}
	if l.mem != nil {
		return l.mem[i]
	}
	if !l.has(i) || l.err != nil || l.f == nil {
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
		if got, err := logReadAt(l.f, l.chunk, lo); int64(got) != n {
			l.err = fmt.Errorf("reading back %d bytes at %d: %v", n, lo, err)
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

// closeFile closes the file and removes it if it still has a name.
func (l *entryLog) closeFile() {
	if l.f == nil {
		return
	}
	l.f.Close()
	openLogs.Add(-1)
	if l.name != "" {
		os.Remove(l.name)
	}
	l.f = nil
}

// close lets the entries go and removes the file.
func (l *entryLog) close() {
	if l == nil {
		return
	}
	l.closeFile()
	l.mem, l.at, l.buf, l.chunk, l.out = nil, nil, nil, nil, nil
}

// failed returns the error met, if any.
func (l *entryLog) failed() error {
	if l == nil || l.err == nil {
		return nil
	}
	return fmt.Errorf("the report's temporary file: %w", l.err)
}
