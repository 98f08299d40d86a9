package reader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/bits"
	"strings"
	"time"

	"github.com/batchsli/batchsli/internal/jsonlite"
	"github.com/batchsli/batchsli/model"
)

func errorsIsNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// intern keeps one copy of the short strings that repeat in every record
// (environments, ecosystems, categories), so reading allocates less. A
// history names a few dozen of them, met record after record: each is
// looked for first in a small direct-mapped table, by a hash of its length
// and end bytes, and only then in the map.
type intern = *interner

type interner struct {
	m     map[string]string
	slots [256]string
}

func newIntern() intern { return &interner{m: map[string]string{}} }

func (in *interner) get(b []byte) string {
	slot := &in.slots[internSlot(b)]
	if *slot == string(b) {
		return *slot
	}
	if s, ok := in.m[string(b)]; ok {
		*slot = s
		return s
	}
	if len(in.m) > 4096 {
		return string(b)
	}
	s := string(b)
	in.m[s] = s
	*slot = s
	return s
}

// internSlot picks b's slot in interner.slots: a multiplicative hash of its
// length and its first and last eight bytes (fewer when shorter).
func internSlot(b []byte) uint8 {
	var x uint64
	if n := len(b); n >= 8 {
		x = binary.LittleEndian.Uint64(b) ^ bits.RotateLeft64(binary.LittleEndian.Uint64(b[n-8:]), 29)
	} else {
		for _, c := range b {
			x = x<<8 | uint64(c)
		}
	}
	x ^= uint64(len(b)) << 58
	return uint8((x * 0x9e3779b97f4a7c15) >> 56)
}

func nonNegative(dec *jsonlite.Decoder, field string) (int64, error) {
	return nonNegativeOf(dec, "", field)
}

// nonNegativeOf is nonNegative for the field of a platform (id.field), its
// name made only for a problem.
func nonNegativeOf(dec *jsonlite.Decoder, id, field string) (int64, error) {
	line := dec.Line()
	n, err := dec.Int()
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, lineError{line, fmt.Sprintf("%s is negative (%d)", fieldName(id, field), n)}
	}
	if n > MaxCount {
		return 0, lineError{line, fmt.Sprintf("%s is too large (%d; at most %d)", fieldName(id, field), n, int64(MaxCount))}
	}
	return n, nil
}

func fieldName(id, field string) string {
	if id == "" {
		return field
	}
	return id + "." + field
}

// internedStrings decodes an array of strings (or null), each interned.
func internedStrings(dec *jsonlite.Decoder, in intern) ([]string, error) {
	if dec.Null() {
		return nil, nil
	}
	var out []string
	err := dec.Array(func(int) error {
		b, err := dec.StringBytes()
		if err == nil {
			out = append(out, in.get(b))
		}
		return err
	})
	return out, err
}

// MaxCount is the largest count a record may hold (2^40). Sums of up to 2^23
// such counts cannot overflow an int64; a larger count is a problem, never
// a wrap.
const MaxCount = 1 << 40

// MaxSeconds is the largest duration a record may hold, in seconds (about
// 31 years): far above any job, and small enough that minutes summed over a
// history cannot overflow.
const MaxSeconds = 1e9

func nonNegativeFloat(dec *jsonlite.Decoder, field string) (float64, error) {
	return nonNegativeFloatOf(dec, "", field)
}

func nonNegativeFloatOf(dec *jsonlite.Decoder, id, field string) (float64, error) {
	line := dec.Line()
	n, err := dec.Float()
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, lineError{line, fmt.Sprintf("%s is negative (%v)", fieldName(id, field), n)}
	}
	if n > MaxSeconds {
		return 0, lineError{line, fmt.Sprintf("%s is too large (%v; at most %v)", fieldName(id, field), n, MaxSeconds)}
	}
	return n, nil
}

// ParseTime parses RFC 3339 times, and the dashed form 2026-03-01T10-20-30Z
// found in v1 failure files. The result is UTC.
func ParseTime(s string) (time.Time, error) {
	if len(s) >= 19 && s[10] == 'T' && s[13] == '-' && s[16] == '-' {
		s = s[:13] + ":" + s[14:16] + ":" + s[17:]
	}
	// time.Parse accepts one-digit hours; records must be exact.
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, fmt.Errorf("time %q is not RFC 3339", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("time %q is not RFC 3339", s)
	}
	if t.Year() < 2000 || t.Year() > 9999 {
		return time.Time{}, fmt.Errorf("time %q is out of range (years 2000 to 9999)", s)
	}
	return t.UTC(), nil
}

