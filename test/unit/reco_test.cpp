// The recommenders beyond user-kNN: item similarities and neighbour lists,
// the item-kNN top-N score, item-based prediction, the TF-IDF content model,
// hybrid, popularity fill, MMR and the evaluation metrics, each against a
// from-the-definition reference or hand arithmetic.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "content_model.hpp"
#include "errors.hpp"
#include "expect_error.hpp"
#include "item_knn.hpp"
#include "reco_evaluate.hpp"
#include "reco_options.hpp"
#include "recommender.hpp"

namespace {

using crm::ItemSimilarity;
using crm::RatingMatrix;

std::vector<crm::Rating> random_ratings(unsigned seed, int users, int items, double density) {
    std::mt19937_64 engine(seed);
    std::uniform_real_distribution<double> unit(0, 1);
    std::vector<crm::Rating> out;
    for (int u = 1; u <= users; ++u)
        for (int i = 1; i <= items; ++i)
            if (unit(engine) < density) out.push_back({u, 100 + i, 1.0 + std::floor(5 * unit(engine))});
    return out;
}

// Similarity straight from the definitions (item_knn.hpp), by scanning every user.
double naive_similarity(const std::vector<crm::Rating>& ratings, std::int64_t a, std::int64_t b, ItemSimilarity s) {
    std::map<std::int64_t, std::map<std::int64_t, double>> by_user;
    for (const auto& r : ratings) by_user[r.user][r.item] = r.rating;
    double na = 0, nb = 0, n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
    for (const auto& [user, items] : by_user) {
        const bool ha = items.count(a) > 0, hb = items.count(b) > 0;
        na += ha;
        nb += hb;
        if (!(ha && hb)) continue;
        double mean = 0;
        for (const auto& e : items) mean += e.second;
        mean /= static_cast<double>(items.size());
        double x = items.at(a), y = items.at(b);
        if (s == ItemSimilarity::AdjustedCosine) x -= mean, y -= mean;
        n += 1, sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
    }
    switch (s) {
        case ItemSimilarity::Cosine: return n / std::sqrt(na * nb);
        case ItemSimilarity::AdjustedCosine: return sxx * syy > 0 ? sxy / std::sqrt(sxx * syy) : 0;
        case ItemSimilarity::Pearson: {
            if (n == 0) return 0;
            const double mx = sx / n, my = sy / n;
            const double den = std::sqrt((sxx - n * mx * mx) * (syy - n * my * my));
            return den > 0 ? (sxy - n * mx * my) / den : 0;
        }
        case ItemSimilarity::Msd: return n > 0 ? 1 / ((sxx + syy - 2 * sxy) / n + 1) : 0;
    }
    return 0;
}

TEST(ItemKnn, NeighbourListsMatchTheDefinitions) {
    const auto ratings = random_ratings(7, 40, 25, 0.3);
    const RatingMatrix m(ratings);
    for (const ItemSimilarity s :
         {ItemSimilarity::Cosine, ItemSimilarity::AdjustedCosine, ItemSimilarity::Pearson, ItemSimilarity::Msd}) {
        const auto links = crm::item_neighbour_links(m, 5, s);
        std::map<std::int64_t, std::vector<std::pair<double, std::int64_t>>> expected;
        for (std::size_t i = 0; i < m.items(); ++i)
            for (std::size_t j = 0; j < m.items(); ++j) {
                if (i == j) continue;
                const double sim = naive_similarity(ratings, m.item_key(i), m.item_key(j), s);
                if (sim > 1e-12) expected[m.item_key(i)].push_back({-sim, m.item_key(j)});
            }
        std::size_t count = 0;
        std::map<std::int64_t, int> rank;
        for (const auto& l : links) {
            auto& list = expected[l.item];
            std::sort(list.begin(), list.end());
            const int r = rank[l.item]++;
            ASSERT_LT(static_cast<std::size_t>(r), list.size());
            EXPECT_NEAR(l.similarity, -list[r].first, 1e-9) << crm::item_similarity_name(s);
            ++count;
        }
        std::size_t want = 0;
        for (auto& e : expected) want += std::min<std::size_t>(5, e.second.size());
        EXPECT_EQ(count, want) << crm::item_similarity_name(s);
    }
}

TEST(ItemKnn, TopNScoreIsTheSumOverTheUsersItemsAmongTheCandidatesNeighbours) {
    const auto ratings = random_ratings(11, 30, 20, 0.25);
    const RatingMatrix m(ratings);
    const int k = 4;
    const auto links = crm::item_neighbour_links(m, k, ItemSimilarity::Cosine);
    const crm::ItemNeighbours nb(links);
    crm::ItemKnnScorer scorer(nb);
    for (std::size_t u = 0; u < m.users(); ++u) {
        std::set<std::int64_t> mine;
        const auto row = m.user_ratings(u);
        for (std::size_t e = 0; e < row.size; ++e) mine.insert(m.item_key(row.index[e]));
        std::map<std::int64_t, double> expected;
        for (const auto& l : links)  // l.neighbour is among l.item's k neighbours
            if (mine.count(l.neighbour) && !mine.count(l.item)) expected[l.item] += l.similarity;
        const auto got = scorer.score(std::vector<std::int64_t>(mine.begin(), mine.end()), 1000);
        ASSERT_EQ(got.size(), expected.size());
        for (std::size_t r = 0; r < got.size(); ++r) {
            EXPECT_NEAR(got[r].second, expected[got[r].first], 1e-12);
            if (r > 0) EXPECT_TRUE(got[r - 1].second > got[r].second ||
                                   (got[r - 1].second == got[r].second && got[r - 1].first < got[r].first));
        }
    }
}

TEST(ItemKnn, WeightedTopNScoreCountsEachOfTheUsersItemsByItsWeight) {
    const auto ratings = random_ratings(12, 30, 20, 0.25);
    const RatingMatrix m(ratings);
    const auto links = crm::item_neighbour_links(m, 5, ItemSimilarity::Cosine);
    const crm::ItemNeighbours nb(links);
    crm::ItemKnnScorer scorer(nb);
    for (std::size_t u = 0; u < m.users(); ++u) {
        std::vector<std::int64_t> mine;
        std::vector<double> weights;
        std::map<std::int64_t, double> weight_of;
        const auto row = m.user_ratings(u);
        for (std::size_t e = 0; e < row.size; ++e) {
            mine.push_back(m.item_key(row.index[e]));
            weights.push_back(e % 3 == 2 ? 0.0 : row.value[e]);  // some weigh nothing
            weight_of[mine.back()] = weights.back();
        }
        std::map<std::int64_t, double> expected;
        for (const auto& l : links)
            if (weight_of.count(l.neighbour) && !weight_of.count(l.item) && weight_of[l.neighbour] > 0)
                expected[l.item] += weight_of[l.neighbour] * l.similarity;
        const auto got = scorer.score(mine, 1000, &weights);
        ASSERT_EQ(got.size(), expected.size());
        for (const auto& [item, score] : got) EXPECT_NEAR(score, expected[item], 1e-12);
    }
}

TEST(ItemKnn, ScoresPassingThroughZeroAreListedOnce) {
    // Stored lists may hold negative similarities: 5's score goes 0.5, 0, 0.2.
    const crm::ItemNeighbours nb({{5, 1, 0.5}, {5, 2, -0.5}, {5, 3, 0.2}, {1, 2, 0.1}});
    crm::ItemKnnScorer scorer(nb);
    const auto got = scorer.score({1, 2, 3}, 10);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].first, 5);
    EXPECT_NEAR(got[0].second, 0.2, 1e-15);
    EXPECT_EQ(scorer.score({1}, 10).size(), 1u);  // scratch space left clean
}

