#include "kmeans.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <unordered_set>
#include <utility>

#include "byte_io.hpp"
#include "errors.hpp"
#include "interrupts.hpp"

namespace crm {

namespace {

// Points and centroids inside the fit: row-major so a point is contiguous.
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Index = Eigen::Index;

constexpr std::uint8_t kPointSetVersion = 1;
constexpr std::uint8_t kModelVersion = 1;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------
// Portable randomness

// SplitMix64 finaliser: a bijective 64-bit mixer (Steele, Lea & Flood 2014).
std::uint64_t mix64(std::uint64_t z) {
    z += 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

// Uniform integer in [0, bound) from a 64-bit generator. Rejection of the
// 2^64 mod bound lowest outputs keeps it exactly uniform, and unlike
// std::uniform_int_distribution the result is the same on every standard library.
template <class Next>
std::uint64_t uniform_below(Next&& next, std::uint64_t bound) {
    const std::uint64_t reject_below = (0 - bound) % bound;
    for (;;) {
        const std::uint64_t r = next();
        if (r >= reject_below) return r % bound;
    }
}

std::uint64_t uniform_below(std::mt19937_64& rng, std::uint64_t bound) {
    return uniform_below([&rng] { return rng(); }, bound);
}

// Uniform double in [0, 1) from the top 53 bits (std::generate_canonical is
// implementation-defined in how many calls it makes and how it rounds).
double uniform_unit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Generator of start `init` of a fit: distinct, well-mixed seeds per start.
std::mt19937_64 start_generator(std::uint64_t seed, int init) {
    return std::mt19937_64(mix64(seed ^ mix64(static_cast<std::uint64_t>(init) + 1)));
}

// ---------------------------------------------------------------------------
// Small helpers

std::string element_problem(double v) { return std::isnan(v) ? "NaN" : (v > 0 ? "Infinity" : "-Infinity"); }

// Rejects a point with a NaN or infinite element, naming the element (1-based).
void check_point(const double* x, int dims) {
    for (int j = 0; j < dims; ++j)
        if (!std::isfinite(x[j]))
            throw_invalid("element " + std::to_string(j + 1) + " of the point must be a finite number, got " +
                          element_problem(x[j]));
}

std::uint64_t hash_point(const double* x, int dims) {
    std::uint64_t h = 0;
    for (int j = 0; j < dims; ++j) {
        const double v = x[j] + 0.0;  // -0.0 and 0.0 are the same coordinate
        std::uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        h = mix64(h ^ bits);
    }
    return h;
}

[[noreturn]] void bad_binary(const char* what, const std::string& why) {
    throw Error(ErrorKind::InvalidBinary, std::string("invalid ") + what + " value: " + why);
}

std::uint8_t scaling_code(Scaling s) {
    switch (s) {
        case Scaling::None: return 0;
        case Scaling::ZScore: return 1;
        case Scaling::MinMax: return 2;
    }
    return 0xFF;
}

bool scaling_from_code(std::uint8_t code, Scaling& out) {
    switch (code) {
        case 0: out = Scaling::None; return true;
        case 1: out = Scaling::ZScore; return true;
        case 2: out = Scaling::MinMax; return true;
        default: return false;
    }
}

// Nearest centroid of a point already in scaled space; the lowest index on an
// exact tie. The fit's final assignment and KMeansModel::assign both go through
// this one function with the same argument types, so they agree bit for bit.
int nearest_centroid(const double* scaled, const Eigen::MatrixXd& centroids, double& best_d2) {
    const Eigen::Map<const Eigen::RowVectorXd> p(scaled, centroids.cols());
    int best = 0;
    best_d2 = (centroids.row(0) - p).squaredNorm();
    for (Index c = 1; c < centroids.rows(); ++c) {
        const double d2 = (centroids.row(c) - p).squaredNorm();
        if (d2 < best_d2) {
            best_d2 = d2;
            best = static_cast<int>(c);
        }
    }
    return best;
}

// ---------------------------------------------------------------------------
// Scaling

struct ScaledPoints {
    RowMatrix x;                                 // n x d, scaled
    std::vector<double> offset, divisor;         // as in KMeansModel
    std::vector<double> mean, stddev;            // original units, population
    double mean_variance = 0;                    // mean per-feature variance of x (for tol)
};

ScaledPoints scale_points(const PointSet& points, Scaling scale) {
    const Index n = points.size();
    const Index d = points.dims();
    const Eigen::Map<const RowMatrix> raw(points.data().data(), n, d);

    // Two-pass mean and variance: the one-pass formula cancels badly for
    // features with a large mean and a small spread (e.g. epoch timestamps).
    const Eigen::RowVectorXd mean = raw.colwise().sum() / static_cast<double>(n);
    const Eigen::RowVectorXd var =
        (raw.rowwise() - mean).array().square().colwise().sum().matrix() / static_cast<double>(n);
    const Eigen::RowVectorXd lo = raw.colwise().minCoeff();
    const Eigen::RowVectorXd hi = raw.colwise().maxCoeff();
    if (!mean.allFinite() || !var.allFinite())
        throw_error(ErrorKind::OutOfRange, "feature values are too large for k-means (their variance overflows)",
                    "Rescale the inputs, e.g. to thousands instead of units.");

    ScaledPoints s;
    s.offset.assign(d, 0.0);
    s.divisor.assign(d, 1.0);
    s.mean.assign(mean.data(), mean.data() + d);
    s.stddev.resize(d);
    for (Index j = 0; j < d; ++j) {
        s.stddev[j] = std::sqrt(var(j));
        // A constant feature keeps divisor 1 and is shifted by its exact value
        // (not the computed mean, which can be off by an ulp), so it scales to 0.
        const bool constant = lo(j) == hi(j);
        switch (scale) {
            case Scaling::None: break;
            case Scaling::ZScore:
                s.offset[j] = constant ? lo(j) : mean(j);
                // The spread can underflow to 0 for values a few ulps apart.
                s.divisor[j] = constant || !(s.stddev[j] > 0) ? 1.0 : s.stddev[j];
                break;
            case Scaling::MinMax:
                s.offset[j] = lo(j);
                s.divisor[j] = constant ? 1.0 : hi(j) - lo(j);
                break;
        }
    }
    // The same expression, element by element, as KMeansModel::assign, so a
    // point scales to the same bits in the fit and in assign().
    const Eigen::Map<const Eigen::RowVectorXd> offset(s.offset.data(), d), divisor(s.divisor.data(), d);
    s.x = (raw.rowwise() - offset).array().rowwise() / divisor.array();
    check_interrupts();

    const Eigen::RowVectorXd scaled_mean = s.x.colwise().sum() / static_cast<double>(n);
    const Eigen::RowVectorXd scaled_var =
        (s.x.rowwise() - scaled_mean).array().square().colwise().sum().matrix() / static_cast<double>(n);
    if (!s.x.allFinite() || !scaled_var.allFinite())
        throw_error(ErrorKind::OutOfRange, "feature values are too large for k-means after scaling",
                    "Rescale the inputs or use z-score scaling.");
    s.mean_variance = scaled_var.mean();
    return s;
}

// Number of distinct rows, counting only up to `limit` (enough to validate k
// with O(k) memory; the whole input is scanned only when there are fewer).
std::int64_t distinct_rows(const RowMatrix& x, std::int64_t limit) {
    const auto hash = [&x](Index i) { return static_cast<std::size_t>(hash_point(x.row(i).data(), x.cols())); };
    const auto equal = [&x](Index a, Index b) { return x.row(a) == x.row(b); };
    std::unordered_set<Index, decltype(hash), decltype(equal)> seen(64, hash, equal);
    InterruptTicker ticker;
    for (Index i = 0; i < x.rows() && static_cast<std::int64_t>(seen.size()) < limit; ++i) {
        seen.insert(i);
        ticker.tick();
    }
    return static_cast<std::int64_t>(seen.size());
}

// ---------------------------------------------------------------------------
// Seeding: greedy k-means++ (Arthur & Vassilvitskii 2007; greedy trials as in scikit-learn)

RowMatrix kmeans_plus_plus(const RowMatrix& x, int k, std::mt19937_64& rng) {
    const Index n = x.rows();
    const int trials = 2 + static_cast<int>(std::log(static_cast<double>(k)));
    RowMatrix centres(k, x.cols());

    const Index first = static_cast<Index>(uniform_below(rng, static_cast<std::uint64_t>(n)));
    centres.row(0) = x.row(first);
    Eigen::VectorXd closest = (x.rowwise() - centres.row(0)).rowwise().squaredNorm();
    double potential = closest.sum();

    Eigen::VectorXd candidate(n), best(n);
    std::vector<std::pair<double, int>> targets(trials);  // (cumulative D^2 target, trial)
    std::vector<Index> picked(trials);
    for (int c = 1; c < k; ++c) {
        check_interrupts();
        for (int t = 0; t < trials; ++t) targets[t] = {uniform_unit(rng) * potential, t};
        std::sort(targets.begin(), targets.end());
        // One pass over the running sum serves every trial: the point whose
        // cumulative D^2 first exceeds the target. '>' (not '>=') never picks a
        // point with D^2 = 0, i.e. one that already is a centre.
        double cumulative = 0;
        std::size_t next = 0;
        Index last_positive = -1;
        for (Index i = 0; i < n && next < targets.size(); ++i) {
            cumulative += closest(i);
            if (closest(i) > 0) last_positive = i;
            while (next < targets.size() && cumulative > targets[next].first) picked[targets[next++].second] = i;
        }
        // Rounding can leave a target at the very top of the sum unmatched: the
        // loop then ran to the end, so last_positive is the last point with
        // D^2 > 0 (there is none only if D^2 underflowed everywhere).
        for (; next < targets.size(); ++next)
            picked[targets[next].second] =
                last_positive >= 0 ? last_positive
                                   : static_cast<Index>(uniform_below(rng, static_cast<std::uint64_t>(n)));

        double best_potential = kInf;
        Index best_index = picked[0];
        for (int t = 0; t < trials; ++t) {
            candidate = closest.cwiseMin((x.rowwise() - x.row(picked[t])).rowwise().squaredNorm());
            const double p = candidate.sum();
            if (p < best_potential) {
                best_potential = p;
                best_index = picked[t];
                best.swap(candidate);
            }
        }
        centres.row(c) = x.row(best_index);
        closest.swap(best);
        potential = best_potential;
    }
    return centres;
}

// ---------------------------------------------------------------------------
// Lloyd iterations with Hamerly's bounds (Hamerly 2010, "Making k-means even faster")

struct LloydResult {
    RowMatrix centres;
    int iterations = 0;
    bool converged = false;
};

// Exact nearest and second-nearest squared distances of point i.
void nearest_two(const RowMatrix& x, Index i, const RowMatrix& centres, int& best, double& d1, double& d2) {
    best = 0;
    d1 = kInf;
    d2 = kInf;
    for (Index c = 0; c < centres.rows(); ++c) {
        const double d = (x.row(i) - centres.row(c)).squaredNorm();
        if (d < d1) {
            d2 = d1;
            d1 = d;
            best = static_cast<int>(c);
        } else if (d < d2) {
            d2 = d;
        }
    }
}

void cluster_sums(const RowMatrix& x, const std::vector<int>& label, RowMatrix& sums,
                  std::vector<std::int64_t>& counts) {
    sums.setZero();
    std::fill(counts.begin(), counts.end(), 0);
    InterruptTicker ticker;
    for (Index i = 0; i < x.rows(); ++i) {
        sums.row(label[i]) += x.row(i);
        ++counts[label[i]];
        ticker.tick();
    }
}

// Gives every empty cluster the point farthest from its centroid, taken from a
// cluster with more than one point (so no new cluster empties), then recounts.
void relocate_empty_clusters(const RowMatrix& x, const RowMatrix& centres, std::vector<int>& label,
                             Eigen::VectorXd& upper, Eigen::VectorXd& lower, RowMatrix& sums,
                             std::vector<std::int64_t>& counts) {
    const Index n = x.rows();
    Eigen::VectorXd dist(n);
    for (Index i = 0; i < n; ++i) dist(i) = (x.row(i) - centres.row(label[i])).squaredNorm();
    std::vector<Index> order(n);
    std::iota(order.begin(), order.end(), Index{0});
    std::sort(order.begin(), order.end(), [&dist](Index a, Index b) {
        return dist(a) > dist(b) || (dist(a) == dist(b) && a < b);
    });
    check_interrupts();
    std::size_t next = 0;
    for (std::size_t c = 0; c < counts.size(); ++c) {
        if (counts[c] != 0) continue;
        while (next < order.size() && counts[label[order[next]]] <= 1) ++next;
        if (next == order.size()) break;  // cannot happen while n >= k
        const Index i = order[next++];
        --counts[label[i]];
        counts[c] = 1;
        label[i] = static_cast<int>(c);
        // Its bounds no longer describe it: force an exact look next iteration.
        upper(i) = kInf;
        lower(i) = 0;
    }
    cluster_sums(x, label, sums, counts);
}

double assignment_inertia(const RowMatrix& x, const RowMatrix& centres, const std::vector<int>& label) {
    double total = 0;
    for (Index i = 0; i < x.rows(); ++i) total += (x.row(i) - centres.row(label[i])).squaredNorm();
    return total;
}

LloydResult lloyd_hamerly(const RowMatrix& x, RowMatrix centres, int max_iter, double tol_shift, int init,
                          ProgressCallback progress, void* progress_arg, bool with_inertia) {
    const Index n = x.rows();
    const Index k = centres.rows();
    std::vector<int> label(n);
    Eigen::VectorXd upper(n), lower(n);  // to the own centre; to every other centre
    InterruptTicker ticker(1024);

    for (Index i = 0; i < n; ++i) {
        double d1, d2;
        nearest_two(x, i, centres, label[i], d1, d2);
        upper(i) = std::sqrt(d1);
        lower(i) = std::sqrt(d2);
        ticker.tick();
    }

    RowMatrix sums(k, x.cols()), next(k, x.cols());
    std::vector<std::int64_t> counts(k);
    Eigen::VectorXd half_gap(k), shift(k);
    for (int iter = 1;; ++iter) {
        if (iter > 1) {
            // Half the distance from each centre to its nearest other centre: a
            // point closer than that to its own centre cannot change cluster.
            half_gap.setConstant(kInf);
            for (Index a = 0; a < k; ++a)
                for (Index b = a + 1; b < k; ++b) {
                    const double h = 0.5 * (centres.row(a) - centres.row(b)).norm();
                    half_gap(a) = std::min(half_gap(a), h);
                    half_gap(b) = std::min(half_gap(b), h);
                }
            for (Index i = 0; i < n; ++i) {
                ticker.tick();
                const double bound = std::max(half_gap(label[i]), lower(i));
                if (upper(i) <= bound) continue;
                upper(i) = (x.row(i) - centres.row(label[i])).norm();  // tighten, then test again
                if (upper(i) <= bound) continue;
                double d1, d2;
                nearest_two(x, i, centres, label[i], d1, d2);
                upper(i) = std::sqrt(d1);
                lower(i) = std::sqrt(d2);
            }
        }

        cluster_sums(x, label, sums, counts);
        if (std::find(counts.begin(), counts.end(), 0) != counts.end())
            relocate_empty_clusters(x, centres, label, upper, lower, sums, counts);
        for (Index c = 0; c < k; ++c) {
            if (counts[c] > 0)
                next.row(c) = sums.row(c) / static_cast<double>(counts[c]);
            else  // only possible if n < k, which the fit rules out; keep the centre rather than divide by 0
                next.row(c) = centres.row(c);
        }
        shift = (next - centres).rowwise().norm();
        centres.swap(next);

        // Move the bounds by how far the centres moved.
        Index fastest = 0;
        shift.maxCoeff(&fastest);
        double second = 0;
        for (Index c = 0; c < k; ++c)
            if (c != fastest) second = std::max(second, shift(c));
        for (Index i = 0; i < n; ++i) {
            upper(i) += shift(label[i]);
            lower(i) -= label[i] == fastest ? second : shift(fastest);
        }

        // The inertia costs a pass over the points: only when asked for (verbose).
        if (progress != nullptr)
            progress(init + 1, iter, with_inertia ? assignment_inertia(x, centres, label)
                                                  : std::numeric_limits<double>::quiet_NaN(),
                     progress_arg);
        check_interrupts();
        if (shift.squaredNorm() <= tol_shift) return {std::move(centres), iter, true};
        if (iter >= max_iter) return {std::move(centres), iter, false};
    }
}

// One start's result after the final exact assignment.
struct Candidate {
    Eigen::MatrixXd centroids;
    std::vector<std::int64_t> sizes;
    std::vector<double> wcss;
    double inertia = 0;
    int iterations = 0;
    bool converged = false;
};

Candidate finish(const RowMatrix& x, LloydResult&& run) {
    Candidate c;
    c.centroids = run.centres;
    const Index k = c.centroids.rows();
    c.sizes.assign(k, 0);
    c.wcss.assign(k, 0.0);
    InterruptTicker ticker;
    for (Index i = 0; i < x.rows(); ++i) {
        double d2;
        const int j = nearest_centroid(x.row(i).data(), c.centroids, d2);
        ++c.sizes[j];
        c.wcss[j] += d2;
        ticker.tick();
    }
    for (double w : c.wcss) c.inertia += w;
    c.iterations = run.iterations;
    c.converged = run.converged;
    return c;
}

// ---------------------------------------------------------------------------
// Model validation (shared by the byte and text readers)

void validate_model(const KMeansModel& m, ErrorKind kind, const std::string& prefix) {
    const auto fail = [&](const std::string& why) { throw Error(kind, prefix + why); };
    const auto all_finite = [](const std::vector<double>& v) {
        return std::all_of(v.begin(), v.end(), [](double x) { return std::isfinite(x); });
    };
    if (m.k < 1) fail("k must be at least 1");
    if (m.dims < 1) fail("dims must be at least 1");
    const auto dims = static_cast<std::size_t>(m.dims);
    const auto k = static_cast<std::size_t>(m.k);
    if (m.offset.size() != dims || m.divisor.size() != dims) fail("offset and divisor need dims values each");
    if (!all_finite(m.offset)) fail("offset values must be finite");
    for (double v : m.divisor)
        if (!(v > 0) || !std::isfinite(v)) fail("divisor values must be positive and finite");
    if (!m.population_mean.empty() && m.population_mean.size() != dims)
        fail("population_mean needs dims values");
    if (m.population_std.size() != m.population_mean.size())
        fail("population_std needs as many values as population_mean");
    if (!all_finite(m.population_mean)) fail("population_mean values must be finite");
    for (double v : m.population_std)
        if (!(v >= 0) || !std::isfinite(v)) fail("population_std values must be finite and >= 0");
    if (static_cast<std::size_t>(m.centroids.rows()) != k || static_cast<std::size_t>(m.centroids.cols()) != dims)
        fail("centroids must be k x dims");
    if (!m.centroids.allFinite()) fail("centroids must be finite");
    if (m.sizes.size() != k || m.wcss.size() != k) fail("sizes and wcss need k values each");
    if (m.n_points < 0) fail("n_points must be >= 0");
    std::int64_t total = 0;
    for (std::int64_t s : m.sizes) {
        if (s < 0 || s > m.n_points - total) fail("cluster sizes must be >= 0 and add up to n_points");
        total += s;
    }
    if (total != m.n_points) fail("cluster sizes must add up to n_points");
    double wcss_total = 0;
    for (double w : m.wcss) {
        if (!(w >= 0) || !std::isfinite(w)) fail("wcss values must be finite and >= 0");
        wcss_total += w;
    }
    if (!(m.inertia >= 0) || !std::isfinite(m.inertia) ||
        std::abs(m.inertia - wcss_total) > 1e-9 * std::max(m.inertia, wcss_total))
        fail("inertia must be the sum of wcss");
    if (m.iterations < 0 || m.n_init < 0) fail("iterations and n_init must be >= 0");
    if (!m.feature_names.empty() && m.feature_names.size() != dims) fail("feature_names needs dims names");
}

// ---------------------------------------------------------------------------
// JSON text form

void append_double(std::string& out, double v) {
    if (!std::isfinite(v)) {  // only a hand-built invalid model gets here; from_json rejects it
        out += "null";
        return;
    }
    char buf[40];
    // to_chars is locale-independent and, with 17 significant digits, exact.
    const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 17);
    out.append(buf, res.ptr);
}

template <class Int>
void append_integer(std::string& out, Int v) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
}

void append_string(std::string& out, const std::string& s) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    for (const char ch : s) {
        const auto u = static_cast<unsigned char>(ch);
        switch (ch) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (u < 0x20) {
                    out += "\\u00";
                    out += hex[u >> 4];
                    out += hex[u & 15];
                } else {
                    out += ch;  // UTF-8 bytes pass through
                }
        }
    }
    out += '"';
}

