#include "cf.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <functional>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "errors.hpp"
#include "interrupts.hpp"

namespace crm {

namespace {

// The mean of n finite values, finite too: the plain sum first (exact for the
// usual ratings), and where it overflows (ratings near 1e308) the sum of
// value / n, whose every partial sum stays within the largest double.
template <typename T, typename Value>
double finite_mean(const T* values, std::size_t n, Value value) {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) sum += value(values[i]);
    if (std::isfinite(sum)) return sum / static_cast<double>(n);
    double scaled = 0.0;
    for (std::size_t i = 0; i < n; ++i) scaled += value(values[i]) / static_cast<double>(n);
    return scaled;
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using Index = RatingMatrix::Index;

// ---------------------------------------------------------------------------
// Names and options

struct SimilarityName {
    Similarity value;
    const char* name;
};
constexpr SimilarityName kSimilarityNames[] = {
    {Similarity::Msd, "msd"},
    {Similarity::Cosine, "cosine"},
    {Similarity::Pearson, "pearson"},
    {Similarity::PearsonBaseline, "pearson_baseline"},
};

struct VectorsName {
    NeighbourVectors value;
    const char* name;
};
constexpr VectorsName kVectorsNames[] = {
    {NeighbourVectors::CoRated, "co_rated"},
    {NeighbourVectors::Full, "full"},
    {NeighbourVectors::Centered, "centered"},
    {NeighbourVectors::Binary, "binary"},
};

void check_at_least(int value, int minimum, const char* name) {
    if (value < minimum)
        throw_invalid(std::string(name) + " must be at least " + std::to_string(minimum) + ", got " +
                      std::to_string(value));
}

// ---------------------------------------------------------------------------
// Baselines for pearson_baseline

struct Baselines {
    std::vector<double> user;
    std::vector<double> item;
};

// Surprise's baseline_als with its default options (10 epochs, reg_i = 10,
// reg_u = 15): alternately b_i = sum(r - mu - b_u) / (reg_i + |R(i)|) for every
// item, then b_u = sum(r - mu - b_i) / (reg_u + |R(u)|) for every user. Ten
// sweeps are what Surprise does, and matching it matters more here than
// convergence: the baselines only centre the ratings for the similarity.
Baselines als_baselines(const RatingMatrix& m) {
    constexpr int kEpochs = 10;
    constexpr double kRegItem = 10.0;
    constexpr double kRegUser = 15.0;
    Baselines b{std::vector<double>(m.users(), 0.0), std::vector<double>(m.items(), 0.0)};
    const double mu = m.global_mean();
    for (int epoch = 0; epoch < kEpochs; ++epoch) {
        for (std::size_t i = 0; i < m.items(); ++i) {
            const auto col = m.item_ratings(i);
            double dev = 0.0;
            for (std::size_t e = 0; e < col.size; ++e) dev += col.value[e] - mu - b.user[col.index[e]];
            b.item[i] = dev / (kRegItem + static_cast<double>(col.size));
        }
        check_interrupts();
        for (std::size_t u = 0; u < m.users(); ++u) {
            const auto row = m.user_ratings(u);
            double dev = 0.0;
            for (std::size_t e = 0; e < row.size; ++e) dev += row.value[e] - mu - b.item[row.index[e]];
            b.user[u] = dev / (kRegUser + static_cast<double>(row.size));
        }
        check_interrupts();
    }
    return b;
}

// ---------------------------------------------------------------------------
// Similarity rows

// Per-pair sums over co-rated items; which fields are used depends on the kind.
struct PairSums {
    std::uint32_t n = 0;
    double a = 0.0, b = 0.0, c = 0.0, d = 0.0, e = 0.0;
};

// One row of the user-user similarity matrix at a time.
//
// Row u is built like Surprise builds the whole matrix, restricted to u: for
// each item u rated, every other rater of the item adds the item's terms to
// their pair sums, so the cost is the sum of the popularities of u's items and
// users with nothing in common with u are never visited (their similarity
// stays 0). The dense row and the pair sums are reset through the list of
// users touched, so a row costs nothing proportional to the number of users.
//
// Formulas, with x = u's rating, y = v's rating, n = co-rated items:
//   msd              1 / (sum (x - y)^2 / n + 1)
//   cosine           sum xy / sqrt(sum x^2 * sum y^2)                      (0 if denominator 0)
//   pearson          (n sum xy - sum x sum y) /
//                    sqrt((n sum x^2 - (sum x)^2)(n sum y^2 - (sum y)^2))  (0 if denominator 0)
//   pearson_baseline with x, y the residuals r - (mu + b_u + b_i):
//                    sum xy / sqrt(sum x^2 sum y^2) * (n - 1) / (n - 1 + shrinkage), 0 if n < 2
//   full/centered/binary vectors: sum xy over co-rated items / (|x| |y|) with the
//                    norms over each user's whole vector.
// Pearson uses Surprise's one-pass form, but on ratings shifted by each user's
// rounded mean (Pearson does not change under a shift): for integer or
// half-integer ratings every sum stays exact, so an uncorrelated pair gets
// exactly 0 and is dropped like in Surprise instead of surviving as 1e-17,
// and for large implicit values the shift keeps the subtraction from
// cancelling.
class SimilarityRows {
public:
    SimilarityRows(const RatingMatrix& m, Similarity kind, int shrinkage, NeighbourVectors vectors)
        : m_(m), kind_(kind), vectors_(vectors), shrinkage_(shrinkage), sums_(m.users()),
          row_(m.users(), 0.0) {
        if (vectors_ == NeighbourVectors::CoRated) {
            if (kind_ == Similarity::Pearson) {
                shift_.resize(m.users());
                for (std::size_t u = 0; u < m.users(); ++u) shift_[u] = std::round(m.user_mean(u));
            } else if (kind_ == Similarity::PearsonBaseline) {
                baselines_ = als_baselines(m);
            }
        }
        check_interrupts();
    }

