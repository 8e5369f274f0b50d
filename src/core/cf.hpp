// User-based collaborative filtering.
//
// Two jobs with different goals, kept apart on purpose:
//
// * predict(): the rating a user would give an item, by mean-centred user kNN
//   with the semantics of Surprise's KNNWithMeans (user_based = True), so its
//   accuracy can be checked against Surprise's published MovieLens figures.
// * recommend(): the items to show a user. Ranking by predicted rating is a
//   poor top-N method (it favours obscure items that a handful of people rated
//   highly), so top-N scores an item by the summed similarity of the user's
//   nearest neighbours who have it, the classic user-kNN recommender.
//
// Similarities are computed one row at a time (the user asked about against
// every other user) from the item columns of that user's items, so a call for
// a few users never builds the whole user-user matrix; a batch call reuses the
// scratch buffers. Every loop polls check_interrupts().
//
// Ratings may be explicit (1..5 stars) or implicit (counts, amounts, or 1 for
// "bought"); nothing assumes a scale: predictions are clipped to the smallest
// and largest rating of the training data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <memory>
#include <memory_resource>
#include <vector>

namespace crm {

// How two users' ratings are compared; see cf.cpp for the exact formulas.
//   msd:              1 / (mean squared difference over co-rated items + 1)
//   cosine:           cosine of the two rating vectors restricted to co-rated items
//   pearson:          Pearson correlation over co-rated items (each user centred on
//                     their own mean over those items)
//   pearson_baseline: Pearson of baseline residuals r - (mu + b_u + b_i) over
//                     co-rated items, shrunk by (n - 1) / (n - 1 + shrinkage)
// Users with no co-rated item (pearson_baseline: fewer than 2) have similarity 0.
enum class Similarity { Msd, Cosine, Pearson, PearsonBaseline };

// "msd" | "cosine" | "pearson" | "pearson_baseline" (exact, lower case);
// anything else is 22023 listing the valid names.
Similarity parse_similarity(const std::string& name);
const char* similarity_name(Similarity similarity);

// Which user vectors the top-N neighbourhood is built from.
//   co_rated: KnnOptions-style similarity on co-rated items (TopNOptions::similarity).
//   full:     cosine of the whole rating vectors, unrated items counting as 0.
//   centered: cosine of the whole mean-centred vectors (r - user mean; unrated = 0).
//   binary:   cosine of the 0/1 "has rated" vectors: common / sqrt(|u| * |v|).
// The full-vector kinds are always cosine: anything but Similarity::Cosine with
// them is 22023.
enum class NeighbourVectors { CoRated, Full, Centered, Binary };

// "co_rated" | "full" | "centered" | "binary"; anything else is 22023.
NeighbourVectors parse_neighbour_vectors(const std::string& name);
const char* neighbour_vectors_name(NeighbourVectors vectors);

struct Rating {
    std::int64_t user;
    std::int64_t item;
    double rating;
};

// How many ratings a fit can read within `memory_bytes`: about 120 bytes a
// rating at the peak (the three columns as read, the ratings vector, the two
// compressed copies with their indexes, means and popularity). The adapter
// stops reading rows beyond it (53200).
constexpr std::uint64_t kRatingMatrixBytesPerRating = 120;
constexpr std::uint64_t rating_matrix_max_ratings(std::uint64_t memory_bytes) noexcept {
    return memory_bytes / kRatingMatrixBytesPerRating;
}

// Immutable training data.
//
// Users and items get dense indices in ascending key order. Storage is two
// compressed sparse copies of the ratings: per user (items ascending) and per
// item (users ascending), plus user means, the global mean, the rating scale
// and item popularity (the number of users who rated the item).
//
// Several rows for the same (user, item) are averaged into one rating before
// anything else: the pair then counts once in means, popularity and
// similarities. (Surprise would keep both rows; MovieLens has no duplicates.)
//
// A NaN or infinite rating is 22023. Empty input is allowed: such a matrix has
// no users or items, a NaN global mean and scale, every prediction is NaN (the
// adapter's NULL) and every recommendation list is empty. More than 2^32 - 1
// distinct users or items is 54000.
class RatingMatrix {
public:
    using Index = std::uint32_t;
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    // A read-only view of one user's ratings (item indices ascending) or one
    // item's ratings (user indices ascending).
    struct Entries {
        const Index* index = nullptr;
        const double* value = nullptr;
        std::size_t size = 0;
    };

