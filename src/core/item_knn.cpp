#include "item_knn.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "errors.hpp"
#include "interrupts.hpp"

namespace crm {

namespace {

using Index = RatingMatrix::Index;

// Co-rating sums of one item pair; x is the item asked about, y the other.
struct CoSums {
    double n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
};

double finish_similarity(ItemSimilarity s, const CoSums& c, double popularity_x, double popularity_y) {
    switch (s) {
        case ItemSimilarity::Cosine:
            return c.n / std::sqrt(popularity_x * popularity_y);
        case ItemSimilarity::AdjustedCosine: {
            const double den = std::sqrt(c.sxx * c.syy);
            return den > 0 ? c.sxy / den : 0.0;
        }
        case ItemSimilarity::Pearson: {
            if (c.n < 1) return 0.0;
            const double num = c.sxy - c.sx * c.sy / c.n;
            const double den = std::sqrt(std::max(0.0, c.sxx - c.sx * c.sx / c.n) * std::max(0.0, c.syy - c.sy * c.sy / c.n));
            return den > 0 ? num / den : 0.0;
        }
        case ItemSimilarity::Msd:
            return c.n > 0 ? 1.0 / ((c.sxx + c.syy - 2 * c.sxy) / c.n + 1.0) : 0.0;
    }
    return 0.0;
}

// One row of item-item similarities at a time, by sparse accumulation over the
// users of the item: touches only the items those users rated.
class RowBuilder {
public:
    RowBuilder(const RatingMatrix& m, ItemSimilarity s) : m_(m), s_(s), sums_(m.items()), seen_(m.items(), 0) {}

