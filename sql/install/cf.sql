-------------------------------------------------------------------------------
-- Recommendations: user-based collaborative filtering
-------------------------------------------------------------------------------

-- The registration of a table is its trigger (dumped and restored with the
-- table, so it survives pg_dump even though OIDs change); the versions are
-- written only by that trigger's function. Nobody may write the versions table
-- directly: a role that could lock it would block every writer of every
-- tracked table.
CREATE TABLE crm.cf_table_versions (
    relid oid PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1);
COMMENT ON TABLE crm.cf_table_versions IS
'Change versions of ratings tables registered with crm.cf_track_changes; bumped (only) by their statement trigger so '
'that backends can keep a rating matrix in memory and know, transactionally, when it is out of date. Read-only '
'for everyone; a table with no row here has not changed since it was registered or restored (version 0).';
GRANT SELECT ON crm.cf_table_versions TO PUBLIC;

-- SECURITY DEFINER, the one exception to "functions run as the caller": the
-- writer of a tracked table must bump its version, and nobody may write the
-- versions table directly (see docs/reliability.md). It is narrow: a trigger
-- function (not callable directly), no dynamic SQL, a fixed search_path, and
-- it can only bump the row of the table it fires on (TG_RELID).
CREATE FUNCTION crm._cf_bump_version() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO crm.cf_table_versions AS v (relid) VALUES (TG_RELID)
    ON CONFLICT (relid) DO UPDATE SET version = v.version + 1;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION crm._cf_bump_version() IS
'Statement trigger of tracked ratings tables: bumps the table''s row of crm.cf_table_versions (internal; the one '
'SECURITY DEFINER function, see docs/reliability.md).';

CREATE FUNCTION crm.cf_track_changes(ratings regclass)
RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET client_min_messages = warning
AS $$
BEGIN
    IF ratings IS NULL THEN
        RAISE EXCEPTION 'cf_track_changes: ratings must not be NULL' USING ERRCODE = '22004';
    END IF;
    PERFORM crm._require_relation(ratings, 'cf_track_changes', 'ratings');
    -- A new trigger (a new OID) also retires every matrix cached under the old one.
    EXECUTE format('DROP TRIGGER IF EXISTS crm_cf_track_changes ON %s', ratings);
    EXECUTE format('CREATE TRIGGER crm_cf_track_changes AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION crm._cf_bump_version()', ratings);
    -- ALWAYS: changes made under session_replication_role = replica (logical
    -- replication, some bulk loaders) must bump the version too.
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER crm_cf_track_changes', ratings);
END
$$;
COMMENT ON FUNCTION crm.cf_track_changes(regclass) IS
'Lets backends cache the rating matrix of this table (fast repeated calls): adds a statement trigger that bumps '
'the table''s version on every change. Requires ownership of the table. Only plain tables that are neither '
'partitions nor inheritance parents or children are cached; every other relation is read fresh on every call.';

CREATE VIEW crm.cf_tracked_tables AS
SELECT c.oid::regclass AS ratings, COALESCE(v.version, 0) AS version,
       (c.relkind = 'r' AND NOT c.relispartition AND NOT c.relhassubclass AND NOT c.relrowsecurity
        AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid)
        AND t.tgenabled = 'A') AS cacheable
FROM pg_catalog.pg_trigger t
JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid
LEFT JOIN crm.cf_table_versions v ON v.relid = c.oid
WHERE t.tgname = 'crm_cf_track_changes' AND t.tgfoid = 'crm._cf_bump_version()'::pg_catalog.regprocedure;
COMMENT ON VIEW crm.cf_tracked_tables IS
'Tables registered with crm.cf_track_changes, their current change version (0 = unchanged since registration or '
'restore) and whether a backend may cache their rating matrix (plain table, no row-level security, trigger enabled '
'ALWAYS). Record the version next to a model to know which data it was trained on.';
GRANT SELECT ON crm.cf_tracked_tables TO PUBLIC;

CREATE FUNCTION crm.cf_predict(
    ratings regclass, user_col name, item_col name, rating_col name,
    users bigint[], items bigint[],
    k integer DEFAULT 40, min_k integer DEFAULT 1, similarity text DEFAULT 'msd')
RETURNS TABLE (user_id bigint, item_id bigint, prediction double precision)
AS 'MODULE_PATHNAME', 'crm_cf_predict'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.cf_predict(regclass, name, name, name, bigint[], bigint[], integer, integer, text) IS
'Predicted ratings of (users[i], items[i]) by mean-centred user-based k-NN (Resnick, as Surprise KNNWithMeans): '
'neighbours are the k users most similar to the user among those who rated the item, similarity > 0; fewer than '
'min_k -> the user''s mean; unknown user or item -> the global mean; clipped to the rating scale. similarity: msd, '
'cosine, pearson, pearson_baseline (shrunk). Duplicate (user, item) rows are averaged; NULL rows skipped.';

CREATE FUNCTION crm.cf_recommend(
    ratings regclass, user_col name, item_col name, rating_col name, target_user bigint,
    n integer DEFAULT 10, k integer DEFAULT 40, neighbours text DEFAULT 'binary')
RETURNS TABLE (item_id bigint, score double precision, popular_fallback boolean, rank integer)
AS 'MODULE_PATHNAME', 'crm_cf_recommend'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.cf_recommend(regclass, name, name, name, bigint, integer, integer, text) IS
'Top-n items the user has not rated, scored by the summed cosine similarity of the user''s k nearest neighbours who '
'have the item (neighbours: binary | full | centered vectors, or co_rated). A user with no history gets the most '
'popular items, popular_fallback = true. Works for explicit ratings and implicit data (purchase counts).';

CREATE FUNCTION crm.cf_recommend_batch(
    ratings regclass, user_col name, item_col name, rating_col name, users bigint[] DEFAULT NULL,
    n integer DEFAULT 10, k integer DEFAULT 40, neighbours text DEFAULT 'binary')
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, popular_fallback boolean)
AS 'MODULE_PATHNAME', 'crm_cf_recommend_batch'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.cf_recommend_batch(regclass, name, name, name, bigint[], integer, integer, text) IS
'crm.cf_recommend for many users in one scan of the ratings (users NULL: every user in the table), for nightly jobs '
'that write a recommendations table.';

CREATE FUNCTION crm.cf_evaluate(
    ratings regclass, user_col name, item_col name, rating_col name,
    folds integer DEFAULT 5, k integer DEFAULT 40, similarity text DEFAULT 'msd', seed integer DEFAULT 0,
    relevant_threshold double precision DEFAULT 4, n integer DEFAULT 10)
RETURNS TABLE (fold integer, test_ratings bigint, rmse double precision, mae double precision,
               precision_at_n double precision, recall_at_n double precision)
AS 'MODULE_PATHNAME', 'crm_cf_evaluate'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.cf_evaluate(regclass, name, name, name, integer, integer, text, integer, double precision, integer) IS
'k-fold cross-validation in the database: per fold the RMSE and MAE of crm.cf_predict on the held-out ratings and '
'precision@n / recall@n of crm.cf_recommend (relevant = held-out rating >= relevant_threshold). Random split seeded '
'by seed (the same on every platform).';
