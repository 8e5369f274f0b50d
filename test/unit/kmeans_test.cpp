// k-means: the point set and its sampling, the fit, the model's assignment,
// byte and JSON forms, the silhouette and the cluster labels.
#include <gtest/gtest.h>

#include <array>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "errors.hpp"
#include "expect_error.hpp"
#include "interrupts.hpp"
#include "kmeans.hpp"
#include "kmeans_labels.hpp"
#include "kmeans_state.hpp"

namespace {

using crm::ErrorKind;
using crm::KMeansModel;
using crm::KMeansOptions;
using crm::PointSet;
using crm::Scaling;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Portable test data: uniform and normal draws built from the raw 64-bit
// engine output, so the data are the same with every standard library.
struct TestRng {
    explicit TestRng(std::uint64_t seed) : engine(seed) {}
    double uniform() { return static_cast<double>(engine() >> 11) * 0x1.0p-53; }
    double normal() {  // Box-Muller
        const double u = 1.0 - uniform(), v = uniform();
        return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
    }
    std::mt19937_64 engine;
};

PointSet make_points(const std::vector<std::vector<double>>& rows) {
    PointSet p;
    for (const auto& r : rows) p.add(r.data(), static_cast<int>(r.size()));
    return p;
}

PointSet random_points(int n, int dims, std::uint64_t seed, double spread = 1.0) {
    TestRng rng(seed);
    PointSet p;
    std::vector<double> x(dims);
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < dims; ++j) x[j] = spread * rng.normal() + 3.0 * (i % 4) * (j + 1);
        p.add(x.data(), dims);
    }
    return p;
}

// Expects `f` to throw crm::Error of `kind`; returns the message and hint.
template <class F>
std::string expect_error(ErrorKind kind, F&& f) {
    return crm_test::expect_error_kind(std::forward<F>(f), kind);
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void expect_same_doubles(const std::vector<double>& a, const std::vector<double>& b, const char* what) {
    ASSERT_EQ(a.size(), b.size()) << what;
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same_bits(a[i], b[i])) << what << "[" << i << "]";
}

void expect_same_model(const KMeansModel& a, const KMeansModel& b) {
    EXPECT_EQ(a.k, b.k);
    EXPECT_EQ(a.dims, b.dims);
    EXPECT_EQ(a.scale, b.scale);
    expect_same_doubles(a.offset, b.offset, "offset");
    expect_same_doubles(a.divisor, b.divisor, "divisor");
    expect_same_doubles(a.population_mean, b.population_mean, "population_mean");
    expect_same_doubles(a.population_std, b.population_std, "population_std");
    ASSERT_EQ(a.centroids.rows(), b.centroids.rows());
    ASSERT_EQ(a.centroids.cols(), b.centroids.cols());
    for (Eigen::Index i = 0; i < a.centroids.size(); ++i)
        EXPECT_TRUE(same_bits(a.centroids.data()[i], b.centroids.data()[i])) << "centroid element " << i;
    EXPECT_EQ(a.sizes, b.sizes);
    expect_same_doubles(a.wcss, b.wcss, "wcss");
    EXPECT_TRUE(same_bits(a.inertia, b.inertia));
    EXPECT_EQ(a.iterations, b.iterations);
    EXPECT_EQ(a.n_init, b.n_init);
    EXPECT_EQ(a.seed, b.seed);
    EXPECT_EQ(a.n_points, b.n_points);
    EXPECT_EQ(a.converged, b.converged);
    EXPECT_EQ(a.feature_names, b.feature_names);
}

KMeansOptions options_for(int k, std::uint64_t seed = 42, Scaling scale = Scaling::ZScore) {
    KMeansOptions o;
    o.k = k;
    o.seed = seed;
    o.scale = scale;
    return o;
}

// Three blobs of five points each: the centre and four points at +-1 along
// each axis, so every blob's mean is exactly its centre.
const std::vector<std::vector<double>> kBlobCentres = {{0, 0}, {50, 80}, {100, 0}};

PointSet blob_points() {
    PointSet p;
    for (const auto& c : kBlobCentres) {
        const double offsets[5][2] = {{0, 0}, {1, 0}, {-1, 0}, {0, 1}, {0, -1}};
        for (const auto& o : offsets) {
            const double x[2] = {c[0] + o[0], c[1] + o[1]};
            p.add(x, 2);
        }
    }
    return p;
}

// Nearest centroid by brute force in scaled space (1-based) and its squared distance.
int brute_force_nearest(const KMeansModel& m, const double* x, double& best_d2) {
    best_d2 = kInf;
    int best = 0;
    for (int c = 0; c < m.k; ++c) {
        double d2 = 0;
        for (int j = 0; j < m.dims; ++j) {
            const double diff = (x[j] - m.offset[j]) / m.divisor[j] - m.centroids(c, j);
            d2 += diff * diff;
        }
        if (d2 < best_d2) {
            best_d2 = d2;
            best = c + 1;
        }
    }
    return best;
}

// ---------------------------------------------------------------------------
// Scaling names

TEST(KMeansScaling, NamesRoundTrip) {
    for (Scaling s : {Scaling::None, Scaling::ZScore, Scaling::MinMax})
        EXPECT_EQ(crm::parse_scaling(crm::scaling_name(s)), s);
    EXPECT_EQ(crm::parse_scaling("ZScore"), Scaling::ZScore);
    const std::string msg = expect_error(ErrorKind::InvalidParameter, [] { crm::parse_scaling("robust"); });
    EXPECT_NE(msg.find("robust"), std::string::npos);
}

// ---------------------------------------------------------------------------
// PointSet

TEST(KMeansPointSet, KeepsEveryPointWithoutSampling) {
    PointSet p;
    EXPECT_EQ(p.dims(), 0);
    EXPECT_EQ(p.size(), 0);
    const double a[3] = {1, 2, 3}, b[3] = {4, 5, 6};
    p.add(a, 3);
    p.add(b, 3);
    EXPECT_EQ(p.dims(), 3);
    EXPECT_EQ(p.size(), 2);
    EXPECT_EQ(p.seen(), 2);
    EXPECT_EQ(p.data(), (std::pmr::vector<double>{1, 2, 3, 4, 5, 6}));
    EXPECT_GE(p.memory_bytes(), 6 * sizeof(double));
}

