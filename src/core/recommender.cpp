#include "recommender.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <unordered_map>

#include "errors.hpp"
#include "interrupts.hpp"

namespace crm {

namespace {

using Scored = std::pair<std::int64_t, double>;

bool better(const Scored& a, const Scored& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
}

// Items of `m` by popularity (number of users), most popular first, ties by lower key.
std::vector<Scored> popularity_order(const RatingMatrix& m) {
    std::vector<Scored> out(m.items());
    for (std::size_t i = 0; i < m.items(); ++i) out[i] = {m.item_key(i), static_cast<double>(m.item_popularity(i))};
    std::sort(out.begin(), out.end(), better);
    return out;
}

bool contains(const std::vector<std::int64_t>& sorted, std::int64_t key) {
    return std::binary_search(sorted.begin(), sorted.end(), key);
}

}  // namespace

RecoMethod parse_reco_method(const std::string& name) {
    for (const RecoMethod m : {RecoMethod::UserKnn, RecoMethod::ItemKnn, RecoMethod::Content, RecoMethod::Hybrid,
                               RecoMethod::Popular, RecoMethod::Random, RecoMethod::Als, RecoMethod::Svd})
        if (name == reco_method_name(m)) return m;
    throw_invalid("method must be one of userknn, itemknn, content, hybrid, popular, random, als, svd, got \"" + name + "\"");
}

const char* reco_method_name(RecoMethod m) {
    switch (m) {
        case RecoMethod::UserKnn: return "userknn";
        case RecoMethod::ItemKnn: return "itemknn";
        case RecoMethod::Content: return "content";
        case RecoMethod::Hybrid: return "hybrid";
        case RecoMethod::Popular: return "popular";
        case RecoMethod::Random: return "random";
        case RecoMethod::Als: return "als";
        case RecoMethod::Svd: return "svd";
    }
    return "?";
}

const char* reco_reason_name(RecoReason r) {
    switch (r) {
        case RecoReason::SimilarUsers: return "similar_users";
        case RecoReason::SimilarItems: return "similar_items";
        case RecoReason::Content: return "content";
        case RecoReason::Hybrid: return "hybrid";
        case RecoReason::PopularInGroup: return "popular_in_group";
        case RecoReason::Popular: return "popular";
        case RecoReason::Random: return "random";
        case RecoReason::LatentFactors: return "latent_factors";
    }
    return "?";
}

void check_recommender_options(const RecommenderOptions& o) {
    if (!(o.diversity >= 0.0 && o.diversity <= 1.0))
        throw_invalid("diversity must be between 0 and 1, got " + std::to_string(o.diversity));
    if (o.user_k < 1) throw_invalid("k must be at least 1, got " + std::to_string(o.user_k));
    if (o.item_k < 1) throw_invalid("k must be at least 1, got " + std::to_string(o.item_k));
    if (!(o.hybrid_weight >= 0.0 && o.hybrid_weight <= 1.0))
        throw_invalid("weight must be between 0 and 1, got " + std::to_string(o.hybrid_weight));
    if (o.hybrid_new_item_slots && *o.hybrid_new_item_slots < 0)
        throw_invalid("new_item_slots must be at least 0, got " + std::to_string(*o.hybrid_new_item_slots));
    if (o.hybrid_min_support < 1)
        throw_invalid("min_support must be at least 1, got " + std::to_string(o.hybrid_min_support));
}

double binary_item_cosine(const RatingMatrix& m, std::int64_t a, std::int64_t b) {
    const std::size_t i = m.item_index(a), j = m.item_index(b);
    if (i == RatingMatrix::npos || j == RatingMatrix::npos) return 0.0;
    if (i == j) return 1.0;
    const auto x = m.item_ratings(i), y = m.item_ratings(j);
    std::size_t p = 0, q = 0, common = 0;
    while (p < x.size && q < y.size) {
        if (x.index[p] < y.index[q])
            ++p;
        else if (y.index[q] < x.index[p])
            ++q;
        else
            ++common, ++p, ++q;
    }
    return static_cast<double>(common) / std::sqrt(static_cast<double>(x.size) * static_cast<double>(y.size));
}

struct Recommender::State {
    const RatingMatrix& m;
    RecoMethod method;
    RecommenderOptions o;
    const ContentModel* content;
    const ItemNeighbours* neighbours;
    std::optional<ItemNeighbours> built;
    const FactorModel* factors = nullptr;
    std::optional<FactorModel> fitted;
    std::unique_ptr<AlsFoldIn> als_fold_in;
    std::unique_ptr<ItemKnnScorer> item_scorer;
    std::unique_ptr<UserTopN> user_topn;
    std::size_t user_topn_n = 0;
    std::vector<Scored> popular;
    bool popular_sorted = false;
    std::unordered_map<std::int64_t, std::size_t> group_of;
    std::vector<std::vector<Scored>> group_popular;
    std::vector<std::uint8_t> mark;  // per user of m, for collaborative cosines

