package record

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"slices"
	"time"

	"github.com/batchsli/batchsli/internal/statecodec"
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
	if k <= 0 || k != statecodec.UvarintLen(n) || n > uint64(len(b)-p-k) {
		return nil, -1
	}
	p += k
	return b[p : p+int(n)], p + int(n)
}

// idAt is entry i's ID bytes (nil when malformed).
func (t *idTable) idAt(i int) []byte {
	if int(t.off[i]) >= len(t.blob) {
		return nil
	}
	id, _ := field(t.blob, int(t.off[i]))
	return id
}

// entry decodes entry i; ok is false when its bytes are malformed (a lower
// table is read in place, its entries checked only when looked at).
func (t *idTable) entry(i int) (id string, c committedBatch, ok bool) {
	if t.off[i] > t.off[i+1] || int(t.off[i+1]) > len(t.blob) {
		return "", committedBatch{}, false
	}
	e := t.blob[t.off[i]:t.off[i+1]]
	var f [3][]byte
	p := 0
	for j := range f {
		if f[j], p = field(e, p); p < 0 {
			return "", committedBatch{}, false
		}
	}
	line, k := binary.Uvarint(e[p:])
	if k <= 0 || line > 1<<31 {
		return "", committedBatch{}, false
	}
	p += k
	sec, k := binary.Varint(e[p:])
	if k <= 0 {
		return "", committedBatch{}, false
	}
	p += k
	ns, k := binary.Uvarint(e[p:])
	if k <= 0 || ns >= 1e9 || p+k != len(e) || len(f[0]) == 0 {
		return "", committedBatch{}, false
	}
	return string(f[0]), committedBatch{digest: string(f[1]), file: string(f[2]), line: int(line), ts: time.Unix(sec, int64(ns)).UTC()}, true
}