    // Similarities of user u to every user: 1 for u, 0 for users outside touched().
    const std::vector<double>& row(std::size_t u) {
        for (const Index v : touched_) row_[v] = 0.0;
        touched_.clear();
        if (vectors_ != NeighbourVectors::CoRated) {
            accumulate(u, [this](PairSums& s, std::size_t uu, std::size_t vv, std::size_t, double x, double y) {
                s.a += full_value(uu, x) * full_value(vv, y);
            });
            for (const Index v : touched_) {
                const double denom = m_.user_norm(u, vectors_) * m_.user_norm(v, vectors_);
                row_[v] = denom > 0.0 ? sums_[v].a / denom : 0.0;
                sums_[v] = PairSums{};
            }
        } else {
            switch (kind_) {
                case Similarity::Msd:
                    accumulate(u, [](PairSums& s, std::size_t, std::size_t, std::size_t, double x, double y) {
                        s.a += (x - y) * (x - y);
                    });
                    break;
                case Similarity::Cosine:
                    accumulate(u, [](PairSums& s, std::size_t, std::size_t, std::size_t, double x, double y) {
                        s.a += x * y;
                        s.b += x * x;
                        s.c += y * y;
                    });
                    break;
                case Similarity::Pearson:
                    accumulate(u, [this](PairSums& s, std::size_t uu, std::size_t vv, std::size_t, double x,
                                         double y) {
                        x -= shift_[uu];
                        y -= shift_[vv];
                        s.a += x * y;
                        s.b += x * x;
                        s.c += y * y;
                        s.d += x;
                        s.e += y;
                    });
                    break;
                case Similarity::PearsonBaseline: {
                    const double mu = m_.global_mean();
                    accumulate(u, [this, mu](PairSums& s, std::size_t uu, std::size_t vv, std::size_t i, double x,
                                             double y) {
                        const double partial = mu + baselines_.item[i];
                        x -= partial + baselines_.user[uu];
                        y -= partial + baselines_.user[vv];
                        s.a += x * y;
                        s.b += x * x;
                        s.c += y * y;
                    });
                    break;
                }
            }
            for (const Index v : touched_) {
                row_[v] = finish(sums_[v]);
                sums_[v] = PairSums{};
            }
        }
        // Surprise sets the diagonal to 1 whatever the formula gives for it. (u
        // is in touched_: a known user rated at least one item.)
        row_[u] = 1.0;
        return row_;
    }

    // Users whose entry in the last row may be non-zero (u itself included).
    const std::vector<Index>& touched() const { return touched_; }

private:
    double full_value(std::size_t u, double r) const {
        switch (vectors_) {
            case NeighbourVectors::Binary: return 1.0;
            case NeighbourVectors::Centered: return r - m_.user_mean(u);
            default: return r;
        }
    }

    template <class Add>
    void accumulate(std::size_t u, Add add) {
        const auto mine = m_.user_ratings(u);
        for (std::size_t a = 0; a < mine.size; ++a) {
            const std::size_t i = mine.index[a];
            const double x = mine.value[a];
            const auto col = m_.item_ratings(i);
            for (std::size_t b = 0; b < col.size; ++b) {
                const Index v = col.index[b];
                PairSums& s = sums_[v];
                if (s.n++ == 0) touched_.push_back(v);
                add(s, u, v, i, x, col.value[b]);
            }
            ticker_.tick();
        }
    }

