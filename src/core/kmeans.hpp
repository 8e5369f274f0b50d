// k-means clustering of customers (or any numeric feature vectors).
//
// Pipeline: gather points (PointSet, optionally a bounded uniform sample) ->
// kmeans_fit (feature scaling, greedy k-means++ seeding, Hamerly-accelerated
// exact Lloyd iterations, best of n_init starts) -> KMeansModel, which assigns
// new points, serialises to portable bytes and to a JSON text form.
//
// Reproducibility: every random choice is drawn from 64-bit generators whose
// output sequence is fixed by the C++ standard (std::mt19937_64) or by this
// file (SplitMix64), and turned into indices and fractions by code in
// kmeans_random.hpp rather than by the standard distributions, whose algorithms are
// implementation-defined. The same seed and the same points in the same order
// therefore make the same random choices on every platform; the arithmetic is
// IEEE double, so results can differ in the last bits only where a compiler
// fuses multiply-adds, which matters only at exact ties.
#pragma once

#include <Eigen/Dense>
#include <cstddef>
#include <cstdint>
#include <string>
#include <memory_resource>
#include <vector>

namespace crm {

// How features are scaled before distances are measured.
enum class Scaling { None, ZScore, MinMax };

// "none" | "zscore" | "minmax" (exact, lower case); anything else is 22023
// naming the value.
Scaling parse_scaling(const std::string& name);
const char* scaling_name(Scaling scale);

struct KMeansOptions {
    int k = 0;                 // number of clusters, 1 <= k <= distinct points
    std::uint64_t seed = 0;    // the same seed gives the same model
    int n_init = 10;           // best of n_init k-means++ starts by inertia (>= 1)
    int max_iter = 300;        // Lloyd iterations per start (>= 1)
    // Relative tolerance as in scikit-learn: a start stops when the total squared
    // centroid shift of an iteration is <= tol * (mean per-feature variance of
    // the scaled data). tol = 0 runs until the assignment no longer changes.
    double tol = 1e-4;
    Scaling scale = Scaling::ZScore;
    std::vector<std::string> feature_names;  // empty or exactly dims names
    bool verbose = false;      // when true, the progress callback is called every iteration
    // Addition to the brief's options: optional k x dims starting centroids in
    // original units (a warm start, e.g. a stored model's centroids_original()).
    // Empty: k-means++ seeding. When given, the fit makes a single start (the
    // model records n_init = 1), since every start would be the same.
    Eigen::MatrixXd initial_centroids;
};

// Called after every Lloyd iteration when given: the start (1..n_init), the
// iteration (1..max_iter) and, when options.verbose is set, the inertia of the
// current assignment around the updated centroids (scaled space; it costs a
// pass over the points), else NaN. May throw to abort.
using ProgressCallback = void (*)(int init, int iteration, double inertia, void* arg);

// The points of a fit, row-major with a dimensionality fixed by the first point.
//
// With sample_size > 0 at most sample_size points are kept: a uniform reservoir
// sample (Algorithm R) of every point offered, so the memory of an aggregate
// over a huge table stays bounded. The sampling stream is SplitMix64 (one
// 64-bit word of state, so a partial state serialises exactly); it starts from
// the seed and is keyed with the first point added, so partial states built by
// parallel workers over different rows draw independent-looking streams even
// though they share the seed, which merge() needs for an unbiased union.
class PointSet {
public:
    // sample_size = 0 keeps every point; a negative size is 22023.
    // The points' arrays come from `memory` (the adapter passes a resource
    // over the aggregate's memory context, so PostgreSQL counts them).
    explicit PointSet(std::int64_t sample_size = 0, std::uint64_t seed = 0,
                      std::pmr::memory_resource* memory = std::pmr::get_default_resource());

    // The first call fixes dims (>= 1). A point of another dimensionality is
    // 22023 "ragged"; a NaN or infinite element is 22023 naming its 1-based
    // index. A rejected point leaves the set unchanged.
    void add(const double* x, int dims);

    // Adds another partial set (parallel aggregation). Without sampling the
    // points are appended. With sampling a set keeps the sample_size rows of
    // smallest key, a seeded hash of the row's contents (bottom-k sampling):
    // every row has the same chance to be kept, and the sample of a union is
    // the sample of the parts' samples, so it depends on the rows, never on the
    // order they arrive in (a parallel plan, VACUUM FULL, a restore). Identical
    // rows share a key: they are kept or dropped together, which leaves every
    // row's chance the same. The sample sizes, seeds and dimensionalities must
    // agree (22023).
    void merge(const PointSet& other);

