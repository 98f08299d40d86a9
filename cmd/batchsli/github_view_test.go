package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var screenshots = flag.Bool("screenshots", false, "write the GitHub renderings of the report and the summary to docs/screenshots (TestGitHubRendering)")

// githubContentWidth is the width of GitHub's markdown column in a
// repository's file view at a 1280-pixel window (the narrowest place a
// report is read; a job summary is wider).
const githubContentWidth = 832

var (
	alertRe   = regexp.MustCompile(`(?s)<blockquote>\s*<p>\[!(NOTE|TIP|IMPORTANT|WARNING|CAUTION)\]\s*`)
	mermaidRe = regexp.MustCompile(`(?s)<pre lang="mermaid"><code>(.*?)</code></pre>`)
)

// githubPage renders markdown as GitHub shows it: cmark-gfm with GitHub's
// extensions, alert blocks and Mermaid diagrams turned into what GitHub
// makes of them, in GitHub's markdown CSS, every <details> open (so folded
// tables are measured too). Its script reports each table's overflow into
// #batchsli-result.
func githubPage(t *testing.T, md, assets string) string {
	t.Helper()
	html := cmarkGFMWith(t, md, "--unsafe", "--github-pre-lang")
	html = alertRe.ReplaceAllStringFunc(html, func(m string) string {
		kind := strings.ToLower(alertRe.FindStringSubmatch(m)[1])
		title := strings.ToUpper(kind[:1]) + kind[1:]
		return `<blockquote class="markdown-alert markdown-alert-` + kind + `"><p class="markdown-alert-title">` + title + `</p><p>`
	})
	html = mermaidRe.ReplaceAllString(html, `<pre class="mermaid">$1</pre>`)
	html = strings.ReplaceAll(html, "<details>", "<details open>")
	return `<!DOCTYPE html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="file://` + assets + `/node_modules/github-markdown-css/github-markdown-light.css">
<style>body{margin:0;background:#fff}.markdown-body{box-sizing:content-box;width:` + fmt.Sprint(githubContentWidth) + `px;padding:32px;margin:0}</style>
</head><body><article class="markdown-body">` + html + `</article>
<pre id="batchsli-result"></pre>
<script src="file://` + assets + `/node_modules/mermaid/dist/mermaid.min.js"></script>
<script>
async function measure() {
  try { mermaid.initialize({startOnLoad: false}); await mermaid.run({querySelector: 'pre.mermaid'}); } catch (e) { document.title = 'mermaid: ' + e; }
  const body = document.querySelector('.markdown-body');
  const tables = [...document.querySelectorAll('.markdown-body table')].map(t => ({
    head: t.rows[0] ? t.rows[0].innerText.slice(0, 60) : '', scroll: t.scrollWidth, client: t.clientWidth}));
  const charts = document.querySelectorAll('.markdown-body pre.mermaid svg').length;
  document.getElementById('batchsli-result').textContent = JSON.stringify({
    body: body.scrollWidth, client: body.clientWidth, height: document.documentElement.scrollHeight, tables, charts});
}
measure();
</script></body></html>`
}

// cmarkGFMWith runs cmark-gfm with GitHub's extensions and extra flags.
func cmarkGFMWith(t *testing.T, md string, extra ...string) string {
	t.Helper()
	path, err := exec.LookPath("cmark-gfm")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("cmark-gfm is not installed (.ci/run installs it)")
		}
		t.Skip("cmark-gfm is not installed")
	}
	args := append([]string{"-e", "table", "-e", "autolink", "-e", "strikethrough", "-e", "tagfilter"}, extra...)
	cmd := exec.Command(path, args...)
	cmd.Stdin = strings.NewReader(md)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// chromium runs headless Chromium on page with args, as this machine's
