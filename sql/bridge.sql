-- The bridge: errors keep the session alive, cancellation stops long calls.
\set VERBOSITY terse
-- A long call stopped by statement_timeout: the error is query_canceled
-- (57014), raised from the core's own interrupt check: the 2,000 rows are read
-- in a moment and the time goes into the fit (100,000 k-means++ starts), so the
-- timeout fires inside C++ and reaches PostgreSQL through the bridge.
-- (WHEN OTHERS does not catch a cancel; naming query_canceled does.)
CREATE FUNCTION pg_temp.cancel_code(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  RETURN 'not cancelled';
EXCEPTION WHEN query_canceled THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SET statement_timeout = '200ms';
SELECT pg_temp.cancel_code($$SELECT crm.kmeans_fit(ARRAY[g % 97, g % 89]::float8[], crm.kmeans_options(20, n_init => 100000))
                             FROM generate_series(1, 2000) g$$) AS fit_cancelled;
RESET statement_timeout;
-- The session is usable afterwards, and so is the extension.
SELECT crm.weighted_score(ARRAY[1.0], ARRAY[2.0]) AS still_working;
-- Errors inside a transaction roll back cleanly; the next transaction works.
BEGIN;
SELECT sqlstate_of($$SELECT crm.rfm_segment(9, 9)$$);
SELECT crm.rfm_segment(5, 5);
COMMIT;
-- Many errors in a row do not leak or break anything.
SELECT count(*) FILTER (WHERE sqlstate_of(format('SELECT crm.rfm_segment(%s, 1)', i)) LIKE '22003%') AS errors
FROM generate_series(6, 505) i;
