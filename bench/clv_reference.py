#!/usr/bin/env python3
"""BG/NBD reference for bench/clv_fit.sql: simulated customers and the same likelihood
maximised in Python, as lifetimes does it (lifetimes is not needed).

  clv_reference.py simulate [N] [SEED]   CSV rows (customer, frequency, recency, age, monetary)
  clv_reference.py fit METHOD            fits bench_clv_sim (read with psql), prints parameters
                                         and TIME_MS (the minimisation alone, data in memory)
  clv_reference.py check                 Nelder-Mead and L-BFGS-B against crm.bgnbd_fit (1e-3)

The simulation follows the BG/NBD story (Fader, Hardie and Lee 2005) with known parameters:
a purchase rate lambda ~ Gamma(r, 1/alpha) and a dropout probability p ~ Beta(a, b) per customer,
Poisson purchases while alive, dropout with probability p after each repeat purchase; ages T in
whole days (as real summaries), time in weeks. Spend: Gamma-Gamma (p, q, gamma) per purchase.
"""
import io
import subprocess
import sys
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln

PSQL = "/usr/lib/postgresql/15/bin/psql"
TRUE_BGNBD = dict(r=0.25, alpha=4.0, a=0.8, b=2.5)      # close to the CDNOW fit
TRUE_GG = dict(p=6.25, q=3.74, gamma=15.44)


def simulate(n, seed):
    rng = np.random.default_rng(seed)
    t = TRUE_BGNBD
    lam = rng.gamma(t["r"], 1 / t["alpha"], n)
    p = rng.beta(t["a"], t["b"], n)
    age_days = rng.integers(7, 547, n)                   # first purchase 1 to 78 weeks before as_of
    age = age_days / 7.0
    arrivals = rng.poisson(lam * age)                    # repeat purchases in (0, T] had they stayed
    lifetime = rng.geometric(p)                          # repeat purchases until dropout (inclusive)
    x = np.minimum(arrivals, lifetime)
    # The x-th of `arrivals` uniform arrival times in (0, T]: T * Beta(x, arrivals - x + 1).
    has = x > 0
    tx = np.zeros(n)
    tx[has] = age[has] * rng.beta(x[has], arrivals[has] - x[has] + 1)
    tx = np.minimum(np.ceil(tx * 7), age_days) / 7.0     # whole days, at least one after the first
    g = TRUE_GG
    nu = rng.gamma(g["q"], 1 / g["gamma"], n)
    monetary = np.zeros(n)
    monetary[has] = rng.gamma(g["p"] * x[has], 1 / nu[has]) / x[has]
    return x.astype(np.float64), tx, age, monetary


def negative_log_likelihood(log_params, x, tx, T, repeat):
    """Mean negative BG/NBD log-likelihood, FHL 2005 eq. (6), in log space (as lifetimes)."""
    r, alpha, a, b = np.exp(log_params)
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    # log(a / (b + x - 1)) - (r + x) log(alpha + t_x) where x > 0; -inf (dropped) otherwise
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(repeat, np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + tx), -np.inf)
    return -np.mean(a1 + a2 + np.logaddexp(a3, a4))


def fit(x, tx, T, method):
    repeat = x > 0
    options = {"maxiter": 10000, "xatol": 1e-7, "fatol": 1e-12} if method == "Nelder-Mead" else {"gtol": 1e-9}
    res = minimize(negative_log_likelihood, x0=np.zeros(4), args=(x, tx, T, repeat), method=method,
                   options=options)
    return np.exp(res.x), res


def load():
    raw = subprocess.run([PSQL, "-X", "-At", "-c", "COPY (SELECT frequency, recency, age FROM bench_clv_sim) "
                          "TO STDOUT WITH (FORMAT csv)"], capture_output=True, check=True).stdout
    d = np.loadtxt(io.BytesIO(raw), delimiter=",")
    return d[:, 0].copy(), d[:, 1].copy(), d[:, 2].copy()


def ours():
    out = subprocess.run([PSQL, "-X", "-At", "-F", ",", "-c", "SELECT (m).r, (m).alpha, (m).a, (m).b, (m).log_likelihood "
                          "FROM (SELECT crm.bgnbd_fit(frequency, recency, age) AS m FROM bench_clv_sim) f"],
                         capture_output=True, check=True, text=True).stdout
    return np.array([float(v) for v in out.strip().split(",")])


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else "check"
    if cmd == "simulate":
        n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
        seed = int(sys.argv[3]) if len(sys.argv) > 3 else 20050101
        x, tx, T, m = simulate(n, seed)
        buf = io.StringIO()
        np.savetxt(buf, np.column_stack([np.arange(1, n + 1), x, tx, T, m]), delimiter=",",
                   fmt=["%d", "%d", "%.17g", "%.17g", "%.17g"])
        sys.stdout.write(buf.getvalue())
    elif cmd == "fit":
        x, tx, T = load()
        start = time.perf_counter()
        params, res = fit(x, tx, T, sys.argv[2])
        ms = (time.perf_counter() - start) * 1000
        print("params r alpha a b", *params, "evaluations", res.nfev, "success", res.success)
        print("TIME_MS", ms)
    elif cmd == "check":
        x, tx, T = load()
        mine = ours()
        print("true:          ", TRUE_BGNBD)
        print("crm.bgnbd_fit:  r %.6f alpha %.6f a %.6f b %.6f  LL %.4f" % tuple(mine))
        worst = 0.0
        for method in ("Nelder-Mead", "L-BFGS-B"):
            start = time.perf_counter()
            params, res = fit(x, tx, T, method)
            ms = (time.perf_counter() - start) * 1000
            ll = -res.fun * len(x)
            rel = np.max(np.abs(params / mine[:4] - 1))
            worst = max(worst, rel)
            print("%-12s   r %.6f alpha %.6f a %.6f b %.6f  LL %.4f  %d evaluations, %.0f ms, "
                  "largest relative difference to ours %.1e" % (method, *params, ll, res.nfev, ms, rel))
        print("ok: same parameters to 1e-3" if worst <= 1e-3 else "DIFFERENT parameters (> 1e-3)")
        sys.exit(0 if worst <= 1e-3 else 1)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