TEST(ItemKnn, ItemBasedPredictionByHand) {
    // The regress case: means 10 -> 11/3, 20 -> 2.5, 30 -> 3; msd(30, 10) = 0.5, msd(30, 20) = 0.1.
    const RatingMatrix m({{1, 10, 5}, {1, 20, 3}, {2, 10, 4}, {2, 20, 2}, {2, 30, 5}, {3, 10, 2}, {3, 30, 1}});
    crm::ItemPredictOptions o;
    o.similarity = ItemSimilarity::Msd;
    const auto est = crm::predict_item_based(m, {{1, 30}, {1, 99}, {99, 10}}, o);
    EXPECT_NEAR(est[0], 3 + (0.5 * (5 - 11.0 / 3) + 0.1 * (3 - 2.5)) / 0.6, 1e-12);
    EXPECT_NEAR(est[1], 22.0 / 7, 1e-12);
    EXPECT_NEAR(est[2], 22.0 / 7, 1e-12);
    o.min_k = 3;  // two neighbours only: the item's mean
    EXPECT_NEAR(crm::predict_item_based(m, {{1, 30}}, o)[0], 3.0, 1e-12);
}

TEST(ItemKnn, BadNeighbourListsAreRefused) {
    using crm::ErrorKind;
    crm_test::expect_error_kind([] { crm::ItemNeighbours({{1, 2, 0.5}, {1, 2, 0.4}}); }, ErrorKind::InvalidParameter);
    crm_test::expect_error_kind([] { crm::ItemNeighbours({{1, 1, 0.5}}); }, ErrorKind::InvalidParameter);
    crm_test::expect_error_kind([] { crm::ItemNeighbours({{1, 2, std::nan("")}}); }, ErrorKind::InvalidParameter);
    crm_test::expect_error_kind([] { crm::parse_item_similarity("jaccard"); }, ErrorKind::InvalidParameter);
}