TEST(KMeansPointSet, RejectsRaggedAndNonFinitePoints) {
    PointSet p;
    const double good[2] = {1, 2}, nan_second[2] = {1, kNaN}, inf_first[2] = {-kInf, 1}, three[3] = {1, 2, 3};
    // A rejected first point does not fix the dimensionality.
    std::string msg = expect_error(ErrorKind::InvalidParameter, [&] { p.add(nan_second, 2); });
    EXPECT_NE(msg.find("element 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("NaN"), std::string::npos) << msg;
    EXPECT_EQ(p.dims(), 0);
    p.add(good, 2);
    msg = expect_error(ErrorKind::InvalidParameter, [&] { p.add(three, 3); });
    EXPECT_NE(msg.find("ragged"), std::string::npos) << msg;
    msg = expect_error(ErrorKind::InvalidParameter, [&] { p.add(inf_first, 2); });
    EXPECT_NE(msg.find("element 1"), std::string::npos) << msg;
    expect_error(ErrorKind::InvalidParameter, [&] { p.add(good, 0); });
    expect_error(ErrorKind::InvalidParameter, [] { PointSet bad(-1); });
    EXPECT_EQ(p.size(), 1);
    EXPECT_EQ(p.seen(), 1);
}

TEST(KMeansPointSet, ReservoirKeepsExactlySampleSizeUniformly) {
    // One big run: exactly sample_size points kept, each an input point.
    PointSet big(100, 7);
    for (int i = 0; i < 10000; ++i) {
        const double x[2] = {static_cast<double>(i), -static_cast<double>(i)};
        big.add(x, 2);
    }
    EXPECT_EQ(big.size(), 100);
    EXPECT_EQ(big.seen(), 10000);
    std::vector<double> firsts;
    for (std::int64_t r = 0; r < big.size(); ++r) {
        EXPECT_EQ(big.data()[2 * r + 1], -big.data()[2 * r]);
        firsts.push_back(big.data()[2 * r]);
    }
    std::sort(firsts.begin(), firsts.end());
    EXPECT_EQ(std::unique(firsts.begin(), firsts.end()), firsts.end());

    // Inclusion frequency over many seeds: 5 of 20 points, 0.25 each.
    const int trials = 4000;
    std::vector<int> hits(20, 0);
    for (int t = 0; t < trials; ++t) {
        PointSet s(5, static_cast<std::uint64_t>(t));
        for (int i = 0; i < 20; ++i) {
            const double x = i;
            s.add(&x, 1);
        }
        ASSERT_EQ(s.size(), 5);
        for (double v : s.data()) ++hits[static_cast<int>(v)];
    }
    // Standard error sqrt(0.25 * 0.75 / 4000) = 0.0068; allow about 5 of them.
    for (int i = 0; i < 20; ++i) EXPECT_NEAR(hits[i] / static_cast<double>(trials), 0.25, 0.035) << "point " << i;
}

TEST(KMeansPointSet, MergeOfSamplesIsAUniformSampleOfTheUnion) {
    // 30 points on one side, 10 on the other, sample 8: each point 8/40 = 0.2.
    const int trials = 4000;
    std::vector<int> hits(40, 0);
    for (int t = 0; t < trials; ++t) {
        PointSet a(8, 1000 + t), b(8, 1000 + t);  // one seed for every part of a sample
        for (int i = 0; i < 30; ++i) {
            const double x = i;
            a.add(&x, 1);
        }
        for (int i = 30; i < 40; ++i) {
            const double x = i;
            b.add(&x, 1);
        }
        a.merge(b);
        ASSERT_EQ(a.size(), 8);
        ASSERT_EQ(a.seen(), 40);
        for (double v : a.data()) ++hits[static_cast<int>(v)];
    }
    int from_small_side = 0;
    for (int i = 0; i < 40; ++i) {
        EXPECT_NEAR(hits[i] / static_cast<double>(trials), 0.2, 0.035) << "point " << i;
        if (i >= 30) from_small_side += hits[i];
    }
    EXPECT_NEAR(from_small_side / (8.0 * trials), 0.25, 0.02);
}

TEST(KMeansPointSet, MergeEdgeCases) {
    const double x[2] = {1, 2}, y[2] = {3, 4}, z[3] = {1, 2, 3};
    PointSet all_a, all_b, empty;
    all_a.add(x, 2);
    all_b.add(y, 2);
    all_b.add(y, 2);
    all_a.merge(all_b);  // without sampling: appended
    EXPECT_EQ(all_a.size(), 3);
    EXPECT_EQ(all_a.data(), (std::pmr::vector<double>{1, 2, 3, 4, 3, 4}));
    all_a.merge(empty);
    EXPECT_EQ(all_a.size(), 3);
    empty.merge(all_a);
    EXPECT_EQ(empty.data(), all_a.data());
    EXPECT_EQ(empty.seen(), 3);

    PointSet small_a(10), small_b(10);  // union within the sample size: everything kept
    small_a.add(x, 2);
    small_b.add(y, 2);
    small_a.merge(small_b);
    EXPECT_EQ(small_a.size(), 2);
    EXPECT_EQ(small_a.seen(), 2);

    PointSet other_size(5), three_d;
    other_size.add(x, 2);
    three_d.add(z, 3);
    expect_error(ErrorKind::InvalidParameter, [&] { small_a.merge(other_size); });
    const std::string msg = expect_error(ErrorKind::InvalidParameter, [&] { all_a.merge(three_d); });
    EXPECT_NE(msg.find("ragged"), std::string::npos);
}

TEST(KMeansPointSet, SerialisationRoundTripsAndContinuesTheSample) {
    PointSet p(16, 99);
    for (int i = 0; i < 40; ++i) {
        const double x[2] = {i * 0.5, -i * 1.25};
        p.add(x, 2);
    }
    const auto bytes = p.serialize();
    EXPECT_EQ(bytes[0], 0x50);
    EXPECT_EQ(bytes[1], 2);
    PointSet q = PointSet::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(q.data(), p.data());
    EXPECT_EQ(q.seen(), p.seen());
    EXPECT_EQ(q.dims(), 2);
    EXPECT_EQ(q.sample_size(), 16);
    // The sampling seed is part of the state: both keep the same rows (their
    // slots may differ: compare the canonical order).
    for (int i = 40; i < 200; ++i) {
        const double x[2] = {i * 0.5, -i * 1.25};
        p.add(x, 2);
        q.add(x, 2);
    }
    EXPECT_EQ(q.canonical().data(), p.canonical().data());

    const PointSet empty;
    const auto empty_bytes = empty.serialize();
    EXPECT_EQ(PointSet::deserialize(empty_bytes.data(), empty_bytes.size()).size(), 0);

    for (std::size_t cut = 0; cut < bytes.size(); ++cut)
        expect_error(ErrorKind::InvalidBinary, [&] { PointSet::deserialize(bytes.data(), cut); });
    auto trailing = bytes;
    trailing.push_back(0);
    expect_error(ErrorKind::InvalidBinary, [&] { PointSet::deserialize(trailing.data(), trailing.size()); });
    auto wrong_dims = bytes;
    wrong_dims[2 + 8 + 8] = 3;  // dims 2 -> 3: 16 x 2 values are not whole 3-d points
    expect_error(ErrorKind::InvalidBinary, [&] { PointSet::deserialize(wrong_dims.data(), wrong_dims.size()); });
    auto wrong_seen = bytes;
    wrong_seen[2 + 8 + 8 + 4] = 5;  // seen 40 -> 5 < kept points
    expect_error(ErrorKind::InvalidBinary, [&] { PointSet::deserialize(wrong_seen.data(), wrong_seen.size()); });
}

// ---------------------------------------------------------------------------
// Fit

TEST(KMeans, RecoversWellSeparatedBlobsExactly) {
    const PointSet points = blob_points();
    for (Scaling scale : {Scaling::None, Scaling::ZScore, Scaling::MinMax}) {
        const KMeansModel m = crm::kmeans_fit(points, options_for(3, 1, scale));
        EXPECT_TRUE(m.converged);
        EXPECT_EQ(m.n_points, 15);
        EXPECT_EQ(m.sizes, (std::vector<std::int64_t>{5, 5, 5}));
        const Eigen::MatrixXd c = m.centroids_original();
        std::vector<std::vector<double>> found;
        for (int i = 0; i < 3; ++i) found.push_back({c(i, 0), c(i, 1)});
        std::sort(found.begin(), found.end());
        for (int i = 0; i < 3; ++i) {
            EXPECT_NEAR(found[i][0], kBlobCentres[i][0], 1e-9) << crm::scaling_name(scale);
            EXPECT_NEAR(found[i][1], kBlobCentres[i][1], 1e-9) << crm::scaling_name(scale);
        }
        // Each blob's sum of squares in original units is 4; scaled by 1/divisor^2 per axis.
        if (scale == Scaling::None) {
            EXPECT_NEAR(m.inertia, 12.0, 1e-9);
        }
    }
}

TEST(KMeans, IdenticalPoints) {
    PointSet points;
    const double x[3] = {2.5, -1, 7};
    for (int i = 0; i < 10; ++i) points.add(x, 3);
    const KMeansModel m = crm::kmeans_fit(points, options_for(1));
    EXPECT_EQ(m.sizes, (std::vector<std::int64_t>{10}));
    EXPECT_EQ(m.inertia, 0.0);
    // Constant features: divisor 1, offset the value itself, so they scale to exactly 0.
    EXPECT_EQ(m.divisor, (std::vector<double>{1, 1, 1}));
    EXPECT_EQ(m.offset, (std::vector<double>{2.5, -1, 7}));
    const Eigen::MatrixXd c = m.centroids_original();
    EXPECT_EQ(c(0, 0), 2.5);
    EXPECT_EQ(c(0, 1), -1.0);
    EXPECT_EQ(c(0, 2), 7.0);
    const std::string msg =
        expect_error(ErrorKind::InvalidParameter, [&] { crm::kmeans_fit(points, options_for(2)); });
    EXPECT_NE(msg.find("distinct"), std::string::npos) << msg;
    EXPECT_NE(msg.find("Lower k to at most 1"), std::string::npos) << msg;
}

TEST(KMeans, SingleClusterIsTheMeanAndInertiaTheTotalSumOfSquares) {
    const PointSet points = random_points(50, 3, 11);
    const int n = 50, d = 3;
    std::vector<double> mean(d, 0.0);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < d; ++j) mean[j] += points.data()[i * d + j] / n;
    double total_ss = 0;
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < d; ++j) total_ss += std::pow(points.data()[i * d + j] - mean[j], 2);

    const KMeansModel raw = crm::kmeans_fit(points, options_for(1, 3, Scaling::None));
    for (int j = 0; j < d; ++j) EXPECT_NEAR(raw.centroids(0, j), mean[j], 1e-12);
    EXPECT_NEAR(raw.inertia, total_ss, 1e-10 * total_ss);
    EXPECT_EQ(raw.sizes[0], n);
    EXPECT_TRUE(raw.converged);

    // z-scored, every feature has variance 1: total sum of squares n * d.
    const KMeansModel z = crm::kmeans_fit(points, options_for(1, 3, Scaling::ZScore));
    EXPECT_NEAR(z.inertia, n * d, 1e-9);
    for (int j = 0; j < d; ++j) EXPECT_NEAR(z.centroids_original()(0, j), mean[j], 1e-9);
}