void append_doubles(std::string& out, const double* v, std::size_t n) {
    out += '[';
    for (std::size_t i = 0; i < n; ++i) {
        if (i) out += ", ";
        append_double(out, v[i]);
    }
    out += ']';
}

void append_matrix(std::string& out, const Eigen::MatrixXd& m) {
    out += '[';
    for (Index r = 0; r < m.rows(); ++r) {
        if (r) out += ", ";
        const Eigen::RowVectorXd row = m.row(r);
        append_doubles(out, row.data(), static_cast<std::size_t>(row.size()));
    }
    out += ']';
}

struct JsonValue {
    enum class Type { Null, Bool, Number, String, Array, Object };
    Type type = Type::Null;
    std::size_t pos = 0;             // byte offset where the value starts
    bool boolean = false;
    std::string text;                // a number's literal or a string's decoded bytes
    std::vector<JsonValue> items;    // array elements, or object values
    std::vector<std::string> keys;   // object keys, parallel to items
};

const char* const kTextWhat = "invalid k-means model text";

[[noreturn]] void text_error_at(std::size_t pos, const std::string& why) {
    throw Error(ErrorKind::InvalidText, std::string(kTextWhat) + " at position " + std::to_string(pos) + ": " + why);
}

// A small strict JSON reader (RFC 8259): objects, arrays, numbers (kept as
// their literal so integers convert exactly), strings with every escape,
// true/false/null. Nesting is limited so hostile input cannot exhaust the stack.
class JsonReader {
public:
    explicit JsonReader(const std::string& text) : s_(text) {}