    State(const RatingMatrix& matrix, RecoMethod method_, const RecommenderOptions& options, const ContentModel* c,
          const ItemNeighbours* nb)
        : m(matrix), method(method_), o(options), content(c), neighbours(nb) {}

    std::vector<std::int64_t> owned(std::int64_t user) const {
        std::vector<std::int64_t> out;
        const std::size_t u = m.user_index(user);
        if (u == RatingMatrix::npos) return out;
        const auto r = m.user_ratings(u);
        out.reserve(r.size);
        for (std::size_t e = 0; e < r.size; ++e) out.push_back(m.item_key(r.index[e]));  // ascending: keys follow indices
        return out;
    }

    static std::vector<RankedItem> ranked(const std::vector<Scored>& scored, std::size_t limit, RecoReason reason) {
        std::vector<RankedItem> out;
        for (std::size_t r = 0; r < std::min(limit, scored.size()); ++r) out.push_back({scored[r].first, scored[r].second, reason});
        return out;
    }

    // The user's rating of each of `mine` (same order), the weights of the
    // hybrid's two parts, divided by the largest (scores do not depend on the
    // scale, and huge ratings cannot overflow). Without a positive one every
    // item weighs 1.
    std::vector<double> rating_weights(std::int64_t user) const {
        std::vector<double> out;
        const std::size_t u = m.user_index(user);
        if (u == RatingMatrix::npos) return out;
        const auto r = m.user_ratings(u);
        out.assign(r.value, r.value + r.size);
        const double top = out.empty() ? 0.0 : *std::max_element(out.begin(), out.end());
        if (top > 0)
            for (double& x : out) x /= top;
        else
            out.assign(r.size, 1.0);
        return out;
    }

    bool is_new_item(std::int64_t item) const {
        const std::size_t i = m.item_index(item);
        const std::size_t support = i == RatingMatrix::npos ? 0 : m.item_popularity(i);
        return support < static_cast<std::size_t>(o.hybrid_min_support);
    }

    // The hybrid's list (see RecommenderOptions::hybrid_weight): the new items
    // of the content list of length n, and the best established items for the
    // other places, `pool` of them re-ranked by MMR when diversity asks. New
    // items stay out of MMR: they must be listed whatever the diversity, and
    // with no ratings they are collaboratively like nothing anyway.
    std::vector<RankedItem> hybrid(std::int64_t user, const std::vector<std::int64_t>& mine, std::size_t n,
                                   std::size_t pool) {
        const std::vector<double> weights = rating_weights(user);
        const std::vector<Scored> cf = item_scorer->score(mine, std::numeric_limits<std::size_t>::max(), &weights);
        const std::vector<Scored> ct = content->like(mine, &weights);
        double cf_max = 0;  // over established items: a new item's collaborative score is not used
        for (const Scored& x : cf)
            if (!is_new_item(x.first)) cf_max = std::max(cf_max, x.second);
        const double ct_max = ct.empty() ? 1.0 : ct.front().second;
        std::unordered_map<std::int64_t, std::pair<double, double>> parts;
        for (const Scored& x : cf) parts[x.first].first = cf_max > 0 ? x.second / cf_max : 0.0;
        for (const Scored& x : ct) parts[x.first].second = x.second / ct_max;
        const double w = o.hybrid_weight;
        std::vector<RankedItem> out;
        const std::size_t cap = o.hybrid_new_item_slots ? static_cast<std::size_t>(*o.hybrid_new_item_slots) : n;
        // Equal weights (has-bought data) leave the profile exactly as it is: the weighted list is the plain one.
        const bool unweighted = std::all_of(weights.begin(), weights.end(), [](double x) { return x == 1.0; });
        const std::vector<Scored> content_list = unweighted ? ct : content->like(mine);
        for (std::size_t r = 0; r < std::min(n, content_list.size()) && out.size() < cap; ++r) {
            const std::int64_t item = content_list[r].first;
            if (!is_new_item(item)) continue;
            const auto p = parts.find(item);  // absent when only items rated 0 or less share its attributes
            out.push_back({item, (1 - w) * (p == parts.end() ? 0.0 : p->second.second), RecoReason::Content});
        }
        std::vector<RankedItem> established;
        established.reserve(parts.size());
        for (const auto& [item, p] : parts) {
            if (is_new_item(item)) continue;
            const double score = w * p.first + (1 - w) * p.second;
            if (!(score > 0)) continue;
            const RecoReason reason = p.first > 0 && p.second > 0 ? RecoReason::Hybrid
                                      : p.first > 0               ? RecoReason::SimilarItems
                                                                  : RecoReason::Content;
            established.push_back({item, score, reason});
        }
        const auto by_score = [](const RankedItem& a, const RankedItem& b) {
            return a.score > b.score || (a.score == b.score && a.item < b.item);
        };
        const std::size_t places = n - out.size();
        const std::size_t keep = std::min(established.size(), o.diversity > 0 ? std::max(pool, places) : places);
        std::partial_sort(established.begin(), established.begin() + static_cast<std::ptrdiff_t>(keep),
                          established.end(), by_score);
        established.resize(keep);
        if (o.diversity > 0) established = mmr(std::move(established), places);
        if (established.size() > places) established.resize(places);
        out.insert(out.end(), established.begin(), established.end());
        std::sort(out.begin(), out.end(), by_score);
        return out;
    }

