package analyze

// pairStore holds the recipes x platforms' states (pairState) in two
// tables: what every pair needs (16 bytes: its last test, version, kind,
// flags and passes on the version), and what only a pair that failed or
// passed on a retry needs (20 bytes: its run of failures, last failure's
// version and category, and its flip evidence), in a second table that
// the first points into. Most of a registry's pairs only ever pass: they
// cost 16 bytes, not 32. get and set read and write a whole pairState;
// the split is this file's alone.
type pairStore struct {
	hot  chunked[pairHot]
	cold chunked[pairCold]
}

type pairHot struct {
	lastPos  int32
	lastVer  uint32
	cold     uint32 // index + 1 in the cold table; 0: none
	passes   uint16
	lastKind uint8
	flags    pairFlags
}

type pairCold struct {
	sincePos, lastFlip    int32
	failVer               uint32
	fails, retried, flips uint16
	lastCat               uint16
}

func (s *pairStore) len() int { return s.hot.len() }

// add appends a new pair, never tested.
func (s *pairStore) add() { s.hot.add(pairHot{lastPos: -1}) }

// flags returns pair i's flags.
func (s *pairStore) flags(i int) pairFlags { return s.hot.at(i).flags }

// get returns pair i's state.
func (s *pairStore) get(i int) pairState {
	h := s.hot.at(i)
	st := pairState{lastPos: h.lastPos, lastVer: h.lastVer, passes: h.passes, lastKind: h.lastKind, flags: h.flags, sincePos: -1, lastFlip: -1}
	if h.cold != 0 {
		c := s.cold.at(int(h.cold - 1))
		st.sincePos, st.lastFlip, st.failVer = c.sincePos, c.lastFlip, c.failVer
		st.fails, st.retried, st.flips, st.lastCat = c.fails, c.retried, c.flips, c.lastCat
	}
	return st
}

// set makes pair i's state st. The cold part is made the first time st
// holds anything but its blank values, and kept from then on.
func (s *pairStore) set(i int, st pairState) {
	h := s.hot.at(i)
	h.lastPos, h.lastVer, h.passes, h.lastKind, h.flags = st.lastPos, st.lastVer, st.passes, st.lastKind, st.flags
	c := pairCold{sincePos: st.sincePos, lastFlip: st.lastFlip, failVer: st.failVer, fails: st.fails, retried: st.retried, flips: st.flips, lastCat: st.lastCat}
	if h.cold == 0 {
		if c == (pairCold{sincePos: -1, lastFlip: -1}) {
			return
		}
		s.cold.add(c)
		h.cold = uint32(s.cold.len())
		return
	}
	*s.cold.at(int(h.cold - 1)) = c
}