TEST(KMeans, KEqualsNumberOfPoints) {
    const PointSet points = make_points({{0, 0}, {1, 0}, {0, 1}, {5, 5}, {-3, 2}, {2, -7}, {0.5, 0.25}});
    const KMeansModel m = crm::kmeans_fit(points, options_for(7));
    EXPECT_EQ(m.inertia, 0.0);
    EXPECT_EQ(m.sizes, std::vector<std::int64_t>(7, 1));
    // Every point is its own centroid, each a different one.
    std::vector<int> clusters;
    for (std::int64_t i = 0; i < points.size(); ++i) {
        double distance = -1;
        clusters.push_back(m.assign(points.data().data() + 2 * i, 2, &distance));
        EXPECT_EQ(distance, 0.0);
    }
    std::sort(clusters.begin(), clusters.end());
    EXPECT_EQ(clusters, (std::vector<int>{1, 2, 3, 4, 5, 6, 7}));
}

TEST(KMeans, RejectsBadInputAndOptions) {
    const PointSet points = make_points({{0, 0}, {1, 1}, {1, 1}, {2, 2}});
    const auto fails = [&](KMeansOptions o, const PointSet& p) {
        return expect_error(ErrorKind::InvalidParameter, [&] { crm::kmeans_fit(p, o); });
    };
    KMeansOptions o = options_for(2);
    o.k = 0;
    fails(o, points);
    o = options_for(4);  // 4 points, 3 distinct
    EXPECT_NE(fails(o, points).find("at most 3"), std::string::npos);
    fails(options_for(1), PointSet());
    o = options_for(2);
    o.n_init = 0;
    fails(o, points);
    o = options_for(2);
    o.max_iter = 0;
    fails(o, points);
    o = options_for(2);
    o.tol = -1e-3;
    fails(o, points);
    o.tol = kNaN;
    fails(o, points);
    o = options_for(2);
    o.feature_names = {"only one"};
    fails(o, points);
    EXPECT_NO_THROW(crm::kmeans_fit(points, options_for(3)));
}

// One validation serves kmeans_fit, the aggregate state and the adapter: every
// path rejects the same options with the same kind and message.
TEST(KMeans, OptionsAreValidatedAlikeEverywhere) {
    const PointSet points = make_points({{0, 0}, {1, 1}, {2, 2}, {3, 3}});
    struct Case {
        const char* what;
        void (*change)(KMeansOptions&);
        std::int64_t sample_size;
    };
    const Case cases[] = {
        {"k = 0", [](KMeansOptions& o) { o.k = 0; }, 0},
        {"k < 0", [](KMeansOptions& o) { o.k = -3; }, 0},
        {"n_init = 0", [](KMeansOptions& o) { o.n_init = 0; }, 0},
        {"max_iter = 0", [](KMeansOptions& o) { o.max_iter = 0; }, 0},
        {"tol < 0", [](KMeansOptions& o) { o.tol = -1e-9; }, 0},
        {"tol NaN", [](KMeansOptions& o) { o.tol = kNaN; }, 0},
        {"tol Infinity", [](KMeansOptions& o) { o.tol = kInf; }, 0},
        {"tol -Infinity", [](KMeansOptions& o) { o.tol = -kInf; }, 0},
        {"empty feature name", [](KMeansOptions& o) { o.feature_names = {"a", ""}; }, 0},
        {"NUL in a feature name", [](KMeansOptions& o) { o.feature_names = {"a", std::string("b\0", 2)}; }, 0},
        {"initial_centroids not k rows", [](KMeansOptions& o) { o.initial_centroids = Eigen::MatrixXd::Zero(3, 2); }, 0},
        {"initial_centroids not finite",
         [](KMeansOptions& o) {
             o.initial_centroids = Eigen::MatrixXd::Zero(2, 2);
             o.initial_centroids(1, 0) = kInf;
         },
         0},
        {"sample_size < 0", [](KMeansOptions&) {}, -1},
        {"sample_size < k", [](KMeansOptions&) {}, 1},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        KMeansOptions o = options_for(2);
        c.change(o);
        const std::string direct =
            expect_error(ErrorKind::InvalidParameter, [&] { crm::validate_kmeans_options(o, c.sample_size); });
        crm::KMeansFitState state;
        EXPECT_EQ(expect_error(ErrorKind::InvalidParameter, [&] { state.set_options(o, c.sample_size); }), direct);
        if (c.sample_size == 0)
            EXPECT_EQ(expect_error(ErrorKind::InvalidParameter, [&] { crm::kmeans_fit(points, o); }), direct);
    }
    EXPECT_NO_THROW(crm::validate_kmeans_options(options_for(2), 2));
    EXPECT_NO_THROW(crm::validate_kmeans_options(options_for(2), 0));
    // A serialised aggregate state carrying options no worker accepts is corrupt.
    crm::KMeansFitState forged;
    forged.has_options = true;
    forged.options = options_for(2);
    forged.options.tol = kInf;
    const std::vector<std::uint8_t> bytes = forged.serialize();
    expect_error(ErrorKind::InvalidBinary, [&] { crm::KMeansFitState::deserialize(bytes.data(), bytes.size()); });
    expect_error(ErrorKind::InvalidParameter, [] { crm::validate_silhouette_sample_size(0); });
    EXPECT_NO_THROW(crm::validate_silhouette_sample_size(1));
}

TEST(KMeans, SameSeedSameModelDifferentSeedsMayDiffer) {
    const PointSet points = random_points(200, 3, 5, 2.5);
    const KMeansModel a = crm::kmeans_fit(points, options_for(5, 123));
    const KMeansModel b = crm::kmeans_fit(points, options_for(5, 123));
    expect_same_model(a, b);
    EXPECT_EQ(a.serialize(), b.serialize());
    // One start per seed: different seeds start elsewhere, so some model differs
    // (at least in the order of its clusters).
    KMeansOptions o = options_for(5, 1);
    o.n_init = 1;
    const auto first = crm::kmeans_fit(points, o).serialize();
    bool any_differs = false;
    for (std::uint64_t seed = 2; seed < 8; ++seed) {
        o.seed = seed;
        if (crm::kmeans_fit(points, o).serialize() != first) any_differs = true;
    }
    EXPECT_TRUE(any_differs);
}

