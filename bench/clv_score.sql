-- Scoring 1M customers (bench_clv_sim, made by bench/clv_fit.sql's setup, which runs first) with
-- the BG/NBD and Gamma-Gamma models fitted to them, against a bare scan computing one arithmetic
-- expression per row. Targets: p_alive and expected_purchases within 3x of the scan, clv within 10x.
-- The model comes in as an uncorrelated scalar subquery (evaluated once); the last "ours" variant
-- shows what joining the one-row model table costs instead (a nested loop re-reads it per customer).

-- @setup
DROP TABLE IF EXISTS bench_clv_models;
CREATE TABLE bench_clv_models AS
SELECT crm.bgnbd_fit(frequency, recency, age) AS bg, crm.gammagamma_fit(frequency, monetary) AS gg FROM bench_clv_sim;

-- @ours crm.p_alive on each row
SELECT count(*), sum(crm.p_alive((SELECT bg FROM bench_clv_models), frequency, recency, age)) FROM bench_clv_sim;

-- @ours crm.expected_purchases over 52 weeks on each row
SELECT count(*), sum(crm.expected_purchases((SELECT bg FROM bench_clv_models), frequency, recency, age, 52))
FROM bench_clv_sim;

-- @ours crm.clv over 12 months on each row (12 monthly E[Y(t)] differences, discounted)
SELECT count(*), sum(crm.clv((SELECT bg FROM bench_clv_models), (SELECT gg FROM bench_clv_models),
                             frequency, recency, age, monetary))
FROM bench_clv_sim;

-- @ours crm.p_alive on each row, the model table joined (FROM bench_clv_sim, bench_clv_models)
SELECT count(*), sum(crm.p_alive(m.bg, frequency, recency, age)) FROM bench_clv_sim, bench_clv_models m;

-- @baseline bare scan: one arithmetic expression per row
SELECT count(*), sum(frequency * 2 + recency) FROM bench_clv_sim;
