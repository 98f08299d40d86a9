package record

import (
	"reflect"
	"testing"
	"time"

	"github.com/batchsli/batchsli/reader"
)

// FuzzDecodeCheckpoint: any bytes decode to a checkpoint or an error,
// never a panic, and a checkpoint decoded, encoded and decoded again is
// the same checkpoint.
func FuzzDecodeCheckpoint(f *testing.F) {
	c := &checkpoint{
		files: []checkpointFile{{path: "metrics/batch-runs.jsonl", span: reader.Span{End: 120, Lines: 2, CRC: 7}, mark: reader.Mark{1, 2, 3}}},
		seen:  []string{"2026-03-02-cargo-1", "x"},
		committed: idLayers{lowerN: 7, token: [16]byte{1, 2}, upper: (*idTable)(nil).merge(map[string]committedBatch{"2026-03-02-cargo-1": {digest: "abc",
			ts: time.Date(2026, 3, 2, 0, 0, 0, 5, time.UTC), file: "data/metrics/batch-runs.jsonl", line: 1},
			"2026-03-02-cargo-2": {digest: "abd", ts: time.Date(2026, 3, 2, 4, 0, 0, 0, time.UTC), file: "data/metrics/batch-runs.jsonl", line: 2}})},
	}
	enc := c.encode()
	back, err := decodeCheckpoint(enc)
	if err != nil || !reflect.DeepEqual(back, c) {
		f.Fatalf("round trip: %+v, %v", back, err)
	}
	f.Add(enc)
	f.Add([]byte(idsMagic))
	f.Add([]byte(idsMagic + "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeCheckpoint(data)
		if err != nil {
			return
		}
		again, err := decodeCheckpoint(c.encode())
		if err != nil || !reflect.DeepEqual(again, c) {
			t.Fatalf("decoded %q to %+v; encoded and decoded again %+v, %v", data, c, again, err)
		}
	})
}