TEST(KMeans, InertiaSizesAndWcssMatchBruteForceAssignment) {
    for (Scaling scale : {Scaling::None, Scaling::ZScore, Scaling::MinMax}) {
        const PointSet points = random_points(300, 4, 17, 3.0);
        const KMeansModel m = crm::kmeans_fit(points, options_for(6, 9, scale));
        std::vector<std::int64_t> sizes(6, 0);
        std::vector<double> wcss(6, 0.0);
        double inertia = 0;
        for (std::int64_t i = 0; i < points.size(); ++i) {
            double d2;
            const int c = brute_force_nearest(m, points.data().data() + 4 * i, d2);
            ++sizes[c - 1];
            wcss[c - 1] += d2;
            inertia += d2;
        }
        EXPECT_EQ(m.sizes, sizes) << crm::scaling_name(scale);
        EXPECT_NEAR(m.inertia, inertia, 1e-9 * inertia);
        double sum = 0;
        for (int c = 0; c < 6; ++c) {
            EXPECT_NEAR(m.wcss[c], wcss[c], 1e-9 * inertia);
            sum += m.wcss[c];
        }
        EXPECT_EQ(m.inertia, sum);
        EXPECT_GE(m.iterations, 1);
        EXPECT_LE(m.iterations, 300);
    }
}

TEST(KMeans, ManyClustersStayConsistent) {
    // Many clusters on few points exercise empty-cluster re-seeding.
    const PointSet points = random_points(120, 2, 23, 4.0);
    for (std::uint64_t seed = 0; seed < 5; ++seed) {
        KMeansOptions o = options_for(40, seed, Scaling::None);
        o.n_init = 2;
        const KMeansModel m = crm::kmeans_fit(points, o);
        std::int64_t total = 0;
        double inertia = 0;
        for (std::int64_t i = 0; i < points.size(); ++i) {
            double d2;
            brute_force_nearest(m, points.data().data() + 2 * i, d2);
            inertia += d2;
        }
        for (auto s : m.sizes) total += s;
        EXPECT_EQ(total, 120);
        EXPECT_NEAR(m.inertia, inertia, 1e-9 * inertia);
    }
}

TEST(KMeans, EmptyClusterIsReseededFromTheFarthestPoint) {
    // k-means++ seeds practically never lead Lloyd into an empty cluster, so
    // start from given centroids -3, 0, 3 on the line:
    //   -3 | -1.6 x 9 | -1  1 | 1.6 x 9 | 3
    // Iteration 1: cluster 1 = {-3, -1.6 x 9} -> mean -1.74; cluster 2 =
    // {-1, 1} -> 0; cluster 3 -> 1.74. Iteration 2: -1 is now nearer -1.74 than
    // 0, and 1 nearer 1.74: cluster 2 empties and takes the point farthest from
    // its centroid: -3 and 3 are both 1.26 away, the first in input order wins.
    // Then cluster 1 = {-1.6 x 9, -1} -> -1.54, cluster 3 = {1, 1.6 x 9, 3} -> 18.4 / 11.
    PointSet points;
    const auto add = [&points](double v, int times) {
        for (int i = 0; i < times; ++i) points.add(&v, 1);
    };
    add(-3, 1);
    add(-1.6, 9);
    add(-1, 1);
    add(1, 1);
    add(1.6, 9);
    add(3, 1);
    KMeansOptions o = options_for(3, 0, Scaling::None);
    o.initial_centroids = Eigen::MatrixXd(3, 1);
    o.initial_centroids << -3, 0, 3;
    const KMeansModel m = crm::kmeans_fit(points, o);
    EXPECT_EQ(m.n_init, 1);
    EXPECT_EQ(m.sizes, (std::vector<std::int64_t>{10, 1, 11}));
    EXPECT_NEAR(m.centroids(0, 0), -1.54, 1e-12);
    EXPECT_EQ(m.centroids(1, 0), -3.0);
    EXPECT_NEAR(m.centroids(2, 0), 18.4 / 11, 1e-12);
    EXPECT_TRUE(m.converged);

    o.initial_centroids = Eigen::MatrixXd(2, 1);
    expect_error(ErrorKind::InvalidParameter, [&] { crm::kmeans_fit(points, o); });
    o.initial_centroids = Eigen::MatrixXd(3, 1);
    o.initial_centroids << -3, kNaN, 3;
    expect_error(ErrorKind::InvalidParameter, [&] { crm::kmeans_fit(points, o); });
}

TEST(KMeans, WarmStartFromAStoredModelKeepsIt) {
    const PointSet points = random_points(200, 3, 61, 1.0);
    const KMeansModel first = crm::kmeans_fit(points, options_for(4, 3));
    KMeansOptions o = options_for(4, 3);
    o.initial_centroids = first.centroids_original();
    const KMeansModel again = crm::kmeans_fit(points, o);
    EXPECT_EQ(again.sizes, first.sizes);
    EXPECT_NEAR(again.inertia, first.inertia, 1e-9 * first.inertia);
    EXPECT_LE(again.iterations, 2);
}

TEST(KMeans, ScalingRoundTrip) {
    PointSet points;
    TestRng rng(31);
    for (int i = 0; i < 80; ++i) {
        const double x[3] = {1000 + 200 * rng.normal(), 0.01 * rng.uniform(), 42.0};  // last feature constant
        points.add(x, 3);
    }
    const int n = 80;
    std::vector<double> mean(3, 0.0), lo(3, kInf), hi(3, -kInf), var(3, 0.0);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < 3; ++j) {
            const double v = points.data()[3 * i + j];
            mean[j] += v / n;
            lo[j] = std::min(lo[j], v);
            hi[j] = std::max(hi[j], v);
        }
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < 3; ++j) var[j] += std::pow(points.data()[3 * i + j] - mean[j], 2) / n;

    for (Scaling scale : {Scaling::None, Scaling::ZScore, Scaling::MinMax}) {
        const KMeansModel m = crm::kmeans_fit(points, options_for(3, 4, scale));
        for (int j = 0; j < 2; ++j) {
            const double expected_offset = scale == Scaling::ZScore ? mean[j] : scale == Scaling::MinMax ? lo[j] : 0;
            const double expected_divisor =
                scale == Scaling::ZScore ? std::sqrt(var[j]) : scale == Scaling::MinMax ? hi[j] - lo[j] : 1;
            EXPECT_NEAR(m.offset[j], expected_offset, 1e-12 * (1 + std::abs(expected_offset)));
            EXPECT_NEAR(m.divisor[j], expected_divisor, 1e-12 * expected_divisor);
            EXPECT_NEAR(m.population_mean[j], mean[j], 1e-12 * std::abs(mean[j]));
            EXPECT_NEAR(m.population_std[j], std::sqrt(var[j]), 1e-12 * std::sqrt(var[j]));
        }
        if (scale != Scaling::None) {
            EXPECT_EQ(m.divisor[2], 1.0);
            EXPECT_EQ(m.offset[2], 42.0);
        }
        EXPECT_EQ(m.population_std[2], 0.0);
        const Eigen::MatrixXd original = m.centroids_original();
        for (int c = 0; c < 3; ++c) {
            for (int j = 0; j < 3; ++j)
                EXPECT_NEAR((original(c, j) - m.offset[j]) / m.divisor[j], m.centroids(c, j), 1e-12);
            EXPECT_EQ(original(c, 2), 42.0);
            if (scale != Scaling::None) {
                EXPECT_EQ(m.centroids(c, 2), 0.0);
            }
        }
    }
}

