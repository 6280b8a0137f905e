package metrics_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.yaml.in/yaml/v3"

	"github.com/ccbackend/ccbackend/internal/llm/llmtest"
	"github.com/ccbackend/ccbackend/internal/testutil"
)

const deployDir = "../../deploy"

// promtool finds the binary scripts/ensure-tools.sh installs (Debian package prometheus).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is missing: run scripts/ensure-tools.sh (installs the Debian package prometheus)")
	}
	return p
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
}

func glob(t *testing.T, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(deployDir, pattern))
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s (%v)", pattern, err)
	}
	return files
}

// TestPrometheusRules checks the rule files and runs their unit tests (each alert fires when it
// should and stays quiet when it should not), offline.
func TestPrometheusRules(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	run(t, bin, append([]string{"check", "rules"}, glob(t, "prometheus/rules/*.yml")...)...)
	run(t, bin, append([]string{"test", "rules"}, glob(t, "prometheus/tests/*.yml")...)...)
}

// grafanaVariables are the dashboard's Grafana placeholders with a value Prometheus accepts.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "1m", "$__interval", "1m", "$__range", "1h")

// dashboardQueries returns every panel query of the dashboards, placeholders substituted.
func dashboardQueries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, file := range glob(t, "grafana/dashboards/*.json") {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var d struct {
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					RefID string `json:"refId"`
					Expr  string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, p := range d.Panels {
			if len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", file, p.Title)
			}
			for _, q := range p.Targets {
				out[fmt.Sprintf("%s: %s/%s", filepath.Base(file), p.Title, q.RefID)] = grafanaVariables.Replace(q.Expr)
			}
		}
	}
	return out
}

// TestDashboardQueriesCompile compiles every panel query as a recording rule with promtool.
func TestDashboardQueriesCompile(t *testing.T) {
	t.Parallel()
	bin := promtool(t)
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for _, expr := range dashboardQueries(t) {
		rules = append(rules, rule{Record: fmt.Sprintf("dashboard:query_%d", len(rules)), Expr: expr})
	}
	raw, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, bin, "check", "rules", file)
}

// ruleExpressions are the expressions and recorded names of the rule files.
func ruleExpressions(t *testing.T) (exprs map[string]string, recorded map[string]bool) {
	t.Helper()
	exprs, recorded = map[string]string{}, map[string]bool{}
	for _, file := range glob(t, "prometheus/rules/*.yml") {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var f struct {
			Groups []struct {
				Rules []struct {
					Record string `yaml:"record"`
					Alert  string `yaml:"alert"`
					Expr   string `yaml:"expr"`
				} `yaml:"rules"`
			} `yaml:"groups"`
		}
		if err := yaml.Unmarshal(raw, &f); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, g := range f.Groups {
			for _, r := range g.Rules {
				exprs[filepath.Base(file)+": "+r.Record+r.Alert] = r.Expr
				if r.Record != "" {
					recorded[r.Record] = true
				}
			}
		}
	}
	return exprs, recorded
}

var (
	quoted     = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	matchers   = regexp.MustCompile(`\{[^}]*\}`)
	grouping   = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	durations  = regexp.MustCompile(`\[[^\]]*\]|\boffset\s+\w+`)
	identifier = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	// promqlWords are PromQL functions, aggregations and keywords (not metric names).
	promqlWords = map[string]bool{"sum": true, "min": true, "max": true, "avg": true, "count": true, "rate": true,
		"irate": true, "increase": true, "histogram_quantile": true, "and": true, "or": true, "unless": true,
		"abs": true, "absent": true, "clamp_min": true, "topk": true, "bottomk": true, "delta": true, "deriv": true,
		"sum_over_time": true, "avg_over_time": true, "max_over_time": true, "min_over_time": true, "bool": true,
		"time": true, "vector": true, "scalar": true, "label_replace": true, "e": true, "Inf": true, "NaN": true}
)

// metricNames are the series names an expression selects.
func metricNames(expr string) []string {
	s := quoted.ReplaceAllString(expr, " ")
	s = matchers.ReplaceAllString(s, " ")
	s = grouping.ReplaceAllString(s, " ")
	s = durations.ReplaceAllString(s, " ")
	var out []string
	for _, id := range identifier.FindAllString(s, -1) {
		if !promqlWords[id] {
			out = append(out, id)
		}
	}
	return out
}

// TestRulesAndDashboardUseExportedMetrics exercises a server (a chat with every token kind, an
// upstream failure retried, a rate-limit refusal) and scrapes its /metrics: every metric the
// rules and the dashboard name must be among what the service exports, and every recorded name
// they use must be recorded by a rule.
func TestRulesAndDashboardUseExportedMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *testutil.Config) { c.RateLimitDefault = testutil.RatePolicy{Limit: 4, Period: time.Hour} })
	e.fake.Enqueue(llmtest.Overloaded529(),
		llmtest.NewScript("msg_d1", model, llmtest.Usage{Input: 5, CacheRead: 2, CacheWrite: 1}).Text("ok").Stop("end_turn", "", 3))
	if resp, body := e.s.Do(t, http.MethodPost, "/v1/chat/completions", chatBody(false), e.user.Bearer()); resp.StatusCode != http.StatusOK {
		t.Fatalf("chat: %d %s", resp.StatusCode, body)
	}
	for i := 0; ; i++ {
		resp, _ := e.s.Do(t, http.MethodGet, "/v1/models", nil, e.user.Bearer())
		if resp.StatusCode == http.StatusTooManyRequests {
			break
		}
		if i > 10 {
			t.Fatal("no 429 from the default rate limit")
		}
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(e.s.App.Registry, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	exported := map[string]bool{"up": true} // up is Prometheus' own, per scrape target
	sc := bufio.NewScanner(rec.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			exported[identifier.FindString(line)] = true
		}
	}
	exprs, recorded := ruleExpressions(t)
	for where, q := range dashboardQueries(t) {
		exprs[where] = q
	}
	var missing []string
	for where, expr := range exprs {
		for _, name := range metricNames(expr) {
			switch {
			case strings.Contains(name, ":") && !recorded[name]:
				missing = append(missing, fmt.Sprintf("%s: %s is recorded by no rule", where, name))
			case !strings.Contains(name, ":") && !exported[name]:
				missing = append(missing, fmt.Sprintf("%s: %s is not exported by the service", where, name))
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Error(m)
	}
}