    JsonValue document() {
        skip_space();
        JsonValue v = value(0);
        skip_space();
        if (pos_ != s_.size()) fail("unexpected text after the JSON value");
        return v;
    }

private:
    static constexpr int kMaxDepth = 32;

    [[noreturn]] void fail(const std::string& why) const { text_error_at(pos_, why); }
    bool at_end() const { return pos_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[pos_]; }
    void skip_space() {
        while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
    }
    void expect(char c) {
        if (peek() != c || at_end()) fail(std::string("expected '") + c + "'");
        ++pos_;
    }

    JsonValue value(int depth) {
        if (depth > kMaxDepth) fail("nesting too deep");
        if (at_end()) fail("unexpected end of text");
        JsonValue v;
        v.pos = pos_;
        const char c = s_[pos_];
        if (c == '{') {
            v.type = JsonValue::Type::Object;
            ++pos_;
            skip_space();
            if (peek() == '}' && !at_end()) {
                ++pos_;
                return v;
            }
            for (;;) {
                skip_space();
                if (peek() != '"' || at_end()) fail("expected a string key");
                v.keys.push_back(string());
                skip_space();
                expect(':');
                skip_space();
                v.items.push_back(value(depth + 1));
                skip_space();
                if (peek() == ',' && !at_end()) {
                    ++pos_;
                    continue;
                }
                expect('}');
                return v;
            }
        }
        if (c == '[') {
            v.type = JsonValue::Type::Array;
            ++pos_;
            skip_space();
            if (peek() == ']' && !at_end()) {
                ++pos_;
                return v;
            }
            for (;;) {
                skip_space();
                v.items.push_back(value(depth + 1));
                skip_space();
                if (peek() == ',' && !at_end()) {
                    ++pos_;
                    continue;
                }
                expect(']');
                return v;
            }
        }
        if (c == '"') {
            v.type = JsonValue::Type::String;
            v.text = string();
            return v;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            v.type = JsonValue::Type::Number;
            v.text = number();
            return v;
        }
        if (literal("true")) {
            v.type = JsonValue::Type::Bool;
            v.boolean = true;
            return v;
        }
        if (literal("false")) {
            v.type = JsonValue::Type::Bool;
            return v;
        }
        if (literal("null")) return v;
        fail("unexpected character");
    }