TEST(KMeans, AssignReturnsTheNearestCentroidOneBased) {
    const PointSet points = random_points(150, 2, 41, 1.5);
    const KMeansModel m = crm::kmeans_fit(points, options_for(4, 8));
    TestRng rng(77);
    for (int t = 0; t < 500; ++t) {
        const double x[2] = {20 * rng.uniform() - 5, 20 * rng.uniform() - 5};
        double distance = -1, best_d2;
        const int cluster = m.assign(x, 2, &distance);
        EXPECT_EQ(cluster, brute_force_nearest(m, x, best_d2));
        EXPECT_GE(cluster, 1);
        EXPECT_LE(cluster, 4);
        EXPECT_NEAR(distance, std::sqrt(best_d2), 1e-12 * (1 + distance));
    }
    // Hand-checkable: a model without scaling and two centroids on a line.
    KMeansModel line;
    line.k = 2;
    line.dims = 1;
    line.scale = Scaling::None;
    line.offset = {0};
    line.divisor = {1};
    line.centroids = Eigen::MatrixXd(2, 1);
    line.centroids << 0, 10;
    const double at3 = 3, at6 = 6, at5 = 5;
    double dist;
    EXPECT_EQ(line.assign(&at3, 1, &dist), 1);
    EXPECT_EQ(dist, 3.0);
    EXPECT_EQ(line.assign(&at6, 1, &dist), 2);
    EXPECT_EQ(dist, 4.0);
    EXPECT_EQ(line.assign(&at5, 1), 1);  // exact tie: the lower cluster number

    const double three[3] = {1, 2, 3}, with_nan[2] = {1, kNaN};
    expect_error(ErrorKind::InvalidParameter, [&] { m.assign(three, 3); });
    const std::string msg = expect_error(ErrorKind::InvalidParameter, [&] { m.assign(with_nan, 2); });
    EXPECT_NE(msg.find("element 2"), std::string::npos);
}

TEST(KMeans, ProgressCallbackReportsEveryIteration) {
    struct Log {
        std::vector<int> inits, iterations;
        std::vector<double> inertias;
    } log;
    const auto record = [](int init, int iteration, double inertia, void* arg) {
        auto* l = static_cast<Log*>(arg);
        l->inits.push_back(init);
        l->iterations.push_back(iteration);
        l->inertias.push_back(inertia);
    };
    const PointSet points = random_points(100, 2, 3, 2.0);
    KMeansOptions o = options_for(3, 5);
    o.n_init = 3;
    crm::kmeans_fit(points, o, record, &log);  // verbose off: calls without the inertia
    ASSERT_FALSE(log.inits.empty());
    for (double inertia : log.inertias) EXPECT_TRUE(std::isnan(inertia));
    log = Log{};
    o.verbose = true;
    const KMeansModel m = crm::kmeans_fit(points, o, record, &log);
    ASSERT_FALSE(log.inits.empty());
    EXPECT_EQ(log.inits.front(), 1);
    EXPECT_EQ(log.inits.back(), 3);
    for (std::size_t i = 1; i < log.inits.size(); ++i) {
        if (log.inits[i] == log.inits[i - 1]) {
            EXPECT_EQ(log.iterations[i], log.iterations[i - 1] + 1);
            // Lloyd never increases the inertia.
            EXPECT_LE(log.inertias[i], log.inertias[i - 1] * (1 + 1e-12));
        } else {
            EXPECT_EQ(log.inits[i], log.inits[i - 1] + 1);
            EXPECT_EQ(log.iterations[i], 1);
        }
    }
    EXPECT_NO_THROW(crm::kmeans_fit(points, o, nullptr, nullptr));
    EXPECT_GT(m.inertia, 0);
}

TEST(KMeans, InterruptsStopTheFit) {
    const auto cancel = [] { throw crm::Error(ErrorKind::QueryCanceled, "canceling statement due to user request"); };
    const crm::InterruptHandler previous = crm::set_interrupt_handler(cancel);
    const PointSet points = random_points(100, 2, 3);
    expect_error(ErrorKind::QueryCanceled, [&] { crm::kmeans_fit(points, options_for(3)); });
    crm::set_interrupt_handler(previous);
    EXPECT_NO_THROW(crm::kmeans_fit(points, options_for(3)));
}

TEST(KMeans, MemoryEstimate) {
    const std::size_t small = crm::kmeans_memory_estimate(1000, 3, 5);
    EXPECT_GE(small, 1000u * 3 * sizeof(double));
    EXPECT_GT(crm::kmeans_memory_estimate(2000, 3, 5), small);
    EXPECT_GT(crm::kmeans_memory_estimate(1000, 6, 5), small);
    EXPECT_GT(crm::kmeans_memory_estimate(1000, 3, 50), small);
    EXPECT_EQ(crm::kmeans_memory_estimate(std::numeric_limits<std::int64_t>::max(), 1 << 30, 1 << 30),
              std::numeric_limits<std::size_t>::max());
    EXPECT_GT(crm::kmeans_memory_estimate(-5, -1, -1), 0u);
}

// scikit-learn 1.2.1, KMeans(n_clusters=k, n_init=10, random_state=0) on these
// points z-scored by StandardScaler: test/reference/kmeans_sklearn.py.
const std::vector<double> kSklearnPoints = {
    -0.891, 0.097,  -0.464, 0.440,  -0.656, -0.696, 0.002,  0.353,  -0.327, 1.146,  0.958,  0.108,
    -0.278, 0.433,  1.058,  0.531,  -0.409, 0.837,  0.510,  -0.010, -0.593, -0.389, -0.333, 1.202,
    -1.397, -0.352, 0.455,  0.187,  1.196,  -0.185, -0.072, 0.526,  0.181,  -0.765, -0.065, -0.410,
    0.544,  0.772,  0.521,  -0.793, 0.830,  -0.435, -0.119, 0.252,  -0.495, 4.288,  -1.269, 1.305,
    3.750,  1.369,  -0.946, 2.236,  1.846,  2.411,  1.339,  1.232,  -0.102, 1.901,  1.725,  -0.405,
    2.218,  0.743,  -0.787, 2.236,  0.283,  0.685,  2.974,  -0.531, 0.941,  3.787,  2.710,  -0.648,
    3.400,  -0.764, 1.056,  3.228,  2.532,  -1.853, 5.880,  1.933,  -0.224, 2.996,  1.882,  1.008,
    2.134,  0.547,  0.688,  2.987,  1.264,  -0.622, -0.440, 3.734,  3.129,  0.023,  3.089,  0.990,
    -0.649, 5.235,  2.243,  -0.655, 4.464,  2.711,  0.721,  4.392,  1.987,  -0.285, 3.189,  1.004,
    1.485,  3.955,  2.733,  0.702,  3.172,  0.626,  -0.864, 4.519,  3.276,  0.702,  3.866,  1.336,
    0.786,  5.275,  1.416,  0.129,  3.058,  1.020,  0.752,  3.289,  1.295,  0.190,  4.651,  1.857,
    0.076,  4.536,  2.175,  3.489,  2.010,  0.250,  4.410,  3.464,  -0.871, 5.099,  3.701,  -0.273,
    2.133,  5.993,  -0.471, 4.732,  2.787,  -2.270, 4.232,  4.973,  -0.397, 4.896,  2.237,  -0.677,
    2.658,  2.644,  0.475,  5.813,  4.560,  -1.769, 3.533,  4.657,  -0.094, 3.310,  6.006,  0.430,
    4.055,  5.467,  0.717,  3.478,  3.262,  -3.164, 5.830,  5.245,  -1.793, 3.798,  3.097,  0.410,
};

TEST(KMeans, SilhouetteMemoryEstimate) {
    // 1000 points, 3 features, 4 clusters: 1000 * (16 * 3 + 8 * 4 + 12) + 4096.
    EXPECT_EQ(crm::silhouette_memory_estimate(1000, 3, 4), 1000u * (48 + 32 + 12) + 4096);
    EXPECT_EQ(crm::silhouette_memory_estimate(-5, 3, 4), 4096u);
    EXPECT_EQ(crm::silhouette_memory_estimate(std::numeric_limits<std::int64_t>::max(), 1000000, 1000000),
              std::numeric_limits<std::size_t>::max());
}

