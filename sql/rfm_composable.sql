-- The two-step form: crm.rfm_thresholds (aggregate) and crm.rfm_score.
\set VERBOSITY terse
SET TimeZone = 'UTC';

CREATE TABLE summary (customer_id int, recency_days float8, frequency float8, monetary float8);
INSERT INTO summary SELECT i, (i * 37) % 365, 1 + (i * 7) % 12, ((i * 53) % 1000) / 10.0 FROM generate_series(1, 1000) i;

-- Cut points equal percentile_cont (type 7) at 0.2 .. 0.8.
SELECT (t).bins, (t).customers,
       (t).recency_cuts = ref.r AS recency_ok, (t).frequency_cuts = ref.f AS frequency_ok,
       (t).monetary_cuts = ref.m AS monetary_ok
FROM (SELECT crm.rfm_thresholds(recency_days, frequency, monetary) AS t FROM summary) a,
     (SELECT percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY recency_days) AS r,
             percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY frequency) AS f,
             percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY monetary) AS m FROM summary) ref;

-- Thresholds are a stored value: keep them, score new customers later.
CREATE TABLE rfm_model AS
SELECT 'spring' AS name, crm.rfm_thresholds(recency_days, frequency, monetary, 4) AS thresholds FROM summary;
SELECT name, (thresholds).bins, (thresholds).frequency_cuts FROM rfm_model;

SELECT s.* FROM rfm_model m CROSS JOIN LATERAL crm.rfm_score(m.thresholds, 3, 12, 99.9) s;
SELECT s.* FROM rfm_model m CROSS JOIN LATERAL crm.rfm_score(m.thresholds, 364, 1, 0) s;
-- Scores of the whole table agree with the one-call scorer's rule (right-closed, recency reversed).
SELECT count(*) FILTER (WHERE s.f_score <> 1 + (SELECT count(*) FROM unnest((m.thresholds).frequency_cuts) c
                                                  WHERE c < x.frequency)) AS f_mismatches,
       count(*) FILTER (WHERE s.r_score <> 4 - (SELECT count(*) FROM unnest((m.thresholds).recency_cuts) c
                                                  WHERE c < x.recency_days)) AS r_mismatches
FROM summary x CROSS JOIN rfm_model m
CROSS JOIN LATERAL crm.rfm_score(m.thresholds, x.recency_days, x.frequency, x.monetary) s;

-- Text form round-trips (pg_dump stores it this way).
SELECT (thresholds::text)::crm.rfm_thresholds = thresholds AS text_round_trip FROM rfm_model;

-- NULL handling: rows with a NULL are ignored by the aggregate; NULL in, NULL out for the scorer.
SELECT (crm.rfm_thresholds(r, f, m)).customers
FROM (VALUES (1.0::float8, 1.0::float8, 1.0::float8), (NULL, 2, 2), (3, 3, 3)) v(r, f, m);
SELECT crm.rfm_thresholds(r, f, m) IS NULL AS no_rows_gives_null FROM summary, (SELECT 1.0::float8 r, 1.0::float8 f, 1.0::float8 m) v WHERE false;
SELECT crm.rfm_score(thresholds, NULL, 1, 1) IS NULL AS null_in_null_out FROM rfm_model;
SELECT crm.rfm_segment(NULL, 3) IS NULL AS segment_null;
SELECT crm.rfm_segment(5, 5), crm.rfm_segment(1, 5), crm.rfm_segment(10, 1, 10), crm.rfm_segment(2, 2, 2);
SELECT crm.rfm_segment(5, 4, 5, crm.rfm_default_segment_map()) = crm.rfm_segment(5, 4) AS default_map_as_json;

-- GROUP BY: thresholds per region.
SELECT customer_id % 2 AS region, (crm.rfm_thresholds(recency_days, frequency, monetary, 2)).frequency_cuts
FROM summary GROUP BY 1 ORDER BY 1;

