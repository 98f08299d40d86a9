package render

import (
	"bytes"
	"testing"
	"time"

	"github.com/batchsli/batchsli/analyze"
)

var (
	testTime   = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	testBudget = analyze.Budget{BudgetMinutes: 1000, Status: "ok"}
)

func FuzzDecodeClocked(f *testing.F) {
	b, _ := (&Clocked{Format: "text", Chunks: [][]byte{[]byte("a"), []byte("b")}}).AppendBinary(nil)
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, rest, err := DecodeClocked(data)
		if err != nil {
			return
		}
		again, _ := c.AppendBinary(nil)
		c2, rest2, err := DecodeClocked(again)
		if err != nil || len(rest2) != 0 || c2.Format != c.Format || !bytes.Equal(bytes.Join(c2.Chunks, []byte{0}), bytes.Join(c.Chunks, []byte{0})) {
			t.Fatalf("decoded report does not round-trip: %v", err)
		}
		_ = rest
		c.Render(testTime, testBudget) // never panics
	})
}
