#!/usr/bin/env python3
"""Draws docs/cold_chain_curve.png from SQL output: the readings of one sample
shipment up to 08:00, the curve crm.temp_fit fitted to them, its forecast, the
8 degC limit and the predicted breach time, plus the readings that came later.
Expects PGHOST/PGPORT/PGUSER of a cluster with the sample data (see
scripts/make_figures.sh). Needs python3-matplotlib."""
import csv
import io
import subprocess
import sys
from datetime import datetime

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

PSQL = "/usr/lib/postgresql/15/bin/psql"
AS_OF = "2025-03-01 08:00+00"


def query(sql):
    out = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--csv", "-c", sql],
                         capture_output=True, text=True, check=True).stdout
    return list(csv.DictReader(io.StringIO(out)))


def ts(s):
    return datetime.fromisoformat(s.replace("+00", "+00:00"))


# The shipment with the soonest predicted breach at 08:00.
alert = query(f"""
    SELECT shipment, predicted_breach_at, (model).t0, (model).ambient,
           to_char((model).tau, 'FMHH24" h "FMMI" min"') AS tau
    FROM crm.cold_chain_alerts('crm_sample.sensor_readings', 'shipment_id', 'read_at', 'temp_c',
                               upper_limit => 8, lower_limit => 0, as_of => '{AS_OF}')
    WHERE status = 'will breach within horizon' ORDER BY predicted_breach_at LIMIT 1""")
if not alert:
    sys.exit("no shipment is forecast to breach in the sample data")
a = alert[0]
sid = a["shipment"]
readings = query(f"SELECT read_at, temp_c, read_at <= '{AS_OF}' AS seen FROM crm_sample.sensor_readings "
                 f"WHERE shipment_id = {sid} ORDER BY read_at")
curve = query(f"""
    WITH m AS (SELECT crm.temp_fit(read_at, temp_c) AS model FROM crm_sample.sensor_readings
               WHERE shipment_id = {sid} AND read_at <= '{AS_OF}'),
         grid AS (SELECT generate_series((m.model).start_time,
                                         (SELECT max(read_at) FROM crm_sample.sensor_readings WHERE shipment_id = {sid}),
                                         interval '2 minutes') AS t FROM m)
    SELECT t, crm.temp_at(m.model, t) AS temp FROM grid, m""")

seen = [r for r in readings if r["seen"] == "t"]
later = [r for r in readings if r["seen"] == "f"]
fig, ax = plt.subplots(figsize=(8, 4.2), dpi=110)
ax.plot([ts(r["read_at"]) for r in seen], [float(r["temp_c"]) for r in seen], "o", ms=4, color="#1f77b4",
        label="readings up to 08:00 (used for the fit)")
ax.plot([ts(r["read_at"]) for r in later], [float(r["temp_c"]) for r in later], "o", ms=4, mfc="none",
        color="#7f7f7f", label="readings after 08:00 (not used)")
ax.plot([ts(r["t"]) for r in curve], [float(r["temp"]) for r in curve], "-", color="#d62728",
        label=f"fitted curve: T0 {float(a['t0']):.1f}, ambient {float(a['ambient']):.1f} degC, tau {a['tau']}")
ax.axhline(8, color="black", lw=1, ls="--", label="upper limit 8 degC")
ax.axvline(ts(AS_OF), color="#2ca02c", lw=1, ls=":", label="as of 08:00")
ax.axvline(ts(a["predicted_breach_at"]), color="#ff7f0e", lw=1, ls="-.",
           label="predicted breach " + ts(a["predicted_breach_at"]).strftime("%H:%M"))
ax.set_title(f"Sample shipment {sid}: crm.temp_fit and crm.cold_chain_alerts")
ax.set_xlabel("time (UTC)")
ax.set_ylabel("temperature (degC)")
ax.xaxis.set_major_formatter(matplotlib.dates.DateFormatter("%H:%M"))
ax.legend(fontsize=7.5, loc="upper left")
ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(sys.argv[1] if len(sys.argv) > 1 else "docs/cold_chain_curve.png")
