-- Item pairs on Groceries (9,835 baskets, 169 items; read from ../shared/data beside the checkout,
-- not shipped: the benchmark is skipped when it is absent) at support 0.001 (count >= 10), against
-- the plain-SQL self-join that counts co-occurring pairs. Target: at least 20x faster.

-- @setup
DROP TABLE IF EXISTS bench_grocery_raw, bench_grocery_lines;
CREATE TABLE bench_grocery_raw (basket serial, line text);
\copy bench_grocery_raw (line) FROM '../shared/data/groceries/groceries.csv'
-- One row per (basket, item), items as text and as integer ids.
CREATE TABLE bench_grocery_lines AS
SELECT basket, item, dense_rank() OVER (ORDER BY item)::int AS item_id
FROM bench_grocery_raw, unnest(string_to_array(line, ',')) AS item;
VACUUM ANALYZE bench_grocery_lines;

-- @ours crm.frequent_itemsets_typed, text items, max_len 2 (single items and pairs)
SELECT count(*), sum(count), max(cardinality(itemset))
FROM crm.frequent_itemsets_typed('bench_grocery_lines', 'basket', 'item', 0.001, NULL::text, max_len => 2);

-- @ours crm.frequent_itemsets, integer item ids, max_len 2
SELECT count(*), sum(count), max(cardinality(itemset))
FROM crm.frequent_itemsets('bench_grocery_lines', 'basket', 'item_id', 0.001, max_len => 2);

-- @baseline plain SQL self-join counting co-occurring pairs, text items (pairs only)
SELECT count(*), sum(n)
FROM (SELECT a.item, b.item, count(*) AS n
      FROM bench_grocery_lines a JOIN bench_grocery_lines b ON a.basket = b.basket AND a.item < b.item
      GROUP BY 1, 2 HAVING count(*) >= 10) s;

-- @baseline plain SQL self-join counting co-occurring pairs, integer item ids (pairs only)
SELECT count(*), sum(n)
FROM (SELECT a.item_id, b.item_id, count(*) AS n
      FROM bench_grocery_lines a JOIN bench_grocery_lines b ON a.basket = b.basket AND a.item_id < b.item_id
      GROUP BY 1, 2 HAVING count(*) >= 10) s;
