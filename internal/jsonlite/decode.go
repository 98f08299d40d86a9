// Package jsonlite is a small, allocation-light JSON decoder for the record
// shapes batchsli reads. It decodes one value held in memory, field by field,
// without reflection, and reports errors with the line they occur on.
//
// It is not a general JSON library: callers walk objects with Object and pick
// the fields they know, skipping the rest with Skip.
package jsonlite

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// Decoder reads one JSON value from buf.
type Decoder struct {
	buf  []byte
	pos  int
	line int // line number of buf[0]
	nl   int // newlines consumed so far (only whitespace holds them in valid JSON)
	sbuf []byte
}

// SyntaxError is a JSON error at a line.
type SyntaxError struct {
	Line int
	Msg  string
	EOF  bool // the value ended early: a truncated record
}

func (e *SyntaxError) Error() string { return e.Msg }

// NewDecoder returns a decoder over buf, whose first byte is on line firstLine.
func NewDecoder(buf []byte, firstLine int) *Decoder {
	return &Decoder{buf: buf, line: firstLine}
}

// Reset points d at a new value, keeping its scratch buffers.
func (d *Decoder) Reset(buf []byte, firstLine int) {
	d.buf, d.pos, d.line, d.nl = buf, 0, firstLine, 0
}

// Line returns the line number of the decoder's position, in constant time.
func (d *Decoder) Line() int { return d.line + d.nl }

// Errorf returns an error located at the decoder's position.
func (d *Decoder) Errorf(format string, args ...any) error {
	return &SyntaxError{Line: d.Line(), Msg: fmt.Sprintf(format, args...)}
}

func (d *Decoder) ws() {
	for d.pos < len(d.buf) {
		switch d.buf[d.pos] {
		case '\n':
			d.nl++
			d.pos++
		case ' ', '\t', '\r':
			d.pos++
		default:
			return
		}
	}
}

// Peek returns the next non-space byte, or 0 at the end.
func (d *Decoder) Peek() byte {
	d.ws()
	if d.pos >= len(d.buf) {
		return 0
	}
	return d.buf[d.pos]
}

// End checks that nothing but space follows the value.
func (d *Decoder) End() error {
	d.ws()
	if d.pos < len(d.buf) {
		return d.Errorf("unexpected %q after the JSON value", d.buf[d.pos])
	}
	return nil
}

func (d *Decoder) eof(msg string) error {
	return &SyntaxError{Line: d.Line(), Msg: msg, EOF: true}
}

func (d *Decoder) unexpected(want string) error {
	if d.pos >= len(d.buf) {
		return d.eof("unexpected end of JSON, want " + want + " (truncated record?)")
	}
	return d.Errorf("invalid JSON: found %q, want %s", d.buf[d.pos], want)
}

// Object calls fn for each key of an object; fn must consume the value.
// The key slice is only valid during the call.
func (d *Decoder) Object(fn func(key []byte) error) error {
	if d.Peek() != '{' {
		return d.unexpected("an object")
	}
	d.pos++
	if d.Peek() == '}' {
		d.pos++
		return nil
	}
	for {
		if d.Peek() != '"' {
			return d.unexpected("a quoted key")
		}
		key, err := d.stringBytes()
		if err != nil {
			return err
		}
		if d.Peek() != ':' {
			return d.unexpected("':'")
		}
		d.pos++
		if err := fn(key); err != nil {
			return err
		}
		switch d.Peek() {
		case ',':
			d.pos++
		case '}':
			d.pos++
			return nil
		default:
			return d.unexpected("',' or '}'")
		}
	}
}

// Array calls fn for each element of an array; fn must consume it.
func (d *Decoder) Array(fn func(i int) error) error {
	if d.Peek() != '[' {
		return d.unexpected("an array")
	}
	d.pos++
	if d.Peek() == ']' {
		d.pos++
		return nil
	}
	for i := 0; ; i++ {
		if err := fn(i); err != nil {
			return err
		}
		switch d.Peek() {
		case ',':
			d.pos++
		case ']':
			d.pos++
			return nil
		default:
			return d.unexpected("',' or ']'")
		}
	}
}

// Null consumes a null and reports whether there was one.
func (d *Decoder) Null() bool {
	if d.Peek() == 'n' && d.pos+4 <= len(d.buf) && string(d.buf[d.pos:d.pos+4]) == "null" {
		d.pos += 4
		return true
	}
	return false
}

