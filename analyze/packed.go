package analyze

import (
	"encoding/binary"
	"iter"
	"math"
	"slices"
)

// A report keeps every batch's platform counts for the whole history (the
// inference reads them in several windows). Kept as []platCount they cost
// about 100 bytes a platform, over a kilobyte a batch: the largest part of
// the report's memory on a long history. They are kept packed instead, a
// few bytes a platform, and unpacked as they are read.

// platTable numbers the rolled platform IDs (ids.plat) and the gate lists
// of one level's batches, which packedPlats refer to.
type platTable struct {
	ids    ids
	gates  [][]string
	gateAt map[string]uint64
	key    []byte // gateList's lookup key, reused
}

func newPlatTable() *platTable {
	return &platTable{ids: newIDs(), gateAt: map[string]uint64{}}
}

// gateList numbers the gate list g; a list new to the table is copied
// (g may be reused by the caller).
func (t *platTable) gateList(g []string) uint64 {
	k := t.key[:0]
	for j, s := range g {
		if j > 0 {
			k = append(k, 0)
		}
		k = append(k, s...)
	}
	t.key = k
	i, ok := t.gateAt[string(k)]
	if !ok {
		i = uint64(len(t.gates))
		t.gates = append(t.gates, slices.Clone(g))
		t.gateAt[string(k)] = i
	}
	return i
}

// packedPlats is one batch's platform counts (a []platCount), packed:
// per platform, its ID's number in the table, a flags byte, the four
// counts and the infrastructure count as varints, then the job seconds
// (the float's 8 bytes, when not zero) and the gate list's number (when
// there are gates).
type packedPlats struct {
	data  []byte
	table *platTable
}

const (
	packSkippedKnown = 1 << iota
	packTimed
	packInfraKnown
	packGateless
	packSeconds
	packGates
)

// packPlats packs pcs; the platCounts read back are equal to them (their
// gate lists shared with the table: read-only).
func packPlats(t *platTable, pcs []platCount) packedPlats {
	if len(pcs) == 0 {
		return packedPlats{table: t}
	}
	data := make([]byte, 0, 16*len(pcs))
	for _, pc := range pcs {
		data = binary.AppendUvarint(data, uint64(t.ids.plat(pc.id)))
		var flags byte
		if pc.c.SkippedKnown {
			flags |= packSkippedKnown
		}
		if pc.timed {
			flags |= packTimed
		}
		if pc.infraKnown {
			flags |= packInfraKnown
		}
		if pc.gateless {
			flags |= packGateless
		}
		if pc.seconds != 0 || math.Signbit(pc.seconds) {
			flags |= packSeconds
		}
		if len(pc.gates) > 0 {
			flags |= packGates
		}
		data = append(data, flags)
		for _, n := range [...]int64{pc.c.Tested, pc.c.Passed, pc.c.Failed, pc.c.Skipped, pc.infra} {
			data = binary.AppendVarint(data, n)
		}
		if flags&packSeconds != 0 {
			data = binary.LittleEndian.AppendUint64(data, math.Float64bits(pc.seconds))
		}
		if flags&packGates != 0 {
			data = binary.AppendUvarint(data, t.gateList(pc.gates))
		}
	}
	return packedPlats{data: data[:len(data):len(data)], table: t}
}

// all yields the platform counts in the order they were packed.
func (p packedPlats) all() iter.Seq[platCount] {
	return func(yield func(platCount) bool) {
		d := p.data
		for len(d) > 0 {
			var pc platCount
			id, n := binary.Uvarint(d)
			d = d[n:]
			pc.id = p.table.ids.plats[id]
			flags := d[0]
			d = d[1:]
			var v [5]int64
			for i := range v {
				v[i], n = binary.Varint(d)
				d = d[n:]
			}
			pc.c = counts{Tested: v[0], Passed: v[1], Failed: v[2], Skipped: v[3], SkippedKnown: flags&packSkippedKnown != 0}
			pc.infra = v[4]
			pc.timed = flags&packTimed != 0
			pc.infraKnown = flags&packInfraKnown != 0
			pc.gateless = flags&packGateless != 0
			if flags&packSeconds != 0 {
				pc.seconds = math.Float64frombits(binary.LittleEndian.Uint64(d))
				d = d[8:]
			}
			if flags&packGates != 0 {
				g, n := binary.Uvarint(d)
				d = d[n:]
				pc.gates = p.table.gates[g]
			}
			if !yield(pc) {
				return
			}
		}
	}
}
