-- Approximate quantiles (KLL sketches): crm.rfm_thresholds_approx and crm.quantile_approx, their
-- _partial / _combine forms, exactness on small inputs, the stated error bound on large ones (serial and
-- parallel), NULL rules and errors.
\set VERBOSITY terse

-- Up to 200 values every value is kept: the same cut points as the exact aggregate, bit for bit.
CREATE TABLE qa_small AS
SELECT i AS customer_id, ((i * 37) % 365)::float8 AS r, (1 + (i * 7) % 12)::float8 AS f, ((i * 53) % 1000) * 0.37 AS m
FROM generate_series(1, 200) i;
SELECT crm.rfm_thresholds_approx(r, f, m) = crm.rfm_thresholds(r, f, m) AS exact_5,
       crm.rfm_thresholds_approx(r, f, m, 10) = crm.rfm_thresholds(r, f, m, 10) AS exact_10,
       crm.quantile_approx(m, 0.3) = percentile_cont(0.3) WITHIN GROUP (ORDER BY m) AS exact_quantile,
       crm.quantile_approx(m, 0) = min(m) AS q0_is_min, crm.quantile_approx(m, 1) = max(m) AS q1_is_max
FROM qa_small;

-- 300,000 customers: each cut point's rank is within the stated 1.65% of n of its target.
CREATE TABLE qa_big AS
SELECT i AS customer_id, ((i * 37) % 365)::float8 AS r, (1 + (i * 7) % 12)::float8 AS f,
       exp(((i::bigint * 7919) % 100003) / 20000.0) AS m
FROM generate_series(1, 300000) i;
ANALYZE qa_big;
-- The fraction of rows at or below (and strictly below) a value: its rank interval. The error is the
-- distance of the target fraction from that interval.
CREATE FUNCTION rank_error(cuts float8[], col text, bins int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE worst float8 := 0; below float8; at_most float8; target float8;
BEGIN
    FOR j IN 1 .. bins - 1 LOOP
        EXECUTE format('SELECT avg((%1$I < $1)::int), avg((%1$I <= $1)::int) FROM qa_big', col)
            INTO below, at_most USING cuts[j];
        target := j::float8 / bins;
        worst := greatest(worst, below - target, target - at_most);
    END LOOP;
    RETURN worst;
END $$;
SET max_parallel_workers_per_gather = 0;
SELECT (t).customers, rank_error((t).recency_cuts, 'r', 5) <= 0.0165 AS recency_ok,
       rank_error((t).frequency_cuts, 'f', 5) <= 0.0165 AS frequency_ok,
       rank_error((t).monetary_cuts, 'm', 5) <= 0.0165 AS monetary_ok,
       rank_error((e).monetary_cuts, 'm', 5) = 0 AS exact_has_no_error,
       (t).monetary_cuts <> (e).monetary_cuts AS monetary_is_approximate
FROM (SELECT crm.rfm_thresholds_approx(r, f, m) AS t, crm.rfm_thresholds(r, f, m) AS e FROM qa_big) s;
SELECT rank_error(ARRAY[crm.quantile_approx(m, 0.5)], 'm', 2) <= 0.0165 AS median_ok FROM qa_big;

-- Parallel aggregation: workers build sketches and the leader merges them; the bound holds.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT crm.rfm_thresholds_approx(r, f, m) FROM qa_big;
SELECT (t).customers, rank_error((t).recency_cuts, 'r', 5) <= 0.0165 AS recency_ok,
       rank_error((t).monetary_cuts, 'm', 5) <= 0.0165 AS monetary_ok
FROM (SELECT crm.rfm_thresholds_approx(r, f, m) AS t FROM qa_big) s;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- Shards: partial states merged elsewhere keep the bound; on small inputs they are exact.
SELECT rank_error((c).monetary_cuts, 'm', 4) <= 0.0165 AS combined_ok, (c).customers,
       length(p_all) < 20000 AS state_is_a_few_kilobytes
FROM (SELECT crm.rfm_thresholds_approx_combine(p) AS c, max(p) AS p_all
      FROM (SELECT crm.rfm_thresholds_approx_partial(r, f, m, 4) AS p FROM qa_big GROUP BY customer_id % 3) s) t;
SELECT (SELECT crm.rfm_thresholds_approx_combine(p)
        FROM (SELECT crm.rfm_thresholds_approx_partial(r, f, m) AS p FROM qa_small GROUP BY customer_id % 3) s)
     = (SELECT crm.rfm_thresholds(r, f, m) FROM qa_small) AS small_combined_exact,
       (SELECT crm.quantile_approx_combine(p)
        FROM (SELECT crm.quantile_approx_partial(m, 0.25) AS p FROM qa_small GROUP BY customer_id % 4) s)
     = (SELECT percentile_cont(0.25) WITHIN GROUP (ORDER BY m) FROM qa_small) AS small_quantile_exact;
SELECT crm.quantile_approx_combine(p) FROM (VALUES (NULL::bytea)) v(p);

-- NULL rules: rows with a NULL value are skipped; no rows give NULL.
SELECT (crm.rfm_thresholds_approx(r, f, m)).customers, crm.quantile_approx(r, 0.5)
FROM (VALUES (1.0::float8, 1.0::float8, 1.0::float8), (NULL, 2, 2), (3, 3, 3)) v(r, f, m);
SELECT crm.rfm_thresholds_approx(r, f, m) IS NULL AS no_rows, crm.quantile_approx(m, 0.5) IS NULL AS no_rows_q
FROM qa_small WHERE false;

-- Errors.
SELECT sqlstate_of($$SELECT crm.rfm_thresholds_approx(r, f, m, 1) FROM qa_small$$);
SELECT sqlstate_of($$SELECT crm.rfm_thresholds_approx(r, f, m, (customer_id % 2) + 3) FROM qa_small$$);
SELECT sqlstate_of($$SELECT crm.rfm_thresholds_approx(r, f, m, NULL) FROM qa_small$$);
SELECT sqlstate_of($$SELECT crm.rfm_thresholds_approx('NaN', 1, 1)$$);
SELECT sqlstate_of($$SELECT crm.rfm_thresholds_approx(1, 'Infinity', 1)$$);
SELECT sqlstate_of($$SELECT crm.quantile_approx(m, NULL) FROM qa_small$$);
SELECT sqlstate_of($$SELECT crm.quantile_approx(m, 1.5) FROM qa_small$$);
SELECT sqlstate_of($$SELECT crm.quantile_approx(m, 'NaN') FROM qa_small$$);
SELECT sqlstate_of($$SELECT crm.quantile_approx(m, customer_id % 2 * 0.5) FROM qa_small$$);
SELECT sqlstate_of($$SELECT crm.quantile_approx('-Infinity', 0.5)$$);
SELECT sqlstate_of($$SELECT crm.quantile_approx_combine('\x4a01'::bytea)$$);
SELECT sqlstate_of($$SELECT crm.rfm_thresholds_approx_combine((SELECT crm.quantile_approx_partial(1, 0.5)))$$);
SELECT sqlstate_of($$SELECT crm.quantile_approx_combine((SELECT crm.rfm_thresholds_partial(1, 1, 1)))$$);
