-- Shared by the regression tests: run a statement and report its SQLSTATE,
-- so each error test asserts the code, not only the message.
CREATE FUNCTION sqlstate_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE query;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- The extension lives in schema crm and is not relocatable.
SELECT extname, extversion, nspname AS schema, extrelocatable
FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE extname = 'crm_analytics';
-- Every function of the extension has a comment; the only SECURITY DEFINER one
-- is the narrow trigger function that bumps crm.cf_table_versions.
SELECT count(*) AS functions_without_comment
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'crm' AND obj_description(p.oid, 'pg_proc') IS NULL;
SELECT p.oid::regprocedure AS security_definer_function, p.proconfig
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'crm' AND p.prosecdef;
-- Every aggregate can run in parallel (combine, serial and deserial functions).
SELECT p.proname, a.aggcombinefn <> 0 AS has_combine, a.aggserialfn <> 0 AS has_serial,
       a.aggdeserialfn <> 0 AS has_deserial, p.proparallel
FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'crm' ORDER BY p.proname, p.pronargs;
