-- batchsli export --format parquet --out EXPORT, copied to gs://BUCKET/EXPORT (gsutil -m cp -r),
-- read by BigQuery as external tables with Hive partitioning (docs/WAREHOUSE.md).
-- Not run by the tests: BigQuery is a service. The queries are docs/warehouse/duckdb.sql's, in
-- GoogleSQL. DATASET is yours.

CREATE OR REPLACE EXTERNAL TABLE DATASET.batch_runs
  WITH PARTITION COLUMNS (ecosystem STRING, month STRING)
  OPTIONS (format = 'PARQUET', uris = ['gs://BUCKET/EXPORT/batch_runs/*'],
           hive_partition_uri_prefix = 'gs://BUCKET/EXPORT/batch_runs');
CREATE OR REPLACE EXTERNAL TABLE DATASET.failures
  WITH PARTITION COLUMNS (ecosystem STRING, month STRING)
  OPTIONS (format = 'PARQUET', uris = ['gs://BUCKET/EXPORT/failures/*'],
           hive_partition_uri_prefix = 'gs://BUCKET/EXPORT/failures');
CREATE OR REPLACE VIEW DATASET.cells AS
  WITH runs AS (
    SELECT batch_id, timestamp, ecosystem, env,
           SUM(tested) AS tested, SUM(passed) AS passed, SUM(failed) AS failed, SUM(skipped) AS skipped
    FROM DATASET.batch_runs GROUP BY batch_id, timestamp, ecosystem, env
  ), infra AS (
    SELECT batch_id, timestamp, ecosystem, env, COUNT(*) AS infrastructure
    FROM DATASET.failures WHERE category IN ('network_error', 'timeout')
    GROUP BY batch_id, timestamp, ecosystem, env
  )
  SELECT r.*, LEAST(IFNULL(i.infrastructure, 0), r.failed) AS infrastructure
  FROM runs AS r LEFT JOIN infra AS i USING (batch_id, timestamp, ecosystem, env);

-- name: platforms
SELECT env AS platform,
       COUNT(DISTINCT IF(tested > 0 OR skipped > 0, CONCAT(batch_id, '@', CAST(timestamp AS STRING)), NULL)) AS batches,
       SUM(tested) AS tested, SUM(passed) AS passed, SUM(failed) AS failed, SUM(skipped) AS skipped,
       SUM(infrastructure) AS infrastructure,
       SUM(tested - infrastructure) AS n,
       SAFE_DIVIDE(SUM(passed), SUM(tested - infrastructure)) AS pass_rate
FROM DATASET.cells
GROUP BY env
ORDER BY platform;

-- name: categories
SELECT env AS platform, category, COUNT(*) AS count
FROM DATASET.failures
GROUP BY env, category
ORDER BY platform, count DESC, category;

-- name: matrix
SELECT ecosystem, env AS platform,
       SUM(tested) AS tested, SUM(passed) AS passed, SUM(failed) AS failed,
       COUNT(DISTINCT IF(tested - infrastructure > 0, CONCAT(batch_id, '@', CAST(timestamp AS STRING)), NULL)) AS batches,
       SUM(tested - infrastructure) AS n,
       SAFE_DIVIDE(SUM(passed), SUM(tested - infrastructure)) AS pass_rate
FROM DATASET.cells
GROUP BY ecosystem, env
HAVING SUM(tested) > 0
ORDER BY ecosystem, platform;
