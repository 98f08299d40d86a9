-- batchsli export --format parquet --out EXPORT, read by ClickHouse 24.8 or later (docs/WAREHOUSE.md).
-- Not run by the tests: no ClickHouse recent enough to read Parquet installs here. The file()
-- table function reads under the server's user_files_path; use s3() or url() for object stores.
-- The queries are docs/warehouse/duckdb.sql's, in ClickHouse's dialect.

CREATE VIEW batch_runs AS
  SELECT * FROM file('EXPORT/batch_runs/*/*/*.parquet', Parquet)
  SETTINGS use_hive_partitioning = 1;
CREATE VIEW failures AS
  SELECT * FROM file('EXPORT/failures/*/*/*.parquet', Parquet)
  SETTINGS use_hive_partitioning = 1;
CREATE VIEW cells AS
  SELECT r.batch_id AS batch_id, r.timestamp AS timestamp, r.ecosystem AS ecosystem, r.env AS env,
         r.tested AS tested, r.passed AS passed, r.failed AS failed, r.skipped AS skipped,
         least(i.infrastructure, r.failed) AS infrastructure
  FROM (
    SELECT batch_id, timestamp, ecosystem, env,
           sum(tested) AS tested, sum(passed) AS passed, sum(failed) AS failed, sum(skipped) AS skipped
    FROM batch_runs GROUP BY batch_id, timestamp, ecosystem, env
  ) AS r
  LEFT JOIN (
    SELECT batch_id, timestamp, ecosystem, env, count() AS infrastructure
    FROM failures WHERE category IN ('network_error', 'timeout')
    GROUP BY batch_id, timestamp, ecosystem, env
  ) AS i USING (batch_id, timestamp, ecosystem, env);  -- unmatched rows get 0 (join_use_nulls = 0)

-- name: platforms
SELECT env AS platform,
       uniqExactIf((batch_id, timestamp), tested > 0 OR skipped > 0) AS batches,
       sum(tested) AS tested, sum(passed) AS passed, sum(failed) AS failed, sum(skipped) AS skipped,
       sum(infrastructure) AS infrastructure,
       sum(tested - infrastructure) AS n,
       sum(passed) / sum(tested - infrastructure) AS pass_rate
FROM cells
GROUP BY env
ORDER BY platform;

-- name: categories
SELECT env AS platform, category, count() AS count
FROM failures
GROUP BY env, category
ORDER BY platform, count DESC, category;

-- name: matrix
SELECT ecosystem, env AS platform,
       sum(tested) AS tested, sum(passed) AS passed, sum(failed) AS failed,
       uniqExactIf((batch_id, timestamp), tested - infrastructure > 0) AS batches,
       sum(tested - infrastructure) AS n,
       sum(passed) / sum(tested - infrastructure) AS pass_rate
FROM cells
GROUP BY ecosystem, env
HAVING sum(tested) > 0
ORDER BY ecosystem, platform;
