// Content-based similarity from item attributes (category, brand, taste,
// storage temperature, genre, ...): TF-IDF weighted attribute vectors and
// their cosine.
//
// Each item's attributes are a set of strings ("category=dairy", "vegan");
// an attribute counts once per item (tf = 1), weighted by its inverse
// document frequency idf(a) = ln(N / df(a)) over the N items with attributes,
// and the vector is scaled to unit length. An attribute every item has gets
// weight 0; an item whose attributes all have weight 0 (or that has none) has
// no vector and is similar to nothing. Items need no ratings: a new product is
// reachable from its first day.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace crm {

struct ItemAttributes {
    std::int64_t item;
    std::vector<std::string> attributes;
};

class ContentModel {
public:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    // Several rows for one item are merged (key/value rows work as they are).
    explicit ContentModel(std::vector<ItemAttributes> rows);

    std::size_t items() const { return keys_.size(); }        // items with a vector
    std::size_t attributes() const { return idf_.size(); }    // distinct attributes
    std::size_t index(std::int64_t key) const;                // npos: no vector
    std::int64_t key(std::size_t i) const { return keys_[i]; }

    // Cosine of two items' vectors (0 when either has none).
    double similarity(std::int64_t a, std::int64_t b) const;

    // Items with positive cosine to the normalised sum of the given items'
    // vectors (a user's history, or one item for "items like this"), the
    // given items left out: best first, ties by lower key. Keys without a
    // vector are ignored; none with a vector gives an empty list. With
    // `weights` (one per item) the sum is weighted, items weighted 0 or less
    // adding nothing (they are still left out).
    std::vector<std::pair<std::int64_t, double>> like(const std::vector<std::int64_t>& items,
                                                      const std::vector<double>* weights = nullptr) const;

private:
    std::vector<std::int64_t> keys_;  // ascending
    std::vector<double> idf_;
    // Item vectors (attribute, weight) and the inverted index (item, weight) per attribute.
    std::vector<std::size_t> item_offsets_, attr_offsets_;
    std::vector<std::uint32_t> item_attr_, attr_item_;
    std::vector<double> item_weight_, attr_weight_;
};

}  // namespace crm
