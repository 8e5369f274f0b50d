// The CART builder: options, growth of one tree over a presorted workspace,
// and tree_fit, which prepares the rows and fits a tree or a forest.
//
// Presort: every feature's active rows are sorted once for the root; a
// node's rows occupy the same index range [begin, end) in every feature's
// arrays, each range sorted by that feature (missing values last). A split
// partitions each range stably into the left rows then the right rows, so
// the children's ranges stay sorted: a level of the tree costs a linear scan
// and a linear partition per feature, never a sort.
#include <algorithm>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "errors.hpp"
#include "kmeans_random.hpp"
#include "tree_internal.hpp"
#include "tree_model.hpp"

namespace crm {

namespace {

using tree_detail::Progress;
using tree_detail::Row;
using tree_detail::RowStat;
using tree_detail::Workspace;

std::string number_text(double v) {
    if (std::isnan(v)) return "NaN";
    if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, res.ptr);
}

// Sums of a node's rows and its impurity.
struct NodeStats {
    double w = 0;     // weighted rows
    double wy = 0;    // weighted sum of labels (classification: weighted true rows)
    std::int64_t n = 0;
    double impurity = 0;
};

double classification_impurity(TreeCriterion criterion, double w, double w_true) {
    const double w_false = std::max(w - w_true, 0.0);
    if (criterion == TreeCriterion::Gini) return 1.0 - (w_true * w_true + w_false * w_false) / (w * w);
    double entropy = 0;
    for (const double count : {w_false, w_true}) {
        if (count <= 0) continue;
        const double p = count / w;
        entropy -= p * std::log2(p);
    }
    return entropy;
}

// The sums of rows[0, count) in that order. Regression takes two passes (mean,
// then squared deviations), which is exact for a constant label where the
// one-pass formula leaves rounding noise that looks like impurity.
NodeStats stats_of(const Row* rows, std::size_t count, const Workspace& ws, const std::vector<double>& y,
                   TreeCriterion criterion, bool regression) {
    NodeStats s;
    s.n = static_cast<std::int64_t>(count);
    double y_min = std::numeric_limits<double>::infinity(), y_max = -y_min;
    for (std::size_t i = 0; i < count; ++i) {
        const RowStat& r = ws.stat[rows[i]];
        s.w += r.w;
        s.wy += r.wy;
        if (regression) {
            y_min = std::min(y_min, y[rows[i]]);
            y_max = std::max(y_max, y[rows[i]]);
        }
    }
    if (!regression) {
        s.impurity = classification_impurity(criterion, s.w, s.wy);
    } else if (y_min != y_max) {
        const double mean = s.wy / s.w;
        double squares = 0;
        for (std::size_t i = 0; i < count; ++i) {
            const double d = y[rows[i]] - mean;
            squares += ws.stat[rows[i]].w * d * d;
        }
        s.impurity = squares / s.w;
    }
    return s;
}

// The split search's score of a partition into (w_l, wy_l) and (w_r, wy_r):
// larger is better, and for each criterion it differs from -(W_L imp_L +
// W_R imp_R) by a constant of the node (scikit-learn's "proxy improvement").
double proxy(TreeCriterion criterion, double w_l, double wy_l, double w_r, double wy_r) {
    switch (criterion) {
        case TreeCriterion::Gini: {
            const double f_l = w_l - wy_l, f_r = w_r - wy_r;
            return (wy_l * wy_l + f_l * f_l) / w_l + (wy_r * wy_r + f_r * f_r) / w_r;
        }
        case TreeCriterion::Entropy: {
            double s = 0;
            for (const double c : {wy_l, w_l - wy_l})
                if (c > 0) s += c * std::log(c / w_l);
            for (const double c : {wy_r, w_r - wy_r})
                if (c > 0) s += c * std::log(c / w_r);
            return s;
        }
        case TreeCriterion::SquaredError:
            return wy_l * wy_l / w_l + wy_r * wy_r / w_r;
    }
    return 0;
}

struct Split {
    int feature = -1;
    std::size_t last_left = 0;  // index of the last present row going left in the feature's range
    std::size_t present_end = 0;
    bool missing_left = true;
    double score = -std::numeric_limits<double>::infinity();
};

// Where a node's range of feature j stops holding present values.
std::size_t present_end(const double* values, std::size_t begin, std::size_t end) {
    while (end > begin && std::isnan(values[end - 1])) --end;
    return end;
}

class Builder {
public:
    Builder(Workspace& ws, const std::vector<double>& y, const TreeOptions& options, int max_features,
            bool regression, std::mt19937_64& rng, Progress& progress)
        : ws_(ws), y_(y), o_(options), max_features_(max_features), regression_(regression), rng_(rng),
          progress_(progress), dims_(static_cast<int>(ws.values.size())) {}

