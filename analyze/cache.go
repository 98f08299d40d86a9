package analyze

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"time"
)

// DataKey identifies what a report is computed from: the data files
// (store.Fingerprint) and the program (store.BuildID).
type DataKey struct {
	Fingerprint []byte
	Build       []byte
}

// Runs holds every run's time and macOS minutes: what the budget is
// computed from, for any clock (Budget).
type Runs struct{ runs []*batch }

// BuildReportRuns is BuildReport, and also returns the runs the budget is
// computed from: a report kept for unchanged data is completed for another
// clock with Runs.Budget (its only part, with the generation time, that
// depends on the clock; see ReportKey).
func BuildReportRuns(fsys fs.FS, name string, o ReportOptions) (*Report, *Runs, error) {
	rep, runs, err := buildReport(fsys, name, o)
	if err != nil {
		return nil, nil, err
	}
	return rep, &Runs{runs}, nil
}

// Budget is the report's budget for o (its clock, budget and week start).
func (r *Runs) Budget(o ReportOptions) Budget { return computeBudget(r.runs, o) }

// ReportKey is everything a report depends on but the clock, to key a
// cache: the options, the data and the program. The clock matters beyond
// the budget only for --since without --until (the previous window then
// ends at it), and is then part of the key.
func ReportKey(o ReportOptions, k DataKey) ([]byte, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Since.IsZero() || !o.Until.IsZero() {
		o.Now = time.Time{}
	}
	opts, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "report %d\noptions %s\nbuild %d\n", ReportVersion, opts, len(k.Build))
	b.Write(k.Build)
	fmt.Fprintf(&b, "\ndata %d\n", len(k.Fingerprint))
	b.Write(k.Fingerprint)
	return b.Bytes(), nil
}

// AppendBinary appends the runs: uvarint count, then per run int64
// seconds, int32 nanoseconds, flags (1: minutes known, 2: uses macOS) and
// float64 minutes, little-endian.
func (r *Runs) AppendBinary(out []byte) ([]byte, error) {
	out = binary.AppendUvarint(out, uint64(len(r.runs)))
	for _, b := range r.runs {
		out = binary.LittleEndian.AppendUint64(out, uint64(b.ts.Unix()))
		out = binary.LittleEndian.AppendUint32(out, uint32(b.ts.Nanosecond()))
		var flags byte
		var m float64
		if b.minutes != nil {
			flags |= 1
			m = *b.minutes
		}
		if b.usesMac {
			flags |= 2
		}
		out = append(out, flags)
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(m))
	}
	return out, nil
}

// runSize is the bytes per run in AppendBinary.
const runSize = 8 + 4 + 1 + 8

// DecodeRuns reads what AppendBinary wrote, and returns what follows.
func DecodeRuns(p []byte) (*Runs, []byte, error) {
	count, k := binary.Uvarint(p)
	if k <= 0 || count > uint64(len(p)-k)/runSize {
		return nil, nil, fmt.Errorf("cached runs: bad framing")
	}
	p = p[k:]
	runs := make([]*batch, count)
	store := make([]batch, count)
	mins := make([]float64, count)
	for i := range runs {
		sec := int64(binary.LittleEndian.Uint64(p))
		nsec := int64(binary.LittleEndian.Uint32(p[8:]))
		flags := p[12]
		if nsec >= 1e9 || flags > 3 {
			return nil, nil, fmt.Errorf("cached runs: bad run")
		}
		b := &store[i]
		b.ts = time.Unix(sec, nsec).UTC()
		if flags&1 != 0 {
			mins[i] = math.Float64frombits(binary.LittleEndian.Uint64(p[13:]))
			b.minutes = &mins[i]
		}
		b.usesMac = flags&2 != 0
		runs[i] = b
		p = p[runSize:]
	}
	return &Runs{runs}, p, nil
}

// EncodeReport is a report and its runs as a cache keeps them, to render the
// report again in any format: the runs (AppendBinary), then the report's
// JSON form.
func EncodeReport(rep *Report, runs *Runs) ([]byte, error) {
	out, err := runs.AppendBinary(nil)
	if err != nil {
		return nil, err
	}
	js, err := json.Marshal(rep)
	if err != nil {
		return nil, err
	}
	return append(out, js...), nil
}

// DecodeReport reads what EncodeReport wrote.
func DecodeReport(p []byte) (*Report, *Runs, error) {
	runs, rest, err := DecodeRuns(p)
	if err != nil {
		return nil, nil, err
	}
	rep := &Report{}
	if err := json.Unmarshal(rest, rep); err != nil {
		return nil, nil, err
	}
	return rep, runs, nil
}