    // The matrix's arrays come from `memory` (the adapter passes a resource
    // over a PostgreSQL memory context, so a cached matrix is visible in
    // pg_backend_memory_contexts; the core never knows).
    explicit RatingMatrix(std::vector<Rating> ratings,
                          std::pmr::memory_resource* memory = std::pmr::get_default_resource());

    std::size_t users() const { return user_keys_.size(); }
    std::size_t items() const { return item_keys_.size(); }
    std::size_t ratings() const { return user_values_.size(); }  // after averaging duplicates
    double global_mean() const { return global_mean_; }
    double min_rating() const { return min_rating_; }
    double max_rating() const { return max_rating_; }
    bool has_user(std::int64_t key) const { return user_index(key) != npos; }
    bool has_item(std::int64_t key) const { return item_index(key) != npos; }
    // Heap bytes held (capacities, not sizes) plus the object itself.
    std::size_t memory_bytes() const;

    // Dense index of a key, npos when absent; and back.
    std::size_t user_index(std::int64_t key) const;
    std::size_t item_index(std::int64_t key) const;
    std::int64_t user_key(std::size_t u) const { return user_keys_[u]; }
    std::int64_t item_key(std::size_t i) const { return item_keys_[i]; }

    Entries user_ratings(std::size_t u) const;
    Entries item_ratings(std::size_t i) const;
    double user_mean(std::size_t u) const { return user_means_[u]; }
    std::size_t item_popularity(std::size_t i) const { return item_offsets_[i + 1] - item_offsets_[i]; }
    // Euclidean norm of user u's full rating vector as `vectors` builds it
    // (binary: 1 per rated item; full: the ratings; centered: rating - mean),
    // computed once with the matrix so one recommendation need not pass over
    // every rating. Not meaningful for co-rated vectors.
    double user_norm(std::size_t u, NeighbourVectors vectors) const;

private:
    std::pmr::vector<std::int64_t> user_keys_;
    std::pmr::vector<std::int64_t> item_keys_;
    std::pmr::vector<std::size_t> user_offsets_;  // users() + 1 entries into user_items_/user_values_
    std::pmr::vector<Index> user_items_;
    std::pmr::vector<double> user_values_;
    std::pmr::vector<std::size_t> item_offsets_;  // items() + 1 entries into item_users_/item_values_
    std::pmr::vector<Index> item_users_;
    std::pmr::vector<double> item_values_;
    std::pmr::vector<double> user_means_;
    std::pmr::vector<double> user_norms_full_;
    std::pmr::vector<double> user_norms_centered_;
    double global_mean_;
    double min_rating_;
    double max_rating_;
};

struct KnnOptions {
    int k = 40;       // at most k neighbours per prediction (>= 1)
    int min_k = 1;    // fewer positive neighbours than this -> the user's mean (>= 0)
    Similarity similarity = Similarity::Msd;
    int shrinkage = 100;  // pearson_baseline only (>= 0)
};

// Rejects k < 1, min_k < 0, shrinkage < 0 (22023 naming the option).
void check_knn_options(const KnnOptions& options);

// Similarity of two users as predict() uses it (1 for a user with themself,
// 0 when either is unknown or they have nothing in common).
double user_similarity(const RatingMatrix& m, std::int64_t user_a, std::int64_t user_b,
                       const KnnOptions& options);

// Predicted ratings of (user, item) pairs, in the order given.
//
// For a known user u and a known item i: the users who rated i are ranked by
// similarity to u (ties: lower user key first), the first k are kept and those
// with similarity <= 0 dropped; with at least min_k left
//   est = mean_u + sum_v sim(u, v) * (r_vi - mean_v) / sum_v sim(u, v)
// otherwise est = mean_u. As in Surprise, a user who rated i themself is their
// own neighbour with similarity 1 (this only matters for training pairs).
// An unknown user or item gets the global mean. The result is clipped to
// [min_rating(), max_rating()]. Only the similarity rows of the users asked
// about are computed, one distinct user at a time.
std::vector<double> predict(const RatingMatrix& m,
                            const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs,
                            const KnnOptions& options);

struct Recommendation {
    std::int64_t item;
    double score;           // summed neighbour similarity; for a fallback item its popularity
    bool popular_fallback;  // true: chosen by popularity, not by neighbours
};

// Default: binary full-vector cosine with k = 60. On MovieLens 100k (each of
// the 5 folds in turn as an 80/20 split, relevant = rating >= 4) it reaches
// precision@10 0.2348 against 0.1335 for the most popular items; the measured
// table and the reasons for this choice are in cf.cpp above TopNScorer.
struct TopNOptions {
    int n = 10;  // list length (>= 1)
    int k = 60;  // neighbours of the user (>= 1): the k most similar users overall
    Similarity similarity = Similarity::Cosine;       // only used with NeighbourVectors::CoRated
    NeighbourVectors vectors = NeighbourVectors::Binary;
    int shrinkage = 100;  // pearson_baseline with co_rated vectors only (>= 0)
};

// Rejects n < 1, k < 1, shrinkage < 0 and a non-cosine similarity with
// full-vector neighbours (22023 naming the option).
void check_topn_options(const TopNOptions& options);

// Up to n items the user has not rated, best first.
//
// score(u, i) = sum of sim(u, v) over the k users v most similar to u (positive
// similarity only; ties: lower user key first) who rated i. Ties between items:
// more popular first, then lower item key. A user absent from the matrix, or one
// with no positive neighbour, gets the most popular items they have not rated,
// flagged popular_fallback with their popularity as score; when the neighbours
// cover fewer than n items, the list is filled up the same way.
std::vector<Recommendation> recommend(const RatingMatrix& m, std::int64_t user, const TopNOptions& options);

// recommend() for many users sharing the scratch buffers; results in the order of `users`.
std::vector<std::vector<Recommendation>> recommend_many(const RatingMatrix& m,
                                                        const std::vector<std::int64_t>& users,
                                                        const TopNOptions& options);

// recommend() for one user at a time with the scratch buffers kept between
// calls (recommend_many's engine, for callers that consume lists one by one).
class UserTopN {
public:
    UserTopN(const RatingMatrix& m, const TopNOptions& options);  // 22023 as check_topn_options
    ~UserTopN();
    UserTopN(const UserTopN&) = delete;
    UserTopN& operator=(const UserTopN&) = delete;
    std::vector<Recommendation> recommend(std::int64_t user);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The fold of every rating, by the rule of cross_validate() below (content-
// seeded, independent of row order); fold_of as there. folds >= 2.
std::vector<int> assign_rating_folds(const std::vector<Rating>& ratings, const std::vector<int>& fold_of, int folds,
                                     std::uint64_t seed);

struct FoldMetrics {
    int fold;
    double rmse;
    double mae;
    double precision_at_k;  // k = TopNOptions::n
    double recall_at_k;
    std::int64_t test_ratings;
};

// k-fold cross-validation of predict() and recommend().
//
// Fold assignment: a row with fold_of[r] in [0, folds) is in that fold. The other
// rows (all of them when fold_of is empty; those with fold_of[r] == -1 otherwise)
// are split at random: their positions 0..m-1 are shuffled by Fisher-Yates run
// from the last position down, swapping position j with position
// (engine() mod (j + 1)) where engine is std::mt19937_64(seed) (its output is
// fixed by the standard, so the split is the same on every platform); then the
// first m mod folds folds take m / folds + 1 consecutive shuffled rows and the
// rest m / folds, as Surprise's KFold does.
//
// For fold f: train on the other folds' rows; RMSE and MAE of predict() over
// every held-out row; precision and recall at n of recommend() for each user
// with at least one relevant held-out item (rating >= relevant_threshold and
// not among the user's training items), averaged over those users:
// precision = hits / n, recall = hits / relevant items. A fold without test
// rows (or without such users) reports NaN for the affected metrics.
//
// fold_of must be empty or have one entry per rating, each in [-1, folds);
// folds >= 2; relevant_threshold finite (22023).
std::vector<FoldMetrics> cross_validate(const std::vector<Rating>& ratings, const std::vector<int>& fold_of,
                                        int folds, std::uint64_t seed, const KnnOptions& knn,
                                        const TopNOptions& topn, double relevant_threshold);

}  // namespace crm
