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