    double finish(const PairSums& s) const {
        const double n = static_cast<double>(s.n);
        switch (kind_) {
            case Similarity::Msd: return 1.0 / (s.a / n + 1.0);
            case Similarity::Cosine: {
                const double denom = std::sqrt(s.b * s.c);
                return denom > 0.0 ? s.a / denom : 0.0;
            }
            case Similarity::Pearson: {
                const double num = n * s.a - s.d * s.e;
                const double var_product = (n * s.b - s.d * s.d) * (n * s.c - s.e * s.e);
                // > 0 rather than != 0: a product that rounding made negative gives 0, not NaN.
                return var_product > 0.0 ? num / std::sqrt(var_product) : 0.0;
            }
            case Similarity::PearsonBaseline: {
                if (s.n < 2) return 0.0;  // Surprise raises min_support to 2 here
                const double denom = std::sqrt(s.b * s.c);
                if (!(denom > 0.0)) return 0.0;
                return s.a / denom * (n - 1.0) / (n - 1.0 + shrinkage_);
            }
        }
        return 0.0;
    }

    const RatingMatrix& m_;
    const Similarity kind_;
    const NeighbourVectors vectors_;
    const double shrinkage_;
    std::vector<double> shift_;
    Baselines baselines_;
    std::vector<PairSums> sums_;
    std::vector<double> row_;
    std::vector<Index> touched_;
    InterruptTicker ticker_{256};
};

// Neighbour order everywhere: more similar first, then the lower user index
// (= lower user key), so results never depend on the order of the input rows.
struct Neighbour {
    double sim;
    Index user;
    double value;
};
bool more_similar(const Neighbour& a, const Neighbour& b) {
    return a.sim > b.sim || (a.sim == b.sim && a.user < b.user);
}

// Keeps the k best neighbours, sorted best first.
void keep_best(std::vector<Neighbour>& nb, int k) {
    const std::size_t keep = std::min(nb.size(), static_cast<std::size_t>(k));
    std::partial_sort(nb.begin(), nb.begin() + static_cast<std::ptrdiff_t>(keep), nb.end(), more_similar);
    nb.resize(keep);
}

// ---------------------------------------------------------------------------
// Top-N

// Scores items by the summed similarity of the user's k nearest neighbours.
//
// The default neighbourhood was chosen by precision@10 on MovieLens 100k, each
// fold of ml100k_folds.tsv in turn as an 80/20 split (relevant = held-out
// rating >= 4, training items excluded; "most popular" 0.1335), mean of the 5
// folds (test/tools/cf_movielens --tune prints the table):
//
//   neighbour vectors      k=20    k=40    k=60    k=80    k=100   k=200
//   co_rated cosine        0.044   0.050   0.054   0.058   0.061   0.083
//   co_rated msd           0.051   0.059   0.066   0.074   0.080   0.101
//   co_rated pearson       0.052   0.060   0.068   0.075   0.082   0.103
//   co_rated pearson_bsl   0.179   0.193   0.195   0.195   0.193   0.185
//   full cosine            0.218   0.233   0.237   0.237   0.235   0.228
//   centered cosine        0.191   0.204   0.207   0.207   0.208   0.200
//   binary cosine          0.217   0.231   0.235   0.235   0.233   0.224
//
// Co-rated similarities are useless here: a user sharing one item with the
// same rating is a "perfect" neighbour, so the neighbourhood fills with users
// who have little in common. Full-vector cosine rewards a large overlap. Binary
// comes within 0.002 of raw-rating cosine on explicit ratings, and it is the
// one that stays sensible on the implicit data a CRM mostly has (purchase
// counts or amounts, where raw values would let a few large numbers decide
// the neighbourhood), so it is the default; k = 60 is at the flat top.
class TopNScorer {
public:
    TopNScorer(const RatingMatrix& m, const TopNOptions& o)
        : m_(m), o_(o), rows_(m, o.similarity, o.shrinkage, o.vectors), score_(m.items(), 0.0),
          rated_(m.items(), 0) {}

    std::vector<Recommendation> recommend(std::int64_t key) {
        std::vector<Recommendation> out;
        const std::size_t u = m_.user_index(key);
        if (u == RatingMatrix::npos) {
            fill_popular(out);
            return out;
        }
        const auto mine = m_.user_ratings(u);
        for (std::size_t e = 0; e < mine.size; ++e) rated_[mine.index[e]] = 1;

        const auto& sim = rows_.row(u);
        neighbours_.clear();
        for (const Index v : rows_.touched())
            if (v != u && sim[v] > 0.0) neighbours_.push_back({sim[v], v, 0.0});
        keep_best(neighbours_, o_.k);

        candidates_.clear();
        for (const Neighbour& nb : neighbours_) {
            const auto theirs = m_.user_ratings(nb.user);
            for (std::size_t e = 0; e < theirs.size; ++e) {
                const Index j = theirs.index[e];
                if (rated_[j]) continue;
                // Similarities are positive, so a zero score means "not seen yet".
                if (score_[j] == 0.0) candidates_.push_back(j);
                score_[j] += nb.sim;
            }
            ticker_.tick();
        }
        const std::size_t keep = std::min(candidates_.size(), static_cast<std::size_t>(o_.n));
        std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(keep),
                          candidates_.end(), [&](Index a, Index b) {
                              return score_[a] > score_[b] || (score_[a] == score_[b] && more_popular(a, b));
                          });
        for (std::size_t c = 0; c < keep; ++c)
            out.push_back({m_.item_key(candidates_[c]), score_[candidates_[c]], false});
        // Fallback items must not repeat the chosen ones: mark them as rated.
        for (std::size_t c = 0; c < keep; ++c) rated_[candidates_[c]] = 1;
        fill_popular(out);

