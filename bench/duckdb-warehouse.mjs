// The warehouse export done by DuckDB over the same files: batch runs
// (one row per batch x platform, the batch's ecosystem) and failures (one
// row per record) copied to Parquet, Hive-partitioned by ecosystem and
// month, zstd-compressed. The baseline for `batchsli export --format
// parquet` (bench/README.md). It does not check commits, copies or mixed
// batches, which batchsli does. Usage: node duckdb-warehouse.mjs DATA_DIR OUT_DIR
import { DuckDBInstance } from '@duckdb/node-api';
const [dir, out] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await import('node:fs').then((fs) => fs.mkdirSync(out, { recursive: true }));
const metrics = `read_json('${dir}/metrics/batch-runs*.jsonl', format='newline_delimited',
  columns={batch_id: 'VARCHAR', ecosystem: 'VARCHAR', timestamp: 'TIMESTAMPTZ',
           platforms: 'MAP(VARCHAR, STRUCT(tested BIGINT, passed BIGINT, failed BIGINT, skipped BIGINT))'})`;
await con.run(`COPY (
  SELECT batch_id, timestamp, platform, c.tested AS tested, c.passed AS passed, c.failed AS failed,
         c.skipped AS skipped, ecosystem, strftime(timestamp AT TIME ZONE 'UTC', '%Y-%m') AS month
  FROM (SELECT batch_id, timestamp, ecosystem, unnest(map_keys(platforms)) AS platform,
               unnest(map_values(platforms)) AS c FROM ${metrics})
) TO '${out}/batch_runs' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (ecosystem, month))`);
await con.run(`COPY (
  SELECT f.batch_id, b.timestamp, f.environment AS platform, f.package_id, f.category, f.ecosystem,
         strftime(b.timestamp AT TIME ZONE 'UTC', '%Y-%m') AS month
  FROM read_json('${dir}/failures/*.jsonl', format='newline_delimited',
                 columns={batch_id: 'VARCHAR', ecosystem: 'VARCHAR', environment: 'VARCHAR',
                          package_id: 'VARCHAR', category: 'VARCHAR'}) AS f
  JOIN (SELECT batch_id, timestamp FROM ${metrics}) AS b USING (batch_id)
) TO '${out}/failures' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (ecosystem, month))`);
