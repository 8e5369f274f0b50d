// One top-N recommender over a RatingMatrix, whatever the method: user-kNN,
// item-kNN, content-based, hybrid, popular, random. The SQL batch functions
// and crm.reco_evaluate share it, so what is evaluated is what is served.
//
// Every list has the same shape: up to n items the user does not have, best
// first, each with its score and the reason it is there. Lists are filled up
// from popularity (within the user's group when groups are given, then
// overall) when a method finds fewer than n items, so a new user (cold start)
// gets the popular items and a user with one purchase already gets similar
// items. Items other methods cannot reach (no ratings yet) are reachable
// through content.
//
// Diversity: with diversity d > 0 the method's best max(5n, 50) items are
// re-ranked by Maximal Marginal Relevance (Carbonell and Goldstein 1998):
// repeatedly take the item maximising (1 - d) * relevance - d * (its largest
// similarity to an item already taken), relevance being the score min-max
// normalised over those candidates. Similarity is the collaborative cosine of
// the items' binary has-rated vectors, or for the content method the content
// cosine. Scores shown stay the method's own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cf.hpp"
#include "content_model.hpp"
#include "factor_model.hpp"
#include "item_knn.hpp"

namespace crm {

enum class RecoMethod { UserKnn, ItemKnn, Content, Hybrid, Popular, Random, Als, Svd };
// "userknn" | "itemknn" | "content" | "hybrid" | "popular" | "random" | "als" | "svd"; else 22023.
RecoMethod parse_reco_method(const std::string& name);
const char* reco_method_name(RecoMethod method);

enum class RecoReason { SimilarUsers, SimilarItems, Content, Hybrid, PopularInGroup, Popular, Random, LatentFactors };
// "similar_users", "similar_items", "content", "hybrid", "popular_in_group", "popular", "random",
// "latent_factors".
const char* reco_reason_name(RecoReason reason);

struct RankedItem {
    std::int64_t item;
    double score;
    RecoReason reason;
};

struct RecommenderOptions {
    double diversity = 0.0;  // [0, 1]
    // user-kNN (as crm.cf_recommend): neighbours and the neighbour vectors.
    int user_k = 40;
    NeighbourVectors user_vectors = NeighbourVectors::Binary;
    // item-kNN: each item's k most similar items and how they are compared.
    int item_k = 100;
    ItemSimilarity item_similarity = ItemSimilarity::Cosine;
    // hybrid: both parts weigh each of the user's items by its rating (an
    // item rated 5 counts five times one rated 1; without a positive rating
    // every item counts once). With cf (item-kNN, summed weighted similarity)
    // and content (cosine to the weighted profile) each divided by their
    // largest value among the user's candidates,
    //   score = weight * cf + (1 - weight) * content.
    // Items with fewer than min_support ratings are new: their collaborative
    // evidence is too thin (none at the default of 1) and is not used; they
    // enter exactly where the content-based list of the same length has them
    // (at most new_item_slots of them; no limit when empty), scored
    // (1 - weight) * content, whatever the diversity (MMR re-ranks the
    // established items only). The other places go to the best blended
    // established items. So the hybrid reaches every new item content would.
    // Measured trade-off: docs/recommendations.md.
    double hybrid_weight = 0.9;
    int hybrid_min_support = 1;
    std::optional<int> hybrid_new_item_slots;
    std::uint64_t seed = 0;  // random only
    // als and svd, when the recommender fits its own model (crm.reco_evaluate).
    AlsOptions als;
    SvdOptions svd;
};

// 22023 for diversity outside [0, 1] (or NaN), user_k or item_k < 1,
// hybrid_weight outside [0, 1], hybrid_min_support < 1, hybrid_new_item_slots < 0.
void check_recommender_options(const RecommenderOptions& options);

class Recommender {
public:
    // `content` is required for the content and hybrid methods (22023 without).
    // `neighbours`, for item-kNN and hybrid: stored neighbour lists to use
    // instead of building them from `m`. `factors`, for als and svd: a fitted
    // model (without it one is fitted on `m`); each user's factors are folded
    // in from the user's rows in `m`, so lists follow the current data. All
    // must outlive the recommender.
    Recommender(const RatingMatrix& m, RecoMethod method, const RecommenderOptions& options,
                const ContentModel* content = nullptr, const ItemNeighbours* neighbours = nullptr,
                const FactorModel* factors = nullptr);
    ~Recommender();
    Recommender(const Recommender&) = delete;
    Recommender& operator=(const Recommender&) = delete;

    // Popularity within groups: each user's group (users not listed, or
    // without a group, have none). Items are ranked by how many users of the
    // group have them. Replaces earlier groups.
    void set_groups(const std::vector<std::pair<std::int64_t, std::string>>& user_groups);

    // Up to n >= 1 items for the user (unknown users are new users).
    std::vector<RankedItem> recommend(std::int64_t user, std::size_t n);

    // Whether the method predicts ratings (user-kNN, item-kNN, svd) and the
    // predictions, NaN where it does not (svd: from the stored user factors).
    bool predicts_ratings() const;
    std::vector<double> predict(const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs,
                                const KnnOptions& user_knn, const ItemPredictOptions& item_knn) const;

private:
    struct State;
    std::unique_ptr<State> s_;
};

// The binary cosine of two items' has-rated vectors in `m` (0 when either is
// unknown), for measuring lists (intra-list diversity) independently of a method.
double binary_item_cosine(const RatingMatrix& m, std::int64_t a, std::int64_t b);

}  // namespace crm
