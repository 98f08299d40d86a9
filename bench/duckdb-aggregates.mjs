// The three aggregates of `batchsli report` done by DuckDB over the same
// files: platform totals, platform x category counts, ecosystem x platform
// totals. Usage: node duckdb-aggregates.mjs DATA_DIR
import { DuckDBInstance } from '@duckdb/node-api';

const dir = process.argv[2];
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const metrics = `read_json_objects('${dir}/metrics/batch-runs*.jsonl', format='newline_delimited')`;
const queries = {
  platforms: `SELECT p.key AS platform, sum((p.value->>'tested')::BIGINT) AS tested,
                sum((p.value->>'passed')::BIGINT) AS passed, sum((p.value->>'failed')::BIGINT) AS failed
              FROM ${metrics} m, json_each(m.json->'platforms') p GROUP BY 1 ORDER BY 1`,
  categories: `SELECT environment AS platform, category, count(*) AS count
               FROM read_json('${dir}/failures/*.jsonl', format='newline_delimited',
                              columns={environment: 'VARCHAR', category: 'VARCHAR'})
               GROUP BY 1, 2 ORDER BY 1, 2`,
  matrix: `SELECT m.json->>'ecosystem' AS ecosystem, p.key AS platform, sum((p.value->>'tested')::BIGINT) AS tested,
             sum((p.value->>'passed')::BIGINT) AS passed, sum((p.value->>'failed')::BIGINT) AS failed
           FROM ${metrics} m, json_each(m.json->'platforms') p GROUP BY 1, 2 ORDER BY 1, 2`,
};
const out = {};
for (const [name, sql] of Object.entries(queries)) {
  const reader = await con.runAndReadAll(sql);
  out[name] = reader.getRowObjectsJson();
}
console.log(JSON.stringify(out));
