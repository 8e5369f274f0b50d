#include "content_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "errors.hpp"
#include "interrupts.hpp"

namespace crm {

ContentModel::ContentModel(std::vector<ItemAttributes> rows) {
    InterruptTicker ticker;
    // Attribute ids in name order, so that the model does not depend on row order.
    std::map<std::string, std::uint32_t> ids;
    for (const ItemAttributes& r : rows)
        for (const std::string& a : r.attributes) {
            ids.emplace(a, 0);
            ticker.tick();
        }
    if (ids.size() > std::numeric_limits<std::uint32_t>::max())
        throw_error(ErrorKind::ProgramLimitExceeded, "more than 2^32 - 1 distinct attributes");
    std::uint32_t next = 0;
    for (auto& e : ids) e.second = next++;

    // (item, attribute) pairs, each once.
    std::vector<std::pair<std::int64_t, std::uint32_t>> pairs;
    for (const ItemAttributes& r : rows)
        for (const std::string& a : r.attributes) pairs.emplace_back(r.item, ids.at(a));
    std::sort(pairs.begin(), pairs.end(), ticking(ticker, std::less<>()));
    pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());

    std::vector<std::int64_t> all_items;
    for (const auto& p : pairs)
        if (all_items.empty() || all_items.back() != p.first) all_items.push_back(p.first);
    std::vector<double> df(ids.size(), 0.0);
    for (const auto& p : pairs) df[p.second] += 1;
    const double n = static_cast<double>(all_items.size());
    idf_.resize(ids.size());
    for (std::size_t a = 0; a < df.size(); ++a) idf_[a] = std::log(n / df[a]);

    // Unit vectors; items whose weights are all 0 are left out.
    item_offsets_.push_back(0);
    std::size_t p = 0;
    while (p < pairs.size()) {
        std::size_t end = p;
        double norm2 = 0;
        while (end < pairs.size() && pairs[end].first == pairs[p].first) {
            norm2 += idf_[pairs[end].second] * idf_[pairs[end].second];
            ++end;
        }
        if (norm2 > 0) {
            const double norm = std::sqrt(norm2);
            for (std::size_t q = p; q < end; ++q) {
                const double w = idf_[pairs[q].second] / norm;
                if (w > 0) {
                    item_attr_.push_back(pairs[q].second);
                    item_weight_.push_back(w);
                }
            }
            keys_.push_back(pairs[p].first);
            item_offsets_.push_back(item_attr_.size());
        }
        p = end;
        ticker.tick();
    }
    if (keys_.size() > std::numeric_limits<std::uint32_t>::max())
        throw_error(ErrorKind::ProgramLimitExceeded, "more than 2^32 - 1 items with attributes");
    // Inverted index, items ascending within each attribute.
    attr_offsets_.assign(idf_.size() + 1, 0);
    for (const std::uint32_t a : item_attr_) attr_offsets_[a + 1]++;
    std::partial_sum(attr_offsets_.begin(), attr_offsets_.end(), attr_offsets_.begin());
    attr_item_.resize(item_attr_.size());
    attr_weight_.resize(item_attr_.size());
    std::vector<std::size_t> fill(attr_offsets_.begin(), attr_offsets_.end() - 1);
    for (std::size_t i = 0; i < keys_.size(); ++i)
        for (std::size_t q = item_offsets_[i]; q < item_offsets_[i + 1]; ++q) {
            const std::size_t at = fill[item_attr_[q]]++;
            attr_item_[at] = static_cast<std::uint32_t>(i);
            attr_weight_[at] = item_weight_[q];
        }
}

std::size_t ContentModel::index(std::int64_t key) const {
    const auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
    return it != keys_.end() && *it == key ? static_cast<std::size_t>(it - keys_.begin()) : npos;
}

double ContentModel::similarity(std::int64_t a, std::int64_t b) const {
    const std::size_t i = index(a), j = index(b);
    if (i == npos || j == npos) return 0.0;
    // Both vectors are sorted by attribute id: merge.
    double dot = 0;
    std::size_t p = item_offsets_[i], q = item_offsets_[j];
    while (p < item_offsets_[i + 1] && q < item_offsets_[j + 1]) {
        if (item_attr_[p] < item_attr_[q])
            ++p;
        else if (item_attr_[q] < item_attr_[p])
            ++q;
        else
            dot += item_weight_[p++] * item_weight_[q++];
    }
    return dot;
}

std::vector<std::pair<std::int64_t, double>> ContentModel::like(const std::vector<std::int64_t>& items,
                                                                const std::vector<double>* weights) const {
    std::vector<double> profile(idf_.size(), 0.0);
    std::vector<std::size_t> own;
    for (std::size_t k = 0; k < items.size(); ++k) {
        const std::size_t i = index(items[k]);
        if (i == npos) continue;
        own.push_back(i);
        const double w = weights == nullptr ? 1.0 : (*weights)[k];
        if (!(w > 0)) continue;
        for (std::size_t q = item_offsets_[i]; q < item_offsets_[i + 1]; ++q) profile[item_attr_[q]] += w * item_weight_[q];
    }
    const double norm = std::sqrt(std::inner_product(profile.begin(), profile.end(), profile.begin(), 0.0));
    if (!(norm > 0) || !std::isfinite(norm)) return {};
    std::vector<double> score(keys_.size(), 0.0);
    InterruptTicker ticker(64);
    for (std::size_t a = 0; a < profile.size(); ++a) {
        if (profile[a] == 0) continue;
        const double w = profile[a] / norm;
        for (std::size_t q = attr_offsets_[a]; q < attr_offsets_[a + 1]; ++q) score[attr_item_[q]] += w * attr_weight_[q];
        ticker.tick();
    }
    for (const std::size_t i : own) score[i] = 0.0;
    std::vector<std::pair<std::int64_t, double>> out;
    for (std::size_t i = 0; i < keys_.size(); ++i)
        if (score[i] > 0) out.emplace_back(keys_[i], std::min(1.0, score[i]));
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
        return a.second > b.second || (a.second == b.second && a.first < b.first);
    });
    return out;
}

}  // namespace crm
