//go:build unix

package main

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// cdp is a Chrome DevTools Protocol session with headless Chromium over
// --remote-debugging-pipe (file descriptors 3 and 4, messages ended by a
// NUL byte): the standard library is enough.
type cdp struct {
	t       *testing.T
	cmd     *exec.Cmd
	w       *os.File
	mu      sync.Mutex
	next    int
	waiting map[int]chan json.RawMessage
	errs    map[int]string
	session string
	events  chan cdpEvent
	// dropped counts the events the buffer had no room for: the test
	// fails rather than miss one.
	dropped atomic.Int64
}

type cdpEvent struct {
	Method string
	Params json.RawMessage
}

func startCDP(t *testing.T, bin string) *cdp {
	t.Helper()
	toChrome, ourEnd, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	fromChrome, chromeEnd, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--remote-debugging-pipe", "--user-data-dir="+t.TempDir(), "about:blank")
	cmd.ExtraFiles = []*os.File{toChrome, chromeEnd}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	toChrome.Close()
	chromeEnd.Close()
	c := &cdp{t: t, cmd: cmd, w: ourEnd, waiting: map[int]chan json.RawMessage{}, errs: map[int]string{}, events: make(chan cdpEvent, 4096)}
	go func() {
		r := bufio.NewReader(fromChrome)
		for {
			msg, err := r.ReadBytes(0)
			if err != nil {
				close(c.events)
				return
			}
			var m struct {
				ID     int             `json:"id"`
				Method string          `json:"method"`
				Params json.RawMessage `json:"params"`
				Result json.RawMessage `json:"result"`
				Error  *struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			if json.Unmarshal(msg[:len(msg)-1], &m) != nil {
				continue
			}
			if m.ID != 0 {
				c.mu.Lock()
				ch := c.waiting[m.ID]
				if m.Error != nil {
					c.errs[m.ID] = m.Error.Message
				}
				c.mu.Unlock()
				if ch != nil {
					ch <- m.Result
				}
				continue
			}
			select {
			case c.events <- cdpEvent{m.Method, m.Params}:
			default:
				c.dropped.Add(1)
			}
		}
	}()
	t.Cleanup(func() {
		ourEnd.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return c
}

// call sends a command (to the page's session once attached) and waits
// for its result.
func (c *cdp) call(method string, params any, out any) {
	c.t.Helper()
	c.mu.Lock()
	c.next++
	id := c.next
	ch := make(chan json.RawMessage, 1)
	c.waiting[id] = ch
	c.mu.Unlock()
	msg := map[string]any{"id": id, "method": method, "params": params}
	if c.session != "" && !strings.HasPrefix(method, "Target.") {
		msg["sessionId"] = c.session
	}
	b, _ := json.Marshal(msg)
	if _, err := c.w.Write(append(b, 0)); err != nil {
		c.t.Fatalf("%s: %v", method, err)
	}
	select {
	case res := <-ch:
		c.mu.Lock()
		e := c.errs[id]
		c.mu.Unlock()
		if e != "" {
			c.t.Fatalf("%s: %s", method, e)
		}
		if out != nil {
			if err := json.Unmarshal(res, out); err != nil {
				c.t.Fatalf("%s: %v", method, err)
			}
		}
	case <-time.After(60 * time.Second):
		c.t.Fatalf("%s: no answer", method)
	}
}

// eval evaluates a script in the page and decodes its JSON value.
func (c *cdp) eval(expr string, out any) {
	c.t.Helper()
	var res struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		Exception *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	c.call("Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true, "awaitPromise": true}, &res)
	if res.Exception != nil {
		c.t.Fatalf("script: %s", res.Exception.Text)
	}
	if out != nil {
		if err := json.Unmarshal(res.Result.Value, out); err != nil {
			c.t.Fatalf("script value %s: %v", res.Result.Value, err)
		}
	}
}

var siteScreenshots = flag.Bool("site-screenshots", false, "write the site's screenshots to docs/screenshots")

// TestSiteInChromium loads one page of each kind of the sample's site, and
// of the XSS corpus's, in headless Chromium at 1280 and 390 pixels wide,
// through the DevTools protocol: no console message or error, no dialog,
// no request outside the site, nothing wider than the window but inside a
// scrolling table region, and no serious or critical axe-core violation.
// With -site-screenshots it writes the 1280 and 390 pixel overviews to
// docs/screenshots.
func TestSiteInChromium(t *testing.T) {
	bin, err := exec.LookPath("chromium")
	axe, _ := filepath.Abs("../../scripts/site-check/node_modules/axe-core/axe.min.js")
	axeSrc, axeErr := os.ReadFile(axe)
	if err != nil || axeErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium or scripts/site-check's packages are missing (.ci/run installs them)")
		}
		t.Skip("chromium or scripts/site-check's packages are missing")
	}
	sample := siteOf(t, "--demo")
	hostile := siteOf(t, "--data", xssData(t), "--now", "2026-03-10T00:00:00Z")
	dirs := []string{sample, hostile}
	if _, err := os.Stat(tsukuData); err == nil {
		dirs = append(dirs, siteOf(t, "--data", tsukuData, "--now", "2026-05-01T00:00:00Z"))
	}
	var pages []string
	for _, dir := range dirs {
		seen := map[string]bool{}
		for _, p := range sitePages(t, dir) {
			kind := strings.TrimRight(strings.SplitN(p, "/", 2)[0], "-0123456789.html")
			if !seen[kind] {
				seen[kind] = true
				pages = append(pages, filepath.Join(dir, p))
			}
		}
	}
	c := startCDP(t, bin)
	var target struct{ TargetID string }
	c.call("Target.createTarget", map[string]any{"url": "about:blank"}, &target)
	var att struct{ SessionID string }
	c.call("Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &att)
	c.session = att.SessionID
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable", "Network.enable"} {
		c.call(m, map[string]any{}, nil)
	}
	for _, page := range pages {
		root := filepath.Dir(page)
		for filepath.Base(root) != "site" {
			root = filepath.Dir(root)
		}
		for _, width := range []int{1280, 390} {
			name := fmt.Sprintf("%s at %d px", strings.TrimPrefix(page, filepath.Dir(root)+"/"), width)
			c.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 500}, nil)
			// Drain what the last page left.
			for len(c.events) > 0 {
				<-c.events
			}
			c.call("Page.navigate", map[string]any{"url": "file://" + page}, nil)
			loaded := false
			deadline := time.After(30 * time.Second)
			for !loaded {
				select {
				case ev := <-c.events:
					loaded = checkEvent(t, name, root, ev)
				case <-deadline:
					t.Fatalf("%s: did not load", name)
				}
			}
			time.Sleep(100 * time.Millisecond)
			for len(c.events) > 0 {
				checkEvent(t, name, root, <-c.events)
			}
			if n := c.dropped.Load(); n > 0 {
				t.Fatalf("%s: %d DevTools events dropped", name, n)
			}
			var over []string
			c.eval(`(() => {
				const w = document.documentElement.clientWidth, out = [];
				if (document.documentElement.scrollWidth > w) out.push("the page: " + document.documentElement.scrollWidth + " > " + w);
				for (const e of document.querySelectorAll("body *")) {
					if (e.closest(".scroll") || e.closest("details:not([open])")) continue;
					const r = e.getBoundingClientRect();
					if (r.width > 0 && r.right > w + 0.5) out.push(e.tagName + "." + e.className + ": right " + Math.round(r.right) + " > " + w);
				}
				return out.slice(0, 10);
			})()`, &over)
			for _, o := range over {
				t.Errorf("%s: overflows: %s", name, o)
			}
			if width == 1280 {
				c.eval(string(axeSrc)+";true", nil)
				var viol []struct {
					ID, Impact, Help string
					Nodes            int
				}
				c.eval(`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length})))`, &viol)
				for _, v := range viol {
					if v.Impact == "serious" || v.Impact == "critical" {
						t.Errorf("%s: axe %s (%s, %d nodes): %s", name, v.ID, v.Impact, v.Nodes, v.Help)
					} else {
						t.Logf("%s: axe %s (%s, %d nodes): %s", name, v.ID, v.Impact, v.Nodes, v.Help)
					}
				}
			}
			if *siteScreenshots && root == sample && filepath.Base(page) == "index.html" {
				var h float64
				c.eval(`document.documentElement.scrollHeight`, &h)
				c.call("Emulation.setDeviceMetricsOverride", map[string]any{"width": width, "height": int(min(h, 5000)), "deviceScaleFactor": 1, "mobile": width < 500}, nil)
				var shot struct{ Data string }
				c.call("Page.captureScreenshot", map[string]any{"format": "png"}, &shot)
				png, _ := base64.StdEncoding.DecodeString(shot.Data)
				out, _ := filepath.Abs(filepath.Join("..", "..", "docs", "screenshots", fmt.Sprintf("site-%d.png", width)))
				os.MkdirAll(filepath.Dir(out), 0o755)
				if err := os.WriteFile(out, png, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s", out)
			}
		}
	}
}

// checkEvent fails the test on a console message, an exception, a dialog,
// a log error or a request outside root; it reports the page's load.
func checkEvent(t *testing.T, name, root string, ev cdpEvent) bool {
	t.Helper()
	switch ev.Method {
	case "Page.loadEventFired":
		return true
	case "Runtime.consoleAPICalled", "Runtime.exceptionThrown", "Page.javascriptDialogOpening":
		t.Errorf("%s: %s %s", name, ev.Method, ev.Params)
	case "Log.entryAdded":
		var e struct {
			Entry struct{ Level, Text, URL string }
		}
		json.Unmarshal(ev.Params, &e)
		if e.Entry.Level == "error" || e.Entry.Level == "warning" {
			t.Errorf("%s: %s: %s %s", name, e.Entry.Level, e.Entry.Text, e.Entry.URL)
		}
	case "Network.requestWillBeSent":
		var r struct {
			Request struct{ URL string }
		}
		json.Unmarshal(ev.Params, &r)
		if !strings.HasPrefix(r.Request.URL, "file://"+root+"/") {
			t.Errorf("%s: a request outside the site: %s", name, r.Request.URL)
		}
	case "Network.loadingFailed":
		t.Errorf("%s: a request failed: %s", name, ev.Params)
	}
	return false
}
