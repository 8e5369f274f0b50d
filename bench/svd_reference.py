#!/usr/bin/env python3
"""Surprise's SVD, written out in numpy, on the 5 folds of ml100k_folds.tsv.

An independent reference for crm.svd_fit / crm.reco_evaluate(method => 'svd'):
the same algorithm as Surprise 1.1's SVD with its defaults (biased, 100
factors, 20 epochs, learning rate 0.005, regularisation 0.02, factors drawn
from N(0, 0.1) with numpy, users first), visiting the training ratings in
Surprise's own order: users in the order they first appear in the training
rows (the file's order), each user's ratings in file order. Predictions are
clipped to [1, 5]; an unknown user or item contributes no bias or factor term.

    python3 bench/svd_reference.py [path to ml100k_folds.tsv] [--sorted] [seed ...]

(--sorted: visit users and their items in ascending id order instead, as crm.svd_fit does.)

prints each fold's RMSE and MAE and the means, per seed. Pure Python loops:
about 15 s per fold on the 2-core machine.
"""
import sys
import time

import numpy as np


def read_folds(path):
    rows = []
    with open(path) as f:
        next(f)
        for line in f:
            u, i, r, fold = line.split("\t")
            rows.append((int(u), int(i), float(r), int(fold)))
    return rows


def svd_fold(rows, fold, seed, order="surprise", factors=100, epochs=20, lr=0.005, reg=0.02, init_std=0.1):
    train = [(u, i, r) for u, i, r, f in rows if f != fold]
    test = [(u, i, r) for u, i, r, f in rows if f == fold]
    users, items, ur = {}, {}, {}
    for u, i, r in train:  # inner ids in order of appearance, as Surprise's Trainset
        uu = users.setdefault(u, len(users))
        ii = items.setdefault(i, len(items))
        ur.setdefault(uu, []).append((ii, r))
    user_key = {v: k for k, v in users.items()}
    item_key = {v: k for k, v in items.items()}
    if order == "sorted":  # users ascending, each user's items ascending (crm.svd_fit's order), ids as above
        ur = {u: sorted(ur[u], key=lambda e: item_key[e[0]]) for u in sorted(ur, key=lambda u: user_key[u])}
    mean = sum(r for _, _, r in train) / len(train)
    rng = np.random.RandomState(seed)
    pu = rng.normal(0, init_std, (len(users), factors))
    qi = rng.normal(0, init_std, (len(items), factors))
    bu = np.zeros(len(users))
    bi = np.zeros(len(items))
    for _ in range(epochs):
        for u, u_ratings in ur.items():
            p = pu[u]
            for i, r in u_ratings:
                q = qi[i]
                err = r - (mean + bu[u] + bi[i] + float(np.dot(q, p)))
                bu[u] += lr * (err - reg * bu[u])
                bi[i] += lr * (err - reg * bi[i])
                p_old = p.copy()
                p += lr * (err * q - reg * p)
                q += lr * (err * p_old - reg * q)
    se = ae = 0.0
    for u, i, r in test:
        est = mean
        uu, ii = users.get(u), items.get(i)
        if uu is not None:
            est += bu[uu]
        if ii is not None:
            est += bi[ii]
        if uu is not None and ii is not None:
            est += float(np.dot(qi[ii], pu[uu]))
        est = min(5.0, max(1.0, est))
        se += (est - r) ** 2
        ae += abs(est - r)
    return (se / len(test)) ** 0.5, ae / len(test)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/movielens-100k/ml100k_folds.tsv"
    args = sys.argv[2:]
    order = "surprise"
    if args and args[0] in ("--sorted", "--surprise"):
        order = args.pop(0)[2:]
    seeds = [int(s) for s in args] or [0]
    rows = read_folds(path)
    for seed in seeds:
        started = time.time()
        results = [svd_fold(rows, f, seed, order) for f in range(5)]
        rmse = [r for r, _ in results]
        mae = [m for _, m in results]
        print(f"{order} order, seed {seed}: RMSE per fold {' '.join(f'{x:.4f}' for x in rmse)} mean {np.mean(rmse):.4f}; "
              f"MAE mean {np.mean(mae):.4f} ({time.time() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
