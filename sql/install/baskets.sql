-------------------------------------------------------------------------------
-- Market baskets: frequent itemsets and association rules (FP-growth)
-------------------------------------------------------------------------------

CREATE FUNCTION crm.frequent_itemsets(
    baskets regclass, basket_col name, item_col name, min_support double precision,
    max_len integer DEFAULT 10, min_count bigint DEFAULT NULL, max_itemsets bigint DEFAULT 1000000)
RETURNS TABLE (itemset bigint[], count bigint, support double precision)
AS 'MODULE_PATHNAME', 'crm_frequent_itemsets'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.frequent_itemsets(regclass, name, name, double precision, integer, bigint, bigint) IS
'Frequent itemsets (FP-growth) of a table of (basket, item) rows with integer items: every itemset of at most max_len '
'items found in at least min_support of the baskets (count >= ceil(min_support x baskets), as arules; min_count '
'raises it), with its count and support. Duplicate items in a basket count once; NULL items and baskets are ignored. '
'More than max_itemsets itemsets is an error (54000), as is more memory than crm.max_fit_memory (53200).';

CREATE FUNCTION crm.frequent_itemsets_typed(
    baskets regclass, basket_col name, item_col name, min_support double precision, key_type anyelement,
    max_len integer DEFAULT 10, min_count bigint DEFAULT NULL, max_itemsets bigint DEFAULT 1000000)
RETURNS TABLE (itemset anyarray, count bigint, support double precision)
AS 'MODULE_PATHNAME', 'crm_frequent_itemsets_typed'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.frequent_itemsets_typed(regclass, name, name, double precision, anyelement, integer, bigint, bigint) IS
'crm.frequent_itemsets with the items in their own type: key_type => NULL::text for text items (or NULL::integer ...).';

CREATE FUNCTION crm.association_rules(
    baskets regclass, basket_col name, item_col name, min_support double precision,
    min_confidence double precision DEFAULT 0.8, min_lift double precision DEFAULT 0,
    max_len integer DEFAULT 10, min_len integer DEFAULT 1, multi_item_consequents boolean DEFAULT false,
    antecedent_includes text[] DEFAULT NULL, consequent_among text[] DEFAULT NULL, max_rules bigint DEFAULT 1000000)
RETURNS TABLE (antecedent bigint[], consequent bigint[], count bigint, support double precision,
               confidence double precision, lift double precision, leverage double precision,
               conviction double precision, coverage double precision)
AS 'MODULE_PATHNAME', 'crm_association_rules'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.association_rules(regclass, name, name, double precision, double precision, double precision, integer, integer, boolean, text[], text[], bigint) IS
'Association rules antecedent => consequent of a table of (basket, item) rows with integer items, as R arules'' '
'apriori makes them: single-item consequents (multi_item_consequents for more), support, confidence (>= '
'min_confidence), lift (>= min_lift), leverage, conviction (Infinity when the confidence is 1) and coverage; rule '
'length between min_len and max_len; antecedent_includes: only rules whose antecedent holds all these items; '
'consequent_among: only rules whose consequent items are among these (items as text).';

CREATE FUNCTION crm.association_rules_typed(
    baskets regclass, basket_col name, item_col name, min_support double precision, key_type anyelement,
    min_confidence double precision DEFAULT 0.8, min_lift double precision DEFAULT 0,
    max_len integer DEFAULT 10, min_len integer DEFAULT 1, multi_item_consequents boolean DEFAULT false,
    antecedent_includes text[] DEFAULT NULL, consequent_among text[] DEFAULT NULL, max_rules bigint DEFAULT 1000000)
RETURNS TABLE (antecedent anyarray, consequent anyarray, count bigint, support double precision,
               confidence double precision, lift double precision, leverage double precision,
               conviction double precision, coverage double precision)
AS 'MODULE_PATHNAME', 'crm_association_rules_typed'
LANGUAGE C VOLATILE PARALLEL RESTRICTED CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm.association_rules_typed(regclass, name, name, double precision, anyelement, double precision, double precision, integer, integer, boolean, text[], text[], bigint) IS
'crm.association_rules with the items in their own type: key_type => NULL::text for text items.';