    DecisionTree grow();

private:
    struct Task {
        std::size_t begin, end;
        int depth;
        int parent;
        bool is_left;
        NodeStats stats;
    };

    bool stays_leaf(const NodeStats& s, int depth) const {
        return (o_.max_depth > 0 && depth >= o_.max_depth) || s.n < o_.min_samples_split ||
               s.n < 2 * static_cast<std::int64_t>(o_.min_samples_leaf) || s.impurity <= DBL_EPSILON;
    }
    void choose_features(std::size_t begin, std::size_t end);
    void scan_feature(int j, std::size_t begin, std::size_t end, std::size_t present, const NodeStats& node,
                      Split& best);
    void partition(int j, std::size_t begin, std::size_t end);

    Workspace& ws_;
    const std::vector<double>& y_;
    const TreeOptions& o_;
    int max_features_;
    bool regression_;
    std::mt19937_64& rng_;
    Progress& progress_;
    int dims_;
    std::vector<int> order_;                               // features for the draws
    std::vector<std::pair<int, std::size_t>> candidates_;  // (feature, present_end) to scan
};

// The features a node tries, in index order. All non-constant ones, or, for
// max_features < dims, scikit-learn's rule: draw features without
// replacement until max_features were drawn and at least one of them varies
// among the node's present values (or none is left).
void Builder::choose_features(std::size_t begin, std::size_t end) {
    candidates_.clear();
    const auto consider = [&](int j) {
        const double* v = ws_.values[static_cast<std::size_t>(j)].data();
        const std::size_t present = present_end(v, begin, end);
        if (present - begin >= 2 && v[begin] != v[present - 1]) candidates_.emplace_back(j, present);
    };
    if (max_features_ >= dims_) {
        for (int j = 0; j < dims_; ++j) consider(j);
        return;
    }
    order_.resize(static_cast<std::size_t>(dims_));
    for (int j = 0; j < dims_; ++j) order_[static_cast<std::size_t>(j)] = j;
    for (int drawn = 0; drawn < dims_ && (drawn < max_features_ || candidates_.empty()); ++drawn) {
        const auto pick = drawn + static_cast<int>(kmeans_detail::uniform_below(
                                      rng_, static_cast<std::uint64_t>(dims_ - drawn)));
        std::swap(order_[static_cast<std::size_t>(drawn)], order_[static_cast<std::size_t>(pick)]);
        consider(order_[static_cast<std::size_t>(drawn)]);
    }
    std::sort(candidates_.begin(), candidates_.end());
}

// Scores every threshold of feature j over a node's range; keeps a better one
// in `best` (strictly better: the first found wins a tie).
void Builder::scan_feature(int j, std::size_t begin, std::size_t end, std::size_t present, const NodeStats& node,
                           Split& best) {
    const double* v = ws_.values[static_cast<std::size_t>(j)].data();
    const Row* rows = ws_.rows[static_cast<std::size_t>(j)].data();
    // Gather the rows' stats first: the loads are independent, so many cache
    // misses overlap, where the scan's loop would wait for them one by one.
    RowStat* stat = ws_.scratch_stat.data();
    for (std::size_t i = begin; i < end; ++i) stat[i] = ws_.stat[rows[i]];
    double miss_w = 0, miss_wy = 0;
    for (std::size_t i = present; i < end; ++i) {
        miss_w += stat[i].w;
        miss_wy += stat[i].wy;
    }
    const auto n_missing = static_cast<std::int64_t>(end - present);
    const auto n_present = static_cast<std::int64_t>(present - begin);
    const double total_w = n_missing == 0 ? node.w : node.w - miss_w;
    const double total_wy = n_missing == 0 ? node.wy : node.wy - miss_wy;
    const std::int64_t min_leaf = o_.min_samples_leaf;
    double w_l = 0, wy_l = 0;
    for (std::size_t i = begin; i + 1 < present; ++i) {
        const RowStat& s = stat[i];
        w_l += s.w;
        wy_l += s.wy;
        if (v[i] == v[i + 1]) continue;
        const auto n_l = static_cast<std::int64_t>(i - begin + 1);
        const double w_r = total_w - w_l, wy_r = total_wy - wy_l;
        const bool missing_left = w_l >= w_r;
        const std::int64_t child_l = n_l + (missing_left ? n_missing : 0);
        const std::int64_t child_r = n_present - n_l + (missing_left ? 0 : n_missing);
        if (child_l < min_leaf || child_r < min_leaf) continue;
        const double cw_l = missing_left ? w_l + miss_w : w_l, cwy_l = missing_left ? wy_l + miss_wy : wy_l;
        const double cw_r = missing_left ? w_r : w_r + miss_w, cwy_r = missing_left ? wy_r : wy_r + miss_wy;
        if (!(cw_l > 0) || !(cw_r > 0)) continue;  // only when weights span too many orders of magnitude
        const double score = proxy(o_.criterion, cw_l, cwy_l, cw_r, cwy_r);
        if (score > best.score) {
            best.feature = j;
            best.last_left = i;
            best.present_end = present;
            best.missing_left = missing_left;
            best.score = score;
        }
    }
    progress_.add(end - begin);
}

// Stable partition of feature j's range by goes_left: left rows first.
// Branch-free, since which way a row goes is unpredictable.
void Builder::partition(int j, std::size_t begin, std::size_t end) {
    double* v = ws_.values[static_cast<std::size_t>(j)].data();
    Row* rows = ws_.rows[static_cast<std::size_t>(j)].data();
    double* sv = ws_.scratch_values.data();
    Row* sr = ws_.scratch_rows.data();
    const std::uint8_t* goes_left = ws_.goes_left.data();
    std::size_t l = begin, r = 0;
    for (std::size_t i = begin; i < end; ++i) {
        const double value = v[i];
        const Row row = rows[i];
        const std::size_t left = goes_left[row];
        v[l] = value;  // l <= i: never overwrites an unread element
        rows[l] = row;
        sv[r] = value;
        sr[r] = row;
        l += left;
        r += 1 - left;
    }
    std::copy(sv, sv + r, v + l);
    std::copy(sr, sr + r, rows + l);
    progress_.add(end - begin);
}

DecisionTree Builder::grow() {
    DecisionTree tree;
    const std::size_t active = ws_.active;
    const NodeStats root = stats_of(ws_.rows[0].data(), active, ws_, y_, o_.criterion, regression_);
    const double total_w = root.w;
    std::vector<Task> stack;
    stack.push_back({0, active, 0, -1, false, root});
    while (!stack.empty()) {
        const Task task = stack.back();
        stack.pop_back();
        if (tree.nodes.size() >= kMaxTreeNodes)
            throw_error(ErrorKind::ProgramLimitExceeded,
                        "a decision tree would have more than " + std::to_string(kMaxTreeNodes) + " nodes",
                        "Set max_depth, min_samples_leaf or min_samples_split.");
        const int id = static_cast<int>(tree.nodes.size());
        TreeNode node;
        node.value = task.stats.wy / task.stats.w;
        node.weighted_samples = task.stats.w;
        node.samples = task.stats.n;
        node.impurity = task.stats.impurity;
        tree.nodes.push_back(node);
        if (task.parent >= 0) {
            TreeNode& parent = tree.nodes[static_cast<std::size_t>(task.parent)];
            (task.is_left ? parent.left : parent.right) = id;
        }
        progress_.add(0);
        if (stays_leaf(task.stats, task.depth)) continue;

        Split best;
        choose_features(task.begin, task.end);
        for (const auto& [j, present] : candidates_) scan_feature(j, task.begin, task.end, present, task.stats, best);
        if (best.feature < 0) continue;

        // Route the rows along the best split and size the children.
        const int f = best.feature;
        const double* v = ws_.values[static_cast<std::size_t>(f)].data();
        const Row* fr = ws_.rows[static_cast<std::size_t>(f)].data();
        const double a = v[best.last_left], b = v[best.last_left + 1];
        double threshold = a / 2.0 + b / 2.0;
        if (threshold == b || std::isinf(threshold)) threshold = a;
        std::size_t n_left = 0;
        for (std::size_t i = task.begin; i < task.end; ++i) {
            const bool left = i < best.present_end ? i <= best.last_left : best.missing_left;
            ws_.goes_left[fr[i]] = left ? 1 : 0;
            n_left += left ? 1 : 0;
        }
        partition(f, task.begin, task.end);
        const std::size_t mid = task.begin + n_left;
        const Row* split_rows = ws_.rows[static_cast<std::size_t>(f)].data();
        const NodeStats left = stats_of(split_rows + task.begin, n_left, ws_, y_, o_.criterion, regression_);
        const NodeStats right = stats_of(split_rows + mid, task.end - mid, ws_, y_, o_.criterion, regression_);
        const double w = task.stats.w;
        const double decrease = w / total_w *
                                (task.stats.impurity - right.w / w * right.impurity - left.w / w * left.impurity);
        if (decrease + DBL_EPSILON < o_.min_impurity_decrease) continue;

        TreeNode& split = tree.nodes[static_cast<std::size_t>(id)];
        split.feature = f;
        split.threshold = threshold;
        split.missing_left = best.missing_left;
        split.missing_samples = static_cast<std::int64_t>(task.end - best.present_end);

        // The other features' ranges matter only to a child that may split.
        const bool left_leaf = stays_leaf(left, task.depth + 1), right_leaf = stays_leaf(right, task.depth + 1);
        if (!left_leaf || !right_leaf)
            for (int j = 0; j < dims_; ++j)
                if (j != f) partition(j, task.begin, task.end);
        // Right pushed first so the left subtree is numbered first (preorder).
        stack.push_back({mid, task.end, task.depth + 1, id, false, right});
        stack.push_back({task.begin, mid, task.depth + 1, id, true, left});
    }
    return tree;
}

}  // namespace

