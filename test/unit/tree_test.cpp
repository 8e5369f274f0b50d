// Decision trees and random forests: hand-computed splits, stopping rules,
// class weights, regression, missing values, row-order independence, the
// byte format, forests across thread counts, rules, importance and metrics.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <atomic>
#include <memory_resource>
#include <nlohmann/json.hpp>

#include "byte_io.hpp"
#include "errors.hpp"
#include "expect_error.hpp"
#include "interrupts.hpp"
#include "tree_metrics.hpp"
#include "tree_model.hpp"

namespace {

using crm::DecisionTree;
using crm::ErrorKind;
using crm::TreeCriterion;
using crm::TreeModel;
using crm::TreeNode;
using crm::TreeOptions;
using crm::TreeRows;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Portable test data from the raw 64-bit engine output.
struct TestRng {
    explicit TestRng(std::uint64_t seed) : engine(seed) {}
    double uniform() { return static_cast<double>(engine() >> 11) * 0x1.0p-53; }
    int below(int n) { return static_cast<int>(engine() % static_cast<std::uint64_t>(n)); }
    std::mt19937_64 engine;
};

struct Row {
    std::vector<double> x;
    double y;
};

TreeRows make_rows(const std::vector<Row>& data) {
    TreeRows rows;
    for (const Row& r : data) rows.add(r.x.data(), static_cast<int>(r.x.size()), r.y);
    return rows;
}

// One feature: x = 1..n with the given labels.
TreeRows line(const std::vector<double>& labels) {
    TreeRows rows;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const double x = static_cast<double>(i + 1);
        rows.add(&x, 1, labels[i]);
    }
    return rows;
}

TreeOptions depth(int max_depth) {
    TreeOptions o;
    o.max_depth = max_depth;
    return o;
}

TreeOptions forest(int n_trees, std::uint64_t seed = 7, int threads = 2) {
    TreeOptions o;
    o.n_trees = n_trees;
    o.seed = seed;
    o.threads = threads;
    return o;
}

// A classification data set with small-integer features (many ties), a few
// missing values and duplicated rows; the label depends on two features.
std::vector<Row> noisy_data(int n, int dims, std::uint64_t seed, double missing = 0.0) {
    TestRng rng(seed);
    std::vector<Row> data;
    for (int i = 0; i < n; ++i) {
        Row r;
        for (int j = 0; j < dims; ++j) r.x.push_back(static_cast<double>(rng.below(12)));
        const double signal = r.x[0] + 0.5 * r.x[std::min(1, dims - 1)] + 3 * rng.uniform();
        r.y = signal > 9 ? 1 : 0;
        for (int j = 0; j < dims; ++j)
            if (rng.uniform() < missing) r.x[j] = kNaN;
        data.push_back(r);
        if (i % 10 == 0) data.push_back(r);
    }
    return data;
}

double predict1(const TreeModel& m, double x) { return m.predict(&x, 1); }

std::vector<std::uint8_t> bytes_of(const TreeRows& rows, const TreeOptions& o, bool regression = false) {
    return crm::tree_fit(rows, o, regression).serialize();
}

// ---------------------------------------------------------------------------
// A plain reference CART (Gini, no missing values, unit weights), written from
// the definition: every node re-sorts its rows. With integer features the
// sums are exact, so it must build the very same tree.

struct RefNode {
    int feature = -1;
    double threshold = 0;
    std::int64_t samples = 0;
    double value = 0;
    int left = -1, right = -1;
};

double gini(double t, double n) { return 1.0 - (t * t + (n - t) * (n - t)) / (n * n); }

void reference_grow(const std::vector<Row>& data, std::vector<int> idx, int depth, const TreeOptions& o,
                    std::vector<RefNode>& out, double total) {
    const int id = static_cast<int>(out.size());
    out.emplace_back();
    double t = 0;
    for (int i : idx) t += data[i].y;
    const double n = static_cast<double>(idx.size());
    out[id].samples = static_cast<std::int64_t>(idx.size());
    out[id].value = t / n;
    const double imp = gini(t, n);
    if ((o.max_depth > 0 && depth >= o.max_depth) || n < o.min_samples_split || n < 2 * o.min_samples_leaf ||
        imp <= 2.220446049250313e-16)
        return;
    const int dims = static_cast<int>(data[0].x.size());
    int best_f = -1;
    double best_t = 0, best_score = -kInf;
    for (int f = 0; f < dims; ++f) {
        std::vector<int> s = idx;
        std::stable_sort(s.begin(), s.end(), [&](int a, int b) { return data[a].x[f] < data[b].x[f]; });
        for (std::size_t k = 0; k + 1 < s.size(); ++k) {
            const double a = data[s[k]].x[f], b = data[s[k + 1]].x[f];
            if (a == b) continue;
            const double nl = static_cast<double>(k + 1), nr = n - nl;
            if (nl < o.min_samples_leaf || nr < o.min_samples_leaf) continue;
            double tl = 0;
            for (std::size_t q = 0; q <= k; ++q) tl += data[s[q]].y;
            const double tr = t - tl, fl = nl - tl, fr = nr - tr;
            const double score = (tl * tl + fl * fl) / nl + (tr * tr + fr * fr) / nr;
            if (score > best_score) {
                best_score = score;
                best_f = f;
                best_t = a / 2 + b / 2;
            }
        }
    }
    if (best_f < 0) return;
    std::vector<int> l, r;
    for (int i : idx) (data[i].x[best_f] <= best_t ? l : r).push_back(i);
    double tl = 0, tr = 0;
    for (int i : l) tl += data[i].y;
    for (int i : r) tr += data[i].y;
    const double nl = static_cast<double>(l.size()), nr = static_cast<double>(r.size());
    const double decrease = n / total * (imp - nr / n * gini(tr, nr) - nl / n * gini(tl, nl));
    if (decrease + 2.220446049250313e-16 < o.min_impurity_decrease) return;
    out[id].feature = best_f;
    out[id].threshold = best_t;
    out[id].left = static_cast<int>(out.size());
    reference_grow(data, l, depth + 1, o, out, total);
    out[id].right = static_cast<int>(out.size());
    reference_grow(data, r, depth + 1, o, out, total);
}

// ---------------------------------------------------------------------------
// Splits computed by hand

// x = 1..6, y = 0 0 0 1 0 1. Weighted child Gini per threshold (x 6 rows):
// 1.5: 5/6*0.48 = 0.4; 2.5: 4/6*0.5 = 0.333; 3.5: 3/6*4/9 = 0.222;
// 4.5: 4/6*0.375 + 2/6*0.5 = 0.417; 5.5: 5/6*0.32 = 0.267. Best: 3.5.
const std::vector<double> kSixLabels = {0, 0, 0, 1, 0, 1};

