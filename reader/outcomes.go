package reader

import (
	"fmt"
	"slices"
	"strings"

	"github.com/batchsli/batchsli/internal/jsonlite"
	"github.com/batchsli/batchsli/internal/safetext"
	"github.com/batchsli/batchsli/model"
)

// OutcomeFiles lists outcomes/*.jsonl in name order.
func (r *Reader) OutcomeFiles() ([]string, error) {
	return r.list("outcomes", func(n string) bool { return strings.HasSuffix(n, ".jsonl") })
}

// Outcomes streams every committed outcome record to fn, file by file. A
// record whose batch is not committed by its attempt is counted as
// uncommitted (and passed to Options.OnUncommittedOutcomes); a second copy
// of a batch's committed record is a problem and is left out.
func (r *Reader) Outcomes(fn func(*model.Outcomes)) error {
	files, err := r.OutcomeFiles()
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := r.OutcomeFile(f, fn); err != nil {
			return err
		}
	}
	return nil
}

// OutcomeFile reads one outcomes file (a path within the reader's FS).
func (r *Reader) OutcomeFile(name string, fn func(*model.Outcomes)) error {
	commits, err := r.Commits()
	if err != nil {
		return err
	}
	if r.outDec == nil {
		r.outDec = &outcomeDecoder{}
	}
	display := r.display(name)
	var take func(*fileState) func([]byte, int) bool
	if fastOutcomes {
		// A line in the shape record writes is decoded as it is framed.
		take = func(st *fileState) func([]byte, int) bool {
			return func(line []byte, n int) bool {
				if r.opts.BatchIDs != nil {
					if id, ok := lineBatchID(line); ok {
						r.opts.BatchIDs(string(id))
						return true
					}
				}
				o, ok := r.outDec.fastOutcomes(line, r.in, display, n, r.opts.Reuse)
				if ok {
					r.outcome(name, o, jsonlite.Frame{Data: line, Line: n, Lines: 1}, st, commits, fn)
				}
				return ok
			}
		}
	}
	return r.fileTaking(name, "outcomes", take, func(dec *jsonlite.Decoder, fr jsonlite.Frame, st *fileState) {
		o, err := r.outDec.decode(dec, r.in, display, fr.Line, r.opts.Reuse)
		if err != nil {
			r.decodeProblem(name, dec, fr, err)
			return
		}
		r.outcome(name, o, fr, st, commits, fn)
	})
}

// fastOutcomes lets OutcomeFile read the common shape of an outcome line
// with outcomeDecoder.fastOutcomes; tests turn it off to compare.
var fastOutcomes = true

// outcome counts a decoded outcome record when its batch is committed and
// it is not a copy.
func (r *Reader) outcome(name string, o *model.Outcomes, fr jsonlite.Frame, st *fileState, commits *Commits, fn func(*model.Outcomes)) {
	st.version(schemaName(o.SchemaVersion))
	a, ok := commits.Attempt(o.BatchID)
	why := ""
	switch {
	case !ok:
		why = fmt.Sprintf("uncommitted: no readable batch-run record of batch %s (a write that did not finish, or a metrics file that cannot be read); not counted", o.BatchID)
	case a != o.AttemptID:
		why = fmt.Sprintf("uncommitted: written by attempt %s of batch %s, which attempt %s committed; not counted", orNone(o.AttemptID), o.BatchID, orNone(a))
	}
	if why != "" {
		if r.opts.OnUncommittedOutcomes != nil {
			r.opts.OnUncommittedOutcomes(o)
		}
		r.addUncommitted(Problem{File: o.Source.File, Line: o.Source.Line, Message: why})
		return
	}
	if first, dup := r.outcomeIDs[o.BatchID]; dup {
		r.problem(r.display(name), fr.Line, "outcome record of batch %s repeated (first at %s:%d); counted once", o.BatchID, first.file, first.line)
		return
	}
	if r.outcomeIDs == nil {
		r.outcomeIDs = map[string]place{}
	}
	r.outcomeIDs[o.BatchID] = place{o.Source.File, o.Source.Line}
	st.records++
	fn(o)
}

type kv struct{ k, v string }

