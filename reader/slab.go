package reader

// slab hands out values and short slices from chunks it allocates and never
// reuses: one allocation for many of the small things a record points to
// (durations, counts, exit codes, blockers), each valid for as long as the
// record is kept.
type slab[T any] struct{ buf []T }

const slabChunk = 64

// ptr returns a pointer to a copy of v.
func (s *slab[T]) ptr(v T) *T {
	if len(s.buf) == cap(s.buf) {
		s.buf = make([]T, 0, slabChunk)
	}
	s.buf = append(s.buf, v)
	return &s.buf[len(s.buf)-1]
}

// slice returns a copy of vs (nil for none), capped so that appending to
// it never writes into the slab.
func (s *slab[T]) slice(vs []T) []T {
	switch {
	case len(vs) == 0:
		return nil
	case len(vs) > slabChunk/4:
		return append([]T(nil), vs...)
	}
	if cap(s.buf)-len(s.buf) < len(vs) {
		s.buf = make([]T, 0, slabChunk)
	}
	at := len(s.buf)
	s.buf = append(s.buf, vs...)
	return s.buf[at:len(s.buf):len(s.buf)]
}
