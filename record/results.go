// Package record turns a batch's validation results into v2 records and
// appends them to a data directory, all or nothing, under a file lock.
package record

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/batchsli/batchsli/internal/jsonlite"
	"github.com/batchsli/batchsli/internal/safetext"
	"github.com/batchsli/batchsli/model"
	"github.com/batchsli/batchsli/reader"
)

// Result is one recipe's validation outcome on one platform (FORMATS.md
// section 2).
type Result struct {
	Recipe          string
	Platform        string
	Status          string // pass, fail or skipped
	Ecosystem       string // from "ecosystem" or a package_id "eco:name"; "" when neither
	Category        string // optional; derived from ExitCode when empty
	ExitCode        *int
	Attempts        int
	BlockedBy       []string
	DurationSeconds *float64
	Message         string
	// Version is the recipe's version or content hash (recipe_version, or
	// recipe_hash), so a change of the recipe can be told from a change of
	// the platform; "" when the results do not say.
	Version string
	Source  string // file:line or file[index], for errors
}

// Status values.
const (
	StatusPass    = "pass"
	StatusFail    = "fail"
	StatusSkipped = "skipped"
)

// MaxResultsFile is the largest results file ReadResults accepts.
const MaxResultsFile = 1 << 30

// ReadResults reads validation results from files and folders (every
// *.json and *.jsonl file below a folder, in name order). Any problem is an
// error naming the file and line; nothing is returned then.
func ReadResults(paths []string) ([]Result, error) {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
		if !st.IsDir() {
			if !st.Mode().IsRegular() {
				return nil, fmt.Errorf("results: %s is not a regular file (%s)", p, st.Mode().Type())
			}
			files = append(files, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !(strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".jsonl")) || d.IsDir() {
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 {
				// Follow a link to a results file: skipping it would record
				// the batch without that platform.
				st, err := os.Stat(path)
				if err != nil {
					return fmt.Errorf("%s: symbolic link: %w", path, err)
				}
				if !st.Mode().IsRegular() {
					return fmt.Errorf("%s: symbolic link to something other than a regular file", path)
				}
			} else if !d.Type().IsRegular() {
				return fmt.Errorf("%s is not a regular file (%s)", path, d.Type().Type())
			}
			found = append(found, path)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("results: %s holds no .json or .jsonl file", p)
		}
		sort.Strings(found)
		files = append(files, found...)
	}
	var all []Result
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
		rs, err := ParseResults(f, fh)
		fh.Close()
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
	}
	return all, nil
}

// ParseResults parses one results file: a JSON array of result objects, or
// one object per line (JSONL). Errors name the file and line.
func ParseResults(name string, r io.Reader) ([]Result, error) {
	br := bufio.NewReader(&utf8Checker{r: r, name: name, line: 1})
	// A UTF-8 byte order mark, as some Windows tools write, is accepted.
	bom, perr := br.Peek(3)
	if perr != nil && perr != io.EOF {
		return nil, inputError(name, perr)
	}
	if bytes.Equal(bom, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	var head []byte
	head, perr = br.Peek(4096)
	if perr != nil && perr != io.EOF && perr != bufio.ErrBufferFull {
		return nil, inputError(name, perr)
	}
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) == 0 && len(head) < 4096 {
		return nil, fmt.Errorf("%s: no results (empty file)", name)
	}
	if len(trimmed) > 0 && trimmed[0] == '[' {
		data, err := io.ReadAll(io.LimitReader(br, MaxResultsFile+1))
		if err != nil {
			return nil, inputError(name, err)
		}
		if len(data) > MaxResultsFile {
			return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxResultsFile)
		}
		return parseArray(name, data)
	}
	var out []Result
	fr := jsonlite.NewFramer(br)
	dec := jsonlite.NewDecoder(nil, 1)
	for {
		f, ok := fr.Next()
		if p := fr.Problems(); len(p) > 0 {
			return nil, fmt.Errorf("%s:%d: %s", name, p[0].Line, p[0].Msg)
		}
		if !ok {
			break
		}
		dec.Reset(f.Data, f.Line)
		res, err := parseResult(dec, fmt.Sprintf("%s:%d", name, f.Line))
		if err == nil {
			err = dec.End()
		}
		if err != nil {
			if ferr := fr.Err(); ferr != nil {
				return nil, inputError(name, ferr)
			}
			return nil, fmt.Errorf("%s:%d: %s", name, errLine(err, f.Line), err)
		}
		out = append(out, res)
	}
	if err := fr.Err(); err != nil {
		return nil, inputError(name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no results", name)
	}
	return out, nil
}

