package analyze

// chunked is a growable array in fixed pages: it grows without copying
// what it holds, and never holds more than a page unused, where a slice
// grown by append copies everything at each doubling and may hold as much
// unused as used.
type chunked[T any] struct {
	pages [][]T
	n     int
}

const chunkBits = 14

func (c *chunked[T]) len() int { return c.n }

// add appends v.
func (c *chunked[T]) add(v T) {
	if c.n>>chunkBits == len(c.pages) {
		c.pages = append(c.pages, make([]T, 1<<chunkBits))
	}
	c.pages[c.n>>chunkBits][c.n&(1<<chunkBits-1)] = v
	c.n++
}

// at returns the i-th element (i < len()).
func (c *chunked[T]) at(i int) *T {
	return &c.pages[i>>chunkBits][i&(1<<chunkBits-1)]
}
