// Package safetext makes untrusted text safe to print on a terminal, in an
// error message or in a GitHub workflow command: bytes that are not UTF-8,
// control characters (C0, DEL, C1 such as 0x9b, the one-byte CSI) and the
// Unicode bidirectional controls are shown escaped, so a file name or a
// record cannot move the cursor, recolour the screen or reorder what follows.
package safetext

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Unsafe reports whether c must not be printed as it is: C0 and C1 controls,
// DEL, the line and paragraph separators, and the format characters
// (bidirectional controls, zero-width and invisible characters, tags).
func Unsafe(c rune) bool {
	if c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0x2028 || c == 0x2029 {
		return true
	}
	// Format characters (Cf): the bidirectional controls, zero-width and
	// invisible characters, tags; they make names that look alike differ.
	return c >= 0xa0 && unicode.Is(unicode.Cf, c)
}

// Safe reports whether s needs no escaping. Printable ASCII is passed a
// byte at a time; from the first other byte on, s is decoded.
func Safe(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return utf8.ValidString(s[i:]) && !strings.ContainsFunc(s[i:], Unsafe)
		}
	}
	return true
}

// Escape returns s with invalid bytes as \xNN, unsafe characters as \t, \n,
// \r, \xNN or \uNNNN, and backslashes doubled only when something else was
// escaped (so ordinary text, Windows paths included, is left as it is).
func Escape(s string) string {
	if Safe(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case c == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\\':
			b.WriteString(`\\`)
		case Unsafe(c) && c < 0x100:
			fmt.Fprintf(&b, `\x%02x`, c)
		case Unsafe(c) && c > 0xffff:
			fmt.Fprintf(&b, `\U%08x`, c)
		case Unsafe(c):
			fmt.Fprintf(&b, `\u%04x`, c)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// EscapeLines is Escape that keeps line breaks (\n), for outputs that encode
// them themselves (GitHub workflow commands write %0A).
func EscapeLines(s string) string {
	if Safe(s) {
		return s
	}
	parts := strings.Split(s, "\n")
	for i, p := range parts {
		parts[i] = Escape(p)
	}
	return strings.Join(parts, "\n")
}

// EscapeJSON rewrites JSON text so that it holds no unsafe character: C0
// controls are already escaped by any encoder; DEL, C1, separators and bidi
// controls (which can only occur inside strings) become \uXXXX escapes,
// which decode to the same string.
func EscapeJSON(b []byte) []byte {
	if !utf8.Valid(b) {
		return b
	}
	var out []byte // nil until something is escaped
	last := 0
	for i := 0; i < len(b); {
		if b[i] < 0x7f {
			// ASCII below DEL: C0 controls are escaped in strings by the
			// encoder, and outside strings they are whitespace.
			i++
			continue
		}
		c, n := utf8.DecodeRune(b[i:])
		if Unsafe(c) {
			out = append(out, b[last:i]...)
			if c > 0xffff {
				// JSON writes a character past U+FFFF as a surrogate pair.
				r1, r2 := utf16.EncodeRune(c)
				out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
			} else {
				out = fmt.Appendf(out, `\u%04x`, c)
			}
			last = i + n
		}
		i += n
	}
	if out == nil {
		return b
	}
	return append(out, b[last:]...)
}