    // Every model item scored for the user folded in from the user's current rows.
    std::vector<RankedItem> latent(std::int64_t user, const std::vector<std::int64_t>& mine, std::size_t limit) const {
        std::vector<std::pair<std::int64_t, double>> rows;
        const std::size_t u = m.user_index(user);
        if (u != RatingMatrix::npos) {
            const auto r = m.user_ratings(u);
            for (std::size_t e = 0; e < r.size; ++e) rows.emplace_back(m.item_key(r.index[e]), r.value[e]);
        }
        std::vector<Scored> scored;
        if (method == RecoMethod::Als) {
            const Eigen::VectorXd x = als_fold_in->solve(rows);
            if (x.isZero(0)) return {};
            const Eigen::VectorXd s = factors->item_factors * x;
            for (std::size_t i = 0; i < factors->item_keys.size(); ++i)
                if (!contains(mine, factors->item_keys[i])) scored.emplace_back(factors->item_keys[i], s[static_cast<Eigen::Index>(i)]);
        } else {
            if (rows.empty()) return {};
            const SvdUser folded = svd_fold_in(*factors, rows);
            // svd_predict_folded for every item at once.
            const Eigen::VectorXd s = ((factors->item_factors * folded.factors + factors->item_bias).array() +
                                       (factors->global_mean + folded.bias))
                                          .cwiseMax(factors->min_rating)
                                          .cwiseMin(factors->max_rating);
            for (std::size_t i = 0; i < factors->item_keys.size(); ++i)
                if (!contains(mine, factors->item_keys[i])) scored.emplace_back(factors->item_keys[i], s[static_cast<Eigen::Index>(i)]);
        }
        const std::size_t keep = std::min(limit, scored.size());
        std::partial_sort(scored.begin(), scored.begin() + static_cast<std::ptrdiff_t>(keep), scored.end(), better);
        scored.resize(keep);
        return ranked(scored, keep, RecoReason::LatentFactors);
    }

    std::vector<RankedItem> random_items(std::int64_t user, const std::vector<std::int64_t>& mine, std::size_t limit) const {
        // A partial Fisher-Yates over the catalogue, seeded by (seed, user) with
        // the same explicit rule as the folds, so it is the same on every platform.
        std::vector<std::int64_t> items(m.items());
        for (std::size_t i = 0; i < m.items(); ++i) items[i] = m.item_key(i);
        std::mt19937_64 engine(o.seed ^ (static_cast<std::uint64_t>(user) * 0x9E3779B97F4A7C15ULL));
        std::vector<RankedItem> out;
        for (std::size_t j = 0; j < items.size() && out.size() < limit; ++j) {
            const std::size_t pick = j + static_cast<std::size_t>(engine() % (items.size() - j));
            std::swap(items[j], items[pick]);
            if (!contains(mine, items[j])) out.push_back({items[j], 0.0, RecoReason::Random});
        }
        return out;
    }

    // Similarities of `chosen` to every pool item, for MMR.
    void similarities(std::int64_t chosen, const std::vector<RankedItem>& pool, std::vector<double>& out) {
        out.assign(pool.size(), 0.0);
        if (method == RecoMethod::Content) {
            for (std::size_t p = 0; p < pool.size(); ++p) out[p] = content->similarity(chosen, pool[p].item);
            return;
        }
        const std::size_t c = m.item_index(chosen);
        if (c == RatingMatrix::npos) return;
        if (mark.size() != m.users()) mark.assign(m.users(), 0);
        const auto cu = m.item_ratings(c);
        for (std::size_t e = 0; e < cu.size; ++e) mark[cu.index[e]] = 1;
        for (std::size_t p = 0; p < pool.size(); ++p) {
            const std::size_t j = m.item_index(pool[p].item);
            if (j == RatingMatrix::npos) continue;
            const auto ju = m.item_ratings(j);
            std::size_t common = 0;
            for (std::size_t e = 0; e < ju.size; ++e) common += mark[ju.index[e]];
            out[p] = static_cast<double>(common) / std::sqrt(static_cast<double>(cu.size) * static_cast<double>(ju.size));
        }
        for (std::size_t e = 0; e < cu.size; ++e) mark[cu.index[e]] = 0;
    }