TEST(ContentModel, TfIdfCosineByHand) {
    // idf over 6 items: dairy, organic ln 2; bakery, vegan ln 6; frozen ln 3.
    const crm::ContentModel c({{10, {"dairy", "organic"}}, {11, {"dairy"}}, {12, {"bakery", "organic"}},
                               {13, {"frozen"}}, {14, {"frozen", "vegan"}}, {15, {"organic", "dairy", "dairy"}},
                               {17, {}}});
    EXPECT_EQ(c.items(), 6u);
    const double l2 = std::log(2.0), l6 = std::log(6.0);
    EXPECT_NEAR(c.similarity(15, 10), 1.0, 1e-12);
    EXPECT_NEAR(c.similarity(15, 11), 1 / std::sqrt(2.0), 1e-12);
    EXPECT_NEAR(c.similarity(15, 12), l2 / (std::sqrt(2.0) * std::hypot(l2, l6)), 1e-12);
    EXPECT_EQ(c.similarity(15, 17), 0.0);
    const auto like = c.like({15});
    ASSERT_EQ(like.size(), 3u);
    EXPECT_EQ(like[0].first, 10);
    EXPECT_EQ(like[1].first, 11);
    EXPECT_EQ(like[2].first, 12);
    EXPECT_TRUE(c.like({17, 99}).empty());
    // An attribute every item has weighs nothing: the item has no vector.
    const crm::ContentModel all({{1, {"x"}}, {2, {"x", "y"}}});
    EXPECT_EQ(all.index(1), crm::ContentModel::npos);
}

TEST(ContentModel, WeightedProfileByHand) {
    // The regress case: user 2 rates 10 (dairy, organic) three times 11 (dairy). With d, o the unit
    // directions of dairy and organic (equal idf), the profile is a d + b o, a = 3 / sqrt 2 + 1, b = 3 / sqrt 2.
    const crm::ContentModel c({{10, {"dairy", "organic"}}, {11, {"dairy"}}, {12, {"bakery", "organic"}},
                               {13, {"frozen"}}, {14, {"frozen", "vegan"}}, {15, {"organic", "dairy"}}});
    const double a = 3 / std::sqrt(2.0) + 1, b = 3 / std::sqrt(2.0), l2 = std::log(2.0), l6 = std::log(6.0);
    const std::vector<double> weights = {3, 1};
    const auto like = c.like({10, 11}, &weights);
    ASSERT_EQ(like.size(), 2u);
    EXPECT_EQ(like[0].first, 15);
    EXPECT_NEAR(like[0].second, (a + b) / (std::sqrt(2.0) * std::hypot(a, b)), 1e-12);
    EXPECT_EQ(like[1].first, 12);
    EXPECT_NEAR(like[1].second, b * l2 / (std::hypot(a, b) * std::hypot(l2, l6)), 1e-12);
    // An item weighted 0 adds nothing but is still left out; no positive weight, no profile.
    const std::vector<double> only_11 = {0, 1};
    const auto dairy = c.like({10, 11}, &only_11);
    ASSERT_EQ(dairy.size(), 1u);
    EXPECT_EQ(dairy[0].first, 15);
    EXPECT_NEAR(dairy[0].second, 1 / std::sqrt(2.0), 1e-12);
    const std::vector<double> none = {0, -1};
    EXPECT_TRUE(c.like({10, 11}, &none).empty());
}

