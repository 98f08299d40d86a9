package reader

import (
	"fmt"
	"testing"
	"unsafe"
)

// TestIntern gets strings that share slots and ones that do not, short and
// long, again and again: each comes back equal to what was asked, and one
// copy is kept of each while the map has room.
func TestIntern(t *testing.T) {
	in := newIntern()
	var words []string
	for i := range 3000 {
		words = append(words, fmt.Sprintf("linux-debian-glibc-x86_%d", i), fmt.Sprint(i%7), "")
	}
	first := map[string]string{}
	for round := range 3 {
		for _, w := range words {
			got := in.get([]byte(w))
			if got != w {
				t.Fatalf("round %d: get(%q) = %q", round, w, got)
			}
			if f, ok := first[w]; !ok {
				first[w] = got
			} else if w != "" && unsafe.StringData(f) != unsafe.StringData(got) {
				t.Fatalf("round %d: %q is a second copy", round, w)
			}
		}
	}
}
