package render

import (
	"encoding/json"
	"io"
)

// GrafanaSchemaVersion is the dashboard JSON model's schemaVersion the
// dashboard is written in (Grafana 11 and later read it).
const GrafanaSchemaVersion = 39

type gPanel struct {
	ID              int            `json:"id"`
	Type            string         `json:"type"`
	Title           string         `json:"title"`
	Description     string         `json:"description,omitempty"`
	GridPos         gGrid          `json:"gridPos"`
	Datasource      *gDatasource   `json:"datasource,omitempty"`
	Targets         []gTarget      `json:"targets,omitempty"`
	FieldConfig     gFieldConfig   `json:"fieldConfig"`
	Options         map[string]any `json:"options"`
	Transformations []gTransform   `json:"transformations,omitempty"`
}

type gGrid struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

type gDatasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type gTarget struct {
	RefID        string       `json:"refId"`
	Datasource   *gDatasource `json:"datasource"`
	Expr         string       `json:"expr"`
	LegendFormat string       `json:"legendFormat,omitempty"`
	Instant      bool         `json:"instant,omitempty"`
	Range        bool         `json:"range,omitempty"`
	Format       string       `json:"format,omitempty"`
}

type gFieldConfig struct {
	Defaults  map[string]any `json:"defaults"`
	Overrides []any          `json:"overrides"`
}

type gTransform struct {
	ID      string         `json:"id"`
	Options map[string]any `json:"options"`
}

// DashboardQueries are each panel's PromQL expressions, with Grafana's
// variables in them ($__range, $platform): what a test checks with
// promtool once they are substituted.
func DashboardQueries() []string {
	var qs []string
	for _, pn := range dashboardPanels() {
		for _, t := range pn.Targets {
			qs = append(qs, t.Expr)
		}
	}
	return qs
}

