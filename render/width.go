package render

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// StripANSI removes the SGR escape sequences (ESC [ ... m) the text report
// colours with. Text from the data never holds ESC: Clean escapes it.
func StripANSI(s string) string {
	if strings.IndexByte(s, 0x1b) < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == ';') {
				j++
			}
			if j < len(s) && s[j] == 'm' {
				i = j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Width is the number of terminal columns s takes: escape sequences take
// none, combining marks and format characters none, East Asian wide and
// fullwidth characters and emoji two, anything else one.
func Width(s string) int {
	s = StripANSI(s)
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

func runeWidth(r rune) int {
	switch {
	case r < 0x300:
		return 1
	case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || unicode.Is(unicode.Cf, r):
		return 0
	case wide(r):
		return 2
	}
	return 1
}

// wide reports the East Asian Wide and Fullwidth ranges (Unicode 15, UAX
// #11) and the emoji presentation blocks, in which terminals draw two
// columns.
func wide(r rune) bool {
	switch {
	case r >= 0x1100 && r <= 0x115F, r >= 0x2E80 && r <= 0x303E, r >= 0x3041 && r <= 0x33FF,
		r >= 0x3400 && r <= 0x4DBF, r >= 0x4E00 && r <= 0x9FFF, r >= 0xA000 && r <= 0xA4CF,
		r >= 0xA960 && r <= 0xA97F, r >= 0xAC00 && r <= 0xD7A3, r >= 0xF900 && r <= 0xFAFF,
		r >= 0xFE10 && r <= 0xFE19, r >= 0xFE30 && r <= 0xFE6F, r >= 0xFF00 && r <= 0xFF60,
		r >= 0xFFE0 && r <= 0xFFE6, r >= 0x1F300 && r <= 0x1F64F, r >= 0x1F900 && r <= 0x1F9FF,
		r >= 0x1FA70 && r <= 0x1FAFF, r >= 0x20000 && r <= 0x3FFFD:
		return true
	}
	return false
}

// pieces splits s into the pieces a line may break between: at spaces
// (the space is dropped), and with soft also after '-', '/', '_', ':', ',',
// '.' and '–' (an identifier such as a batch ID breaks after a hyphen,
// never inside a run of letters). A piece that continues a word without
// a space starts with NUL.
func pieces(s string, soft bool) []string {
	var out []string
	for _, word := range strings.Fields(s) {
		if !soft {
			out = append(out, word)
			continue
		}
		start := 0
		for i, r := range word {
			end := i + utf8.RuneLen(r)
			// No piece of fewer than three bytes: x86_64 stays whole.
			if strings.ContainsRune(softBreaks, r) && end-start >= 3 && len(word)-end >= 3 {
				out = appendPiece(out, word[start:end], start > 0)
				start = end
			}
		}
		out = appendPiece(out, word[start:], start > 0)
	}
	return out
}

const softBreaks = "-/_:,.–"

func appendPiece(out []string, p string, cont bool) []string {
	if cont {
		return append(out, "\x00"+p)
	}
	return append(out, p)
}

// Wrap breaks plain text (no escape sequences) into lines of at most width
// columns, at spaces, and with soft also after the punctuation pieces
// names. A piece wider than width is broken where the line ends.
func Wrap(s string, width int, soft bool) []string {
	if width <= 0 {
		return []string{s}
	}
	var lines []string
	var cur strings.Builder
	n := 0
	for _, p := range pieces(s, soft) {
		glue := " "
		if strings.HasPrefix(p, "\x00") {
			p, glue = p[1:], ""
		}
		w := Width(p)
		if n > 0 && n+len(glue)+w > width {
			lines = append(lines, cur.String())
			cur.Reset()
			n = 0
		}
		// A piece wider than the line (a name longer than the terminal
		// is wide) is the one thing broken anywhere.
		for w > width {
			head, rest := cutWidth(p, width-n)
			if head == "" {
				break
			}
			cur.WriteString(head)
			lines = append(lines, cur.String())
			cur.Reset()
			n, glue, p = 0, "", rest
			w = Width(p)
		}
		if n > 0 {
			cur.WriteString(glue)
			n += len(glue)
		}
		cur.WriteString(p)
		n += w
	}
	if n > 0 || len(lines) == 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// minWidth is the widest piece of s.
func minWidth(s string, soft bool) int {
	m := 0
	for _, p := range pieces(StripANSI(s), soft) {
		m = max(m, Width(strings.TrimPrefix(p, "\x00")))
	}
	return m
}

// cutWidth splits s after at most w columns (at least one rune).
func cutWidth(s string, w int) (head, rest string) {
	n := 0
	for i, r := range s {
		rw := runeWidth(r)
		if n+rw > w && i > 0 {
			return s[:i], s[i:]
		}
		n += rw
	}
	return s, ""
}
