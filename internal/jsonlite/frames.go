package jsonlite

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// Frame is one top-level JSON object found in a stream.
type Frame struct {
	Data  []byte // the object's bytes; valid until the next call to Next
	Line  int    // line the object starts on (1-based)
	Lines int    // how many lines it spans
}

// Framer splits a stream into top-level JSON objects, whether they are
// written one per line (JSONL) or pretty-printed over many lines. It reads
// line by line, so memory stays bounded by the largest object.
//
// A broken object does not derail what follows: an object is cut short when
// a line inside it starts with '{' in the first column (a torn write followed
// by an appended record), and a line that starts no object is reported and
// skipped.
type Framer struct {
	r       *bufio.Reader
	line    int // lines consumed so far
	pending []byte
	pendOK  bool
	buf     []byte
	long    []byte
	lastNL  bool
	err     error
	// Problems found while framing, returned with the frame they precede.
	problems []FrameProblem
	// Take, when set, is offered each line that starts with '{' in its
	// first column, with its line number, before it is framed. A line it
	// takes (it returns true) is consumed: Next goes on to the next line.
	// It must take only a line that is one whole object, which framing
	// would return alone; the line is valid only during the call.
	Take func(line []byte, n int) bool
}

// FrameProblem is a framing error at a line.
type FrameProblem struct {
	Line int
	Msg  string
}

// MaxObject is the largest object a Framer accepts, in bytes.
const MaxObject = 64 << 20

// NewFramer returns a Framer reading r.
func NewFramer(r io.Reader) *Framer {
	return &Framer{r: bufio.NewReaderSize(r, 256<<10), lastNL: true}
}

// SetLine numbers the lines after the first n: a Framer reading a stream
// from the middle of a file, after its first n lines, numbers them as a
// reading from the start would. Call it before the first Next.
func (f *Framer) SetLine(n int) { f.line = n }

// readLine returns the next line without its newline, or io.EOF.
func (f *Framer) readLine() ([]byte, error) {
	if f.pendOK {
		f.pendOK = false
		f.line++
		return f.pending, nil
	}
	if f.err != nil {
		return nil, f.err
	}
	line, err := f.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		f.long = append(f.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = f.r.ReadSlice('\n')
			f.long = append(f.long, line...)
			if len(f.long) > MaxObject {
				// Stop: reading on would accept whatever follows the cut,
				// and a stream without newlines would never end.
				f.err = &LineTooLongError{Line: f.line + 1}
				return nil, f.err
			}
		}
		line = f.long
	}
	if len(line) == 0 && err != nil {
		if err != io.EOF {
			f.err = err // a read error at a line's start stops the reading too
		}
		return nil, err
	}
	f.line++
	f.lastNL = len(line) > 0 && line[len(line)-1] == '\n'
	if f.lastNL {
		line = line[:len(line)-1]
	}
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if err != nil && err != io.EOF {
		f.err = err
	}
	return line, nil
}

// unread pushes a line back (it must have been returned by the last readLine).
func (f *Framer) unread(line []byte) {
	f.pending = append(f.pending[:0], line...)
	f.pendOK = true
	f.line--
}

// EndsWithNewline reports whether the stream's last byte was a newline (or
// the stream was empty). Valid after Next returned false.
func (f *Framer) EndsWithNewline() bool { return f.lastNL }

// Problems returns and clears the framing problems seen so far.
func (f *Framer) Problems() []FrameProblem {
	p := f.problems
	f.problems = nil
	return p
}

// Err returns the first read error other than io.EOF.
func (f *Framer) Err() error { return f.err }

// Line returns the number of lines consumed so far.
func (f *Framer) Line() int { return f.line }

// LineTooLongError stops a Framer at a line longer than MaxObject bytes.
type LineTooLongError struct{ Line int }

func (e *LineTooLongError) Error() string {
	return fmt.Sprintf("line %d is longer than %d bytes", e.Line, MaxObject)
}

// Next returns the next object. ok is false at the end of the stream.
func (f *Framer) Next() (fr Frame, ok bool) {
	for {
		line, err := f.readLine()
		if err != nil {
			return Frame{}, false
		}
		trimmed := bytes.TrimLeft(line, " \t")
		if len(trimmed) == 0 {
			continue
		}
		if trimmed[0] != '{' {
			f.problems = append(f.problems, FrameProblem{f.line, fmt.Sprintf("not a JSON object: line starts with %q", trimmed[0])})
			continue
		}
		if f.Take != nil && line[0] == '{' && f.Take(line, f.line) {
			continue
		}
		start := f.line
		f.buf = append(f.buf[:0], line...)
		st := scanState{}
		st.scan(line)
		for st.depth > 0 && !st.broken {
			f.buf = append(f.buf, '\n')
			next, err := f.readLine()
			if err != nil {
				// Truncated at the end of the stream: let the decoder say so.
				return Frame{Data: f.buf, Line: start, Lines: f.line - start + 1}, true
			}
			if len(next) > 0 && next[0] == '{' {
				// A record begins in column 0 inside an open object:
				// the object before it was torn.
				f.unread(next)
				break
			}
			if len(f.buf) > MaxObject {
				f.problems = append(f.problems, FrameProblem{start, fmt.Sprintf("object larger than %d bytes", MaxObject)})
				f.buf = f.buf[:0]
				break
			}
			f.buf = append(f.buf, next...)
			st.scan(next)
		}
		if len(f.buf) == 0 {
			continue
		}
		return Frame{Data: f.buf, Line: start, Lines: f.line - start + 1}, true
	}
}

type scanState struct {
	depth    int
	inString bool
	escape   bool
	broken   bool
}

// scan follows brace depth over one line. A string still open at the end of
// a line is broken JSON (raw newlines are not allowed in strings).
func (s *scanState) scan(line []byte) {
	for i := 0; i < len(line); i++ {
		if s.inString {
			if s.escape {
				s.escape = false
				continue
			}
			// Jump to the next quote or backslash: strings are most of a record.
			j := indexQuoteOrBackslash(line[i:])
			if j < 0 {
				break
			}
			i += j
			if line[i] == '\\' {
				s.escape = true
			} else {
				s.inString = false
			}
			continue
		}
		switch line[i] {
		case '"':
			s.inString = true
		case '{', '[':
			s.depth++
		case '}', ']':
			s.depth--
			if s.depth <= 0 {
				s.depth = 0
			}
		}
	}
	if s.inString {
		s.broken = true
	}
}

func indexQuoteOrBackslash(b []byte) int {
	q := bytes.IndexByte(b, '"')
	limit := b
	if q >= 0 {
		limit = b[:q]
	}
	if bs := bytes.IndexByte(limit, '\\'); bs >= 0 {
		return bs
	}
	return q
}

// Alone reports whether Framer would return line, which starts with '{',
// as a frame of its own: its braces close by its end (or a string is left
// open, which no later line can mend). Only such a line may be taken.
func Alone(line []byte) bool {
	// A line that opens with a brace, closes with one and opens none
	// between is alone: its last brace closes the first (or one before
	// it did), or sits in a string left open.
	if n := len(line); n >= 2 && line[0] == '{' && line[n-1] == '}' && bytes.IndexByte(line[1:n-1], '{') < 0 {
		return true
	}
	return scanAlone(line)
}

// scanAlone is Alone by scanning the line.
func scanAlone(line []byte) bool {
	st := scanState{}
	st.scan(line)
	return st.depth == 0 || st.broken
}
