-- crm.tree_predict with a depth-8 model on each of 1M rows of bench_tree (made by bench/trees_fit.sql's
-- setup, which runs first) against a bare scan computing one arithmetic expression per row (#19: within 3x).

-- @ours crm.tree_predict on each of 1M rows (depth-8 model)
SELECT sum(crm.tree_predict((SELECT m FROM bench_tree_model), f)) FROM bench_tree;

-- @baseline scan computing one arithmetic expression per row
SELECT sum(f[1] * 2 + f[10]) FROM bench_tree;
