package analyze

import (
	"bytes"
	"testing"
	"time"
)

func TestRunsRoundTrip(t *testing.T) {
	m := 12.5
	r := &Runs{[]*batch{
		{ts: time.Date(2026, 3, 2, 10, 0, 0, 123, time.UTC), minutes: &m, usesMac: true},
		{ts: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
		{ts: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), usesMac: true},
	}}
	b, _ := r.AppendBinary(nil)
	got, rest, err := DecodeRuns(append(b, 7))
	if err != nil || !bytes.Equal(rest, []byte{7}) || len(got.runs) != 3 {
		t.Fatalf("decode: %v %v %d", err, rest, len(got.runs))
	}
	for i, w := range r.runs {
		g := got.runs[i]
		if !g.ts.Equal(w.ts) || g.usesMac != w.usesMac || (g.minutes == nil) != (w.minutes == nil) || (g.minutes != nil && *g.minutes != *w.minutes) {
			t.Errorf("run %d: got %+v, want %+v", i, g, w)
		}
	}
	o := DefaultReportOptions(time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC))
	if a, b := r.Budget(o), got.Budget(o); a.Status != b.Status || a.Batches != b.Batches {
		t.Errorf("budgets differ: %+v %+v", a, b)
	}
}

func FuzzDecodeRuns(f *testing.F) {
	m := 3.0
	b, _ := (&Runs{[]*batch{{ts: time.Unix(1e9, 5), minutes: &m}}}).AppendBinary(nil)
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		r, rest, err := DecodeRuns(data)
		if err != nil {
			return
		}
		again, _ := r.AppendBinary(nil)
		r2, rest2, err := DecodeRuns(again)
		if err != nil || len(rest2) != 0 || len(r2.runs) != len(r.runs) {
			t.Fatalf("decoded runs do not round-trip: %v", err)
		}
		for i := range r.runs {
			a, b := r.runs[i], r2.runs[i]
			if !a.ts.Equal(b.ts) || a.usesMac != b.usesMac || (a.minutes == nil) != (b.minutes == nil) {
				t.Fatalf("run %d differs", i)
			}
		}
		_ = rest
	})
}
