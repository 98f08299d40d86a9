package analyze

import (
	"crypto/rand"
	"encoding/binary"
	"slices"
	"time"

	"github.com/batchsli/batchsli/internal/statecodec"
)

// batchTable is what the summary's checkpoint keeps of every batch and
// run: the batches in history order (IDs and times) and the sorted hashes
// of every run's ID. Both only grow, a row a batch, so they are kept in
// two parts: a lower one, stored apart (in a cache entry of its own, see
// SummaryParts) and read in place, and an upper one of the batches and
// runs since, written with the rest of the checkpoint. Once the upper part
// passes foldAt of the lower, the two are folded into a new lower part: a
// summary reads and writes O(1) of them in the long run, not the history.
type batchTable struct {
	lo *lowerBatches // nil: none (loN == 0)
	// loN and loRuns are the lower part's batches and runs, and loToken
	// its name, as the checkpoint has them; loNew is true when the lower
	// part is not stored yet.
	loN, loRuns int
	loToken     [16]byte
	loNew       bool
	// The upper part: batch loN+i's ID ends at idEnd[i] in idBlob; runIDs
	// sorted.
	idBlob []byte
	idEnd  []uint32
	ts     []time.Time
	runIDs []uint64
}

// foldAt is how many batches the upper part may hold over a lower part of
// n before the two are folded (statecodec.FoldAt; a variable for tests).
var foldAt = statecodec.FoldAt

// len is the number of batches.
func (t *batchTable) len() int { return t.loN + len(t.ts) }

// at is history position p's batch ID and time.
func (t *batchTable) at(p int32) (string, time.Time) {
	if int(p) < t.loN {
		return t.lo.at(int(p))
	}
	i := int(p) - t.loN
	from := uint32(0)
	if i > 0 {
		from = t.idEnd[i-1]
	}
	return string(t.idBlob[from:t.idEnd[i]]), t.ts[i]
}

// add appends a batch.
func (t *batchTable) add(id string, ts time.Time) {
	t.idBlob = append(t.idBlob, id...)
	t.idEnd = append(t.idEnd, uint32(len(t.idBlob)))
	t.ts = append(t.ts, ts)
}

// addRuns adds the hashes of runs' IDs (a set: each once).
func (t *batchTable) addRuns(hs ...uint64) {
	for _, h := range hs {
		if i, found := slices.BinarySearch(t.runIDs, h); !found && !t.lo.knownRun(h) {
			t.runIDs = slices.Insert(t.runIDs, i, h)
		}
	}
}

// knownRun reports whether a run's ID hashes to h.
func (t *batchTable) knownRun(h uint64) bool {
	if _, ok := slices.BinarySearch(t.runIDs, h); ok {
		return true
	}
	return t.lo.knownRun(h)
}

// fold makes one lower part of both when the upper part has grown past
// foldAt of the lower (or force).
func (t *batchTable) fold(force bool) {
	if !force && len(t.ts) <= foldAt(t.loN) && len(t.runIDs) <= foldAt(t.loRuns) {
		return
	}
	if len(t.ts) == 0 && len(t.runIDs) == 0 {
		return
	}
	n, runs := t.len(), t.loRuns+len(t.runIDs)
	blobLen := len(t.idBlob)
	if t.lo != nil {
		blobLen += len(t.lo.blob)
	}
	out := make([]byte, 0, len(lowerMagic)+16+2*binary.MaxVarintLen64+16*n+8*runs+blobLen)
	out = append(out, lowerMagic...)
	var token [16]byte
	rand.Read(token[:])
	out = append(out, token[:]...)
	out = binary.AppendUvarint(out, uint64(n))
	out = binary.AppendUvarint(out, uint64(runs))
	// Ends, times, hashes (merged), IDs.
	shift := uint32(0)
	if t.lo != nil {
		out = append(out, t.lo.ends...)
		shift = uint32(len(t.lo.blob))
	}
	for _, e := range t.idEnd {
		out = binary.LittleEndian.AppendUint32(out, e+shift)
	}
	if t.lo != nil {
		out = append(out, t.lo.times...)
	}
	for _, ts := range t.ts {
		out = binary.LittleEndian.AppendUint64(out, uint64(ts.Unix()))
		out = binary.LittleEndian.AppendUint32(out, uint32(ts.Nanosecond()))
	}
	// The hashes of both parts merged (no hash is in both: addRuns and
	// DecodeSummaryCheckpoint see to it).
	i := 0
	for j := range t.loRuns {
		h := t.lo.run(j)
		for ; i < len(t.runIDs) && t.runIDs[i] < h; i++ {
			out = binary.LittleEndian.AppendUint64(out, t.runIDs[i])
		}
		out = binary.LittleEndian.AppendUint64(out, h)
	}
	for ; i < len(t.runIDs); i++ {
		out = binary.LittleEndian.AppendUint64(out, t.runIDs[i])
	}
	if t.lo != nil {
		out = append(out, t.lo.blob...)
	}
	out = append(out, t.idBlob...)
	lo, _, ok := parseLowerBatches(out)
	if !ok {
		// Not from parts this program decodes: left unfolded (and the
		// next summary refuses them).
		return
	}
	t.lo, t.loN, t.loRuns, t.loNew, t.loToken = lo, n, runs, true, token
	t.idBlob, t.idEnd, t.ts, t.runIDs = nil, nil, nil, nil
}

