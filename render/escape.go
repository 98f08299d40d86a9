package render

import (
	"github.com/batchsli/batchsli/internal/safetext"
	"strings"
	"unicode"
)

const wordJoiner = "\u2060"

// MD makes untrusted text inert inline markdown (GitHub-flavoured), safe in
// a table cell: every character that markdown could read mid-line is
// backslash-escaped or written as an entity, so no emphasis, link, image,
// code span, math, HTML or table cell boundary can come from it; line breaks
// and control characters become spaces; and autolinks (http://, www.,
// e-mail addresses) and @mentions are broken with an invisible word joiner.
// The result must not start a line (renderers always put it after their own
// text), so list and heading markers such as '-' and '#' are left alone
// only where they cannot act.
func MD(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i, r := range s {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '@':
			b.WriteString("@" + wordJoiner)
		case r == ':' && strings.HasPrefix(s[i+1:], "//"):
			b.WriteString(":" + wordJoiner)
		case r == '.' && i >= 3 && strings.EqualFold(s[i-3:i], "www"):
			b.WriteString(wordJoiner + ".")
		case r < 0x80 && strings.ContainsRune("\\`*_{}[]()#!|~$", r):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n' || r == '\r' || r == '\t' || unicode.IsControl(r) || safetext.Unsafe(r) || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// MDCode writes untrusted text as an inline code span that its content
// cannot close (the fence is longer than any backtick run inside), on one
// line, safe in a table cell.
func MDCode(s string) string { return mdCode(s, true) }

// MDCodeInline is MDCode outside tables, where pipes need no escape.
func MDCodeInline(s string) string { return mdCode(s, false) }

func mdCode(s string, table bool) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' || unicode.IsControl(r) || safetext.Unsafe(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	// In a table a pipe ends the cell unless escaped, even in a code span;
	// a backslash before it would escape the escape, so it gets a space.
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '|' && table {
			if i > 0 && s[i-1] == '\\' {
				b.WriteByte(' ')
			}
			b.WriteString(`\|`)
			continue
		}
		b.WriteByte(s[i])
	}
	s = b.String()
	fence := strings.Repeat("`", longestRun(s, '`')+1)
	if s == "" {
		return "` `"
	}
	// Spaces inside the fence keep a leading or trailing backtick apart.
	return fence + " " + s + " " + fence
}

func longestRun(s string, c rune) int {
	run, longest := 0, 0
	for _, r := range s {
		if r == c {
			run++
			if run > longest {
				longest = run
			}
		} else {
			run = 0
		}
	}
	return longest
}
