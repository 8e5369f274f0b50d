-- Implicit ALS fit on the 1.08M-rating data set of the performance issue (50k users, 20k items, steep
-- popularity), 16 factors, regularization 5, alpha 2, 10 iterations, binarised (a column of ones):
-- crm.als_fit against the same ALS in numpy (bench/als_reference.py), and SVD's fit for scale.

-- @setup
DROP TABLE IF EXISTS lat_r;
CREATE TABLE lat_r AS SELECT DISTINCT ON (u, i) u, i, r FROM (SELECT
  (abs(hashint4(g)) % 50000) + 1 AS u, (floor(20000 * power((abs(hashint4(g + 99)) % 1000000) / 1000000.0,
  3)))::int + 1 AS i, ((abs(hashint4(g + 7)) % 5) + 1)::float8 AS r FROM generate_series(1, 1100000) g) s;
ALTER TABLE lat_r ADD COLUMN bought int DEFAULT 1;
VACUUM ANALYZE lat_r;

-- @ours crm.als_fit: 16 factors, 10 iterations, both cores
SELECT round((crm.factor_model_info(crm.als_fit('lat_r', 'u', 'i', 'bought', factors => 16, regularization => 5,
                                                alpha => 2, iterations => 10)) ->> 'training_mse')::numeric, 6);

-- @python numpy ALS (bench/als_reference.py), the same model and sizes
import sys
sys.path.insert(0, "bench")
import als_reference
sys.argv = ["als_reference.py", "lat_r", "u", "i", "bought", "16", "5", "2", "10"]
als_reference.main()
