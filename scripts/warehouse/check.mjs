// Runs docs/warehouse/duckdb.sql over an export and prints each named
// query's rows as JSON: node check.mjs EXPORT_DIR parquet|csv
import { readFileSync } from 'node:fs';
import { DuckDBInstance } from '@duckdb/node-api';

const [dir, format] = process.argv.slice(2);
let sql = readFileSync(new URL('../../docs/warehouse/duckdb.sql', import.meta.url), 'utf8');
sql = sql.replaceAll("'EXPORT/", `'${dir.replaceAll("'", "''")}/`);
if (format === 'csv') {
  sql = sql.replaceAll(/read_parquet\('([^']*)\.parquet', hive_partitioning = true\)/g,
    "read_csv('$1.csv', hive_partitioning = true, header = true)");
}
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const out = {};
for (const chunk of sql.split(/^-- name: /m)) {
  const nl = chunk.indexOf('\n');
  const name = chunk.slice(0, nl).trim();
  if (!/^[a-z_]+$/.test(name)) {
    await con.run(chunk); // the views
    continue;
  }
  const reader = await con.runAndReadAll(chunk.slice(nl + 1));
  out[name] = reader.getRowObjectsJson();
}
process.stdout.write(JSON.stringify(out));