TEST(Recommender, HybridByHand) {
    // The regress case (sql/reco.sql): user 2 has 10 and 11; 15 has attributes and no buyer.
    const RatingMatrix m({{1, 10, 1}, {1, 11, 1}, {1, 12, 1}, {2, 10, 1}, {2, 11, 1}, {3, 11, 1}, {3, 12, 1},
                          {3, 13, 1}, {4, 13, 1}, {4, 14, 1}});
    const crm::ContentModel c({{10, {"dairy", "organic"}}, {11, {"dairy"}}, {12, {"bakery", "organic"}},
                               {13, {"frozen"}}, {14, {"frozen", "vegan"}}, {15, {"dairy", "organic"}}});
    const auto list = [&](std::optional<int> slots, int min_support) {
        crm::RecommenderOptions o;
        o.hybrid_new_item_slots = slots;
        o.hybrid_min_support = min_support;
        crm::Recommender rec(m, crm::RecoMethod::Hybrid, o, &c);
        return rec.recommend(2, 3);
    };
    const auto l = list(std::nullopt, 1);
    ASSERT_EQ(l.size(), 3u);
    const double l2 = std::log(2.0), l6 = std::log(6.0);
    // Profile a d + b o, a = 1 + 1/sqrt 2, b = 1/sqrt 2: 15 -> (a + b) / (sqrt 2 |p|), 12 -> b ln 2 / (|p| |12|).
    const double content_12 = l2 / ((1 + std::sqrt(2.0)) * std::hypot(l2, l6));  // 12's over 15's
    const double cf_12 = 0.5 + std::sqrt(2.0 / 3), cf_13 = 1 / std::sqrt(6.0);
    EXPECT_EQ(l[0].item, 12);
    EXPECT_NEAR(l[0].score, 0.9 + 0.1 * content_12, 1e-12);
    EXPECT_EQ(l[0].reason, crm::RecoReason::Hybrid);
    EXPECT_EQ(l[1].item, 13);
    EXPECT_NEAR(l[1].score, 0.9 * cf_13 / cf_12, 1e-12);
    EXPECT_EQ(l[1].reason, crm::RecoReason::SimilarItems);
    EXPECT_EQ(l[2].item, 15);
    EXPECT_NEAR(l[2].score, 0.1, 1e-12);
    EXPECT_EQ(l[2].reason, crm::RecoReason::Content);
    const auto none = list(0, 1);
    EXPECT_TRUE(std::none_of(none.begin(), none.end(), [](const crm::RankedItem& r) { return r.item == 15; }));
    // min_support 3: only 11 is established; 15 and 12 come from the content list, 13 from popularity.
    const auto thin = list(std::nullopt, 3);
    ASSERT_EQ(thin.size(), 3u);
    EXPECT_EQ(thin[0].item, 15);
    EXPECT_EQ(thin[1].item, 12);
    EXPECT_NEAR(thin[1].score, 0.1 * content_12, 1e-12);
    EXPECT_EQ(thin[2].item, 13);
    EXPECT_EQ(thin[2].reason, crm::RecoReason::Popular);
}

