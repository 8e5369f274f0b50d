-------------------------------------------------------------------------------
-- Ready-to-query results for BI: refresh without blocking readers
-------------------------------------------------------------------------------

CREATE PROCEDURE crm.refresh_all(matviews regclass[])
LANGUAGE plpgsql
-- No SET search_path here: a procedure with SET clauses cannot COMMIT. Every
-- reference is schema-qualified instead, and a regclass prints a name that
-- resolves to the same relation under the caller's search_path.
AS $$
DECLARE
    v regclass;
    populated boolean;
BEGIN
    IF matviews IS NULL THEN
        RAISE EXCEPTION 'refresh_all: matviews must not be NULL' USING ERRCODE = '22004';
    END IF;
    FOREACH v IN ARRAY matviews LOOP
        SELECT c.relispopulated INTO populated
        FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) v AND c.relkind OPERATOR(pg_catalog.=) 'm';
        IF NOT FOUND THEN
            RAISE EXCEPTION 'refresh_all: % is not a materialized view', v USING ERRCODE = '42809';
        END IF;
        -- CONCURRENTLY keeps the old contents readable until the new ones are
        -- in place (it needs a unique index); a never-populated view cannot be
        -- refreshed concurrently, so its first refresh is a plain one.
        IF populated THEN
            EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW CONCURRENTLY %s', v);
        ELSE
            EXECUTE pg_catalog.format('REFRESH MATERIALIZED VIEW %s', v);
        END IF;
        COMMIT;  -- one view at a time: locks are held only while that view is refreshed
    END LOOP;
END
$$;

COMMENT ON PROCEDURE crm.refresh_all(regclass[]) IS
'Refreshes the given materialized views (for example customer segments, top-N recommendations, campaign report, '
'cold-chain status built on crm functions) one by one with REFRESH MATERIALIZED VIEW CONCURRENTLY, committing '
'after each: readers keep reading the previous contents, never an empty view. Each view needs a unique index. '
'Call it from pg_cron: SELECT cron.schedule(''crm-refresh'', ''0 3 * * *'', $$CALL crm.refresh_all(...)$$).';