        for (const Index j : candidates_) score_[j] = 0.0;
        for (std::size_t c = 0; c < keep; ++c) rated_[candidates_[c]] = 0;
        for (std::size_t e = 0; e < mine.size; ++e) rated_[mine.index[e]] = 0;
        return out;
    }

private:
    bool more_popular(Index a, Index b) const {
        const std::size_t pa = m_.item_popularity(a), pb = m_.item_popularity(b);
        return pa > pb || (pa == pb && a < b);
    }

    // Tops `out` up to n with the most popular items not marked in rated_.
    // The popularity order is sorted the first time a list needs filling.
    void fill_popular(std::vector<Recommendation>& out) {
        if (out.size() >= static_cast<std::size_t>(o_.n)) return;
        if (popular_.empty() && m_.items() > 0) {
            // Sorted aside and swapped in, so an interrupted sort leaves no half-sorted order behind.
            std::vector<Index> order(m_.items());
            std::iota(order.begin(), order.end(), Index{0});
            InterruptTicker ticker;
            std::sort(order.begin(), order.end(), ticking(ticker, [&](Index a, Index b) { return more_popular(a, b); }));
            check_interrupts();
            popular_.swap(order);
        }
        for (const Index j : popular_) {
            if (out.size() >= static_cast<std::size_t>(o_.n)) break;
            if (rated_[j]) continue;
            out.push_back({m_.item_key(j), static_cast<double>(m_.item_popularity(j)), true});
        }
    }

    const RatingMatrix& m_;
    const TopNOptions o_;
    SimilarityRows rows_;
    std::vector<double> score_;
    std::vector<unsigned char> rated_;
    std::vector<Index> popular_;
    std::vector<Neighbour> neighbours_;
    std::vector<Index> candidates_;
    InterruptTicker ticker_{64};
};

// ---------------------------------------------------------------------------
// Cross-validation

// See cross_validate() in cf.hpp for the rule; written out here rather than
// with std::shuffle, whose algorithm is implementation-defined. The modulo
// bias of engine() mod (j + 1) is below (j + 1) / 2^64: irrelevant.
std::vector<int> assign_folds(const std::vector<int>& fold_of, std::size_t rows, int folds, std::uint64_t seed) {
    std::vector<int> fold(rows, -1);
    std::vector<std::size_t> free_rows;
    for (std::size_t r = 0; r < rows; ++r) {
        const int f = fold_of.empty() ? -1 : fold_of[r];
        if (f < -1 || f >= folds)
            throw_invalid("fold_of must be -1 or between 0 and folds - 1 = " + std::to_string(folds - 1) +
                          ", got " + std::to_string(f) + " at row " + std::to_string(r + 1));
        if (f == -1)
            free_rows.push_back(r);
        else
            fold[r] = f;
    }
    std::mt19937_64 engine(seed);
    InterruptTicker ticker;
    for (std::size_t j = free_rows.size(); j-- > 1;) {
        ticker.tick();
        const std::size_t pick = static_cast<std::size_t>(engine() % (static_cast<std::uint64_t>(j) + 1));
        std::swap(free_rows[j], free_rows[pick]);
    }
    const std::size_t m = free_rows.size();
    const std::size_t base = m / static_cast<std::size_t>(folds);
    const std::size_t extra = m % static_cast<std::size_t>(folds);
    std::size_t pos = 0;
    for (int f = 0; f < folds; ++f) {
        const std::size_t size = base + (static_cast<std::size_t>(f) < extra ? 1 : 0);
        for (std::size_t c = 0; c < size; ++c) fold[free_rows[pos++]] = f;
    }
    return fold;
}

}  // namespace

// ---------------------------------------------------------------------------
// Public API

Similarity parse_similarity(const std::string& name) {
    for (const auto& entry : kSimilarityNames)
        if (name == entry.name) return entry.value;
    throw_invalid("unknown similarity \"" + name + "\" (valid: msd, cosine, pearson, pearson_baseline)");
}

const char* similarity_name(Similarity similarity) {
    for (const auto& entry : kSimilarityNames)
        if (similarity == entry.value) return entry.name;
    return "unknown";
}