-- Parallel aggregation: Partial Aggregate under Gather, same result as serial.
CREATE TABLE big_summary AS
SELECT i AS customer_id, ((i * 37) % 365)::float8 AS r, (1 + (i * 7) % 12)::float8 AS f, ((i * 53) % 1000)::float8 AS m
FROM generate_series(1, 200000) i;
ANALYZE big_summary;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT crm.rfm_thresholds(r, f, m) FROM big_summary;
-- The parallel plan's result equals the serial one, whether or not workers launch.
SET max_parallel_workers_per_gather = 0;
SELECT crm.rfm_thresholds(r, f, m)::text AS serial_thresholds FROM big_summary \gset
SET max_parallel_workers_per_gather = 2;
SELECT crm.rfm_thresholds(r, f, m)::text = :'serial_thresholds' AS parallel_equals_serial FROM big_summary;
RESET max_parallel_workers_per_gather;

-- Errors.
SELECT sqlstate_of($$SELECT crm.rfm_thresholds(r, f, m, 1) FROM big_summary$$);
SELECT sqlstate_of($$SELECT crm.rfm_thresholds(r, f, m, (customer_id % 2) + 3) FROM big_summary$$);
SELECT sqlstate_of($$SELECT crm.rfm_thresholds(r, f, m, NULL) FROM big_summary$$);
SELECT sqlstate_of($$SELECT crm.rfm_thresholds('NaN', 1, 1)$$);
SELECT sqlstate_of($$SELECT crm.rfm_thresholds(1, 'Infinity', 1)$$);
SELECT sqlstate_of($$SELECT crm.rfm_score((5, 1, '{1,2,3,4}', '{1,2,3,4}', '{1,2,3,4}')::crm.rfm_thresholds, 1, 1, 1)$$);
SELECT sqlstate_of($$SELECT crm.rfm_score((5, 1, '{1,2,3}', '{1,2,3,4}', '{1,2,3,4}')::crm.rfm_thresholds, 1, 1, 1)$$);
SELECT sqlstate_of($$SELECT crm.rfm_score((5, 1, '{4,3,2,1}', '{1,2,3,4}', '{1,2,3,4}')::crm.rfm_thresholds, 1, 1, 1)$$);
SELECT sqlstate_of($$SELECT crm.rfm_score((5, 1, NULL, '{1,2,3,4}', '{1,2,3,4}')::crm.rfm_thresholds, 1, 1, 1)$$);
SELECT sqlstate_of($$SELECT crm.rfm_score((12, 1, '{}', '{}', '{}')::crm.rfm_thresholds, 1, 1, 1)$$);
SELECT sqlstate_of($$SELECT crm.rfm_score((5, 1, '{1,2,NULL,4}', '{1,2,3,4}', '{1,2,3,4}')::crm.rfm_thresholds, 1, 1, 1)$$);
SELECT sqlstate_of($$SELECT crm.rfm_score((5, 1, '{{1,2},{3,4}}', '{1,2,3,4}', '{1,2,3,4}')::crm.rfm_thresholds, 1, 1, 1)$$);
SELECT sqlstate_of($$SELECT crm.rfm_score((5, 1, '{1,2,3,4}', '{1,2,3,4}', '{1,2,3,4}')::crm.rfm_thresholds, 'NaN', 1, 1)$$);
SELECT sqlstate_of($$SELECT crm.rfm_segment(6, 1)$$);
SELECT sqlstate_of($$SELECT crm.rfm_segment(1, 1, 1)$$);
SELECT sqlstate_of($$SELECT crm.rfm_segment(1, 1, NULL)$$);
SELECT sqlstate_of($$SELECT crm.rfm_segment(1, 1, 5, '"x"')$$);
SELECT sqlstate_of($$SELECT crm.rfm_segment(1, 1, 5, '{"A": ["**"], "B": {"x": 1}}')$$);
SELECT sqlstate_of($$SELECT crm.rfm_score((2, 1, '{Infinity}', '{1}', '{1}')::crm.rfm_thresholds, 1, 1, 1)$$);
SELECT sqlstate_of($$SELECT crm.rfm_segment(1, 1, 5, '{"A": [["**"]]}')$$);
