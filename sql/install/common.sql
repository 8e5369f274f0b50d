-------------------------------------------------------------------------------
-- Shared checks of the PL/pgSQL one-call functions
-------------------------------------------------------------------------------

CREATE FUNCTION crm._require_relation(relation regclass, caller text, argument text)
RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- A regclass can hold the OID of a dropped table (or any number): such a value would print as
    -- a bare number and make the generated SQL fail with a syntax error instead of 42P01.
    IF NOT EXISTS (SELECT 1 FROM pg_class WHERE oid = relation) THEN
        RAISE EXCEPTION '%: relation with OID % does not exist (argument %)', caller, relation::oid, argument
            USING ERRCODE = '42P01';
    END IF;
END
$$;
COMMENT ON FUNCTION crm._require_relation(regclass, text, text) IS
'Raises 42P01 when a regclass argument names no relation (internal).';
