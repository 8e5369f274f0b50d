// User-based collaborative filtering: similarities, KNNWithMeans predictions,
// top-N recommendations and cross-validation, checked against hand arithmetic
// and against a naive re-implementation of Surprise's definitions.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cf.hpp"
#include "errors.hpp"
#include "expect_error.hpp"
#include "interrupts.hpp"

namespace {

using crm::KnnOptions;
using crm::NeighbourVectors;
using crm::RatingMatrix;
using crm::Similarity;
using crm::TopNOptions;

// Users 1-4, items 10-50:
//   user 1: 10 -> 5, 20 -> 3, 30 -> 4   mean 12/3 = 4
//   user 2: 10 -> 4, 20 -> 2, 40 -> 1   mean  7/3
//   user 3: 20 -> 5, 30 -> 1, 40 -> 3   mean  9/3 = 3
//   user 4: 50 -> 2                     mean  2 (shares no item with anyone)
// global mean (12 + 7 + 9 + 2) / 10 = 3; scale [1, 5].
// Co-rated pairs: 1-2 on {10, 20}: (5,4) (3,2); 1-3 on {20, 30}: (3,5) (4,1);
//                 2-3 on {20, 40}: (2,5) (1,3).
std::vector<crm::Rating> small_ratings() {
    return {{1, 10, 5}, {1, 20, 3}, {1, 30, 4}, {2, 10, 4}, {2, 20, 2},
            {2, 40, 1}, {3, 20, 5}, {3, 30, 1}, {3, 40, 3}, {4, 50, 2}};
}

KnnOptions knn(Similarity s, int k = 40, int min_k = 1) {
    KnnOptions o;
    o.similarity = s;
    o.k = k;
    o.min_k = min_k;
    return o;
}

double sim(const RatingMatrix& m, std::int64_t a, std::int64_t b, Similarity s, int shrinkage = 100) {
    KnnOptions o = knn(s);
    o.shrinkage = shrinkage;
    return crm::user_similarity(m, a, b, o);
}

double predict_one(const RatingMatrix& m, std::int64_t user, std::int64_t item, const KnnOptions& o) {
    return crm::predict(m, {{user, item}}, o).at(0);
}

void expect_invalid(const std::function<void()>& call, const std::string& fragment) {
    const std::string msg = crm_test::expect_error_kind(call, crm::ErrorKind::InvalidParameter);
    EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
}

TEST(RatingMatrixMemory, MaxRatingsWithinTheLimit) {
    // 120 bytes a rating: 1 MiB holds floor(1048576 / 120) = 8738 ratings.
    EXPECT_EQ(crm::rating_matrix_max_ratings(1048576), 8738u);
    EXPECT_EQ(crm::rating_matrix_max_ratings(119), 0u);
    EXPECT_EQ(crm::rating_matrix_max_ratings(120), 1u);
    EXPECT_EQ(crm::rating_matrix_max_ratings(std::numeric_limits<std::uint64_t>::max()),
              std::numeric_limits<std::uint64_t>::max() / 120);
}

TEST(CfNames, ParseSimilarity) {
    EXPECT_EQ(crm::parse_similarity("msd"), Similarity::Msd);
    EXPECT_EQ(crm::parse_similarity("cosine"), Similarity::Cosine);
    EXPECT_EQ(crm::parse_similarity("pearson"), Similarity::Pearson);
    EXPECT_EQ(crm::parse_similarity("pearson_baseline"), Similarity::PearsonBaseline);
    EXPECT_STREQ(crm::similarity_name(Similarity::PearsonBaseline), "pearson_baseline");
    expect_invalid([] { crm::parse_similarity("jaccard"); }, "msd, cosine, pearson, pearson_baseline");
    expect_invalid([] { crm::parse_similarity("MSD"); }, "\"MSD\"");
    EXPECT_EQ(crm::parse_neighbour_vectors("binary"), NeighbourVectors::Binary);
    EXPECT_EQ(crm::parse_neighbour_vectors("co_rated"), NeighbourVectors::CoRated);
    expect_invalid([] { crm::parse_neighbour_vectors("dense"); }, "co_rated, full, centered, binary");
}

TEST(RatingMatrix, IndexesMeansAndScale) {
    const RatingMatrix m(small_ratings());
    EXPECT_EQ(m.users(), 4u);
    EXPECT_EQ(m.items(), 5u);
    EXPECT_EQ(m.ratings(), 10u);
    EXPECT_DOUBLE_EQ(m.global_mean(), 3.0);
    EXPECT_EQ(m.min_rating(), 1.0);
    EXPECT_EQ(m.max_rating(), 5.0);
    EXPECT_TRUE(m.has_user(3));
    EXPECT_FALSE(m.has_user(5));
    EXPECT_TRUE(m.has_item(50));
    EXPECT_FALSE(m.has_item(15));
    EXPECT_DOUBLE_EQ(m.user_mean(m.user_index(2)), 7.0 / 3.0);
    EXPECT_EQ(m.item_popularity(m.item_index(20)), 3u);
    // Per-item lists hold users ascending whatever the input order.
    const auto col = m.item_ratings(m.item_index(40));
    ASSERT_EQ(col.size, 2u);
    EXPECT_EQ(m.user_key(col.index[0]), 2);
    EXPECT_EQ(col.value[0], 1.0);
    EXPECT_EQ(m.user_key(col.index[1]), 3);
    EXPECT_GT(m.memory_bytes(), 10 * (sizeof(double) + sizeof(std::uint32_t)));
}

TEST(RatingMatrix, DuplicatesAreAveraged) {
    // (1, 10) appears twice: 4 and 2 -> one rating of 3. User 1's mean (3 + 5) / 2 = 4.
    const RatingMatrix m({{1, 10, 4}, {1, 20, 5}, {1, 10, 2}});
    EXPECT_EQ(m.ratings(), 2u);
    EXPECT_EQ(m.item_popularity(m.item_index(10)), 1u);
    EXPECT_DOUBLE_EQ(m.user_mean(0), 4.0);
    EXPECT_DOUBLE_EQ(m.global_mean(), 4.0);
    EXPECT_EQ(m.user_ratings(0).value[0], 3.0);
    // Predicting a training pair: the user is their own neighbour (similarity 1,
    // as in Surprise): 4 + 1 * (3 - 4) / 1 = 3, the averaged rating.
    EXPECT_DOUBLE_EQ(predict_one(m, 1, 10, knn(Similarity::Msd)), 3.0);
}

TEST(RatingMatrix, RejectsNonFiniteAndAllowsEmpty) {
    expect_invalid([] { RatingMatrix({{1, 1, 1}, {1, 2, std::nan("")}}); }, "NaN");
    expect_invalid([] { RatingMatrix({{1, 1, std::numeric_limits<double>::infinity()}}); }, "Infinity");
    const RatingMatrix empty({});
    EXPECT_EQ(empty.users(), 0u);
    EXPECT_EQ(empty.ratings(), 0u);
    EXPECT_TRUE(std::isnan(empty.global_mean()));
    const auto est = crm::predict(empty, {{1, 1}, {2, 2}}, KnnOptions{});
    ASSERT_EQ(est.size(), 2u);
    EXPECT_TRUE(std::isnan(est[0]));
    EXPECT_TRUE(crm::recommend(empty, 1, TopNOptions{}).empty());
}

TEST(CfSimilarity, Msd) {
    const RatingMatrix m(small_ratings());
    // 1-2: ((5-4)^2 + (3-2)^2) / 2 = 1        -> 1 / (1 + 1)   = 0.5
    // 1-3: ((3-5)^2 + (4-1)^2) / 2 = 13/2     -> 1 / (6.5 + 1) = 2/15
    // 2-3: ((2-5)^2 + (1-3)^2) / 2 = 13/2     -> 2/15
    EXPECT_DOUBLE_EQ(sim(m, 1, 2, Similarity::Msd), 0.5);
    EXPECT_DOUBLE_EQ(sim(m, 2, 1, Similarity::Msd), 0.5);
    EXPECT_DOUBLE_EQ(sim(m, 1, 3, Similarity::Msd), 2.0 / 15.0);
    EXPECT_DOUBLE_EQ(sim(m, 3, 2, Similarity::Msd), 2.0 / 15.0);
    EXPECT_EQ(sim(m, 1, 4, Similarity::Msd), 0.0);  // nothing in common
    EXPECT_EQ(sim(m, 3, 3, Similarity::Msd), 1.0);
    EXPECT_EQ(sim(m, 1, 99, Similarity::Msd), 0.0);  // unknown user
}

TEST(CfSimilarity, Cosine) {
    const RatingMatrix m(small_ratings());
    // 1-2: (5*4 + 3*2) / sqrt((25 + 9) * (16 + 4)) = 26 / sqrt(680)
    // 1-3: (3*5 + 4*1) / sqrt((9 + 16) * (25 + 1)) = 19 / sqrt(650)
    // 2-3: (2*5 + 1*3) / sqrt((4 + 1) * (25 + 9))  = 13 / sqrt(170)
    EXPECT_DOUBLE_EQ(sim(m, 1, 2, Similarity::Cosine), 26.0 / std::sqrt(680.0));
    EXPECT_DOUBLE_EQ(sim(m, 1, 3, Similarity::Cosine), 19.0 / std::sqrt(650.0));
    EXPECT_DOUBLE_EQ(sim(m, 2, 3, Similarity::Cosine), 13.0 / std::sqrt(170.0));
    EXPECT_EQ(sim(m, 4, 2, Similarity::Cosine), 0.0);
    // Zero vectors (implicit data with zeros) give 0, not NaN.
    const RatingMatrix zeros({{1, 1, 0}, {2, 1, 0}, {2, 2, 1}});
    EXPECT_EQ(sim(zeros, 1, 2, Similarity::Cosine), 0.0);
}

TEST(CfSimilarity, Pearson) {
    const RatingMatrix m(small_ratings());
    // Each user centred on their own mean over the co-rated items:
    // 1-2: x = (5,3) - 4 = (1,-1), y = (4,2) - 3 = (1,-1)  -> 2 / sqrt(2 * 2) = 1
    // 1-3: x = (3,4) - 3.5 = (-.5,.5), y = (5,1) - 3 = (2,-2) -> -2 / sqrt(.5 * 8) = -1
    // 2-3: x = (2,1) - 1.5 = (.5,-.5), y = (5,3) - 4 = (1,-1) -> 1 / sqrt(.5 * 2) = 1
    EXPECT_DOUBLE_EQ(sim(m, 1, 2, Similarity::Pearson), 1.0);
    EXPECT_DOUBLE_EQ(sim(m, 1, 3, Similarity::Pearson), -1.0);
    EXPECT_DOUBLE_EQ(sim(m, 2, 3, Similarity::Pearson), 1.0);
    // Three co-rated items: x = (1,2,3), y = (1,3,2):
    // centred (-1,0,1), (-1,1,0): 1 / sqrt(2 * 2) = 0.5
    const RatingMatrix three({{1, 1, 1}, {1, 2, 2}, {1, 3, 3}, {2, 1, 1}, {2, 2, 3}, {2, 3, 2}});
    EXPECT_DOUBLE_EQ(sim(three, 1, 2, Similarity::Pearson), 0.5);
    // One co-rated item, or a constant user: zero variance -> 0.
    const RatingMatrix one({{1, 1, 5}, {1, 2, 3}, {2, 1, 4}});
    EXPECT_EQ(sim(one, 1, 2, Similarity::Pearson), 0.0);
    const RatingMatrix flat({{1, 1, 4}, {1, 2, 4}, {2, 1, 1}, {2, 2, 5}});
    EXPECT_EQ(sim(flat, 1, 2, Similarity::Pearson), 0.0);
}

// Surprise's baseline_als and pearson_baseline written out naively.
double reference_pearson_baseline(const std::vector<crm::Rating>& ratings, std::int64_t a, std::int64_t b,
                                  int shrinkage) {
    std::map<std::int64_t, std::map<std::int64_t, double>> by_user, by_item;
    double mu = 0;
    for (const auto& r : ratings) {
        by_user[r.user][r.item] = r.rating;
        by_item[r.item][r.user] = r.rating;
        mu += r.rating / ratings.size();
    }
    std::map<std::int64_t, double> bu, bi;
    for (int epoch = 0; epoch < 10; ++epoch) {
        for (const auto& [i, raters] : by_item) {
            double dev = 0;
            for (const auto& [u, r] : raters) dev += r - mu - bu[u];
            bi[i] = dev / (10 + raters.size());
        }
        for (const auto& [u, items] : by_user) {
            double dev = 0;
            for (const auto& [i, r] : items) dev += r - mu - bi[i];
            bu[u] = dev / (15 + items.size());
        }
    }
    double prods = 0, sqa = 0, sqb = 0;
    int n = 0;
    for (const auto& [i, ra] : by_user[a]) {
        const auto it = by_user[b].find(i);
        if (it == by_user[b].end()) continue;
        const double da = ra - (mu + bu[a] + bi[i]);
        const double db = it->second - (mu + bu[b] + bi[i]);
        prods += da * db;
        sqa += da * da;
        sqb += db * db;
        ++n;
    }
    if (n < 2) return 0;
    return prods / std::sqrt(sqa * sqb) * (n - 1.0) / (n - 1.0 + shrinkage);
}

TEST(CfSimilarity, PearsonBaseline) {
    const auto ratings = small_ratings();
    const RatingMatrix m(ratings);
    for (const auto& [a, b] : std::vector<std::pair<int, int>>{{1, 2}, {1, 3}, {2, 3}}) {
        const double unshrunk = reference_pearson_baseline(ratings, a, b, 0);
        EXPECT_NEAR(sim(m, a, b, Similarity::PearsonBaseline, 0), unshrunk, 1e-12) << a << "-" << b;
        // Two co-rated items: shrunk by (2 - 1) / (2 - 1 + 100) = 1/101.
        EXPECT_NEAR(sim(m, a, b, Similarity::PearsonBaseline, 100), unshrunk / 101.0, 1e-14) << a << "-" << b;
        // Keeps the comparison from being vacuous: the reference similarities are not 0.
        EXPECT_NE(unshrunk, 0.0);
    }
    // One co-rated item: Surprise requires 2 for this similarity -> 0.
    const RatingMatrix one({{1, 1, 5}, {1, 2, 3}, {2, 1, 4}, {2, 3, 1}});
    EXPECT_EQ(sim(one, 1, 2, Similarity::PearsonBaseline, 0), 0.0);
}

TEST(CfPredict, ResnickByHand) {
    const RatingMatrix m(small_ratings());
    // msd, (3, 10): raters of 10 are 1 (sim 2/15, dev 5 - 4 = 1) and 2 (sim 2/15, dev 4 - 7/3 = 5/3)
    // est = 3 + (2/15 * 1 + 2/15 * 5/3) / (4/15) = 3 + 4/3 = 13/3
    EXPECT_NEAR(predict_one(m, 3, 10, knn(Similarity::Msd)), 13.0 / 3.0, 1e-12);
    // pearson, (3, 10): sim(3,1) = -1 is dropped, sim(3,2) = 1: est = 3 + 5/3 = 14/3
    EXPECT_NEAR(predict_one(m, 3, 10, knn(Similarity::Pearson)), 14.0 / 3.0, 1e-12);
    // cosine, (3, 10): s1 = 19/sqrt(650), s2 = 13/sqrt(170): est = 3 + (s1 * 1 + s2 * 5/3) / (s1 + s2)
    const double s1 = 19.0 / std::sqrt(650.0), s2 = 13.0 / std::sqrt(170.0);
    EXPECT_NEAR(predict_one(m, 3, 10, knn(Similarity::Cosine)), 3.0 + (s1 + s2 * 5.0 / 3.0) / (s1 + s2), 1e-12);
    // msd, (1, 40): raters 2 (sim 1/2, dev 1 - 7/3 = -4/3) and 3 (sim 2/15, dev 0)
    // est = 4 + (1/2 * -4/3) / (1/2 + 2/15) = 4 - (2/3) / (19/30) = 4 - 20/19 = 56/19
    EXPECT_NEAR(predict_one(m, 1, 40, knn(Similarity::Msd)), 56.0 / 19.0, 1e-12);
    // k = 1 keeps only user 2 (1/2 > 2/15): 4 - 4/3 = 8/3
    EXPECT_NEAR(predict_one(m, 1, 40, knn(Similarity::Msd, 1)), 8.0 / 3.0, 1e-12);
}

TEST(CfPredict, MinKFallsBackToUserMean) {
    const RatingMatrix m(small_ratings());
    // pearson (3, 10) has one positive neighbour: min_k = 2 -> user 3's mean 3.
    EXPECT_DOUBLE_EQ(predict_one(m, 3, 10, knn(Similarity::Pearson, 40, 2)), 3.0);
    // min_k = 0 with no positive neighbour also gives the mean (nothing to divide by).
    EXPECT_DOUBLE_EQ(predict_one(m, 4, 10, knn(Similarity::Msd, 40, 0)), 2.0);
    // User 4 shares nothing with anyone: mean 2.
    EXPECT_DOUBLE_EQ(predict_one(m, 4, 10, knn(Similarity::Msd)), 2.0);
}

TEST(CfPredict, UnknownUserOrItemGetsGlobalMean) {
    const RatingMatrix m(small_ratings());
    const auto est = crm::predict(m, {{99, 10}, {1, 999}, {99, 999}, {3, 10}}, knn(Similarity::Msd));
    ASSERT_EQ(est.size(), 4u);
    EXPECT_DOUBLE_EQ(est[0], 3.0);
    EXPECT_DOUBLE_EQ(est[1], 3.0);
    EXPECT_DOUBLE_EQ(est[2], 3.0);
    EXPECT_NEAR(est[3], 13.0 / 3.0, 1e-12);  // results stay in the order asked
}

TEST(CfPredict, ClipsToTheTrainingScale) {
    // user 1: 5, 4 (mean 4.5); user 2: 1, 1, 5 (mean 7/3, item 3 dev 8/3); msd sim > 0.
    // (1, 3): 4.5 + 8/3 = 7.17 -> 5
    const RatingMatrix high({{1, 1, 5}, {1, 2, 4}, {2, 1, 1}, {2, 2, 1}, {2, 3, 5}});
    EXPECT_EQ(predict_one(high, 1, 3, knn(Similarity::Msd)), 5.0);
    // user 1: 1, 2 (mean 1.5); user 2: 5, 5, 1 (mean 11/3, item 3 dev -8/3): 1.5 - 8/3 -> 1
    const RatingMatrix low({{1, 1, 1}, {1, 2, 2}, {2, 1, 5}, {2, 2, 5}, {2, 3, 1}});
    EXPECT_EQ(predict_one(low, 1, 3, knn(Similarity::Msd)), 1.0);
    // Implicit scale 10..30: clipped to the training min and max, not to 1..5.
    const RatingMatrix implicit({{1, 1, 30}, {1, 2, 20}, {2, 1, 10}, {2, 2, 10}, {2, 3, 30}});
    EXPECT_EQ(predict_one(implicit, 1, 3, knn(Similarity::Cosine)), 30.0);
}

TEST(CfPredict, IndependentOfInputOrder) {
    auto ratings = small_ratings();
    const RatingMatrix a(ratings);
    std::mt19937_64 rng(7);
    std::shuffle(ratings.begin(), ratings.end(), rng);
    const RatingMatrix b(ratings);
    std::vector<std::pair<std::int64_t, std::int64_t>> pairs;
    for (int u = 1; u <= 4; ++u)
        for (int i = 10; i <= 50; i += 10) pairs.emplace_back(u, i);
    for (const auto s : {Similarity::Msd, Similarity::Cosine, Similarity::Pearson, Similarity::PearsonBaseline})
        EXPECT_EQ(crm::predict(a, pairs, knn(s)), crm::predict(b, pairs, knn(s)));
}

// KNNWithMeans written out naively (full similarity matrix, sorted neighbours).
double naive_sim(const std::map<std::int64_t, double>& x, const std::map<std::int64_t, double>& y, Similarity s) {
    double n = 0, sxy = 0, sxx = 0, syy = 0, sx = 0, sy = 0, sq = 0;
    for (const auto& [i, rx] : x) {
        const auto it = y.find(i);
        if (it == y.end()) continue;
        const double ry = it->second;
        n += 1;
        sxy += rx * ry;
        sxx += rx * rx;
        syy += ry * ry;
        sx += rx;
        sy += ry;
        sq += (rx - ry) * (rx - ry);
    }
    if (n == 0) return 0;
    if (s == Similarity::Msd) return 1 / (sq / n + 1);
    if (s == Similarity::Cosine) return sxy / std::sqrt(sxx * syy);
    const double den = std::sqrt((n * sxx - sx * sx) * (n * syy - sy * sy));
    return den == 0 ? 0 : (n * sxy - sx * sy) / den;
}

TEST(CfPredict, MatchesNaiveKnnWithMeans) {
    std::mt19937_64 rng(42);
    std::vector<crm::Rating> ratings;
    std::map<std::int64_t, std::map<std::int64_t, double>> by_user;
    for (int u = 0; u < 40; ++u)
        for (int i = 0; i < 25; ++i)
            if (rng() % 3 == 0) {
                const double r = 1 + static_cast<double>(rng() % 5);
                ratings.push_back({100 + u, 7 * i, r});
                by_user[100 + u][7 * i] = r;
            }
    const RatingMatrix m(ratings);
    std::map<std::int64_t, double> mean;
    for (const auto& [u, items] : by_user) {
        double s = 0;
        for (const auto& [i, r] : items) s += r;
        mean[u] = s / items.size();
    }
    std::vector<std::pair<std::int64_t, std::int64_t>> pairs;
    for (const auto& [u, items] : by_user)
        for (int i = 0; i < 25; ++i) pairs.emplace_back(u, 7 * i);
    for (const auto s : {Similarity::Msd, Similarity::Cosine, Similarity::Pearson})
        for (const int k : {1, 3, 40}) {
            const auto est = crm::predict(m, pairs, knn(s, k));
            for (std::size_t p = 0; p < pairs.size(); ++p) {
                const auto [u, i] = pairs[p];
                std::vector<std::pair<double, std::int64_t>> nb;  // (-sim, user): best first, lower key on ties
                for (const auto& [v, items] : by_user) {
                    const auto it = items.find(i);
                    if (it == items.end()) continue;
                    const double sv = v == u ? 1.0 : naive_sim(by_user[u], items, s);
                    nb.emplace_back(-sv, v);
                }
                std::sort(nb.begin(), nb.end());
                if (nb.size() > static_cast<std::size_t>(k)) nb.resize(k);
                double sum_sim = 0, sum_dev = 0;
                for (const auto& [negsim, v] : nb)
                    if (-negsim > 0) {
                        sum_sim += -negsim;
                        sum_dev += -negsim * (by_user[v][i] - mean[v]);
                    }
                const double expected = std::clamp(mean[u] + (sum_sim > 0 ? sum_dev / sum_sim : 0.0), 1.0, 5.0);
                ASSERT_NEAR(est[p], expected, 1e-9) << crm::similarity_name(s) << " k=" << k << " (" << u
                                                    << ", " << i << ")";
            }
        }
}

TopNOptions topn(int n, int k, NeighbourVectors v = NeighbourVectors::Binary,
                 Similarity s = Similarity::Cosine) {
    TopNOptions o;
    o.n = n;
    o.k = k;
    o.vectors = v;
    o.similarity = s;
    return o;
}

TEST(CfTopN, SumsNeighbourSimilaritiesAndExcludesRatedItems) {
    const RatingMatrix m(small_ratings());
    // Binary cosine = common / sqrt(|u| |v|): users 1, 2, 3 have 3 items and share
    // 2 pairwise -> 2/3 each; user 4 shares nothing.
    // User 1 (rated 10, 20, 30): neighbours 2 and 3 both have 40 -> 2/3 + 2/3 = 4/3.
    // Item 50 is no neighbour's, so it comes from the popular fallback (popularity 1).
    const auto recs = crm::recommend(m, 1, topn(10, 60));
    ASSERT_EQ(recs.size(), 2u);
    EXPECT_EQ(recs[0].item, 40);
    EXPECT_DOUBLE_EQ(recs[0].score, 4.0 / 3.0);
    EXPECT_FALSE(recs[0].popular_fallback);
    EXPECT_EQ(recs[1].item, 50);
    EXPECT_EQ(recs[1].score, 1.0);
    EXPECT_TRUE(recs[1].popular_fallback);
    // k = 1: the tie between users 2 and 3 goes to the lower key, 2: score 2/3.
    const auto one = crm::recommend(m, 1, topn(1, 1));
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].item, 40);
    EXPECT_DOUBLE_EQ(one[0].score, 2.0 / 3.0);
    // Full-vector cosine, user 1 and 2: (5*4 + 3*2) / (sqrt(25+9+16) sqrt(16+4+1)) = 26 / sqrt(50 * 21);
    // user 1 and 3: (3*5 + 4*1) / (sqrt(50) sqrt(25+1+9)) = 19 / sqrt(50 * 35).
    const auto full = crm::recommend(m, 1, topn(1, 60, NeighbourVectors::Full));
    ASSERT_EQ(full.size(), 1u);
    EXPECT_DOUBLE_EQ(full[0].score, 26.0 / std::sqrt(50.0 * 21.0) + 19.0 / std::sqrt(50.0 * 35.0));
    // Co-rated pearson: user 3's only positive neighbour is 2 (sim 1) -> item 10 scores 1.
    const auto pearson = crm::recommend(m, 3, topn(1, 60, NeighbourVectors::CoRated, Similarity::Pearson));
    ASSERT_EQ(pearson.size(), 1u);
    EXPECT_EQ(pearson[0].item, 10);
    EXPECT_DOUBLE_EQ(pearson[0].score, 1.0);
}

