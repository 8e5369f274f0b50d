-- Survey KPIs: crm.nps per store over 10M answers in 20 stores (#15's setting), against the plain SQL an
-- analyst writes (count(*) FILTER per answer band, the normal interval spelled out). Serial plans on both
-- sides, so the ratio is the aggregate's own cost. Target: within 1.2x of the plain SQL.

-- @setup
CREATE TABLE IF NOT EXISTS bench_survey AS
SELECT g % 20 AS store, (hashint4(g) & 2147483647) % 11 AS recommend, (hashint4(-g) & 2147483647) % 5 + 1 AS stars
FROM generate_series(1, 10000000) g;
VACUUM ANALYZE bench_survey;

-- @ours crm.nps per store
SET max_parallel_workers_per_gather = 0;
SELECT sum((n).nps) FROM (SELECT store, crm.nps(recommend) n FROM bench_survey GROUP BY store) s;

-- @baseline plain SQL NPS and normal interval per store
SET max_parallel_workers_per_gather = 0;
SELECT sum(nps) FROM (
  SELECT store, 100.0 * (p9 - p6) AS nps,
         100.0 * (p9 - p6) - 196.0 * sqrt((p9 + p6 - (p9 - p6) ^ 2) / n) AS ci_low,
         100.0 * (p9 - p6) + 196.0 * sqrt((p9 + p6 - (p9 - p6) ^ 2) / n) AS ci_high
  FROM (SELECT store, count(*)::float8 AS n,
               count(*) FILTER (WHERE recommend >= 9) / count(*)::float8 AS p9,
               count(*) FILTER (WHERE recommend <= 6) / count(*)::float8 AS p6
        FROM bench_survey WHERE recommend IS NOT NULL GROUP BY store) c) s;
