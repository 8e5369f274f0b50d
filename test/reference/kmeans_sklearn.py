#!/usr/bin/python3
"""Reference numbers for test/unit/kmeans_test.cpp (KMeans.MatchesScikitLearnInertia).

Makes a small fixed data set (60 points, 3 features: four overlapping blobs
with different spreads, rounded to 3 decimals), z-scores it with
StandardScaler (population standard deviation, like crm::Scaling::ZScore) and
prints, for k = 3 and 4, the inertia of scikit-learn's KMeans(n_init=10),
which keeps the best of 10 k-means++ starts. (k = 5 is left out: these points
have many 5-cluster local optima, and scikit-learn's own best-of-10 inertia
ranges from 40.67 to 42.9 over random_state 0..99, so no single number is a
fair 1% reference.) Prints the points as a C++
initializer list, so the test embeds exactly these numbers.

Produced with Debian bookworm's python3-sklearn 1.2.1 / numpy 1.24.2:
    /usr/bin/python3 test/reference/kmeans_sklearn.py
"""
import numpy as np
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

rng = np.random.RandomState(20240611)  # legacy generator: stream fixed across numpy versions
centres = np.array([[0.0, 0.0, 0.0], [3.0, 1.0, 0.5], [0.5, 4.0, 2.0], [4.0, 4.5, -1.0]])
spreads = np.array([0.6, 1.0, 0.8, 1.3])
points = np.vstack([c + s * rng.standard_normal((15, 3)) for c, s in zip(centres, spreads)])
points = np.round(points, 3)

print("// %d points x %d features" % points.shape)
print("const std::vector<double> kSklearnPoints = {")
for row in points:
    print("    " + ", ".join("%.3f" % v for v in row) + ",")
print("};")

scaled = StandardScaler().fit_transform(points)
for k in (3, 4):
    model = KMeans(n_clusters=k, n_init=10, random_state=0, tol=1e-4, max_iter=300, algorithm="lloyd")
    model.fit(scaled)
    print("k = %d: inertia %r, iterations %d" % (k, model.inertia_, model.n_iter_))