TEST(CfTopN, TiesGoToPopularityThenItemKey) {
    // User 1 rated item 1; their only neighbour, user 2, rated 1, 2, 3, 4, so items
    // 2, 3, 4 all score 1 / sqrt(1 * 4) = 0.5. Users 3 and 4 (no overlap with 1)
    // make items 3 and 4 more popular (2 ratings each against 1 for item 2).
    const RatingMatrix m({{1, 1, 1}, {2, 1, 1}, {2, 2, 1}, {2, 3, 1}, {2, 4, 1}, {3, 3, 1}, {4, 4, 1}});
    const auto recs = crm::recommend(m, 1, topn(10, 60));
    ASSERT_EQ(recs.size(), 3u);
    EXPECT_EQ(recs[0].item, 3);
    EXPECT_EQ(recs[1].item, 4);
    EXPECT_EQ(recs[2].item, 2);
    for (const auto& r : recs) {
        EXPECT_DOUBLE_EQ(r.score, 0.5);
        EXPECT_FALSE(r.popular_fallback);
    }
}

TEST(CfTopN, NewUsersAndLonersGetPopularItems) {
    const RatingMatrix m(small_ratings());
    // Popularity: 20 -> 3; 10, 30, 40 -> 2; 50 -> 1. Ties by item key.
    const auto fresh = crm::recommend(m, 99, topn(10, 60));
    ASSERT_EQ(fresh.size(), 5u);
    const std::int64_t order[] = {20, 10, 30, 40, 50};
    for (std::size_t r = 0; r < 5; ++r) {
        EXPECT_EQ(fresh[r].item, order[r]);
        EXPECT_TRUE(fresh[r].popular_fallback);
    }
    EXPECT_EQ(fresh[0].score, 3.0);
    // User 4 has no positive neighbour: popular items except their own 50.
    const auto loner = crm::recommend(m, 4, topn(3, 60));
    ASSERT_EQ(loner.size(), 3u);
    EXPECT_EQ(loner[0].item, 20);
    EXPECT_EQ(loner[1].item, 10);
    EXPECT_EQ(loner[2].item, 30);
    for (const auto& r : loner) EXPECT_TRUE(r.popular_fallback);
}