    // (item index, similarity) for every item sharing a user with i, i itself left out.
    const std::vector<std::pair<std::size_t, double>>& row(std::size_t i) {
        touched_.clear();
        const auto raters = m_.item_ratings(i);
        for (std::size_t a = 0; a < raters.size; ++a) {
            const std::size_t u = raters.index[a];
            const double mean = s_ == ItemSimilarity::AdjustedCosine ? m_.user_mean(u) : 0.0;
            const double x = raters.value[a] - mean;
            const auto items = m_.user_ratings(u);
            for (std::size_t b = 0; b < items.size; ++b) {
                const Index j = items.index[b];
                if (j == i) continue;
                if (!seen_[j]) {
                    seen_[j] = 1;
                    sums_[j] = CoSums{};
                    touched_.push_back(j);
                }
                CoSums& c = sums_[j];
                c.n += 1;
                if (s_ == ItemSimilarity::Cosine) continue;
                const double y = items.value[b] - mean;
                c.sx += x;
                c.sy += y;
                c.sxx += x * x;
                c.syy += y * y;
                c.sxy += x * y;
            }
            ticker_.tick();
        }
        out_.clear();
        const double pop_i = static_cast<double>(m_.item_popularity(i));
        for (const Index j : touched_) {
            seen_[j] = 0;
            const double sim = finish_similarity(s_, sums_[j], pop_i, static_cast<double>(m_.item_popularity(j)));
            if (sim != 0.0 && std::isfinite(sim)) out_.emplace_back(j, sim);
        }
        return out_;
    }

private:
    const RatingMatrix& m_;
    ItemSimilarity s_;
    std::vector<CoSums> sums_;
    std::vector<std::uint8_t> seen_;
    std::vector<Index> touched_;
    std::vector<std::pair<std::size_t, double>> out_;
    InterruptTicker ticker_{256};
};

}  // namespace

ItemSimilarity parse_item_similarity(const std::string& name) {
    if (name == "cosine") return ItemSimilarity::Cosine;
    if (name == "adjusted_cosine") return ItemSimilarity::AdjustedCosine;
    if (name == "pearson") return ItemSimilarity::Pearson;
    if (name == "msd") return ItemSimilarity::Msd;
    throw_invalid("similarity must be one of cosine, adjusted_cosine, pearson, msd, got \"" + name + "\"");
}

const char* item_similarity_name(ItemSimilarity s) {
    switch (s) {
        case ItemSimilarity::Cosine: return "cosine";
        case ItemSimilarity::AdjustedCosine: return "adjusted_cosine";
        case ItemSimilarity::Pearson: return "pearson";
        case ItemSimilarity::Msd: return "msd";
    }
    return "?";
}

// ---------------------------------------------------------------------------
// Neighbour lists

ItemNeighbours::ItemNeighbours(std::vector<Link> links) {
    InterruptTicker ticker;
    for (const Link& l : links) {
        ticker.tick();
        if (!(l.similarity >= -1.0 && l.similarity <= 1.0))
            throw_invalid("neighbour similarity must be between -1 and 1 (item " + std::to_string(l.item) + ", got " +
                          std::to_string(l.similarity) + ")");
        if (l.item == l.neighbour)
            throw_invalid("item " + std::to_string(l.item) + " is listed as its own neighbour");
        keys_.push_back(l.item);
        keys_.push_back(l.neighbour);
    }
    std::sort(keys_.begin(), keys_.end(), ticking(ticker, std::less<>()));
    keys_.erase(std::unique(keys_.begin(), keys_.end()), keys_.end());
    if (keys_.size() > std::numeric_limits<std::uint32_t>::max())
        throw_error(ErrorKind::ProgramLimitExceeded, "more than 2^32 - 1 distinct items in the neighbour lists");
    std::sort(links.begin(), links.end(), ticking(ticker, [](const Link& a, const Link& b) {
                  if (a.item != b.item) return a.item < b.item;
                  if (a.similarity != b.similarity) return a.similarity > b.similarity;
                  return a.neighbour < b.neighbour;
              }));
    offsets_.assign(keys_.size() + 1, 0);
    neighbour_.reserve(links.size());
    similarity_.reserve(links.size());
    for (std::size_t r = 0; r < links.size(); ++r) {
        ticker.tick();
        offsets_[index(links[r].item) + 1]++;
        neighbour_.push_back(static_cast<std::uint32_t>(index(links[r].neighbour)));
        similarity_.push_back(links[r].similarity);
    }
    std::partial_sum(offsets_.begin(), offsets_.end(), offsets_.begin());
    reverse_offsets_.assign(keys_.size() + 1, 0);
    for (const std::uint32_t j : neighbour_) reverse_offsets_[j + 1]++;
    std::partial_sum(reverse_offsets_.begin(), reverse_offsets_.end(), reverse_offsets_.begin());
    reverse_item_.resize(neighbour_.size());
    reverse_similarity_.resize(neighbour_.size());
    std::vector<std::size_t> fill(reverse_offsets_.begin(), reverse_offsets_.end() - 1);
    for (std::size_t i = 0; i < keys_.size(); ++i)
        for (std::size_t a = offsets_[i]; a < offsets_[i + 1]; ++a) {
            const std::size_t at = fill[neighbour_[a]]++;
            reverse_item_[at] = static_cast<std::uint32_t>(i);
            reverse_similarity_[at] = similarity_[a];
        }
    // Duplicate pairs: neighbours of one item are contiguous, so compare within each row.
    std::vector<std::uint32_t> scratch;
    for (std::size_t i = 0; i < keys_.size(); ++i) {
        scratch.assign(neighbour_.begin() + static_cast<std::ptrdiff_t>(offsets_[i]),
                       neighbour_.begin() + static_cast<std::ptrdiff_t>(offsets_[i + 1]));
        std::sort(scratch.begin(), scratch.end());
        const auto dup = std::adjacent_find(scratch.begin(), scratch.end());
        if (dup != scratch.end())
            throw_invalid("the neighbour pair (" + std::to_string(keys_[i]) + ", " + std::to_string(keys_[*dup]) +
                              ") appears more than once",
                          "Delete an item's old rows before inserting its refreshed ones.");
        ticker.tick();
    }
}

std::size_t ItemNeighbours::index(std::int64_t key) const {
    const auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
    return it != keys_.end() && *it == key ? static_cast<std::size_t>(it - keys_.begin()) : npos;
}

ItemNeighbours::Row ItemNeighbours::row(std::size_t i) const {
    return {neighbour_.data() + offsets_[i], similarity_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]};
}