NeighbourVectors parse_neighbour_vectors(const std::string& name) {
    for (const auto& entry : kVectorsNames)
        if (name == entry.name) return entry.value;
    throw_invalid("unknown neighbour vectors \"" + name + "\" (valid: co_rated, full, centered, binary)");
}

const char* neighbour_vectors_name(NeighbourVectors vectors) {
    for (const auto& entry : kVectorsNames)
        if (vectors == entry.value) return entry.name;
    return "unknown";
}

void check_knn_options(const KnnOptions& o) {
    check_at_least(o.k, 1, "k");
    check_at_least(o.min_k, 0, "min_k");
    check_at_least(o.shrinkage, 0, "shrinkage");
}

void check_topn_options(const TopNOptions& o) {
    check_at_least(o.n, 1, "n");
    check_at_least(o.k, 1, "k");
    check_at_least(o.shrinkage, 0, "shrinkage");
    if (o.vectors != NeighbourVectors::CoRated && o.similarity != Similarity::Cosine)
        throw_invalid(std::string("similarity \"") + similarity_name(o.similarity) +
                          "\" cannot be used with neighbour vectors \"" + neighbour_vectors_name(o.vectors) + "\"",
                      "Full-vector neighbours are always compared by cosine; use similarity cosine, or "
                      "neighbour vectors co_rated for the other similarities.");
}

RatingMatrix::RatingMatrix(std::vector<Rating> ratings, std::pmr::memory_resource* memory)
    : user_keys_(memory), item_keys_(memory), user_offsets_(memory), user_items_(memory), user_values_(memory),
      item_offsets_(memory), item_users_(memory), item_values_(memory), user_means_(memory),
      user_norms_full_(memory), user_norms_centered_(memory), global_mean_(kNaN), min_rating_(kNaN),
      max_rating_(kNaN) {
    for (std::size_t r = 0; r < ratings.size(); ++r)
        if (!std::isfinite(ratings[r].rating))
            throw_invalid("rating must be a finite number, got " +
                          std::string(std::isnan(ratings[r].rating) ? "NaN"
                                      : ratings[r].rating > 0      ? "Infinity"
                                                                   : "-Infinity") +
                          " for user " + std::to_string(ratings[r].user) + " and item " +
                          std::to_string(ratings[r].item));
    check_interrupts();
    // Sorting by the rating too makes the averages of duplicates independent of
    // the input order, to the last bit.
    InterruptTicker sort_ticker;
    std::sort(ratings.begin(), ratings.end(), ticking(sort_ticker, [](const Rating& a, const Rating& b) {
                  if (a.user != b.user) return a.user < b.user;
                  if (a.item != b.item) return a.item < b.item;
                  return a.rating < b.rating;
              }));
    check_interrupts();

    // Average duplicates in place.
    std::size_t out = 0;
    for (std::size_t r = 0; r < ratings.size();) {
        std::size_t end = r + 1;
        while (end < ratings.size() && ratings[end].user == ratings[r].user && ratings[end].item == ratings[r].item)
            ++end;
        const double mean = finite_mean(&ratings[r], end - r, [](const Rating& x) { return x.rating; });
        ratings[out] = ratings[r];
        ratings[out].rating = mean;
        ++out;
        r = end;
    }
    ratings.resize(out);

    item_keys_.reserve(ratings.size());
    for (const Rating& r : ratings) item_keys_.push_back(r.item);
    std::sort(item_keys_.begin(), item_keys_.end(), ticking(sort_ticker, std::less<std::int64_t>()));
    item_keys_.erase(std::unique(item_keys_.begin(), item_keys_.end()), item_keys_.end());
    item_keys_.shrink_to_fit();
    check_interrupts();

    constexpr std::size_t kMaxIndex = std::numeric_limits<Index>::max();
    if (item_keys_.size() >= kMaxIndex)
        throw_error(ErrorKind::ProgramLimitExceeded, "too many distinct items for collaborative filtering",
                    "At most 4294967294 distinct items are supported.");

    // User-major copy; the ratings are sorted by (user, item) already.
    user_items_.reserve(ratings.size());
    user_values_.reserve(ratings.size());
    InterruptTicker ticker;
    for (std::size_t r = 0; r < ratings.size(); ++r) {
        if (r == 0 || ratings[r].user != ratings[r - 1].user) {
            user_keys_.push_back(ratings[r].user);
            user_offsets_.push_back(r);
        }
        const auto it = std::lower_bound(item_keys_.begin(), item_keys_.end(), ratings[r].item);
        user_items_.push_back(static_cast<Index>(it - item_keys_.begin()));
        user_values_.push_back(ratings[r].rating);
        ticker.tick();
    }
    user_offsets_.push_back(ratings.size());
    if (user_keys_.size() >= kMaxIndex)
        throw_error(ErrorKind::ProgramLimitExceeded, "too many distinct users for collaborative filtering",
                    "At most 4294967294 distinct users are supported.");
    ratings.clear();
    ratings.shrink_to_fit();

    // Item-major copy by counting sort: walking users in ascending order leaves
    // each item's users ascending.
    item_offsets_.assign(item_keys_.size() + 1, 0);
    for (const Index i : user_items_) ++item_offsets_[i + 1];
    std::partial_sum(item_offsets_.begin(), item_offsets_.end(), item_offsets_.begin());
    item_users_.resize(user_items_.size());
    item_values_.resize(user_items_.size());
    std::vector<std::size_t> next(item_offsets_.begin(), item_offsets_.end() - 1);
    user_means_.resize(user_keys_.size());
    const auto identity = [](double x) { return x; };
    double total = 0.0;
    for (std::size_t u = 0; u < user_keys_.size(); ++u) {
        for (std::size_t e = user_offsets_[u]; e < user_offsets_[u + 1]; ++e) {
            const std::size_t slot = next[user_items_[e]]++;
            item_users_[slot] = static_cast<Index>(u);
            item_values_[slot] = user_values_[e];
        }
        const std::size_t count = user_offsets_[u + 1] - user_offsets_[u];
        const double sum = std::accumulate(user_values_.begin() + static_cast<std::ptrdiff_t>(user_offsets_[u]),
                                           user_values_.begin() + static_cast<std::ptrdiff_t>(user_offsets_[u + 1]), 0.0);
        user_means_[u] = std::isfinite(sum) ? sum / static_cast<double>(count)
                                            : finite_mean(user_values_.data() + user_offsets_[u], count, identity);
        total += sum;
        ticker.tick();
    }
    // Norms of the full rating vectors, summed in entry order as a one-user pass would.
    user_norms_full_.resize(user_keys_.size());
    user_norms_centered_.resize(user_keys_.size());
    for (std::size_t u = 0; u < user_keys_.size(); ++u) {
        double full = 0.0, centered = 0.0;
        for (std::size_t e = user_offsets_[u]; e < user_offsets_[u + 1]; ++e) {
            const double x = user_values_[e], c = x - user_means_[u];
            full += x * x;
            centered += c * c;
        }
        user_norms_full_[u] = std::sqrt(full);
        user_norms_centered_[u] = std::sqrt(centered);
        ticker.tick();
    }
    if (!user_values_.empty()) {
        global_mean_ = std::isfinite(total) ? total / static_cast<double>(user_values_.size())
                                            : finite_mean(user_values_.data(), user_values_.size(), identity);
        const auto [lo, hi] = std::minmax_element(user_values_.begin(), user_values_.end());
        min_rating_ = *lo;
        max_rating_ = *hi;
    }
}

