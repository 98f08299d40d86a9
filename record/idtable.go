package record

import (
	"bytes"
	"encoding/binary"
	"slices"
	"time"
)

// idTable holds committed batches sorted by ID, as the checkpoint stores
// them, and is read in place: an entry is decoded only when looked at, so
// a checkpoint of hundreds of thousands of batches is taken, searched and
// written again without a map or a string per batch. An entry is the ID,
// the digest and the file (each a uvarint length and its bytes), then the
// line (uvarint), the time's seconds (varint) and nanoseconds (uvarint).
type idTable struct {
	blob []byte
	off  []uint32 // entry i is blob[off[i]:off[i+1]]; len n+1
}

func (t *idTable) len() int {
	if t == nil || len(t.off) == 0 {
		return 0
	}
	return len(t.off) - 1
}

// field reads a length-prefixed field at p of b, returning it and the
// position after it (-1 when malformed).
func field(b []byte, p int) ([]byte, int) {
	n, k := binary.Uvarint(b[p:])
	if k <= 0 || k != uvarintLen(n) || n > uint64(len(b)-p-k) {
		return nil, -1
	}
	p += k
	return b[p : p+int(n)], p + int(n)
}

// idAt is entry i's ID bytes.
func (t *idTable) idAt(i int) []byte {
	id, _ := field(t.blob, int(t.off[i]))
	return id
}

// entry decodes entry i.
func (t *idTable) entry(i int) (string, committedBatch) {
	e := t.blob[t.off[i]:t.off[i+1]]
	id, p := field(e, 0)
	digest, p := field(e, p)
	file, p := field(e, p)
	line, k := binary.Uvarint(e[p:])
	p += k
	sec, k := binary.Varint(e[p:])
	p += k
	ns, _ := binary.Uvarint(e[p:])
	return string(id), committedBatch{digest: string(digest), file: string(file), line: int(line), ts: time.Unix(sec, int64(ns)).UTC()}
}

// digestAt is entry i's digest bytes.
func (t *idTable) digestAt(i int) []byte {
	_, p := field(t.blob, int(t.off[i]))
	d, _ := field(t.blob, p)
	return d
}

// find returns the index of batch id, if the table holds it.
func (t *idTable) find(id string) (int, bool) {
	n := t.len()
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(t.idAt(m), []byte(id)) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < n && string(t.idAt(lo)) == id
}

// get returns batch id's entry, if the table holds it.
func (t *idTable) get(id string) (committedBatch, bool) {
	if i, ok := t.find(id); ok {
		_, c := t.entry(i)
		return c, true
	}
	return committedBatch{}, false
}

func appendEntry(out []byte, id string, c committedBatch) []byte {
	for _, s := range []string{id, c.digest, c.file} {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	out = binary.AppendUvarint(out, uint64(c.line))
	out = binary.AppendVarint(out, c.ts.Unix())
	return binary.AppendUvarint(out, uint64(c.ts.Nanosecond()))
}

// parseIDTable reads n entries from b, which must hold exactly them, in
// strictly increasing ID order, each as appendEntry writes it.
func parseIDTable(b []byte, n uint64) (*idTable, bool) {
	if n > uint64(len(b)) {
		return nil, false
	}
	t := &idTable{blob: b, off: make([]uint32, 0, n+1)}
	p := 0
	var prev []byte
	for i := uint64(0); i < n; i++ {
		if uint64(p) > 1<<32-1 {
			return nil, false
		}
		t.off = append(t.off, uint32(p))
		var id []byte
		if id, p = field(b, p); p < 0 || len(id) == 0 || i > 0 && bytes.Compare(prev, id) >= 0 {
			return nil, false
		}
		prev = id
		for range 2 {
			if _, p = field(b, p); p < 0 {
				return nil, false
			}
		}
		// line, seconds, nanoseconds: each in its shortest spelling, the
		// nanoseconds under a second.
		line, k := binary.Uvarint(b[p:])
		if k <= 0 || k != uvarintLen(line) || line > 1<<31 {
			return nil, false
		}
		p += k
		sec, k := binary.Varint(b[p:])
		if k <= 0 || k != uvarintLen(zigzag(sec)) {
			return nil, false
		}
		p += k
		ns, k := binary.Uvarint(b[p:])
		if k <= 0 || k != uvarintLen(ns) || ns >= 1e9 {
			return nil, false
		}
		p += k
	}
	if p != len(b) || uint64(p) > 1<<32-1 {
		return nil, false
	}
	t.off = append(t.off, uint32(p))
	return t, true
}

// merge returns the table with the batches of fresh added, each replacing
// the table's entry of its ID if it has one.
func (t *idTable) merge(fresh map[string]committedBatch) *idTable {
	ids := make([]string, 0, len(fresh))
	for id := range fresh {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	size := len(t.blobOrNil())
	for _, id := range ids {
		c := fresh[id]
		size += len(id) + len(c.digest) + len(c.file) + 4*binary.MaxVarintLen64
	}
	out := &idTable{blob: make([]byte, 0, size), off: make([]uint32, 0, t.len()+len(ids)+1)}
	// copyRun copies entries [from, to) of t.
	copyRun := func(from, to int) {
		if from >= to {
			return
		}
		shift := int64(len(out.blob)) - int64(t.off[from])
		for i := from; i < to; i++ {
			out.off = append(out.off, uint32(int64(t.off[i])+shift))
		}
		out.blob = append(out.blob, t.blob[t.off[from]:t.off[to]]...)
	}
	at := 0
	for _, id := range ids {
		i, found := t.find(id)
		copyRun(at, i)
		out.off = append(out.off, uint32(len(out.blob)))
		out.blob = appendEntry(out.blob, id, fresh[id])
		at = i
		if found {
			at = i + 1
		}
	}
	copyRun(at, t.len())
	out.off = append(out.off, uint32(len(out.blob)))
	return out
}

func (t *idTable) blobOrNil() []byte {
	if t == nil {
		return nil
	}
	return t.blob
}

// uvarintLen is the length of v's shortest uvarint spelling.
func uvarintLen(v uint64) int {
	n := 1
	for ; v >= 0x80; v >>= 7 {
		n++
	}
	return n
}

// zigzag is v as binary.AppendVarint spells it.
func zigzag(v int64) uint64 {
	if v < 0 {
		return ^(uint64(v) << 1)
	}
	return uint64(v) << 1
}