-- "Frequently bought together": items to add to a cart from a stored rule set.
CREATE FUNCTION crm.frequently_bought_together(rules regclass, cart anyarray, n integer DEFAULT 10)
RETURNS TABLE (item anyelement, confidence double precision, lift double precision, rank integer)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rules_type regtype;
BEGIN
    IF rules IS NULL OR n IS NULL THEN
        RAISE EXCEPTION 'frequently_bought_together: rules and n must not be NULL' USING ERRCODE = '22004';
    END IF;
    IF n < 1 THEN
        RAISE EXCEPTION 'frequently_bought_together: n must be at least 1, got %', n USING ERRCODE = '22023';
    END IF;
    PERFORM crm._require_relation(rules, 'frequently_bought_together', 'rules');
    IF cart IS NULL THEN
        RETURN;
    END IF;
    SELECT a.atttypid::regtype INTO rules_type FROM pg_catalog.pg_attribute a
    WHERE a.attrelid = rules AND a.attname = 'antecedent' AND a.attnum > 0 AND NOT a.attisdropped;
    IF rules_type IS NULL THEN
        RAISE EXCEPTION 'frequently_bought_together: % has no column antecedent (the columns of crm.association_rules)', rules
            USING ERRCODE = '42703';
    END IF;
    IF rules_type <> pg_catalog.pg_typeof(cart) THEN
        RAISE EXCEPTION 'frequently_bought_together: the cart is %, the rules'' items are %', pg_catalog.pg_typeof(cart), rules_type
            USING ERRCODE = '42804', HINT = format('Cast the cart: ARRAY[...]::%s.', rules_type);
    END IF;
    -- A rule matches when its antecedent is in the cart and its consequent is not wholly in it; an item
    -- scores by its best matching rule (confidence, then lift); ties by the item.
    RETURN QUERY EXECUTE format($q$
        SELECT b.item, b.confidence, b.lift, (row_number() OVER (ORDER BY b.confidence DESC, b.lift DESC, b.item))::integer
        FROM (SELECT DISTINCT ON (c.item) c.item, r.confidence, r.lift
              FROM %s r CROSS JOIN LATERAL unnest(r.consequent) AS c(item)
              WHERE r.antecedent <@ $1 AND NOT r.consequent <@ $1 AND NOT c.item = ANY ($1)
              ORDER BY c.item, r.confidence DESC, r.lift DESC) b
        ORDER BY 4 LIMIT $2 $q$, rules)
    USING cart, n;
END
$$;
COMMENT ON FUNCTION crm.frequently_bought_together(regclass, anyarray, integer) IS
'The top n items to add to a cart (an array of items) from a rules table with the columns of crm.association_rules '
'(antecedent, consequent, confidence, lift): rules whose antecedent is in the cart, each item ranked by its best rule''s '
'confidence, then lift, then the item itself.';

-- The aggregate form: rules per group (store, region, month ...), composable with any query.
CREATE TYPE crm.association_rule AS (
    antecedent bigint[],
    consequent bigint[],
    count bigint,
    support double precision,
    confidence double precision,
    lift double precision,
    leverage double precision,
    conviction double precision,
    coverage double precision);
COMMENT ON TYPE crm.association_rule IS
'One association rule antecedent => consequent with its count and measures (as crm.association_rules returns them).';