// outcomeDecoder decodes outcome records, keeping its scratch space (and,
// with Options.Reuse, the record) from one to the next.
type outcomeDecoder struct {
	recipes, versions []kv
	out               model.Outcomes
}

// id returns the package ID k. A copy is made for each record: a reader
// that keeps recipes keeps one of each (analyze numbers them), and a
// table of every ID met, looked up for each, costs more than the copies.
func (d *outcomeDecoder) id(k []byte) string { return string(k) }

// start returns the record to decode into: a new one, or with reuse the
// decoder's own, emptied.
func (d *outcomeDecoder) start(file string, line int, reuse bool) *model.Outcomes {
	o := &model.Outcomes{}
	if reuse {
		o = &d.out
		plats, cats, recs := o.Platforms[:0], o.Categories[:0], o.Recipes[:0]
		*o = model.Outcomes{Platforms: plats, Categories: cats, Recipes: recs}
	}
	o.SchemaVersion, o.Source = -1, model.Source{File: file, Line: line}
	return o
}

// versionID returns the package ID a version names: the recipe's own ID
// string when recipes (sorted) hold it, found by walking on from *j (versions
// name the recipes in the same order when record wrote them).
func (d *outcomeDecoder) versionID(k []byte, recipes []kv, j *int) string {
	for *j < len(recipes) && recipes[*j].k < string(k) {
		*j++
	}
	if *j < len(recipes) && recipes[*j].k == string(k) {
		return recipes[*j].k
	}
	return d.id(k)
}

func validPackageID(id string) bool {
	return id != "" && len(id) <= 1024 && safetext.Safe(id)
}