ItemNeighbours::Row ItemNeighbours::reverse_row(std::size_t i) const {
    return {reverse_item_.data() + reverse_offsets_[i], reverse_similarity_.data() + reverse_offsets_[i],
            reverse_offsets_[i + 1] - reverse_offsets_[i]};
}

std::size_t ItemNeighbours::memory_bytes() const {
    return sizeof(*this) + (keys_.capacity()) * sizeof(std::int64_t) +
           (offsets_.capacity() + reverse_offsets_.capacity()) * sizeof(std::size_t) +
           (neighbour_.capacity() + reverse_item_.capacity()) * sizeof(std::uint32_t) +
           (similarity_.capacity() + reverse_similarity_.capacity()) * sizeof(double);
}

std::vector<ItemNeighbours::Link> item_neighbour_links(const RatingMatrix& m, int k, ItemSimilarity similarity,
                                                       const std::vector<std::int64_t>* only_items) {
    if (k < 1) throw_invalid("k must be at least 1, got " + std::to_string(k));
    std::vector<std::size_t> items;
    if (only_items != nullptr) {
        for (const std::int64_t key : *only_items) {
            const std::size_t i = m.item_index(key);
            if (i != RatingMatrix::npos) items.push_back(i);
        }
        std::sort(items.begin(), items.end());
        items.erase(std::unique(items.begin(), items.end()), items.end());
    } else {
        items.resize(m.items());
        std::iota(items.begin(), items.end(), std::size_t{0});
    }
    RowBuilder builder(m, similarity);
    std::vector<ItemNeighbours::Link> links;
    std::vector<std::pair<std::size_t, double>> best;
    const auto better = [](const std::pair<std::size_t, double>& a, const std::pair<std::size_t, double>& b) {
        return a.second > b.second || (a.second == b.second && a.first < b.first);  // index order = key order
    };
    for (const std::size_t i : items) {
        best.clear();
        for (const auto& e : builder.row(i))
            if (e.second > 0) best.push_back(e);
        const std::size_t keep = std::min(best.size(), static_cast<std::size_t>(k));
        std::partial_sort(best.begin(), best.begin() + static_cast<std::ptrdiff_t>(keep), best.end(), better);
        for (std::size_t r = 0; r < keep; ++r) links.push_back({m.item_key(i), m.item_key(best[r].first), best[r].second});
        check_interrupts();
    }
    return links;
}

std::vector<std::pair<std::size_t, double>> item_similarity_row(const RatingMatrix& m, std::int64_t item,
                                                                ItemSimilarity similarity) {
    const std::size_t i = m.item_index(item);
    if (i == RatingMatrix::npos) return {};
    RowBuilder builder(m, similarity);
    return builder.row(i);
}

// ---------------------------------------------------------------------------
// Top-N scores

ItemKnnScorer::ItemKnnScorer(const ItemNeighbours& model)
    : model_(model), score_(model.items(), 0.0), mark_(model.items(), 0) {}

