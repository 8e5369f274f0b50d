// Decision trees (CART) and random forests for binary classification and
// regression.
//
// Pipeline: gather rows (TreeRows: features, one label each, mergeable and
// serialisable for parallel aggregation) -> tree_fit (one CART tree, or a
// random forest of them) -> TreeModel, which predicts, lists its rules,
// serialises to portable bytes and to a JSON text form.
//
// The fit follows scikit-learn's DecisionTreeClassifier / Regressor
// (depth-first growth, the "best" splitter) and RandomForestClassifier /
// Regressor, so results can be compared with them:
//  - Thresholds lie between consecutive distinct values of a feature among
//    the node's rows: a/2 + b/2 (b if that rounds up to b, then a); a value
//    <= threshold goes left.
//  - A split is valid when both children keep at least min_samples_leaf rows
//    (counted unweighted). Among valid splits the one with the largest
//    weighted impurity decrease wins. Ties: the first one found, scanning the
//    features in index order and each feature's thresholds in ascending
//    order, so the lowest feature index and then the lowest threshold win.
//    (scikit-learn visits features in a random order, so it breaks such ties
//    at random; here they are deterministic.)
//  - A node stays a leaf when it is pure, at depth max_depth, has fewer than
//    min_samples_split or 2 * min_samples_leaf rows, has no valid split, or
//    when its best split's decrease W_t / W * (imp - W_R / W_t * imp_R -
//    W_L / W_t * imp_L) + DBL_EPSILON < min_impurity_decrease, with W the
//    weighted rows of the whole tree (scikit-learn's formula).
//  - max_features < dims: each node draws features without replacement until
//    max_features were drawn and one of them varies among the node's rows
//    (scikit-learn's rule), then scans those in index order. A single tree
//    draws from start_generator(seed, 0) (kmeans_random.hpp).
//  - Differences from scikit-learn: it trains on float32 copies of the
//    features (here every double counts) and treats values within 1e-7 of
//    each other as equal (here only equal values are); for max_features <
//    dims the features tried are drawn by another random stream; missing
//    values are handled differently (below).
//
// Missing values: a NaN feature is a missing value. A split is searched over
// the node's rows whose value of that feature is present; the rows where it
// is missing then join the child with the larger weighted count of present
// rows (the left one on a tie), and the split is scored with them in it, so
// splits on features with and without missing values compare fairly. The
// node records that direction (missing_left); at prediction a missing value
// follows it. A node whose feature had no missing value at fit still records
// the direction of its larger child, which is where a missing value goes at
// prediction.
//
// Row order: the fit first puts the rows in a canonical order (by a hash of
// each row's contents, ties broken by the contents), so the model depends on
// the multiset of rows only, not on the order an aggregate received them in:
// floating-point sums and the bootstrap's draws follow that order.
//
// Random forests: tree t draws from its own stream (start_generator(seed, t),
// see kmeans_random.hpp): first, with bootstrap, n row indices with
// replacement (a row's weight is its multiplicity, as scikit-learn's
// sample_weight approach; "samples" then counts distinct rows), then the
// max_features features tried at each node. The trees are fitted on
// `threads` threads; each tree depends only on (rows, options, t), and the
// out-of-bag sums are taken in tree order, so the model is the same for every
// thread count. The threads never call check_interrupts (the calling thread
// does, while it waits) nor anything of PostgreSQL; they allocate with the
// ordinary heap, never with a TreeRows' memory resource.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory_resource>
#include <string>
#include <vector>

