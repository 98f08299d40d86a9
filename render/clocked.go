package render

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/internal/safetext"
)

// Clocked is a rendered report with the parts that depend on its clock cut
// out: the budget, and in JSON the generation time. A report computed once
// from unchanged data is rendered again for another clock by Render, without
// being computed or decoded (cmd/batchsli caches it).
type Clocked struct {
	Format string
	// Chunks surround the clocked parts: text and markdown have the budget
	// between their two chunks; JSON has the generation time between its
	// first two and the budget between its last two.
	Chunks [][]byte
	// Width is the text report's width (TextOptions.Width), which its
	// budget is wrapped to.
	Width int
}

// textBudget and mdBudget are the budget's part of the text and markdown
// reports.
func textBudget(bu analyze.Budget, width int) string {
	return strings.Join(hanging("", budgetLine(bu), width, 2), "\n") + "\n"
}

// mdBudget is the budget line, in a warning block when the budget is
// exhausted or likely to run out this week.
func mdBudget(bu analyze.Budget) string {
	if bu.Exhausted || bu.ExceedProbability != nil && *bu.ExceedProbability > analyze.WarnProbability {
		return "> [!WARNING]\n> " + MD(budgetLine(bu))
	}
	return MD(budgetLine(bu))
}

// Report renders r in format ("text", "markdown" or "json") and cuts it
// into a Clocked. It checks that Render with r's own clock gives back the
// same bytes, and returns an error (nothing to keep) otherwise.
func Report(format string, r *analyze.Report, o TextOptions) (out []byte, c *Clocked, err error) {
	c = &Clocked{Format: format, Width: o.Width}
	switch format {
	case "text", "markdown":
		var s string
		var at [2]int
		if format == "text" {
			s, at = reportText(r, o)
		} else {
			s, at = reportMarkdown(r)
		}
		out = []byte(s)
		c.Chunks = [][]byte{out[:at[0]], out[at[1]:]}
	case "json":
		var b bytes.Buffer
		if err := JSON(&b, r); err != nil {
			return nil, nil, err
		}
		out = b.Bytes()
		// Top-level keys are the only ones indented by two spaces, and a
		// JSON string holds no raw newline: these cannot match elsewhere.
		g0, g1, ok1 := cut(out, "\n  \"generated_at\": ", ",\n  \"data\": ")
		b0, b1, ok2 := cut(out, "\n  \"budget\": ", ",\n  \"insights\": ")
		if !ok1 || !ok2 || g1 > b0 {
			return out, nil, fmt.Errorf("report JSON: clocked fields not found")
		}
		c.Chunks = [][]byte{out[:g0], out[g1:b0], out[b1:]}
	default:
		return nil, nil, fmt.Errorf("unknown report format %q", format)
	}
	again, err := c.Render(r.GeneratedAt, r.Budget)
	if err != nil {
		return out, nil, err
	}
	if !bytes.Equal(again, out) {
		return out, nil, fmt.Errorf("report %s: the clocked parts do not render back", format)
	}
	return out, c, nil
}

// cut returns the span of the value after key and before next.
func cut(b []byte, key, next string) (from, to int, ok bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return 0, 0, false
	}
	from = i + len(key)
	j := bytes.Index(b[from:], []byte(next))
	if j < 0 {
		return 0, 0, false
	}
	return from, from + j, true
}

// Render completes the report for a clock: its generation time and budget.
func (c *Clocked) Render(generated time.Time, bu analyze.Budget) ([]byte, error) {
	var parts [][]byte
	switch {
	case c.Format == "text" && len(c.Chunks) == 2:
		parts = [][]byte{[]byte(textBudget(bu, c.Width))}
	case c.Format == "markdown" && len(c.Chunks) == 2:
		parts = [][]byte{[]byte(mdBudget(bu))}
	case c.Format == "json" && len(c.Chunks) == 3:
		g, err := json.Marshal(generated)
		if err != nil {
			return nil, err
		}
		b, err := json.MarshalIndent(bu, "  ", "  ")
		if err != nil {
			return nil, err
		}
		parts = [][]byte{safetext.EscapeJSON(g), safetext.EscapeJSON(b)}
	default:
		return nil, fmt.Errorf("bad clocked report")
	}
	n := 0
	for _, ch := range c.Chunks {
		n += len(ch)
	}
	for _, p := range parts {
		n += len(p)
	}
	out := make([]byte, 0, n)
	for i, ch := range c.Chunks {
		out = append(out, ch...)
		if i < len(parts) {
			out = append(out, parts[i]...)
		}
	}
	return out, nil
}

// AppendBinary appends c's encoding: the format, the width (uvarint) and
// the chunks, each length-prefixed (uvarint).
func (c *Clocked) AppendBinary(b []byte) ([]byte, error) {
	b = binary.AppendUvarint(b, uint64(len(c.Format)))
	b = append(b, c.Format...)
	b = binary.AppendUvarint(b, uint64(max(c.Width, 0)))
	b = binary.AppendUvarint(b, uint64(len(c.Chunks)))
	for _, ch := range c.Chunks {
		b = binary.AppendUvarint(b, uint64(len(ch)))
		b = append(b, ch...)
	}
	return b, nil
}

// DecodeClocked reads what AppendBinary wrote, and returns what follows.
func DecodeClocked(b []byte) (*Clocked, []byte, error) {
	bad := fmt.Errorf("clocked report: bad framing")
	next := func() ([]byte, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, false
		}
		v := b[k : k+int(n)]
		b = b[k+int(n):]
		return v, true
	}
	f, ok := next()
	if !ok {
		return nil, nil, bad
	}
	c := &Clocked{Format: string(f)}
	w, k := binary.Uvarint(b)
	if k <= 0 || w > 1<<20 {
		return nil, nil, bad
	}
	c.Width, b = int(w), b[k:]
	count, k := binary.Uvarint(b)
	if k <= 0 || count > 3 {
		return nil, nil, bad
	}
	b = b[k:]
	for range count {
		ch, ok := next()
		if !ok {
			return nil, nil, bad
		}
		c.Chunks = append(c.Chunks, ch)
	}
	return c, b, nil
}