func dashboardPanels() []gPanel {
	ds := &gDatasource{Type: "prometheus", UID: "${datasource}"}
	target := func(ref, expr, legend string) gTarget {
		return gTarget{RefID: ref, Datasource: ds, Expr: expr, LegendFormat: legend, Range: true}
	}
	table := func(ref, expr string) gTarget {
		return gTarget{RefID: ref, Datasource: ds, Expr: expr, Instant: true, Format: "table"}
	}
	percent := gFieldConfig{Defaults: map[string]any{"unit": "percentunit", "min": 0, "max": 1, "decimals": 1}, Overrides: []any{}}
	plain := gFieldConfig{Defaults: map[string]any{}, Overrides: []any{}}
	legend := map[string]any{"legend": map[string]any{"displayMode": "table", "placement": "right", "showLegend": true, "calcs": []string{"lastNotNull"}},
		"tooltip": map[string]any{"mode": "multi", "sort": "desc"}}
	plat := `platform=~"$platform"`
	rangeSum := func(metric, by, sel string) string {
		return "sum by (" + by + ") (increase(" + metric + "{" + sel + "}[$__range]))"
	}
	panels := []gPanel{
		{Type: "timeseries", Title: "Pass rate by platform (last 7 days)",
			Description: "Recipe tests passed over the last 7 days, as the report's pass rate counts them (infrastructure failures, incident batches and flaky recipes' retried passes left out). The table beside it gives the tests and batches behind each rate.",
			GridPos:     gGrid{H: 9, W: 14, X: 0, Y: 0}, Datasource: ds,
			Targets:     []gTarget{target("A", "platform:batchsli_pass_rate:ratio7d{"+plat+"}", "{{platform}}")},
			FieldConfig: percent, Options: legend},
		{Type: "table", Title: "Platforms over the dashboard's range",
			Description: "Each platform's pass rate over the range with its tests (n) and batches (the times its test counter moved, once per ecosystem of a mixed batch): a rate over few tests or batches says little. batchsli report gives its interval.",
			GridPos:     gGrid{H: 9, W: 10, X: 14, Y: 0}, Datasource: ds,
			Targets: []gTarget{
				table("A", rangeSum("batchsli_pass_rate_passes_total", "platform", plat)+"\n/ "+rangeSum("batchsli_pass_rate_tests_total", "platform", plat)),
				table("B", rangeSum("batchsli_pass_rate_tests_total", "platform", plat)),
				table("C", "sum by (platform) (changes(batchsli_pass_rate_tests_total{"+plat+"}[$__range]))"),
			},
			FieldConfig: plain, Options: map[string]any{"showHeader": true, "cellHeight": "sm"},
			Transformations: []gTransform{
				{ID: "merge", Options: map[string]any{}},
				{ID: "organize", Options: map[string]any{"excludeByName": map[string]bool{"Time": true},
					"renameByName": map[string]string{"Value #A": "pass rate", "Value #B": "tests (n)", "Value #C": "batches"}}},
			}},
		{Type: "timeseries", Title: "Runner health: infrastructure failures (last 7 days)",
			Description: "The share of tests that failed for the infrastructure (network_error, timeout) over the last 7 days: the runners' health, not the recipes'.",
			GridPos:     gGrid{H: 8, W: 12, X: 0, Y: 9}, Datasource: ds,
			Targets:     []gTarget{target("A", "platform:batchsli_infrastructure_failure_ratio:ratio7d{"+plat+"}", "{{platform}}")},
			FieldConfig: percent, Options: legend},
		{Type: "timeseries", Title: "macOS budget: this week",
			Description: "macOS minutes used this budget week (batchsli check's calendar week), the budget, and the budget forecast of the week's total: its median and 90% prediction interval (docs/METHODS.md, \"macOS budget forecast\"; none while it is too early to project). The thresholds are the gate's sampling and pause points at their defaults (80% and 95%).",
			GridPos:     gGrid{H: 8, W: 12, X: 12, Y: 9}, Datasource: ds,
			Targets: []gTarget{
				target("A", "batchsli_macos_week_used_seconds / 60", "used this week"),
				target("B", "batchsli_macos_week_budget_seconds / 60", "weekly budget"),
				target("C", `batchsli_macos_week_projected_seconds{bound="median"} / 60`, "forecast: median"),
				target("D", `batchsli_macos_week_projected_seconds{bound="low"} / 60`, "forecast: 5%"),
				target("E", `batchsli_macos_week_projected_seconds{bound="high"} / 60`, "forecast: 95%"),
				target("F", ":batchsli_macos_runner_seconds:increase7d / 60", "used over the last 7 days"),
			},
			FieldConfig: gFieldConfig{Defaults: map[string]any{"unit": "m", "min": 0}, Overrides: []any{}},
			Options:     legend},
		{Type: "table", Title: "SLOs: the check's status and burn rates",
			Description: "Each SLO series' status as batchsli check gives it, with the burn rates of its windows (counted in batches) and the long windows' adjusted p-values: an alert needs both windows at the burn rate and the long window significant.",
			GridPos:     gGrid{H: 8, W: 24, X: 0, Y: 17}, Datasource: ds,
			Targets: []gTarget{
				table("A", `batchsli_slo_status{`+plat+`} == 1`),
				table("B", `batchsli_slo_window_burn_rate{window="breach_long",`+plat+`}`),
				table("C", `batchsli_slo_window_burn_rate{window="warn_long",`+plat+`}`),
				table("D", `batchsli_slo_window_p_adjusted{window="breach_long",`+plat+`}`),
				table("E", `batchsli_slo_window_tests{window="period",`+plat+`}`),
			},
			FieldConfig: plain, Options: map[string]any{"showHeader": true, "cellHeight": "sm"},
			Transformations: []gTransform{
				{ID: "merge", Options: map[string]any{}},
				{ID: "organize", Options: map[string]any{"excludeByName": map[string]bool{"Time": true, "Value #A": true, "__name__": true, "window": true},
					"renameByName": map[string]string{"Value #B": "burn (breach window)", "Value #C": "burn (warning window)", "Value #D": "adjusted p", "Value #E": "tests in the period"}}},
			}},
		{Type: "table", Title: "Matrix: pass rate by platform and ecosystem over the range",
			Description: "Pass rates per platform and ecosystem over the dashboard's range (as the report's matrix counts them). Hover a cell's platform in the table above for its tests.",
			GridPos:     gGrid{H: 9, W: 14, X: 0, Y: 25}, Datasource: ds,
			Targets: []gTarget{table("A", rangeSum("batchsli_pass_rate_passes_total", "platform, ecosystem", plat)+
				"\n/ "+rangeSum("batchsli_pass_rate_tests_total", "platform, ecosystem", plat))},
			FieldConfig: percent, Options: map[string]any{"showHeader": true, "cellHeight": "sm"},
			Transformations: []gTransform{{ID: "groupingToMatrix", Options: map[string]any{"columnField": "ecosystem", "rowField": "platform", "valueField": "Value"}}}},
		{Type: "table", Title: "Firing alerts",
			Description: "The SLO and budget alerts of batchsli rules that fire now; each alert's description gives its evidence.",
			GridPos:     gGrid{H: 9, W: 10, X: 14, Y: 25}, Datasource: ds,
			Targets:     []gTarget{table("A", `ALERTS{alertname=~"BatchsliSLO.*|BatchsliMacOS.*",alertstate="firing"}`)},
			FieldConfig: plain, Options: map[string]any{"showHeader": true, "cellHeight": "sm"},
			Transformations: []gTransform{{ID: "organize", Options: map[string]any{"excludeByName": map[string]bool{"Time": true, "Value": true, "__name__": true}}}}},
		{Type: "stat", Title: "Batches over the range",
			Description: "Batches recorded over the dashboard's range, by ecosystem.",
			GridPos:     gGrid{H: 5, W: 24, X: 0, Y: 34}, Datasource: ds,
			Targets:     []gTarget{{RefID: "A", Datasource: ds, Expr: "sum by (ecosystem) (increase(batchsli_batches_total[$__range]))", LegendFormat: "{{ecosystem}}", Instant: true}},
			FieldConfig: gFieldConfig{Defaults: map[string]any{"decimals": 0}, Overrides: []any{}},
			Options:     map[string]any{"reduceOptions": map[string]any{"calcs": []string{"lastNotNull"}, "fields": "", "values": false}, "textMode": "value_and_name"}},
	}
	for i := range panels {
		panels[i].ID = i + 1
	}
	return panels
}