// ---------------------------------------------------------------------------
// Options

TreeCriterion parse_tree_criterion(const std::string& name) {
    if (name == "gini") return TreeCriterion::Gini;
    if (name == "entropy") return TreeCriterion::Entropy;
    if (name == "squared_error") return TreeCriterion::SquaredError;
    throw_invalid("unknown criterion \"" + name + "\"",
                  "Use \"gini\" or \"entropy\" for classification, \"squared_error\" for regression.");
}

const char* tree_criterion_name(TreeCriterion criterion) {
    switch (criterion) {
        case TreeCriterion::Gini: return "gini";
        case TreeCriterion::Entropy: return "entropy";
        case TreeCriterion::SquaredError: return "squared_error";
    }
    return "unknown";
}

void validate(const TreeOptions& o, int dims) {
    if (dims < 1) throw_invalid("a decision tree needs at least one feature, got " + std::to_string(dims));
    if (o.max_depth < 0) throw_invalid("max_depth must be >= 0 (0: unlimited), got " + std::to_string(o.max_depth));
    if (o.min_samples_split < 2)
        throw_invalid("min_samples_split must be at least 2, got " + std::to_string(o.min_samples_split));
    if (o.min_samples_leaf < 1)
        throw_invalid("min_samples_leaf must be at least 1, got " + std::to_string(o.min_samples_leaf));
    if (!std::isfinite(o.min_impurity_decrease) || o.min_impurity_decrease < 0)
        throw_invalid("min_impurity_decrease must be a finite number >= 0, got " +
                      number_text(o.min_impurity_decrease));
    if (!std::isfinite(o.class_weight_true) || !(o.class_weight_true > 0))
        throw_invalid("class_weight_true must be a finite number > 0, got " + number_text(o.class_weight_true));
    if (!std::isfinite(o.class_weight_false) || !(o.class_weight_false > 0))
        throw_invalid("class_weight_false must be a finite number > 0, got " + number_text(o.class_weight_false));
    if (o.n_trees < 0 || o.n_trees > kMaxTrees)
        throw_invalid("n_trees must be between 0 (one tree on all rows) and " + std::to_string(kMaxTrees) +
                      ", got " + std::to_string(o.n_trees));
    if (o.max_features < 0 || o.max_features > dims)
        throw_invalid("max_features must be between 0 (the default) and the number of features (" +
                      std::to_string(dims) + "), got " + std::to_string(o.max_features));
    if (o.threads < 1 || o.threads > kMaxTreeThreads)
        throw_invalid("threads must be between 1 and " + std::to_string(kMaxTreeThreads) + ", got " +
                      std::to_string(o.threads));
    if (!o.feature_names.empty() && o.feature_names.size() != static_cast<std::size_t>(dims))
        throw_invalid("feature_names has " + std::to_string(o.feature_names.size()) + " names for " +
                      std::to_string(dims) + " features");
    for (const auto& name : o.feature_names) {
        if (name.empty()) throw_invalid("feature_names must not contain empty names");
        if (name.find('\0') != std::string::npos) throw_invalid("feature_names must not contain the NUL character");
    }
}

