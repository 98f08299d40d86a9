package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/batchsli/batchsli/internal/golden"
)

// siteOf builds a site with args and returns its folder.
func siteOf(t *testing.T, args ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "site")
	res := cli(t, append([]string{"site", "--out", out}, args...)...)
	if res.code != 0 {
		t.Fatalf("site %v: exit %d: %s", args, res.code, res.stderr)
	}
	return out
}

// sitePages lists a site's HTML pages, slash-separated and sorted.
func sitePages(t *testing.T, dir string) []string {
	t.Helper()
	var pages []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".html") {
			rel, _ := filepath.Rel(dir, p)
			pages = append(pages, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(pages)
	return pages
}

// TestSiteGolden: every kind of page of the sample's site, on small bounds.
func TestSiteGolden(t *testing.T) {
	dir := siteOf(t, "--demo", "--weeks", "4", "--recipe-pages", "2", "--batch-pages", "2")
	pages := sitePages(t, dir)
	golden.Check(t, "testdata/site/pages.txt", []byte(strings.Join(pages, "\n")+"\n"))
	kinds := map[string]string{}
	for _, p := range pages {
		kind := strings.SplitN(p, "/", 2)[0]
		if strings.Contains(p, "/") && kinds[kind] == "" {
			kinds[kind] = p
		}
	}
	want := []string{"index.html", "recipes.html", "batches.html", kinds["window"], kinds["platform"], kinds["recipe"], kinds["batch"], kinds["ecosystem"]}
	for _, p := range want {
		if p == "" {
			t.Fatalf("a page kind is missing: %v", pages)
		}
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		golden.Check(t, "testdata/site/"+strings.ReplaceAll(p, "/", "_"), b)
	}
}

// heatStyle is the one style the site writes: a heatmap cell's colours.
var heatStyle = regexp.MustCompile(`^background:#[0-9a-f]{6};color:#(000|fff)$`)

// allowed are the elements the site writes: anything else on a page came
// from the data.
var allowed = map[string]bool{}

func init() {
	for _, e := range strings.Fields(`html head meta title link body a header nav ul li main footer p code h1 h2 h3
		section dl dt dd div table caption thead tbody tr th td br small span strong figure figcaption details
		summary pre bdi svg desc line text g polygon polyline circle rect`) {
		allowed[e] = true
	}
}

// checkPage parses a page and checks what no data can change: only the
// site's elements; no script, no event handler, no style but the matrix's
// colours; every link and stylesheet inside the site and leading to a file
// of it; ids unique.
func checkPage(t *testing.T, dir, page string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(page)))
	if err != nil {
		t.Fatal(err)
	}
	// html/template writes ZgotmplZ where it refused a value.
	if bytes.Contains(b, []byte("ZgotmplZ")) {
		t.Errorf("%s: html/template refused a value (ZgotmplZ)", page)
	}
	z := html.NewTokenizer(bytes.NewReader(b))
	ids := map[string]bool{}
	var anchors []string
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		if !allowed[tok.Data] {
			t.Errorf("%s: element <%s>", page, tok.Data)
		}
		for _, a := range tok.Attr {
			k := strings.ToLower(a.Key)
			switch {
			case strings.HasPrefix(k, "on"), k == "src", k == "srcdoc", k == "formaction", k == "xlink:href":
				t.Errorf("%s: <%s %s=%q>", page, tok.Data, a.Key, a.Val)
			case k == "style" && !(tok.Data == "td" && heatStyle.MatchString(a.Val)):
				t.Errorf("%s: <%s style=%q>", page, tok.Data, a.Val)
			case k == "id":
				if ids[a.Val] {
					t.Errorf("%s: id %q twice", page, a.Val)
				}
				ids[a.Val] = true
			case k == "href":
				u, err := url.Parse(a.Val)
				if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(a.Val, "//") {
					t.Errorf("%s: link %q leaves the site", page, a.Val)
					continue
				}
				if u.Path == "" {
					anchors = append(anchors, u.Fragment) // on the page
					continue
				}
				target := path.Join(path.Dir(page), u.Path)
				if strings.HasPrefix(target, "../") {
					t.Errorf("%s: link %q leaves the site", page, a.Val)
				} else if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(target))); err != nil {
					t.Errorf("%s: link %q leads nowhere", page, a.Val)
				}
			}
		}
	}
	if z.Err() != nil && z.Err().Error() != "EOF" {
		t.Errorf("%s: %v", page, z.Err())
	}
	for _, a := range anchors {
		if !ids[a] {
			t.Errorf("%s: link to #%s, which the page lacks", page, a)
		}
	}
}