// GrafanaDashboard writes the dashboard's JSON model: per-platform pass
// rates with their tests and batches, runner health, the matrix, the
// macOS budget burn and the firing alerts, on the recording rules of
// PrometheusRules.
func GrafanaDashboard(w io.Writer) error {
	d := map[string]any{
		"uid":                  "batchsli",
		"title":                "batchsli: per-platform SLIs",
		"description":          "Generated by batchsli rules --format grafana; it reads the series of batchsli export --format prometheus and the recording rules of batchsli rules.",
		"tags":                 []string{"batchsli"},
		"schemaVersion":        GrafanaSchemaVersion,
		"version":              1,
		"editable":             true,
		"graphTooltip":         1,
		"time":                 map[string]string{"from": "now-30d", "to": "now"},
		"timezone":             "utc",
		"refresh":              "5m",
		"fiscalYearStartMonth": 0,
		"liveNow":              false,
		"links":                []any{},
		"annotations": map[string]any{"list": []any{map[string]any{
			"builtIn": 1, "datasource": map[string]string{"type": "grafana", "uid": "-- Grafana --"},
			"enable": true, "hide": true, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}}},
		"templating": map[string]any{"list": []any{
			map[string]any{"name": "datasource", "label": "Prometheus", "type": "datasource", "query": "prometheus",
				"hide": 0, "refresh": 1, "regex": "", "skipUrlSync": false, "options": []any{}},
			map[string]any{"name": "platform", "label": "Platform", "type": "query",
				"datasource": map[string]string{"type": "prometheus", "uid": "${datasource}"},
				"query":      map[string]any{"query": "label_values(batchsli_recipe_tests_total, platform)", "refId": "platform"},
				"multi":      true, "includeAll": true, "allValue": ".*", "current": map[string]any{"text": "All", "value": "$__all"}, "hide": 0, "refresh": 2,
				"regex": "", "skipUrlSync": false, "sort": 1, "options": []any{}},
		}},
		"panels": dashboardPanels(),
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}
