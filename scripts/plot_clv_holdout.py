#!/usr/bin/env python3
"""Draws docs/clv_holdout.png from SQL output, as the BG/NBD paper's tracking
plot: the sample customers' cumulative repeat purchases week by week after
the calibration period, actual against predicted by the BG/NBD model fitted to
the calibration period (crm.customer_summary, crm.bgnbd_fit,
crm.expected_purchases). Expects PGHOST/PGPORT/PGUSER of a cluster with the
sample data (see scripts/make_figures.sh). Needs python3-matplotlib."""
import csv
import io
import subprocess
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

PSQL = "/usr/lib/postgresql/15/bin/psql"
CALIBRATION_END = "2024-06-30"
WEEKS = 26


def query(sql):
    out = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--csv", "-c", sql],
                         capture_output=True, text=True, check=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


rows = query(f"""
    WITH days AS (SELECT DISTINCT customer_id, ordered_at::date AS day FROM crm_sample.orders),
    summaries AS (
        SELECT customer_id, crm.customer_summary(ordered_at::date, amount::float8, date '{CALIBRATION_END}') AS s
        FROM crm_sample.orders GROUP BY 1),
    model AS (SELECT crm.bgnbd_fit((s).frequency, (s).recency, (s).age) AS m FROM summaries WHERE (s).age > 0),
    weeks AS (SELECT generate_series(1, {WEEKS}) AS w)
    SELECT w,
           (SELECT sum(crm.expected_purchases(m, (s).frequency, (s).recency, (s).age, w))
            FROM summaries, model WHERE s IS NOT NULL) AS predicted,
           (SELECT count(*) FROM days d JOIN summaries c USING (customer_id)
            WHERE c.s IS NOT NULL AND d.day > date '{CALIBRATION_END}'
              AND d.day <= date '{CALIBRATION_END}' + 7 * w) AS actual
    FROM weeks ORDER BY w""")

weeks = [int(r["w"]) for r in rows]
fig, ax = plt.subplots(figsize=(7.5, 4.2), dpi=110)
ax.plot(weeks, [float(r["actual"]) for r in rows], "-", color="#1f77b4", lw=2, label="actual")
ax.plot(weeks, [float(r["predicted"]) for r in rows], "--", color="#d62728", lw=2,
        label="BG/NBD fitted to the calibration period")
ax.set_title("Sample customers: cumulative repeat purchases after " + CALIBRATION_END)
ax.set_xlabel("weeks after the calibration period")
ax.set_ylabel("cumulative repeat purchase days")
ax.legend(loc="upper left")
ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(sys.argv[1] if len(sys.argv) > 1 else "docs/clv_holdout.png")
print(f"week {weeks[-1]}: actual {rows[-1]['actual']}, predicted {float(rows[-1]['predicted']):.1f}")