void validate(const TreeOptions& o, int dims, bool regression) {
    validate(o, dims);
    if (regression && o.criterion != TreeCriterion::SquaredError)
        throw_invalid(std::string("criterion \"") + tree_criterion_name(o.criterion) + "\" is for classification",
                      "Use \"squared_error\" for regression.");
    if (!regression && o.criterion == TreeCriterion::SquaredError)
        throw_invalid("criterion \"squared_error\" is for regression",
                      "Use \"gini\" or \"entropy\" for classification.");
    if (regression && (o.class_weight_true != 1.0 || o.class_weight_false != 1.0))
        throw_invalid("class_weight_true and class_weight_false apply to classification only");
}

// ---------------------------------------------------------------------------
// Fit

namespace tree_detail {

DecisionTree grow_tree(Workspace& ws, const std::vector<double>& y, const TreeOptions& options, int max_features,
                       bool regression, std::mt19937_64& rng, Progress& progress) {
    return Builder(ws, y, options, max_features, regression, rng, progress).grow();
}

}  // namespace tree_detail

TreeModel tree_fit(const TreeRows& rows, const TreeOptions& options, bool regression) {
    if (rows.size() == 0) throw_invalid("no rows to fit");
    validate(options, rows.dims(), regression);
    if (rows.size() > tree_detail::kMaxRows)
        throw_error(ErrorKind::ProgramLimitExceeded, "too many rows for a decision tree (" +
                                                         std::to_string(rows.size()) + ", at most " +
                                                         std::to_string(tree_detail::kMaxRows) + ")");
    if (!regression)
        for (const double label : rows.labels())
            if (label != 0.0 && label != 1.0)
                throw_invalid("classification labels must be 0 or 1 (false or true), got " + number_text(label),
                              "Fit a regression tree for other labels.");

    TreeModel model;
    model.regression = regression;
    model.dims = rows.dims();
    model.options = options;
    model.feature_names = options.feature_names;
    model.n_samples = static_cast<std::int64_t>(rows.size());

    tree_detail::TrainingSet data = tree_detail::prepare_training_set(rows);
    if (options.n_trees > 0) {
        tree_detail::fit_forest(model, rows, data);
        return model;
    }
    // One tree on every row: the presorted columns become the workspace.
    Workspace ws;
    tree_detail::size_workspace(ws, data);
    ws.values = std::move(data.sorted_values);
    ws.rows = std::move(data.sorted_rows);
    tree_detail::fill_stats(ws, data, nullptr, options, regression);
    Progress progress(true, nullptr);
    std::mt19937_64 rng = kmeans_detail::start_generator(options.seed, 0);
    const int max_features = options.max_features == 0 ? model.dims : options.max_features;
    model.trees.push_back(tree_detail::grow_tree(ws, data.y, options, max_features, regression, rng, progress));
    model.feature_importance = tree_detail::tree_importance(model.trees[0], model.dims);
    return model;
}