// tidy checks a page with HTML Tidy (W3C's, the distribution's package):
// no error, no warning.
func tidy(t *testing.T, file string) {
	t.Helper()
	bin, err := exec.LookPath("tidy")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tidy is missing (.ci/run installs it)")
		}
		t.Skip("tidy is missing")
	}
	out, _ := exec.Command(bin, "-q", "-e", "--show-warnings", "yes", "--gnu-emacs", "yes", file).CombinedOutput()
	// Tidy 5.6 predates ARIA 1.1 and takes its aria-current for a
	// proprietary attribute: that one warning is not the page's.
	var left []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l != "" && !strings.HasSuffix(l, `Warning: <a> proprietary attribute "aria-current"`) {
			left = append(left, l)
		}
	}
	if len(left) > 0 {
		t.Errorf("tidy %s:\n%s", filepath.Base(file), strings.Join(left, "\n"))
	}
}

// vnu checks pages and the stylesheet with the Nu Html Checker (the W3C's,
// npm vnu-jar, run with Java): no error and no warning.
func vnu(t *testing.T, files ...string) {
	t.Helper()
	jar, _ := filepath.Abs("../../scripts/site-check/node_modules/vnu-jar/build/dist/vnu.jar")
	java, err := exec.LookPath("java")
	if err != nil || !fileExists(jar) {
		if os.Getenv("CI") != "" {
			t.Fatal("java or scripts/site-check's vnu-jar is missing (.ci/run installs them)")
		}
		t.Skip("java or vnu-jar is missing")
	}
	out, err := exec.Command(java, append([]string{"-jar", jar, "--format", "gnu", "--also-check-css"}, files...)...).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("vnu: %v\n%s", err, out)
	}
}

// onePerKind is one page of each kind of a site (its list pages and
// windows by their first).
func onePerKind(dir string, pages []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range pages {
		kind := strings.TrimRight(strings.SplitN(p, "/", 2)[0], "-0123456789.html")
		if !seen[kind] {
			seen[kind] = true
			out = append(out, filepath.Join(dir, p))
		}
	}
	return out
}

// tsukuData is tsuku's own history (../shared/tsuku-data: legacy records,
// failures keyed by environment and runs by job), which CI has.
const tsukuData = "../../../shared/tsuku-data"

// TestSiteValid: every page of the sample's site and of tsuku's history
// passes checkPage; one of each kind passes HTML Tidy, and the Nu Html
// Checker with the stylesheet.
func TestSiteValid(t *testing.T) {
	dir := siteOf(t, "--demo")
	pages := sitePages(t, dir)
	if len(pages) < 1000 {
		t.Fatalf("%d pages", len(pages))
	}
	for _, p := range pages {
		checkPage(t, dir, p)
	}
	kinds := onePerKind(dir, pages)
	if _, err := os.Stat(tsukuData); err == nil {
		tsuku := siteOf(t, "--data", tsukuData, "--now", "2026-05-01T00:00:00Z")
		tp := sitePages(t, tsuku)
		for _, p := range tp {
			checkPage(t, tsuku, p)
		}
		kinds = append(kinds, onePerKind(tsuku, tp)...)
	} else if os.Getenv("CI") != "" {
		t.Fatalf("%s: %v", tsukuData, err)
	}
	for _, p := range kinds {
		tidy(t, p)
	}
	vnu(t, append(kinds, filepath.Join(dir, "style.css"))...)
}

// xss is text that would be markup, script, a link or reordered text
// if any page took it as it is.
var xss = []string{
	`<script>alert(1)</script>`,
	`<img src=x onerror=alert(2)>`,
	`javascript:alert(3)`,
	`</svg><svg onload=alert(4)>`,
	`"><a href="javascript:alert(5)">x</a>`,
	`' onmouseover='alert(6)`,
	"evil\u202egnp.exe",
	"a\u2066b\u2069c\u200fd",
	`</pre></td></tr></table><h1>injected</h1>`,
	`{{.Site}}`,
	"עברית then latin",
	strings.Repeat("long", 80),
	`background:url(//x.example/a)`,
}