    // The same points with the rows in lexicographic order: the canonical
    // order a fit starts from, so that the fit depends on the rows only.
    PointSet canonical() const;

    int dims() const { return dims_; }                  // 0 until the first point
    std::int64_t size() const { return dims_ == 0 ? 0 : static_cast<std::int64_t>(data_.size()) / dims_; }
    std::int64_t seen() const { return seen_; }         // points offered (>= size())
    std::int64_t sample_size() const { return sample_size_; }
    const std::pmr::vector<double>& data() const { return data_; }  // size() x dims(), row-major
    std::size_t memory_bytes() const;

    // Portable bytes (tag tags::point_set, version 2). Version 1 (0.1.0, a
    // reservoir sample) is read only without sampling: a 0.1.0 sample cannot
    // be merged with a bottom-k one (22023, recompute it).
    std::vector<std::uint8_t> serialize() const;
    // Truncated or inconsistent bytes are 22P03, never an out-of-bounds read.
    static PointSet deserialize(const std::uint8_t* data, std::size_t size);

private:
    std::uint64_t key_of(const double* x) const;
    bool row_less(std::uint64_t key, const double* x, std::int64_t slot) const;  // (key, x) < slot's
    void offer(const double* x, std::uint64_t key);  // sampling: keep if among the smallest keys
    void rebuild_keys();

    std::int64_t sample_size_ = 0;
    std::uint64_t seed_ = 0;
    int dims_ = 0;
    std::int64_t seen_ = 0;
    std::pmr::vector<double> data_;
    std::pmr::vector<std::uint64_t> keys_;  // sampling only: each kept row's key
    std::pmr::vector<std::int64_t> heap_;   // sampling only: kept rows, a max-heap by (key, contents)
};

// Checks the options that do not depend on the data, for every caller alike:
// k >= 1, n_init >= 1, max_iter >= 1, tol finite and >= 0, sample_size >= 0
// (0: no sampling) and, when sampling, >= k, feature names neither empty nor
// holding the NUL character, initial_centroids (when given) k rows of finite
// numbers. Anything else is 22023 naming the option.
void validate_kmeans_options(const KMeansOptions& options, std::int64_t sample_size = 0);

// The silhouette's sample size must be >= 1 (22023).
void validate_silhouette_sample_size(std::int64_t sample_size);

// Bytes kmeans_fit allocates for n points of dims features and k clusters
// (scaled copy of the points, Hamerly bounds, labels, k-means++ distance
// arrays, centroid buffers), for a memory check before the fit. The input
// PointSet itself is not included (see PointSet::memory_bytes). Negative
// arguments count as 0; the result saturates at SIZE_MAX.
std::size_t kmeans_memory_estimate(std::int64_t n, int dims, int k);

struct KMeansModel {
    int k = 0;
    int dims = 0;
    Scaling scale = Scaling::ZScore;
    // scaled = (x - offset) / divisor, per feature.
    //   zscore: mean and population standard deviation; minmax: min and max - min;
    //   none: 0 and 1. A feature that is constant in the data gets divisor 1
    //   (and, for zscore and minmax, offset equal to that constant), so it
    //   scales to exactly 0 and adds nothing to any distance.
    std::vector<double> offset, divisor;
    Eigen::MatrixXd centroids;        // k x dims, scaled space
    std::vector<std::int64_t> sizes;  // points per cluster
    std::vector<double> wcss;         // within-cluster sum of squares per cluster (scaled space)
    double inertia = 0;               // sum of wcss
    int iterations = 0;               // Lloyd iterations of the best start
    int n_init = 0;
    std::uint64_t seed = 0;
    std::int64_t n_points = 0;        // points the model was fitted on (after any sampling)
    bool converged = false;           // the best start met the tolerance within max_iter
    std::vector<std::string> feature_names;  // empty or dims names
    // Addition to the brief's field list: mean and population standard deviation
    // of every feature of the fitted points in original units, whatever the
    // scaling, so cluster profiles (kmeans_labels.hpp) are exact for every
    // scaling. Empty or dims values each.
    std::vector<double> population_mean, population_std;