    bool literal(const char* word) {
        const std::size_t n = std::char_traits<char>::length(word);
        if (s_.compare(pos_, n, word) != 0) return false;
        pos_ += n;
        return true;
    }

    static bool is_digit(char c) { return c >= '0' && c <= '9'; }

    std::string number() {
        const std::size_t start = pos_;
        if (peek() == '-') ++pos_;
        if (peek() == '0') {
            ++pos_;
        } else if (is_digit(peek()) && !at_end()) {
            while (!at_end() && is_digit(s_[pos_])) ++pos_;
        } else {
            fail("invalid number");
        }
        if (!at_end() && s_[pos_] == '.') {
            ++pos_;
            if (at_end() || !is_digit(s_[pos_])) fail("invalid number: digits must follow '.'");
            while (!at_end() && is_digit(s_[pos_])) ++pos_;
        }
        if (!at_end() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
            ++pos_;
            if (!at_end() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
            if (at_end() || !is_digit(s_[pos_])) fail("invalid number: digits must follow the exponent");
            while (!at_end() && is_digit(s_[pos_])) ++pos_;
        }
        return s_.substr(start, pos_ - start);
    }

    unsigned hex4() {
        if (s_.size() - pos_ < 4) fail("truncated \\u escape");
        unsigned v = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = s_[pos_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
            else { --pos_; fail("invalid hex digit in \\u escape"); }
        }
        return v;
    }

    static void append_utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    std::string string() {
        expect('"');
        std::string out;
        for (;;) {
            if (at_end()) fail("unterminated string");
            const char c = s_[pos_];
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string (escape it)");
            if (c != '\\') {
                out += c;
                ++pos_;
                continue;
            }
            ++pos_;
            if (at_end()) fail("unterminated escape");
            const char e = s_[pos_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    unsigned cp = hex4();
                    if (cp >= 0xDC00 && cp <= 0xDFFF) fail("unpaired low surrogate in \\u escape");
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        if (s_.compare(pos_, 2, "\\u") != 0) fail("unpaired high surrogate in \\u escape");
                        pos_ += 2;
                        const unsigned low = hex4();
                        if (low < 0xDC00 || low > 0xDFFF) fail("invalid low surrogate in \\u escape");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(out, cp);
                    break;
                }
                default: --pos_; fail("invalid escape");
            }
        }
    }

    const std::string& s_;
    std::size_t pos_ = 0;
};