// String decodes a string value.
func (d *Decoder) String() (string, error) {
	if d.Peek() != '"' {
		return "", d.unexpected("a string")
	}
	b, err := d.stringBytes()
	return string(b), err
}

// StringBytes decodes a string value into a scratch slice valid until the next call.
func (d *Decoder) StringBytes() ([]byte, error) {
	if d.Peek() != '"' {
		return nil, d.unexpected("a string")
	}
	return d.stringBytes()
}

// stringBytes decodes the string at d.pos. The result aliases d.buf when the
// string has no escapes, else d.sbuf.
func (d *Decoder) stringBytes() ([]byte, error) {
	start := d.pos + 1
	i := start
	for i < len(d.buf) {
		c := d.buf[i]
		if c == '"' {
			d.pos = i + 1
			if !utf8.Valid(d.buf[start:i]) {
				return []byte(string([]rune(string(d.buf[start:i])))), nil
			}
			return d.buf[start:i], nil
		}
		if c == '\\' {
			return d.slowString(start)
		}
		if c < 0x20 {
			d.pos = i
			return nil, d.Errorf("invalid JSON: control character in a string (truncated record?)")
		}
		i++
	}
	d.pos = len(d.buf)
	return nil, d.eof("unexpected end of JSON in a string (truncated record?)")
}

func (d *Decoder) slowString(start int) ([]byte, error) {
	out := d.sbuf[:0]
	i := start
	for i < len(d.buf) {
		c := d.buf[i]
		switch {
		case c == '"':
			d.pos = i + 1
			d.sbuf = out
			if !utf8.Valid(out) {
				return []byte(string([]rune(string(out)))), nil
			}
			return out, nil
		case c < 0x20:
			d.pos = i
			return nil, d.Errorf("invalid JSON: control character in a string (truncated record?)")
		case c != '\\':
			out = append(out, c)
			i++
			continue
		}
		i++
		if i >= len(d.buf) {
			break
		}
		switch e := d.buf[i]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, n, ok := hex4(d.buf[i:])
			if !ok {
				d.pos = i
				return nil, d.Errorf("invalid JSON: bad \\u escape")
			}
			i += n - 1
			if utf16.IsSurrogate(r) {
				r2 := rune(utf8.RuneError)
				if i+1 < len(d.buf) && d.buf[i+1] == '\\' {
					if lo, n2, ok := hex4(d.buf[i+2:]); ok {
						if dec := utf16.DecodeRune(r, lo); dec != utf8.RuneError {
							r2 = dec
							i += 1 + n2
						}
					}
				}
				r = r2
			}
			out = utf8.AppendRune(out, r)
		default:
			d.pos = i
			return nil, d.Errorf("invalid JSON: bad escape \\%c", e)
		}
		i++
	}
	d.pos = len(d.buf)
	return nil, d.eof("unexpected end of JSON in a string (truncated record?)")
}

func hex4(b []byte) (rune, int, bool) {
	if len(b) < 5 || b[0] != 'u' {
		return 0, 0, false
	}
	var r rune
	for _, c := range b[1:5] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, 0, false
		}
	}
	return r, 5, true
}

// numberBytes consumes a JSON number and returns its text.
func (d *Decoder) numberBytes() ([]byte, error) {
	c := d.Peek()
	if c != '-' && (c < '0' || c > '9') {
		return nil, d.unexpected("a number")
	}
	start := d.pos
	i := d.pos
	if d.buf[i] == '-' {
		i++
	}
	digits := i
	for i < len(d.buf) && d.buf[i] >= '0' && d.buf[i] <= '9' {
		i++
	}
	if i == digits {
		d.pos = i
		return nil, d.unexpected("a digit")
	}
	if i < len(d.buf) && d.buf[i] == '.' {
		i++
		f := i
		for i < len(d.buf) && d.buf[i] >= '0' && d.buf[i] <= '9' {
			i++
		}
		if i == f {
			d.pos = i
			return nil, d.unexpected("a digit")
		}
	}
	if i < len(d.buf) && (d.buf[i] == 'e' || d.buf[i] == 'E') {
		i++
		if i < len(d.buf) && (d.buf[i] == '+' || d.buf[i] == '-') {
			i++
		}
		f := i
		for i < len(d.buf) && d.buf[i] >= '0' && d.buf[i] <= '9' {
			i++
		}
		if i == f {
			d.pos = i
			return nil, d.unexpected("a digit")
		}
	}
	d.pos = i
	return d.buf[start:i], nil
}

