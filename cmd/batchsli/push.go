package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/batchsli/batchsli/model"
)

// pushTimeout bounds each push to a Pushgateway.
const pushTimeout = 10 * time.Second

// pushBatch pushes a recorded batch's figures to a Pushgateway at base
// (http://host:port), one group per ecosystem and platform
// (/metrics/job/batchsli/ecosystem/E/platform/P, values base64-encoded so
// any name is safe in a path), replacing what the group held: the
// batch's counts as gauges, and its time. It returns the first error;
// the batch is recorded either way.
func pushBatch(ctx context.Context, base string, run *model.BatchRun) error {
	type group struct{ eco, plat string }
	counts := map[group]model.Counts{}
	if len(run.ByEcosystem) > 0 {
		for eco, m := range run.ByEcosystem {
			for plat, c := range m {
				counts[group{eco, plat}] = c
			}
		}
	} else {
		for plat, c := range run.Platforms {
			counts[group{run.Ecosystem, plat}] = c
		}
	}
	groups := slices.SortedFunc(maps.Keys(counts), func(a, b group) int {
		return cmp.Or(strings.Compare(a.eco, b.eco), strings.Compare(a.plat, b.plat))
	})
	client := &http.Client{Timeout: pushTimeout}
	b64 := base64.RawURLEncoding.EncodeToString
	for _, g := range groups {
		c := counts[g]
		var body bytes.Buffer
		gauge := func(name, help string, v float64) {
			fmt.Fprintf(&body, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", name, help, name, name, strconv.FormatFloat(v, 'f', -1, 64))
		}
		gauge("batchsli_batch_recipe_tests", "The last batch's recipe tests on the platform.", float64(c.Tested))
		gauge("batchsli_batch_recipe_passes", "The last batch's passes on the platform.", float64(c.Passed))
		gauge("batchsli_batch_recipe_failures", "The last batch's failures on the platform.", float64(c.Failed))
		gauge("batchsli_batch_recipe_skips", "The last batch's skipped recipes on the platform.", float64(c.Skipped))
		if c.Infrastructure != nil {
			gauge("batchsli_batch_infrastructure_failures", "The last batch's infrastructure failures on the platform.", float64(*c.Infrastructure))
		}
		gauge("batchsli_batch_timestamp_seconds", "When the last batch finished (Unix time).", float64(run.Timestamp.Unix()))
		url := strings.TrimRight(base, "/") + "/metrics/job/batchsli/ecosystem@base64/" + b64([]byte(g.eco)) + "/platform@base64/" + b64([]byte(g.plat))
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, &body)
		if err != nil {
			return fmt.Errorf("pushgateway: %w", err)
		}
		req.Header.Set("Content-Type", "text/plain; version=0.0.4")
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("pushgateway: %w", err)
		}
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("pushgateway: %s answered %s: %s", redacted(base), resp.Status, strings.TrimSpace(string(msg)))
		}
	}
	return nil
}

// redacted is a URL with its password, if any, written as xxxxx: what
// is printed never holds a credential.
func redacted(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(the --pushgateway URL)"
	}
	return u.Redacted()
}