namespace crm {

// Gini and Entropy (log base 2, as scikit-learn) are for classification,
// SquaredError for regression.
enum class TreeCriterion { Gini, Entropy, SquaredError };

// "gini" | "entropy" | "squared_error" (exact, lower case); anything else is
// 22023 naming the value.
TreeCriterion parse_tree_criterion(const std::string& name);
const char* tree_criterion_name(TreeCriterion criterion);

struct TreeOptions {
    int max_depth = 0;              // 0 = unlimited; the root is at depth 0
    int min_samples_split = 2;      // >= 2
    int min_samples_leaf = 1;       // >= 1
    double min_impurity_decrease = 0.0;  // finite, >= 0
    TreeCriterion criterion = TreeCriterion::Gini;
    double class_weight_true = 1.0;  // weight of label true / false rows (classification); > 0, finite
    double class_weight_false = 1.0;
    int n_trees = 0;                // 0 = one plain CART tree on all rows; >= 1 = random forest of n_trees
    // Features tried per split, 0..dims: 0 = all (forest: floor(sqrt(dims)), at
    // least 1, scikit-learn's classifier default; its regressor tries all
    // features by default, so pass dims to compare with it).
    int max_features = 0;
    bool bootstrap = true;          // forest only
    std::uint64_t seed = 0;
    int threads = 2;                // forest: trees fitted on this many threads (1 = serial); results identical whatever the number
                                    // (a single tree is grown on the calling thread)
    std::vector<std::string> feature_names;  // optional, size dims when given
};

// Largest accepted n_trees and threads.
constexpr int kMaxTrees = 100000;
constexpr int kMaxTreeThreads = 64;
// Largest tree: a fit growing more nodes in one tree is 54000.
constexpr std::size_t kMaxTreeNodes = std::size_t{1} << 24;

// Checks the options that hold for either kind of model: dims >= 1,
// max_depth >= 0, min_samples_split >= 2, min_samples_leaf >= 1,
// min_impurity_decrease finite and >= 0, class weights finite and > 0,
// 0 <= n_trees <= kMaxTrees, 0 <= max_features <= dims, 1 <= threads <=
// kMaxTreeThreads, feature_names empty or dims non-empty names without the
// NUL character. Anything else is 22023 naming the option.
void validate(const TreeOptions& options, int dims);
// The same, plus what depends on the kind: the criterion must be Gini or
// Entropy for classification and SquaredError for regression, and class
// weights other than 1 apply to classification only.
void validate(const TreeOptions& options, int dims, bool regression);

// The training set an aggregate accumulates: feature vectors of a fixed
// dimensionality and one label each, 0/1 for classification or any finite
// double for regression (the kind is the fit's business, not this set's).
class TreeRows {
public:
    // The arrays come from `memory` (the adapter passes a resource over the
    // aggregate's memory context, so PostgreSQL counts them).
    explicit TreeRows(std::pmr::memory_resource* memory = std::pmr::get_default_resource());

    // The first row fixes dims (>= 1); a row of another dimensionality is
    // 22023. A NaN feature is a missing value (stored as the one quiet NaN);
    // an infinite feature, or a NaN or infinite label, is 22023 naming it.
    // -0.0 is stored as 0.0. A rejected row leaves the set unchanged.
    void add(const double* features, int dims, double label);
    // Appends another set's rows (parallel workers); dims must agree (22023).
    void merge(const TreeRows& other);

    std::size_t size() const { return labels_.size(); }
    int dims() const { return dims_; }  // 0 until the first row
    const double* row(std::size_t i) const { return features_.data() + i * static_cast<std::size_t>(dims_); }
    double label(std::size_t i) const { return labels_[i]; }
    const std::pmr::vector<double>& features() const { return features_; }  // size() x dims(), row-major
    const std::pmr::vector<double>& labels() const { return labels_; }
    std::pmr::memory_resource* resource() const { return features_.get_allocator().resource(); }

    // Heap bytes held (capacities), for the adapter's memory limit.
    std::size_t memory_bytes() const;
    // What one more row of dims features costs once stored.
    static std::size_t bytes_per_row(int dims);

