-- BG/NBD fit on 1M simulated customers (bench/clv_reference.py simulate: known parameters r 0.25,
-- alpha 4, a 0.8, b 2.5, fixed seed; ages in whole days, time in weeks), against the same
-- likelihood (FHL 2005 eq. 6, log-parameters) maximised with scipy on the data already in memory.
-- `bench/clv_reference.py check` shows that all three reach the same parameters to 1e-3.

-- @setup
DROP TABLE IF EXISTS bench_clv_sim;
CREATE TABLE bench_clv_sim (customer int, frequency float8, recency float8, age float8, monetary float8);
\copy bench_clv_sim FROM PROGRAM '/usr/bin/python3 bench/clv_reference.py simulate 1000000 20050101' WITH (FORMAT csv)
VACUUM ANALYZE bench_clv_sim;

-- @ours crm.bgnbd_fit over the 1M rows (L-BFGS, analytic gradient; identical rows counted once)
SELECT (m).r, (m).alpha, (m).a, (m).b, (m).converged
FROM (SELECT crm.bgnbd_fit(frequency, recency, age) AS m FROM bench_clv_sim) f;

-- @python scipy minimize, Nelder-Mead (as lifetimes before 0.11), vectorised numpy log-likelihood
import sys
sys.path.insert(0, "bench")
import clv_reference
sys.argv = ["clv_reference.py", "fit", "Nelder-Mead"]
clv_reference.main()

-- @python scipy minimize, L-BFGS-B (finite-difference gradient), vectorised numpy log-likelihood
import sys
sys.path.insert(0, "bench")
import clv_reference
sys.argv = ["clv_reference.py", "fit", "L-BFGS-B"]
clv_reference.main()