    // k x dims centroids in original units: centroid * divisor + offset.
    Eigen::MatrixXd centroids_original() const;

    // 1-based cluster (1..k) of a point given in original units: the nearest
    // centroid in scaled space, the lowest cluster number on an exact tie. The
    // Euclidean distance to it (scaled space) goes to *distance when given. A
    // dims mismatch or a NaN/infinite element is 22023. Bit-for-bit the rule
    // the fit used for sizes, wcss and inertia.
    int assign(const double* x, int dims, double* distance = nullptr) const;

    // Portable bytes (tag tags::kmeans_model, version 1).
    std::vector<std::uint8_t> serialize() const;
    // Validates everything (k >= 1, dims >= 1, array lengths, finite numbers,
    // positive divisors, sizes adding up to n_points, inertia = sum of wcss,
    // feature names without the NUL character); anything wrong is 22P03.
    static KMeansModel deserialize(const std::uint8_t* data, std::size_t size);

    // Readable JSON: {"format": "crm.kmeans_model", "version": 1, ...} with every
    // field above and the centroids in scaled and in original units. Doubles are
    // written with 17 significant digits (locale-independent), so from_json
    // gives back the same bits; seed and counts are exact integers.
    std::string to_json() const;
    // Reads what to_json writes (any JSON whitespace and key order; every key
    // required exactly once; unknown keys rejected; "centroids_original" must
    // agree with "centroids" to 1e-9 relative and is otherwise informational).
    // Malformed text (RFC 8259, strings in valid UTF-8) or an invalid model is
    // 22P02, with the byte position; a feature name with the NUL character
    // (\u0000) is 22023. Parsed with nlohmann-json's SAX reader into the model's
    // fields (no document tree); number literals over 4096 bytes are refused.
    static KMeansModel from_json(const std::string& text);
};

// Fits k-means on the points.
//
// Seeding: greedy k-means++ as in scikit-learn (2 + floor(ln k) candidate
// centres per step, sampled proportionally to D^2, keeping the one that lowers
// the potential most). Iterations: exact Lloyd, accelerated with Hamerly's
// bounds (one upper bound to the own centroid, one lower bound to every other
// centroid per point: O(n) extra memory, and it skips most distance
// computations on the low-dimensional data typical of customer features, where
// it beats Elkan's k bounds per point and GEMM distance blocks, which also lose
// precision to cancellation). An empty cluster is re-seeded from the point
// farthest from its centroid. After the last iteration every point is assigned
// once more, exactly, to the final centroids; sizes, wcss and inertia are of
// that assignment (as scikit-learn's labels_ and inertia_). Best of n_init
// starts by inertia (the earlier start on a tie); start i uses std::mt19937_64
// seeded from (seed, i).
//
// Errors (22023): no points, k < 1, k > distinct points (hint: lower k),
// n_init < 1, max_iter < 1, tol negative or NaN, feature_names of the wrong
// length, initial_centroids not k x dims or not finite. Feature values too large to scale are 22003. check_interrupts() is
// called throughout.
KMeansModel kmeans_fit(const PointSet& points, const KMeansOptions& options,
                       ProgressCallback progress = nullptr, void* progress_arg = nullptr);

// Mean silhouette coefficient of the points under the model (scaled space,
// clusters by KMeansModel::assign). Exact when the points number at most
// sample_size, else on a uniform sample of sample_size of them drawn with
// std::mt19937_64 seeded from seed; sample_size in the result is the number of
// points actually used. A point alone in its cluster scores 0 (as in
// scikit-learn). NaN (undefined) when k == 1, when there are no points, or when
// the points used fall into a single cluster. sample_size < 1 or a dims
// mismatch is 22023.
// Bytes silhouette() and the sample it reads take for sample_size points of
// dims features and k clusters: the sample (8 dims a point), its scaled copy
// (8 dims), the distance sums to every cluster (8 k), the chosen index (8) and
// the label (4), plus a fixed 4096. Negative arguments count as 0; the result
// saturates at SIZE_MAX.
std::size_t silhouette_memory_estimate(std::int64_t sample_size, int dims, int k);

struct SilhouetteResult {
    double score;
    std::int64_t sample_size;
};
SilhouetteResult silhouette(const KMeansModel& model, const PointSet& points,
                            std::int64_t sample_size = 10000, std::uint64_t seed = 0);

}  // namespace crm
