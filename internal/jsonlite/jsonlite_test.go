package jsonlite

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func TestStrings(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"plain"`, "plain"},
		{`"a\"b\\c\/d\n\t\r\b\f"`, "a\"b\\c/d\n\t\r\b\f"},
		{`"\u003cscript\u003e"`, "<script>"},
		{`"\ud83d\ude00 smile"`, "😀 smile"},
		{`"\ud83d lone"`, "\uFFFD lone"},
		{`"é"`, "é"},
		{"\"bad \xff byte\"", "bad \uFFFD byte"},
	}
	for _, tt := range tests {
		d := NewDecoder([]byte(tt.in), 1)
		got, err := d.String()
		if err != nil || got != tt.want {
			t.Errorf("String(%s) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		in   string
		line int
		msg  string
		eof  bool
	}{
		{"{\"a\":1,\n\"b\":", 2, "unexpected end of JSON", true},
		{"{\"a\":1\n\n,\"b\" 2}", 3, "want ':'", false},
		{"{\"a\":\"x\ny\"}", 1, "control character", false},
		{`{"a":tru}`, 1, "want true or false", false},
		{`{"a":-}`, 1, "want a digit", false},
		{`{"a":"\q"}`, 1, "bad escape", false},
		{`{"a":"\u12"}`, 1, "bad \\u escape", false},
	}
	for _, tt := range tests {
		d := NewDecoder([]byte(tt.in), 1)
		err := d.Skip()
		se, ok := err.(*SyntaxError)
		if !ok || se.Line != tt.line || !strings.Contains(se.Msg, tt.msg) || se.EOF != tt.eof {
			t.Errorf("Skip(%q) = %v; want line %d, %q, eof %v", tt.in, err, tt.line, tt.msg, tt.eof)
		}
	}
}

func TestInt(t *testing.T) {
	good := map[string]int64{"0": 0, "42": 42, "-7": -7, "3.0": 3, "1e3": 1000, "123456789012345678": 123456789012345678}
	for in, want := range good {
		got, err := NewDecoder([]byte(in), 1).Int()
		if err != nil || got != want {
			t.Errorf("Int(%s) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"1.5", "1e300", "\"1\"", "null", "01x"} {
		d := NewDecoder([]byte(in), 1)
		if _, err := d.Int(); err == nil && d.End() == nil {
			t.Errorf("Int(%s) accepted", in)
		}
	}
}

// TestAgreesWithEncodingJSON checks that Skip accepts what encoding/json
// accepts on a few awkward documents.
func TestAgreesWithEncodingJSON(t *testing.T) {
	docs := []string{`{}`, `[]`, `{"a":[1,2,{"b":null}],"c":true,"d":false,"e":-1.5e-3}`, ` { "x" : [ ] } `, `{"a":1}x`, `{"a":}`, `[1,]`, `{"a":1,}`}
	for _, doc := range docs {
		d := NewDecoder([]byte(doc), 1)
		err := d.Skip()
		if err == nil {
			err = d.End()
		}
		if (err == nil) != json.Valid([]byte(doc)) {
			t.Errorf("%s: jsonlite err %v, encoding/json valid %v", doc, err, json.Valid([]byte(doc)))
		}
	}
}

func TestFramer(t *testing.T) {
	in := strings.Join([]string{
		`{"a":1}`,
		``,
		`{`,
		`  "b": {"c": "}{"},`,
		`  "d": 2`,
		`}`,
		`{"torn":"x`,
		`{"e":3}`,
		`{"f":`,
		`{"g":4}`,
		`oops`,
		`{"h":5}`,
	}, "\n")
	f := NewFramer(strings.NewReader(in))
	var lines []int
	var datas []string
	for {
		fr, ok := f.Next()
		if !ok {
			break
		}
		lines = append(lines, fr.Line)
		datas = append(datas, string(fr.Data))
	}
	wantLines := []int{1, 3, 7, 8, 9, 10, 12}
	if len(lines) != len(wantLines) {
		t.Fatalf("frames at lines %v, want %v (%q)", lines, wantLines, datas)
	}
	for i := range lines {
		if lines[i] != wantLines[i] {
			t.Errorf("frame %d at line %d, want %d", i, lines[i], wantLines[i])
		}
	}
	if !strings.Contains(datas[1], `"d": 2`) {
		t.Errorf("pretty object not joined: %q", datas[1])
	}
	ps := f.Problems()
	if len(ps) != 1 || ps[0].Line != 11 {
		t.Errorf("problems %v, want one at line 11", ps)
	}
	if f.EndsWithNewline() {
		t.Error("stream without final newline reported as ending in one")
	}
}