// digestAt is entry i's digest bytes (nil when malformed).
func (t *idTable) digestAt(i int) []byte {
	if int(t.off[i]) >= len(t.blob) {
		return nil
	}
	_, p := field(t.blob, int(t.off[i]))
	if p < 0 {
		return nil
	}
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
		got, c, ok := t.entry(i)
		return c, ok && got == id
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
		if k <= 0 || k != statecodec.UvarintLen(line) || line > 1<<31 {
			return nil, false
		}
		p += k
		sec, k := binary.Varint(b[p:])
		if k <= 0 || k != statecodec.UvarintLen(statecodec.Zigzag(sec)) {
			return nil, false
		}
		p += k
		ns, k := binary.Uvarint(b[p:])
		if k <= 0 || k != statecodec.UvarintLen(ns) || ns >= 1e9 {
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

// idLayers is the committed batches of a checkpoint in two tables: lower,
// large, stored once in a cache entry of its own and read in place; and
// upper, the batches since, whose entries take the place of lower's of the
// same ID. A record reads lower without decoding it and writes only upper,
// until upper has grown to a share of lower (foldAt) and the two are
// merged into a new lower: record's time does not grow with the history.
type idLayers struct {
	lower *idTable
	// lowerN and token name lower as the checkpoint does (lower is loaded
	// from its entry only when they match); lowerNew is true when lower
	// is not stored yet.
	lowerN   uint64
	token    [16]byte
	lowerNew bool
	upper    *idTable
}

// foldAt is how many entries upper may hold over a lower of n entries
// before the two are merged (statecodec.FoldAt; a variable for tests).
var foldAt = statecodec.FoldAt

// get returns batch id's entry, if either table holds it.
func (l idLayers) get(id string) (committedBatch, bool) {
	if c, ok := l.upper.get(id); ok {
		return c, true
	}
	if l.upper != nil {
		if _, found := l.upper.find(id); found {
			return committedBatch{}, false // malformed upper entry: not trusted
		}
	}
	return l.lower.get(id)
}

// each calls fn for every committed batch, upper's first; lower's of an ID
// upper holds are skipped, as are malformed entries.
func (l idLayers) each(fn func(id string, c committedBatch)) {
	for i := range l.upper.len() {
		if id, c, ok := l.upper.entry(i); ok {
			fn(id, c)
		}
	}
	for i := range l.lower.len() {
		if id, c, ok := l.lower.entry(i); ok {
			if _, shadowed := l.upper.find(id); !shadowed {
				fn(id, c)
			}
		}
	}
}

// withDigest calls fn with the ID of every committed batch of digest d
// (lower's read in place: only matching entries are decoded).
func (l idLayers) withDigest(d string, fn func(id string)) {
	for _, t := range []*idTable{l.upper, l.lower} {
		for i := range t.len() {
			if string(t.digestAt(i)) != d {
				continue
			}
			id, _, ok := t.entry(i)
			if !ok {
				continue
			}
			if t == l.lower {
				if _, shadowed := l.upper.find(id); shadowed {
					continue
				}
			}
			fn(id)
		}
	}
}

// merge returns the layers with the batches of fresh added, each taking
// the place of an entry of its ID: into upper, or, once upper has grown
// past foldAt, into a new lower with upper (upper then empty).
func (l idLayers) merge(fresh map[string]committedBatch) idLayers {
	out := l
	out.upper = l.upper.merge(fresh)
	if out.upper.len() <= foldAt(l.lower.len()) {
		return out
	}
	all := make(map[string]committedBatch, out.upper.len())
	for i := range out.upper.len() {
		if id, c, ok := out.upper.entry(i); ok {
			all[id] = c
		}
	}
	out.lower = l.lower.merge(all)
	out.lowerN = uint64(out.lower.len())
	rand.Read(out.token[:])
	out.lowerNew = true
	out.upper = nil
	return out
}

// idsBaseMagic starts a lower table's entry: then its token, its entry
// count (uvarint), n+1 offsets (uint32, little-endian) and the entries.
const idsBaseMagic = "batchsli idbase 1\n"

// encodeLower is the entry of lower table t with token.
func encodeLower(t *idTable, token [16]byte) []byte {
	out := make([]byte, 0, len(idsBaseMagic)+16+binary.MaxVarintLen64+4*len(t.off)+len(t.blobOrNil()))
	out = append(out, idsBaseMagic...)
	out = append(out, token[:]...)
	out = binary.AppendUvarint(out, uint64(t.len()))
	for _, o := range t.off {
		out = binary.LittleEndian.AppendUint32(out, o)
	}
	return append(out, t.blobOrNil()...)
}

// parseLower reads a lower table's entry, in place: its offsets are
// checked (in order, within the bytes), its entries only when looked at.
// The cache entry's checksum catches damage; a table that is well formed
// but not sorted can only be forged, and whoever can write the cache can
// write the data too (docs/STORAGE.md).
func parseLower(b []byte) (t *idTable, token [16]byte, ok bool) {
	if len(b) < len(idsBaseMagic)+16 || string(b[:len(idsBaseMagic)]) != idsBaseMagic {
		return nil, token, false
	}
	b = b[len(idsBaseMagic):]
	copy(token[:], b)
	b = b[16:]
	n, k := binary.Uvarint(b)
	if k <= 0 || k != statecodec.UvarintLen(n) || n == 0 || n >= uint64(len(b)-k)/4 {
		return nil, token, false
	}
	b = b[k:]
	offs, blob := b[:4*(n+1)], b[4*(n+1):]
	t = &idTable{blob: blob, off: make([]uint32, n+1)}
	prev := uint32(0)
	for i := range t.off {
		// Every entry takes bytes: the offsets strictly increase from 0.
		o := binary.LittleEndian.Uint32(offs[4*i:])
		if i == 0 && o != 0 || i > 0 && o <= prev {
			return nil, token, false
		}
		t.off[i], prev = o, o
	}
	if int(prev) != len(blob) {
		return nil, token, false
	}
	return t, token, true
}