// decode decodes and checks one outcome record.
func (d *outcomeDecoder) decode(dec *jsonlite.Decoder, in intern, file string, line int, reuse bool) (*model.Outcomes, error) {
	o := d.start(file, line, reuse)
	recipes, versions := d.recipes[:0], d.versions[:0]
	defer func() { d.recipes, d.versions = recipes[:0], versions[:0] }()
	var (
		haveRecipes bool
		haveTS      bool
	)
	err := dec.Object(func(key []byte) error {
		var err error
		switch string(key) {
		case "schema_version":
			var v int64
			v, err = dec.Int()
			o.SchemaVersion = int(v)
		case "batch_id":
			o.BatchID, err = dec.String()
		case "attempt_id":
			o.AttemptID, err = dec.String()
		case "timestamp":
			o.Timestamp, err = decodeTime(dec, "timestamp")
			haveTS = true
		case "platforms":
			o.Platforms = o.Platforms[:0]
			err = dec.Array(func(int) error {
				s, err := dec.StringBytes()
				if err != nil {
					return err
				}
				o.Platforms = append(o.Platforms, in.get(s))
				return nil
			})
		case "categories":
			err = dec.Array(func(int) error {
				s, err := dec.StringBytes()
				if err != nil {
					return err
				}
				o.Categories = append(o.Categories, in.get(s))
				return nil
			})
		case "recipes":
			haveRecipes = true
			recipes = recipes[:0]
			err = dec.Object(func(k []byte) error {
				id := d.id(k)
				s, err := dec.StringBytes()
				if err != nil {
					return err
				}
				recipes = append(recipes, kv{id, in.get(s)})
				return nil
			})
		case "versions":
			versions = versions[:0]
			j := 0
			err = dec.Object(func(k []byte) error {
				id := d.versionID(k, recipes, &j)
				v, err := dec.StringBytes()
				versions = append(versions, kv{id, in.get(v)})
				return err
			})
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
	return d.check(o, recipes, versions, haveRecipes, haveTS, line, reuse)
}

// check checks a parsed outcome record and fills its recipes.
func (d *outcomeDecoder) check(o *model.Outcomes, recipes, versions []kv, haveRecipes, haveTS bool, line int, reuse bool) (*model.Outcomes, error) {
	bad := func(format string, args ...any) error {
		return lineError{line, fmt.Sprintf(format, args...)}
	}
	switch {
	case o.SchemaVersion < 0:
		return nil, bad("outcome record has no schema_version")
	case o.SchemaVersion > model.SchemaVersion:
		return nil, bad("schema_version %d is %s (%d)", o.SchemaVersion, NewerSchema, model.SchemaVersion)
	case o.SchemaVersion < model.SchemaVersion:
		return nil, bad("outcome records start at schema_version %d, not %d", model.SchemaVersion, o.SchemaVersion)
	case o.BatchID == "":
		return nil, bad("outcome record has no batch_id")
	case !safetext.Safe(o.BatchID):
		return nil, bad("batch_id %s holds control characters", safetext.Escape(o.BatchID))
	case !haveTS:
		return nil, bad("outcome record of batch %s has no timestamp", o.BatchID)
	case len(o.Platforms) == 0:
		return nil, bad("outcome record of batch %s has no platforms", o.BatchID)
	case len(o.Platforms) > model.MaxOutcomePlatforms:
		return nil, bad("outcome record of batch %s has %d platforms (at most %d)", o.BatchID, len(o.Platforms), model.MaxOutcomePlatforms)
	case !haveRecipes:
		return nil, bad("outcome record of batch %s has no recipes", o.BatchID)
	case len(o.Categories) > len(model.FailureCodes):
		return nil, bad("outcome record of batch %s has %d categories (at most %d)", o.BatchID, len(o.Categories), len(model.FailureCodes))
	}
	var seen map[string]bool
	for i, p := range o.Platforms {
		if !model.ValidPlatformID(p) {
			return nil, bad("platform %s is not a platform ID", safetext.Escape(p))
		}
		if listedBefore(o.Platforms, i, &seen) {
			return nil, bad("platform %s is listed twice", p)
		}
	}
	seen = nil
	for i, c := range o.Categories {
		if c == "" || !safetext.Safe(c) || len(c) > 128 {
			return nil, bad("category %s is empty, too long or holds control characters", safetext.Escape(c))
		}
		if listedBefore(o.Categories, i, &seen) {
			return nil, bad("category %s is listed twice", c)
		}
	}
	// Recipes and versions in package ID order (as record writes them; a
	// record in another order is sorted), each ID once.
	byID := func(a, b kv) int { return strings.Compare(a.k, b.k) }
	if !slices.IsSortedFunc(recipes, byID) {
		slices.SortStableFunc(recipes, byID)
	}
	if !slices.IsSortedFunc(versions, byID) {
		slices.SortStableFunc(versions, byID)
	}
	if !reuse {
		o.Recipes = make([]model.RecipeOutcome, 0, len(recipes))
	}
	vi := 0
	for i, r := range recipes {
		id, c := r.k, r.v
		if i > 0 && recipes[i-1].k == id {
			return nil, bad("recipe %s appears twice", safetext.Escape(id))
		}
		if !validPackageID(id) {
			return nil, bad("recipe %q is empty, longer than 1024 bytes or holds control characters", safetext.Escape(id))
		}
		if len(c) != len(o.Platforms) {
			return nil, bad("recipe %s has %d outcomes for %d platforms", safetext.Escape(id), len(c), len(o.Platforms))
		}
		for i := 0; i < len(c); i++ {
			switch c[i] {
			case model.OutcomePass, model.OutcomePassRetried, model.OutcomeSkipped:
				continue
			}
			if k := model.FailureCode(c[i]); k < 0 || k >= len(o.Categories) {
				return nil, bad("recipe %s: outcome %q on %s is not P, p, S or the code of a listed category", safetext.Escape(id), safetext.Escape(string(c[i])), o.Platforms[i])
			}
		}
		ro := model.RecipeOutcome{PackageID: id, Codes: c}
		if vi < len(versions) && versions[vi].k < id {
			return nil, bad("versions names %s, which is not among the recipes", safetext.Escape(versions[vi].k))
		}
		if vi < len(versions) && versions[vi].k == id {
			v := versions[vi].v
			if vi > 0 && versions[vi-1].k == id {
				return nil, bad("the version of %s appears twice", safetext.Escape(id))
			}
			if v == "" || len(v) > model.MaxVersion || !safetext.Safe(v) {
				return nil, bad("version of %s must be 1 to %d bytes of printable text", safetext.Escape(id), model.MaxVersion)
			}
			ro.Version = v
			vi++
		}
		o.Recipes = append(o.Recipes, ro)
	}
	if vi < len(versions) {
		return nil, bad("versions names %s, which is not among the recipes", safetext.Escape(versions[vi].k))
	}
	return o, nil
}

// listedBefore reports whether xs[i] is among xs[:i], for i = 0, 1, ... in
// turn: a short list (a record's platforms or categories) is searched, a
// long one kept in *seen.
func listedBefore(xs []string, i int, seen *map[string]bool) bool {
	if len(xs) <= 32 {
		return slices.Contains(xs[:i], xs[i])
	}
	if *seen == nil {
		*seen = make(map[string]bool, len(xs))
	}
	if (*seen)[xs[i]] {
		return true
	}
	(*seen)[xs[i]] = true
	return false
}

// fastOutcomes decodes the line an outcome record is written
// as (compact JSON on one line, the keys record writes, each once, strings
// without escapes) and checks it as decode does, without the general
// decoder. It reports false for anything else, and for any record decode
// would find a problem in: decode then reads the line.
// FuzzFastOutcomes checks that the two agree on every line it takes.
func (d *outcomeDecoder) fastOutcomes(b []byte, in intern, file string, line int, reuse bool) (*model.Outcomes, bool) {
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, false
	}
	o := d.start(file, line, reuse)
	recipes, versions := d.recipes[:0], d.versions[:0]
	defer func() { d.recipes, d.versions = recipes[:0], versions[:0] }()
	const (
		kSchema = 1 << iota
		kBatch
		kAttempt
		kTime
		kPlats
		kCats
		kRecipes
		kVersions
	)
	seen := 0
	i := 1
	for {
		key, k, ok := plainString(b, i)
		if !ok || k >= len(b) || b[k] != ':' {
			return nil, false
		}
		i = k + 1
		var bit int
		var s []byte
		switch string(key) {
		case "schema_version":
			bit = kSchema
			var v int64
			v, i, ok = plainInt(b, i)
			o.SchemaVersion = int(v)
		case "batch_id":
			bit = kBatch
			s, i, ok = plainString(b, i)
			o.BatchID = string(s)
		case "attempt_id":
			bit = kAttempt
			s, i, ok = plainString(b, i)
			o.AttemptID = string(s)
		case "timestamp":
			bit = kTime
			s, i, ok = plainString(b, i)
			if ok {
				o.Timestamp, ok = parseUTC(s)
			}
		case "platforms":
			bit = kPlats
			i, ok = plainArray(b, i, func(s []byte) { o.Platforms = append(o.Platforms, in.get(s)) })
		case "categories":
			bit = kCats
			i, ok = plainArray(b, i, func(s []byte) { o.Categories = append(o.Categories, in.get(s)) })
		case "recipes":
			bit = kRecipes
			i, ok = plainObject(b, i, func(k, v []byte) { recipes = append(recipes, kv{d.id(k), in.get(v)}) })
		case "versions":
			bit = kVersions
			j := 0
			i, ok = plainObject(b, i, func(k, v []byte) { versions = append(versions, kv{d.versionID(k, recipes, &j), in.get(v)}) })
		default:
			return nil, false
		}
		if !ok || seen&bit != 0 || i >= len(b) {
			return nil, false
		}
		seen |= bit
		if b[i] == '}' {
			if i != len(b)-1 {
				return nil, false
			}
			break
		}
		if b[i] != ',' {
			return nil, false
		}
		i++
	}
	o, err := d.check(o, recipes, versions, seen&kRecipes != 0, seen&kTime != 0, line, reuse)
	return o, err == nil
}

// plainObject reads, at b[i], an object of plain strings, passing each
// key and value to add.
func plainObject(b []byte, i int, add func(k, v []byte)) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return i, false
	}
	i++
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		k, n, ok := plainString(b, i)
		if !ok || n >= len(b) || b[n] != ':' {
			return i, false
		}
		v, n, ok := plainString(b, n+1)
		if !ok || n >= len(b) {
			return i, false
		}
		add(k, v)
		switch b[n] {
		case ',':
			i = n + 1
		case '}':
			return n + 1, true
		default:
			return i, false
		}
	}
}
