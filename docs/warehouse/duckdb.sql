-- batchsli export --format parquet --out EXPORT, read by DuckDB (docs/WAREHOUSE.md).
-- For the CSV export, read_csv('EXPORT/batch_runs/*/*/*.csv', hive_partitioning = true)
-- in place of read_parquet, and the same for failures.
-- The queries group by env, the report's default level (--by env); group by platform, job or
-- os for the others (platform is the family level when the records give it).

CREATE VIEW batch_runs AS
  SELECT * FROM read_parquet('EXPORT/batch_runs/*/*/*.parquet', hive_partitioning = true);
CREATE VIEW failures AS
  SELECT * FROM read_parquet('EXPORT/failures/*/*/*.parquet', hive_partitioning = true);
-- Each batch's counts per ecosystem and platform, with its infrastructure failures
-- (network_error, timeout), counted up to its failures. A batch is its batch_id and
-- timestamp: legacy records use one ID for several runs.
CREATE VIEW cells AS
  WITH runs AS (
    SELECT batch_id, timestamp, ecosystem, env,
           sum(tested) AS tested, sum(passed) AS passed, sum(failed) AS failed, sum(skipped) AS skipped
    FROM batch_runs GROUP BY ALL
  ), infra AS (
    SELECT batch_id, timestamp, ecosystem, env, count(*) AS infrastructure
    FROM failures WHERE category IN ('network_error', 'timeout') GROUP BY ALL
  )
  SELECT r.*, least(coalesce(i.infrastructure, 0), r.failed) AS infrastructure
  FROM runs r LEFT JOIN infra i USING (batch_id, timestamp, ecosystem, env);

-- name: platforms
-- Each platform's totals, as the report's platform table gives them, and its pass rate: passes
-- over the tests that were not the infrastructure's.
SELECT env AS platform,
       -- batches the platform took part in (tested or skipped recipes)
       count(DISTINCT (batch_id, timestamp)) FILTER (WHERE tested > 0 OR skipped > 0) AS batches,
       sum(tested) AS tested, sum(passed) AS passed, sum(failed) AS failed, sum(skipped) AS skipped,
       sum(infrastructure) AS infrastructure,
       sum(tested - infrastructure) AS n,
       sum(passed) / sum(tested - infrastructure) AS pass_rate
FROM cells
GROUP BY env
ORDER BY platform;

-- name: categories
-- Failures per platform and category, most frequent first.
SELECT env AS platform, category, count(*) AS count
FROM failures
GROUP BY ALL
ORDER BY platform, count DESC, category;

-- name: matrix
-- Pass rates per ecosystem and platform, as the report's matrix gives them.
SELECT ecosystem, env AS platform,
       sum(tested) AS tested, sum(passed) AS passed, sum(failed) AS failed,
       -- batches in the rate: a recipe result to count
       count(DISTINCT (batch_id, timestamp)) FILTER (WHERE tested - infrastructure > 0) AS batches,
       sum(tested - infrastructure) AS n,
       sum(passed) / sum(tested - infrastructure) AS pass_rate
FROM cells
GROUP BY ALL
HAVING sum(tested) > 0
ORDER BY ecosystem, platform;
