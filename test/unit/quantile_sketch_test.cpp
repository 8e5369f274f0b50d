// The KLL quantile sketch: exact while small, within its stated rank-error
// bound on large inputs of any order (also after merging), bounded memory,
// and a byte format that round-trips and rejects corruption.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "byte_io.hpp"
#include "errors.hpp"
#include "expect_error.hpp"
#include "quantile.hpp"
#include "quantile_sketch.hpp"
#include "sketch_states.hpp"

namespace {

using crm::QuantileSketch;

// How far (as a fraction of n) the rank of v is from the target fraction q:
// 0 when some position of v in the sorted data is q's.
double rank_error(const std::vector<double>& sorted, double v, double q) {
    const double n = static_cast<double>(sorted.size());
    const double below = static_cast<double>(std::lower_bound(sorted.begin(), sorted.end(), v) - sorted.begin());
    const double at_most = static_cast<double>(std::upper_bound(sorted.begin(), sorted.end(), v) - sorted.begin());
    const double target = q * (n - 1);
    if (target < below - 1) return (below - 1 - target) / n;
    if (target > at_most) return (target - at_most) / n;
    return 0.0;
}

// Worst rank error over the percentiles 1..99.
double worst_error(const QuantileSketch& sketch, std::vector<double> data) {
    std::sort(data.begin(), data.end());
    double worst = 0.0;
    for (int pct = 1; pct <= 99; ++pct) {
        const double q = pct / 100.0;
        worst = std::max(worst, rank_error(data, sketch.quantile(q), q));
    }
    return worst;
}

enum class Shape { Random, Sorted, Reversed, FewDistinct, HeavyTail };

std::vector<double> make_data(Shape shape, std::size_t n, std::uint32_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<double> data(n);
    std::normal_distribution<double> normal(50.0, 10.0);
    std::lognormal_distribution<double> lognormal(3.0, 1.5);
    for (std::size_t i = 0; i < n; ++i) {
        switch (shape) {
            case Shape::Random: data[i] = normal(rng); break;
            case Shape::Sorted:
            case Shape::Reversed: data[i] = static_cast<double>(i) + normal(rng) * 1e-3; break;
            case Shape::FewDistinct: data[i] = static_cast<double>(rng() % 7); break;
            case Shape::HeavyTail: data[i] = lognormal(rng); break;
        }
    }
    if (shape == Shape::Sorted) std::sort(data.begin(), data.end());
    if (shape == Shape::Reversed) std::sort(data.begin(), data.end(), std::greater<>());
    return data;
}

TEST(QuantileSketch, ExactWhileSmall) {
    const std::vector<double> values = make_data(Shape::HeavyTail, 100, 7);
    QuantileSketch sketch;
    for (double v : values) sketch.add(v);
    ASSERT_TRUE(sketch.exact());
    std::vector<double> sorted = values;
    std::sort(sorted.begin(), sorted.end());
    for (double q : {0.0, 0.1, 0.25, 0.5, 0.9, 1.0}) EXPECT_EQ(sketch.quantile(q), crm::quantile_type7(sorted, q)) << q;
    EXPECT_EQ(sketch.cut_points(5), crm::quantile_cut_points(values, 5));
    EXPECT_EQ(sketch.count(), 100u);
}

// The documented bound: at most 1% of inputs may exceed it (99% confidence).
// 100 fixed data sets, so the test is deterministic; allow 3 for slack, and
// none more than 1.5 times the bound.
TEST(QuantileSketch, RankErrorWithinStatedBound) {
    const double bound = QuantileSketch::rank_error_bound(QuantileSketch::kDefaultK);
    EXPECT_NEAR(bound, 0.0165, 0.0005);
    int over = 0;
    double worst = 0.0;
    const Shape shapes[] = {Shape::Random, Shape::Sorted, Shape::Reversed, Shape::FewDistinct, Shape::HeavyTail};
    for (std::uint32_t trial = 0; trial < 100; ++trial) {
        const std::size_t n = 10000 + 1500 * trial;
        const std::vector<double> data = make_data(shapes[trial % 5], n, 1000 + trial);
        QuantileSketch sketch;
        for (double v : data) sketch.add(v);
        EXPECT_FALSE(sketch.exact());
        EXPECT_EQ(sketch.count(), n);
        EXPECT_LE(sketch.retained(), 3u * QuantileSketch::kDefaultK + 64);  // ~ k / (1 - 2/3), not n
        EXPECT_EQ(sketch.quantile(0.0), *std::min_element(data.begin(), data.end()));
        EXPECT_EQ(sketch.quantile(1.0), *std::max_element(data.begin(), data.end()));
        const double e = worst_error(sketch, data);
        worst = std::max(worst, e);
        if (e > bound) ++over;
    }
    EXPECT_LE(over, 3) << "worst " << worst;
    EXPECT_LE(worst, 1.5 * bound);
}

// Merging (as parallel workers and shards do) keeps the bound, whatever the split.
TEST(QuantileSketch, MergedSketchesKeepTheBound) {
    const double bound = QuantileSketch::rank_error_bound(QuantileSketch::kDefaultK);
    int over = 0;
    for (std::uint32_t trial = 0; trial < 40; ++trial) {
        const std::vector<double> data = make_data(trial % 2 ? Shape::Random : Shape::Sorted, 200000, 77 + trial);
        const std::size_t parts = 2 + trial % 15;
        std::vector<QuantileSketch> sketches(parts);
        for (std::size_t i = 0; i < data.size(); ++i) sketches[(i * parts) / data.size()].add(data[i]);
        // Pairwise, like a tree of combines.
        while (sketches.size() > 1) {
            std::vector<QuantileSketch> next;
            for (std::size_t i = 0; i + 1 < sketches.size(); i += 2) {
                sketches[i].merge(sketches[i + 1]);
                next.push_back(std::move(sketches[i]));
            }
            if (sketches.size() % 2) next.push_back(std::move(sketches.back()));
            sketches = std::move(next);
        }
        EXPECT_EQ(sketches[0].count(), data.size());
        if (worst_error(sketches[0], data) > bound) ++over;
    }
    EXPECT_LE(over, 2);
}

TEST(QuantileSketch, SmallMergesStayExact) {
    QuantileSketch a, b, empty;
    for (int i = 0; i < 30; ++i) a.add(i);
    for (int i = 30; i < 60; ++i) b.add(i);
    a.merge(b);
    a.merge(empty);
    EXPECT_TRUE(a.exact());
    EXPECT_EQ(a.quantile(0.5), 29.5);
    empty.merge(a);
    EXPECT_EQ(empty.quantile(0.5), 29.5);
    EXPECT_EQ(empty.min(), 0.0);
    EXPECT_EQ(empty.max(), 59.0);
}

TEST(QuantileSketch, MergeTakesTheSmallerK) {
    QuantileSketch a(100), b(400);
    for (int i = 0; i < 5000; ++i) a.add(i), b.add(-i);
    b.merge(a);
    EXPECT_EQ(b.k(), 100);
    EXPECT_EQ(b.count(), 10000u);
}

TEST(QuantileSketch, SameInputSameAnswer) {
    const std::vector<double> data = make_data(Shape::Random, 50000, 3);
    QuantileSketch a, b;
    for (double v : data) a.add(v), b.add(v);
    EXPECT_EQ(a.cut_points(10), b.cut_points(10));
}

TEST(QuantileSketch, RejectsBadInput) {
    QuantileSketch sketch;
    crm_test::expect_error_kind([&] { sketch.add(std::nan("")); }, crm::ErrorKind::InvalidParameter);
    crm_test::expect_error_kind([&] { sketch.add(std::numeric_limits<double>::infinity()); },
                                crm::ErrorKind::InvalidParameter);
    crm_test::expect_error_kind([&] { (void)sketch.quantile(0.5); }, crm::ErrorKind::InvalidParameter);
    sketch.add(1);
    crm_test::expect_error_kind([&] { (void)sketch.quantile(1.5); }, crm::ErrorKind::InvalidParameter);
    crm_test::expect_error_kind([&] { (void)sketch.quantile(std::nan("")); }, crm::ErrorKind::InvalidParameter);
    crm_test::expect_error_kind([] { QuantileSketch s(4); }, crm::ErrorKind::InvalidParameter);
}

std::vector<std::uint8_t> serialized(const QuantileSketch& s) {
    crm::ByteWriter w(crm::tags::quantile_sketch_state, 1);
    w.f64(0.5);
    s.serialize_into(w);
    return w.take();
}

TEST(QuantileSketch, RoundTripsThroughBytes) {
    QuantileSketch sketch;
    for (double v : make_data(Shape::HeavyTail, 30000, 11)) sketch.add(v);
    crm::QuantileApproxAccumulator state;
    state.fraction = 0.5;
    state.sketch = sketch;
    const auto bytes = state.serialize();
    EXPECT_EQ(bytes, serialized(sketch));
    const auto back = crm::QuantileApproxAccumulator::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.sketch.cut_points(10), sketch.cut_points(10));
    EXPECT_EQ(back.sketch.count(), sketch.count());
    EXPECT_EQ(back.serialize(), bytes);
    // Truncated, or one item's bits flipped into a value outside [min, max], or a changed count.
    for (std::size_t cut : {std::size_t{3}, bytes.size() / 2, bytes.size() - 1})
        crm_test::expect_error_kind([&] { (void)crm::QuantileApproxAccumulator::deserialize(bytes.data(), cut); },
                                    crm::ErrorKind::InvalidBinary);
    auto corrupt = bytes;
    const double outside = 1e300;  // the last item, beyond the maximum
    std::memcpy(corrupt.data() + corrupt.size() - 8, &outside, 8);
    crm_test::expect_error_kind([&] { (void)crm::QuantileApproxAccumulator::deserialize(corrupt.data(), corrupt.size()); },
                                crm::ErrorKind::InvalidBinary);
    corrupt = bytes;
    corrupt[2 + 8 + 4] ^= 1;  // after tag, version, fraction and k: the count
    crm_test::expect_error_kind([&] { (void)crm::QuantileApproxAccumulator::deserialize(corrupt.data(), corrupt.size()); },
                                crm::ErrorKind::InvalidBinary);
}