// Typed access to the parsed model object, with errors naming key and position.
class ModelFields {
public:
    explicit ModelFields(const JsonValue& root) {
        if (root.type != JsonValue::Type::Object) text_error_at(root.pos, "expected a JSON object");
        for (std::size_t i = 0; i < root.keys.size(); ++i) {
            const std::string& key = root.keys[i];
            if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys))
                text_error_at(root.items[i].pos, "unknown key \"" + key + "\"");
            for (std::size_t j = 0; j < i; ++j)
                if (root.keys[j] == key) text_error_at(root.items[i].pos, "duplicate key \"" + key + "\"");
        }
        for (const char* key : kKeys)
            if (std::find(root.keys.begin(), root.keys.end(), key) == root.keys.end())
                text_error_at(root.pos, std::string("missing key \"") + key + "\"");
        root_ = &root;
    }

    const JsonValue& get(const char* key) const {
        for (std::size_t i = 0; i < root_->keys.size(); ++i)
            if (root_->keys[i] == key) return root_->items[i];
        text_error_at(root_->pos, std::string("missing key \"") + key + "\"");
    }

    static double number(const JsonValue& v, const char* key) {
        if (v.type != JsonValue::Type::Number) wrong(v, key, "a number");
        double out = 0;
        const char* first = v.text.data();
        const char* last = first + v.text.size();
        const auto res = std::from_chars(first, last, out);
        if (res.ec != std::errc() || res.ptr != last) wrong(v, key, "a number within double range");
        return out;
    }

    template <class Int>
    static Int integer(const JsonValue& v, const char* key, Int min_value) {
        if (v.type != JsonValue::Type::Number) wrong(v, key, "an integer");
        Int out = 0;
        const char* first = v.text.data();
        const char* last = first + v.text.size();
        const auto res = std::from_chars(first, last, out);
        if (res.ec != std::errc() || res.ptr != last || out < min_value)
            wrong(v, key, "an integer >= " + std::to_string(min_value) + " within range");
        return out;
    }

    static std::vector<double> numbers(const JsonValue& v, const char* key) {
        if (v.type != JsonValue::Type::Array) wrong(v, key, "an array of numbers");
        std::vector<double> out;
        out.reserve(v.items.size());
        for (const JsonValue& item : v.items) out.push_back(number(item, key));
        return out;
    }

    static Eigen::MatrixXd matrix(const JsonValue& v, const char* key, int rows, int cols) {
        if (v.type != JsonValue::Type::Array || v.items.size() != static_cast<std::size_t>(rows))
            wrong(v, key, "an array of k rows");
        // Check the shape before allocating: k and dims come from the text.
        for (const JsonValue& row : v.items)
            if (row.type != JsonValue::Type::Array || row.items.size() != static_cast<std::size_t>(cols))
                wrong(row, key, "a row of dims numbers");
        Eigen::MatrixXd m(rows, cols);
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) m(r, c) = number(v.items[r].items[c], key);
        return m;
    }

    [[noreturn]] static void wrong(const JsonValue& v, const char* key, const std::string& expected) {
        text_error_at(v.pos, std::string("\"") + key + "\" must be " + expected);
    }

    static constexpr const char* kKeys[] = {
        "format",  "version", "k",          "dims",  "scale",      "feature_names",   "offset",
        "divisor", "population_mean", "population_std", "centroids", "centroids_original", "sizes",
        "wcss",    "inertia", "iterations", "n_init", "seed",     "n_points",        "converged"};

private:
    const JsonValue* root_ = nullptr;
};


}  // namespace

// ---------------------------------------------------------------------------
// Scaling names

Scaling parse_scaling(const std::string& name) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "none") return Scaling::None;
    if (lower == "zscore") return Scaling::ZScore;
    if (lower == "minmax") return Scaling::MinMax;
    throw_invalid("unknown scaling \"" + name + "\"", "Use 'none', 'zscore' or 'minmax'.");
}

const char* scaling_name(Scaling scale) {
    switch (scale) {
        case Scaling::None: return "none";
        case Scaling::ZScore: return "zscore";
        case Scaling::MinMax: return "minmax";
    }
    return "unknown";
}

// ---------------------------------------------------------------------------
// PointSet

PointSet::PointSet(std::int64_t sample_size, std::uint64_t seed) : sample_size_(sample_size), rng_state_(seed) {
    if (sample_size < 0)
        throw_invalid("sample size must be >= 0 (0 keeps every point), got " + std::to_string(sample_size));
}

std::uint64_t PointSet::next_random() {
    // SplitMix64: the state advances by the golden-ratio gamma, the output is its mix.
    rng_state_ += 0x9E3779B97F4A7C15ULL;
    return mix64(rng_state_);
}

std::uint64_t PointSet::random_below(std::uint64_t bound) {
    return uniform_below([this] { return next_random(); }, bound);
}

void PointSet::add(const double* x, int dims) {
    if (dims < 1) throw_invalid("a point needs at least one element, got " + std::to_string(dims));
    if (dims_ != 0 && dims != dims_)
        throw_invalid("ragged points: this point has " + std::to_string(dims) + " elements, the first had " +
                      std::to_string(dims_));
    check_point(x, dims);
    if (sample_size_ == 0 || seen_ < sample_size_) {
        data_.insert(data_.end(), x, x + dims);  // may throw bad_alloc; nothing else has changed yet
    } else {
        // Algorithm R: point number seen_ + 1 replaces a uniform slot with
        // probability sample_size / (seen_ + 1).
        const std::uint64_t slot = random_below(static_cast<std::uint64_t>(seen_) + 1);
        if (slot < static_cast<std::uint64_t>(sample_size_))
            std::copy(x, x + dims, data_.begin() + static_cast<std::ptrdiff_t>(slot) * dims);
    }
    if (seen_ == 0) {
        dims_ = dims;
        rng_state_ = mix64(rng_state_ ^ hash_point(x, dims));
    }
    ++seen_;
}