// xssData writes a history whose recipe names, categories, blockers
// and messages are the xss corpus, over several batches.
func xssData(t *testing.T) string {
	t.Helper()
	// The data directory's name is hostile too (the footer shows it).
	dir := filepath.Join(t.TempDir(), `d<script>"'x`)
	var runs, fails strings.Builder
	for b := range 8 {
		ts := fmt.Sprintf("2026-03-%02dT10:00:00Z", b+1)
		id := fmt.Sprintf("b%d%s", b, xss[b%len(xss)])
		jid, _ := jsonString(id)
		n := len(xss)
		// Platform keys and an ecosystem from the corpus, where the
		// formats allow them (the reader refuses what they do not).
		plat := []string{"linux-x86_64", `linux-x86_64"><script>`, "darwin-arm64\u202e"}[b%3]
		fmt.Fprintf(&runs, `{"schema_version":2,"batch_id":%s,"ecosystem":"npm","total":%d,"platforms":{"linux-x86_64":{"tested":%d,"passed":%d,"failed":%d,"skipped":0},"darwin-arm64":{"tested":%d,"passed":%d,"failed":0,"skipped":0}},"timestamp":%q}`+"\n",
			jid, n+20, n+20, 20, n, 20, 20, ts)
		for i, h := range xss {
			pkg, _ := jsonString("npm:" + h)
			cat, _ := jsonString(xss[(i+1)%n])
			dep, _ := jsonString(xss[(i+2)%n])
			msg, _ := jsonString(h + "\n" + xss[(i+3)%n])
			jplat, _ := jsonString(plat)
			fmt.Fprintf(&fails, `{"schema_version":2,"batch_id":%s,"ecosystem":"npm","environment":%s,"package_id":%s,"category":%s,"blocked_by":[%s],"message":%s,"timestamp":%q}`+"\n",
				jid, jplat, pkg, cat, dep, msg, ts)
		}
	}
	writeFile(t, dir, "metrics/batch-runs.jsonl", runs.String())
	writeFile(t, dir, "failures/npm.jsonl", fails.String())
	return dir
}

// TestSiteHostile: the xss corpus in recipe names, batch IDs,
// categories, blockers and messages stays text on every page kind.
func TestSiteHostile(t *testing.T) {
	data := xssData(t)
	dir := siteOf(t, "--data", data, "--now", "2026-03-10T00:00:00Z")
	pages := sitePages(t, dir)
	kinds := map[string]int{}
	for _, p := range pages {
		checkPage(t, dir, p)
		kinds[strings.SplitN(p, "/", 2)[0]]++
		b, _ := os.ReadFile(filepath.Join(dir, p))
		for _, bad := range []string{"<script", "<img", "<svg onload", "\u202e", "\u2066", "\u200f", "<h1>injected", `href="javascript`} {
			if bytes.Contains(b, []byte(bad)) {
				t.Errorf("%s holds %q", p, bad)
			}
		}
	}
	for _, k := range []string{"index.html", "recipes.html", "batches.html", "window", "platform", "recipe", "batch", "ecosystem"} {
		if kinds[k] == 0 {
			t.Errorf("no %s page: %v", k, pages)
		}
	}
	// The corpus is shown, escaped: the recipe page names its recipe.
	var recipe []byte
	for _, p := range pages {
		if strings.HasPrefix(p, "recipe/") {
			b, _ := os.ReadFile(filepath.Join(dir, p))
			if bytes.Contains(b, []byte("&lt;script&gt;alert(1)&lt;/script&gt;")) {
				recipe = b
			}
		}
	}
	if recipe == nil {
		t.Error("no recipe page shows the script recipe's name as text")
	}
	idx, _ := os.ReadFile(filepath.Join(dir, "recipes.html"))
	if !bytes.Contains(idx, []byte(`evil\u202egnp.exe`)) {
		t.Error("the bidi control is not shown escaped in the recipe list")
	}
	for _, p := range onePerKind(dir, pages) {
		tidy(t, p)
	}
	vnu(t, onePerKind(dir, pages)...)
}

// TestSiteReplaces: the site's folder is replaced whole; a folder batchsli
// did not write is refused and left as it is.
func TestSiteReplaces(t *testing.T) {
	dir := siteOf(t, "--demo", "--recipe-pages", "2", "--batch-pages", "2")
	stale := filepath.Join(dir, "recipe", "stale.html")
	os.WriteFile(stale, []byte("x"), 0o644)
	res := cli(t, "site", "--demo", "--out", dir, "--recipe-pages", "1", "--batch-pages", "1")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("a file of the old site is left")
	}
	if n := len(sitePages(t, dir)); !slices.Contains(sitePages(t, dir), "index.html") || n == 0 {
		t.Errorf("pages: %v", sitePages(t, dir))
	}
	other := t.TempDir()
	keep := filepath.Join(other, "notes.txt")
	os.WriteFile(keep, []byte("mine"), 0o644)
	res = cli(t, "site", "--demo", "--out", other)
	if res.code == 0 || !strings.Contains(res.stderr, "is not a site batchsli wrote") {
		t.Errorf("exit %d: %s", res.code, res.stderr)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
		t.Error("the folder was changed")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(other), ".batchsli-site-*")); len(left) > 0 {
		t.Errorf("left beside it: %v", left)
	}
	// A symbolic link, the current folder: refused, nothing changed.
	link := filepath.Join(t.TempDir(), "link")
	os.Symlink(dir, link)
	if res := cli(t, "site", "--demo", "--out", link); res.code == 0 || !strings.Contains(res.stderr, "is a symbolic link") {
		t.Errorf("a link as --out: exit %d: %s", res.code, res.stderr)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the link was replaced")
	}
	if res := cli(t, "site", "--demo", "--out", "."); res.code == 0 || !strings.Contains(res.stderr, "not the current folder") {
		t.Errorf("--out .: exit %d: %s", res.code, res.stderr)
	}
	// What a killed run left an hour ago is removed; a younger one is not.
	old, young := filepath.Join(filepath.Dir(dir), ".batchsli-site-1"), filepath.Join(filepath.Dir(dir), ".batchsli-site-2")
	os.Mkdir(old, 0o755)
	os.Mkdir(young, 0o755)
	os.Chtimes(old, time.Now().Add(-2*time.Hour), time.Now().Add(-2*time.Hour))
	if res := cli(t, "site", "--demo", "--out", dir, "--recipe-pages", "1", "--batch-pages", "1"); res.code != 0 {
		t.Fatal(res.stderr)
	}
	if fileExists(old) || !fileExists(young) {
		t.Errorf("stale folders: old left %v, young removed %v", fileExists(old), !fileExists(young))
	}
	if res := cli(t, "site", "--demo"); res.code != 2 || !strings.Contains(res.stderr, "--out DIR is required") {
		t.Errorf("no --out: exit %d: %s", res.code, res.stderr)
	}
}