TEST(KMeans, MatchesScikitLearnInertia) {
    PointSet points;
    for (std::size_t i = 0; i < kSklearnPoints.size(); i += 3) points.add(&kSklearnPoints[i], 3);
    ASSERT_EQ(points.size(), 60);
    const struct {
        int k;
        double inertia;
    } reference[] = {{3, 63.54248056053245}, {4, 49.9626128204424}};  // k = 5: see the script
    for (const auto& ref : reference) {
        const KMeansModel m = crm::kmeans_fit(points, options_for(ref.k, 2024));
        EXPECT_NEAR(m.inertia, ref.inertia, 0.01 * ref.inertia) << "k = " << ref.k;
    }
}

// ---------------------------------------------------------------------------
// Serialised and text forms

KMeansModel fitted_model() {
    KMeansOptions o = options_for(4, 77);
    o.feature_names = {"recency_days", "say \"hi\"\\ \n\t\x01", "caf\xc3\xa9 \xf0\x9f\x98\x80"};
    return crm::kmeans_fit(random_points(120, 3, 13, 2.0), o);
}

// Every awkward double: negative zero, a subnormal, 0.1, huge and tiny magnitudes.
KMeansModel awkward_model() {
    KMeansModel m;
    m.k = 2;
    m.dims = 2;
    m.scale = Scaling::MinMax;
    m.offset = {-0.0, 0.1};
    m.divisor = {4.9406564584124654e-324, 1e300};
    m.population_mean = {};
    m.population_std = {};
    m.centroids = Eigen::MatrixXd(2, 2);
    m.centroids << 1.0 / 3.0, -2.5e-310, 0.30000000000000004, 123456789.123456789;
    m.sizes = {0, 3};
    m.wcss = {0.0, 0.1 + 0.2};
    m.inertia = 0.1 + 0.2;
    m.iterations = 0;
    m.n_init = 1;
    m.seed = std::numeric_limits<std::uint64_t>::max();
    m.n_points = 3;
    m.converged = false;
    return m;
}

TEST(KMeansModel, BinaryRoundTripIsExact) {
    for (const KMeansModel& m : {fitted_model(), awkward_model()}) {
        const auto bytes = m.serialize();
        EXPECT_EQ(bytes[0], 0x4B);
        EXPECT_EQ(bytes[1], 1);
        expect_same_model(KMeansModel::deserialize(bytes.data(), bytes.size()), m);
        for (std::size_t cut = 0; cut < bytes.size(); ++cut)
            expect_error(ErrorKind::InvalidBinary, [&] { KMeansModel::deserialize(bytes.data(), cut); });
        auto trailing = bytes;
        trailing.push_back(0);
        expect_error(ErrorKind::InvalidBinary, [&] { KMeansModel::deserialize(trailing.data(), trailing.size()); });
        auto wrong_tag = bytes;
        wrong_tag[0] = 0x50;  // another kind of value (a point set): the caller passed the wrong thing
        expect_error(ErrorKind::InvalidParameter, [&] { KMeansModel::deserialize(wrong_tag.data(), wrong_tag.size()); });
        wrong_tag[0] = 0xEE;  // no kind at all: corrupted
        expect_error(ErrorKind::InvalidBinary, [&] { KMeansModel::deserialize(wrong_tag.data(), wrong_tag.size()); });
        auto huge_k = bytes;
        std::fill(huge_k.begin() + 2, huge_k.begin() + 6, 0xFF);
        huge_k[5] = 0x7F;
        expect_error(ErrorKind::InvalidBinary, [&] { KMeansModel::deserialize(huge_k.data(), huge_k.size()); });
        auto zero_k = bytes;
        std::fill(zero_k.begin() + 2, zero_k.begin() + 6, 0);
        expect_error(ErrorKind::InvalidBinary, [&] { KMeansModel::deserialize(zero_k.data(), zero_k.size()); });
    }
    // A model whose sizes do not add up, or with a NaN centroid, is rejected.
    KMeansModel bad = awkward_model();
    bad.n_points = 4;
    auto bytes = bad.serialize();
    expect_error(ErrorKind::InvalidBinary, [&] { KMeansModel::deserialize(bytes.data(), bytes.size()); });
    bad = awkward_model();
    bad.centroids(1, 1) = kNaN;
    bytes = bad.serialize();
    expect_error(ErrorKind::InvalidBinary, [&] { KMeansModel::deserialize(bytes.data(), bytes.size()); });
    bad = awkward_model();
    bad.divisor[0] = 0;
    bytes = bad.serialize();
    expect_error(ErrorKind::InvalidBinary, [&] { KMeansModel::deserialize(bytes.data(), bytes.size()); });
    // PostgreSQL text cannot hold a NUL: a feature name with one is corrupt bytes.
    bad = fitted_model();
    bad.feature_names.assign(static_cast<std::size_t>(bad.dims), "f");
    bad.feature_names[0] = std::string("a\0b", 3);
    bytes = bad.serialize();
    expect_error(ErrorKind::InvalidBinary, [&] { KMeansModel::deserialize(bytes.data(), bytes.size()); });
}