std::size_t RatingMatrix::memory_bytes() const {
    return sizeof(*this) + sizeof(std::int64_t) * (user_keys_.capacity() + item_keys_.capacity()) +
           sizeof(std::size_t) * (user_offsets_.capacity() + item_offsets_.capacity()) +
           sizeof(Index) * (user_items_.capacity() + item_users_.capacity()) +
           sizeof(double) * (user_values_.capacity() + item_values_.capacity() + user_means_.capacity() +
                             user_norms_full_.capacity() + user_norms_centered_.capacity());
}

double RatingMatrix::user_norm(std::size_t u, NeighbourVectors vectors) const {
    switch (vectors) {
        case NeighbourVectors::Binary: {
            // sqrt of a sum of ones, as the summing pass gave it
            return std::sqrt(static_cast<double>(user_offsets_[u + 1] - user_offsets_[u]));
        }
        case NeighbourVectors::Centered: return user_norms_centered_[u];
        default: return user_norms_full_[u];
    }
}

std::size_t RatingMatrix::user_index(std::int64_t key) const {
    const auto it = std::lower_bound(user_keys_.begin(), user_keys_.end(), key);
    return it != user_keys_.end() && *it == key ? static_cast<std::size_t>(it - user_keys_.begin()) : npos;
}

std::size_t RatingMatrix::item_index(std::int64_t key) const {
    const auto it = std::lower_bound(item_keys_.begin(), item_keys_.end(), key);
    return it != item_keys_.end() && *it == key ? static_cast<std::size_t>(it - item_keys_.begin()) : npos;
}

RatingMatrix::Entries RatingMatrix::user_ratings(std::size_t u) const {
    const std::size_t begin = user_offsets_[u];
    return {user_items_.data() + begin, user_values_.data() + begin, user_offsets_[u + 1] - begin};
}

RatingMatrix::Entries RatingMatrix::item_ratings(std::size_t i) const {
    const std::size_t begin = item_offsets_[i];
    return {item_users_.data() + begin, item_values_.data() + begin, item_offsets_[i + 1] - begin};
}