// ErrNotInteger is wrapped by Int when the number has a fraction or is out of range.
var ErrNotInteger = errors.New("not a whole number")

// Int decodes a whole number. A number written with a zero fraction (3.0)
// is accepted.
func (d *Decoder) Int() (int64, error) {
	start := d.pos
	b, err := d.numberBytes()
	if err != nil {
		return 0, err
	}
	var n int64
	neg := false
	i := 0
	if b[0] == '-' {
		neg = true
		i = 1
	}
	simple := len(b)-i <= 18
	for j := i; j < len(b); j++ {
		if b[j] < '0' || b[j] > '9' {
			simple = false
			break
		}
	}
	if simple {
		for _, c := range b[i:] {
			n = n*10 + int64(c-'0')
		}
		if neg {
			n = -n
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err == nil && f == math.Trunc(f) && math.Abs(f) > 1<<53 || errors.Is(err, strconv.ErrRange) {
		d.pos = start
		return 0, d.Errorf("number %s is too large", b)
	}
	if err != nil || f != math.Trunc(f) {
		d.pos = start
		return 0, d.Errorf("number %s is %v", b, ErrNotInteger)
	}
	return int64(f), nil
}

// Float decodes a number.
func (d *Decoder) Float() (float64, error) {
	start := d.pos
	b, err := d.numberBytes()
	if err != nil {
		return 0, err
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsInf(f, 0) {
		d.pos = start
		return 0, d.Errorf("number %s is out of range", b)
	}
	return f, nil
}

// Bool decodes true or false.
func (d *Decoder) Bool() (bool, error) {
	switch d.Peek() {
	case 't':
		if d.pos+4 <= len(d.buf) && string(d.buf[d.pos:d.pos+4]) == "true" {
			d.pos += 4
			return true, nil
		}
	case 'f':
		if d.pos+5 <= len(d.buf) && string(d.buf[d.pos:d.pos+5]) == "false" {
			d.pos += 5
			return false, nil
		}
	}
	return false, d.unexpected("true or false")
}

// Strings decodes an array of strings (null reads as none).
func (d *Decoder) Strings() ([]string, error) {
	if d.Null() {
		return nil, nil
	}
	var out []string
	err := d.Array(func(int) error {
		s, err := d.String()
		out = append(out, s)
		return err
	})
	return out, err
}

// Skip consumes any value.
func (d *Decoder) Skip() error {
	return d.skip(0)
}

func (d *Decoder) skip(depth int) error {
	if depth > 200 {
		return d.Errorf("invalid JSON: nested too deeply")
	}
	switch c := d.Peek(); c {
	case '{':
		return d.Object(func([]byte) error { return d.skip(depth + 1) })
	case '[':
		return d.Array(func(int) error { return d.skip(depth + 1) })
	case '"':
		// Fast skip: strings need not be unescaped.
		i := d.pos + 1
		for i < len(d.buf) {
			switch b := d.buf[i]; {
			case b == '"':
				d.pos = i + 1
				return nil
			case b == '\\':
				if i+1 >= len(d.buf) {
					break
				}
				switch d.buf[i+1] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
					i += 2
				case 'u':
					if _, _, ok := hex4(d.buf[i+1:]); !ok {
						d.pos = i
						return d.Errorf("invalid JSON: bad \\u escape")
					}
					i += 6
				default:
					d.pos = i
					return d.Errorf("invalid JSON: bad escape \\%c", d.buf[i+1])
				}
				continue
			case b < 0x20:
				d.pos = i
				return d.Errorf("invalid JSON: control character in a string (truncated record?)")
			}
			i++
		}
		d.pos = len(d.buf)
		return d.eof("unexpected end of JSON in a string (truncated record?)")
	case 't', 'f':
		_, err := d.Bool()
		return err
	case 'n':
		if d.Null() {
			return nil
		}
		return d.unexpected("a value")
	default:
		_, err := d.numberBytes()
		return err
	}
}
