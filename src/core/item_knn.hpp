// Item-based collaborative filtering: sparse item-item neighbour lists, the
// item-kNN top-N score and item-based rating prediction.
//
// Neighbour lists are kept sparse (each item's k most similar items, never an
// items x items matrix). They are built from a RatingMatrix, or read back from
// a table that an earlier build wrote (crm.itemknn_fit), so a nightly job can
// store them and a refresh can rebuild the rows of changed items only.
//
// The top-N score of an item j for a user is the item-kNN score of Sarwar et
// al. (2001): the sum of sim(i, j) over the user's items i that are among j's
// k neighbours (on MovieLens 100k this gives the reference's precision@10
// 0.2325; summing over the neighbours of the user's items gives 0.2041). The user's side is always the user's
// current items, so a new purchase changes the next list at once, even when
// the neighbour lists are older.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "cf.hpp"

namespace crm {

// How two items are compared (formulas in item_knn.cpp):
//   cosine:          cosine of the binary "has rated / has bought" vectors:
//                    common users / sqrt(|users of i| * |users of j|)
//   adjusted_cosine: cosine of the ratings centred on each user's mean, over
//                    the users who rated both (Sarwar et al. 2001)
//   pearson:         Pearson correlation over the users who rated both
//   msd:             1 / (mean squared difference over those users + 1)
// Items with nothing in common have similarity 0.
enum class ItemSimilarity { Cosine, AdjustedCosine, Pearson, Msd };

// Exact lower-case names; anything else is 22023 listing the valid names.
ItemSimilarity parse_item_similarity(const std::string& name);
const char* item_similarity_name(ItemSimilarity similarity);

// Each item's neighbours, most similar first (ties: lower item key first).
// Items are keyed by their int64 ids; an item that only ever appears as a
// neighbour has an empty list.
class ItemNeighbours {
public:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    struct Link {
        std::int64_t item;
        std::int64_t neighbour;
        double similarity;
    };
    struct Row {
        const std::uint32_t* neighbour = nullptr;  // indices, see key()
        const double* similarity = nullptr;
        std::size_t size = 0;
    };

    // Links in any order. A similarity outside [-1, 1] (or NaN), an item linked
    // to itself or the same pair twice is 22023 (a stored table refreshed by inserting
    // without deleting first shows up as the latter).
    explicit ItemNeighbours(std::vector<Link> links);

    std::size_t items() const { return keys_.size(); }
    std::size_t links() const { return neighbour_.size(); }
    std::size_t index(std::int64_t key) const;  // npos when absent
    std::int64_t key(std::size_t i) const { return keys_[i]; }
    Row row(std::size_t i) const;
    // The items that have item i among their neighbours, and their similarity to it.
    Row reverse_row(std::size_t i) const;
    std::size_t memory_bytes() const;

private:
    std::vector<std::int64_t> keys_;      // ascending
    std::vector<std::size_t> offsets_;    // items() + 1
    std::vector<std::uint32_t> neighbour_;
    std::vector<double> similarity_;
    std::vector<std::size_t> reverse_offsets_;  // the same links, by neighbour
    std::vector<std::uint32_t> reverse_item_;
    std::vector<double> reverse_similarity_;
};

// The k most similar items (similarity > 0) of every item of `m`, or only of
// `only_items` when given (keys absent from `m` get no links). k >= 1 (22023).
std::vector<ItemNeighbours::Link> item_neighbour_links(const RatingMatrix& m, int k, ItemSimilarity similarity,
                                                       const std::vector<std::int64_t>* only_items = nullptr);

// The similarity of `item` to every other item of `m` (empty when unknown), as
// (item index, similarity) pairs with similarity != 0, in no particular order.
std::vector<std::pair<std::size_t, double>> item_similarity_row(const RatingMatrix& m, std::int64_t item,
                                                                ItemSimilarity similarity);

// The item-kNN score (see the top) of the `limit` best items reachable from
// `user_items` (keys; any order, unknown keys ignored), the user's own items
// left out: best first, ties by lower key. With `weights` (one per user item),
// each similarity counts times its user item's weight, and items weighted 0 or
// less add nothing (they stay the user's own). Scratch space is kept between calls.
class ItemKnnScorer {
public:
    explicit ItemKnnScorer(const ItemNeighbours& model);
    std::vector<std::pair<std::int64_t, double>> score(const std::vector<std::int64_t>& user_items, std::size_t limit,
                                                       const std::vector<double>* weights = nullptr);

private:
    const ItemNeighbours& model_;
    std::vector<double> score_;
    std::vector<std::uint8_t> mark_;  // per item: 0, 1 = the user's own, 2 = scored in this call
    std::vector<std::uint32_t> touched_;
};

struct ItemPredictOptions {
    int k = 40;     // at most k of the user's items (>= 1)
    int min_k = 1;  // fewer positive neighbours -> the item's mean (>= 0)
    ItemSimilarity similarity = ItemSimilarity::Pearson;
};

// Predicted ratings of (user, item) pairs, in the order given, with the
// semantics of Surprise's KNNWithMeans(user_based = False): among the items
// the user rated, the k most similar to the item (similarity > 0; ties: lower
// key) give
//   est = mean_i + sum_j sim(i, j) * (r_uj - mean_j) / sum_j sim(i, j)
// and with fewer than min_k of them est = mean_i. Unknown user or item: the
// global mean. Clipped to the rating scale. 22023 for k < 1 or min_k < 0.
std::vector<double> predict_item_based(const RatingMatrix& m,
                                       const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs,
                                       const ItemPredictOptions& options);

}  // namespace crm