TEST(KMeansModel, JsonRoundTripIsExact) {
    for (const KMeansModel& m : {fitted_model(), awkward_model()}) {
        const std::string text = m.to_json();
        EXPECT_EQ(text.rfind("{\"format\": \"crm.kmeans_model\", \"version\": 1, ", 0), 0u) << text;
        EXPECT_NE(text.find("\"centroids_original\": [["), std::string::npos);
        expect_same_model(KMeansModel::from_json(text), m);
    }
    const std::string text = awkward_model().to_json();
    EXPECT_NE(text.find("\"offset\": [-0, 0.10000000000000001]"), std::string::npos) << text;
    EXPECT_NE(text.find("\"seed\": 18446744073709551615"), std::string::npos) << text;
    const std::string names = fitted_model().to_json();
    EXPECT_NE(names.find(R"("say \"hi\"\\ \n\t\u0001")"), std::string::npos) << names;
}

TEST(KMeansModel, JsonReaderAcceptsAnyLayoutAndEscapes) {
    KMeansModel m = awkward_model();
    m.feature_names = {"caf\xc3\xa9", "\xf0\x9f\x98\x80/"};
    std::string text = m.to_json();
    // Re-encode the names with \u escapes (a surrogate pair for the emoji) and
    // an escaped slash, and spread the object over lines.
    const std::string plain = "[\"caf\xc3\xa9\", \"\xf0\x9f\x98\x80/\"]";
    const std::size_t at = text.find(plain);
    ASSERT_NE(at, std::string::npos);
    text.replace(at, plain.size(), "[ \"caf\\u00E9\" ,\r\n \"\\ud83d\\ude00\\/\" ]");
    for (std::size_t p = text.find(", \""); p != std::string::npos; p = text.find(", \"", p + 3)) text[p + 1] = '\n';
    expect_same_model(KMeansModel::from_json("\t" + text + "\n "), m);
}

TEST(KMeansModel, CorruptJsonIsInvalidText) {
    const std::string good = fitted_model().to_json();
    // Every proper prefix is incomplete JSON.
    for (std::size_t cut = 0; cut < good.size(); ++cut)
        expect_error(ErrorKind::InvalidText, [&] { KMeansModel::from_json(good.substr(0, cut)); });

    const auto replaced = [&good](const std::string& from, const std::string& to) {
        const std::size_t at = good.find(from);
        EXPECT_NE(at, std::string::npos) << from;
        std::string s = good;
        return s.replace(at, from.size(), to);
    };
    const std::vector<std::string> bad = {
        good + "x",
        good + " {}",
        "[" + good + "]",
        replaced("\"crm.kmeans_model\"", "\"crm.other\""),
        replaced("\"version\": 1", "\"version\": 2"),
        replaced("\"k\": 4", "\"k\": 3"),
        replaced("\"k\": 4", "\"k\": 4.0"),
        replaced("\"k\": 4", "\"k\": 04"),
        replaced("\"k\": 4", "\"k\": \"4\""),
        replaced("\"dims\": 3", "\"dims\": 3, \"dims\": 3"),
        replaced("\"dims\": 3", "\"dims\": 3, \"extra\": null"),
        replaced("\"dims\": 3, ", ""),
        replaced("\"converged\": ", "\"converged\": 1, \"x\": "),
        replaced("\"scale\": \"zscore\"", "\"scale\": \"robust\""),
        replaced("\"recency_days\"", "\"recency\\x\""),
        replaced("\"recency_days\"", "\"\\ud83d\""),
        replaced("\"recency_days\"", "\"tab\there\""),
        replaced("\"inertia\": ", "\"inertia\": -"),
        replaced("\"inertia\": ", "\"inertia\": 1e999, \"y\": "),
        replaced("\"n_points\": 120", "\"n_points\": 121"),
        replaced("\"centroids_original\": [[", "\"centroids_original\": [[1e6, "),
        replaced("\"centroids\": [[", "\"centroids\": [[+"),
        replaced("\"wcss\": [", "\"wcss\": [,"),
        replaced("\"sizes\": [", "\"sizes\": [-"),
        replaced("\"dims\": 3", "\"dims\": 2000000000"),
        replaced("\"k\": 4", "\"k\": 99999999999"),
        std::string(100, '[') + std::string(100, ']'),
        "",
        "null",
    };
    for (const std::string& text : bad) {
        const std::string msg = expect_error(ErrorKind::InvalidText, [&] { KMeansModel::from_json(text); });
        EXPECT_NE(msg.find("k-means model text"), std::string::npos) << msg;
    }
    const std::string msg = expect_error(ErrorKind::InvalidText, [&] { KMeansModel::from_json("{\"format\" 1}"); });
    EXPECT_NE(msg.find("at position 10"), std::string::npos) << msg;
}

// ---------------------------------------------------------------------------
// Silhouette

TEST(KMeansSilhouette, HandCheckedOneDimensionalExample) {
    // Points 0 1 | 5 6 7 | 20 and centroids 0.5, 6, 20 (no scaling). With a(i)
    // the mean distance to the own cluster and b(i) the smallest mean distance
    // to another cluster, s(i) = (b - a) / max(a, b):
    //   0:  a = 1,   b = min((5+6+7)/3, 20) = 6    -> 5/6
    //   1:  a = 1,   b = min((4+5+6)/3, 19) = 5    -> 4/5
    //   5:  a = 1.5, b = min((5+4)/2, 15) = 4.5    -> 2/3
    //   6:  a = 1,   b = min((6+5)/2, 14) = 5.5    -> 9/11
    //   7:  a = 1.5, b = min((7+6)/2, 13) = 6.5    -> 10/13
    //   20: alone in its cluster                   -> 0
    // mean = (5/6 + 4/5 + 2/3 + 9/11 + 10/13) / 6
    KMeansModel m;
    m.k = 3;
    m.dims = 1;
    m.scale = Scaling::None;
    m.offset = {0};
    m.divisor = {1};
    m.centroids = Eigen::MatrixXd(3, 1);
    m.centroids << 0.5, 6, 20;
    const PointSet points = make_points({{0}, {1}, {5}, {6}, {7}, {20}});
    const crm::SilhouetteResult r = crm::silhouette(m, points);
    EXPECT_EQ(r.sample_size, 6);
    EXPECT_NEAR(r.score, (5.0 / 6 + 4.0 / 5 + 2.0 / 3 + 9.0 / 11 + 10.0 / 13) / 6, 1e-12);

    // Scaling is applied first: the same points doubled with divisor 2 score the same.
    KMeansModel scaled = m;
    scaled.divisor = {2};
    const PointSet doubled = make_points({{0}, {2}, {10}, {12}, {14}, {40}});
    EXPECT_NEAR(crm::silhouette(scaled, doubled).score, r.score, 1e-12);
}

TEST(KMeansSilhouette, UndefinedCasesAndSampling) {
    const PointSet points = random_points(400, 2, 19, 1.0);
    const KMeansModel one = crm::kmeans_fit(points, options_for(1));
    EXPECT_TRUE(std::isnan(crm::silhouette(one, points).score));
    const KMeansModel four = crm::kmeans_fit(points, options_for(4));
    EXPECT_TRUE(std::isnan(crm::silhouette(four, PointSet()).score));

    const crm::SilhouetteResult exact = crm::silhouette(four, points, 1000);
    EXPECT_EQ(exact.sample_size, 400);
    const crm::SilhouetteResult sampled = crm::silhouette(four, points, 150, 5);
    EXPECT_EQ(sampled.sample_size, 150);
    EXPECT_EQ(crm::silhouette(four, points, 150, 5).score, sampled.score);  // seeded
    EXPECT_GE(sampled.score, -1.0);
    EXPECT_LE(sampled.score, 1.0);
    EXPECT_NEAR(sampled.score, exact.score, 0.1);

    expect_error(ErrorKind::InvalidParameter, [&] { crm::silhouette(four, points, 0); });
    expect_error(ErrorKind::InvalidParameter, [&] { crm::silhouette(four, random_points(10, 3, 1)); });
}

// ---------------------------------------------------------------------------
// Labels

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

TEST(KMeansLabels, SyntheticRfmClustersGetTheirNames) {
    TestRng rng(2024);
    PointSet points;
    for (int i = 0; i < 30; ++i) {
        // recency_days, frequency, monetary
        const double high_value[3] = {10 + 5 * rng.uniform(), 18 + 4 * rng.uniform(), 1800 + 400 * rng.uniform()};
        const double at_risk[3] = {280 + 40 * rng.uniform(), 6 + 4 * rng.uniform(), 700 + 200 * rng.uniform()};
        const double fresh[3] = {2 + 6 * rng.uniform(), 1 + std::floor(2 * rng.uniform()), 30 + 40 * rng.uniform()};
        points.add(high_value, 3);
        points.add(at_risk, 3);
        points.add(fresh, 3);
    }
    KMeansOptions o = options_for(3, 1);
    o.feature_names = {"Recency_Days", "Frequency", "MONETARY"};
    const KMeansModel m = crm::kmeans_fit(points, o);
    const std::vector<std::string> labels = crm::cluster_labels(m);
    ASSERT_EQ(labels.size(), 3u);
    const Eigen::MatrixXd c = m.centroids_original();
    for (int i = 0; i < 3; ++i) {
        if (c(i, 0) > 200) {
            EXPECT_TRUE(starts_with(labels[i], "At-Risk (high Recency_Days")) << labels[i];
        } else if (c(i, 1) > 10) {
            EXPECT_TRUE(starts_with(labels[i], "High-Value (")) << labels[i];
            EXPECT_NE(labels[i].find("high Frequency"), std::string::npos) << labels[i];
            EXPECT_NE(labels[i].find("high MONETARY"), std::string::npos) << labels[i];
        } else {
            EXPECT_TRUE(starts_with(labels[i], "New (")) << labels[i];
            EXPECT_NE(labels[i].find("low Frequency"), std::string::npos) << labels[i];
        }
    }
}

KMeansModel profile_model(const std::vector<std::vector<double>>& centroids, Scaling scale) {
    KMeansModel m;
    m.k = static_cast<int>(centroids.size());
    m.dims = static_cast<int>(centroids[0].size());
    m.scale = scale;
    m.offset.assign(m.dims, 0.0);
    m.divisor.assign(m.dims, 1.0);
    m.centroids = Eigen::MatrixXd(m.k, m.dims);
    for (int c = 0; c < m.k; ++c)
        for (int j = 0; j < m.dims; ++j) m.centroids(c, j) = centroids[c][j];
    m.sizes.assign(m.k, 1);
    m.wcss.assign(m.k, 0.0);
    m.n_points = m.k;
    return m;
}

TEST(KMeansLabels, GenericProfileNamesTheStrongestFeatures) {
    // zscore with offset 0 and divisor 1: the scaled centroids are the z values.
    KMeansModel m = profile_model({{0.7, -2.0, 0.1, 1.0, 0.6}, {0.2, -0.4, 0.49, 0.0, -0.49}}, Scaling::ZScore);
    std::vector<std::string> labels = crm::cluster_labels(m);
    EXPECT_EQ(labels[0], "low feature 2, high feature 4, high feature 1");
    EXPECT_EQ(labels[1], "average");
    m.feature_names = {"age", "tenure", "", "spend", "visits"};
    labels = crm::cluster_labels(m);
    EXPECT_EQ(labels[0], "low tenure, high spend, high age");

    // Other scalings need the population statistics.
    KMeansModel none = profile_model({{1.0}, {3.0}}, Scaling::None);
    expect_error(ErrorKind::InvalidParameter, [&] { crm::cluster_labels(none); });
    none.population_mean = {2.0};
    none.population_std = {1.0};
    EXPECT_EQ(crm::cluster_labels(none), (std::vector<std::string>{"low feature 1", "high feature 1"}));
    none.population_std = {0.0};  // no spread: z = 0
    EXPECT_EQ(crm::cluster_labels(none), (std::vector<std::string>{"average", "average"}));
}

TEST(KMeansLabels, EveryCrmRule) {
    // Population: recency 100 +- 50 days, frequency 5 +- 2, monetary 500 +- 200.
    KMeansModel m = profile_model({{110, 8, 800},    // z  0.2,  1.5,  1.5
                                   {50, 9, 500},     // z -1,    2,    0
                                   {200, 5, 500},    // z  2,    0,    0
                                   {20, 3, 450},     // z -1.6, -1,   -0.25
                                   {200, 2, 300},    // z  2,   -1.5, -1
                                   {100, 5, 500}},   // z  0,    0,    0
                                  Scaling::None);
    m.population_mean = {100, 5, 500};
    m.population_std = {50, 2, 200};
    m.feature_names = {"recency", "frequency", "monetary"};
    EXPECT_EQ(crm::cluster_labels(m),
              (std::vector<std::string>{"High-Value (high frequency, high monetary)",
                                        "Loyal (high frequency, low recency)", "At-Risk (high recency)",
                                        "New (low recency, low frequency)",
                                        "Low-Value (high recency, low frequency, low monetary)",
                                        "Low-Value (average)"}));
}

std::vector<std::string> names_by_cluster(const std::vector<crm::ClusterName>& names) {
    std::vector<std::string> out(names.size());
    for (const auto& n : names) out[static_cast<std::size_t>(n.cluster - 1)] = n.name;
    return out;
}

TEST(KMeansClusterNames, DistinctAndOrderedByValue) {
    // Population: recency 100 +- 50 days, frequency 5 +- 2, monetary 500 +- 200. The showcase's case: three
    // clusters the CRM rule calls High-Value, at different levels of value.
    KMeansModel m = profile_model({{20, 30, 4000},   // z -1.6, 12.5, 17.5  value 31.6
                                   {40, 12, 1500},   // z -1.2,  3.5,  5    value  9.7
                                   {60, 7, 700},     // z -0.8,  1,    1    value  2.8
                                   {200, 2, 300},    // z  2,   -1.5, -1    value -4.5
                                   {250, 1, 100},    // z  3,   -2,   -2    value -7
                                   {240, 6, 800}},   // z  2.8,  0.5,  1.5  value -0.8 (At-Risk)
                                  Scaling::None);
    m.population_mean = {100, 5, 500};
    m.population_std = {50, 2, 200};
    m.feature_names = {"recency_days", "frequency", "monetary"};
    const std::vector<crm::ClusterName> names = crm::cluster_names(m);
    ASSERT_EQ(names.size(), 6u);
    EXPECT_EQ(names_by_cluster(names), (std::vector<std::string>{"VIP", "High-Value", "Medium-Value", "Low-Value",
                                                                 "Lowest-Value", "At-Risk"}));
    // Sorted by value rank, with the documented score z_f + z_m - z_r.
    const std::vector<int> order = {1, 2, 3, 6, 4, 5};
    for (std::size_t i = 0; i < names.size(); ++i) {
        EXPECT_EQ(names[i].value_rank, static_cast<int>(i + 1));
        EXPECT_EQ(names[i].cluster, order[i]);
    }
    EXPECT_NEAR(names[0].value_score, 12.5 + 17.5 + 1.6, 1e-12);
    EXPECT_NEAR(names[3].value_score, 0.5 + 1.5 - 2.8, 1e-12);
    EXPECT_EQ(names[0].profile, "high monetary, high frequency, low recency_days");

    // The labels of crm.kmeans_labels are unchanged: three share "High-Value".
    const std::vector<std::string> labels = crm::cluster_labels(m);
    EXPECT_TRUE(starts_with(labels[0], "High-Value (") && starts_with(labels[1], "High-Value (") &&
                starts_with(labels[2], "High-Value ("));
}

TEST(KMeansClusterNames, SharedCategoriesAndGenericProfiles) {
    KMeansModel m = profile_model({{300, 6, 800},    // At-Risk, value -4 + 0.5 + 1.5 = -2
                                   {300, 8, 900},    // At-Risk, value -4 + 1.5 + 2 = -0.5
                                   {300, 7, 600},    // At-Risk, value -4 + 1 + 0.5 = -2.5
                                   {10, 1, 100}},    // New
                                  Scaling::None);
    m.population_mean = {100, 5, 500};
    m.population_std = {50, 2, 200};
    m.feature_names = {"recency", "frequency", "monetary"};
    EXPECT_EQ(names_by_cluster(crm::cluster_names(m)),
              (std::vector<std::string>{"At-Risk 2", "At-Risk 1", "At-Risk 3", "New"}));
    m.centroids.conservativeResize(2, 3);
    m.k = 2;
    EXPECT_EQ(names_by_cluster(crm::cluster_names(m)),
              (std::vector<std::string>{"At-Risk (lower value)", "At-Risk (higher value)"}));

    // Without RFM features: the generic profile, with the value rank where two share one.
    KMeansModel g = profile_model({{0.1, 0.2}, {2.0, 0.0}, {-0.2, 0.1}}, Scaling::ZScore);
    g.feature_names = {"spend", "visits"};
    const std::vector<crm::ClusterName> generic = crm::cluster_names(g);
    EXPECT_EQ(names_by_cluster(generic),
              (std::vector<std::string>{"average (value rank 2)", "high spend", "average (value rank 3)"}));
    EXPECT_NEAR(generic[0].value_score, 1.0, 1e-12);
}

}  // namespace