void PointSet::merge(const PointSet& other) {
    if (other.sample_size_ != sample_size_)
        throw_invalid("cannot merge point sets with different sample sizes (" + std::to_string(sample_size_) +
                      " and " + std::to_string(other.sample_size_) + ")");
    if (other.seen_ == 0) return;
    if (seen_ == 0) {
        *this = other;
        return;
    }
    if (other.dims_ != dims_)
        throw_invalid("ragged points: " + std::to_string(other.dims_) + " elements in one part, " +
                      std::to_string(dims_) + " in the other");
    const std::int64_t total = seen_ + other.seen_;
    if (sample_size_ == 0 || total <= sample_size_) {
        data_.insert(data_.end(), other.data_.begin(), other.data_.end());
        seen_ = total;
        return;
    }

    // How many of the sample_size draws without replacement from the union
    // land on this side: simulate the draws (hypergeometric).
    std::uint64_t left_here = static_cast<std::uint64_t>(seen_);
    std::uint64_t left_there = static_cast<std::uint64_t>(other.seen_);
    std::int64_t from_here = 0;
    InterruptTicker ticker;
    for (std::int64_t t = 0; t < sample_size_; ++t) {
        if (random_below(left_here + left_there) < left_here) {
            ++from_here;
            --left_here;
        } else {
            --left_there;
        }
        ticker.tick();
    }

    // Each side's kept points are a uniform sample of that side, so a uniform
    // subset of them is too (partial Fisher-Yates).
    std::vector<double> merged;
    merged.reserve(static_cast<std::size_t>(sample_size_) * dims_);
    const auto take = [&](const std::vector<double>& from, std::int64_t count) {
        const std::int64_t rows = static_cast<std::int64_t>(from.size()) / dims_;
        std::vector<std::int64_t> index(rows);
        for (std::int64_t i = 0; i < rows; ++i) index[i] = i;
        for (std::int64_t t = 0; t < count; ++t) {
            const auto j = t + static_cast<std::int64_t>(random_below(static_cast<std::uint64_t>(rows - t)));
            std::swap(index[t], index[j]);
            const auto row = from.begin() + index[t] * dims_;
            merged.insert(merged.end(), row, row + dims_);
        }
    };
    take(data_, from_here);
    take(other.data_, sample_size_ - from_here);
    data_ = std::move(merged);
    seen_ = total;
}

std::size_t PointSet::memory_bytes() const { return sizeof(PointSet) + data_.capacity() * sizeof(double); }

std::vector<std::uint8_t> PointSet::serialize() const {
    ByteWriter w(tags::point_set, kPointSetVersion);
    w.i64(sample_size_);
    w.u64(rng_state_);
    w.u32(static_cast<std::uint32_t>(dims_));
    w.i64(seen_);
    w.f64s(data_);
    return w.take();
}

PointSet PointSet::deserialize(const std::uint8_t* data, std::size_t size) {
    const char* what = "k-means point set";
    ByteReader r(data, size, tags::point_set, kPointSetVersion, what);
    PointSet p;
    p.sample_size_ = r.i64();
    p.rng_state_ = r.u64();
    const std::uint32_t dims = r.u32();
    p.seen_ = r.i64();
    p.data_ = r.f64s();
    r.expect_end();

    if (p.sample_size_ < 0) bad_binary(what, "negative sample size");
    if (p.seen_ < 0) bad_binary(what, "negative point count");
    if (dims > static_cast<std::uint32_t>(std::numeric_limits<int>::max())) bad_binary(what, "too many dimensions");
    p.dims_ = static_cast<int>(dims);
    if ((p.seen_ == 0) != (p.dims_ == 0)) bad_binary(what, "dimensions and point count disagree");
    if (p.dims_ == 0) {
        if (!p.data_.empty()) bad_binary(what, "points without dimensions");
        return p;
    }
    if (p.data_.size() % dims != 0) bad_binary(what, "the data is not a whole number of points");
    const std::int64_t kept = static_cast<std::int64_t>(p.data_.size() / dims);
    const std::int64_t expected = p.sample_size_ == 0 ? p.seen_ : std::min(p.seen_, p.sample_size_);
    if (kept != expected) bad_binary(what, "the number of kept points does not match the counts");
    for (double v : p.data_)
        if (!std::isfinite(v)) bad_binary(what, "a non-finite coordinate");
    return p;
}

// ---------------------------------------------------------------------------
// Memory estimate

std::size_t kmeans_memory_estimate(std::int64_t n, int dims, int k) {
    const double points = static_cast<double>(std::max<std::int64_t>(n, 0));
    const double d = static_cast<double>(std::max(dims, 0));
    const double clusters = static_cast<double>(std::max(k, 0));
    // Per point: the scaled copy (8 d), and at the peak either k-means++'s three
    // distance arrays (24) or the label (4), Hamerly's two bounds (16) and the
    // empty-cluster relocation's distance and order arrays (16); counted together
    // as an upper bound (44). Per cluster: five k x d centroid-sized buffers,
    // a dozen per-cluster scalars and the distinct-point check's hash node.
    const double bytes = points * (8 * d + 44) + clusters * (40 * d + 96 + 64) + 4096;
    if (!(bytes < static_cast<double>(std::numeric_limits<std::size_t>::max())))
        return std::numeric_limits<std::size_t>::max();
    return static_cast<std::size_t>(bytes);
}

// ---------------------------------------------------------------------------
// Fit

KMeansModel kmeans_fit(const PointSet& points, const KMeansOptions& options, ProgressCallback progress,
                       void* progress_arg) {
    if (options.k < 1) throw_invalid("k must be at least 1, got " + std::to_string(options.k));
    if (options.n_init < 1) throw_invalid("n_init must be at least 1, got " + std::to_string(options.n_init));
    if (options.max_iter < 1) throw_invalid("max_iter must be at least 1, got " + std::to_string(options.max_iter));
    if (!(options.tol >= 0)) throw_invalid("tol must be a number >= 0");
    if (points.size() == 0) throw_invalid("k-means needs at least one point", "The input has no rows.");
    if (!options.feature_names.empty() && options.feature_names.size() != static_cast<std::size_t>(points.dims()))
        throw_invalid("feature_names has " + std::to_string(options.feature_names.size()) + " names for " +
                      std::to_string(points.dims()) + " features");

    const bool warm_start = options.initial_centroids.size() != 0;
    if (warm_start && (options.initial_centroids.rows() != options.k ||
                       options.initial_centroids.cols() != points.dims() || !options.initial_centroids.allFinite()))
        throw_invalid("initial_centroids must be k x dims finite numbers (" + std::to_string(options.k) + " x " +
                      std::to_string(points.dims()) + ")");

    const ScaledPoints scaled = scale_points(points, options.scale);
    const std::int64_t distinct = distinct_rows(scaled.x, options.k);
    if (distinct < options.k)
        throw_invalid("k = " + std::to_string(options.k) + " exceeds the number of distinct points (" +
                      std::to_string(distinct) + ")",
                      "Lower k to at most " + std::to_string(distinct) + ".");

    const double tol_shift = options.tol * scaled.mean_variance;
    const ProgressCallback report = progress;
    const int n_init = warm_start ? 1 : options.n_init;
    Candidate best;
    for (int init = 0; init < n_init; ++init) {
        RowMatrix seeds;
        if (warm_start) {
            const Eigen::Map<const Eigen::RowVectorXd> offset(scaled.offset.data(), points.dims()),
                divisor(scaled.divisor.data(), points.dims());
            seeds = (options.initial_centroids.rowwise() - offset).array().rowwise() / divisor.array();
        } else {
            std::mt19937_64 rng = start_generator(options.seed, init);
            seeds = kmeans_plus_plus(scaled.x, options.k, rng);
        }
        Candidate c = finish(scaled.x, lloyd_hamerly(scaled.x, std::move(seeds), options.max_iter, tol_shift, init,
                                                     report, progress_arg, options.verbose));
        if (init == 0 || c.inertia < best.inertia) best = std::move(c);
    }

    KMeansModel m;
    m.k = options.k;
    m.dims = points.dims();
    m.scale = options.scale;
    m.offset = scaled.offset;
    m.divisor = scaled.divisor;
    m.centroids = std::move(best.centroids);
    m.sizes = std::move(best.sizes);
    m.wcss = std::move(best.wcss);
    m.inertia = best.inertia;
    m.iterations = best.iterations;
    m.n_init = n_init;
    m.seed = options.seed;
    m.n_points = points.size();
    m.converged = best.converged;
    m.feature_names = options.feature_names;
    m.population_mean = scaled.mean;
    m.population_std = scaled.stddev;
    return m;
}

