package reader

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"

	"github.com/batchsli/batchsli/internal/jsonlite"
	"github.com/batchsli/batchsli/model"
)

// fastFailures lets FailureFile read the common shape of a v2 failure line
// with fastFailure; tests turn it off to compare with the general decoder.
var fastFailures = true

// Keys of a v2 failure line, as bits.
const (
	fkSchema uint16 = 1 << iota
	fkBatch
	fkEcosystem
	fkEnvironment
	fkPackage
	fkCategory
	fkSubcategory
	fkBlocked
	fkExit
	fkAttempts
	fkAttemptID
	fkMessage
	fkTimestamp
)

// lineKey is a key a fast path reads, quoted and followed by its colon,
// with its bit.
type lineKey struct {
	quoted []byte
	bit    uint16
}

// keysOf makes the lineKeys of names, with their bits, in record's order.
func keysOf(names []string, bits []uint16) []lineKey {
	out := make([]lineKey, len(names))
	for i, n := range names {
		out[i] = lineKey{[]byte(`"` + n + `":`), bits[i]}
	}
	return out
}

// matchKey finds which of keys, spelled plainly, starts b[i:]: the one at
// next (the one expected after the key before, in record's order) first.
// It returns its index and the index after its colon, or false when none
// does (another key, or one spelled with escapes, which the general
// decoder reads).
func matchKey(b []byte, i int, keys []lineKey, next int) (int, int, bool) {
	k := next
	for !bytes.HasPrefix(b[i:], keys[k].quoted) {
		if k++; k == len(keys) {
			k = 0
		}
		if k == next {
			return 0, i, false
		}
	}
	return k, i + len(keys[k].quoted), true
}

// failKeys are the keys of a v2 failure line in the order record writes
// them (model.Failure's fields).
var failKeys = keysOf(
	[]string{"schema_version", "batch_id", "ecosystem", "environment", "package_id", "category", "subcategory",
		"blocked_by", "exit_code", "attempts", "message", "timestamp", "attempt_id"},
	[]uint16{fkSchema, fkBatch, fkEcosystem, fkEnvironment, fkPackage, fkCategory, fkSubcategory,
		fkBlocked, fkExit, fkAttempts, fkMessage, fkTimestamp, fkAttemptID})

// fastFailure decodes the line a v2 record is written as (compact JSON, one
// object on one line, the keys batchsli writes, each once, strings without
// escapes) without the general decoder, and sends it to fn. It reports
// false, having sent nothing, for anything else, and for any line the
// general decoder would find a problem in: that decoder then reads it. For
// every line it takes, the record is the one the general decoder makes
// (FuzzFastFailure checks it).
func (fd *failureDecoder) fastFailure(fr jsonlite.Frame, fn func(*model.Failure)) bool {
	b := fr.Data
	if fr.Lines != 1 || len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return false
	}
	var (
		seen                uint16
		schema              int64
		batch, eco, env     []byte
		pkg, cat, sub, atID []byte
		exit, attempts      int64
		blocked             []string
		ts                  []byte
		message             string
	)
	i, next := 1, 0
	for {
		k, j, ok := matchKey(b, i, failKeys, next)
		if !ok {
			return false
		}
		bit := failKeys[k].bit
		if i, next = j, k+1; next == len(failKeys) {
			next = 0
		}
		switch bit {
		case fkSchema:
			schema, i, ok = plainInt(b, i)
		case fkBatch:
			batch, i, ok = plainString(b, i)
		case fkEcosystem:
			eco, i, ok = plainString(b, i)
		case fkEnvironment:
			env, i, ok = plainString(b, i)
		case fkPackage:
			pkg, i, ok = plainString(b, i)
		case fkCategory:
			cat, i, ok = plainString(b, i)
		case fkSubcategory:
			sub, i, ok = plainString(b, i)
		case fkBlocked:
			blocked, i, ok = fd.plainStrings(b, i)
		case fkExit:
			exit, i, ok = plainInt(b, i)
		case fkAttempts:
			attempts, i, ok = plainInt(b, i)
			ok = ok && attempts >= 0 && attempts <= MaxCount
		case fkAttemptID:
			atID, i, ok = plainString(b, i)
		case fkMessage:
			var msg []byte
			msg, i, ok = plainString(b, i)
			if ok && !fd.skipMessages {
				message = string(msg)
			}
		case fkTimestamp:
			ts, i, ok = plainString(b, i)
		}
		if !ok || seen&bit != 0 || i >= len(b) {
			return false
		}
		seen |= bit
		if b[i] == '}' {
			if i != len(b)-1 {
				return false
			}
			break
		}
		if b[i] != ',' {
			return false
		}
		i++
	}
	const need = fkSchema | fkBatch | fkEnvironment | fkPackage | fkTimestamp
	if seen&need != need || schema != model.SchemaVersion || len(env) == 0 {
		return false
	}
	t, ok := fd.utc(ts)
	if !ok {
		return false
	}
	pe, name := model.SplitPackageID(string(pkg))
	if name == "" || pe == "" {
		return false
	}
	fd.flat = model.Failure{Message: message}
	f := &fd.flat
	if !fd.reuse {
		f = &model.Failure{Message: message}
	}
	f.SchemaVersion = model.SchemaVersion
	f.BatchID = again(&fd.lastBatch, batch)
	f.Environment = fd.in.get(env)
	f.PackageID = again(&fd.lastPackage, pkg)
	if seen&fkCategory != 0 {
		f.RawCategory = fd.in.get(cat)
	}
	if seen&fkSubcategory != 0 {
		f.Subcategory = fd.in.get(sub)
	}
	f.BlockedBy = blocked
	if seen&fkExit != 0 {
		f.ExitCode = fd.exits.ptr(int(exit))
	}
	f.Attempts = int(attempts)
	if seen&fkAttemptID != 0 {
		f.AttemptID = again(&fd.lastAttempt, atID)
	}
	f.Timestamp = t
	f.Source = fd.source(fr.Line)
	var ecosystem string
	if seen&fkEcosystem != 0 {
		ecosystem = fd.in.get(eco)
	}
	fd.finish(f, ecosystem, "")
	fn(f)
	return true
}

