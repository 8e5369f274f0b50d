-- Survey KPIs: crm.nps and crm.csat against hand-computed closed forms.
CREATE TABLE survey (id int, store text, nps_answer float8, csat_answer float8);
INSERT INTO survey VALUES
  (1, 'a', 10, 5), (2, 'a', 9, 4), (3, 'a', 9, 4), (4, 'a', 8, 3), (5, 'a', 7, 2),
  (6, 'b', 6, 5), (7, 'b', 0, 1), (8, 'b', 3, 4), (9, 'b', 10, NULL), (10, 'b', 5, NULL),
  (11, 'b', NULL, NULL);
-- 4 promoters (10, 9, 9, 10), 2 passives (8, 7), 4 detractors (6, 0, 3, 5) of 10:
-- NPS 0, interval 0 +- 100 * 1.959964 * sqrt((0.4 + 0.4 - 0) / 10) = +- 55.4362.
SELECT (r).responses, (r).promoters, (r).passives, (r).detractors, round((r).nps::numeric, 4) AS nps,
       round((r).ci_low::numeric, 4) AS ci_low, round((r).ci_high::numeric, 4) AS ci_high
FROM (SELECT crm.nps(nps_answer) r FROM survey) s;
-- The result's fields are named in to_jsonb, for applications and BI tools.
SELECT to_jsonb(crm.nps(nps_answer)) - 'ci_low' - 'ci_high' AS nps_json FROM survey;
-- At 90%: 0 - 100 * 1.644854 * sqrt(0.08) = -46.5235.
SELECT round(((crm.nps(nps_answer, 0.9)).ci_low)::numeric, 4) AS ci_low_90 FROM survey;
-- 5 of 8 answers are 4 or 5: CSAT 62.5, Wilson interval [30.5742, 86.3156].
SELECT (r).responses, (r).satisfied, round((r).csat::numeric, 4) AS csat,
       round((r).ci_low::numeric, 4) AS ci_low, round((r).ci_high::numeric, 4) AS ci_high
FROM (SELECT crm.csat(csat_answer) r FROM survey) s;
-- Per group, as a BI tool would ask; all promoters give 100 with a zero-width interval.
SELECT store, (crm.nps(nps_answer)).nps, (crm.csat(csat_answer)).csat FROM survey GROUP BY store ORDER BY store;
SELECT (r).nps, (r).ci_low, (r).ci_high FROM (SELECT crm.nps(x) r FROM (VALUES (9.0), (10.0), (9.0)) v(x)) s;
-- No rows (or only NULLs) give NULL; one answer gives a NULL interval.
SELECT crm.nps(nps_answer) IS NULL AS empty_is_null FROM survey WHERE false;
SELECT crm.csat(csat_answer) IS NULL AS only_nulls_is_null FROM survey WHERE csat_answer IS NULL;
SELECT (r).nps, (r).ci_low IS NULL AS no_interval FROM (SELECT crm.nps(x) r FROM (VALUES (10.0)) v(x)) s;
-- Bad answers and options are errors with SQLSTATEs.
SELECT sqlstate_of($$SELECT crm.nps(x) FROM (VALUES (11.0)) v(x)$$);
SELECT sqlstate_of($$SELECT crm.nps(x) FROM (VALUES (7.5)) v(x)$$);
SELECT sqlstate_of($$SELECT crm.nps(x) FROM (VALUES ('NaN'::float8)) v(x)$$);
SELECT sqlstate_of($$SELECT crm.csat(x) FROM (VALUES (0.0)) v(x)$$);
SELECT sqlstate_of($$SELECT crm.csat(x, 1.5) FROM (VALUES (4.0)) v(x)$$);
SELECT sqlstate_of($$SELECT crm.csat(x, NULL) FROM (VALUES (4.0)) v(x)$$);
SELECT sqlstate_of($$SELECT crm.nps(x, c) FROM (VALUES (4.0, 0.9), (5.0, 0.95)) v(x, c)$$);
-- Partial states per shard combine to the one-pass result; NPS and CSAT states do not mix.
SELECT (SELECT crm.nps_combine(p) FROM (SELECT crm.nps_partial(nps_answer) p FROM survey GROUP BY store) s)
       = (SELECT crm.nps(nps_answer) FROM survey) AS nps_shards_agree,
       (SELECT crm.csat_combine(p) FROM (SELECT crm.csat_partial(csat_answer, 0.8) p FROM survey GROUP BY store) s)
       = (SELECT crm.csat(csat_answer, 0.8) FROM survey) AS csat_shards_agree;
SELECT sqlstate_of($$SELECT crm.csat_combine(p) FROM (SELECT crm.nps_partial(nps_answer) p FROM survey) s$$);
SELECT sqlstate_of($$SELECT crm.nps_combine('\x0102'::bytea)$$);
-- Where the cluster grants workers, a parallel plan (combine, serial and deserial functions)
-- gives the same counts as plain SQL.
CREATE TABLE survey_big AS SELECT g AS id, (g * 7919) % 11 AS answer, (g * 7919) % 5 + 1 AS stars FROM generate_series(1, 20000) g;
ANALYZE survey_big;
SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT (r).responses, (r).promoters, (r).passives, (r).detractors, (c).satisfied
FROM (SELECT crm.nps(answer) r, crm.csat(stars) c FROM survey_big) s;
RESET ALL;
SELECT count(*) FILTER (WHERE answer >= 9) AS promoters, count(*) FILTER (WHERE answer <= 6) AS detractors,
       count(*) FILTER (WHERE stars >= 4) AS satisfied FROM survey_big;
DROP TABLE survey, survey_big;