TEST(RfmSketchAccumulator, CutsAndChecks) {
    crm::RfmSketchAccumulator state;
    for (int i = 1; i <= 10; ++i) state.add(5, i, i, 10.0 * i);
    const crm::RfmThresholds t = state.thresholds();
    EXPECT_EQ(t.customers, 10);
    // Exact while small: numpy.quantile(np.arange(1., 11.), [.2, .4, .6, .8]).
    EXPECT_EQ(t.recency, crm::quantile_cut_points({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 5));
    EXPECT_DOUBLE_EQ(t.recency[0], 2.8);
    crm_test::expect_error_kind([&] { state.add(4, 1, 1, 1); }, crm::ErrorKind::InvalidParameter);
    crm_test::expect_error_kind([&] { state.add(5, 1, std::nan(""), 1); }, crm::ErrorKind::InvalidParameter);
    crm::RfmSketchAccumulator other;
    for (int i = 0; i < 100000; ++i) other.add(5, i % 365, 1 + i % 20, (i * 7919) % 1000);
    state.merge(other);
    const auto bytes = state.serialize();
    const auto back = crm::RfmSketchAccumulator::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.thresholds().monetary, state.thresholds().monetary);
    EXPECT_EQ(back.thresholds().customers, 100010);
    crm::RfmSketchAccumulator four;
    four.add(4, 1, 1, 1);
    crm_test::expect_error_kind([&] { state.merge(four); }, crm::ErrorKind::InvalidParameter);
}

TEST(QuantileApproxAccumulator, FractionChecks) {
    crm::QuantileApproxAccumulator state;
    crm_test::expect_error_kind([&] { state.add(1.5, 1); }, crm::ErrorKind::InvalidParameter);
    state.add(0.5, 1);
    state.add(0.5, 3);
    EXPECT_EQ(state.result(), 2.0);
    crm_test::expect_error_kind([&] { state.add(0.25, 1); }, crm::ErrorKind::InvalidParameter);
}

}  // namespace
