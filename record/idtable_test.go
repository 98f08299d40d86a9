package record

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
	"time"
)

// TestIDTable: merging batches into a table keeps it sorted by ID, a
// batch replaces the entry of its ID, every batch is found with its
// record, and the bytes read back as the same table; unsorted or repeated
// IDs and stray bytes are refused.
func TestIDTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	want := map[string]committedBatch{}
	var tab *idTable
	for round := range 20 {
		fresh := map[string]committedBatch{}
		for range rng.IntN(50) {
			id := fmt.Sprintf("2026-03-%02d-npm-%d", rng.IntN(28)+1, rng.IntN(300))
			c := committedBatch{digest: fmt.Sprintf("d%d", rng.IntN(9)), file: "metrics/batch-runs.jsonl", line: rng.IntN(1 << 20),
				ts: time.Unix(rng.Int64N(1<<34)-1<<33, rng.Int64N(1e9)).UTC()}
			fresh[id] = c
		}
		tab = tab.merge(fresh)
		maps.Copy(want, fresh)
		if tab.len() != len(want) {
			t.Fatalf("round %d: %d entries, want %d", round, tab.len(), len(want))
		}
		for id, c := range want {
			got, ok := tab.get(id)
			if !ok || got != c {
				t.Fatalf("round %d: %s: %+v %t, want %+v", round, id, got, ok, c)
			}
		}
		if _, ok := tab.get("2026-03-00-npm-0"); ok {
			t.Fatal("found a batch never added")
		}
		back, ok := parseIDTable(tab.blob, uint64(tab.len()))
		if !ok || fmt.Sprint(back.off) != fmt.Sprint(tab.off) {
			t.Fatalf("round %d: read back %t", round, ok)
		}
	}
	a := appendEntry(nil, "b", committedBatch{})
	b := appendEntry(nil, "a", committedBatch{})
	for _, c := range []struct {
		name string
		b    []byte
		n    uint64
	}{
		{"unsorted", append(append([]byte{}, a...), b...), 2},
		{"repeated", append(append([]byte{}, a...), a...), 2},
		{"trailing", append(append([]byte{}, b...), 0), 1},
		{"short", a[:len(a)-1], 1},
		{"fewer", a, 2},
		{"an ID's length spelt long", append([]byte{0x81, 0x00}, a[1:]...), 1},
		{"an empty ID", appendEntry(nil, "", committedBatch{}), 1},
	} {
		if _, ok := parseIDTable(c.b, c.n); ok {
			t.Errorf("%s entries read", c.name)
		}
	}
	if _, ok := parseIDTable(append(append([]byte{}, b...), a...), 2); !ok {
		t.Error("sorted entries refused")
	}
}

// committed returns every committed batch, by ID (what tests compare).
func (s idSet) committed() map[string]committedBatch {
	out := map[string]committedBatch{}
	s.base.each(func(id string, c committedBatch) { out[id] = c })
	for id, c := range s.fresh {
		out[id] = c
	}
	return out
}
