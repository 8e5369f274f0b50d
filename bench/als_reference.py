#!/usr/bin/env python3
"""Implicit ALS in numpy, the reference for bench/als_fit.sql: the same model as crm.als_fit
(Hu, Koren and Volinsky 2008; confidence 1 + alpha * r, preference 1 on observed pairs, plain
lambda * I, N(0, 0.01) start), the same factors, iterations and regularisation, each user and item
solved exactly from the shared Gram matrix plus its observed rows, as benfred/implicit's
least-squares solver does.

  als_reference.py TABLE USER ITEM RATING FACTORS REGULARIZATION ALPHA ITERATIONS

Reads the table with psql, prints the training MSE of (1 - x.y) over observed pairs and TIME_MS
(the fit alone, data in memory).
"""
import io
import subprocess
import sys
import time

import numpy as np
import scipy.sparse as sp

PSQL = "/usr/lib/postgresql/15/bin/psql"


def read(table, user, item, rating):
    out = subprocess.run([PSQL, "-X", "-At", "-c", f"COPY (SELECT {user}, {item}, {rating} FROM {table}) TO STDOUT"],
                         check=True, capture_output=True, text=True).stdout
    data = np.loadtxt(io.StringIO(out), dtype=np.float64, ndmin=2)
    users, u_idx = np.unique(data[:, 0], return_inverse=True)
    items, i_idx = np.unique(data[:, 1], return_inverse=True)
    return sp.csr_matrix((data[:, 2], (u_idx, i_idx)), shape=(len(users), len(items)))


def half_step(target, other, ratings, lam, alpha):
    gram = other.T @ other + lam * np.eye(other.shape[1])
    for u in range(ratings.shape[0]):
        lo, hi = ratings.indptr[u], ratings.indptr[u + 1]
        idx, r = ratings.indices[lo:hi], ratings.data[lo:hi]
        y = other[idx]
        c = 1 + alpha * r
        a = gram + (y.T * (c - 1)) @ y
        target[u] = np.linalg.solve(a, y.T @ c)


def main():
    table, user, item, rating, factors, lam, alpha, iterations = sys.argv[1:9]
    factors, lam, alpha, iterations = int(factors), float(lam), float(alpha), int(iterations)
    r = read(table, user, item, rating)
    rt = r.T.tocsr()
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    x = rng.normal(0, 0.01, (r.shape[0], factors))
    y = rng.normal(0, 0.01, (r.shape[1], factors))
    for _ in range(iterations):
        half_step(x, y, r, lam, alpha)
        half_step(y, x, rt, lam, alpha)
    half_step(x, y, r, lam, alpha)
    ms = (time.perf_counter() - start) * 1000
    coo = r.tocoo()
    mse = np.mean((1 - np.einsum("ij,ij->i", x[coo.row], y[coo.col])) ** 2)
    print(f"training MSE {mse:.6f}")
    print(f"TIME_MS {ms:.1f}")


if __name__ == "__main__":
    main()
