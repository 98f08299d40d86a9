package record

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/batchsli/batchsli/internal/statecodec"
)

// The package's tests run with a small fold threshold, so that every
// checkpoint they make and read holds both tables (idLayers); TestFoldAt
// checks the threshold records run with.
func TestMain(m *testing.M) {
	foldAt = testFoldAt
	os.Exit(m.Run())
}

func testFoldAt(n int) int { return max(3, n/4) }

// TestFoldAt: the upper table holds up to 512 batches over a small lower
// one, and a sixteenth of a large one.
func TestFoldAt(t *testing.T) {
	defer func(f func(int) int) { foldAt = f }(foldAt)
	foldAt = statecodec.FoldAt
	for _, c := range []struct{ n, want int }{{0, 512}, {2000, 512}, {8192, 512}, {200000, 12500}} {
		if got := foldAt(c.n); got != c.want {
			t.Errorf("foldAt(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

func flip(b []byte, i int) []byte {
	c := append([]byte{}, b...)
	c[i] ^= 1
	return c
}

// TestIDLayersLookups: an upper entry takes the place of the lower one of
// its ID for every lookup; a lower entry is found by ID and by digest.
func TestIDLayersLookups(t *testing.T) {
	ts := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	lower := (*idTable)(nil).merge(map[string]committedBatch{
		"a": {digest: "d1", file: "metrics/x.jsonl", line: 1, ts: ts},
		"b": {digest: "d1", file: "metrics/x.jsonl", line: 2, ts: ts},
		"c": {digest: "d3", file: "metrics/x.jsonl", line: 3, ts: ts},
	})
	upper := (*idTable)(nil).merge(map[string]committedBatch{
		"a": {digest: "d2", file: "metrics/y.jsonl", line: 1, ts: ts},
		"d": {digest: "d1", file: "metrics/y.jsonl", line: 2, ts: ts},
	})
	l := idLayers{lower: lower, lowerN: 3, upper: upper}
	for id, want := range map[string]string{"a": "d2", "b": "d1", "c": "d3", "d": "d1", "e": ""} {
		c, ok := l.get(id)
		if ok != (want != "") || c.digest != want {
			t.Errorf("get(%s) = %q %t, want %q", id, c.digest, ok, want)
		}
	}
	for d, want := range map[string][]string{"d1": {"d", "b"}, "d2": {"a"}, "d3": {"c"}, "d4": nil} {
		var got []string
		l.withDigest(d, func(id string) { got = append(got, id) })
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("withDigest(%s) = %v, want %v", d, got, want)
		}
	}
	all := map[string]string{}
	l.each(func(id string, c committedBatch) {
		if _, dup := all[id]; dup {
			t.Errorf("each gave %s twice", id)
		}
		all[id] = c.digest
	})
	if fmt.Sprint(all) != "map[a:d2 b:d1 c:d3 d:d1]" {
		t.Errorf("each gave %v", all)
	}
	// Folded: one lower table with upper's entries in their place.
	defer func(f func(int) int) { foldAt = f }(foldAt)
	foldAt = func(int) int { return 0 }
	f := l.merge(nil)
	if f.upper.len() != 0 || f.lower.len() != 4 || !f.lowerNew || f.lowerN != 4 || f.token == l.token {
		t.Fatalf("folded: lower %d (named %d, new %t), upper %d", f.lower.len(), f.lowerN, f.lowerNew, f.upper.len())
	}
	if c, _ := f.get("a"); c.digest != "d2" {
		t.Errorf("folded: a has %q", c.digest)
	}
	back, tok, ok := parseLower(encodeLower(f.lower, f.token))
	if !ok || tok != f.token || back.len() != 4 || string(back.blob) != string(f.lower.blob) {
		t.Fatalf("lower table read back: %t", ok)
	}
}

// TestParseLower refuses a lower table whose offsets are out of order or
// out of its bytes, and reads one whose entries are damaged (they are
// checked when looked at: entry and get refuse them).
func TestParseLower(t *testing.T) {
	ts := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	tab := (*idTable)(nil).merge(map[string]committedBatch{"a": {digest: "d", ts: ts}, "b": {digest: "d", ts: ts}})
	good := encodeLower(tab, [16]byte{9})
	if _, _, ok := parseLower(good); !ok {
		t.Fatal("a good table refused")
	}
	head := len(idsBaseMagic) + 16 + 1 // then 3 offsets
	for name, b := range map[string][]byte{
		"short":            good[:head+8],
		"first offset":     flip(good, head),
		"offsets unsorted": func() []byte { c := append([]byte{}, good...); c[head+4], c[head+8] = c[head+8], c[head+4]; return c }(),
		"trailing byte":    append(append([]byte{}, good...), 0),
		"no entries":       encodeLower(&idTable{off: []uint32{0}}, [16]byte{}),
		"magic":            flip(good, 0),
	} {
		if _, _, ok := parseLower(b); ok {
			t.Errorf("%s: read", name)
		}
	}
	// The first entry's ID length made longer than the entry.
	bad := append([]byte{}, good...)
	bad[head+12] = 0x7f
	l, _, ok := parseLower(bad)
	if !ok {
		t.Fatal("a table with a damaged entry refused before it is looked at")
	}
	if _, _, ok := l.entry(0); ok {
		t.Error("a damaged entry decoded")
	}
	if _, ok := l.get("a"); ok {
		t.Error("a damaged entry found")
	}
	if c, ok := l.get("b"); !ok || c.digest != "d" {
		t.Error("the good entry after a damaged one not found")
	}
}

// FuzzParseLower: any bytes are refused or read as a lower table every
// entry of which can be looked at, by index, ID and digest.
func FuzzParseLower(f *testing.F) {
	ts := time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC)
	tab := (*idTable)(nil).merge(map[string]committedBatch{"a": {digest: "d", ts: ts}, "b": {digest: "e", file: "m", line: 3, ts: ts}})
	f.Add(encodeLower(tab, [16]byte{9}))
	defer func(g func(int) int) { foldAt = g }(foldAt)
	foldAt = func(int) int { return 0 } // every merge folds
	f.Fuzz(func(t *testing.T, b []byte) {
		l, _, ok := parseLower(b)
		if !ok {
			return
		}
		layers := idLayers{lower: l, lowerN: uint64(l.len())}
		for i := range l.len() {
			if id, c, ok := l.entry(i); ok {
				layers.get(id)
				layers.withDigest(c.digest, func(string) {})
			}
			l.idAt(i)
			l.digestAt(i)
		}
		layers.each(func(string, committedBatch) {})
		// Folded with a batch: the new lower table reads back.
		f := layers.merge(map[string]committedBatch{"b": {digest: "x", ts: ts}})
		if !f.lowerNew {
			t.Fatal("no fold")
		}
		if _, _, ok := parseLower(encodeLower(f.lower, f.token)); !ok {
			t.Fatal("a folded table does not read back")
		}
	})
}