CREATE FUNCTION crm._basket_rules_transfn(internal, bigint, bigint, double precision, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_basket_rules_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._basket_rules_transfn(internal, bigint, bigint, double precision, double precision)
IS 'Transition function of crm.association_rules_agg over (basket, item) rows (internal).';
CREATE FUNCTION crm._basket_rules_array_transfn(internal, bigint[], double precision, double precision)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_basket_rules_array_transfn' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._basket_rules_array_transfn(internal, bigint[], double precision, double precision)
IS 'Transition function of crm.association_rules_agg over item arrays, one basket per row (internal).';
CREATE FUNCTION crm._basket_rules_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_basket_rules_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._basket_rules_combine(internal, internal) IS 'Combine function of crm.association_rules_agg (internal).';
CREATE FUNCTION crm._basket_rules_serial(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'crm_basket_rules_serial' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm._basket_rules_serial(internal) IS 'Serialises the crm.association_rules_agg state (internal).';
CREATE FUNCTION crm._basket_rules_deserial(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_basket_rules_deserial' LANGUAGE C IMMUTABLE PARALLEL SAFE STRICT;
COMMENT ON FUNCTION crm._basket_rules_deserial(bytea, internal) IS 'Reads a serialised crm.association_rules_agg state (internal).';
CREATE FUNCTION crm._basket_rules_merge_bytea(internal, bytea)
RETURNS internal AS 'MODULE_PATHNAME', 'crm_basket_rules_merge_bytea' LANGUAGE C IMMUTABLE PARALLEL SAFE CALLED ON NULL INPUT;
COMMENT ON FUNCTION crm._basket_rules_merge_bytea(internal, bytea) IS 'Merges a serialised partial state (internal).';
CREATE FUNCTION crm._basket_rules_final(internal)
RETURNS crm.association_rule[] AS 'MODULE_PATHNAME', 'crm_basket_rules_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION crm._basket_rules_final(internal) IS 'Final function of crm.association_rules_agg: mines the group (internal).';

CREATE AGGREGATE crm.association_rules_agg(basket bigint, item bigint, min_support double precision,
                                           min_confidence double precision) (
    SFUNC = crm._basket_rules_transfn, STYPE = internal,
    COMBINEFUNC = crm._basket_rules_combine, SERIALFUNC = crm._basket_rules_serial,
    DESERIALFUNC = crm._basket_rules_deserial, FINALFUNC = crm._basket_rules_final, FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.association_rules_agg(bigint, bigint, double precision, double precision) IS
'The association rules of the (basket, item) rows of a group, as crm.association_rules makes them (single-item '
'consequents), as an array of crm.association_rule: SELECT store, (unnest(crm.association_rules_agg(...))).* ... '
'GROUP BY store. NULL baskets and items are ignored.';
CREATE AGGREGATE crm.association_rules_agg(items bigint[], min_support double precision,
                                           min_confidence double precision) (
    SFUNC = crm._basket_rules_array_transfn, STYPE = internal,
    COMBINEFUNC = crm._basket_rules_combine, SERIALFUNC = crm._basket_rules_serial,
    DESERIALFUNC = crm._basket_rules_deserial, FINALFUNC = crm._basket_rules_final, FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.association_rules_agg(bigint[], double precision, double precision) IS
'crm.association_rules_agg over item arrays, one basket per row (NULL elements ignored; an array without a '
'non-NULL item is no basket, as in the row form).';
CREATE AGGREGATE crm.association_rules_agg_partial(basket bigint, item bigint, min_support double precision,
                                                   min_confidence double precision) (
    SFUNC = crm._basket_rules_transfn, STYPE = internal,
    COMBINEFUNC = crm._basket_rules_combine, SERIALFUNC = crm._basket_rules_serial,
    DESERIALFUNC = crm._basket_rules_deserial, FINALFUNC = crm._basket_rules_serial, PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.association_rules_agg_partial(bigint, bigint, double precision, double precision) IS
'The state of crm.association_rules_agg as bytea (per shard); combine with crm.association_rules_agg_combine. A '
'basket split across shards is merged by its key.';
CREATE AGGREGATE crm.association_rules_agg_combine(partial_state bytea) (
    SFUNC = crm._basket_rules_merge_bytea, STYPE = internal,
    COMBINEFUNC = crm._basket_rules_combine, SERIALFUNC = crm._basket_rules_serial,
    DESERIALFUNC = crm._basket_rules_deserial, FINALFUNC = crm._basket_rules_final, FINALFUNC_MODIFY = READ_WRITE,
    PARALLEL = SAFE);
COMMENT ON AGGREGATE crm.association_rules_agg_combine(bytea) IS
'Combines states from crm.association_rules_agg_partial into the result of crm.association_rules_agg.';

-- Rules as a recommendation source: each customer's own items are the cart.
CREATE FUNCTION crm.rules_recommend_batch(
    rules regclass, orders regclass, customer_col name, item_col name,
    users bigint[] DEFAULT NULL, n integer DEFAULT 10, date_col name DEFAULT NULL,
    since interval DEFAULT NULL)
RETURNS TABLE (user_id bigint, rank integer, item_id bigint, score double precision, reason text)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF rules IS NULL OR orders IS NULL OR customer_col IS NULL OR item_col IS NULL OR n IS NULL THEN
        RAISE EXCEPTION 'rules_recommend_batch: rules, orders, customer_col, item_col and n must not be NULL'
            USING ERRCODE = '22004';
    END IF;
    IF n < 1 THEN
        RAISE EXCEPTION 'rules_recommend_batch: n must be at least 1, got %', n USING ERRCODE = '22023';
    END IF;
    IF since IS NOT NULL AND date_col IS NULL THEN
        RAISE EXCEPTION 'rules_recommend_batch: since needs date_col' USING ERRCODE = '22023';
    END IF;
    PERFORM crm._require_relation(rules, 'rules_recommend_batch', 'rules');
    PERFORM crm._require_relation(orders, 'rules_recommend_batch', 'orders');
    -- A customer's cart: the items they bought (within since of their last order, when given). An item
    -- scores by its best rule whose antecedent is in the cart (confidence, then lift); items the
    -- customer has are never recommended. Cost: rules x customers antecedent checks.
    RETURN QUERY EXECUTE format($q$
        WITH lines AS (
            SELECT %1$I::bigint AS user_id, %2$I::bigint AS item %3$s
            FROM %4$s WHERE %1$I IS NOT NULL AND %2$I IS NOT NULL AND ($1 IS NULL OR %1$I::bigint = ANY ($1))),
        carts AS (
            SELECT l.user_id, pg_catalog.array_agg(DISTINCT l.item) AS cart FROM lines l %5$s GROUP BY l.user_id),
        candidates AS (
            SELECT DISTINCT ON (c.user_id, i.item) c.user_id, i.item, r.confidence, r.lift, r.antecedent
            FROM carts c JOIN %6$s r ON r.antecedent <@ c.cart
            CROSS JOIN LATERAL unnest(r.consequent) AS i(item)
            WHERE NOT i.item = ANY (c.cart)
            ORDER BY c.user_id, i.item, r.confidence DESC, r.lift DESC),
        ranked AS (
            SELECT c.*, row_number() OVER (PARTITION BY c.user_id ORDER BY c.confidence DESC, c.lift DESC, c.item) AS rnk
            FROM candidates c)
        SELECT user_id, rnk::integer, item, confidence,
               'rule: ' || CASE WHEN cardinality(antecedent) = 0 THEN 'popular' ELSE antecedent::text END
               || ' => ' || item
        FROM ranked WHERE rnk <= $2 ORDER BY user_id, rnk $q$,
        customer_col, item_col,
        CASE WHEN date_col IS NULL THEN '' ELSE format(', %I::timestamptz AS at', date_col) END,
        orders,
        CASE WHEN since IS NULL THEN ''
             ELSE 'WHERE l.at >= (SELECT max(m.at) FROM lines m WHERE m.user_id = l.user_id) - $3' END,
        rules)
    USING users, n, since;
END
$$;
COMMENT ON FUNCTION crm.rules_recommend_batch(regclass, regclass, name, name, bigint[], integer, name, interval) IS
'Top-n items per customer from a stored rule set (the columns of crm.association_rules): each customer''s items (those '
'bought within since of their last order, when date_col and since are given) are the cart; an item scores by the '
'confidence of its best matching rule; the reason names the rule. Returns the recommenders'' shape (user_id, rank, '
'item_id, score, reason); items the customer has are left out.';
