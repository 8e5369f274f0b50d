#!/usr/bin/env python3
"""How much genre diversity re-ranking can buy on MovieLens 100k fold 0.

An independent check of #17's MMR target (genre intra-list diversity up 20% at
diversity 0.3, precision within 10%), outside the extension. On the protocol of
../shared/REFERENCES.md (train = fold <> 0, relevant = a fold-0 rating >= 4,
the 916 users with one), it prints:

  - the genre diversity of ten items drawn at random from the catalogue (the
    mean pairwise 1 - cosine of binary genre vectors, the target's measure);
  - item-kNN lists (binary cosine, k = 100, summed similarity: the reference
    0.2325) re-ranked by MMR over each user's 50 best candidates, relevance
    min-max normalised, with two similarities: the collaborative cosine (what
    crm.itemknn_recommend_batch does) and the genre cosine itself (the most a
    re-ranking of those candidates can do for the measure).

    python3 bench/genre_diversity_bound.py [movielens-100k directory]

About a minute on the 2-core machine (numpy).
"""
import sys

import numpy as np

DATA = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/movielens-100k"
N_ITEMS, N_USERS, K, POOL, N = 1683, 944, 100, 50, 10  # ids start at 1


def load():
    rows = np.loadtxt(f"{DATA}/ml100k_folds.tsv", skiprows=1, dtype=int)
    genres = np.zeros((N_ITEMS, 19))
    with open(f"{DATA}/u.item", encoding="latin-1") as f:
        for line in f:
            fields = line.rstrip("\n").split("|")
            genres[int(fields[0])] = [int(x) for x in fields[5:24]]
    return rows, genres


def unit_rows(m):
    norm = np.linalg.norm(m, axis=1)
    return m / np.where(norm == 0, 1, norm)[:, None]


def mean_pairwise_distance(similarity, items):
    s = similarity[np.ix_(items, items)]
    return float((1 - s[np.triu_indices(len(items), 1)]).mean())


def first_n(score, n):
    """Indices of the n best finite scores, ties by lower id."""
    order = np.lexsort((np.arange(len(score)), -score))[:n]
    return [i for i in order if np.isfinite(score[i])]


def mmr(pool, relevance, similarity, diversity):
    chosen, max_sim = [], np.zeros(len(pool))
    taken = np.zeros(len(pool), bool)
    for _ in range(min(N, len(pool))):
        value = (1 - diversity) * relevance - diversity * max_sim
        value[taken] = -np.inf
        best = int(np.argmax(value))
        taken[best] = True
        chosen.append(pool[best])
        max_sim = np.maximum(max_sim, similarity[pool[best], pool])
    return chosen


def main():
    rows, genres = load()
    genre_sim = unit_rows(genres) @ unit_rows(genres).T
    rng = np.random.default_rng(0)
    catalogue = np.arange(1, N_ITEMS)
    random_lists = [mean_pairwise_distance(genre_sim, rng.choice(catalogue, N, replace=False)) for _ in range(20000)]
    print(f"random lists of {N}: genre diversity {np.mean(random_lists):.4f}")

    train, test = rows[rows[:, 3] != 0], rows[rows[:, 3] == 0]
    has = np.zeros((N_USERS, N_ITEMS))
    has[train[:, 0], train[:, 1]] = 1
    popularity = np.sqrt(has.sum(0))
    popularity[popularity == 0] = 1
    cosine = (has.T @ has) / popularity[:, None] / popularity[None, :]
    np.fill_diagonal(cosine, 0)
    top_k = np.zeros_like(cosine)  # row i: i's K most similar items
    for i in range(N_ITEMS):
        best = [j for j in first_n(cosine[i], K) if cosine[i, j] > 0]
        top_k[i, best] = cosine[i, best]
    relevant = {}
    for u, i, r, _ in test:
        if r >= 4:
            relevant.setdefault(u, set()).add(i)

    print(f"{'diversity':>9} {'similarity':>13} {'precision@10':>13} {'genre diversity':>16}")
    for diversity in (0.0, 0.3, 0.5):
        for name, similarity in (("collaborative", cosine), ("genre", genre_sim)):
            precision, spread = [], []
            for u in sorted(relevant):
                score = top_k @ has[u]
                score[has[u] > 0] = -np.inf
                score[0] = -np.inf
                pool = first_n(score, POOL)
                s = score[pool]
                relevance = (s - s.min()) / (s.max() - s.min()) if s.max() > s.min() else np.ones(len(pool))
                chosen = mmr(np.array(pool), relevance, similarity, diversity)
                precision.append(len(set(chosen) & relevant[u]) / N)
                spread.append(mean_pairwise_distance(genre_sim, chosen))
            print(f"{diversity:>9} {name:>13} {np.mean(precision):>13.4f} {np.mean(spread):>16.4f}", flush=True)


if __name__ == "__main__":
    main()