    std::vector<RankedItem> mmr(std::vector<RankedItem> pool, std::size_t n) {
        if (pool.size() <= 1) return pool;
        double lo = pool.front().score, hi = pool.front().score;
        for (const RankedItem& r : pool) lo = std::min(lo, r.score), hi = std::max(hi, r.score);
        std::vector<double> relevance(pool.size());
        for (std::size_t p = 0; p < pool.size(); ++p) {
            relevance[p] = hi > lo ? (pool[p].score - lo) / (hi - lo) : 1.0;
            if (!std::isfinite(relevance[p])) relevance[p] = 0.0;
        }
        InterruptTicker ticker(1);
        std::vector<double> max_sim(pool.size(), 0.0), sim;
        std::vector<std::uint8_t> taken(pool.size(), 0);
        std::vector<RankedItem> out;
        const double d = o.diversity;
        while (out.size() < std::min(n, pool.size())) {
            std::size_t best = pool.size();
            double best_value = -std::numeric_limits<double>::infinity();
            for (std::size_t p = 0; p < pool.size(); ++p) {
                if (taken[p]) continue;
                const double value = (1 - d) * relevance[p] - d * max_sim[p];
                if (value > best_value) best_value = value, best = p;
            }
            if (best == pool.size()) break;  // nothing comparable left (cannot happen with finite scores)
            taken[best] = 1;
            out.push_back(pool[best]);
            ticker.tick();
            similarities(pool[best].item, pool, sim);
            for (std::size_t p = 0; p < pool.size(); ++p) max_sim[p] = std::max(max_sim[p], sim[p]);
        }
        return out;
    }

