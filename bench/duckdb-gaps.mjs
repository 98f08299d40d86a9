// The report's capability-gap analysis done by DuckDB over the failure
// records: per platform, the recipes whose every failure there has one
// category ("cat:"), or one blocker in common ("dep:"), and the failing
// recipes ("failing"). Usage: node duckdb-gaps.mjs DATA_DIR
import { DuckDBInstance } from '@duckdb/node-api';
const dir = process.argv[2];
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const sql = `
WITH f AS (
  SELECT environment, package_id, category, coalesce(blocked_by, []) AS deps
  FROM read_json('${dir}/failures/*.jsonl', format='newline_delimited',
    columns={environment: 'VARCHAR', package_id: 'VARCHAR', category: 'VARCHAR', blocked_by: 'VARCHAR[]'})),
pairs AS (
  SELECT environment, package_id, count(*) AS n, min(category) AS cat, count(DISTINCT category) AS cats
  FROM f GROUP BY 1, 2),
deps AS (
  SELECT environment, package_id, dep, count(*) AS k
  FROM (SELECT environment, package_id, unnest(list_distinct(deps)) AS dep FROM f) GROUP BY 1, 2, 3)
SELECT environment AS platform, 'cat:' || cat AS cause, count(*) AS recipes FROM pairs WHERE cats = 1 GROUP BY 1, 2
UNION ALL
SELECT d.environment, 'dep:' || d.dep, count(*) FROM deps d JOIN pairs p USING (environment, package_id) WHERE d.k = p.n GROUP BY 1, 2
UNION ALL
SELECT environment, 'failing', count(*) FROM pairs GROUP BY 1`;
const reader = await con.runAndReadAll(sql);
console.log(JSON.stringify(reader.getRowObjectsJson()));
