#!/usr/bin/env python3
"""Draws docs/cohort_retention.png from SQL output: the monthly cohort-retention
triangle of the sample customers (crm.cohort_retention on crm_sample.orders),
one row per cohort (the month of a customer's first order, with its size), one
column per month since, and the percent of the cohort who ordered in that month
in each cell. Months are cut in UTC. Expects PGHOST/PGPORT/PGUSER (and
PGDATABASE) of a cluster with the sample data (see scripts/make_figures.sh).
Needs python3-matplotlib (with numpy and PIL)."""
import csv
import io
import os
import subprocess
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
from PIL import Image

PSQL = "/usr/lib/postgresql/15/bin/psql"


def query(sql):
    # ordered_at is a timestamptz: cut the months in UTC, whatever the server's TimeZone.
    out = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--csv", "-c", sql],
                         capture_output=True, text=True, check=True,
                         env=dict(os.environ, PGTZ="UTC")).stdout
    return list(csv.DictReader(io.StringIO(out)))


rows = query("""
    SELECT to_char(cohort, 'YYYY-MM') AS cohort, period_number, customers, retention
    FROM crm.cohort_retention('crm_sample.orders', 'customer_id', 'ordered_at', 'amount', 'month')
    ORDER BY cohort, period_number""")

cohorts = sorted({r["cohort"] for r in rows})
sizes = {r["cohort"]: int(r["customers"]) for r in rows}
periods = max(int(r["period_number"]) for r in rows) + 1
grid = np.full((len(cohorts), periods), np.nan)
for r in rows:
    grid[cohorts.index(r["cohort"]), int(r["period_number"])] = 100 * float(r["retention"])

# Month 0 is 100% by definition: scale the colours, in steps of 5 points, to the
# later months so that their differences show (month 0 takes the darkest colour).
later = grid[:, 1:]
vmax = 10 * np.ceil(np.nanmax(later) / 10) if np.isfinite(later).any() else 100
cmap = plt.get_cmap("YlGnBu").copy()
cmap.set_bad("white")
norm = mcolors.BoundaryNorm(np.arange(0, vmax + 5, 5), cmap.N, extend="max")
fig, ax = plt.subplots(figsize=(11, 7.6), dpi=100)
im = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, aspect="auto")
for i in range(len(cohorts)):
    for j in range(periods):
        v = grid[i, j]
        if np.isfinite(v):
            r, g, b, _ = cmap(norm(v))
            ax.text(j, i, "%.0f" % v, ha="center", va="center", fontsize=7,
                    color="white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black")
ax.set_xticks(range(periods))
ax.set_xticklabels([str(p) for p in range(periods)], fontsize=8)
ax.set_yticks(range(len(cohorts)))
ax.set_yticklabels(["%s (n=%d)" % (c, sizes[c]) for c in cohorts], fontsize=8)
ax.set_xticks(np.arange(-0.5, periods), minor=True)
ax.set_yticks(np.arange(-0.5, len(cohorts)), minor=True)
ax.grid(which="minor", color="white", lw=0.6)
ax.tick_params(which="minor", length=0)
ax.set_title("Sample customers: monthly cohort retention (crm.cohort_retention)")
ax.set_xlabel("months since the first order (period_number)")
ax.set_ylabel("cohort: month of the first order (customers)")
bar = fig.colorbar(im, ax=ax, fraction=0.035, pad=0.02, ticks=np.arange(0, vmax + 10, 10))
bar.set_label("% of the cohort who ordered in the month (month 0 = 100)")
fig.tight_layout()
# 300 annotated cells make a large truecolour PNG; as a 256-colour palette it is
# a quarter of the size and looks the same (the colours come in 5-point steps).
buf = io.BytesIO()
fig.savefig(buf, format="png")
buf.seek(0)
Image.open(buf).convert("RGB").quantize(256).save(
    sys.argv[1] if len(sys.argv) > 1 else "docs/cohort_retention.png", optimize=True)
print(f"{len(cohorts)} cohorts, {len(rows)} cells; month-1 retention "
      f"{np.nanmin(grid[:, 1]):.0f}-{np.nanmax(grid[:, 1]):.0f}%")