    void fill(std::vector<RankedItem>& out, const std::vector<std::int64_t>& mine, std::int64_t user, std::size_t n) {
        if (out.size() >= n) return;
        // Sorted on first need: most lists never reach the fill.
        if (!popular_sorted) {
            popular = popularity_order(m);
            popular_sorted = true;
        }
        std::vector<std::int64_t> listed;
        for (const RankedItem& r : out) listed.push_back(r.item);
        std::sort(listed.begin(), listed.end());
        const auto top_up = [&](const std::vector<Scored>& order, RecoReason reason) {
            for (const Scored& s : order) {
                if (out.size() >= n) return;
                if (contains(mine, s.first) || contains(listed, s.first)) continue;
                out.push_back({s.first, s.second, reason});
                listed.insert(std::upper_bound(listed.begin(), listed.end(), s.first), s.first);
            }
        };
        const auto g = group_of.find(user);
        if (g != group_of.end()) top_up(group_popular[g->second], RecoReason::PopularInGroup);
        top_up(popular, RecoReason::Popular);
    }
};

Recommender::Recommender(const RatingMatrix& m, RecoMethod method, const RecommenderOptions& options,
                         const ContentModel* content, const ItemNeighbours* neighbours, const FactorModel* factors)
    : s_(std::make_unique<State>(m, method, options, content, neighbours)) {
    check_recommender_options(options);
    if ((method == RecoMethod::Content || method == RecoMethod::Hybrid) && content == nullptr)
        throw_invalid(std::string("the ") + reco_method_name(method) + " method needs item attributes");
    if (method == RecoMethod::ItemKnn || method == RecoMethod::Hybrid) {
        if (neighbours == nullptr) {
            s_->built.emplace(item_neighbour_links(m, options.item_k, options.item_similarity));
            s_->neighbours = &*s_->built;
        }
        s_->item_scorer = std::make_unique<ItemKnnScorer>(*s_->neighbours);
    }
    if (method == RecoMethod::Als || method == RecoMethod::Svd) {
        if (factors == nullptr) {
            if (method == RecoMethod::Als)
                s_->fitted.emplace(als_fit(m, options.als));
            else
                s_->fitted.emplace(svd_fit(m, options.svd));
            factors = &*s_->fitted;
        }
        if ((factors->kind == FactorKind::Als) != (method == RecoMethod::Als))
            throw_invalid(std::string("the ") + reco_method_name(method) + " method needs an " +
                          reco_method_name(method) + " model");
        s_->factors = factors;
        if (method == RecoMethod::Als) s_->als_fold_in = std::make_unique<AlsFoldIn>(*factors);
    }
}

Recommender::~Recommender() = default;

void Recommender::set_groups(const std::vector<std::pair<std::int64_t, std::string>>& user_groups) {
    State& s = *s_;
    s.group_of.clear();
    s.group_popular.clear();
    std::map<std::string, std::size_t> ids;
    // A user listed more than once belongs to the smallest of their groups, whatever the row order.
    std::unordered_map<std::int64_t, const std::string*> chosen;
    for (const auto& [user, group] : user_groups) {
        const auto it = chosen.find(user);
        if (it == chosen.end() || group < *it->second) chosen[user] = &group;
    }
    for (const auto& [user, group] : chosen) {
        const auto id = ids.emplace(*group, ids.size()).first->second;
        s.group_of[user] = id;
    }
    std::vector<std::unordered_map<std::int64_t, double>> counts(ids.size());
    InterruptTicker ticker(256);
    for (const auto& [user, g] : s.group_of) {
        const std::size_t u = s.m.user_index(user);
        if (u == RatingMatrix::npos) continue;
        const auto r = s.m.user_ratings(u);
        for (std::size_t e = 0; e < r.size; ++e) counts[g][s.m.item_key(r.index[e])] += 1;
        ticker.tick();
    }
    for (auto& c : counts) {
        std::vector<Scored> order(c.begin(), c.end());
        std::sort(order.begin(), order.end(), better);
        s.group_popular.push_back(std::move(order));
    }
}

std::vector<RankedItem> Recommender::recommend(std::int64_t user, std::size_t n) {
    if (n < 1) throw_invalid("n must be at least 1");
    State& s = *s_;
    const std::vector<std::int64_t> mine = s.owned(user);
    const std::size_t pool = s.o.diversity > 0 ? std::max<std::size_t>(5 * n, 50) : n;
    std::vector<RankedItem> out;
    switch (s.method) {
        case RecoMethod::UserKnn: {
            if (!s.user_topn || s.user_topn_n != pool) {
                TopNOptions t;
                t.n = static_cast<int>(std::min<std::size_t>(pool, std::numeric_limits<int>::max()));
                t.k = s.o.user_k;
                t.vectors = s.o.user_vectors;
                s.user_topn = std::make_unique<UserTopN>(s.m, t);
                s.user_topn_n = pool;
            }
            for (const Recommendation& r : s.user_topn->recommend(user))
                if (!r.popular_fallback) out.push_back({r.item, r.score, RecoReason::SimilarUsers});
            break;
        }
        case RecoMethod::ItemKnn:
            out = State::ranked(s.item_scorer->score(mine, pool), pool, RecoReason::SimilarItems);
            break;
        case RecoMethod::Content:
            out = State::ranked(s.content->like(mine), pool, RecoReason::Content);
            break;
        case RecoMethod::Hybrid:
            out = s.hybrid(user, mine, n, pool);  // re-ranked inside: its new items stay out of MMR
            break;
        case RecoMethod::Popular:
            break;
        case RecoMethod::Random:
            out = s.random_items(user, mine, n);
            break;
        case RecoMethod::Als:
        case RecoMethod::Svd:
            out = s.latent(user, mine, pool);
            break;
    }
    if (s.o.diversity > 0 && s.method != RecoMethod::Random && s.method != RecoMethod::Hybrid)
        out = s.mmr(std::move(out), n);
    if (out.size() > n) out.resize(n);
    s.fill(out, mine, user, n);
    return out;
}

bool Recommender::predicts_ratings() const {
    return s_->method == RecoMethod::UserKnn || s_->method == RecoMethod::ItemKnn || s_->method == RecoMethod::Svd;
}

std::vector<double> Recommender::predict(const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs,
                                         const KnnOptions& user_knn, const ItemPredictOptions& item_knn) const {
    if (s_->method == RecoMethod::UserKnn) return crm::predict(s_->m, pairs, user_knn);
    if (s_->method == RecoMethod::ItemKnn) return predict_item_based(s_->m, pairs, item_knn);
    if (s_->method == RecoMethod::Svd) {
        std::vector<double> out(pairs.size());
        for (std::size_t p = 0; p < pairs.size(); ++p) out[p] = svd_predict(*s_->factors, pairs[p].first, pairs[p].second);
        return out;
    }
    return std::vector<double>(pairs.size(), std::numeric_limits<double>::quiet_NaN());
}

}  // namespace crm
