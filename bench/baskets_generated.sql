-- Frequent itemsets in 1M generated baskets: 5 to 15 draws each (10 on average) from a 10k-item
-- catalogue with a long tail (log-uniform ranks: item i drawn with probability about 1 / ((i + 1.5) ln 10^4)),
-- plus planted co-purchases: a fifth of the baskets also hold one of 100 four-item bundles
-- (items 5000 + 4j to 5000 + 4j + 3, each bundle in about 2,000 baskets). Support 0.0005 (count >= 500),
-- max_len 4. Target: within 5x of the bare scan that builds each basket's array.

-- @setup
DROP TABLE IF EXISTS bench_basket_lines;
CREATE TABLE bench_basket_lines AS
SELECT DISTINCT basket, item FROM (
    SELECT b AS basket, floor(exp(((hashint4(b * 16 + k) & 2147483647) / 2147483648.0) * ln(10000)))::int - 1 AS item
    FROM generate_series(1, 1000000) b, generate_series(1, 15) k
    WHERE k <= 5 + (hashint4(b) & 2147483647) % 11
    UNION ALL
    SELECT b, 5000 + 4 * ((hashint4(b + 777) & 2147483647) % 100) + j
    FROM generate_series(1, 1000000) b, generate_series(0, 3) j
    WHERE (hashint4(b + 555) & 2147483647) % 5 = 0) s;
VACUUM ANALYZE bench_basket_lines;

-- @ours crm.frequent_itemsets, support 0.0005, max_len 4
SELECT count(*), sum(count), max(cardinality(itemset))
FROM crm.frequent_itemsets('bench_basket_lines', 'basket', 'item', 0.0005, max_len => 4);

-- @baseline bare scan as the issue words it (PostgreSQL drops the unused array_agg: a GROUP BY basket)
SELECT count(*) FROM (SELECT basket, array_agg(item) FROM bench_basket_lines GROUP BY basket) s;

-- @baseline bare scan that really builds each basket's array (what ours reads)
SELECT count(*), sum(cardinality(items)) FROM (SELECT basket, array_agg(item) AS items FROM bench_basket_lines GROUP BY basket) s;
