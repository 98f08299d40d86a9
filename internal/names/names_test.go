package names

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestTable(t *testing.T) {
	var tb Table
	if _, ok := tb.Lookup("x"); ok {
		t.Fatal("empty table found x")
	}
	want := []string{"", "a", "crates.io:ripgrep", strings.Repeat("long", 10000), "b", "a\x00b", "A"}
	for round := range 2 {
		for i, s := range want {
			if got := tb.Index(s); got != uint32(i) {
				t.Fatalf("round %d: Index(%.20q) = %d, want %d", round, s, got, i)
			}
		}
	}
	if tb.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", tb.Len(), len(want))
	}
	for i, s := range want {
		if got := tb.Name(uint32(i)); got != s {
			t.Fatalf("Name(%d) = %.20q, want %.20q", i, got, s)
		}
		if got, ok := tb.Lookup(s); !ok || got != uint32(i) {
			t.Fatalf("Lookup(%.20q) = %d, %v", s, got, ok)
		}
	}
	if _, ok := tb.Lookup("c"); ok {
		t.Fatal("Lookup found a name never added")
	}
}

// TestTableMany checks numbering and names against a map over enough names
// to grow the index many times and fill many pages, long names among them.
func TestTableMany(t *testing.T) {
	var tb Table
	ref := map[string]uint32{}
	var order []string
	r := rand.New(rand.NewPCG(1, 2))
	for range 300000 {
		var s string
		switch r.IntN(100) {
		case 0:
			s = strings.Repeat(fmt.Sprint(r.IntN(50)), 2000+r.IntN(30000))
		default:
			s = fmt.Sprintf("eco%d:pkg%d", r.IntN(7), r.IntN(200000))
		}
		want, ok := ref[s]
		if !ok {
			want = uint32(len(order))
			ref[s] = want
			order = append(order, s)
		}
		if got := tb.Index(s); got != want {
			t.Fatalf("Index(%.30q) = %d, want %d", s, got, want)
		}
	}
	if tb.Len() != len(order) {
		t.Fatalf("Len = %d, want %d", tb.Len(), len(order))
	}
	for i, s := range order {
		if tb.Name(uint32(i)) != s {
			t.Fatalf("Name(%d) = %.30q, want %.30q", i, tb.Name(uint32(i)), s)
		}
	}
}

func TestReserve(t *testing.T) {
	var tb Table
	tb.Reserve(1000)
	slots := len(tb.slots)
	for i := range 1000 {
		tb.Index(fmt.Sprint(i))
	}
	if len(tb.slots) != slots {
		t.Fatalf("index grew from %d to %d slots within the reserve", slots, len(tb.slots))
	}
	for i := range 1000 {
		if got, ok := tb.Lookup(fmt.Sprint(i)); !ok || got != uint32(i) {
			t.Fatalf("Lookup(%d) = %d, %v", i, got, ok)
		}
	}
}

func FuzzTable(f *testing.F) {
	f.Add([]byte("a\nb\na\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var tb Table
		ref := map[string]uint32{}
		for _, s := range strings.Split(string(data), "\n") {
			want, ok := ref[s]
			if !ok {
				want = uint32(len(ref))
				ref[s] = want
			}
			if got := tb.Index(s); got != want || tb.Name(got) != s {
				t.Fatalf("Index(%q) = %d (%q), want %d", s, got, tb.Name(got), want)
			}
		}
	})
}

// names returns n recipe-like names, and the order to look them up in.
func benchNames(n int) ([]string, []int) {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("crates.io:pkg-name-%d", i*7919%1000003)
	}
	order := rand.New(rand.NewPCG(3, 4)).Perm(n)
	return names, order
}

// copies returns a copy of each name: what a reader hands on is never the
// string a table keeps.
func copies(names []string) []string {
	out := make([]string, len(names))
	for i, s := range names {
		out[i] = strings.Clone(s)
	}
	return out
}

func BenchmarkLookup(b *testing.B) {
	names, order := benchNames(200000)
	keys := copies(names)
	b.Run("Table", func(b *testing.B) {
		var tb Table
		for _, s := range names {
			tb.Index(s)
		}
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			tb.Index(keys[order[i%len(order)]])
		}
	})
	b.Run("map", func(b *testing.B) {
		m := map[string]uint32{}
		for i, s := range names {
			m[s] = uint32(i)
		}
		b.ResetTimer()
		for i := 0; b.Loop(); i++ {
			_ = m[keys[order[i%len(order)]]]
		}
	})
}

func BenchmarkBuild(b *testing.B) {
	names, _ := benchNames(200000)
	b.Run("Table", func(b *testing.B) {
		for b.Loop() {
			var tb Table
			for _, s := range names {
				tb.Index(s)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		for b.Loop() {
			m := map[string]uint32{}
			var order []string
			for _, s := range names {
				if _, ok := m[s]; !ok {
					m[s] = uint32(len(order))
					order = append(order, s)
				}
			}
		}
	})
}

// TestClone grows a table and its copy apart: neither sees the other's
// names, and the names they shared stay the same in both.
func TestClone(t *testing.T) {
	var a Table
	for i := range 100 {
		a.Index(fmt.Sprint("shared", i))
	}
	b := a.Clone()
	for i := range 5000 {
		a.Index(fmt.Sprint("a", i))
		b.Index(fmt.Sprint("b", i))
	}
	for i := range 100 {
		want := fmt.Sprint("shared", i)
		if a.Name(uint32(i)) != want || b.Name(uint32(i)) != want {
			t.Fatalf("name %d: %q and %q, want %q", i, a.Name(uint32(i)), b.Name(uint32(i)), want)
		}
	}
	for i := range 5000 {
		if got := a.Name(uint32(100 + i)); got != fmt.Sprint("a", i) {
			t.Fatalf("a's name %d = %q", 100+i, got)
		}
		if got := b.Name(uint32(100 + i)); got != fmt.Sprint("b", i) {
			t.Fatalf("b's name %d = %q", 100+i, got)
		}
		if _, ok := a.Lookup(fmt.Sprint("b", i)); ok {
			t.Fatal("a has b's name")
		}
	}
}

// TestLongNameLength: a name with a page of its own takes its length from
// the page, not from 32 bits (a name of 4 GiB or more would wrap them);
// names around the limit of a shared page keep theirs.
func TestLongNameLength(t *testing.T) {
	var tb Table
	for _, n := range []int{pageSize/4 - 1, pageSize / 4, pageSize/4 + 1, pageSize, 3 * pageSize} {
		s := strings.Repeat("x", n-1) + "y"
		i := tb.Index(s)
		if got := tb.Name(i); got != s {
			t.Fatalf("name of %d bytes came back as %d bytes", n, len(got))
		}
		p := tb.at[i]
		if own := p.n == ownPage; own != (n > pageSize/4) {
			t.Fatalf("name of %d bytes: a page of its own is %v", n, own)
		}
		if j, ok := tb.Lookup(s); !ok || j != i {
			t.Fatalf("name of %d bytes not found again", n)
		}
		if _, ok := tb.Lookup(s[:n-1]); ok {
			t.Fatalf("a prefix of the name of %d bytes was found", n)
		}
	}
}
