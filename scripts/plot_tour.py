#!/usr/bin/env python3
"""Draws the tour figures from SQL output on the sample data:
docs/segments.png (customers and revenue per RFM segment) and
docs/clusters.png (k-means cluster profiles in standard units, with labels).
Expects PGHOST/PGPORT/PGUSER of a cluster with the sample data (see
scripts/make_figures.sh). Needs python3-matplotlib."""
import csv
import io
import subprocess
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

PSQL = "/usr/lib/postgresql/15/bin/psql"
out_dir = sys.argv[1] if len(sys.argv) > 1 else "docs"


def query(sql):
    out = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--csv", "-c", sql],
                         capture_output=True, text=True, check=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


seg = query("""
    SELECT segment, count(*) AS customers, sum(monetary) AS revenue
    FROM crm.rfm_analyze('crm_sample.orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01')
    GROUP BY segment ORDER BY sum(monetary)""")
names = [r["segment"] for r in seg]
cust = [int(r["customers"]) for r in seg]
rev = [float(r["revenue"]) for r in seg]
tot_c, tot_r = sum(cust), sum(rev)
fig, ax = plt.subplots(figsize=(8, 4.4), dpi=110)
y = range(len(names))
ax.barh([i + 0.2 for i in y], [100 * c / tot_c for c in cust], height=0.4, color="#9ecae1", label="% of customers")
ax.barh([i - 0.2 for i in y], [100 * r / tot_r for r in rev], height=0.4, color="#08519c", label="% of revenue")
ax.set_yticks(list(y))
ax.set_yticklabels(names)
ax.set_xlabel("percent")
ax.set_title("crm.rfm_analyze on the sample data: customers and revenue per segment")
ax.legend(loc="lower right")
ax.grid(axis="x", alpha=0.3)
fig.tight_layout()
fig.savefig(f"{out_dir}/segments.png")

clusters = query("""
    WITH m AS (SELECT crm.kmeans_fit(ARRAY[recency_days, frequency, monetary],
                        crm.kmeans_options(5, seed => 1, feature_names => ARRAY['recency_days', 'frequency', 'monetary'])) AS model
               FROM crm.rfm_analyze('crm_sample.orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01'))
    SELECT c.cluster, c.size, c.label, c.centroid_scaled[1] AS r, c.centroid_scaled[2] AS f, c.centroid_scaled[3] AS m
    FROM m, crm.kmeans_clusters(m.model) c ORDER BY c.centroid_scaled[3] DESC""")
fig, ax = plt.subplots(figsize=(8, 4.4), dpi=110)
width = 0.25
for j, (key, name, colour) in enumerate([("r", "recency (days)", "#fdae6b"), ("f", "frequency", "#74c476"),
                                         ("m", "monetary", "#6baed6")]):
    ax.bar([i + (j - 1) * width for i in range(len(clusters))], [float(c[key]) for c in clusters], width,
           label=name, color=colour)
ax.axhline(0, color="black", lw=0.8)
ax.set_xticks(range(len(clusters)))
ax.set_xticklabels([f"{c['label'].split(' (')[0]}\n{c['size']} customers" for c in clusters], fontsize=8)
ax.set_ylabel("centroid, standard units (z-score)")
ax.set_title("crm.kmeans_fit (k = 5) on RFM values: cluster profiles and crm.kmeans_labels names")
ax.legend(fontsize=8)
ax.grid(axis="y", alpha=0.3)
fig.tight_layout()
fig.savefig(f"{out_dir}/clusters.png")