TEST(Recommender, HybridListsExactlyTheNewItemsOfTheContentList) {
    // Random ratings over items 101..140 and attributes over 101..160: 141..160 are new.
    const RatingMatrix m(random_ratings(21, 40, 40, 0.2));
    std::mt19937_64 engine(5);
    std::vector<crm::ItemAttributes> rows;
    for (int i = 101; i <= 160; ++i) {
        std::vector<std::string> attributes;
        for (int a = 0; a < 8; ++a)
            if (engine() % 3 == 0) attributes.push_back("a" + std::to_string(a));
        rows.push_back({i, attributes});
    }
    const crm::ContentModel c(rows);
    crm::Recommender content(m, crm::RecoMethod::Content, crm::RecommenderOptions{}, &c);
    // Whatever the diversity: MMR re-ranks the established items only.
    for (const double diversity : {0.0, 0.3, 0.9}) {
        crm::RecommenderOptions o;
        o.diversity = diversity;
        crm::Recommender hybrid(m, crm::RecoMethod::Hybrid, o, &c);
        std::size_t new_items = 0;
        for (const std::size_t n : {3u, 10u}) {
            for (std::int64_t user = 1; user <= 40; ++user) {
                std::set<std::int64_t> from_hybrid, from_content, listed;
                const auto list = hybrid.recommend(user, n);
                EXPECT_EQ(list.size(), n);
                for (const auto& r : list) {
                    listed.insert(r.item);
                    if (r.item > 140) from_hybrid.insert(r.item);
                }
                EXPECT_EQ(listed.size(), list.size()) << "an item listed twice";
                for (const auto& r : content.recommend(user, n))
                    if (r.item > 140 && r.reason == crm::RecoReason::Content) from_content.insert(r.item);
                EXPECT_EQ(from_hybrid, from_content) << "user " << user << ", n " << n << ", diversity " << diversity;
                new_items += from_hybrid.size();
            }
        }
        EXPECT_GT(new_items, 20u);  // the property is exercised
    }
}

TEST(Recommender, MmrByHand) {
    // User 9 has item 1; items 2 and 3 are always bought together; item 4 by someone else.
    const RatingMatrix m({{1, 1, 1}, {1, 2, 1}, {1, 3, 1}, {2, 1, 1}, {2, 2, 1}, {2, 3, 1}, {3, 1, 1}, {3, 4, 1},
                          {4, 2, 1}, {4, 3, 1}, {9, 1, 1}});
    const auto items = [&m](double d) {
        crm::RecommenderOptions o;
        o.diversity = d;
        crm::Recommender rec(m, crm::RecoMethod::ItemKnn, o);
        std::vector<std::int64_t> out;
        for (const auto& r : rec.recommend(9, 3)) out.push_back(r.item);
        return out;
    };
    EXPECT_EQ(items(0.0), (std::vector<std::int64_t>{2, 3, 4}));
    EXPECT_EQ(items(0.4), (std::vector<std::int64_t>{2, 3, 4}));  // 3: 0.6 - 0.4 = 0.2 > 4: 0
    EXPECT_EQ(items(0.6), (std::vector<std::int64_t>{2, 4, 3}));  // 3: 0.4 - 0.6 < 0
}

TEST(Recommender, PopularFillGroupsAndNewUsers) {
    const RatingMatrix m({{1, 10, 1}, {1, 11, 1}, {1, 12, 1}, {2, 10, 1}, {2, 11, 1}, {3, 11, 1}, {3, 12, 1},
                          {3, 13, 1}, {4, 13, 1}, {4, 14, 1}});
    crm::Recommender rec(m, crm::RecoMethod::Popular, crm::RecommenderOptions{});
    rec.set_groups({{1, "north"}, {2, "north"}, {50, "north"}});
    const auto list = rec.recommend(50, 4);
    ASSERT_EQ(list.size(), 4u);
    EXPECT_EQ(list[0].item, 10);  // ties of the group's counts: lower id
    EXPECT_EQ(list[0].reason, crm::RecoReason::PopularInGroup);
    EXPECT_EQ(list[2].item, 12);
    EXPECT_EQ(list[3].item, 13);
    EXPECT_EQ(list[3].reason, crm::RecoReason::Popular);
    const auto stranger = rec.recommend(77, 2);
    EXPECT_EQ(stranger[0].item, 11);
    EXPECT_EQ(stranger[0].score, 3.0);
}