// parseUTC reads the common form YYYY-MM-DDTHH:MM:SS[.fraction]Z (or with
// dashes in the time) without allocating; ok is false for any other form.
func parseUTC(b []byte) (time.Time, bool) {
	n := len(b)
	if n < 20 || b[n-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' ||
		(b[13] != ':' && b[13] != '-') || b[16] != b[13] {
		return time.Time{}, false
	}
	num := func(i, w int) (int, bool) {
		v := 0
		for _, c := range b[i : i+w] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 2)
	d, ok3 := num(8, 2)
	h, ok4 := num(11, 2)
	mi, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || y < 2000 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if n > 20 {
		if b[19] != '.' || n-21 > 9 || n-21 < 1 {
			return time.Time{}, false
		}
		f, ok := num(20, n-21)
		if !ok {
			return time.Time{}, false
		}
		for i := n - 21; i < 9; i++ {
			f *= 10
		}
		nsec = f
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, nsec, time.UTC)
	if t.Day() != d { // 31 February and the like
		return time.Time{}, false
	}
	return t, true
}

func decodeTime(dec *jsonlite.Decoder, field string) (time.Time, error) {
	line := dec.Line()
	s, err := dec.StringBytes()
	if err != nil {
		return time.Time{}, err
	}
	if t, ok := parseUTC(s); ok {
		return t, nil
	}
	t, err := ParseTime(string(s))
	if err != nil {
		return time.Time{}, lineError{line, field + ": " + err.Error()}
	}
	return t, nil
}

// decodeCounts decodes a platforms object into out (a new map when nil).
func decodeCounts(dec *jsonlite.Decoder, in intern, out map[string]model.Counts) (map[string]model.Counts, error) {
	if out == nil {
		out = make(map[string]model.Counts, 8)
	}
	// Durations and infrastructure counts live in slabs per record rather
	// than one allocation each.
	var durations slab[float64]
	var infra slab[int64]
	err := dec.Object(func(key []byte) error {
		id := in.get(key)
		line := dec.Line()
		var c model.Counts
		err := dec.Object(func(k []byte) error {
			var err error
			switch string(k) {
			case "tested":
				c.Tested, err = nonNegativeOf(dec, id, "tested")
			case "passed":
				c.Passed, err = nonNegativeOf(dec, id, "passed")
			case "failed":
				c.Failed, err = nonNegativeOf(dec, id, "failed")
			case "skipped":
				c.Skipped, err = nonNegativeOf(dec, id, "skipped")
				c.SkippedKnown = true
			case "infrastructure":
				var n int64
				n, err = nonNegativeOf(dec, id, "infrastructure")
				c.Infrastructure = infra.ptr(n)
			case "gated_by":
				c.GatedBy, err = internedStrings(dec, in)
			case "duration_seconds":
				if dec.Null() {
					return nil
				}
				var d float64
				d, err = nonNegativeFloatOf(dec, id, "duration_seconds")
				c.DurationSeconds = durations.ptr(d)
			default:
				err = dec.Skip()
			}
			return err
		})
		if err != nil {
			return err
		}
		if c.Passed+c.Failed != c.Tested {
			return lineError{line, fmt.Sprintf("platform %s: passed (%d) + failed (%d) != tested (%d)", id, c.Passed, c.Failed, c.Tested)}
		}
		if c.Infrastructure != nil && *c.Infrastructure > c.Failed {
			return lineError{line, fmt.Sprintf("platform %s: infrastructure (%d) > failed (%d)", id, *c.Infrastructure, c.Failed)}
		}
		for _, g := range c.GatedBy {
			if g == id || g == "" {
				return lineError{line, fmt.Sprintf("platform %s: gated_by names %q", id, g)}
			}
		}
		out[id] = c
		return nil
	})
	return out, err
}

// decodeBatchRun decodes a batch-run record of any schema version.
//
// With into and plats (reuse), the record and its platforms map are decoded
// into them instead of new ones.
func decodeBatchRun(dec *jsonlite.Decoder, in intern, file string, line int, into *model.BatchRun, plats map[string]model.Counts) (*model.BatchRun, error) {
	b := into
	if b == nil {
		b = &model.BatchRun{}
	}
	*b = model.BatchRun{SchemaVersion: -1, Source: model.Source{File: file, Line: line}}
	if plats != nil {
		clear(plats)
	}
	var (
		haveTS, havePlatforms, v0              bool
		validatedLinux, validatedMacOS, failed int64
		ecosystem                              string
	)
	err := dec.Object(func(key []byte) error {
		var err error
		switch string(key) {
		case "schema_version":
			var v int64
			v, err = dec.Int()
			b.SchemaVersion = int(v)
		case "batch_id":
			b.BatchID, err = dec.String()
		case "attempt_id":
			b.AttemptID, err = dec.String()
		case "digest":
			b.Digest, err = dec.String()
		case "ecosystem":
			var s []byte
			s, err = dec.StringBytes()
			ecosystem = in.get(s)
		case "ecosystems":
			b.Ecosystems = map[string]int64{}
			err = dec.Object(func(k []byte) error {
				n, err := nonNegative(dec, "ecosystems."+string(k))
				b.Ecosystems[in.get(k)] = n
				return err
			})
		case "total":
			b.Total, err = nonNegative(dec, "total")
		case "generated":
			b.Generated, err = nonNegative(dec, "generated")
		case "merged":
			b.Merged, err = nonNegative(dec, "merged")
		case "excluded":
			b.Excluded, err = nonNegative(dec, "excluded")
		case "constrained":
			b.Constrained, err = nonNegative(dec, "constrained")
		case "platforms":
			havePlatforms = true
			b.Platforms, err = decodeCounts(dec, in, plats)
		case "by_ecosystem":
			b.ByEcosystem = map[string]map[string]model.Counts{}
			err = dec.Object(func(k []byte) error {
				eco := in.get(k)
				m, err := decodeCounts(dec, in, nil)
				b.ByEcosystem[eco] = m
				return err
			})
		case "job_duration_seconds":
			b.JobSeconds = map[string]float64{}
			err = dec.Object(func(k []byte) error {
				n, err := nonNegativeFloat(dec, "job_duration_seconds."+string(k))
				b.JobSeconds[in.get(k)] = n
				return err
			})
		case "macos_minutes_used":
			if dec.Null() {
				return nil
			}
			var n int64
			n, err = nonNegative(dec, "macos_minutes_used")
			b.MacOSMinutesUsed = &n
		case "timestamp":
			b.Timestamp, err = decodeTime(dec, "timestamp")
			haveTS = true
		case "duration_seconds":
			if dec.Null() {
				return nil
			}
			var d float64
			d, err = nonNegativeFloat(dec, "duration_seconds")
			b.DurationSeconds = &d
		case "validated_linux":
			v0 = true
			validatedLinux, err = nonNegative(dec, "validated_linux")
		case "validated_macos":
			v0 = true
			validatedMacOS, err = nonNegative(dec, "validated_macos")
		case "failed":
			failed, err = nonNegative(dec, "failed")
		default:
			err = dec.Skip()
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if err := dec.End(); err != nil {
		return nil, err
	}
	_ = failed
	switch {
	case b.SchemaVersion >= 0:
		if b.SchemaVersion > model.SchemaVersion {
			return nil, lineError{line, fmt.Sprintf("schema_version %d is %s (%d)", b.SchemaVersion, NewerSchema, model.SchemaVersion)}
		}
		if !havePlatforms && !(v0 && b.SchemaVersion == 0) {
			// A failure record, say, has a batch ID and a time too: it
			// must never pass for a batch's commit.
			return nil, lineError{line, "batch-run record has no platforms"}
		}
	case havePlatforms:
		b.SchemaVersion = 1
	case v0:
		b.SchemaVersion = 0
	default:
		return nil, lineError{line, "batch-run record has neither platforms nor validated_linux/validated_macos"}
	}
	if b.BatchID == "" {
		return nil, lineError{line, "batch-run record has no batch_id"}
	}
	if !haveTS {
		return nil, lineError{line, fmt.Sprintf("batch %s has no timestamp", b.BatchID)}
	}
	if b.SchemaVersion == 0 && !havePlatforms {
		// v0 counts recipes validated per OS. Recipes reach macOS only after
		// passing Linux (progressive validation), so macOS tested = Linux passed.
		linuxFailed := b.Generated - validatedLinux
		macFailed := validatedLinux - validatedMacOS
		if linuxFailed < 0 || macFailed < 0 {
			return nil, lineError{line, fmt.Sprintf("batch %s: validated_linux (%d) and validated_macos (%d) do not fit generated (%d)", b.BatchID, validatedLinux, validatedMacOS, b.Generated)}
		}
		b.Platforms = map[string]model.Counts{
			"linux":  {Tested: b.Generated, Passed: validatedLinux, Failed: linuxFailed},
			"darwin": {Tested: validatedLinux, Passed: validatedMacOS, Failed: macFailed},
		}
	}
	b.Ecosystem = batchEcosystem(ecosystem, b.Ecosystems)
	return b, nil
}

// batchEcosystem decides a run's ecosystem: the one it names, the only
// (non-empty) key of its ecosystems map, Mixed for several, Unknown for none.
func batchEcosystem(eco string, ecos map[string]int64) string {
	if eco != "" {
		return eco
	}
	only, n := "", 0
	for k := range ecos {
		if k != "" {
			only = k
			n++
		}
	}
	switch n {
	case 0:
		return model.Unknown
	case 1:
		return only
	}
	return model.Mixed
}

type failureDecoder struct {
	file         string
	skipMessages bool
	in           intern
	// The last batch and package IDs: consecutive records repeat them.
	lastBatch, lastPackage, lastAttempt string
	// The last time parsed, as written: a batch's records share it.
	lastStamp string
	lastTime  time.Time
	// With reuse, records are decoded into these buffers, valid only during
	// the callback.
	reuse   bool
	keepRaw bool
	frame   jsonlite.Frame
	flat    model.Failure
	entries []model.Failure
	lines   []int
	// Slabs the fast path keeps exit codes and blockers in.
	exits slab[int]
	strs  slab[string]
}

// utc is parseUTC, remembering the last time parsed.
func (fd *failureDecoder) utc(b []byte) (time.Time, bool) {
	if string(b) == fd.lastStamp && len(b) > 0 {
		return fd.lastTime, true
	}
	t, ok := parseUTC(b)
	if ok {
		fd.lastStamp, fd.lastTime = string(b), t
	}
	return t, ok
}

// again returns last when b spells it, else a new string stored in *last.
func again(last *string, b []byte) string {
	if string(b) != *last {
		*last = string(b)
	}
	return *last
}

type failureHeader struct {
	schema      int64
	ecosystem   string
	environment string
	updatedAt   time.Time
	haveUpdated bool
	batchID     string
}

// decode decodes one failure line: a grouped v1 object (many failures) or a
// flat v1/v2 record. It returns the format name and the records sent to fn.
func (fd *failureDecoder) decode(dec *jsonlite.Decoder, line int, fn func(*model.Failure), problem func(int, string)) (string, int, error) {
	var (
		h       failureHeader
		flat    *model.Failure
		grouped []model.Failure
		lines   []int
		isGroup bool
		recipe  string
		haveTS  bool
	)
	if fd.reuse {
		fd.flat = model.Failure{}
		flat, grouped, lines = &fd.flat, fd.entries[:0], fd.lines[:0]
	} else {
		flat = &model.Failure{}
	}
	h.schema = -1
	err := dec.Object(func(key []byte) error {
		var err error
		switch string(key) {
		case "failures":
			isGroup = true
			err = dec.Array(func(int) error {
				lines = append(lines, dec.Line())
				grouped = append(grouped, model.Failure{})
				return fd.entry(dec, &grouped[len(grouped)-1])
			})
			if fd.reuse {
				fd.entries, fd.lines = grouped, lines
			}
		case "schema_version":
			h.schema, err = dec.Int()
		case "ecosystem":
			var s []byte
			s, err = dec.StringBytes()
			h.ecosystem = fd.in.get(s)
		case "environment", "platform":
			var s []byte
			s, err = dec.StringBytes()
			h.environment = fd.in.get(s)
		case "updated_at":
			h.updatedAt, err = decodeTime(dec, "updated_at")
			h.haveUpdated = true
		case "batch_id":
			var b []byte
			b, err = dec.StringBytes()
			h.batchID = again(&fd.lastBatch, b)
		case "recipe":
			recipe, err = dec.String()
		case "timestamp":
			flat.Timestamp, err = decodeTime(dec, "timestamp")
			haveTS = true
		default:
			err = fd.field(dec, key, flat)
		}
		return err
	})
	if err != nil {
		return "", 0, err
	}
	if err := dec.End(); err != nil {
		return "", 0, err
	}
	if h.schema > model.SchemaVersion {
		return "", 0, lineError{line, fmt.Sprintf("schema_version %d is %s (%d)", h.schema, NewerSchema, model.SchemaVersion)}
	}
	if h.environment == "" {
		return "", 0, lineError{line, "failure record has no environment (or platform)"}
	}
	if isGroup {
		n := 0
		for i := range grouped {
			f := &grouped[i]
			f.SchemaVersion = 1
			f.BatchID = h.batchID
			f.Environment = h.environment
			f.Source = fd.source(lines[i])
			if f.Timestamp.IsZero() {
				if !h.haveUpdated {
					problem(lines[i], "failure has no timestamp and its group no updated_at")
					continue
				}
				f.Timestamp = h.updatedAt
			}
			if msg := fd.finish(f, h.ecosystem, ""); msg != "" {
				problem(lines[i], msg)
				continue
			}
			fn(f)
			n++
		}
		return "v1 grouped", n, nil
	}
	f := flat
	f.SchemaVersion = int(h.schema)
	if h.schema < 0 {
		f.SchemaVersion = 1
	}
	f.BatchID = h.batchID
	f.Environment = h.environment
	f.Source = fd.source(line)
	if !haveTS {
		return "", 0, lineError{line, "failure record has no timestamp"}
	}
	if msg := fd.finish(f, h.ecosystem, recipe); msg != "" {
		return "", 0, lineError{line, msg}
	}
	fn(f)
	if f.SchemaVersion == 2 {
		return "v2", 1, nil
	}
	return "v1 flat", 1, nil
}

func (fd *failureDecoder) source(line int) model.Source {
	s := model.Source{File: fd.file, Line: line, Start: fd.frame.Line, Lines: fd.frame.Lines}
	if fd.keepRaw {
		s.Raw = fd.frame.Data
	}
	return s
}

// finish fills the ecosystem, package ID and category; it returns a problem
// message, or "".
func (fd *failureDecoder) finish(f *model.Failure, eco, recipe string) string {
	pe, name := model.SplitPackageID(f.PackageID)
	if name == "" {
		name = recipe
	}
	if name == "" {
		return "failure record has no package_id (or recipe)"
	}
	switch {
	case eco != "":
	case pe != "":
		eco = fd.in.get([]byte(pe))
	default:
		eco = model.Unknown
	}
	f.Ecosystem = eco
	if pe == "" {
		f.PackageID = eco + ":" + name
	}
	f.Category = model.ResolveCategory(f.RawCategory, f.ExitCode)
	return ""
}

// entry decodes one element of a grouped record's failures array into f.
func (fd *failureDecoder) entry(dec *jsonlite.Decoder, f *model.Failure) error {
	return dec.Object(func(key []byte) error {
		if string(key) == "timestamp" {
			var err error
			f.Timestamp, err = decodeTime(dec, "timestamp")
			return err
		}
		return fd.field(dec, key, f)
	})
}

// field decodes the fields common to flat records and grouped entries.
func (fd *failureDecoder) field(dec *jsonlite.Decoder, key []byte, f *model.Failure) error {
	var err error
	switch string(key) {
	case "package_id":
		var b []byte
		b, err = dec.StringBytes()
		f.PackageID = again(&fd.lastPackage, b)
	case "category":
		var s []byte
		s, err = dec.StringBytes()
		f.RawCategory = fd.in.get(s)
	case "subcategory":
		var s []byte
		s, err = dec.StringBytes()
		f.Subcategory = fd.in.get(s)
	case "blocked_by":
		f.BlockedBy, err = internedStrings(dec, fd.in)
	case "exit_code":
		var n int64
		n, err = dec.Int()
		f.ExitCode = fd.exits.ptr(int(n))
	case "attempt_id":
		var b []byte
		b, err = dec.StringBytes()
		f.AttemptID = again(&fd.lastAttempt, b)
	case "attempts":
		var n int64
		n, err = nonNegative(dec, "attempts")
		f.Attempts = int(n)
	case "message":
		if fd.skipMessages {
			return dec.Skip()
		}
		if dec.Null() {
			return nil
		}
		f.Message, err = dec.String()
	default:
		err = dec.Skip()
	}
	return err
}

// NewerSchema is how a problem says that a record was written by a newer
// batchsli (see IsNewerSchema).
const NewerSchema = "newer than this batchsli reads"

// IsNewerSchema reports whether a problem is a record of a newer schema
// version: data this batchsli must not rewrite.
func IsNewerSchema(p Problem) bool { return strings.Contains(p.Message, NewerSchema) }