TEST(TreeSplit, GiniStumpByHand) {
    const TreeModel m = crm::tree_fit(line(kSixLabels), depth(1), false);
    ASSERT_EQ(m.trees.size(), 1u);
    const auto& n = m.trees[0].nodes;
    ASSERT_EQ(n.size(), 3u);
    EXPECT_EQ(n[0].feature, 0);
    EXPECT_EQ(n[0].threshold, 3.5);
    EXPECT_DOUBLE_EQ(n[0].impurity, 1.0 - (4.0 + 16.0) / 36.0);
    EXPECT_DOUBLE_EQ(n[0].value, 2.0 / 6.0);
    EXPECT_EQ(n[0].samples, 6);
    EXPECT_EQ(n[1].value, 0.0);
    EXPECT_EQ(n[1].samples, 3);
    EXPECT_EQ(n[1].impurity, 0.0);
    EXPECT_DOUBLE_EQ(n[2].value, 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(n[2].impurity, 4.0 / 9.0);
    EXPECT_EQ(predict1(m, 3.5), 0.0);  // value <= threshold goes left
    EXPECT_DOUBLE_EQ(predict1(m, 3.5000001), 2.0 / 3.0);
    EXPECT_EQ(m.depth(), 1);
    EXPECT_EQ(m.leaves(), 2);
    EXPECT_EQ(m.feature_importance, std::vector<double>{1.0});
    EXPECT_TRUE(std::isnan(m.oob_score));
    EXPECT_EQ(m.n_samples, 6);
}

TEST(TreeSplit, FullTreeAndThresholdTieTakesTheLowest) {
    // The right child {4:1, 5:0, 6:1} splits equally well at 4.5 and 5.5: the
    // lower threshold, found first, wins.
    const TreeModel m = crm::tree_fit(line(kSixLabels), TreeOptions{}, false);
    const auto& n = m.trees[0].nodes;
    ASSERT_EQ(n.size(), 7u);
    EXPECT_EQ(n[0].threshold, 3.5);
    EXPECT_EQ(n[0].left, 1);
    EXPECT_EQ(n[0].right, 2);
    EXPECT_EQ(n[2].threshold, 4.5);
    EXPECT_EQ(n[2].left, 3);
    EXPECT_EQ(n[2].right, 4);
    EXPECT_EQ(n[4].threshold, 5.5);
    EXPECT_EQ(m.depth(), 3);
    EXPECT_EQ(m.leaves(), 4);
    for (int i = 1; i <= 6; ++i) EXPECT_EQ(predict1(m, i), kSixLabels[i - 1]) << i;
}

TEST(TreeSplit, MidpointBetweenDistinctValues) {
    TreeRows rows;
    const double xs[] = {-2.0, -2.0, 0.25, 7.0, 7.0, 1e300};
    const double ys[] = {0, 0, 0, 1, 1, 1};
    for (int i = 0; i < 6; ++i) rows.add(&xs[i], 1, ys[i]);
    const TreeModel m = crm::tree_fit(rows, depth(1), false);
    EXPECT_EQ(m.trees[0].nodes[0].threshold, 3.625);
    // Adjacent doubles: the midpoint rounds to the upper one, so it is the lower.
    TreeRows close;
    const double a = 1.0, b = std::nextafter(1.0, 2.0);
    close.add(&a, 1, 0);
    close.add(&b, 1, 1);
    const TreeModel c = crm::tree_fit(close, TreeOptions{}, false);
    EXPECT_EQ(c.trees[0].nodes[0].threshold, a);
    EXPECT_EQ(predict1(c, a), 0.0);
    EXPECT_EQ(predict1(c, b), 1.0);
}

TEST(TreeSplit, EqualDecreaseTakesTheLowerFeature) {
    // Both features separate the classes perfectly (the second reversed).
    const std::vector<Row> data = {{{1, 4}, 0}, {{2, 3}, 0}, {{3, 2}, 1}, {{4, 1}, 1}};
    const TreeModel m = crm::tree_fit(make_rows(data), TreeOptions{}, false);
    EXPECT_EQ(m.trees[0].nodes[0].feature, 0);
    EXPECT_EQ(m.trees[0].nodes[0].threshold, 2.5);
    std::vector<Row> swapped = data;
    for (Row& r : swapped) std::swap(r.x[0], r.x[1]);
    const TreeModel s = crm::tree_fit(make_rows(swapped), TreeOptions{}, false);
    EXPECT_EQ(s.trees[0].nodes[0].feature, 0);
    EXPECT_EQ(s.trees[0].nodes[0].threshold, 2.5);
    EXPECT_EQ(s.trees[0].nodes[1].value, 1.0);  // x0 <= 2.5 are now the true rows
}

TEST(TreeSplit, ConstantFeaturesGiveOneLeaf) {
    TreeRows rows;
    for (int i = 0; i < 10; ++i) {
        const double x[2] = {5, -1};
        rows.add(x, 2, i < 3 ? 1 : 0);
    }
    const TreeModel m = crm::tree_fit(rows, TreeOptions{}, false);
    ASSERT_EQ(m.trees[0].nodes.size(), 1u);
    EXPECT_DOUBLE_EQ(m.trees[0].nodes[0].value, 0.3);
    EXPECT_EQ(m.depth(), 0);
    EXPECT_EQ(m.leaves(), 1);
    EXPECT_EQ(m.feature_importance, (std::vector<double>{0, 0}));
    const auto rules = m.rules();
    ASSERT_EQ(rules.size(), 1u);
    EXPECT_EQ(rules[0].condition, "true");
    EXPECT_EQ(rules[0].samples, 10);
}

TEST(TreeSplit, EntropyCriterion) {
    // For the stump of kSixLabels entropy agrees with Gini on 3.5; the root's
    // entropy is H(1/3) in bits.
    TreeOptions o = depth(1);
    o.criterion = TreeCriterion::Entropy;
    const TreeModel m = crm::tree_fit(line(kSixLabels), o, false);
    const auto& n = m.trees[0].nodes;
    EXPECT_EQ(n[0].threshold, 3.5);
    const double third = 1.0 / 3.0;
    EXPECT_NEAR(n[0].impurity, -(third * std::log2(third) + 2 * third * std::log2(2 * third)), 1e-15);
    EXPECT_NEAR(n[2].impurity, -(third * std::log2(third) + 2 * third * std::log2(2 * third)), 1e-15);
}

TEST(TreeSplit, MatchesAReferenceCart) {
    for (std::uint64_t seed = 1; seed <= 30; ++seed) {
        TestRng rng(seed);
        const int dims = 1 + rng.below(4), n = 5 + rng.below(60);
        std::vector<Row> data;
        for (int i = 0; i < n; ++i) {
            Row r;
            for (int j = 0; j < dims; ++j) r.x.push_back(static_cast<double>(rng.below(6)));
            r.y = rng.uniform() < 0.2 + 0.1 * r.x[0] ? 1 : 0;
            data.push_back(r);
        }
        TreeOptions o;
        o.max_depth = rng.below(5);
        o.min_samples_leaf = 1 + rng.below(3);
        o.min_samples_split = 2 + rng.below(4);
        o.min_impurity_decrease = rng.below(2) * 0.01;
        SCOPED_TRACE("seed " + std::to_string(seed));
        const TreeModel m = crm::tree_fit(make_rows(data), o, false);
        std::vector<int> all(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) all[i] = i;
        std::vector<RefNode> ref;
        reference_grow(data, all, 0, o, ref, n);
        const auto& got = m.trees[0].nodes;
        ASSERT_EQ(got.size(), ref.size());
        for (std::size_t k = 0; k < ref.size(); ++k) {
            EXPECT_EQ(got[k].feature, ref[k].feature) << "node " << k;
            EXPECT_EQ(got[k].threshold, ref[k].feature >= 0 ? ref[k].threshold : 0.0) << "node " << k;
            EXPECT_EQ(got[k].left, ref[k].left) << "node " << k;
            EXPECT_EQ(got[k].right, ref[k].right) << "node " << k;
            EXPECT_EQ(got[k].samples, ref[k].samples) << "node " << k;
            EXPECT_DOUBLE_EQ(got[k].value, ref[k].value) << "node " << k;
        }
    }
}

// ---------------------------------------------------------------------------
// Stopping rules

TEST(TreeStop, MinSamplesLeaf) {
    TreeOptions o;
    o.min_samples_leaf = 3;  // only 3.5 leaves 3 rows on each side; the children cannot split
    const TreeModel m = crm::tree_fit(line(kSixLabels), o, false);
    ASSERT_EQ(m.trees[0].nodes.size(), 3u);
    EXPECT_EQ(m.trees[0].nodes[0].threshold, 3.5);
    o.min_samples_leaf = 4;  // 6 rows < 2 * 4
    EXPECT_EQ(crm::tree_fit(line(kSixLabels), o, false).trees[0].nodes.size(), 1u);

    const std::vector<Row> data = noisy_data(400, 3, 11);
    for (int leaf : {1, 5, 17}) {
        TreeOptions big;
        big.min_samples_leaf = leaf;
        const TreeModel t = crm::tree_fit(make_rows(data), big, false);
        for (const TreeNode& node : t.trees[0].nodes) EXPECT_GE(node.samples, leaf);
    }
}

TEST(TreeStop, MaxDepthAndMinSamplesSplit) {
    const std::vector<Row> data = noisy_data(400, 3, 12);
    for (int d : {1, 2, 4}) {
        const TreeModel t = crm::tree_fit(make_rows(data), depth(d), false);
        EXPECT_EQ(t.depth(), d);
        EXPECT_LE(t.leaves(), 1 << d);
    }
    TreeOptions o;
    o.min_samples_split = 7;  // the root (6 rows) cannot split
    EXPECT_EQ(crm::tree_fit(line(kSixLabels), o, false).trees[0].nodes.size(), 1u);
    o.min_samples_split = 4;  // root splits; its children (3 rows) cannot
    EXPECT_EQ(crm::tree_fit(line(kSixLabels), o, false).trees[0].nodes.size(), 3u);
}

TEST(TreeStop, MinImpurityDecrease) {
    // Decreases (weighted by node share): root 16/36 - 2/9 = 0.2222; node 2
    // {1,0,1}: 3/6 * (4/9 - 2/3 * 1/2) = 0.0556; node 4 {0,1}: 2/6 * 1/2 = 0.1667.
    TreeOptions o;
    o.min_impurity_decrease = 0.1;
    EXPECT_EQ(crm::tree_fit(line(kSixLabels), o, false).trees[0].nodes.size(), 3u);
    o.min_impurity_decrease = 0.05;
    EXPECT_EQ(crm::tree_fit(line(kSixLabels), o, false).trees[0].nodes.size(), 7u);
    o.min_impurity_decrease = 0.2222;
    EXPECT_EQ(crm::tree_fit(line(kSixLabels), o, false).trees[0].nodes.size(), 3u);
    o.min_impurity_decrease = 0.2223;
    EXPECT_EQ(crm::tree_fit(line(kSixLabels), o, false).trees[0].nodes.size(), 1u);
}

// ---------------------------------------------------------------------------
// Class weights and regression

TEST(TreeWeights, ClassWeightChangesTheLeafShare) {
    // With true rows weighing 2: weighted child impurity x W per threshold is
    // 1.5: 3.43, 2.5: 2.67, 3.5: 1.6, 4.5: 3.73, 5.5: 2.67, so 3.5 again, and
    // the right leaf {1, 0, 1} holds 4 of 5 weighted rows.
    TreeOptions o = depth(1);
    o.class_weight_true = 2;
    const TreeModel m = crm::tree_fit(line(kSixLabels), o, false);
    const auto& n = m.trees[0].nodes;
    EXPECT_EQ(n[0].threshold, 3.5);
    EXPECT_EQ(n[0].value, 0.5);
    EXPECT_EQ(n[0].weighted_samples, 8.0);
    EXPECT_EQ(n[0].samples, 6);
    EXPECT_EQ(n[2].value, 0.8);
    EXPECT_EQ(n[2].weighted_samples, 5.0);
    EXPECT_DOUBLE_EQ(n[2].impurity, 1.0 - 17.0 / 25.0);
    o.class_weight_true = 1;
    o.class_weight_false = 0.5;  // the same ratio: the same shares
    const TreeModel half = crm::tree_fit(line(kSixLabels), o, false);
    EXPECT_EQ(half.trees[0].nodes[2].value, 0.8);
    EXPECT_EQ(half.trees[0].nodes[2].weighted_samples, 2.5);
}

TEST(TreeRegression, MeansAndSquaredError) {
    // y = 1 1 1 10 10 13: mean 6, variance 156/6 = 26; 3.5 leaves {1,1,1}
    // (SSE 0) and {10,10,13} (mean 11, SSE 6), far below 4.5's 65.25.
    const TreeRows rows = line({1, 1, 1, 10, 10, 13});
    TreeOptions o = depth(1);
    o.criterion = TreeCriterion::SquaredError;
    const TreeModel m = crm::tree_fit(rows, o, true);
    EXPECT_TRUE(m.regression);
    const auto& n = m.trees[0].nodes;
    ASSERT_EQ(n.size(), 3u);
    EXPECT_EQ(n[0].threshold, 3.5);
    EXPECT_EQ(n[0].value, 6.0);
    EXPECT_EQ(n[0].impurity, 26.0);
    EXPECT_EQ(n[1].value, 1.0);
    EXPECT_EQ(n[1].impurity, 0.0);
    EXPECT_EQ(n[2].value, 11.0);
    EXPECT_EQ(n[2].impurity, 2.0);
    EXPECT_EQ(predict1(m, 2), 1.0);
    EXPECT_EQ(predict1(m, 5), 11.0);
    // Unlimited: {10, 10 | 13} at 5.5, then pure leaves.
    o.max_depth = 0;
    const TreeModel full = crm::tree_fit(rows, o, true);
    EXPECT_EQ(full.trees[0].nodes.size(), 5u);
    for (int i = 1; i <= 6; ++i) EXPECT_EQ(predict1(full, i), (std::vector<double>{1, 1, 1, 10, 10, 13})[i - 1]);
}

TEST(TreeRegression, ConstantLabelIsPure) {
    // A large constant label leaves rounding noise in a one-pass variance; the
    // node must still count as pure and stay a leaf.
    TreeRows rows;
    for (int i = 0; i < 50; ++i) {
        const double x = i;
        rows.add(&x, 1, 123456789.123);
    }
    TreeOptions o;
    o.criterion = TreeCriterion::SquaredError;
    const TreeModel m = crm::tree_fit(rows, o, true);
    ASSERT_EQ(m.trees[0].nodes.size(), 1u);
    EXPECT_EQ(m.trees[0].nodes[0].impurity, 0.0);
}

// ---------------------------------------------------------------------------
// Missing values

TEST(TreeMissing, RoutedToTheLargerChild) {
    // Present: x = 1 2 3 (false), 4 5 6 7 (true); two missing rows (true).
    // The split 3.5 leaves 3 present rows left, 4 right: missing go right.
    TreeRows rows;
    for (int i = 1; i <= 7; ++i) {
        const double x = i;
        rows.add(&x, 1, i >= 4 ? 1 : 0);
    }
    rows.add(&kNaN, 1, 1);
    rows.add(&kNaN, 1, 1);
    const TreeModel m = crm::tree_fit(rows, TreeOptions{}, false);
    const auto& n = m.trees[0].nodes;
    ASSERT_EQ(n.size(), 3u);
    EXPECT_EQ(n[0].threshold, 3.5);
    EXPECT_FALSE(n[0].missing_left);
    EXPECT_EQ(n[0].missing_samples, 2);
    EXPECT_EQ(n[1].samples, 3);
    EXPECT_EQ(n[2].samples, 6);
    EXPECT_EQ(n[2].value, 1.0);
    EXPECT_EQ(predict1(m, kNaN), 1.0);
    EXPECT_EQ(predict1(m, 2), 0.0);
    const auto rules = m.rules();
    ASSERT_EQ(rules.size(), 2u);
    EXPECT_EQ(rules[0].condition, "feature 1 <= 3.5");
    EXPECT_EQ(rules[1].condition, "feature 1 is missing or feature 1 > 3.5");

    // Four present rows left, two right: missing go left (and make it pure).
    TreeRows left;
    for (int i = 1; i <= 6; ++i) {
        const double x = i;
        left.add(&x, 1, i >= 5 ? 1 : 0);
    }
    left.add(&kNaN, 1, 0);
    const TreeModel l = crm::tree_fit(left, TreeOptions{}, false);
    ASSERT_EQ(l.trees[0].nodes.size(), 3u);
    EXPECT_TRUE(l.trees[0].nodes[0].missing_left);
    EXPECT_EQ(l.trees[0].nodes[0].threshold, 4.5);
    EXPECT_EQ(l.trees[0].nodes[1].samples, 5);
    EXPECT_EQ(predict1(l, kNaN), 0.0);
}

TEST(TreeMissing, SplitScoredWithTheMissingRows) {
    // Feature 0 separates its present rows perfectly but is missing on six
    // mixed rows, which spoil whichever child they join; feature 1 separates
    // every row with one mistake. Scored with the missing rows in, feature 1
    // wins; scored on present rows alone, feature 0 would.
    std::vector<Row> data;
    for (int i = 0; i < 10; ++i) data.push_back({{static_cast<double>(i), static_cast<double>(i)}, i < 5 ? 0.0 : 1.0});
    for (int i = 0; i < 6; ++i) data.push_back({{kNaN, i < 3 ? 2.0 : 7.0}, i < 3 ? 0.0 : 1.0});
    data.push_back({{kNaN, 1.0}, 1.0});
    const TreeModel m = crm::tree_fit(make_rows(data), depth(1), false);
    EXPECT_EQ(m.trees[0].nodes[0].feature, 1);
    EXPECT_EQ(m.trees[0].nodes[0].missing_samples, 0);
}

TEST(TreeMissing, NoMissingAtFitStillHasADirection) {
    // Present rows only; the larger child takes a missing value at prediction,
    // and the rules do not mention missing values.
    const TreeModel m = crm::tree_fit(line({0, 0, 1, 1, 1, 1}), TreeOptions{}, false);
    EXPECT_FALSE(m.trees[0].nodes[0].missing_left);
    EXPECT_EQ(m.trees[0].nodes[0].missing_samples, 0);
    EXPECT_EQ(predict1(m, kNaN), 1.0);
    EXPECT_EQ(m.rules()[1].condition, "feature 1 > 2.5");
}

// ---------------------------------------------------------------------------
// Row order

TEST(TreeOrder, ShuffledRowsGiveIdenticalBytes) {
    std::vector<Row> data = noisy_data(600, 4, 21, 0.05);
    TreeOptions regression;
    regression.criterion = TreeCriterion::SquaredError;
    regression.max_depth = 6;
    std::vector<Row> real = data;
    TestRng noise(5);
    for (Row& r : real) r.y = (std::isnan(r.x[2]) ? -1.0 : r.x[2]) * 0.37 + noise.uniform();
    TreeOptions weighted = forest(5, 3);
    weighted.class_weight_true = 1.7;
    const auto tree = bytes_of(make_rows(data), TreeOptions{});
    const auto f = bytes_of(make_rows(data), weighted);
    const auto reg = bytes_of(make_rows(real), regression, true);
    TestRng rng(99);
    for (int round = 0; round < 3; ++round) {
        std::shuffle(data.begin(), data.end(), rng.engine);
        std::shuffle(real.begin(), real.end(), rng.engine);
        EXPECT_EQ(bytes_of(make_rows(data), TreeOptions{}), tree);
        EXPECT_EQ(bytes_of(make_rows(data), weighted), f);
        EXPECT_EQ(bytes_of(make_rows(real), regression, true), reg);
    }
    // Two partial sets merged either way round.
    const std::vector<Row> first(data.begin(), data.begin() + 250), second(data.begin() + 250, data.end());
    TreeRows a = make_rows(first), b = make_rows(second);
    TreeRows ab = make_rows(first), ba = make_rows(second);
    ab.merge(b);
    ba.merge(a);
    EXPECT_EQ(bytes_of(ab, weighted), f);
    EXPECT_EQ(bytes_of(ba, weighted), f);
}

TEST(TreeOrder, NegativeZeroAndNaNPayloadsAreOneValue) {
    std::vector<Row> plus = {{{0.0}, 0}, {{1.0}, 1}, {{kNaN}, 1}, {{0.0}, 1}};
    std::vector<Row> minus = plus;
    minus[0].x[0] = -0.0;
    std::uint64_t bits = 0x7FF800000000BEEFULL;
    std::memcpy(&minus[2].x[0], &bits, sizeof bits);
    EXPECT_EQ(bytes_of(make_rows(plus), TreeOptions{}), bytes_of(make_rows(minus), TreeOptions{}));
    EXPECT_EQ(make_rows(plus).serialize(), make_rows(minus).serialize());
}

// ---------------------------------------------------------------------------
// Forests

TEST(TreeForest, DeterministicForASeedAndAnyThreadCount) {
    const TreeRows rows = make_rows(noisy_data(500, 5, 31, 0.03));
    const auto one = bytes_of(rows, forest(12, 4, 1));
    EXPECT_EQ(bytes_of(rows, forest(12, 4, 1)), one);
    // threads is recorded in the options, so compare everything else.
    for (int threads : {2, 3, 5}) {
        TreeModel m = crm::tree_fit(rows, forest(12, 4, threads), false);
        m.options.threads = 1;
        EXPECT_EQ(m.serialize(), one) << threads << " threads";
    }
    EXPECT_NE(bytes_of(rows, forest(12, 5, 1)), one);

    TreeOptions reg = forest(8, 4, 1);
    reg.criterion = TreeCriterion::SquaredError;
    reg.max_features = 2;
    std::vector<Row> data = noisy_data(300, 4, 32);
    for (Row& r : data) r.y = r.x[1] * 2 + r.x[3];
    const TreeRows real = make_rows(data);
    const auto serial = bytes_of(real, reg, true);
    reg.threads = 2;
    TreeModel parallel = crm::tree_fit(real, reg, true);
    parallel.options.threads = 1;
    EXPECT_EQ(parallel.serialize(), serial);
}

TEST(TreeForest, OutOfBagScore) {
    // Separable: true iff x0 > 50.
    std::vector<Row> data;
    TestRng rng(41);
    for (int i = 0; i < 400; ++i) {
        const double x0 = rng.below(100), x1 = rng.below(100);
        data.push_back({{x0, x1}, x0 > 50 ? 1.0 : 0.0});
    }
    const TreeModel m = crm::tree_fit(make_rows(data), forest(25), false);
    EXPECT_EQ(m.trees.size(), 25u);
    EXPECT_GE(m.oob_score, 0.95);
    EXPECT_LE(m.oob_score, 1.0);
    // Noisy labels: a score in [0, 1] and better than chance.
    const TreeModel noisy = crm::tree_fit(make_rows(noisy_data(400, 3, 42)), forest(25), false);
    EXPECT_GT(noisy.oob_score, 0.6);
    EXPECT_LE(noisy.oob_score, 1.0);
    // Regression: R^2 near 1 for a smooth target.
    for (Row& r : data) r.y = 3 * r.x[0] + 0.1 * r.x[1];
    TreeOptions reg = forest(25);
    reg.criterion = TreeCriterion::SquaredError;
    reg.max_features = 2;
    const TreeModel real = crm::tree_fit(make_rows(data), reg, true);
    EXPECT_GT(real.oob_score, 0.95);
    EXPECT_LE(real.oob_score, 1.0);
}

TEST(TreeForest, WithoutBootstrapEveryTreeSeesEveryRow) {
    TreeOptions o = forest(4);
    o.bootstrap = false;
    const TreeModel m = crm::tree_fit(make_rows(noisy_data(200, 4, 43)), o, false);
    EXPECT_TRUE(std::isnan(m.oob_score));
    for (const DecisionTree& t : m.trees) EXPECT_EQ(t.nodes[0].samples, 220);
    // With bootstrap a tree holds the distinct rows drawn, weighted by multiplicity.
    const TreeModel b = crm::tree_fit(make_rows(noisy_data(200, 4, 43)), forest(4), false);
    for (const DecisionTree& t : b.trees) {
        EXPECT_LT(t.nodes[0].samples, 220);
        EXPECT_EQ(t.nodes[0].weighted_samples, 220.0);
    }
}

TEST(TreeForest, PredictAveragesTheTrees) {
    const TreeRows rows = make_rows(noisy_data(300, 3, 44));
    const TreeModel m = crm::tree_fit(rows, forest(9), false);
    TreeModel single = m;
    for (int i = 0; i < 20; ++i) {
        const double* x = rows.row(static_cast<std::size_t>(i));
        double sum = 0;
        for (std::size_t t = 0; t < m.trees.size(); ++t) {
            single.trees = {m.trees[t]};
            sum += single.predict(x, 3);
        }
        EXPECT_DOUBLE_EQ(m.predict(x, 3), sum / 9);
    }
}

TEST(TreeForest, FeatureImportanceSumsToOne) {
    const TreeRows rows = make_rows(noisy_data(500, 4, 45));
    for (const TreeOptions& o : {TreeOptions{}, forest(10)}) {
        const TreeModel m = crm::tree_fit(rows, o, false);
        double total = 0;
        for (double v : m.feature_importance) {
            EXPECT_GE(v, 0.0);
            total += v;
        }
        EXPECT_NEAR(total, 1.0, 1e-12);
        // The label depends on features 0 and 1.
        EXPECT_GT(m.feature_importance[0], m.feature_importance[2]);
        EXPECT_GT(m.feature_importance[0], m.feature_importance[3]);
    }
    // The stump: all of it on the split feature; decrease 0.2222 of 0.4444.
    const std::vector<Row> data = {{{1, 9}, 0}, {{2, 9}, 0}, {{3, 9}, 1}, {{4, 9}, 1}};
    EXPECT_EQ(crm::tree_fit(make_rows(data), TreeOptions{}, false).feature_importance,
              (std::vector<double>{1, 0}));
}

// The interrupt handler of InterruptStopsTheWorkers: throws on call number
// `limit` and notes a call from any thread but the test's.
std::atomic<int> interrupt_calls{0};
int interrupt_limit = 0;
std::atomic<bool> interrupt_off_thread{false};
std::thread::id interrupt_thread;

void counting_interrupt() {
    if (std::this_thread::get_id() != interrupt_thread) interrupt_off_thread = true;
    if (++interrupt_calls == interrupt_limit) throw crm::Error(ErrorKind::QueryCanceled, "canceling statement");
}

TEST(TreeForest, InterruptStopsTheWorkers) {
    // Interrupted at every check in turn: the preparation, the trees, the
    // caller's wait for the workers and the out-of-bag pass. Each run must
    // end in 57014 (or finish when the limit is past the last
    // check), join its threads, and never check on a worker thread.
    const TreeRows rows = make_rows(noisy_data(20000, 6, 46));
    struct Reset {
        ~Reset() { crm::set_interrupt_handler(nullptr); }
    } reset;
    interrupt_thread = std::this_thread::get_id();
    crm::set_interrupt_handler(counting_interrupt);
    for (int threads : {1, 2}) {
        interrupt_calls = 0;
        interrupt_limit = 0;  // count the checks of a whole fit
        crm::tree_fit(rows, forest(20, 1, threads), false);
        const int checks = interrupt_calls;
        ASSERT_GT(checks, 3);
        int interrupted = 0;
        for (int step = 0; step < 12; ++step) {
            interrupt_calls = 0;
            interrupt_limit = 1 + step * (checks - 1) / 11;
            try {
                crm::tree_fit(rows, forest(20, 1, threads), false);
            } catch (const crm::Error& e) {
                EXPECT_EQ(e.kind(), ErrorKind::QueryCanceled);
                ++interrupted;
            }
        }
        // With threads the caller's waiting checks vary with timing, so the
        // last limits may pass the last check.
        EXPECT_GE(interrupted, threads == 1 ? 12 : 6) << threads << " threads";
    }
    interrupt_calls = 0;
    interrupt_limit = 1;
    EXPECT_ERROR_KIND(crm::tree_fit(rows, TreeOptions{}, false), ErrorKind::QueryCanceled);
    EXPECT_FALSE(interrupt_off_thread);
}

TEST(TreeForest, LargeFitRuns) {
    // 200k x 10 at depth 8: checks that the presorted builder copes (no timing).
    TestRng rng(47);
    TreeRows rows;
    std::vector<double> x(10);
    for (int i = 0; i < 200000; ++i) {
        for (double& v : x) v = rng.uniform();
        rows.add(x.data(), 10, x[0] + 0.5 * x[1] - x[2] * x[3] + 0.3 * rng.uniform() > 0.6 ? 1 : 0);
    }
    const TreeModel m = crm::tree_fit(rows, depth(8), false);
    EXPECT_EQ(m.depth(), 8);
    EXPECT_LE(m.leaves(), 256);
    EXPECT_GT(m.leaves(), 100);
}

// ---------------------------------------------------------------------------
// Rules, bytes and text

// A hand-built tree over (recency, frequency), numbered in preorder:
//   0: recency <= 120.5 (missing values go right; 4 were missing at fit)
//     1: frequency <= 2.5
//       2: leaf
//       3: frequency <= 10.5
//         4: leaf
//         5: leaf
//     6: leaf
TreeModel hand_model() {
    TreeModel m;
    m.dims = 2;
    m.feature_names = {"recency", "frequency"};
    m.options.feature_names = m.feature_names;
    m.n_samples = 100;
    m.feature_importance = {0.5, 0.5};
    DecisionTree t;
    const auto split = [](int f, double th, int l, int r, bool ml, std::int64_t miss) {
        TreeNode n;
        n.feature = f;
        n.threshold = th;
        n.left = l;
        n.right = r;
        n.missing_left = ml;
        n.missing_samples = miss;
        n.samples = 10;
        n.weighted_samples = 10;
        n.value = 0.5;
        return n;
    };
    const auto leaf = [](std::int64_t samples, double value) {
        TreeNode n;
        n.samples = samples;
        n.weighted_samples = static_cast<double>(samples);
        n.value = value;
        return n;
    };
    t.nodes = {split(0, 120.5, 1, 6, false, 4),  // 0
               split(1, 2.5, 2, 3, true, 0),     // 1
               leaf(30, 0.1),                    // 2
               split(1, 10.5, 4, 5, true, 0),    // 3
               leaf(20, 0.25),                   // 4
               leaf(10, 0.75),                   // 5
               leaf(40, 0.9)};                   // 6
    m.trees = {t};
    return m;
}

TEST(TreeRules, ExactTextOfAHandTree) {
    const auto rules = hand_model().rules();
    ASSERT_EQ(rules.size(), 4u);
    EXPECT_EQ(rules[0].leaf, 2);
    EXPECT_EQ(rules[0].condition, "recency <= 120.5 AND frequency <= 2.5");
    EXPECT_EQ(rules[0].samples, 30);
    EXPECT_EQ(rules[0].value, 0.1);
    EXPECT_EQ(rules[1].leaf, 4);
    EXPECT_EQ(rules[1].condition, "recency <= 120.5 AND 2.5 < frequency <= 10.5");
    EXPECT_EQ(rules[2].leaf, 5);
    EXPECT_EQ(rules[2].condition, "recency <= 120.5 AND frequency > 10.5");
    EXPECT_EQ(rules[3].leaf, 6);
    EXPECT_EQ(rules[3].condition, "recency is missing or recency > 120.5");
    TreeModel unnamed = hand_model();
    unnamed.feature_names.clear();
    EXPECT_EQ(unnamed.rules()[1].condition, "feature 1 <= 120.5 AND 2.5 < feature 2 <= 10.5");
    // Missing values that reach a leaf with other terms: in parentheses.
    TreeModel flipped = hand_model();
    flipped.trees[0].nodes[0].missing_left = true;
    EXPECT_EQ(flipped.rules()[0].condition, "(recency is missing or recency <= 120.5) AND frequency <= 2.5");
    EXPECT_EQ(flipped.rules()[3].condition, "recency > 120.5");
    EXPECT_ERROR_KIND(hand_model().rules(1), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(hand_model().rules(-1), ErrorKind::InvalidParameter);
}

TEST(TreeRules, FittedTreeRules) {
    TreeOptions o;
    o.feature_names = {"recency"};
    const auto rules = crm::tree_fit(line(kSixLabels), o, false).rules();
    ASSERT_EQ(rules.size(), 4u);
    EXPECT_EQ(rules[0].condition, "recency <= 3.5");
    EXPECT_EQ(rules[1].condition, "3.5 < recency <= 4.5");
    EXPECT_EQ(rules[2].condition, "4.5 < recency <= 5.5");
    EXPECT_EQ(rules[3].condition, "recency > 5.5");
    EXPECT_EQ(rules[0].leaf, 1);
    EXPECT_EQ(rules[3].leaf, 6);
    EXPECT_EQ(rules[3].samples, 1);
    EXPECT_EQ(rules[3].value, 1.0);
}

TEST(TreeBytes, RoundTrip) {
    const TreeRows rows = make_rows(noisy_data(300, 3, 51, 0.05));
    TreeOptions o = forest(4);
    o.feature_names = {"a", "b", "c"};
    o.class_weight_false = 0.25;
    for (const TreeOptions& opt : {TreeOptions{}, o}) {
        const TreeModel m = crm::tree_fit(rows, opt, false);
        const auto bytes = m.serialize();
        EXPECT_EQ(bytes[0], crm::tags::tree_model);
        const TreeModel back = TreeModel::deserialize(bytes.data(), bytes.size());
        EXPECT_EQ(back.serialize(), bytes);
        EXPECT_EQ(back.feature_names, opt.feature_names);
        EXPECT_EQ(back.options.feature_names, opt.feature_names);
        for (std::size_t i = 0; i < 30; ++i) EXPECT_EQ(back.predict(rows.row(i), 3), m.predict(rows.row(i), 3));
        EXPECT_EQ(back.to_json(), m.to_json());
    }
    TreeOptions reg;
    reg.criterion = TreeCriterion::SquaredError;
    std::vector<Row> data = noisy_data(100, 2, 52);
    for (Row& r : data) r.y = r.x[0] * -1.5;
    const auto bytes = bytes_of(make_rows(data), reg, true);
    const TreeModel back = TreeModel::deserialize(bytes.data(), bytes.size());
    EXPECT_TRUE(back.regression);
    EXPECT_EQ(back.serialize(), bytes);
}

TEST(TreeBytes, CorruptBytesAreRejected) {
    const auto bytes = bytes_of(make_rows(noisy_data(60, 2, 53)), forest(2));
    for (std::size_t n = 0; n < bytes.size(); ++n)
        EXPECT_ERROR_KIND(TreeModel::deserialize(bytes.data(), n), ErrorKind::InvalidBinary);
    std::vector<std::uint8_t> longer = bytes;
    longer.push_back(0);
    EXPECT_ERROR_KIND(TreeModel::deserialize(longer.data(), longer.size()), ErrorKind::InvalidBinary);
    std::vector<std::uint8_t> version = bytes;
    version[1] = 2;
    EXPECT_ERROR_KIND(TreeModel::deserialize(version.data(), version.size()), ErrorKind::InvalidBinary);
    std::vector<std::uint8_t> tag = bytes;
    tag[0] = 0x01;
    EXPECT_ERROR_KIND(TreeModel::deserialize(tag.data(), tag.size()), ErrorKind::InvalidBinary);
    // Another kind of value: a clear 22023.
    const auto rows = make_rows(noisy_data(5, 2, 54)).serialize();
    EXPECT_ERROR_KIND(TreeModel::deserialize(rows.data(), rows.size()), ErrorKind::InvalidParameter);

    // Structurally wrong trees, written with serialize() (which does not check).
    const auto rejects = [](const std::function<void(TreeModel&)>& spoil, const char* what) {
        TreeModel m = hand_model();
        spoil(m);
        const auto b = m.serialize();
        SCOPED_TRACE(what);
        EXPECT_ERROR_KIND(TreeModel::deserialize(b.data(), b.size()), ErrorKind::InvalidBinary);
    };
    {
        const TreeModel m = hand_model();
        const auto b = m.serialize();
        EXPECT_EQ(TreeModel::deserialize(b.data(), b.size()).serialize(), b);  // the hand tree is valid
    }
    rejects([](TreeModel& m) { m.trees[0].nodes[3].left = 0; }, "cycle to the root");
    rejects([](TreeModel& m) { m.trees[0].nodes[3].left = 3; }, "self loop");
    rejects([](TreeModel& m) { m.trees[0].nodes[1].right = 4; }, "two parents");
    rejects([](TreeModel& m) { m.trees[0].nodes[3].left = 2; }, "child before its parent");
    rejects([](TreeModel& m) { m.trees[0].nodes[3].right = 7; }, "child out of range");
    rejects([](TreeModel& m) { m.trees[0].nodes[1].feature = 2; }, "feature out of range");
    rejects([](TreeModel& m) { m.trees[0].nodes[2].left = 3; }, "leaf with a child");
    rejects([](TreeModel& m) { m.trees[0].nodes[0].threshold = kNaN; }, "NaN threshold");
    rejects([](TreeModel& m) { m.trees[0].nodes[4].value = 1.5; }, "probability above 1");
    rejects([](TreeModel& m) { m.trees[0].nodes[4].impurity = -1; }, "negative impurity");
    rejects([](TreeModel& m) { m.trees[0].nodes[4].samples = 0; }, "empty node");
    rejects([](TreeModel& m) { m.trees[0].nodes.pop_back(); }, "dangling child");
    rejects([](TreeModel& m) { m.trees.push_back(m.trees[0]); }, "more trees than n_trees");
    rejects([](TreeModel& m) { m.feature_importance = {1}; }, "importance length");
    rejects([](TreeModel& m) { m.options.min_samples_leaf = 0; }, "invalid option");
    rejects([](TreeModel& m) { m.options.criterion = TreeCriterion::SquaredError; }, "criterion of the other kind");
    rejects([](TreeModel& m) { m.feature_names = {"only one"}; }, "names");
    rejects([](TreeModel& m) { m.dims = 0; }, "no features");
    rejects([](TreeModel& m) { m.n_samples = 0; }, "no rows");
    rejects([](TreeModel& m) { m.oob_score = kInf; }, "infinite score");
}

TEST(TreeBytes, JsonText) {
    TreeOptions o = depth(1);
    o.feature_names = {"recency"};
    const TreeModel m = crm::tree_fit(line(kSixLabels), o, false);
    const auto j = nlohmann::json::parse(m.to_json());
    EXPECT_EQ(j["format"], "crm.tree_model");
    EXPECT_EQ(j["version"], 1);
    EXPECT_EQ(j["kind"], "classification");
    EXPECT_EQ(j["options"]["criterion"], "gini");
    EXPECT_EQ(j["depth"], 1);
    EXPECT_EQ(j["leaves"], 2);
    EXPECT_TRUE(j["oob_score"].is_null());
    const auto& root = j["trees"][0]["nodes"][0];
    EXPECT_EQ(root["feature"], 1);
    EXPECT_EQ(root["feature_name"], "recency");
    EXPECT_EQ(root["threshold"], 3.5);
    EXPECT_EQ(root["left"], 1);
    EXPECT_EQ(root["missing"], "left");  // 3 rows each side: the left one on a tie
    EXPECT_EQ(j["trees"][0]["nodes"][2]["samples"], 3);
    EXPECT_FALSE(j["trees"][0]["nodes"][1].contains("feature"));
    TreeModel odd = m;
    odd.feature_names = {"caf\xE9"};  // not UTF-8: replaced, still valid JSON
    EXPECT_NO_THROW(nlohmann::json::parse(odd.to_json()));
}

TEST(TreeBytes, RowsRoundTripAndCorruption) {
    TreeRows rows = make_rows(noisy_data(40, 3, 55, 0.1));
    const auto bytes = rows.serialize();
    EXPECT_EQ(bytes[0], crm::tags::tree_rows);
    const TreeRows back = TreeRows::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.size(), rows.size());
    EXPECT_EQ(back.dims(), 3);
    EXPECT_EQ(back.serialize(), bytes);
    const TreeRows empty;
    const auto none = empty.serialize();
    EXPECT_EQ(TreeRows::deserialize(none.data(), none.size()).size(), 0u);
    for (std::size_t n = 0; n < bytes.size(); n += 7)
        EXPECT_ERROR_KIND(TreeRows::deserialize(bytes.data(), n), ErrorKind::InvalidBinary);
    // An infinite feature or label smuggled in: 22P03.
    std::vector<std::uint8_t> bad = bytes;
    const double inf = kInf;
    std::memcpy(bad.data() + 2 + 4 + 8, &inf, 8);  // first feature
    EXPECT_ERROR_KIND(TreeRows::deserialize(bad.data(), bad.size()), ErrorKind::InvalidBinary);
    bad = bytes;
    std::memcpy(bad.data() + bad.size() - 8, &kNaN, 8);  // last label
    EXPECT_ERROR_KIND(TreeRows::deserialize(bad.data(), bad.size()), ErrorKind::InvalidBinary);
    bad = bytes;
    bad[2] = 4;  // dims no longer divides the features
    EXPECT_ERROR_KIND(TreeRows::deserialize(bad.data(), bad.size()), ErrorKind::InvalidBinary);
}

TEST(TreeRowsState, AddMergeAndMemory) {
    TreeRows rows;
    const double x[3] = {1, kNaN, 3};
    rows.add(x, 3, 1);
    EXPECT_EQ(rows.dims(), 3);
    EXPECT_EQ(rows.size(), 1u);
    EXPECT_TRUE(std::isnan(rows.row(0)[1]));
    EXPECT_ERROR_KIND(rows.add(x, 2, 0), ErrorKind::InvalidParameter);
    const double inf[3] = {1, -kInf, 3};
    const std::string m = crm_test::expect_error_kind([&] { rows.add(inf, 3, 0); }, ErrorKind::InvalidParameter);
    EXPECT_NE(m.find("feature 2"), std::string::npos) << m;
    EXPECT_ERROR_KIND(rows.add(x, 3, kNaN), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(rows.add(x, 3, kInf), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(rows.add(x, 0, 1), ErrorKind::InvalidParameter);
    EXPECT_EQ(rows.size(), 1u);  // the rejected rows left no trace
    rows.merge(rows);
    EXPECT_EQ(rows.size(), 2u);
    TreeRows other;
    const double y[2] = {1, 2};
    other.add(y, 2, 0);
    EXPECT_ERROR_KIND(rows.merge(other), ErrorKind::InvalidParameter);
    TreeRows empty;
    empty.merge(rows);
    EXPECT_EQ(empty.dims(), 3);
    EXPECT_EQ(empty.size(), 2u);
    EXPECT_GE(rows.memory_bytes(), 2 * TreeRows::bytes_per_row(3));
    EXPECT_EQ(TreeRows::bytes_per_row(3), 32u);

    // Memory comes from the given resource.
    std::pmr::monotonic_buffer_resource arena;
    TreeRows counted(&arena);
    counted.add(x, 3, 0);
    EXPECT_EQ(counted.resource(), &arena);
    const auto bytes = counted.serialize();
    EXPECT_EQ(TreeRows::deserialize(bytes.data(), bytes.size(), &arena).resource(), &arena);
}

// ---------------------------------------------------------------------------
// Options and errors

TEST(TreeOptionsCheck, InvalidOptionsNameTheOption) {
    const TreeRows rows = line(kSixLabels);
    const auto fails = [&rows](const std::function<void(TreeOptions&)>& set, const std::string& name,
                               bool regression = false) {
        TreeOptions o;
        if (regression) o.criterion = TreeCriterion::SquaredError;
        set(o);
        const std::string m =
            crm_test::expect_error_kind([&] { crm::tree_fit(rows, o, regression); }, ErrorKind::InvalidParameter);
        EXPECT_NE(m.find(name), std::string::npos) << m;
    };
    fails([](TreeOptions& o) { o.max_depth = -1; }, "max_depth");
    fails([](TreeOptions& o) { o.min_samples_split = 1; }, "min_samples_split");
    fails([](TreeOptions& o) { o.min_samples_leaf = 0; }, "min_samples_leaf");
    fails([](TreeOptions& o) { o.min_impurity_decrease = -0.1; }, "min_impurity_decrease");
    fails([](TreeOptions& o) { o.min_impurity_decrease = kNaN; }, "min_impurity_decrease");
    fails([](TreeOptions& o) { o.class_weight_true = 0; }, "class_weight_true");
    fails([](TreeOptions& o) { o.class_weight_false = kInf; }, "class_weight_false");
    fails([](TreeOptions& o) { o.n_trees = -1; }, "n_trees");
    fails([](TreeOptions& o) { o.n_trees = crm::kMaxTrees + 1; }, "n_trees");
    fails([](TreeOptions& o) { o.max_features = 2; }, "max_features");
    fails([](TreeOptions& o) { o.max_features = -1; }, "max_features");
    fails([](TreeOptions& o) { o.threads = 0; }, "threads");
    fails([](TreeOptions& o) { o.feature_names = {"a", "b"}; }, "feature_names");
    fails([](TreeOptions& o) { o.feature_names = {""}; }, "feature_names");
    fails([](TreeOptions& o) { o.feature_names = {std::string("a\0b", 3)}; }, "NUL");
    fails([](TreeOptions& o) { o.criterion = TreeCriterion::SquaredError; }, "squared_error");
    fails([](TreeOptions& o) { o.criterion = TreeCriterion::Gini; }, "gini", true);
    fails([](TreeOptions& o) { o.class_weight_true = 2; }, "class_weight", true);
    EXPECT_ERROR_KIND(crm::validate(TreeOptions{}, 0), ErrorKind::InvalidParameter);
    EXPECT_NO_THROW(crm::validate(TreeOptions{}, 1));

    EXPECT_EQ(crm::parse_tree_criterion("entropy"), TreeCriterion::Entropy);
    EXPECT_EQ(crm::parse_tree_criterion("squared_error"), TreeCriterion::SquaredError);
    EXPECT_STREQ(crm::tree_criterion_name(TreeCriterion::Gini), "gini");
    EXPECT_ERROR_KIND(crm::parse_tree_criterion("Gini"), ErrorKind::InvalidParameter);
}

TEST(TreeOptionsCheck, DataErrors) {
    const std::string none =
        crm_test::expect_error_kind([] { crm::tree_fit(TreeRows{}, TreeOptions{}, false); }, ErrorKind::InvalidParameter);
    EXPECT_NE(none.find("no rows to fit"), std::string::npos);
    const std::string label =
        crm_test::expect_error_kind([] { crm::tree_fit(line({0, 1, 2}), TreeOptions{}, false); }, ErrorKind::InvalidParameter);
    EXPECT_NE(label.find("0 or 1"), std::string::npos) << label;
    TreeOptions reg;
    reg.criterion = TreeCriterion::SquaredError;
    EXPECT_NO_THROW(crm::tree_fit(line({0, 1, 2}), reg, true));
    const TreeModel m = crm::tree_fit(line(kSixLabels), TreeOptions{}, false);
    const double two[2] = {1, 2};
    EXPECT_ERROR_KIND(m.predict(two, 2), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(TreeModel{}.predict(two, 0), ErrorKind::InvalidParameter);
    EXPECT_EQ(predict1(m, kInf), 1.0);
    EXPECT_EQ(predict1(m, -kInf), 0.0);
}

TEST(TreeOptionsCheck, MemoryEstimateGrowsWithTheWork) {
    const std::size_t one = crm::tree_fit_memory_estimate(1000000, 10, depth(8));
    EXPECT_GT(one, std::size_t{120} * 1000000);  // at least the presorted columns
    EXPECT_GT(crm::tree_fit_memory_estimate(1000000, 10, forest(100)), one);
    EXPECT_EQ(crm::tree_fit_memory_estimate(std::size_t{1} << 62, 1000, forest(1000)),
              std::numeric_limits<std::size_t>::max());
}

// ---------------------------------------------------------------------------
// Metrics

TEST(TreeMetrics, RocAucByHand) {
    // scikit-learn's documentation example: 0.75.
    EXPECT_DOUBLE_EQ(crm::roc_auc({0.1, 0.4, 0.35, 0.8}, {false, false, true, true}), 0.75);
    // Pairs (false, true): (0.1, 0.5) 1, (0.1, 0.9) 1, (0.5, 0.5) 1/2, (0.5, 0.9) 1.
    EXPECT_DOUBLE_EQ(crm::roc_auc({0.1, 0.5, 0.5, 0.9}, {false, false, true, true}), 0.875);
    EXPECT_DOUBLE_EQ(crm::roc_auc({0.5, 0.5}, {false, true}), 0.5);
    EXPECT_DOUBLE_EQ(crm::roc_auc({3, 2, 1}, {true, false, false}), 1.0);
    EXPECT_DOUBLE_EQ(crm::roc_auc({3, 2, 1}, {false, false, true}), 0.0);
    EXPECT_TRUE(std::isnan(crm::roc_auc({0.2, 0.3}, {true, true})));
    EXPECT_TRUE(std::isnan(crm::roc_auc({}, {})));
    EXPECT_ERROR_KIND(crm::roc_auc({0.1}, {true, false}), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::roc_auc({kNaN, 1}, {true, false}), ErrorKind::InvalidParameter);
}

TEST(TreeMetrics, LogLossAccuracyR2ByHand) {
    EXPECT_DOUBLE_EQ(crm::log_loss({0.9, 0.2}, {true, false}), -(std::log(0.9) + std::log(0.8)) / 2);
    EXPECT_NEAR(crm::log_loss({0.0}, {true}), -std::log(1e-15), 1e-9);  // clipped
    EXPECT_NEAR(crm::log_loss({1.0}, {false}), -std::log1p(-(1 - 1e-15)), 1e-9);
    EXPECT_EQ(crm::log_loss({1.0, 0.0}, {true, false}, 0.0), 0.0);
    EXPECT_TRUE(std::isnan(crm::log_loss({}, {})));
    EXPECT_ERROR_KIND(crm::log_loss({1.5}, {true}), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::log_loss({0.5}, {true}, 0.5), ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::log_loss({0.5, 0.5}, {true}), ErrorKind::InvalidParameter);

    EXPECT_DOUBLE_EQ(crm::accuracy({0.9, 0.5, 0.2, 0.7}, {true, false, false, false}), 0.75);
    EXPECT_DOUBLE_EQ(crm::accuracy({0.5}, {true}), 0.0);  // a tie is false
    EXPECT_DOUBLE_EQ(crm::accuracy({0.3}, {true}, 0.25), 1.0);

    // y = 1 2 3, prediction 1 2 4: SS_res 1, SS_tot 2.
    EXPECT_DOUBLE_EQ(crm::r2_score({1, 2, 4}, {1, 2, 3}), 0.5);
    EXPECT_EQ(crm::r2_score({5, 5}, {5, 5}), 1.0);
    EXPECT_EQ(crm::r2_score({5, 6}, {5, 5}), 0.0);
    EXPECT_ERROR_KIND(crm::r2_score({kNaN}, {1}), ErrorKind::InvalidParameter);
}

}  // namespace
