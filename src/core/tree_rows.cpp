// The training set of a tree fit: TreeRows (what an aggregate accumulates)
// and its preparation for the builder (canonical order, presorted columns).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "byte_io.hpp"
#include "errors.hpp"
#include "kmeans_random.hpp"
#include "tree_internal.hpp"
#include "tree_model.hpp"

namespace crm {

namespace {

using tree_detail::Progress;
using tree_detail::Row;

constexpr std::uint8_t kTreeRowsVersion = 1;
constexpr std::uint64_t kQuietNaNBits = 0x7FF8000000000000ULL;

double bits_to_double(std::uint64_t bits) {
    double v;
    std::memcpy(&v, &bits, sizeof v);
    return v;
}

std::uint64_t double_bits(double v) {
    std::uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    return bits;
}

// One bit pattern per value: every NaN becomes the same quiet NaN and -0.0
// becomes 0.0, so rows that compare equal have equal bytes, hash alike and
// sort next to each other.
double normalised(double v) { return std::isnan(v) ? bits_to_double(kQuietNaNBits) : v + 0.0; }

// An unsigned key with the order of the doubles: negatives below positives,
// the (normalised) NaN above +Infinity, so missing values sort last.
std::uint64_t order_key(double v) {
    const std::uint64_t bits = double_bits(v);
    return (bits >> 63) != 0 ? ~bits : bits | (std::uint64_t{1} << 63);
}

double from_order_key(std::uint64_t key) {
    return bits_to_double((key >> 63) != 0 ? key & ~(std::uint64_t{1} << 63) : ~key);
}

std::string describe(double v) {
    return std::isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

// Stable LSD radix sort of (key, payload) pairs by key, 11 bits a pass, in
// about six linear passes whatever the data (a comparison sort of a million
// doubles costs several times more). Digits that are the same for every key
// (small integers, one sign) are skipped.
void radix_sort(std::vector<std::uint64_t>& keys, std::vector<Row>& payload, Progress& progress) {
    constexpr int kBits = 11;
    constexpr int kPasses = (64 + kBits - 1) / kBits;
    constexpr std::size_t kBuckets = std::size_t{1} << kBits;
    const std::size_t n = keys.size();
    std::vector<std::size_t> counts(kPasses * kBuckets, 0);
    for (const std::uint64_t k : keys)
        for (int p = 0; p < kPasses; ++p) ++counts[p * kBuckets + ((k >> (p * kBits)) & (kBuckets - 1))];
    progress.add(n);
    std::vector<std::uint64_t> keys_out(n);
    std::vector<Row> payload_out(n);
    for (int p = 0; p < kPasses; ++p) {
        std::size_t* c = counts.data() + p * kBuckets;
        if (std::find(c, c + kBuckets, n) != c + kBuckets) continue;  // one digit value for all keys
        std::size_t offset = 0;
        for (std::size_t b = 0; b < kBuckets; ++b) offset += std::exchange(c[b], offset);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t slot = c[(keys[i] >> (p * kBits)) & (kBuckets - 1)]++;
            keys_out[slot] = keys[i];
            payload_out[slot] = payload[i];
        }
        keys.swap(keys_out);
        payload.swap(payload_out);
        progress.add(n);
    }
}

// Makes room for `more` elements, doubling the capacity when it runs out.
void grow_for(std::pmr::vector<double>& v, std::size_t more) {
    if (v.capacity() - v.size() < more) v.reserve(std::max(2 * v.capacity(), v.size() + more));
}

// Hash of a row's (normalised) contents.
std::uint64_t hash_row(const double* x, int dims, double label) {
    std::uint64_t h = 0x243F6A8885A308D3ULL;
    for (int j = 0; j < dims; ++j) h = kmeans_detail::mix64(h ^ double_bits(x[j]));
    return kmeans_detail::mix64(h ^ double_bits(label));
}

}  // namespace

// ---------------------------------------------------------------------------
// TreeRows

TreeRows::TreeRows(std::pmr::memory_resource* memory) : features_(memory), labels_(memory) {}

void TreeRows::add(const double* features, int dims, double label) {
    if (dims < 1) throw_invalid("a row needs at least one feature, got " + std::to_string(dims));
    if (dims_ != 0 && dims != dims_)
        throw_invalid("ragged rows: this row has " + std::to_string(dims) + " features, the first had " +
                      std::to_string(dims_));
    for (int j = 0; j < dims; ++j)
        if (std::isinf(features[j]))
            throw_invalid("feature " + std::to_string(j + 1) + " is " + describe(features[j]) +
                          " (a missing value is NULL or NaN)");
    if (!std::isfinite(label)) throw_invalid("the label is " + describe(label) + "; labels must be finite");
    // Room first (geometric growth), so a bad_alloc leaves the set unchanged.
    grow_for(features_, static_cast<std::size_t>(dims));
    grow_for(labels_, 1);
    for (int j = 0; j < dims; ++j) features_.push_back(normalised(features[j]));
    labels_.push_back(label + 0.0);
    dims_ = dims;
}

void TreeRows::merge(const TreeRows& other) {
    if (other.size() == 0) return;
    if (size() == 0) {
        dims_ = other.dims_;
    } else if (other.dims_ != dims_) {
        throw_invalid("ragged rows: " + std::to_string(other.dims_) + " features in one part, " +
                      std::to_string(dims_) + " in the other");
    }
    if (&other == this) {  // inserting a vector into itself is undefined
        const std::vector<double> features(features_.begin(), features_.end());
        const std::vector<double> labels(labels_.begin(), labels_.end());
        features_.insert(features_.end(), features.begin(), features.end());
        labels_.insert(labels_.end(), labels.begin(), labels.end());
        return;
    }
    features_.insert(features_.end(), other.features_.begin(), other.features_.end());
    labels_.insert(labels_.end(), other.labels_.begin(), other.labels_.end());
}

std::size_t TreeRows::memory_bytes() const {
    return sizeof(TreeRows) + (features_.capacity() + labels_.capacity()) * sizeof(double);
}

std::size_t TreeRows::bytes_per_row(int dims) {
    return (static_cast<std::size_t>(std::max(dims, 0)) + 1) * sizeof(double);
}

std::vector<std::uint8_t> TreeRows::serialize() const {
    ByteWriter w(tags::tree_rows, kTreeRowsVersion);
    w.u32(static_cast<std::uint32_t>(dims_));
    w.f64s(features_);
    w.f64s(labels_);
    return w.take();
}

TreeRows TreeRows::deserialize(const std::uint8_t* data, std::size_t size, std::pmr::memory_resource* memory) {
    const char* what = "decision tree training rows";
    ByteReader r(data, size, tags::tree_rows, kTreeRowsVersion, what);
    const std::uint32_t dims = r.u32();
    const std::vector<double> features = r.f64s();
    const std::vector<double> labels = r.f64s();
    r.expect_end();
    const auto bad = [what](const std::string& why) {
        throw Error(ErrorKind::InvalidBinary, std::string("invalid ") + what + " value: " + why);
    };
    if (dims > static_cast<std::uint32_t>(std::numeric_limits<int>::max())) bad("too many features");
    if ((dims == 0) != labels.empty()) bad("the number of features and of rows disagree");
    if (dims != 0 && (features.size() % dims != 0 || features.size() / dims != labels.size()))
        bad("the features are not one row per label");
    for (const double v : features)
        if (std::isinf(v)) bad("an infinite feature");
    for (const double v : labels)
        if (!std::isfinite(v)) bad("a label that is not finite");
    TreeRows out(memory);
    out.dims_ = static_cast<int>(dims);
    out.features_.reserve(features.size());
    for (const double v : features) out.features_.push_back(normalised(v));
    out.labels_.assign(labels.begin(), labels.end());
    return out;
}

// ---------------------------------------------------------------------------
// Preparation for the builder

namespace tree_detail {

TrainingSet prepare_training_set(const TreeRows& rows) {
    Progress progress(true, nullptr);
    TrainingSet t;
    t.n = rows.size();
    t.dims = rows.dims();
    const int d = t.dims;

    // Canonical order: by hash of the contents, equal hashes by the contents.
    // Any order fixed by the multiset would do; this one costs one radix sort.
    std::vector<std::uint64_t> keys(t.n);
    t.source.resize(t.n);
    for (std::size_t i = 0; i < t.n; ++i) {
        keys[i] = hash_row(rows.row(i), d, rows.label(i));
        t.source[i] = static_cast<Row>(i);
    }
    progress.add(t.n);
    radix_sort(keys, t.source, progress);
    const auto row_key = [&rows, d](Row i, int j) {  // column d is the label
        return order_key(j < d ? rows.row(i)[j] : rows.label(i));
    };
    const auto contents_less = [&row_key, d](Row a, Row b) {
        for (int j = 0; j <= d; ++j) {
            const std::uint64_t ka = row_key(a, j), kb = row_key(b, j);
            if (ka != kb) return ka < kb;
        }
        return false;
    };
    for (std::size_t begin = 0; begin < t.n;) {
        std::size_t end = begin + 1;
        bool identical = true;
        while (end < t.n && keys[end] == keys[begin]) {
            identical = identical && !contents_less(t.source[begin], t.source[end]) &&
                        !contents_less(t.source[end], t.source[begin]);
            ++end;
        }
        // Rows of one hash are nearly always copies of one row; only a true
        // collision needs sorting.
        if (!identical) std::sort(t.source.begin() + begin, t.source.begin() + end, contents_less);
        progress.add(end - begin);
        begin = end;
    }

    t.y.resize(t.n);
    for (std::size_t i = 0; i < t.n; ++i) t.y[i] = rows.label(t.source[i]);

    // Presorted columns: positions by (value, position), missing values last.
    t.sorted_values.resize(static_cast<std::size_t>(d));
    t.sorted_rows.resize(static_cast<std::size_t>(d));
    for (int j = 0; j < d; ++j) {
        std::vector<Row>& order = t.sorted_rows[static_cast<std::size_t>(j)];
        order.resize(t.n);
        for (std::size_t i = 0; i < t.n; ++i) {
            keys[i] = order_key(rows.row(t.source[i])[j]);
            order[i] = static_cast<Row>(i);
        }
        progress.add(t.n);
        radix_sort(keys, order, progress);
        std::vector<double>& values = t.sorted_values[static_cast<std::size_t>(j)];
        values.resize(t.n);
        for (std::size_t i = 0; i < t.n; ++i) values[i] = from_order_key(keys[i]);
    }
    return t;
}

void size_workspace(Workspace& ws, const TrainingSet& data) {
    const auto d = static_cast<std::size_t>(data.dims);
    ws.values.resize(d);
    ws.rows.resize(d);
    ws.stat.resize(data.n);
    ws.goes_left.resize(data.n);
    ws.scratch_values.resize(data.n);
    ws.scratch_rows.resize(data.n);
    ws.scratch_stat.resize(data.n);
}

void fill_stats(Workspace& ws, const TrainingSet& data, const std::uint32_t* multiplicity,
                const TreeOptions& options, bool regression) {
    ws.active = 0;
    for (std::size_t i = 0; i < data.n; ++i) {
        const double times = multiplicity != nullptr ? static_cast<double>(multiplicity[i]) : 1.0;
        const double y = data.y[i];
        const double class_weight =
            regression ? 1.0 : (y != 0.0 ? options.class_weight_true : options.class_weight_false);
        const double w = times * class_weight;
        ws.stat[i] = {w, w * y};
        if (w > 0) ++ws.active;
    }
}

void copy_columns(Workspace& ws, const TrainingSet& data, Progress& progress) {
    for (std::size_t j = 0; j < ws.values.size(); ++j) {
        const std::vector<double>& from_values = data.sorted_values[j];
        const std::vector<Row>& from_rows = data.sorted_rows[j];
        std::vector<double>& values = ws.values[j];
        std::vector<Row>& rows = ws.rows[j];
        values.resize(ws.active);
        rows.resize(ws.active);
        if (ws.active == data.n) {
            std::copy(from_values.begin(), from_values.end(), values.begin());
            std::copy(from_rows.begin(), from_rows.end(), rows.begin());
        } else {
            std::size_t k = 0;
            for (std::size_t i = 0; i < data.n; ++i) {
                const Row r = from_rows[i];
                if (ws.stat[r].w > 0) {
                    values[k] = from_values[i];
                    rows[k] = r;
                    ++k;
                }
            }
        }
        progress.add(data.n);
    }
}

}  // namespace tree_detail
}  // namespace crm