// lowerMagic starts a lower part's bytes: then its token, its batches and
// runs (uvarints), each batch's ID end (uint32), each batch's time
// (seconds int64, nanoseconds uint32), the run hashes (uint64, sorted),
// and the IDs. All little-endian, fixed width: read in place.
const lowerMagic = "bsSB\x01"

// lowerBatches is a lower part, read in place.
type lowerBatches struct {
	raw                       []byte // the whole, as stored
	ends, times, hashes, blob []byte
	n, runs                   int
}

// parseLowerBatches checks a lower part (every end in order and within the
// IDs, every time's nanoseconds under a second, the hashes sorted: fixed
// width, a pass at memory speed) and returns it with its token.
func parseLowerBatches(b []byte) (lo *lowerBatches, token [16]byte, ok bool) {
	if len(b) < len(lowerMagic)+16 || string(b[:len(lowerMagic)]) != lowerMagic {
		return nil, token, false
	}
	p := b[len(lowerMagic):]
	copy(token[:], p)
	p = p[16:]
	n, k := binary.Uvarint(p)
	if k <= 0 || k != statecodec.UvarintLen(n) {
		return nil, token, false
	}
	p = p[k:]
	runs, k := binary.Uvarint(p)
	if k <= 0 || k != statecodec.UvarintLen(runs) {
		return nil, token, false
	}
	p = p[k:]
	if n == 0 || n > uint64(len(p))/16 || runs > uint64(len(p))/8 || 16*n+8*runs > uint64(len(p)) {
		return nil, token, false
	}
	lo = &lowerBatches{raw: b, n: int(n), runs: int(runs)}
	lo.ends, p = p[:4*n], p[4*n:]
	lo.times, p = p[:12*n], p[12*n:]
	lo.hashes, lo.blob = p[:8*runs], p[8*runs:]
	prev := uint32(0)
	for i := range lo.n {
		e := binary.LittleEndian.Uint32(lo.ends[4*i:])
		if e <= prev && i > 0 || e == 0 || int64(e) > int64(len(lo.blob)) {
			return nil, token, false
		}
		prev = e
		if binary.LittleEndian.Uint32(lo.times[12*i+8:]) >= 1e9 {
			return nil, token, false
		}
	}
	if int(prev) != len(lo.blob) {
		return nil, token, false
	}
	for i := 1; i < lo.runs; i++ {
		if lo.run(i-1) >= lo.run(i) {
			return nil, token, false
		}
	}
	return lo, token, true
}

func (lo *lowerBatches) run(i int) uint64 { return binary.LittleEndian.Uint64(lo.hashes[8*i:]) }

func (lo *lowerBatches) at(i int) (string, time.Time) {
	from := uint32(0)
	if i > 0 {
		from = binary.LittleEndian.Uint32(lo.ends[4*(i-1):])
	}
	to := binary.LittleEndian.Uint32(lo.ends[4*i:])
	sec := int64(binary.LittleEndian.Uint64(lo.times[12*i:]))
	ns := int64(binary.LittleEndian.Uint32(lo.times[12*i+8:]))
	return string(lo.blob[from:to]), time.Unix(sec, ns).UTC()
}

func (lo *lowerBatches) knownRun(h uint64) bool {
	if lo == nil {
		return false
	}
	i, j := 0, lo.runs
	for i < j {
		m := int(uint(i+j) >> 1)
		if lo.run(m) < h {
			i = m + 1
		} else {
			j = m
		}
	}
	return i < lo.runs && lo.run(i) == h
}
