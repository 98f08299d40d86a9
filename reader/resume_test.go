package reader

import (
	"bytes"
	"encoding/json"
	"hash/crc32"
	"os"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/batchsli/batchsli/model"
)

// TestResume: a file read on from a span (Options.Resume) gives the
// records of a whole reading after that span, numbered alike, and the same
// span at the end (Options.Spans); PrefixCRC is the span's checksum.
func TestResume(t *testing.T) {
	for _, dir := range []string{"copies", "uncommitted", "formats", "tsuku", "bad"} {
		fsys := os.DirFS("testdata/" + dir)
		type rec struct {
			Line int
			Data string
		}
		read := func(resume func(string) Span) (map[string][]rec, map[string]Span, map[string]bool) {
			recs, spans, one := map[string][]rec{}, map[string]Span{}, map[string]bool{}
			r := New(fsys, dir, Options{Resume: resume, Spans: func(p string, s Span, clean bool) {
				spans[p], one[p] = s, clean
			}})
			keep := func(src model.Source, v any) {
				b, _ := json.Marshal(v)
				f := strings.TrimPrefix(src.File, dir+"/")
				recs[f] = append(recs[f], rec{src.Line, string(b)})
			}
			if err := r.Metrics(func(b *model.BatchRun) { c := *b; c.Source = model.Source{}; keep(b.Source, c) }); err != nil {
				t.Fatal(err)
			}
			if err := r.Failures(func(f *model.Failure) { c := *f; c.Source = model.Source{}; keep(f.Source, c) }); err != nil {
				t.Fatal(err)
			}
			if err := r.Outcomes(func(o *model.Outcomes) { c := *o; c.Source = model.Source{}; keep(o.Source, c) }); err != nil {
				t.Fatal(err)
			}
			return recs, spans, one
		}
		whole, spans, one := read(nil)
		resumed, compared := 0, 0
		for p, end := range spans {
			data, err := os.ReadFile(path.Join("testdata", dir, p))
			if err != nil {
				t.Fatal(err)
			}
			if end.End != int64(bytes.LastIndexByte(data, '\n')+1) || end.Lines != bytes.Count(data[:end.End], []byte{'\n'}) ||
				end.CRC != crc32.Checksum(data[:end.End], castagnoli) {
				t.Fatalf("%s/%s: span %+v", dir, p, end)
			}
			if c, ok := PrefixCRC(fsys, p, end.End); !ok || c != end.CRC {
				t.Fatalf("%s/%s: PrefixCRC %x, %v; want %x", dir, p, c, ok, end.CRC)
			}
			if !one[p] {
				continue
			}
			// From each newline in turn.
			for i, b := range data[:end.End] {
				if b != '\n' {
					continue
				}
				from := Span{End: int64(i + 1), Lines: bytes.Count(data[:i+1], []byte{'\n'}), CRC: crc32.Checksum(data[:i+1], castagnoli)}
				got, gotSpans, _ := read(func(q string) Span {
					if q == p {
						return from
					}
					return Span{}
				})
				var want []rec
				for _, r := range whole[p] {
					if r.Line > from.Lines {
						want = append(want, r)
					}
				}
				// A record repeating one before the span (a copied line, a
				// batch recorded twice) is left out by the whole reading only.
				before := map[string]bool{}
				for _, r := range whole[p] {
					if r.Line <= from.Lines {
						before[r.Data] = true
					}
				}
				var kept []rec
				for _, r := range got[p] {
					if !before[r.Data] || slices.Contains(want, r) {
						kept = append(kept, r)
					}
				}
				a, _ := json.Marshal(kept)
				b, _ := json.Marshal(want)
				if string(a) != string(b) {
					t.Fatalf("%s/%s from line %d: records\n%s\nwant\n%s", dir, p, from.Lines, a, b)
				}
				if gotSpans[p] != end {
					t.Fatalf("%s/%s from line %d: end span %+v, want %+v", dir, p, from.Lines, gotSpans[p], end)
				}
				resumed++
				compared += len(want)
			}
		}
		if dir == "bad" {
			// Every file there has a problem: none is clean, and none
			// may be read on from.
			for p, clean := range one {
				if clean {
					t.Errorf("bad/%s: reported clean", p)
				}
			}
			continue
		}
		if (resumed == 0 || compared == 0) && dir != "formats" {
			t.Errorf("%s: %d readings from a span, %d records compared", dir, resumed, compared)
		}
		if len(whole) == 0 {
			t.Errorf("%s: no record read", dir)
		}
	}
}
