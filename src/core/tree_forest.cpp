// Random forests: bootstrap draws, trees fitted on worker threads, feature
// importance and the out-of-bag score.
//
// Threads: the workers only read the shared training set and write their own
// trees; they never call check_interrupts or anything that may call into
// PostgreSQL, and an exception in one is captured and rethrown on the calling
// thread after every worker has been joined. The calling thread waits, and
// checks for interrupts while it does; if it is interrupted it asks the
// workers to stop and joins them before the exception leaves.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "errors.hpp"
#include "interrupts.hpp"
#include "kmeans_random.hpp"
#include "tree_internal.hpp"
#include "tree_metrics.hpp"
#include "tree_model.hpp"

namespace crm {
namespace tree_detail {

namespace {

bool in_bag(const std::vector<std::uint64_t>& bits, std::size_t row) { return (bits[row >> 6] >> (row & 63)) & 1; }

}  // namespace

void fit_forest(TreeModel& model, const TreeRows& rows, const TrainingSet& data) {
    const TreeOptions& o = model.options;
    const int n_trees = o.n_trees;
    const std::size_t n = data.n;
    const int max_features =
        o.max_features > 0 ? o.max_features
                           : std::max(1, static_cast<int>(std::floor(std::sqrt(static_cast<double>(model.dims)))));
    const int workers = std::min(o.threads, n_trees);
    model.trees.assign(static_cast<std::size_t>(n_trees), DecisionTree{});
    std::vector<std::vector<std::uint64_t>> bags(o.bootstrap ? static_cast<std::size_t>(n_trees) : 0);
    {
        std::vector<Workspace> spaces(static_cast<std::size_t>(workers));
        std::vector<std::vector<std::uint32_t>> counts(static_cast<std::size_t>(workers));
        run_jobs(n_trees, o.threads, [&](int w, int t, Progress& progress) {
            Workspace& ws = spaces[static_cast<std::size_t>(w)];
            if (ws.stat.size() != n) size_workspace(ws, data);
            std::mt19937_64 rng = kmeans_detail::start_generator(o.seed, t);
            const std::uint32_t* multiplicity = nullptr;
            if (o.bootstrap) {
                std::vector<std::uint32_t>& c = counts[static_cast<std::size_t>(w)];
                c.assign(n, 0);
                for (std::size_t k = 0; k < n; ++k) ++c[kmeans_detail::uniform_below(rng, n)];
                std::vector<std::uint64_t>& bag = bags[static_cast<std::size_t>(t)];
                bag.assign((n + 63) / 64, 0);
                for (std::size_t r = 0; r < n; ++r)
                    if (c[r] != 0) bag[r >> 6] |= std::uint64_t{1} << (r & 63);
                multiplicity = c.data();
                progress.add(2 * n);
            }
            fill_stats(ws, data, multiplicity, o, model.regression);
            copy_columns(ws, data, progress);
            model.trees[static_cast<std::size_t>(t)] =
                grow_tree(ws, data.y, o, max_features, model.regression, rng, progress);
        });
    }

    // Importance: the mean of the normalised vectors of the trees that split
    // (scikit-learn), normalised again.
    model.feature_importance.assign(static_cast<std::size_t>(model.dims), 0.0);
    int splitting = 0;
    for (const DecisionTree& tree : model.trees) {
        if (tree.nodes.size() <= 1) continue;
        const std::vector<double> imp = tree_importance(tree, model.dims);
        for (int j = 0; j < model.dims; ++j) model.feature_importance[j] += imp[j];
        ++splitting;
    }
    double total = 0;
    for (double& v : model.feature_importance) total += (v /= std::max(splitting, 1));
    if (total > 0)
        for (double& v : model.feature_importance) v /= total;

    if (!o.bootstrap) return;
    // Out-of-bag predictions: each row's sum runs over the trees in order,
    // whichever thread takes its block.
    constexpr std::size_t kBlock = 4096;
    const int blocks = static_cast<int>((n + kBlock - 1) / kBlock);
    std::vector<double> sums(n, 0.0);
    std::vector<std::uint32_t> votes(n, 0);
    run_jobs(blocks, o.threads, [&](int, int block, Progress& progress) {
        const std::size_t begin = static_cast<std::size_t>(block) * kBlock, end = std::min(n, begin + kBlock);
        for (std::size_t r = begin; r < end; ++r) {
            const double* x = rows.row(data.source[r]);
            for (std::size_t t = 0; t < model.trees.size(); ++t) {
                if (in_bag(bags[t], r)) continue;
                sums[r] += leaf_of(model.trees[t], x).value;
                ++votes[r];
            }
            progress.add(model.trees.size());
        }
    });
    std::vector<double> predicted, actual;
    for (std::size_t r = 0; r < n; ++r) {
        if (votes[r] == 0) continue;
        predicted.push_back(sums[r] / votes[r]);
        actual.push_back(data.y[r]);
    }
    if (predicted.empty()) return;
    if (model.regression) {
        model.oob_score = r2_score(predicted, actual);
    } else {
        std::vector<bool> labels(actual.size());
        for (std::size_t i = 0; i < actual.size(); ++i) labels[i] = actual[i] != 0.0;
        model.oob_score = accuracy(predicted, labels);
    }
}

}  // namespace tree_detail
}  // namespace crm
