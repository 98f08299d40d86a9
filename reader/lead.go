package reader

import (
	"bytes"
	"io"
	"runtime"
	"sync"

	"github.com/batchsli/batchsli/model"
)

// leadBlock is how many bytes a block of a parallel lead holds at most
// (tests make it small, to cut lines at every place).
var leadBlock = 1 << 20

// leadMin is the smallest file a lead reads in parallel: below it, one
// goroutine reads the file as fast.
var leadMin int64 = 4 << 20

// block is one piece of a file in a parallel lead: whole lines, from byte
// off, the first of them line line+1.
type block struct {
	data []byte
	off  int64
	line int
	// Filled by the worker: the records of the lines taken, in order, and
	// where the first line not taken starts (stop < 0: every line taken).
	runs  []*model.BatchRun
	stop  int // index in data
	stopN int // lines before it in the block
	done  chan struct{}
}

// metricsLead reads the start of a metrics file in parallel: blocks of
// whole lines are decoded by the fast path (fastBatchRun) on every core (at
// most 8), and each record is handed to handle in file order. It stops at
// the first line the fast path does not take (a blank line, another shape,
// a problem, a last line without its newline), at a read error, or at the
// end, and returns the span taken and the stream to frame from there, as a
// reading from the start would (Framer.SetLine): the bytes it read and did
// not take, then the rest of f (or the read error it met, or nothing after
// the end). The file is read once, as one stream, as the framer alone reads
// it. Every line the lead takes is one the framer would have offered the
// fast path alone, so the records, and their order, are those of a reading
// on one goroutine.
//
// With reuse, the records are handed on in storage the lead uses again
// once handle returns (Options.Reuse).
func metricsLead(f io.Reader, display string, reuse bool, handle func(*model.BatchRun, int)) (Span, io.Reader) {
	workers := min(runtime.GOMAXPROCS(0), 8)
	var (
		wg      sync.WaitGroup
		work    = make(chan *block)
		pending []*block
		free    [][]byte
		carry   []byte
		off     int64
		line    int
		eof     bool
		readErr error
	)
	var spare sync.Pool // *model.BatchRun, with reuse
	for range workers {
		wg.Go(func() {
			in, slabs := newIntern(), &batchSlabs{}
			for b := range work {
				b.decode(in, slabs, display, &spare)
				close(b.done)
			}
		})
	}
	defer func() {
		close(work)
		wg.Wait()
	}()
	// next reads the next block: the carry of the last read, then up to
	// leadBlock bytes, cut after the last newline.
	next := func() *block {
		var buf []byte
		if n := len(free); n > 0 {
			buf, free = free[n-1][:0], free[:n-1]
		} else {
			buf = make([]byte, 0, leadBlock)
		}
		buf = append(buf, carry...)
		for len(buf) < cap(buf) && !eof {
			n, err := f.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err != nil {
				eof = true
				if err != io.EOF {
					readErr = err
				}
			}
		}
		cut := bytes.LastIndexByte(buf, '\n') + 1
		if cut == 0 {
			// No whole line (one longer than a block, or a last line
			// without its newline): the framer reads it.
			carry = append(carry[:0], buf...)
			return nil
		}
		carry = append(carry[:0], buf[cut:]...)
		b := &block{data: buf[:cut], off: off, line: line, done: make(chan struct{})}
		off += int64(cut)
		line += bytes.Count(b.data, []byte{'\n'})
		return b
	}
	// rest is the stream the framer reads on: the bytes read and not
	// taken (untaken), then what the file has after them.
	rest := func(untaken ...[]byte) io.Reader {
		rs := make([]io.Reader, 0, len(untaken)+1)
		for _, u := range untaken {
			rs = append(rs, bytes.NewReader(u))
		}
		switch {
		case readErr != nil:
			rs = append(rs, errReader{readErr})
		case !eof:
			rs = append(rs, f)
		}
		return io.MultiReader(rs...)
	}
	stopped := false
	for {
		for !stopped && len(pending) < 2*workers {
			b := next()
			if b == nil {
				stopped = true
				break
			}
			pending = append(pending, b)
			work <- b
		}
		if len(pending) == 0 {
			// Every whole line was taken: the rest (the carry) is framed.
			return Span{End: off, Lines: line}, rest(carry)
		}
		b := pending[0]
		pending = pending[1:]
		<-b.done
		for i, run := range b.runs {
			handle(run, b.line+i+1)
			if reuse {
				spare.Put(run)
			}
		}
		if b.stop >= 0 {
			untaken := [][]byte{b.data[b.stop:]}
			for _, p := range pending {
				<-p.done
				untaken = append(untaken, p.data)
			}
			return Span{End: b.off + int64(b.stop), Lines: b.line + b.stopN}, rest(append(untaken, carry)...)
		}
		free = append(free, b.data)
	}
}

// errReader returns its error.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// decode decodes the block's lines with the fast path until one is not
// taken, into records from spare when it has some (emptied first).
func (b *block) decode(in intern, slabs *batchSlabs, display string, spare *sync.Pool) {
	b.stop = -1
	data := b.data
	at, n := 0, 0
	for at < len(data) {
		end := at + bytes.IndexByte(data[at:], '\n')
		line := data[at:end]
		if k := len(line); k > 0 && line[k-1] == '\r' {
			line = line[:k-1]
		}
		run, _ := spare.Get().(*model.BatchRun)
		var plats map[string]model.Counts
		if run != nil {
			plats = run.Platforms // cleared by fastBatchRun
		} else {
			run = &model.BatchRun{}
		}
		if plats == nil {
			plats = make(map[string]model.Counts, 16)
		}
		if !fastBatchRun(line, in, display, b.line+n+1, run, plats, slabs) {
			b.stop, b.stopN = at, n
			return
		}
		b.runs = append(b.runs, run)
		at, n = end+1, n+1
	}
}