    // Portable bytes (tag tags::tree_rows, version 1).
    std::vector<std::uint8_t> serialize() const;
    // Truncated or inconsistent bytes are 22P03, never an out-of-bounds read.
    static TreeRows deserialize(const std::uint8_t* data, std::size_t size,
                                std::pmr::memory_resource* memory = std::pmr::get_default_resource());

private:
    int dims_ = 0;
    std::pmr::vector<double> features_;
    std::pmr::vector<double> labels_;
};

struct TreeNode {
    int feature = -1;        // 0-based split feature; -1 for a leaf
    double threshold = 0;    // value <= threshold goes left
    int left = -1, right = -1;  // child node indices (always greater than this node's); -1 for a leaf
    bool missing_left = true;   // where a missing value of `feature` goes
    double value = 0;           // prediction: weighted share of true (classification) or weighted mean (regression)
    double weighted_samples = 0;  // sum of the rows' weights (class weight x bootstrap multiplicity)
    std::int64_t samples = 0;     // distinct rows (with bootstrap: distinct rows drawn)
    double impurity = 0;          // of the node's rows, weighted, by the fit's criterion
    std::int64_t missing_samples = 0;  // split nodes: rows whose `feature` was missing at fit
};

// nodes[0] is the root; nodes are in depth-first preorder (left subtree
// first), as scikit-learn numbers them.
struct DecisionTree {
    std::vector<TreeNode> nodes;
};

struct TreeRule {
    int leaf;               // node index of the leaf
    std::string condition;  // e.g. "recency > 120.5 AND 3.5 < frequency <= 10.5"
    std::int64_t samples;
    double value;
};

class TreeModel {
public:
    bool regression = false;
    int dims = 0;
    TreeOptions options;                     // as fitted (feature_names as below)
    std::vector<std::string> feature_names;  // empty or dims names
    std::vector<DecisionTree> trees;         // one for a plain CART tree, n_trees for a forest
    std::int64_t n_samples = 0;              // rows fitted
    // Mean decrease in impurity per feature, summing to 1 (all zero when no
    // tree has a split). A forest averages the normalised vectors of its
    // trees that have a split (scikit-learn).
    std::vector<double> feature_importance;
    // Forest with bootstrap: out-of-bag accuracy (classification: a row is
    // predicted true when the mean of its out-of-bag trees' values is > 0.5)
    // or R^2 (regression), unweighted, over the rows left out by at least one
    // tree. NaN otherwise, or when no row was ever left out.
    double oob_score = std::numeric_limits<double>::quiet_NaN();

    // Of the first tree: the depth of its deepest leaf (root only: 0) and its
    // number of leaves.
    int depth() const;
    int leaves() const;

    // Mean over the trees of the leaf value x reaches: the probability of true
    // (classification, scikit-learn's predict_proba averaging) or the value
    // (regression). A NaN element is a missing value (follows missing_left);
    // infinite elements compare as numbers. A dims mismatch is 22023.
    double predict(const double* x, int dims) const;

    // One rule per leaf of tree `tree` (0-based; out of range: 22023), in node
    // order. The condition joins one term per feature with " AND ", in the
    // order the features first appear on the path from the root; the bounds a
    // path puts on one feature merge into one term ("x <= 3", "x > 1.5",
    // "1.5 < x <= 3"). When missing values of a feature take the path and
    // some split of it on the path saw missing values at fit, the term reads
    // "x is missing or x <= 3" (in parentheses when there are other terms).
    // Names come from feature_names, else "feature 1", "feature 2", ...
    // (1-based). A root-only tree has one rule with condition "true".
    // Numbers are written in their shortest exact form.
    std::vector<TreeRule> rules(int tree = 0) const;

    // Portable bytes (tag tags::tree_model, version 1).
    std::vector<std::uint8_t> serialize() const;
    // Validates everything (options, array lengths, node indices in range and
    // forming one tree per array, finite numbers, probabilities in [0, 1],
    // importances); anything wrong is 22P03.
    static TreeModel deserialize(const std::uint8_t* data, std::size_t size);

    // Readable JSON: {"format": "crm.tree_model", "version": 1, "kind":
    // "classification" | "regression", "dims", "feature_names", "options",
    // "n_samples", "depth", "leaves", "feature_importance", "oob_score"
    // (null when NaN), "trees": [{"nodes": [...]}]}. A node lists "node"
    // (its index), "samples", "weighted_samples", "impurity", "value" and,
    // when it splits, "feature" (1-based), "feature_name", "threshold",
    // "left", "right", "missing" ("left" or "right") and "missing_samples".
    std::string to_json() const;
};

// Fits one CART tree (options.n_trees = 0) or a random forest. Checks
// validate(options, rows.dims(), regression); no rows is 22023 "no rows to
// fit"; a classification label other than 0 or 1 is 22023; more than 2^32 - 2
// rows, or a tree over kMaxTreeNodes nodes, is 54000. Interruptible.
TreeModel tree_fit(const TreeRows& rows, const TreeOptions& options, bool regression);

// An estimate of the peak bytes tree_fit allocates for n rows of dims
// features (the presorted columns, the workspaces of the threads, the
// bootstrap and out-of-bag arrays and the nodes), not counting the TreeRows
// themselves, for a memory check before the fit. Saturates at SIZE_MAX.
std::size_t tree_fit_memory_estimate(std::size_t n, int dims, const TreeOptions& options);

}  // namespace crm