double user_similarity(const RatingMatrix& m, std::int64_t user_a, std::int64_t user_b, const KnnOptions& options) {
    check_knn_options(options);
    const std::size_t a = m.user_index(user_a), b = m.user_index(user_b);
    if (a == RatingMatrix::npos || b == RatingMatrix::npos) return 0.0;
    SimilarityRows rows(m, options.similarity, options.shrinkage, NeighbourVectors::CoRated);
    return rows.row(a)[b];
}

std::vector<double> predict(const RatingMatrix& m, const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs,
                            const KnnOptions& o) {
    check_knn_options(o);
    // Unknown users and items (and everything, for an empty matrix) keep this.
    std::vector<double> out(pairs.size(), m.global_mean());

    struct Job {
        Index user;
        Index item;
        std::size_t pos;
    };
    std::vector<Job> jobs;
    jobs.reserve(pairs.size());
    for (std::size_t p = 0; p < pairs.size(); ++p) {
        const std::size_t u = m.user_index(pairs[p].first);
        const std::size_t i = m.item_index(pairs[p].second);
        if (u != RatingMatrix::npos && i != RatingMatrix::npos)
            jobs.push_back({static_cast<Index>(u), static_cast<Index>(i), p});
    }
    if (jobs.empty()) return out;
    // Grouped by user, so each user's similarity row is computed once.
    InterruptTicker sort_ticker;
    std::sort(jobs.begin(), jobs.end(), ticking(sort_ticker, [](const Job& a, const Job& b) {
                  return a.user != b.user ? a.user < b.user : a.pos < b.pos;
              }));
    check_interrupts();

    SimilarityRows rows(m, o.similarity, o.shrinkage, NeighbourVectors::CoRated);
    std::vector<Neighbour> nb;
    InterruptTicker ticker(64);
    const std::vector<double>* sim = nullptr;
    for (std::size_t j = 0; j < jobs.size(); ++j) {
        const Job& job = jobs[j];
        if (j == 0 || job.user != jobs[j - 1].user) sim = &rows.row(job.user);
        // Dropping non-positive similarities before taking the k best gives the
        // same neighbours as Surprise's "k best, then drop <= 0": they rank last.
        nb.clear();
        const auto col = m.item_ratings(job.item);
        for (std::size_t e = 0; e < col.size; ++e) {
            const Index v = col.index[e];
            const double s = (*sim)[v];
            if (s > 0.0) nb.push_back({s, v, col.value[e] - m.user_mean(v)});
        }
        keep_best(nb, o.k);
        double est = m.user_mean(job.user);
        if (!nb.empty() && nb.size() >= static_cast<std::size_t>(o.min_k)) {
            double sum_sim = 0.0, sum_dev = 0.0;
            for (const Neighbour& n : nb) {
                sum_sim += n.sim;
                sum_dev += n.sim * n.value;
            }
            est += sum_dev / sum_sim;
        }
        out[job.pos] = std::clamp(est, m.min_rating(), m.max_rating());
        ticker.tick();
    }
    return out;
}

std::vector<Recommendation> recommend(const RatingMatrix& m, std::int64_t user, const TopNOptions& o) {
    return std::move(recommend_many(m, {user}, o).front());
}

struct UserTopN::Impl {
    Impl(const RatingMatrix& m, const TopNOptions& o) : scorer(m, o) {}
    TopNScorer scorer;
};

UserTopN::UserTopN(const RatingMatrix& m, const TopNOptions& o) {
    check_topn_options(o);
    if (m.ratings() > 0) impl_ = std::make_unique<Impl>(m, o);
}
UserTopN::~UserTopN() = default;

std::vector<Recommendation> UserTopN::recommend(std::int64_t user) {
    return impl_ ? impl_->scorer.recommend(user) : std::vector<Recommendation>{};
}

std::vector<std::vector<Recommendation>> recommend_many(const RatingMatrix& m, const std::vector<std::int64_t>& users,
                                                        const TopNOptions& o) {
    check_topn_options(o);
    std::vector<std::vector<Recommendation>> out(users.size());
    if (m.ratings() == 0 || users.empty()) return out;
    TopNScorer scorer(m, o);
    for (std::size_t u = 0; u < users.size(); ++u) out[u] = scorer.recommend(users[u]);
    return out;
}