func errLine(err error, def int) int {
	switch e := err.(type) {
	case *jsonlite.SyntaxError:
		if e.EOF {
			return def // a truncated object: name the line it starts on
		}
		return e.Line
	case *fieldError:
		return e.line
	}
	return def
}

type fieldError struct {
	line int
	msg  string
}

func (e *fieldError) Error() string { return e.msg }

func parseArray(name string, data []byte) ([]Result, error) {
	dec := jsonlite.NewDecoder(data, 1)
	var out []Result
	err := dec.Array(func(i int) error {
		line := dec.Line()
		res, err := parseResult(dec, fmt.Sprintf("%s[%d]", name, i))
		if err != nil {
			return fmt.Errorf("%s:%d: result [%d]: %s", name, errLine(err, line), i, err)
		}
		out = append(out, res)
		return nil
	})
	if err == nil {
		err = dec.End()
	}
	if err != nil {
		if se, ok := err.(*jsonlite.SyntaxError); ok {
			return nil, fmt.Errorf("%s:%d: %s", name, se.Line, se.Msg)
		}
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no results (empty array)", name)
	}
	return out, nil
}

func parseResult(dec *jsonlite.Decoder, src string) (Result, error) {
	r := Result{Source: src}
	line := dec.Line()
	var packageID string
	var seen [16]string
	nSeen := 0
	err := dec.Object(func(key []byte) error {
		l := dec.Line()
		// A repeated key would silently take the last value (a fail
		// becoming a pass): refuse it.
		for _, k := range seen[:nSeen] {
			if k == string(key) {
				return &fieldError{l, fmt.Sprintf("key %q appears twice in one result", key)}
			}
		}
		if nSeen < len(seen) {
			seen[nSeen] = string(key)
			nSeen++
		} else {
			return &fieldError{l, "a result has more than 16 keys"}
		}
		var err error
		switch string(key) {
		case "recipe":
			r.Recipe, err = dec.String()
		case "platform":
			r.Platform, err = dec.String()
		case "status":
			r.Status, err = dec.String()
		case "ecosystem":
			r.Ecosystem, err = dec.String()
		case "package_id":
			packageID, err = dec.String()
		case "category":
			r.Category, err = dec.String()
		case "exit_code":
			if dec.Null() {
				return nil
			}
			var n int64
			n, err = dec.Int()
			if err == nil && (n < 0 || n > 1<<31) {
				return &fieldError{l, fmt.Sprintf("exit_code %d is out of range", n)}
			}
			c := int(n)
			r.ExitCode = &c
		case "attempts":
			var n int64
			n, err = dec.Int()
			if err == nil && (n < 0 || n > 1<<31) {
				return &fieldError{l, fmt.Sprintf("attempts is negative or too large (%d)", n)}
			}
			r.Attempts = int(n)
		case "blocked_by":
			r.BlockedBy, err = dec.Strings()
		case "duration_seconds":
			if dec.Null() {
				return nil
			}
			var d float64
			d, err = dec.Float()
			if err == nil && d < 0 {
				return &fieldError{l, fmt.Sprintf("duration_seconds is negative (%v)", d)}
			}
			if err == nil && d > reader.MaxSeconds {
				return &fieldError{l, fmt.Sprintf("duration_seconds is too large (%v; at most %v)", d, reader.MaxSeconds)}
			}
			r.DurationSeconds = &d
		case "message":
			if dec.Null() {
				return nil
			}
			r.Message, err = dec.String()
		case "recipe_version", "recipe_hash":
			if dec.Null() {
				return nil
			}
			if r.Version != "" {
				return &fieldError{l, "a result has both recipe_version and recipe_hash"}
			}
			r.Version, err = dec.String()
			if err == nil && (r.Version == "" || len(r.Version) > model.MaxVersion || !safetext.Safe(r.Version)) {
				return &fieldError{l, fmt.Sprintf("%s must be 1 to %d bytes of printable text", key, model.MaxVersion)}
			}
		default:
			err = dec.Skip()
		}
		return err
	})
	if err != nil {
		return r, err
	}
	if packageID != "" {
		eco, name := model.SplitPackageID(packageID)
		if r.Ecosystem == "" {
			r.Ecosystem = eco
		}
		if r.Recipe == "" {
			r.Recipe = name
		}
	}
	switch {
	case r.Recipe == "":
		return r, &fieldError{line, "result has no recipe"}
	case len(r.Recipe) > 1000 || !safetext.Safe(r.Recipe):
		// Checked here, before anything is written: the outcome records
		// name recipes in printable text only.
		return r, &fieldError{line, fmt.Sprintf("recipe %s is longer than 1,000 bytes or holds control, bidirectional or invisible characters", safetext.Escape(strconv.Quote(r.Recipe)))}
	case r.Platform == "":
		return r, &fieldError{line, fmt.Sprintf("result for %q has no platform", r.Recipe)}
	case !model.ValidPlatformID(r.Platform):
		return r, &fieldError{line, fmt.Sprintf("platform %q has characters outside [a-z0-9_.-]", r.Platform)}
	case r.Status == "":
		return r, &fieldError{line, fmt.Sprintf("result for %q on %s has no status", r.Recipe, r.Platform)}
	case r.Status != StatusPass && r.Status != StatusFail && r.Status != StatusSkipped:
		return r, &fieldError{line, fmt.Sprintf("status %q is not pass, fail or skipped", r.Status)}
	case r.Ecosystem != "" && !model.ValidEcosystem(r.Ecosystem):
		return r, &fieldError{line, fmt.Sprintf("ecosystem %q is not a plain name", r.Ecosystem)}
	}
	return r, nil
}

