-------------------------------------------------------------------------------
-- Customer profile: one tagged row per customer with a next best action
-- (docs/profile.md). Tags and actions come from editable rule tables.
-------------------------------------------------------------------------------

CREATE FUNCTION crm._profile_rule_sql(condition text)
RETURNS text AS 'MODULE_PATHNAME', 'crm_profile_rule_sql'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION crm._profile_rule_sql(text) IS
'Compiles a profile tag rule (comparisons of profile columns with constants, AND / OR / NOT, IN, BETWEEN, IS NULL) to '
'the SQL the profile evaluates; errors 42601 / 42703 / 42804 for a bad rule (internal; docs/profile.md).';

CREATE TABLE crm.profile_tag_rules (
    tag         text PRIMARY KEY CHECK (tag ~ '^[a-z][a-z0-9_]{0,62}$'),
    condition   text NOT NULL CHECK (crm._profile_rule_sql(condition) IS NOT NULL),
    priority    integer NOT NULL DEFAULT 100,
    enabled     boolean NOT NULL DEFAULT true,
    description text);
COMMENT ON TABLE crm.profile_tag_rules IS
'Tag rules of crm.customer_profile: a customer gets tag when condition (over the profile''s columns, see '
'docs/profile.md) is true; tags are listed by priority. Edit freely; set enabled = false rather than deleting a '
'shipped rule (a restore re-creates deleted ones). Inserting an existing tag replaces its rule.';

CREATE TABLE crm.profile_actions (
    priority    integer PRIMARY KEY,
    segment     text,
    tag         text,
    action      text NOT NULL CHECK (action <> ''),
    enabled     boolean NOT NULL DEFAULT true,
    description text);
COMMENT ON TABLE crm.profile_actions IS
'Next-best-action rules of crm.customer_profile: the enabled row with the lowest priority whose segment (NULL: any) '
'equals the customer''s RFM segment and whose tag (NULL: any) is among the customer''s tags gives the action. '
'Inserting an existing priority replaces its row.';

-- Writable by the extension's owner and whom they grant it to; readable by all, since every profile call reads them.
REVOKE ALL ON TABLE crm.profile_tag_rules, crm.profile_actions FROM PUBLIC;
GRANT SELECT ON TABLE crm.profile_tag_rules, crm.profile_actions TO PUBLIC;

-- A dump restores these tables' rows after CREATE EXTENSION has inserted the shipped defaults: an insert
-- of an existing key therefore replaces that row, so the restore brings back the user's version of it.
CREATE FUNCTION crm._profile_tag_rules_upsert() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE crm.profile_tag_rules
    SET condition = NEW.condition, priority = NEW.priority, enabled = NEW.enabled, description = NEW.description
    WHERE tag OPERATOR(pg_catalog.=) NEW.tag;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm._profile_tag_rules_upsert() IS
'Trigger of crm.profile_tag_rules: an insert of an existing tag replaces its rule (internal).';
CREATE TRIGGER profile_tag_rules_upsert BEFORE INSERT ON crm.profile_tag_rules
    FOR EACH ROW EXECUTE FUNCTION crm._profile_tag_rules_upsert();

CREATE FUNCTION crm._profile_actions_upsert() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE crm.profile_actions
    SET segment = NEW.segment, tag = NEW.tag, action = NEW.action, enabled = NEW.enabled, description = NEW.description
    WHERE priority OPERATOR(pg_catalog.=) NEW.priority;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION crm._profile_actions_upsert() IS
'Trigger of crm.profile_actions: an insert of an existing priority replaces its row (internal).';
CREATE TRIGGER profile_actions_upsert BEFORE INSERT ON crm.profile_actions
    FOR EACH ROW EXECUTE FUNCTION crm._profile_actions_upsert();