std::size_t tree_fit_memory_estimate(std::size_t n, int dims, const TreeOptions& options) {
    const double rows = static_cast<double>(n);
    const double d = static_cast<double>(std::max(dims, 1));
    const double columns = rows * d * (sizeof(double) + sizeof(Row));
    // Canonical order and labels, plus the radix sort's keys and buffers.
    const double prepare = rows * (sizeof(std::uint32_t) + sizeof(double)) +
                           rows * 2 * (sizeof(std::uint64_t) + sizeof(Row));
    // Per workspace: the columns, row stats, routing flags and partition scratch.
    const double workspace = columns + rows * (sizeof(RowStat) + 1 + sizeof(double) + sizeof(Row));
    // A leaf holds at least min_samples_leaf rows, so a tree has at most 2 n / min_samples_leaf nodes (and at
    // most 2^(max_depth + 1)): a forest of 100 trees with leaves of 20 rows is not budgeted as 100 full trees.
    const double leaf_bound = 2 * rows / std::max(1, options.min_samples_leaf) + 1;
    const double max_nodes = std::min(leaf_bound, options.max_depth > 0 && options.max_depth < 40
                                                      ? std::ldexp(2.0, options.max_depth)
                                                      : leaf_bound);
    const double tree = max_nodes * sizeof(TreeNode);
    double total = 0;
    if (options.n_trees == 0) {
        total = prepare + columns + (workspace - columns) + tree;
    } else {
        const double workers = std::min(options.threads, options.n_trees);
        const double trees = options.n_trees;
        const double bootstrap = options.bootstrap
                                     ? trees * rows / 8 + workers * rows * sizeof(std::uint32_t) +
                                           rows * (2 * sizeof(double))
                                     : 0;
        total = prepare + columns + workers * workspace + trees * tree + bootstrap;
    }
    if (!(total < static_cast<double>(std::numeric_limits<std::size_t>::max())))
        return std::numeric_limits<std::size_t>::max();
    return static_cast<std::size_t>(total);
}

}  // namespace crm