// plainString reads, at b[i], a JSON string of printable ASCII or valid
// UTF-8 without escapes; it returns its contents and the index after it.
func plainString(b []byte, i int) ([]byte, int, bool) {
	if i >= len(b) || b[i] != '"' {
		return nil, i, false
	}
	end := bytes.IndexByte(b[i+1:], '"')
	if end < 0 {
		return nil, i, false
	}
	s := b[i+1 : i+1+end]
	ascii, ok := plainText(s)
	if !ok || !ascii && !utf8.Valid(s) {
		return nil, i, false
	}
	return s, i + end + 2, true
}

// plainText reports whether s holds no control character and no
// backslash (ok), and whether it is all ASCII. It tests eight bytes at a
// time: a word with no high bit, no byte below 0x20 and no backslash is
// passed at once; any other is looked at byte by byte.
func plainText(s []byte) (ascii, ok bool) {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	ascii = true
	for len(s) >= 8 {
		x := binary.LittleEndian.Uint64(s)
		bs := x ^ ('\\' * ones)
		if x&highs == 0 && (x-0x20*ones)&^x&highs == 0 && (bs-ones)&^bs&highs == 0 {
			s = s[8:]
			continue
		}
		for _, c := range s[:8] {
			if c < 0x20 || c == '\\' {
				return false, false
			}
			if c >= 0x80 {
				ascii = false
			}
		}
		s = s[8:]
	}
	for _, c := range s {
		if c < 0x20 || c == '\\' {
			return false, false
		}
		if c >= 0x80 {
			ascii = false
		}
	}
	return ascii, true
}

// plainInt reads, at b[i], an integer written without sign, fraction or
// exponent, of at most 15 digits and no leading zero.
func plainInt(b []byte, i int) (int64, int, bool) {
	j := i
	var n int64
	for j < len(b) && b[j] >= '0' && b[j] <= '9' && j-i < 15 {
		n = n*10 + int64(b[j]-'0')
		j++
	}
	if j == i || j-i > 1 && b[i] == '0' || j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
		return 0, i, false
	}
	return n, j, true
}

// plainStrings reads, at b[i], an array of plain strings (each interned),
// kept in the decoder's slab.
func (fd *failureDecoder) plainStrings(b []byte, i int) ([]string, int, bool) {
	var buf [8]string
	out := buf[:0]
	i, ok := plainArray(b, i, func(s []byte) { out = append(out, fd.in.get(s)) })
	if !ok {
		return nil, i, false
	}
	// The general decoder gives an empty array as nil.
	return fd.strs.slice(out), i, true
}

// plainArray reads, at b[i], an array of plain strings, passing each to
// add.
func plainArray(b []byte, i int, add func([]byte)) (int, bool) {
	if i >= len(b) || b[i] != '[' {
		return i, false
	}
	i++
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		s, n, ok := plainString(b, i)
		if !ok || n >= len(b) {
			return i, false
		}
		add(s)
		switch b[n] {
		case ',':
			i = n + 1
		case ']':
			return n + 1, true
		default:
			return i, false
		}
	}
}