TEST(RecoEvaluate, MetricsByHand) {
    // The regress case: fold 0 = (1, 12), (3, 13), (4, 14); popular lists of 2.
    std::vector<crm::Rating> ratings = {{1, 10, 1}, {1, 11, 1}, {1, 12, 1}, {2, 10, 1}, {2, 11, 1},
                                        {3, 11, 1}, {3, 12, 1}, {3, 13, 1}, {4, 13, 1}, {4, 14, 1}};
    std::vector<int> fold = {-1, -1, 0, -1, -1, -1, -1, 0, -1, 0};
    crm::RecoEvaluation e;
    e.folds = 1;
    e.n = 2;
    e.relevant_threshold = 1;
    e.method = crm::RecoMethod::Popular;
    const auto f = crm::evaluate_recommender(ratings, fold, e, nullptr).at(0);
    EXPECT_EQ(f.users, 3);
    EXPECT_TRUE(std::isnan(f.rmse));
    EXPECT_NEAR(f.precision, 2.0 / 6, 1e-12);
    EXPECT_NEAR(f.recall, 2.0 / 3, 1e-12);
    EXPECT_NEAR(f.ndcg, (1 + 1 / std::log2(3.0)) / 3, 1e-12);
    EXPECT_NEAR(f.map, 0.5, 1e-12);
    EXPECT_NEAR(f.coverage, 1.0, 1e-12);
    EXPECT_NEAR(f.popularity, 10.0 / 6, 1e-12);
}

TEST(RecoOptions, StrictJson) {
    using crm::ErrorKind;
    const auto o = crm::parse_reco_options(crm::RecoMethod::ItemKnn, R"({"k": 20, "similarity": "pearson", "diversity": 0.2})");
    EXPECT_EQ(o.evaluation.options.item_k, 20);
    EXPECT_EQ(o.evaluation.options.item_similarity, ItemSimilarity::Pearson);
    EXPECT_EQ(o.evaluation.options.diversity, 0.2);
    crm_test::expect_error_kind([] { crm::parse_reco_options(crm::RecoMethod::ItemKnn, R"({"kk": 1})"); },
                                ErrorKind::InvalidParameter);
    crm_test::expect_error_kind([] { crm::parse_reco_options(crm::RecoMethod::ItemKnn, R"({"diversity": 2})"); },
                                ErrorKind::InvalidParameter);
    crm_test::expect_error_kind([] { crm::parse_reco_options(crm::RecoMethod::Hybrid, R"({"attributes": "t"})"); },
                                ErrorKind::InvalidParameter);
    crm_test::expect_error_kind([] { crm::parse_reco_options(crm::RecoMethod::ItemKnn, "{"); },
                                ErrorKind::InvalidParameter);
    // new_item_slots: a number caps the hybrid's new items, null lifts the cap (the default).
    const auto capped = crm::parse_reco_options(crm::RecoMethod::Hybrid, R"({"new_item_slots": 2, "min_support": 3})");
    EXPECT_EQ(capped.evaluation.options.hybrid_new_item_slots, std::optional<int>(2));
    EXPECT_EQ(capped.evaluation.options.hybrid_min_support, 3);
    const auto lifted = crm::parse_reco_options(crm::RecoMethod::Hybrid, R"({"new_item_slots": 2, "new_item_slots": null})");
    EXPECT_FALSE(lifted.evaluation.options.hybrid_new_item_slots.has_value());
    EXPECT_FALSE(crm::RecommenderOptions{}.hybrid_new_item_slots.has_value());
    crm_test::expect_error_kind([] { crm::parse_reco_options(crm::RecoMethod::Hybrid, R"({"new_item_slots": "x"})"); },
                                ErrorKind::InvalidParameter);
}

}  // namespace