// jsonString is s as a JSON string.
func jsonString(s string) (string, error) {
	b, err := json.Marshal(s)
	return string(b), err
}

// TestSiteMixedLevels: batch runs keyed by job and failures by
// environment (as tsuku's records are), and runs that tested nothing. The
// job's page lists the environment's failures and categories; the empty
// runs get no batch page and are no "batch before"; the windows end at the
// newest batch, not at the newest (empty) run.
func TestSiteMixedLevels(t *testing.T) {
	dir := t.TempDir()
	var runs, fails strings.Builder
	for b := range 6 {
		ts := fmt.Sprintf("2026-03-%02dT10:00:00Z", b+1)
		tested := 10
		if b == 2 || b == 5 {
			tested = 0 // empty runs, the last one newest
		}
		fmt.Fprintf(&runs, `{"schema_version":2,"batch_id":"b%d","ecosystem":"npm","total":10,"platforms":{"linux-x86_64":{"tested":%d,"passed":%d,"failed":%d,"skipped":0}},"timestamp":%q}`+"\n",
			b, tested, tested/2, tested-tested/2, ts)
		if tested > 0 {
			for r := range 5 {
				fmt.Fprintf(&fails, `{"schema_version":2,"batch_id":"b%d","ecosystem":"npm","environment":"linux-glibc-x86_64","package_id":"npm:r%d","category":"install_failed","message":"m","timestamp":%q}`+"\n", b, r, ts)
			}
		}
	}
	writeFile(t, dir, "metrics/batch-runs.jsonl", runs.String()+"{not json\n")
	writeFile(t, dir, "failures/npm.jsonl", fails.String())
	out := siteOf(t, "--data", dir, "--now", "2026-03-10T00:00:00Z")
	idx, _ := os.ReadFile(filepath.Join(out, "index.html"))
	if !bytes.Contains(idx, []byte(filepath.Join(dir, "metrics", "batch-runs.jsonl")+":7</code>: invalid JSON")) {
		i := bytes.Index(idx, []byte("h-notes\""))
		t.Errorf("the overview does not list the data's problem with its file and line: %s", idx[max(i, 0):])
	}
	for _, p := range sitePages(t, out) {
		checkPage(t, out, p)
	}
	plat, err := os.ReadFile(mustGlob(t, out, "platform/linux-x86-64-*.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"npm:r0", "install_failed <small>(recorded as linux-glibc-x86_64)</small>", "5 failing in the window"} {
		if !bytes.Contains(plat, []byte(want)) {
			t.Errorf("the job's page lacks %q", want)
		}
	}
	batches, _ := os.ReadFile(filepath.Join(out, "batches.html"))
	if bytes.Contains(batches, []byte(">b2<")) || bytes.Contains(batches, []byte(">b5<")) || !bytes.Contains(batches, []byte(">b4<")) {
		t.Errorf("batch pages of empty runs, or none of b4:\n%s", batches)
	}
	b3, _ := os.ReadFile(mustGlob(t, out, "batch/b3-*.html"))
	if !bytes.Contains(b3, []byte(">b1</a>")) {
		t.Errorf("b3's batch before is not b1")
	}
	week, _ := os.ReadFile(filepath.Join(out, "window", "7-days.html"))
	if !bytes.Contains(week, []byte("2026-03-05")) || !bytes.Contains(week, []byte(": 4 batches")) {
		t.Errorf("the 7-day window does not end at b4 with 4 batches")
	}
}

func mustGlob(t *testing.T, dir, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	if len(m) != 1 {
		t.Fatalf("%s: %v", pattern, m)
	}
	return m[0]
}
