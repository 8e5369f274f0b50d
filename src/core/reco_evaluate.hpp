// Offline evaluation of any Recommender method by k-fold cross-validation.
//
// For each evaluated fold f: train on every rating not in f (ratings with
// fold -1 are always training), binarised to 1 when `implicit`; test on the
// ratings of f. Relevance always comes from the raw rating (>= threshold).
// The users measured are those with at least one relevant test item they do
// not have in training; each gets a list of n items, and the fold reports the
// mean over those users of
//   precision@n = hits / n, recall@n = hits / relevant,
//   NDCG@n = DCG / ideal DCG with binary gains and log2(rank + 1) discounts,
//   MAP@n = sum of precision@r at each hit rank r / min(n, relevant),
//   intra-list diversity = mean over the list's pairs of 1 - the binary cosine
//                          of the two items' training vectors,
// and over all lists: catalogue coverage = distinct items recommended / items
// in the catalogue (training items, plus items with attributes for content and
// hybrid), mean popularity = mean number of training users of the items
// recommended. RMSE and MAE of the method's predictions over every test rating
// (NaN for methods that predict no rating, or an empty fold).
#pragma once

#include <cstdint>
#include <vector>

#include "cf.hpp"
#include "content_model.hpp"
#include "recommender.hpp"

namespace crm {

struct RecoFoldMetrics {
    int fold;
    std::int64_t test_ratings;
    std::int64_t users;  // users measured
    double rmse, mae;
    double precision, recall, ndcg, map;
    double coverage, diversity, popularity;
};

struct RecoEvaluation {
    int folds = 5;                  // folds evaluated: 0 .. folds - 1
    std::size_t n = 10;             // list length
    double relevant_threshold = 4;  // finite
    bool implicit = false;
    RecoMethod method = RecoMethod::ItemKnn;
    RecommenderOptions options;
    KnnOptions user_predict;        // user-kNN rating predictions
    ItemPredictOptions item_predict;  // item-kNN rating predictions
};

// fold[r] in [-1, folds) for every rating (22023 otherwise); see the top for
// the rest. `content` is needed by the content and hybrid methods.
std::vector<RecoFoldMetrics> evaluate_recommender(const std::vector<Rating>& ratings, const std::vector<int>& fold,
                                                  const RecoEvaluation& e, const ContentModel* content);

}  // namespace crm