std::vector<int> assign_rating_folds(const std::vector<Rating>& ratings, const std::vector<int>& fold_of, int folds,
                                     std::uint64_t seed) {
    check_at_least(folds, 2, "folds");
    // The folds are a function of the rows' contents, not of the order the
    // table delivered them in (a parallel plan, VACUUM FULL or a restore
    // changes that order): shuffle a canonical order.
    std::vector<std::size_t> order(ratings.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&ratings](std::size_t a, std::size_t b) {
        const Rating& x = ratings[a];
        const Rating& y = ratings[b];
        if (x.user != y.user) return x.user < y.user;
        if (x.item != y.item) return x.item < y.item;
        return x.rating < y.rating;
    });
    check_interrupts();
    std::vector<int> canonical_fold_of;
    if (!fold_of.empty()) {
        canonical_fold_of.resize(order.size());
        for (std::size_t r = 0; r < order.size(); ++r) canonical_fold_of[r] = fold_of[order[r]];
    }
    const std::vector<int> canonical_fold = assign_folds(canonical_fold_of, ratings.size(), folds, seed);
    std::vector<int> fold(ratings.size());
    for (std::size_t r = 0; r < order.size(); ++r) fold[order[r]] = canonical_fold[r];

    return fold;
}

std::vector<FoldMetrics> cross_validate(const std::vector<Rating>& ratings, const std::vector<int>& fold_of, int folds,
                                        std::uint64_t seed, const KnnOptions& knn, const TopNOptions& topn,
                                        double relevant_threshold) {
    check_at_least(folds, 2, "folds");
    check_knn_options(knn);
    check_topn_options(topn);
    if (!std::isfinite(relevant_threshold)) throw_invalid("relevant_threshold must be a finite number");
    if (!fold_of.empty() && fold_of.size() != ratings.size())
        throw_invalid("fold_of must be empty or have one entry per rating: " + std::to_string(fold_of.size()) +
                      " entries for " + std::to_string(ratings.size()) + " ratings");
    for (const Rating& r : ratings)
        if (!std::isfinite(r.rating)) throw_invalid("rating must be a finite number");
    if (!ratings.empty() && static_cast<std::size_t>(folds) > ratings.size())
        throw_invalid("folds must not exceed the number of ratings (" + std::to_string(ratings.size()) + "), got " +
                      std::to_string(folds));
    const std::vector<int> fold = assign_rating_folds(ratings, fold_of, folds, seed);

    std::vector<FoldMetrics> result;
    for (int f = 0; f < folds; ++f) {
        check_interrupts();
        std::vector<Rating> train, test;
        for (std::size_t r = 0; r < ratings.size(); ++r) (fold[r] == f ? test : train).push_back(ratings[r]);
        const RatingMatrix model(std::move(train));
        FoldMetrics fm{f, kNaN, kNaN, kNaN, kNaN, static_cast<std::int64_t>(test.size())};

        std::vector<std::pair<std::int64_t, std::int64_t>> pairs;
        pairs.reserve(test.size());
        for (const Rating& r : test) pairs.emplace_back(r.user, r.item);
        const std::vector<double> est = predict(model, pairs, knn);
        if (!test.empty() && model.ratings() > 0) {
            Eigen::ArrayXd err(static_cast<Eigen::Index>(test.size()));
            for (std::size_t t = 0; t < test.size(); ++t) err[static_cast<Eigen::Index>(t)] = est[t] - test[t].rating;
            fm.rmse = std::sqrt(err.square().mean());
            fm.mae = err.abs().mean();
        }

        // Relevant held-out items per user, the user's training items excluded.
        InterruptTicker sort_ticker;
        std::sort(test.begin(), test.end(), ticking(sort_ticker, [](const Rating& a, const Rating& b) {
                      return a.user != b.user ? a.user < b.user : a.item < b.item;
                  }));
        std::vector<std::int64_t> users;
        std::vector<std::vector<std::int64_t>> relevant;
        for (const Rating& r : test) {
            if (r.rating < relevant_threshold) continue;
            const std::size_t u = model.user_index(r.user);
            const std::size_t i = model.item_index(r.item);
            if (u != RatingMatrix::npos && i != RatingMatrix::npos) {
                const auto row = model.user_ratings(u);
                if (std::binary_search(row.index, row.index + row.size, static_cast<Index>(i))) continue;
            }
            if (users.empty() || users.back() != r.user) {
                users.push_back(r.user);
                relevant.emplace_back();
            }
            if (relevant.back().empty() || relevant.back().back() != r.item) relevant.back().push_back(r.item);
        }
        if (!users.empty() && model.ratings() > 0) {
            const auto lists = recommend_many(model, users, topn);
            double precision = 0.0, recall = 0.0;
            for (std::size_t u = 0; u < users.size(); ++u) {
                std::size_t hits = 0;
                for (const Recommendation& rec : lists[u])
                    hits += std::binary_search(relevant[u].begin(), relevant[u].end(), rec.item) ? 1 : 0;
                precision += static_cast<double>(hits) / topn.n;
                recall += static_cast<double>(hits) / static_cast<double>(relevant[u].size());
            }
            fm.precision_at_k = precision / static_cast<double>(users.size());
            fm.recall_at_k = recall / static_cast<double>(users.size());
        }
        result.push_back(fm);
        check_interrupts();
    }
    return result;
}

}  // namespace crm
