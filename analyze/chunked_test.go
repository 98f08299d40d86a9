package analyze

import "testing"

func TestChunked(t *testing.T) {
	var c chunked[int32]
	const n = 3<<chunkBits + 5
	for i := range n {
		c.add(int32(i))
	}
	if c.len() != n {
		t.Fatalf("len %d, want %d", c.len(), n)
	}
	for i := range n {
		if got := *c.at(i); got != int32(i) {
			t.Fatalf("at(%d) = %d", i, got)
		}
	}
	*c.at(1 << chunkBits) = -1
	if *c.at(1 << chunkBits) != -1 || *c.at(1<<chunkBits - 1) != 1<<chunkBits-1 {
		t.Error("a write through at changed the wrong element")
	}
	if len(c.pages) != 4 {
		t.Errorf("%d pages for %d elements, want 4", len(c.pages), n)
	}
}
