package reader

import (
	"strconv"

	"github.com/batchsli/batchsli/model"
)

// fastMetrics lets MetricsFile read the common shape of a v2 batch-run line
// with fastBatchRun; tests turn it off to compare with the general decoder.
var fastMetrics = true

// Keys of a v2 batch-run line, as bits.
const (
	bkSchema uint16 = 1 << iota
	bkBatch
	bkAttempt
	bkDigest
	bkEcosystem
	bkTotal
	bkGenerated
	bkMerged
	bkExcluded
	bkConstrained
	bkPlatforms
	bkMinutes
	bkTimestamp
	bkDuration
)

// Keys of a platform's counts, as bits.
const (
	ckTested uint8 = 1 << iota
	ckPassed
	ckFailed
	ckSkipped
	ckDuration
	ckInfra
	ckGated
)

// countKeys are the keys of a platform's counts in the order record
// writes them (model.Counts' fields).
var countKeys = keysOf(
	[]string{"tested", "passed", "failed", "skipped", "duration_seconds", "infrastructure", "gated_by"},
	[]uint16{uint16(ckTested), uint16(ckPassed), uint16(ckFailed), uint16(ckSkipped), uint16(ckDuration), uint16(ckInfra), uint16(ckGated)})

// batchSlabs keeps the numbers and gates batch-run records point to.
type batchSlabs struct {
	floats slab[float64]
	ints   slab[int64]
	strs   slab[string]
}

// fastBatchRun decodes the line a v2 batch-run record is written as
// (compact JSON on one line, the keys record writes, each once, strings
// without escapes, numbers without exponents) into b and plats as
// decodeBatchRun would, without the general decoder. It reports false for
// anything else, and for any record the general decoder would find a
// problem in: that decoder then reads the line. FuzzFastBatchRun checks
// that the two agree on every line the fast path takes.
func fastBatchRun(line []byte, in intern, file string, n int, b *model.BatchRun, plats map[string]model.Counts, slabs *batchSlabs) bool {
	if len(line) < 2 || line[0] != '{' || line[len(line)-1] != '}' {
		return false
	}
	*b = model.BatchRun{SchemaVersion: -1, Source: model.Source{File: file, Line: n}}
	clear(plats)
	var (
		seen      uint16
		ecosystem string
		ts        []byte
	)
	i := 1
	for {
		key, k, ok := plainString(line, i)
		if !ok || k >= len(line) || line[k] != ':' {
			return false
		}
		i = k + 1
		var bit uint16
		var s []byte
		var v int64
		switch string(key) {
		case "schema_version":
			bit = bkSchema
			v, i, ok = plainInt(line, i)
			b.SchemaVersion = int(v)
		case "batch_id":
			bit = bkBatch
			s, i, ok = plainString(line, i)
			b.BatchID = string(s)
		case "attempt_id":
			bit = bkAttempt
			s, i, ok = plainString(line, i)
			b.AttemptID = string(s)
		case "digest":
			bit = bkDigest
			s, i, ok = plainString(line, i)
			b.Digest = string(s)
		case "ecosystem":
			bit = bkEcosystem
			s, i, ok = plainString(line, i)
			ecosystem = in.get(s)
		case "total":
			bit = bkTotal
			b.Total, i, ok = plainCount(line, i)
		case "generated":
			bit = bkGenerated
			b.Generated, i, ok = plainCount(line, i)
		case "merged":
			bit = bkMerged
			b.Merged, i, ok = plainCount(line, i)
		case "excluded":
			bit = bkExcluded
			b.Excluded, i, ok = plainCount(line, i)
		case "constrained":
			bit = bkConstrained
			b.Constrained, i, ok = plainCount(line, i)
		case "platforms":
			bit = bkPlatforms
			i, ok = fastPlatforms(line, i, in, plats, slabs)
			b.Platforms = plats
		case "macos_minutes_used":
			bit = bkMinutes
			v, i, ok = plainCount(line, i)
			b.MacOSMinutesUsed = slabs.ints.ptr(v)
		case "timestamp":
			bit = bkTimestamp
			ts, i, ok = plainString(line, i)
		case "duration_seconds":
			bit = bkDuration
			var d float64
			d, i, ok = plainSeconds(line, i)
			b.DurationSeconds = slabs.floats.ptr(d)
		default:
			return false
		}
		if !ok || seen&bit != 0 || i >= len(line) {
			return false
		}
		seen |= bit
		if line[i] == '}' {
			if i != len(line)-1 {
				return false
			}
			break
		}
		if line[i] != ',' {
			return false
		}
		i++
	}
	const need = bkSchema | bkBatch | bkPlatforms | bkTimestamp
	if seen&need != need || b.SchemaVersion != model.SchemaVersion || b.BatchID == "" {
		return false
	}
	t, ok := parseUTC(ts)
	if !ok {
		return false
	}
	b.Timestamp = t
	b.Ecosystem = batchEcosystem(ecosystem, nil)
	return true
}

