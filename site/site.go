package site

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/batchsli/batchsli/analyze"
	"github.com/batchsli/batchsli/internal/safetext"
)

//go:embed templates/*.html style.css
var files embed.FS

// PageSize is the most rows of a list page (failing recipes, batches).
const PageSize = 200

var tmpl = template.Must(template.New("").Funcs(template.FuncMap{
	"t":       text,
	"msg":     message,
	"pct":     pctPtr,
	"pctf":    func(f float64) string { return fmt.Sprintf("%.1f%%", 100*f) },
	"ci":      ciText,
	"day":     func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	"stamp":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"dayp":    dayPtr,
	"mins":    minutesPtr,
	"minsf":   func(f float64) string { return fmt.Sprintf("%.0f", f) },
	"join":    func(s []string) string { return text(strings.Join(s, ", ")) },
	"add":     func(a, b int) int { return a + b },
	"heat":    heat,
	"pts":     func(f *float64) string { return fmt.Sprintf("%+.1f points", 100**f) },
	"kind":    func(k string) string { return strings.ReplaceAll(k, "_", " ") },
	"ecoHref": func(e string) string { return "ecosystem/" + Slug(e) + ".html" },
	"yes":     func(b bool) string { return map[bool]string{true: "yes", false: "no"}[b] },
	"sig": func(f *float64) string {
		if f == nil {
			return "n/a"
		}
		return fmt.Sprintf("%.3g", *f)
	},
}).ParseFS(files, "templates/*.html"))

// text makes untrusted text safe to show: control and bidirectional
// characters escaped, and text in a right-to-left script isolated, so it
// cannot reorder the sentence around it (html/template then escapes the
// markup).
func text(s string) string { return isolate(safetext.Escape(s)) }

// isolate wraps text holding right-to-left letters in first-strong
// isolate and pop directional isolate (U+2068, U+2069): the text keeps its
// own direction and leaves its neighbours' alone.
func isolate(s string) string {
	for _, r := range s {
		if rtl(r) {
			return "\u2068" + s + "\u2069"
		}
	}
	return s
}

// rtl reports whether r is a letter of a right-to-left script (Hebrew,
// Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic and their presentation
// forms, and the historic RTL scripts of the SMP).
func rtl(r rune) bool {
	return (r >= 0x0590 && r <= 0x08ff) || (r >= 0xfb1d && r <= 0xfdff) || (r >= 0xfe70 && r <= 0xfeff) ||
		(r >= 0x10800 && r <= 0x10fff) || (r >= 0x1e800 && r <= 0x1efff)
}

// message is a failure message for a <pre>: its lines kept, each made safe.
func message(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = isolate(safetext.Escape(strings.TrimSuffix(l, "\r")))
	}
	return strings.Join(lines, "\n")
}

func pctPtr(f *float64) string {
	if f == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", 100**f)
}

func ciText(lo, hi *float64) string {
	if lo == nil || hi == nil {
		return "too few batches"
	}
	return fmt.Sprintf("%.1f–%.1f%%", 100**lo, 100**hi)
}

func dayPtr(t *time.Time) string {
	if t == nil {
		return "n/a"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func minutesPtr(f *float64) string {
	if f == nil {
		return "unknown"
	}
	return fmt.Sprintf("%.0f", *f)
}

// heat is a matrix cell's background and text colours: a sequential blue
// scale, dark for low pass rates (told apart in greys and by every common
// colour blindness; the value is printed in the cell too).
func heat(f *float64) template.CSS {
	if f == nil {
		return "background:#fff;color:#000"
	}
	v := math.Max(0, math.Min(1, *f))
	// From #08306b (0%) to #f7fbff (100%).
	mix := func(a, b int) int { return int(math.Round(float64(a) + (float64(b)-float64(a))*v)) }
	r, g, b := mix(0x08, 0xf7), mix(0x30, 0xfb), mix(0x6b, 0xff)
	// The text is black or white, whichever contrasts more (WCAG 2's
	// contrast ratio; the better of the two is always at least 4.5).
	l := luminance(r, g, b)
	fg := "#000"
	if (1.05)/(l+0.05) > (l+0.05)/0.05 {
		fg = "#fff"
	}
	return template.CSS(fmt.Sprintf("background:#%02x%02x%02x;color:%s", r, g, b, fg))
}

// Slug names a page after untrusted text: its letters and digits, then a
// hash of the whole (no two texts share a page; nothing in it is markup or
// a path).
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 48 {
			break
		}
	}
	h := sha256.Sum256([]byte(s))
	name := strings.TrimSuffix(b.String(), "-")
	if name == "" {
		return hex.EncodeToString(h[:6])
	}
	return name + "-" + hex.EncodeToString(h[:6])
}

