package radmd

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/medmd/medmd/bench/benchtest"
)

// duckdbModules finds a node_modules folder holding @duckdb/node-api: the
// repository's interop/ (installed by `make deps-npm`) or
// $MEDMD_NODE_MODULES.
func duckdbModules(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not on PATH: install Node.js (apt-get install nodejs), then `make deps-npm` (or .ci/run) to enable this DuckDB test")
	}
	for _, dir := range []string{os.Getenv("MEDMD_NODE_MODULES"), "../../interop/node_modules"} {
		if dir == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "@duckdb", "node-api")); err == nil {
			abs, _ := filepath.Abs(dir)
			return abs
		}
	}
	t.Skip("@duckdb/node-api not installed: run `make deps-npm` (npm ci into interop/node_modules; .ci/run does it) or set MEDMD_NODE_MODULES to a node_modules holding it, to enable this DuckDB test")
	return ""
}

// TestExclusionReportOpensInDuckDB reads exclusions.parquet with DuckDB
// and compares the rows with the run's summary.
func TestExclusionReportOpensInDuckDB(t *testing.T) {
	mods := duckdbModules(t)
	tmp := t.TempDir()
	in := writeMedMD(t, filepath.Join(tmp, "medmd"), benchtest.MedMD(3))
	out := filepath.Join(tmp, "radmd")
	res, err := Run(context.Background(), in, out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(tmp, "q.mjs")
	os.WriteFile(script, []byte(`
import { createRequire } from 'module';
const require = createRequire(process.env.MODS + '/');
const { DuckDBInstance } = require('@duckdb/node-api');
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const r = await c.runAndReadAll("select reason, count(*)::INTEGER as n, count(kept_id)::INTEGER as k from read_parquet('" + process.argv[2] + "') group by reason order by reason");
console.log(JSON.stringify(r.getRowObjects()));
`), 0o644)
	cmd := exec.Command("node", script, filepath.Join(out, ReportsDir, ExclusionsFile))
	cmd.Env = append(os.Environ(), "MODS="+mods)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("duckdb: %v\n%s", err, b)
	}
	var rows []struct {
		Reason string
		N, K   int
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if len(rows) != len(res.Summary.ByReason) {
		t.Fatalf("duckdb rows %+v, summary %v", rows, res.Summary.ByReason)
	}
	for _, r := range rows {
		if res.Summary.ByReason[r.Reason] != r.N {
			t.Errorf("%s: duckdb %d, summary %d", r.Reason, r.N, res.Summary.ByReason[r.Reason])
		}
		if (r.K > 0) != (r.Reason == "duplicate" || r.Reason == "near-duplicate") {
			t.Errorf("%s: %d rows with kept_id", r.Reason, r.K)
		}
	}
}