std::vector<std::pair<std::int64_t, double>> ItemKnnScorer::score(const std::vector<std::int64_t>& user_items,
                                                                   std::size_t limit, const std::vector<double>* weights) {
    std::vector<std::pair<std::size_t, double>> owned;  // (item index, weight)
    for (std::size_t u = 0; u < user_items.size(); ++u) {
        const std::size_t i = model_.index(user_items[u]);
        if (i != ItemNeighbours::npos && !mark_[i]) {
            mark_[i] = 1;
            owned.emplace_back(i, weights == nullptr ? 1.0 : (*weights)[u]);
        }
    }
    touched_.clear();
    for (const auto& [i, weight] : owned) {
        if (!(weight > 0)) continue;
        const ItemNeighbours::Row r = model_.reverse_row(i);
        for (std::size_t a = 0; a < r.size; ++a) {
            const std::uint32_t j = r.neighbour[a];
            if (mark_[j] == 1) continue;
            if (mark_[j] == 0) {  // not score_ == 0: a sum may pass through 0 with negative stored similarities
                mark_[j] = 2;
                touched_.push_back(j);
            }
            score_[j] += weight * r.similarity[a];
        }
    }
    std::vector<std::pair<std::int64_t, double>> out;
    out.reserve(touched_.size());
    for (const std::uint32_t j : touched_) {
        if (score_[j] > 0) out.emplace_back(model_.key(j), score_[j]);
        score_[j] = 0.0;
        mark_[j] = 0;
    }
    for (const auto& o : owned) mark_[o.first] = 0;
    const auto better = [](const auto& a, const auto& b) {
        return a.second > b.second || (a.second == b.second && a.first < b.first);
    };
    const std::size_t keep = std::min(limit, out.size());
    std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(keep), out.end(), better);
    out.resize(keep);
    return out;
}

// ---------------------------------------------------------------------------
// Rating prediction

std::vector<double> predict_item_based(const RatingMatrix& m,
                                       const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs,
                                       const ItemPredictOptions& o) {
    if (o.k < 1) throw_invalid("k must be at least 1, got " + std::to_string(o.k));
    if (o.min_k < 0) throw_invalid("min_k must be at least 0, got " + std::to_string(o.min_k));
    std::vector<double> out(pairs.size(), m.global_mean());
    std::vector<double> item_mean(m.items());
    for (std::size_t i = 0; i < m.items(); ++i) {
        const auto r = m.item_ratings(i);
        item_mean[i] = std::accumulate(r.value, r.value + r.size, 0.0) / static_cast<double>(r.size);
    }
    // One similarity row per distinct item asked about.
    std::vector<std::size_t> order(pairs.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&pairs](std::size_t a, std::size_t b) { return pairs[a].second < pairs[b].second; });
    RowBuilder builder(m, o.similarity);
    std::vector<double> sim(m.items(), 0.0);
    std::vector<std::pair<double, Index>> nb;  // (similarity, item) of the user's items
    std::size_t p = 0;
    while (p < order.size()) {
        const std::int64_t item_key = pairs[order[p]].second;
        std::size_t end = p;
        while (end < order.size() && pairs[order[end]].second == item_key) ++end;
        const std::size_t i = m.item_index(item_key);
        if (i != RatingMatrix::npos) {
            const auto& row = builder.row(i);
            for (const auto& e : row) sim[e.first] = e.second;
            for (std::size_t q = p; q < end; ++q) {
                const std::size_t u = m.user_index(pairs[order[q]].first);
                if (u == RatingMatrix::npos) continue;
                nb.clear();
                const auto items = m.user_ratings(u);
                for (std::size_t b = 0; b < items.size; ++b) {
                    const Index j = items.index[b];
                    // As in Surprise, an item the user rated is its own neighbour (training pairs only).
                    const double s = j == i ? 1.0 : sim[j];
                    nb.emplace_back(s, j);
                }
                const std::size_t keep = std::min(nb.size(), static_cast<std::size_t>(o.k));
                std::partial_sort(nb.begin(), nb.begin() + static_cast<std::ptrdiff_t>(keep), nb.end(),
                                  [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
                double num = 0, den = 0;
                int used = 0;
                for (std::size_t r = 0; r < keep; ++r) {
                    if (nb[r].first <= 0) continue;
                    const Index j = nb[r].second;
                    const double r_uj = items.value[std::lower_bound(items.index, items.index + items.size, j) - items.index];
                    num += nb[r].first * (r_uj - item_mean[j]);
                    den += nb[r].first;
                    ++used;
                }
                const double est = used < o.min_k || den <= 0 ? item_mean[i] : item_mean[i] + num / den;
                out[order[q]] = std::clamp(est, m.min_rating(), m.max_rating());
            }
            for (const auto& e : row) sim[e.first] = 0.0;
        }
        p = end;
        check_interrupts();
    }
    return out;
}

}  // namespace crm