// TestFramerTake offers lines to Take: those it takes are not framed, the
// others are framed as without it (an object over several lines too), and
// line numbers and problems stay where they were.
func TestFramerTake(t *testing.T) {
	in := strings.Join([]string{
		`{"take":1}`,
		`{`,
		`  "b": 2`,
		`}`,
		`oops`,
		`{"take":2}`,
		`  {"indented":3}`,
		`{"keep":4}`,
	}, "\n") + "\n"
	f := NewFramer(strings.NewReader(in))
	var offered, taken []int
	f.Take = func(line []byte, n int) bool {
		offered = append(offered, n)
		if strings.HasPrefix(string(line), `{"take"`) {
			taken = append(taken, n)
			return true
		}
		return false
	}
	var lines []int
	for {
		fr, ok := f.Next()
		if !ok {
			break
		}
		lines = append(lines, fr.Line)
	}
	if want := []int{1, 2, 6, 8}; !slices.Equal(offered, want) {
		t.Errorf("offered lines %v, want %v (column 0 only, once each)", offered, want)
	}
	if want := []int{1, 6}; !slices.Equal(taken, want) {
		t.Errorf("taken %v, want %v", taken, want)
	}
	if want := []int{2, 7, 8}; !slices.Equal(lines, want) {
		t.Errorf("frames at lines %v, want %v", lines, want)
	}
	if ps := f.Problems(); len(ps) != 1 || ps[0].Line != 5 {
		t.Errorf("problems %v, want one at line 5", ps)
	}
	if !f.EndsWithNewline() || f.Line() != 8 {
		t.Errorf("ends with newline %v after %d lines", f.EndsWithNewline(), f.Line())
	}
}

// TestAlone holds Alone to the scan of the whole line on lines of braces,
// quotes, escapes and letters (every short one, and longer random ones).
func TestAlone(t *testing.T) {
	alphabet := []byte(`{}"\a:`)
	var lines [][]byte
	var gen func(prefix []byte, n int)
	gen = func(prefix []byte, n int) {
		if n == 0 {
			return
		}
		for _, c := range alphabet {
			l := append(append([]byte{}, prefix...), c)
			lines = append(lines, l)
			gen(l, n-1)
		}
	}
	gen([]byte{'{'}, 7)
	rng := rand.New(rand.NewPCG(5, 6))
	for range 20000 {
		l := []byte{'{'}
		for range rng.IntN(40) {
			l = append(l, alphabet[rng.IntN(len(alphabet))])
		}
		lines = append(lines, append(l, '}'))
	}
	fast := 0
	for _, l := range lines {
		if got, want := Alone(l), scanAlone(l); got != want {
			t.Fatalf("Alone(%q) = %v, the scan says %v", l, got, want)
		}
		if l[len(l)-1] == '}' && !bytes.Contains(l[1:len(l)-1], []byte("{")) {
			fast++
		}
	}
	if fast < 1000 {
		t.Fatalf("only %d lines take the shortcut", fast)
	}
}

// brokenAfter reads its data, then fails.
type brokenAfter struct{ data []byte }

func (b *brokenAfter) Read(p []byte) (int, error) {
	if len(b.data) == 0 {
		return 0, errors.New("input/output error")
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

// TestFramerReadError reads a stream that fails right after a whole line
// and in the middle of one: either way the framer stops with the error,
// not as at the end of the stream.
func TestFramerReadError(t *testing.T) {
	for _, data := range []string{"{\"a\":1}\n", "{\"a\":1}\n{\"b\""} {
		f := NewFramer(&brokenAfter{[]byte(data)})
		for {
			if _, ok := f.Next(); !ok {
				break
			}
		}
		if f.Err() == nil || f.Err().Error() != "input/output error" {
			t.Errorf("%q: Err() = %v, want the read error", data, f.Err())
		}
	}
}
