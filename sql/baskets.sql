-- Market baskets: itemsets and rules on hand-countable baskets, text items, constraints, bad input.
\set VERBOSITY terse
-- Five baskets (b5 holds a duplicate and a NULL item, b6 only a NULL):
--   b1 {1,2,3}  b2 {1,2}  b3 {1,3}  b4 {2}  b5 {1,2}
-- counts: {1} 4, {2} 4, {3} 2, {1,2} 3, {1,3} 2, {2,3} 1, {1,2,3} 1; 5 baskets.
CREATE TABLE lines (basket text, item int);
INSERT INTO lines VALUES ('b1', 1), ('b1', 2), ('b1', 3), ('b2', 1), ('b2', 2), ('b3', 1), ('b3', 3), ('b4', 2),
  ('b5', 1), ('b5', 2), ('b5', 2), ('b5', NULL), ('b6', NULL), (NULL, 3);
SELECT itemset, count, support FROM crm.frequent_itemsets('lines', 'basket', 'item', 0.4) ORDER BY cardinality(itemset), itemset;
SELECT itemset, count FROM crm.frequent_itemsets('lines', 'basket', 'item', 0.2, max_len => 2) ORDER BY cardinality(itemset), itemset;
-- Rules at support 0.4, confidence 0.6: 1 => 2 (3/4 = 0.75, lift 0.75 / 0.8 = 0.9375), 2 => 1 (0.75),
-- 3 => 1 (2/2 = 1: conviction Infinity), 1 => 3 (2/4 = 0.5, out), and {} => 1, {} => 2 (0.8).
SELECT antecedent, consequent, count, support, confidence, lift, round(leverage::numeric, 6) AS leverage,
       conviction, coverage
FROM crm.association_rules('lines', 'basket', 'item', 0.4, min_confidence => 0.6)
ORDER BY cardinality(antecedent), antecedent, consequent;
-- min_len 2 drops the empty antecedents; constraints select rules about some items only.
SELECT antecedent, consequent FROM crm.association_rules('lines', 'basket', 'item', 0.4, min_confidence => 0.6, min_len => 2)
ORDER BY antecedent, consequent;
SELECT antecedent, consequent FROM crm.association_rules('lines', 'basket', 'item', 0.2, min_confidence => 0.4, consequent_among => ARRAY['3'])
ORDER BY antecedent, consequent;
SELECT antecedent, consequent FROM crm.association_rules('lines', 'basket', 'item', 0.2, min_confidence => 0.4, min_len => 2,
                                                         antecedent_includes => ARRAY['3'])
ORDER BY antecedent, consequent;
-- A repeated item in antecedent_includes is the same constraint.
SELECT count(*) FROM crm.association_rules('lines', 'basket', 'item', 0.2, min_confidence => 0.4, min_len => 2,
                                           antecedent_includes => ARRAY['3', '3']);
SELECT antecedent, consequent, confidence FROM crm.association_rules('lines', 'basket', 'item', 0.2, min_confidence => 0.9,
                                                                     multi_item_consequents => true, min_len => 2)
ORDER BY antecedent, consequent;
-- Text items in their own type; the rules table serves "frequently bought together".
CREATE TABLE text_lines AS SELECT basket, CASE item WHEN 1 THEN 'milk' WHEN 2 THEN 'bread' ELSE 'butter' END AS item
FROM lines WHERE item IS NOT NULL;
CREATE TABLE text_rules AS
SELECT * FROM crm.association_rules_typed('text_lines', 'basket', 'item', 0.2, NULL::text, min_confidence => 0.3, min_len => 2);
SELECT antecedent, consequent, count FROM text_rules ORDER BY antecedent, consequent;
SELECT * FROM crm.frequently_bought_together('text_rules', ARRAY['butter']);
SELECT * FROM crm.frequently_bought_together('text_rules', ARRAY['milk', 'bread']);
SELECT count(*) FROM crm.frequently_bought_together('text_rules', ARRAY['caviar']);
-- A cart of another type than the rules' items: 42804 with a hint to cast.
SELECT sqlstate_of($$SELECT * FROM crm.frequently_bought_together('text_rules', ARRAY[1, 2])$$);
-- The aggregate form gives the same rules, per group too, from rows or from item arrays.
CREATE TABLE int_lines AS SELECT substr(basket, 2)::bigint AS basket, item::bigint FROM lines WHERE basket IS NOT NULL;
SELECT (SELECT array_agg(r::text ORDER BY r::text) FROM unnest(crm.association_rules_agg(basket, item, 0.4, 0.6)) r)
     = (SELECT array_agg(r::text ORDER BY r::text) FROM crm.association_rules('int_lines', 'basket', 'item', 0.4, min_confidence => 0.6) r)
       AS aggregate_equals_one_call