TEST(CfTopN, ManyEqualsOneByOne) {
    const RatingMatrix m(small_ratings());
    const std::vector<std::int64_t> users = {3, 99, 1, 4, 1};
    const auto o = topn(3, 2, NeighbourVectors::Centered);
    const auto many = crm::recommend_many(m, users, o);
    ASSERT_EQ(many.size(), users.size());
    for (std::size_t u = 0; u < users.size(); ++u) {
        const auto one = crm::recommend(m, users[u], o);
        ASSERT_EQ(many[u].size(), one.size());
        for (std::size_t r = 0; r < one.size(); ++r) {
            EXPECT_EQ(many[u][r].item, one[r].item);
            EXPECT_EQ(many[u][r].score, one[r].score);
            EXPECT_EQ(many[u][r].popular_fallback, one[r].popular_fallback);
        }
    }
}

TEST(CfOptions, Validation) {
    const RatingMatrix m(small_ratings());
    expect_invalid([&] { crm::predict(m, {}, knn(Similarity::Msd, 0)); }, "k must be at least 1");
    expect_invalid([&] { crm::predict(m, {}, knn(Similarity::Msd, 1, -1)); }, "min_k must be at least 0");
    KnnOptions negative_shrinkage;
    negative_shrinkage.shrinkage = -1;
    expect_invalid([&] { crm::predict(m, {}, negative_shrinkage); }, "shrinkage");
    expect_invalid([&] { crm::recommend(m, 1, topn(0, 10)); }, "n must be at least 1");
    expect_invalid([&] { crm::recommend(m, 1, topn(10, 0)); }, "k must be at least 1");
    expect_invalid([&] { crm::recommend_many(m, {}, topn(0, 10)); }, "n must be at least 1");
    expect_invalid([&] { crm::recommend(m, 1, topn(10, 10, NeighbourVectors::Binary, Similarity::Pearson)); },
                   "pearson");
    const auto r = small_ratings();
    expect_invalid([&] { crm::cross_validate(r, {}, 1, 0, KnnOptions{}, TopNOptions{}, 4); },
                   "folds must be at least 2");
    expect_invalid([&] { crm::cross_validate(r, {0, 1}, 2, 0, KnnOptions{}, TopNOptions{}, 4); }, "fold_of");
    expect_invalid([&] { crm::cross_validate(r, std::vector<int>(r.size(), 2), 2, 0, KnnOptions{}, TopNOptions{}, 4); },
                   "fold_of");
    expect_invalid(
        [&] { crm::cross_validate(r, {}, 2, 0, KnnOptions{}, TopNOptions{}, std::nan("")); },
        "relevant_threshold");
    expect_invalid([&] { crm::cross_validate(r, {}, 2, 0, knn(Similarity::Msd, 0), TopNOptions{}, 4); }, "k");
}