// ---------------------------------------------------------------------------
// Model

Eigen::MatrixXd KMeansModel::centroids_original() const {
    const Eigen::Map<const Eigen::RowVectorXd> off(offset.data(), dims), div(divisor.data(), dims);
    return ((centroids.array().rowwise() * div.array()).rowwise() + off.array()).matrix();
}

int KMeansModel::assign(const double* x, int point_dims, double* distance) const {
    if (point_dims != dims)
        throw_invalid("the point has " + std::to_string(point_dims) + " elements, the model " +
                      std::to_string(dims));
    check_point(x, point_dims);
    std::vector<double> scaled(static_cast<std::size_t>(dims));
    for (int j = 0; j < dims; ++j) scaled[j] = (x[j] - offset[j]) / divisor[j];
    double d2;
    const int cluster = nearest_centroid(scaled.data(), centroids, d2);
    if (distance != nullptr) *distance = std::sqrt(d2);
    return cluster + 1;
}

std::vector<std::uint8_t> KMeansModel::serialize() const {
    ByteWriter w(tags::kmeans_model, kModelVersion);
    w.u32(static_cast<std::uint32_t>(k));
    w.u32(static_cast<std::uint32_t>(dims));
    w.u8(scaling_code(scale));
    w.f64s(offset);
    w.f64s(divisor);
    w.f64s(population_mean);
    w.f64s(population_std);
    const RowMatrix rows = centroids;  // row-major: cluster by cluster
    w.f64s(std::vector<double>(rows.data(), rows.data() + rows.size()));
    w.u64(sizes.size());
    for (std::int64_t s : sizes) w.i64(s);
    w.f64s(wcss);
    w.f64(inertia);
    w.u32(static_cast<std::uint32_t>(iterations));
    w.u32(static_cast<std::uint32_t>(n_init));
    w.u64(seed);
    w.i64(n_points);
    w.u8(converged ? 1 : 0);
    w.u32(static_cast<std::uint32_t>(feature_names.size()));
    for (const std::string& name : feature_names) w.str(name);
    return w.take();
}

KMeansModel KMeansModel::deserialize(const std::uint8_t* data, std::size_t size) {
    const char* what = "k-means model";
    ByteReader r(data, size, tags::kmeans_model, kModelVersion, what);
    constexpr auto int_max = static_cast<std::uint32_t>(std::numeric_limits<int>::max());
    KMeansModel m;
    const std::uint32_t k = r.u32();
    const std::uint32_t dims = r.u32();
    if (k < 1 || k > int_max) bad_binary(what, "k out of range");
    if (dims < 1 || dims > int_max) bad_binary(what, "dims out of range");
    m.k = static_cast<int>(k);
    m.dims = static_cast<int>(dims);
    if (!scaling_from_code(r.u8(), m.scale)) bad_binary(what, "unknown scaling");
    m.offset = r.f64s();
    m.divisor = r.f64s();
    m.population_mean = r.f64s();
    m.population_std = r.f64s();
    const std::vector<double> flat = r.f64s();
    if (flat.size() != static_cast<std::uint64_t>(k) * dims) bad_binary(what, "centroids must be k x dims");
    m.centroids = Eigen::Map<const RowMatrix>(flat.data(), m.k, m.dims);
    if (r.u64() != k) bad_binary(what, "sizes need k values");
    // Grown as read (not resized to k up front): a corrupt k cannot make us
    // allocate more than the bytes hold.
    for (std::uint32_t i = 0; i < k; ++i) m.sizes.push_back(r.i64());
    m.wcss = r.f64s();
    m.inertia = r.f64();
    const std::uint32_t iterations = r.u32();
    const std::uint32_t n_init = r.u32();
    if (iterations > int_max || n_init > int_max) bad_binary(what, "iterations or n_init out of range");
    m.iterations = static_cast<int>(iterations);
    m.n_init = static_cast<int>(n_init);
    m.seed = r.u64();
    m.n_points = r.i64();
    const std::uint8_t converged = r.u8();
    if (converged > 1) bad_binary(what, "converged must be 0 or 1");
    m.converged = converged == 1;
    const std::uint32_t names = r.u32();
    if (names != 0 && names != dims) bad_binary(what, "feature_names needs dims names");
    for (std::uint32_t i = 0; i < names; ++i) m.feature_names.push_back(r.str());
    r.expect_end();
    validate_model(m, ErrorKind::InvalidBinary, std::string("invalid ") + what + " value: ");
    return m;
}

std::string KMeansModel::to_json() const {
    std::string out;
    out += "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": ";
    append_integer(out, k);
    out += ", \"dims\": ";
    append_integer(out, dims);
    out += ", \"scale\": ";
    append_string(out, scaling_name(scale));
    out += ", \"feature_names\": [";
    for (std::size_t i = 0; i < feature_names.size(); ++i) {
        if (i) out += ", ";
        append_string(out, feature_names[i]);
    }
    out += "], \"offset\": ";
    append_doubles(out, offset.data(), offset.size());
    out += ", \"divisor\": ";
    append_doubles(out, divisor.data(), divisor.size());
    out += ", \"population_mean\": ";
    append_doubles(out, population_mean.data(), population_mean.size());
    out += ", \"population_std\": ";
    append_doubles(out, population_std.data(), population_std.size());
    out += ", \"centroids\": ";
    append_matrix(out, centroids);
    out += ", \"centroids_original\": ";
    append_matrix(out, centroids_original());
    out += ", \"sizes\": [";
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        if (i) out += ", ";
        append_integer(out, sizes[i]);
    }
    out += "], \"wcss\": ";
    append_doubles(out, wcss.data(), wcss.size());
    out += ", \"inertia\": ";
    append_double(out, inertia);
    out += ", \"iterations\": ";
    append_integer(out, iterations);
    out += ", \"n_init\": ";
    append_integer(out, n_init);
    out += ", \"seed\": ";
    append_integer(out, seed);
    out += ", \"n_points\": ";
    append_integer(out, n_points);
    out += ", \"converged\": ";
    out += converged ? "true" : "false";
    out += '}';
    return out;
}

