-- crm_analytics install script, built by `make` from the modules in sql/install/
-- (one file per feature; the Makefile lists their order). Edit the modules, not
-- the built sql/crm_analytics--<version>.sql.
-- Every object is created in schema crm and every reference is schema-qualified,
-- so a hostile search_path cannot redirect what the extension runs.

\echo Use "CREATE EXTENSION crm_analytics" to load this file. \quit

-------------------------------------------------------------------------------
-- Install safety: the schema crm must be ours alone
-------------------------------------------------------------------------------

-- CREATE EXTENSION installs into an existing schema crm whoever owns it. A role
-- that pre-created it could keep adding functions there that the extension's
-- own SQL, or a superuser's query, would then pick up. So the schema must be
-- owned by the installing role, nobody else may create objects in it, and it
-- must hold nothing yet.
DO $crm_install_check$
DECLARE
    schema_oid oid;
    schema_owner oid;
    foreign_creators text;
    objects bigint;
BEGIN
    SELECT n.oid, n.nspowner INTO schema_oid, schema_owner
    FROM pg_catalog.pg_namespace n WHERE n.nspname = 'crm';
    IF schema_owner IS DISTINCT FROM (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = CURRENT_USER) THEN
        RAISE EXCEPTION 'crm_analytics: schema crm is owned by role %, not by the installing role %',
            pg_catalog.pg_get_userbyid(schema_owner), CURRENT_USER
            USING ERRCODE = '42501',
                  HINT = 'Drop or rename the existing schema crm (check what is in it first), then run CREATE EXTENSION again.';
    END IF;
    SELECT pg_catalog.string_agg(DISTINCT pg_catalog.pg_get_userbyid(a.grantee), ', ') INTO foreign_creators
    FROM pg_catalog.pg_namespace n, pg_catalog.aclexplode(n.nspacl) a
    WHERE n.oid = schema_oid AND a.privilege_type = 'CREATE' AND a.grantee <> n.nspowner;
    IF foreign_creators IS NOT NULL THEN
        RAISE EXCEPTION 'crm_analytics: other roles may create objects in schema crm (%)', foreign_creators
            USING ERRCODE = '42501', HINT = 'REVOKE CREATE ON SCHEMA crm FROM those roles first.';
    END IF;
    SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_proc WHERE pronamespace = schema_oid)
         + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_class WHERE relnamespace = schema_oid)
         + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_type WHERE typnamespace = schema_oid)
         + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_operator WHERE oprnamespace = schema_oid)
         + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_collation WHERE collnamespace = schema_oid)
         + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_conversion WHERE connamespace = schema_oid)
         + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_opclass WHERE opcnamespace = schema_oid)
         + (SELECT pg_catalog.count(*) FROM pg_catalog.pg_opfamily WHERE opfnamespace = schema_oid)
      INTO objects;
    IF objects > 0 THEN
        RAISE EXCEPTION 'crm_analytics: schema crm already holds % objects', objects
            USING ERRCODE = '42P06',
                  HINT = 'The extension needs a schema crm of its own: move those objects elsewhere first.';
    END IF;
END
$crm_install_check$;