FROM int_lines;
SELECT basket % 2 AS half, cardinality(crm.association_rules_agg(basket, item, 0.5, 0.5)) AS rules
FROM int_lines GROUP BY 1 ORDER BY 1;
SELECT cardinality(crm.association_rules_agg(items, 0.4, 0.6)) AS from_arrays
FROM (SELECT array_agg(item) AS items FROM int_lines GROUP BY basket) s;
SELECT cardinality(crm.association_rules_agg_combine(p)) AS from_partials
FROM (SELECT crm.association_rules_agg_partial(basket, item, 0.4, 0.6) AS p FROM int_lines GROUP BY basket % 3) s;
SELECT sqlstate_of($$SELECT crm.association_rules_agg(basket, item, 0.4, CASE WHEN basket > 2 THEN 0.6 ELSE 0.5 END) FROM int_lines$$);

-- Rules as a recommendation source: each customer's own items are the cart.
CREATE TABLE int_rules AS SELECT * FROM crm.association_rules('int_lines', 'basket', 'item', 0.2, min_confidence => 0.3, min_len => 2);
CREATE TABLE purchases (customer int, product int, bought date);
INSERT INTO purchases VALUES (10, 3, '2025-01-01'), (11, 1, '2025-01-01'), (11, 2, '2025-01-02'), (12, 9, '2025-01-01'),
  (13, 3, '2024-01-01'), (13, 2, '2025-01-05');
SELECT * FROM crm.rules_recommend_batch('int_rules', 'purchases', 'customer', 'product');
-- Only the last 30 days of each customer's history: customer 13's old item 3 no longer counts.
SELECT * FROM crm.rules_recommend_batch('int_rules', 'purchases', 'customer', 'product', users => ARRAY[13]::bigint[],
                                        date_col => 'bought', since => '30 days');
SELECT sqlstate_of($$SELECT * FROM crm.rules_recommend_batch('int_rules', 'purchases', 'customer', 'product', since => '1 day')$$);

-- Empty table: no rows, not an error.
CREATE TABLE no_lines (basket int, item bigint);
SELECT count(*) FROM crm.association_rules('no_lines', 'basket', 'item', 0.5);

-- Bad input.
SELECT sqlstate_of($$SELECT * FROM crm.frequent_itemsets('lines', 'basket', 'item', 0)$$);
SELECT sqlstate_of($$SELECT * FROM crm.frequent_itemsets('lines', 'basket', 'item', 1.5)$$);
SELECT sqlstate_of($$SELECT * FROM crm.frequent_itemsets('lines', 'basket', 'item', 0.5, max_len => 0)$$);
SELECT sqlstate_of($$SELECT * FROM crm.association_rules('lines', 'basket', 'item', 0.5, min_confidence => 1.2)$$);
SELECT sqlstate_of($$SELECT * FROM crm.association_rules('lines', 'basket', 'nope', 0.5)$$);
SELECT sqlstate_of($$SELECT * FROM crm.association_rules('text_lines', 'basket', 'item', 0.5)$$);
SELECT sqlstate_of($$SELECT * FROM crm.frequent_itemsets_typed('lines', 'basket', 'item', 0.5, NULL::text)$$);
SELECT sqlstate_of($$SELECT * FROM crm.frequent_itemsets('lines', 'basket', 'item', NULL)$$);
SELECT sqlstate_of($$SELECT * FROM crm.frequent_itemsets('lines', 'basket', 'item', 0.2, max_itemsets => 3)$$);
SET crm.max_fit_memory = '1MB';
CREATE TABLE many_lines AS SELECT g / 8 AS basket, (g * 7919) % 3000 AS item FROM generate_series(1, 200000) g;
SELECT sqlstate_of($$SELECT * FROM crm.frequent_itemsets('many_lines', 'basket', 'item', 0.0001)$$);
RESET crm.max_fit_memory;
SELECT sqlstate_of($$SELECT * FROM crm.frequently_bought_together('text_rules', ARRAY['milk'], 0)$$);
