// Internal to the tree files (not part of the API in tree_model.hpp): the
// presorted training set, the builder's workspace, progress reporting that
// is safe on worker threads, and helpers shared by fit, forest and model.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "byte_io.hpp"
#include "errors.hpp"
#include "parallel_jobs.hpp"
#include "interrupts.hpp"
#include "tree_model.hpp"

namespace crm {
namespace tree_detail {

using Row = std::uint32_t;  // a row's position in the canonical order
constexpr std::size_t kMaxRows = 0xFFFFFFFEu;

// The rows in canonical order and, per feature, the positions sorted by value
// (ascending, missing values last, ties in canonical order). Built once per
// fit; a forest's trees share it read-only.
struct TrainingSet {
    std::size_t n = 0;
    int dims = 0;
    std::vector<std::uint32_t> source;  // canonical position -> index in the TreeRows
    std::vector<double> y;              // labels in canonical order
    std::vector<std::vector<double>> sorted_values;  // per feature, n values
    std::vector<std::vector<Row>> sorted_rows;       // per feature, n positions
};

// Thrown inside a worker when another thread asked the others to stop; never
// leaves tree_fit.
using crm::Cancelled;
using crm::Progress;

// Sorts the training rows canonically and presorts every feature (tree_rows.cpp).
// Runs on the calling thread.
TrainingSet prepare_training_set(const TreeRows& rows);

// What one tree is grown from: per feature the active rows' values and
// positions, sorted (a node owns the same index range in every feature), and
// per canonical row its weight and weight x label. A worker reuses one
// workspace for all its trees.
struct RowStat {
    double w;   // weight (class weight x multiplicity); 0 for rows not drawn
    double wy;  // w * label
};
struct Workspace {
    std::size_t active = 0;  // rows with w > 0
    std::vector<std::vector<double>> values;
    std::vector<std::vector<Row>> rows;
    std::vector<RowStat> stat;
    std::vector<std::uint8_t> goes_left;
    std::vector<double> scratch_values;
    std::vector<Row> scratch_rows;
    std::vector<RowStat> scratch_stat;  // one feature's range's stats, gathered in sorted order
};

// Sizes the workspace's per-row arrays for a training set (no copy of the
// columns yet).
void size_workspace(Workspace& ws, const TrainingSet& data);

// Fills stat from per-row multiplicities (null: every row once) and the class
// weights, and counts the active rows (weight > 0).
void fill_stats(Workspace& ws, const TrainingSet& data, const std::uint32_t* multiplicity,
                const TreeOptions& options, bool regression);
// Copies into the workspace the presorted columns restricted to the active rows.
void copy_columns(Workspace& ws, const TrainingSet& data, Progress& progress);

// Grows one tree over the workspace's active rows (tree_fit.cpp). `rng`
// draws the features tried per node when max_features < dims.
DecisionTree grow_tree(Workspace& ws, const std::vector<double>& y, const TreeOptions& options, int max_features,
                       bool regression, std::mt19937_64& rng, Progress& progress);

// A forest of options.n_trees trees (tree_forest.cpp); the model's trees,
// importance and oob_score are filled in.
void fit_forest(TreeModel& model, const TreeRows& rows, const TrainingSet& data);

// The leaf x reaches in one tree (NaN follows missing_left).
const TreeNode& leaf_of(const DecisionTree& tree, const double* x);

// Normalised mean-decrease-in-impurity of one tree: dims values summing to 1,
// or all zero for a root-only tree (tree_model.cpp).
std::vector<double> tree_importance(const DecisionTree& tree, int dims);

// The options' bytes (without feature_names), shared by the model and the
// aggregate state (tree_model.cpp); bad bytes are 22P03.
void write_options(ByteWriter& w, const TreeOptions& options);
TreeOptions read_options(ByteReader& r);
int read_int(ByteReader& r);
bool read_bool(ByteReader& r);

// Name of 0-based feature j: the given name or "feature j+1".
std::string feature_label(const std::vector<std::string>& names, int j);

}  // namespace tree_detail
}  // namespace crm