// utf8Checker passes bytes through, failing at the first line that is not
// valid UTF-8: JSON decoders would otherwise replace bad bytes silently.
type utf8Checker struct {
	r    io.Reader
	name string
	line int
	tail []byte // an incomplete character carried to the next read
}

func (c *utf8Checker) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	buf := append(c.tail, p[:n]...)
	c.tail = c.tail[:0]
	for i := 0; i < len(buf); {
		if buf[i] < utf8.RuneSelf {
			if buf[i] == '\n' {
				c.line++
			}
			i++
			continue
		}
		if !utf8.FullRune(buf[i:]) && err == nil {
			c.tail = append(c.tail, buf[i:]...)
			break
		}
		r, size := utf8.DecodeRune(buf[i:])
		if r == utf8.RuneError && size == 1 {
			return 0, &utf8Error{fmt.Sprintf("%s:%d: not valid UTF-8 (byte 0x%02x)", c.name, c.line, buf[i])}
		}
		i += size
	}
	return n, err
}

type utf8Error struct{ msg string }

func (e *utf8Error) Error() string { return e.msg }

// inputError returns err as it is when it already names the file and line.
func inputError(name string, err error) error {
	var ue *utf8Error
	if errors.As(err, &ue) {
		return ue
	}
	var le *jsonlite.LineTooLongError
	if errors.As(err, &le) {
		return fmt.Errorf("%s:%d: line longer than %d bytes", name, le.Line, jsonlite.MaxObject)
	}
	return fmt.Errorf("%s: %w", name, err)
}
