package render

import (
	"strings"
)

// textTable is a table of the text report. Cells may be coloured as a
// whole (palette.wrap).
type textTable struct {
	rows [][]string // the first is the header
	// drop lists the columns that may be left out, in the order they
	// go, when the table does not fit its width otherwise.
	drop []int
}

// colGap is the space between columns.
const colGap = 2

// layout renders t in at most width columns (0: no limit), as the first of
// these that fits:
//
//  1. each column as wide as its widest cell;
//  2. the widest columns narrowed, their cells wrapped at spaces;
//  3. the same after leaving out the columns in drop, one at a time;
//  4. cells also wrapped after hyphens, slashes and the like (never
//     inside a run of letters or digits);
//  5. each row as a block of "HEADER: value" lines.
//
// It returns the lines and the headers of the columns it left out.
func (t textTable) layout(width int) (lines []string, dropped []string) {
	if len(t.rows) == 0 {
		return nil, nil
	}
	cols := make([]int, len(t.rows[0]))
	for i := range cols {
		cols[i] = i
	}
	fits := func(ws []int) bool {
		total := colGap * (len(ws) - 1)
		for _, w := range ws {
			total += w
		}
		return width <= 0 || total <= width
	}
	measure := func(soft bool) (nat, mins []int) {
		nat, mins = make([]int, len(cols)), make([]int, len(cols))
		for _, row := range t.rows {
			for j, c := range cols {
				if c < len(row) {
					nat[j] = max(nat[j], Width(row[c]))
					mins[j] = max(mins[j], minWidth(row[c], soft))
				}
			}
		}
		return nat, mins
	}
	for next := 0; ; next++ {
		nat, mins := measure(false)
		if fits(nat) {
			return t.render(cols, nat, false), dropped
		}
		if fits(mins) {
			return t.render(cols, narrow(nat, mins, t.dataWidths(cols), width), false), dropped
		}
		if next >= len(t.drop) {
			break
		}
		d := t.drop[next]
		dropped = append(dropped, t.rows[0][d])
		for j, c := range cols {
			if c == d {
				cols = append(cols[:j:j], cols[j+1:]...)
				break
			}
		}
	}
	nat, spaced := measure(false)
	_, mins := measure(true)
	if fits(mins) {
		// Columns that wrap at spaces narrow first; identifiers break
		// after hyphens only for what is still too wide.
		ws := narrow(nat, spaced, t.dataWidths(cols), width)
		return t.render(cols, narrow(ws, mins, t.dataWidths(cols), width), true), dropped
	}
	return t.stacked(cols, width), dropped
}

// dataWidths are the columns' widths without their headers.
func (t textTable) dataWidths(cols []int) []int {
	ws := make([]int, len(cols))
	for _, row := range t.rows[1:] {
		for j, c := range cols {
			if c < len(row) {
				ws[j] = max(ws[j], Width(row[c]))
			}
		}
	}
	return ws
}

// narrow narrows columns until they fit width: first the columns whose
// header is wider than their cells (a header wrapped costs one line, a
// column of cells wrapped a line a row), down to their cells' width; then
// a column at a time off the widest column wider than its minimum.
func narrow(nat, mins, data []int, width int) []int {
	ws := append([]int(nil), nat...)
	total := colGap * (len(ws) - 1)
	for _, w := range ws {
		total += w
	}
	for j := range ws {
		if total <= width {
			return ws
		}
		if to := max(mins[j], data[j]); ws[j] > to {
			cut := min(ws[j]-to, total-width)
			ws[j] -= cut
			total -= cut
		}
	}
	for total > width {
		k := -1
		for j := range ws {
			if ws[j] > mins[j] && (k < 0 || ws[j] > ws[k]) {
				k = j
			}
		}
		if k < 0 {
			break
		}
		ws[k]--
		total--
	}
	return ws
}

// render lays the columns out at widths ws, wrapping cells that are wider.
func (t textTable) render(cols, ws []int, soft bool) []string {
	var out []string
	for _, row := range t.rows {
		cells := make([][]string, len(cols))
		height := 1
		for j, c := range cols {
			cell := ""
			if c < len(row) {
				cell = row[c]
			}
			cells[j] = wrapCell(cell, ws[j], soft)
			height = max(height, len(cells[j]))
		}
		for k := range height {
			var b strings.Builder
			for j := range cols {
				line := ""
				if k < len(cells[j]) {
					line = cells[j][k]
				}
				b.WriteString(line)
				if j < len(cols)-1 {
					b.WriteString(strings.Repeat(" ", ws[j]-Width(line)+colGap))
				}
			}
			out = append(out, strings.TrimRight(b.String(), " "))
		}
	}
	return out
}

// wrapCell wraps a cell to width, keeping a whole-cell colour on each of
// its lines.
func wrapCell(cell string, width int, soft bool) []string {
	if Width(cell) <= width {
		return []string{cell}
	}
	pre, suf := "", ""
	if strings.HasPrefix(cell, "\x1b[") && strings.HasSuffix(cell, "\x1b[0m") {
		if m := strings.IndexByte(cell, 'm'); m > 0 {
			pre, suf = cell[:m+1], "\x1b[0m"
		}
	}
	lines := Wrap(StripANSI(cell), width, soft)
	if pre != "" {
		for i, l := range lines {
			lines[i] = pre + l + suf
		}
	}
	return lines
}

// stacked shows each row as its first cell, then a line for each other
// column: "HEADER: value", wrapped with a hanging indent.
func (t textTable) stacked(cols []int, width int) []string {
	var out []string
	head := t.rows[0]
	for i, row := range t.rows[1:] {
		if i > 0 {
			out = append(out, "")
		}
		for j, c := range cols {
			if c >= len(row) {
				continue
			}
			if j == 0 {
				out = append(out, Wrap(StripANSI(row[c]), width, true)...)
				continue
			}
			out = append(out, hanging("  "+strings.ToLower(head[c])+": ", StripANSI(row[c]), width, 4)...)
		}
	}
	return out
}

// hanging wraps prefix+text to width, continuation lines indented by
// indent columns.
func hanging(prefix, text string, width, indent int) []string {
	pw := Width(prefix)
	if width <= 0 || pw+Width(text) <= width {
		return []string{prefix + text}
	}
	words := strings.Fields(text)
	first, n := prefix, pw
	i := 0
	for ; i < len(words); i++ {
		ww := Width(words[i])
		gap := 0
		if i > 0 {
			gap = 1
		}
		if n+gap+ww > width {
			break
		}
		if i > 0 {
			first += " "
		}
		first += words[i]
		n += gap + ww
	}
	out := []string{strings.TrimRight(first, " ")}
	if i < len(words) {
		pad := strings.Repeat(" ", indent)
		for _, l := range Wrap(strings.Join(words[i:], " "), width-indent, false) {
			out = append(out, pad+l)
		}
	}
	return out
}