std::vector<crm::Rating> synthetic(int users, int items, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<crm::Rating> out;
    for (int u = 0; u < users; ++u)
        for (int i = 0; i < items; ++i)
            if (rng() % 4 == 0) out.push_back({u, i, 1.0 + static_cast<double>(rng() % 5)});
    return out;
}

TEST(CfCrossValidate, ShuffledFoldsAreBalancedAndReproducible) {
    const auto ratings = synthetic(60, 40, 3);
    const std::size_t n = ratings.size();
    const auto a = crm::cross_validate(ratings, {}, 4, 11, KnnOptions{}, TopNOptions{}, 4);
    const auto b = crm::cross_validate(ratings, {}, 4, 11, KnnOptions{}, TopNOptions{}, 4);
    ASSERT_EQ(a.size(), 4u);
    std::int64_t total = 0;
    for (int f = 0; f < 4; ++f) {
        EXPECT_EQ(a[f].fold, f);
        // The first n mod 4 folds hold one row more.
        EXPECT_EQ(a[f].test_ratings, static_cast<std::int64_t>(n / 4 + (static_cast<std::size_t>(f) < n % 4 ? 1 : 0)));
        total += a[f].test_ratings;
        EXPECT_EQ(a[f].rmse, b[f].rmse);
        EXPECT_EQ(a[f].precision_at_k, b[f].precision_at_k);
        EXPECT_GT(a[f].rmse, 0.0);
        EXPECT_GE(a[f].rmse, a[f].mae);
        EXPECT_GE(a[f].precision_at_k, 0.0);
        EXPECT_LE(a[f].recall_at_k, 1.0);
    }
    EXPECT_EQ(total, static_cast<std::int64_t>(n));
    const auto other = crm::cross_validate(ratings, {}, 4, 12, KnnOptions{}, TopNOptions{}, 4);
    EXPECT_NE(a[0].rmse, other[0].rmse);
    // All rows -1 is the same as no fold column.
    const auto minus = crm::cross_validate(ratings, std::vector<int>(n, -1), 4, 11, KnnOptions{}, TopNOptions{}, 4);
    EXPECT_EQ(minus[2].rmse, a[2].rmse);
}