// closed network needs it.
func chromium(t *testing.T, bin, page string, args ...string) []byte {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--allow-file-access-from-files", "--user-data-dir=" + t.TempDir(), "--virtual-time-budget=10000"}
	cmd := exec.Command(bin, append(append(base, args...), "file://"+page)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return out
}

type pageMeasure struct {
	Body, Client, Height, Charts int
	Tables                       []struct {
		Head           string
		Scroll, Client int
	}
}

// TestGitHubRendering renders the report and a job summary as GitHub
// shows them, in headless Chromium at GitHub's content width, and checks
// that no table (folded ones opened) needs a horizontal scroll bar and
// that the page is no wider than the column; that the alert blocks and the
// Mermaid charts render. With -screenshots it writes the renderings to
// docs/screenshots. CI installs Chromium, cmark-gfm and the CSS (.ci/run).
func TestGitHubRendering(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	assets, _ := filepath.Abs("../../scripts/github-view")
	_, cssErr := os.Stat(filepath.Join(assets, "node_modules", "github-markdown-css"))
	if err != nil || cssErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium or scripts/github-view's packages are missing (.ci/run installs them)")
		}
		t.Skip("chromium or scripts/github-view's packages are missing")
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		args   []string
		alerts int
		charts int
	}{
		{"report", []string{"report", "--demo", "--format", "markdown", "--week-budget", "250"}, 1, 6},
		{"summary", []string{"summary", "--demo", "--week-budget", "250"}, 1, 0},
		{"report-family", []string{"report", "--demo", "--format", "markdown", "--by", "family"}, 1, 11},
	} {
		res := cli(t, tc.args...)
		if res.code != 0 {
			t.Fatalf("%s: exit %d: %s", tc.name, res.code, res.stderr)
		}
		page := filepath.Join(dir, tc.name+".html")
		html := githubPage(t, res.stdout, assets)
		if n := strings.Count(html, `class="markdown-alert `); n != tc.alerts {
			t.Errorf("%s: %d alert blocks, want %d", tc.name, n, tc.alerts)
		}
		if err := os.WriteFile(page, []byte(html), 0o644); err != nil {
			t.Fatal(err)
		}
		width := githubContentWidth + 64
		dom := chromium(t, bin, page, fmt.Sprintf("--window-size=%d,2000", width), "--dump-dom")
		m := regexp.MustCompile(`(?s)<pre id="batchsli-result">(.*?)</pre>`).FindSubmatch(dom)
		if m == nil || len(m[1]) == 0 {
			t.Fatalf("%s: the page measured nothing:\n%.2000s", tc.name, dom)
		}
		var pm pageMeasure
		if err := json.Unmarshal([]byte(strings.ReplaceAll(string(m[1]), "&quot;", `"`)), &pm); err != nil {
			t.Fatalf("%s: %v: %s", tc.name, err, m[1])
		}
		if len(pm.Tables) < 2 {
			t.Errorf("%s: %d tables measured", tc.name, len(pm.Tables))
		}
		for _, tb := range pm.Tables {
			if tb.Scroll > tb.Client {
				t.Errorf("%s: the table %q is %d pixels wide in a %d-pixel column: it scrolls", tc.name, tb.Head, tb.Scroll, tb.Client)
			}
		}
		if pm.Body > pm.Client {
			t.Errorf("%s: the page is %d pixels wide, the column %d", tc.name, pm.Body, pm.Client)
		}
		if pm.Charts != tc.charts {
			t.Errorf("%s: %d Mermaid charts rendered, want %d", tc.name, pm.Charts, tc.charts)
		}
		if *screenshots && tc.name != "report-family" {
			out, _ := filepath.Abs(filepath.Join("..", "..", "docs", "screenshots", tc.name+".png"))
			os.MkdirAll(filepath.Dir(out), 0o755)
			// The folded parts closed again, as a reader first sees them.
			closed := strings.ReplaceAll(html, "<details open>", "<details>")
			shot := filepath.Join(dir, tc.name+"-closed.html")
			os.WriteFile(shot, []byte(closed), 0o644)
			chromium(t, bin, shot, fmt.Sprintf("--window-size=%d,%d", width, min(pm.Height, 6000)), "--screenshot="+out)
			t.Logf("wrote %s", out)
		}
	}
}