// Same rows, same result, whatever order they arrive in and however they are
// split across parallel workers: a sample, and a seeded fit.
TEST(KMeansOrderIndependence, SampleAndFitDependOnTheRowsOnly) {
    std::vector<std::array<double, 2>> rows;
    std::mt19937_64 engine(3);
    for (int i = 0; i < 3000; ++i)
        rows.push_back({static_cast<double>(engine() % 50) + 10.0 * (i % 4),
                        static_cast<double>(engine() % 30) - 5.0 * (i % 3)});
    const auto fit_of = [](const std::vector<std::array<double, 2>>& r, std::int64_t sample, int parts) {
        std::vector<PointSet> sets(static_cast<std::size_t>(parts), PointSet(sample, 17));
        for (std::size_t i = 0; i < r.size(); ++i) sets[i % static_cast<std::size_t>(parts)].add(r[i].data(), 2);
        for (int p = 1; p < parts; ++p) sets[0].merge(sets[static_cast<std::size_t>(p)]);
        crm::KMeansOptions o;
        o.k = 4;
        o.seed = 5;
        o.n_init = 3;
        return std::make_pair(sets[0].canonical().data(), crm::kmeans_fit(sets[0], o).to_json());
    };
    for (const std::int64_t sample : {std::int64_t{0}, std::int64_t{500}}) {
        const auto reference = fit_of(rows, sample, 1);
        auto shuffled = rows;
        for (int round = 0; round < 3; ++round) {
            std::shuffle(shuffled.begin(), shuffled.end(), engine);
            for (const int parts : {1, 2, 3}) {
                const auto other = fit_of(shuffled, sample, parts);
                EXPECT_EQ(other.first, reference.first) << "sample " << sample << ", parts " << parts;
                EXPECT_EQ(other.second, reference.second) << "sample " << sample << ", parts " << parts;
            }
        }
    }
}