KMeansModel KMeansModel::from_json(const std::string& text) {
    const JsonValue root = JsonReader(text).document();
    const ModelFields f(root);

    const JsonValue& format = f.get("format");
    if (format.type != JsonValue::Type::String || format.text != "crm.kmeans_model")
        ModelFields::wrong(format, "format", "\"crm.kmeans_model\"");
    const JsonValue& version = f.get("version");
    if (ModelFields::integer<int>(version, "version", 1) != 1)
        text_error_at(version.pos, "unsupported version (this build reads version 1)");

    KMeansModel m;
    m.k = ModelFields::integer<int>(f.get("k"), "k", 1);
    m.dims = ModelFields::integer<int>(f.get("dims"), "dims", 1);
    const JsonValue& scale = f.get("scale");
    if (scale.type != JsonValue::Type::String) ModelFields::wrong(scale, "scale", "a string");
    if (scale.text == "none") m.scale = Scaling::None;
    else if (scale.text == "zscore") m.scale = Scaling::ZScore;
    else if (scale.text == "minmax") m.scale = Scaling::MinMax;
    else ModelFields::wrong(scale, "scale", "\"none\", \"zscore\" or \"minmax\"");

    const JsonValue& names = f.get("feature_names");
    if (names.type != JsonValue::Type::Array) ModelFields::wrong(names, "feature_names", "an array of strings");
    for (const JsonValue& name : names.items) {
        if (name.type != JsonValue::Type::String) ModelFields::wrong(name, "feature_names", "an array of strings");
        m.feature_names.push_back(name.text);
    }
    m.offset = ModelFields::numbers(f.get("offset"), "offset");
    m.divisor = ModelFields::numbers(f.get("divisor"), "divisor");
    m.population_mean = ModelFields::numbers(f.get("population_mean"), "population_mean");
    m.population_std = ModelFields::numbers(f.get("population_std"), "population_std");
    m.centroids = ModelFields::matrix(f.get("centroids"), "centroids", m.k, m.dims);

    const JsonValue& sizes = f.get("sizes");
    if (sizes.type != JsonValue::Type::Array) ModelFields::wrong(sizes, "sizes", "an array of integers");
    for (const JsonValue& s : sizes.items) m.sizes.push_back(ModelFields::integer<std::int64_t>(s, "sizes", 0));
    m.wcss = ModelFields::numbers(f.get("wcss"), "wcss");
    m.inertia = ModelFields::number(f.get("inertia"), "inertia");
    m.iterations = ModelFields::integer<int>(f.get("iterations"), "iterations", 0);
    m.n_init = ModelFields::integer<int>(f.get("n_init"), "n_init", 0);
    m.seed = ModelFields::integer<std::uint64_t>(f.get("seed"), "seed", 0);
    m.n_points = ModelFields::integer<std::int64_t>(f.get("n_points"), "n_points", 0);
    const JsonValue& converged = f.get("converged");
    if (converged.type != JsonValue::Type::Bool) ModelFields::wrong(converged, "converged", "true or false");
    m.converged = converged.boolean;

    validate_model(m, ErrorKind::InvalidText, std::string(kTextWhat) + ": ");

    // The original-unit centroids are derived; they must agree with the scaled
    // ones so an edit to the wrong copy is caught instead of silently ignored.
    const JsonValue& original_json = f.get("centroids_original");
    const Eigen::MatrixXd original = ModelFields::matrix(original_json, "centroids_original", m.k, m.dims);
    const Eigen::MatrixXd expected = m.centroids_original();
    for (int c = 0; c < m.k; ++c)
        for (int j = 0; j < m.dims; ++j)
            if (!(std::abs(original(c, j) - expected(c, j)) <= 1e-9 * (std::abs(expected(c, j)) + m.divisor[j])))
                text_error_at(original_json.pos,
                              "\"centroids_original\" disagrees with \"centroids\" (edit the scaled centroids)");
    return m;
}

// ---------------------------------------------------------------------------
// Silhouette

SilhouetteResult silhouette(const KMeansModel& model, const PointSet& points, std::int64_t sample_size,
                            std::uint64_t seed) {
    if (sample_size < 1) throw_invalid("silhouette sample size must be at least 1, got " + std::to_string(sample_size));
    const std::int64_t n = points.size();
    if (n == 0) return {kNaN, 0};
    if (points.dims() != model.dims)
        throw_invalid("the points have " + std::to_string(points.dims()) + " features, the model " +
                      std::to_string(model.dims));
    if (model.k == 1) return {kNaN, 0};  // b(i) needs another cluster

    // Knuth's selection sampling: one pass, exactly uniform, keeps input order.
    const std::int64_t m = std::min(n, sample_size);
    std::vector<std::int64_t> chosen;
    chosen.reserve(static_cast<std::size_t>(m));
    if (m == n) {
        for (std::int64_t i = 0; i < n; ++i) chosen.push_back(i);
    } else {
        std::mt19937_64 rng(mix64(seed));
        for (std::int64_t i = 0; i < n && static_cast<std::int64_t>(chosen.size()) < m; ++i)
            if (uniform_below(rng, static_cast<std::uint64_t>(n - i)) <
                static_cast<std::uint64_t>(m - static_cast<std::int64_t>(chosen.size())))
                chosen.push_back(i);
    }

    const int d = model.dims;
    RowMatrix x(m, d);
    std::vector<int> label(static_cast<std::size_t>(m));
    std::vector<std::int64_t> count(model.k, 0);
    const double* raw = points.data().data();
    for (std::int64_t s = 0; s < m; ++s) {
        const double* p = raw + chosen[s] * d;
        for (int j = 0; j < d; ++j) x(s, j) = (p[j] - model.offset[j]) / model.divisor[j];
        double d2;
        label[s] = nearest_centroid(x.row(s).data(), model.centroids, d2);
        ++count[label[s]];
    }
    if (std::count_if(count.begin(), count.end(), [](std::int64_t c) { return c > 0; }) < 2) return {kNaN, m};

    // Sum of distances from every point to each cluster; each pair once.
    RowMatrix to_cluster = RowMatrix::Zero(m, model.k);
    for (std::int64_t i = 0; i < m; ++i) {
        check_interrupts();
        for (std::int64_t j = i + 1; j < m; ++j) {
            const double dist = (x.row(i) - x.row(j)).norm();
            to_cluster(i, label[j]) += dist;
            to_cluster(j, label[i]) += dist;
        }
    }

    double total = 0;
    for (std::int64_t i = 0; i < m; ++i) {
        const int own = label[i];
        if (count[own] == 1) continue;  // a lone point scores 0
        const double a = to_cluster(i, own) / static_cast<double>(count[own] - 1);
        double b = kInf;
        for (int c = 0; c < model.k; ++c)
            if (c != own && count[c] > 0) b = std::min(b, to_cluster(i, c) / static_cast<double>(count[c]));
        const double spread = std::max(a, b);
        if (spread > 0) total += (b - a) / spread;
    }
    return {total / static_cast<double>(m), m};
}

}  // namespace crm