TEST(CfCrossValidate, ExplicitFoldsByHand) {
    // Fold 1 holds (3, 10) -> 4 only; trained on the rest, msd predicts 13/3 (see
    // ResnickByHand): error 1/3. Fold 0 holds everything else.
    auto ratings = small_ratings();
    ratings.push_back({3, 10, 4});
    std::vector<int> fold(ratings.size(), 0);
    fold.back() = 1;
    TopNOptions o = topn(1, 60);
    const auto metrics = crm::cross_validate(ratings, fold, 2, 0, knn(Similarity::Msd), o, 4);
    ASSERT_EQ(metrics.size(), 2u);
    EXPECT_EQ(metrics[1].test_ratings, 1);
    EXPECT_NEAR(metrics[1].rmse, 1.0 / 3.0, 1e-12);
    EXPECT_NEAR(metrics[1].mae, 1.0 / 3.0, 1e-12);
    // Top-1 for user 3 (rated 20, 30, 40): neighbours 1 and 2 both have 10 -> hit.
    EXPECT_EQ(metrics[1].precision_at_k, 1.0);
    EXPECT_EQ(metrics[1].recall_at_k, 1.0);
    // Fold 0 trains on one rating: every user but 3 is unknown -> global mean 4.
    EXPECT_EQ(metrics[0].test_ratings, 10);
}

void cancelling_handler() { throw crm::Error(crm::ErrorKind::QueryCanceled, "canceling statement"); }

TEST(CfInterrupts, CancelStopsPredictAndRecommend) {
    const RatingMatrix m(synthetic(50, 50, 5));
    const auto previous = crm::set_interrupt_handler(&cancelling_handler);
    bool predict_stopped = false, recommend_stopped = false;
    try {
        (void)crm::predict(m, {{1, 1}}, KnnOptions{});
    } catch (const crm::Error& e) {
        predict_stopped = e.kind() == crm::ErrorKind::QueryCanceled;
    }
    try {
        (void)crm::recommend(m, 1, TopNOptions{});
    } catch (const crm::Error& e) {
        recommend_stopped = e.kind() == crm::ErrorKind::QueryCanceled;
    }
    crm::set_interrupt_handler(previous);
    EXPECT_TRUE(predict_stopped);
    EXPECT_TRUE(recommend_stopped);
}

}  // namespace