// fastPlatforms reads, at line[i], a platforms object of counts objects
// into plats, checking them as decodeCounts does.
func fastPlatforms(line []byte, i int, in intern, plats map[string]model.Counts, slabs *batchSlabs) (int, bool) {
	if i >= len(line) || line[i] != '{' {
		return i, false
	}
	i++
	if i < len(line) && line[i] == '}' {
		return i + 1, true
	}
	var gated [8]string
	for {
		key, k, ok := plainString(line, i)
		if !ok || k+1 >= len(line) || line[k] != ':' || line[k+1] != '{' {
			return i, false
		}
		id := in.get(key)
		if _, dup := plats[id]; dup {
			return i, false
		}
		i = k + 2
		var (
			c    model.Counts
			seen uint8
			next int
		)
		for {
			k, j, ok := matchKey(line, i, countKeys, next)
			if !ok {
				return i, false
			}
			bit := uint8(countKeys[k].bit)
			if i, next = j, k+1; next == len(countKeys) {
				next = 0
			}
			switch bit {
			case ckTested:
				c.Tested, i, ok = plainCount(line, i)
			case ckPassed:
				c.Passed, i, ok = plainCount(line, i)
			case ckFailed:
				c.Failed, i, ok = plainCount(line, i)
			case ckSkipped:
				c.Skipped, i, ok = plainCount(line, i)
				c.SkippedKnown = true
			case ckDuration:
				var d float64
				d, i, ok = plainSeconds(line, i)
				c.DurationSeconds = slabs.floats.ptr(d)
			case ckInfra:
				var v int64
				v, i, ok = plainCount(line, i)
				c.Infrastructure = slabs.ints.ptr(v)
			case ckGated:
				gs := gated[:0]
				i, ok = plainArray(line, i, func(s []byte) { gs = append(gs, in.get(s)) })
				c.GatedBy = slabs.strs.slice(gs)
			}
			if !ok || seen&bit != 0 || i >= len(line) {
				return i, false
			}
			seen |= bit
			if line[i] == '}' {
				i++
				break
			}
			if line[i] != ',' {
				return i, false
			}
			i++
		}
		if c.Passed+c.Failed != c.Tested || c.Infrastructure != nil && *c.Infrastructure > c.Failed {
			return i, false
		}
		for _, g := range c.GatedBy {
			if g == id || g == "" {
				return i, false
			}
		}
		plats[id] = c
		if i >= len(line) {
			return i, false
		}
		switch line[i] {
		case '}':
			return i + 1, true
		case ',':
			i++
		default:
			return i, false
		}
	}
}

// plainCount reads a count as nonNegative accepts it.
func plainCount(line []byte, i int) (int64, int, bool) {
	v, j, ok := plainInt(line, i)
	return v, j, ok && v <= MaxCount
}

// plainSeconds reads a duration as nonNegativeFloat accepts it, written
// without sign or exponent.
func plainSeconds(line []byte, i int) (float64, int, bool) {
	j := i
	digits := func() int {
		k := j
		for j < len(line) && line[j] >= '0' && line[j] <= '9' {
			j++
		}
		return j - k
	}
	n := digits()
	if n == 0 || n > 1 && line[i] == '0' {
		return 0, i, false
	}
	if j < len(line) && line[j] == '.' {
		j++
		if digits() == 0 {
			return 0, i, false
		}
	}
	if j < len(line) && (line[j] == 'e' || line[j] == 'E' || line[j] == '.') || j-i > 24 {
		return 0, i, false
	}
	v, err := strconv.ParseFloat(string(line[i:j]), 64)
	if err != nil || v > MaxSeconds {
		return 0, i, false
	}
	return v, j, true
}
