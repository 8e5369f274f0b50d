"""The main functions through psycopg2, as application code calls them:
parameter binding of arrays, composite and model values coming back readable,
errors with their SQLSTATE. Connection settings from PGHOST/PGPORT/PGUSER/PGDATABASE."""
import json
import sys

import psycopg2
import psycopg2.errors

conn = psycopg2.connect("")
conn.autocommit = True
cur = conn.cursor()
checks = []

def check(name, ok):
    checks.append((name, bool(ok)))
    print(f"  psycopg2: {'ok' if ok else 'FAILED'}: {name}")

cur.execute("SELECT customer_key, segment FROM crm.rfm_analyze(%s, %s, %s, %s, as_of => %s) ORDER BY 1 LIMIT 3",
            ("drv_orders", "customer_id", "ordered_at", "amount", "2025-01-01"))
rows = cur.fetchall()
check("rfm_analyze with bound table and column names", len(rows) == 3 and isinstance(rows[0][0], int))

cur.execute("SELECT crm.weighted_score(%s, %s)", ([1.0, 2.0, 3.0], [0.5, 0.25, 1.0]))
check("float8[] parameters from Python lists", cur.fetchone()[0] == 4.0)

cur.execute("SELECT user_id, item_id, prediction FROM crm.cf_predict('drv_ratings', 'u', 'i', 'r', %s, %s)",
            ([1, 2], [3, 3]))
check("bigint[] parameters for cf_predict", len(cur.fetchall()) == 2)

cur.execute("SELECT crm.campaign_uplift(treated, revenue) FROM drv_results")
text = cur.fetchone()[0]
check("composite result readable as text", isinstance(text, str) and text.startswith("("))
cur.execute("SELECT (u).uplift, (u).p_value FROM (SELECT crm.campaign_uplift(treated, revenue) AS u FROM drv_results) s")
uplift, p = cur.fetchone()
check("composite fields as columns", isinstance(uplift, float) and 0 <= p <= 1)

cur.execute("SELECT model::text FROM drv_models")
model = json.loads(cur.fetchone()[0])
check("kmeans_model comes back as JSON", model["format"] == "crm.kmeans_model" and model["version"] == 1)
cur.execute("SELECT crm.kmeans_assign(model, %s) FROM drv_models", ([10.0, 5.0],))
check("kmeans_assign with a bound array", 1 <= cur.fetchone()[0] <= 3)

for sql, params, code in [
    ("SELECT * FROM crm.rfm_analyze(%s, %s, %s, %s, bins => %s)", ("drv_orders", "customer_id", "ordered_at", "amount", 11), "22023"),
    ("SELECT * FROM crm.rfm_analyze(%s, %s, %s, %s)", ("drv_orders", "nope", "ordered_at", "amount"), "42703"),
    ("SELECT crm.campaign_roi(%s, %s)", (100, 0), "22012"),
    ("SELECT crm.weighted_score(%s, %s)", ([1.0, 2.0], [1.0]), "22023"),
]:
    try:
        cur.execute(sql, params)
        check(f"error {code} raised", False)
    except psycopg2.Error as e:
        check(f"error arrives with SQLSTATE {code} ({e.pgerror.splitlines()[0][:60]})", e.pgcode == code)
sys.exit(0 if all(ok for _, ok in checks) else 1)