// page is what the layout needs of every page.
type page struct {
	Title string
	// Root leads back to the site's root from the page's folder.
	Root string
	// Nav is the current section.
	Nav     string
	Site    *analyze.Site
	Windows []analyze.SiteWindow
	Content any
}

// writer writes the site's files into its folder as they are rendered
// (a page is not kept in memory). page and file are safe for concurrent
// use.
type writer struct {
	dir  string
	mu   sync.Mutex
	made map[string]bool
}

// file writes one file of the site (path slash-separated, under dir).
func (w *writer) file(path string, b []byte) error {
	full := filepath.Join(w.dir, filepath.FromSlash(path))
	parent := filepath.Dir(full)
	w.mu.Lock()
	if !w.made[parent] {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			w.mu.Unlock()
			return err
		}
		w.made[parent] = true
	}
	w.mu.Unlock()
	return os.WriteFile(full, b, 0o644)
}

func (w *writer) page(path, name string, p page) error {
	var b bytes.Buffer
	p.Windows = analyze.SiteWindows
	if err := tmpl.ExecuteTemplate(&b, name, p); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return w.file(path, b.Bytes())
}

// pages renders n pages, page(i) each, on every core; the first error
// (in page order) is returned.
func (w *writer) pages(n int, page func(i int) error) error {
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				errs[i] = page(i)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Write builds the site of s into dir: written beside it first, then
// moved into place, so a failure leaves dir as it was.
func Write(dir string, s *analyze.Site) error {
	clean := filepath.Clean(dir)
	if clean == "." || clean == ".." || filepath.Base(clean) == ".." {
		return fmt.Errorf("%s: give the site a folder of its own (it is replaced whole), not the current folder or its parent", dir)
	}
	if fi, err := os.Lstat(clean); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s is a symbolic link: give the folder itself (the site is replaced whole)", dir)
	}
	if _, err := os.Stat(dir); err == nil && !isSite(dir) {
		return fmt.Errorf("%s exists and is not a site batchsli wrote (no %s): give an empty or new folder", dir, marker)
	}
	cleanStale(filepath.Dir(clean))
	parent := filepath.Dir(filepath.Clean(dir))
	tmp, err := os.MkdirTemp(parent, ".batchsli-site-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	w := &writer{dir: tmp, made: map[string]bool{tmp: true}}
	if err := build(w, s); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	old := ""
	if _, err := os.Stat(dir); err == nil {
		if !isSite(dir) {
			return fmt.Errorf("%s exists and is not a site batchsli wrote (no %s): give an empty or new folder", dir, marker)
		}
		old = tmp + ".old"
		if err := os.Rename(dir, old); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		if old != "" {
			os.Rename(old, dir)
		}
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}

// cleanStale removes what a killed run left beside the site (its new
// folder, or the old site being removed) once an hour old: a run in
// progress is younger.
func cleanStale(parent string) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), ".batchsli-site-") {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
			os.RemoveAll(filepath.Join(parent, e.Name()))
		}
	}
}

// marker is the file that marks a folder as a site batchsli wrote (which
// it may then replace whole).
const marker = ".batchsli-site"

func isSite(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
		return true
	}
	ents, err := os.ReadDir(dir)
	return err == nil && len(ents) == 0
}

// luminance is WCAG 2's relative luminance of an sRGB colour.
func luminance(r, g, b int) float64 {
	lin := func(c int) float64 {
		v := float64(c) / 255
		if v <= 0.04045 {
			return v / 12.92
		}
		return math.Pow((v+0.055)/1.055, 2.4)
	}
	return 0.2126*lin(r) + 0.7152*lin(g) + 0.0722*lin(b)
}