-- The shipped defaults (docs/profile.md). Later versions add rules with INSERT ... SELECT ... WHERE NOT
-- EXISTS (not ON CONFLICT DO NOTHING: the upsert triggers run before conflict arbitration and would
-- replace the user's row) and never change a row a user may have edited.
INSERT INTO crm.profile_tag_rules (tag, condition, priority, description) VALUES
    ('vip', 'value_tier = ''high'' AND churn_risk <> ''high''', 10,
     'High value and not likely to churn'),
    ('at_risk', 'value_tier IN (''high'', ''medium'') AND churn_risk IN (''high'', ''medium'')', 20,
     'Worth keeping and likely to churn'),
    ('new', 'tenure_days <= 90 AND frequency <= 2', 30,
     'First order within 90 days, at most two orders'),
    ('loyal', 'f_score >= 4 AND r_score >= 4', 40,
     'Orders often and recently'),
    ('big_spender', 'm_score = 5', 50,
     'Top fifth by total spend'),
    ('bargain_hunter', 'f_score >= 3 AND m_score <= 2', 60,
     'Orders often but spends little'),
    ('lapsed', 'value_tier = ''low'' AND (churn_risk = ''high'' OR r_score = 1)', 70,
     'Low value and probably gone, or not seen for long (bottom fifth by recency)');
INSERT INTO crm.profile_actions (priority, segment, tag, action, description) VALUES
    (10, NULL, 'vip', 'vip_service', 'Personal service and early access; no discounts needed'),
    (20, NULL, 'at_risk', 'win_back_offer', 'A personal win-back offer before they are gone'),
    (30, NULL, 'new', 'welcome_series', 'Onboarding and a second-order incentive'),
    (40, NULL, 'loyal', 'membership_invite', 'Invite to the membership / loyalty programme'),
    (50, NULL, 'bargain_hunter', 'promotion', 'Targeted promotions'),
    (60, NULL, 'lapsed', 'low_cost_reactivation', 'E-mail only: no paid marketing spend'),
    (1000, NULL, NULL, 'standard_communication', 'Everyone else: the regular newsletter and promotions');

SELECT pg_catalog.pg_extension_config_dump('crm.profile_tag_rules', '');
SELECT pg_catalog.pg_extension_config_dump('crm.profile_actions', '');

-- A model's features as an array expression over the profile's numeric columns, by the model's
-- feature names (k-means clusters and tree churn models alike).
CREATE FUNCTION crm._profile_features(features text[], model_kind text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    allowed constant text[] := ARRAY['recency_days', 'frequency', 'monetary', 'avg_order_value', 'tenure_days',
                                     'r_score', 'f_score', 'm_score', 'p_alive', 'expected_purchases', 'clv'];
    feature text;
BEGIN
    IF features IS NULL OR cardinality(features) = 0 THEN
        RAISE EXCEPTION 'customer_profile: the % has no feature names', model_kind
            USING ERRCODE = '22023',
                  HINT = 'Fit it with feature_names naming profile columns, e.g. ARRAY[''recency_days'', ''frequency'', ''monetary''].';
    END IF;
    FOREACH feature IN ARRAY features LOOP
        IF feature IS NULL OR NOT (feature = ANY (allowed)) THEN
            RAISE EXCEPTION 'customer_profile: the %''s feature "%" is not a profile column', model_kind, feature
                USING ERRCODE = '42703', HINT = 'Features may be ' || array_to_string(allowed, ', ') || '.';
        END IF;
    END LOOP;
    RETURN (SELECT format('ARRAY[%s]::double precision[]', string_agg(format('%I', x), ', ' ORDER BY n))
            FROM unnest(features) WITH ORDINALITY u(x, n));
END
$$;
COMMENT ON FUNCTION crm._profile_features(text[], text) IS
'The array expression of a model''s features over crm.customer_profile''s columns; 22023 / 42703 for a model whose '
'feature names are missing or not profile columns (internal).';

CREATE FUNCTION crm.customer_profile_typed(
    orders regclass, customer_col name, date_col name, amount_col name, key_type anyelement,
    as_of date DEFAULT NULL,
    kmeans_model crm.kmeans_model DEFAULT NULL,
    cluster_names text[] DEFAULT NULL,
    months integer DEFAULT 12,
    time_unit text DEFAULT 'week',
    value_tiers double precision[] DEFAULT '{0.2,0.5}',
    allow_unconverged boolean DEFAULT false,
    churn_model crm.tree_model DEFAULT NULL)
RETURNS TABLE (
    customer_key anyelement,
    recency_days integer,
    frequency bigint,
    monetary double precision,
    avg_order_value double precision,
    tenure_days integer,
    r_score integer,
    f_score integer,
    m_score integer,
    rfm_cell text,
    segment text,
    value_tier text,
    cluster integer,
    cluster_name text,
    p_alive double precision,
    stay_probability double precision,
    expected_purchases double precision,
    clv double precision,
    churn_risk text,
    tags text[],
    next_best_action text)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cutoff date;
    cluster_sql text := 'NULL::integer';
    stay_sql text := 'NULL::double precision';
    -- Without a k-means model no customer has a cluster: no join with the (empty) cluster names.
    names_from text := 'k';
    name_sql text := 'NULL::text';
    tags_sql text;
    action_sql text;
BEGIN
    IF orders IS NULL OR customer_col IS NULL OR date_col IS NULL OR amount_col IS NULL OR months IS NULL
       OR time_unit IS NULL OR value_tiers IS NULL THEN
        RAISE EXCEPTION 'customer_profile: orders, the column names, months, time_unit and value_tiers must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF array_ndims(value_tiers) IS DISTINCT FROM 1 OR cardinality(value_tiers) <> 2
       OR array_position(value_tiers, NULL) IS NOT NULL
       OR NOT (value_tiers[1] > 0 AND value_tiers[1] < value_tiers[2] AND value_tiers[2] < 1) THEN
        RAISE EXCEPTION 'customer_profile: value_tiers must be two shares 0 < high < medium < 1, got %', value_tiers
            USING ERRCODE = '22023';
    END IF;
    PERFORM crm._require_relation(orders, 'customer_profile', 'orders');
    cutoff := as_of;
    IF cutoff IS NULL THEN
        EXECUTE format('SELECT max(%I)::date FROM %s', date_col, orders) INTO cutoff;
        IF cutoff IS NULL THEN
            RETURN;  -- no orders
        END IF;
    END IF;
    IF NOT isfinite(cutoff) THEN
        RAISE EXCEPTION 'customer_profile: as_of must be finite' USING ERRCODE = '22023';
    END IF;

    -- The cluster and the tree's probability that the customer stays: each model's features by name, from
    -- the profile's numeric columns.
    IF kmeans_model IS NOT NULL THEN
        cluster_sql := format('(SELECT CASE WHEN array_position(f.v, NULL) IS NULL THEN crm.kmeans_assign($3, f.v) END '
                              'FROM (SELECT %s AS v) f)',
                              crm._profile_features((crm.kmeans_info(kmeans_model)).feature_names, 'k-means model'));
        names_from := 'k LEFT JOIN (SELECT * FROM crm.kmeans_cluster_names($3)) n ON n.cluster = k.cluster';
        name_sql := 'coalesce($9[k.cluster], n.name)';
    END IF;
    IF churn_model IS NOT NULL THEN
        IF (crm.tree_info(churn_model)).kind <> 'classification' THEN
            RAISE EXCEPTION 'customer_profile: churn_model must be a classification tree or forest (true = stays)'
                USING ERRCODE = '22023';
        END IF;
        -- A NULL feature is a missing value to the tree.
        stay_sql := format('crm.tree_predict($10, %s)',
                           crm._profile_features((crm.tree_info(churn_model)).feature_names, 'churn model'));
    END IF;

    -- Tags and the next best action, from the rule tables. Each rule is recompiled here from its text (the
    -- table's CHECK is not trusted), and only the compiler's output and quoted literals enter the query.
    SELECT coalesce('array_remove(ARRAY[' || string_agg(format('CASE WHEN %s THEN %L END',
                                                               crm._profile_rule_sql(r.condition), r.tag),
                                                        ', ' ORDER BY r.priority, r.tag) || ']::text[], NULL)',
                    'ARRAY[]::text[]')
    INTO tags_sql FROM crm.profile_tag_rules r WHERE r.enabled;
    SELECT coalesce('CASE ' || string_agg(format('WHEN %s AND %s THEN %L',
                                                 CASE WHEN a.segment IS NULL THEN 'true'
                                                      ELSE format('t.segment = %L', a.segment) END,
                                                 CASE WHEN a.tag IS NULL THEN 'true'
                                                      ELSE format('%L = ANY (t.tags)', a.tag) END,
                                                 a.action), ' ' ORDER BY a.priority) || ' END',
                    'NULL::text')
    INTO action_sql FROM crm.profile_actions a WHERE a.enabled;

    RETURN QUERY EXECUTE format($q$
        WITH r AS MATERIALIZED (
            SELECT * FROM crm.rfm_analyze_typed($1, %1$L::name, %2$L::name, %3$L::name, $2,
                                                ($4 + 1)::timestamptz - interval '1 microsecond')),
        -- The value tier is cume_dist() OVER (ORDER BY clv DESC NULLS LAST) over the customers of r,
        -- computed as cume_dist does (customers up to this one's last peer, as float8, over all of r's
        -- customers as float8) from a window over c alone: every customer of c is in r, and r's others
        -- have no CLV and sort last, so the counts are the same, and only c's narrow rows are sorted.
        c AS (
            SELECT x.*, count(*) OVER (ORDER BY x.clv DESC NULLS LAST) AS clv_rank
            FROM crm.clv_analyze_typed($1, %1$L::name, %2$L::name, %3$L::name, $2, $4, $5, $6,
                                       allow_unconverged => $7) x),
        b AS (
            SELECT r.customer_key, r.recency_days, r.frequency, r.monetary,
                   r.monetary / nullif(r.frequency, 0) AS avg_order_value,
                   round(c.age * CASE $5 WHEN 'week' THEN 7 ELSE 1 END)::integer AS tenure_days,
                   r.r_score, r.f_score, r.m_score, r.rfm_cell, r.segment,
                   CASE WHEN c.clv IS NULL THEN NULL
                        WHEN c.clv_rank::double precision / n.customers::double precision <= $8[1] THEN 'high'
                        WHEN c.clv_rank::double precision / n.customers::double precision <= $8[2] THEN 'medium'
                        ELSE 'low' END AS value_tier,
                   c.p_alive, c.expected_purchases, c.clv, c.churn_risk
            FROM r LEFT JOIN c ON c.customer_key = r.customer_key CROSS JOIN (SELECT count(*) AS customers FROM r) n),
        -- OFFSET 0 keeps k and t from being flattened into the queries above them, which would copy
        -- their expressions into every reference: the model calls, and the tag array that each action
        -- condition reads (measured: 1.1 s of 6 s for 500,000 customers).
        k AS (
            SELECT b.*, %4$s AS cluster, %7$s AS stay_probability FROM b OFFSET 0),
        named AS (
            SELECT k.customer_key, k.recency_days, k.frequency, k.monetary, k.avg_order_value, k.tenure_days,
                   k.r_score, k.f_score, k.m_score, k.rfm_cell, k.segment, k.value_tier, k.cluster,
                   %9$s AS cluster_name,
                   k.p_alive, k.stay_probability, k.expected_purchases, k.clv,
                   CASE WHEN $10 IS NULL THEN k.churn_risk
                        ELSE crm.churn_risk(k.stay_probability, k.expected_purchases) END AS churn_risk
            FROM %8$s),
        t AS (
            SELECT named.*, %5$s AS tags FROM named OFFSET 0)
        SELECT t.*, %6$s FROM t$q$,
        customer_col, date_col, amount_col, cluster_sql, tags_sql, action_sql, stay_sql, names_from, name_sql)
    USING orders, key_type, kmeans_model, cutoff, time_unit, months, coalesce(allow_unconverged, false),
          value_tiers, cluster_names, churn_model;
END
$$;
COMMENT ON FUNCTION crm.customer_profile_typed(regclass, name, name, name, anyelement, date, crm.kmeans_model, text[], integer, text, double precision[], boolean, crm.tree_model) IS
'One row per customer: RFM values, scores and segment, average order value, tenure, value tier (top value_tiers[1] of '
'customers by CLV high, up to value_tiers[2] medium, the rest low), cluster and cluster name when kmeans_model is given '
'(names from crm.kmeans_cluster_names unless cluster_names overrides them), P(alive), expected purchases, CLV, churn '
'risk, tags from crm.profile_tag_rules and the next best action from crm.profile_actions. With churn_model (a '
'classification tree or forest over profile columns, true = the customer stays) stay_probability is its prediction '
'and the churn-risk tier uses it in place of P(alive). as_of defaults to the last order date; orders after it are '
'ignored. Customer keys in the type of key_type.';

CREATE FUNCTION crm.customer_profile(
    orders regclass, customer_col name, date_col name, amount_col name,
    as_of date DEFAULT NULL,
    kmeans_model crm.kmeans_model DEFAULT NULL,
    cluster_names text[] DEFAULT NULL,
    months integer DEFAULT 12,
    time_unit text DEFAULT 'week',
    value_tiers double precision[] DEFAULT '{0.2,0.5}',
    allow_unconverged boolean DEFAULT false,
    churn_model crm.tree_model DEFAULT NULL)
RETURNS TABLE (
    customer_key bigint, recency_days integer, frequency bigint, monetary double precision,
    avg_order_value double precision, tenure_days integer, r_score integer, f_score integer, m_score integer,
    rfm_cell text, segment text, value_tier text, cluster integer, cluster_name text, p_alive double precision,
    stay_probability double precision, expected_purchases double precision, clv double precision, churn_risk text,
    tags text[], next_best_action text)
LANGUAGE sql STABLE PARALLEL RESTRICTED
-- No SET clause, so the planner inlines this wrapper into the calling query instead of collecting its rows
-- in one more tuplestore (about 200 ms per 500,000 customers). The body stays safe under any search_path:
-- it names one schema-qualified function, and bigint is a keyword type (always pg_catalog.int8).
AS $$
    SELECT * FROM crm.customer_profile_typed(orders, customer_col, date_col, amount_col, NULL::bigint, as_of,
                                             kmeans_model, cluster_names, months, time_unit, value_tiers,
                                             allow_unconverged, churn_model)
$$;
COMMENT ON FUNCTION crm.customer_profile(regclass, name, name, name, date, crm.kmeans_model, text[], integer, text, double precision[], boolean, crm.tree_model) IS
'crm.customer_profile_typed with integer customer keys (as bigint): one tagged row per customer with a next best action '
'(docs/profile.md).';
