-- The bridge: errors keep the session alive, cancellation stops long calls.
\set VERBOSITY terse
-- A long call stopped by statement_timeout: the error is query_canceled (57014).
SET statement_timeout = '200ms';
SELECT sqlstate_of($$SELECT crm.rfm_thresholds(i % 365, i % 17, i) FROM generate_series(1, 50000000) i$$);
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
