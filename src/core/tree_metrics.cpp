// Scores of binary classifiers and regressors (see tree_metrics.hpp).
#include "tree_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>

#include "errors.hpp"
#include "interrupts.hpp"

namespace crm {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <class A, class B>
void check_lengths(const A& a, const B& b, const char* what) {
    if (a.size() != b.size())
        throw_invalid(std::string(what) + ": the two arrays differ in length (" + std::to_string(a.size()) +
                      " and " + std::to_string(b.size()) + ")");
}

void check_not_nan(const std::vector<double>& v, const char* what) {
    for (std::size_t i = 0; i < v.size(); ++i)
        if (std::isnan(v[i])) throw_invalid(std::string(what) + ": score " + std::to_string(i + 1) + " is NaN");
}

}  // namespace

double roc_auc(const std::vector<double>& score, const std::vector<bool>& label) {
    check_lengths(score, label, "roc_auc");
    check_not_nan(score, "roc_auc");
    std::vector<std::size_t> order(score.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    InterruptTicker ticker;
    std::sort(order.begin(), order.end(),
              ticking(ticker, [&score](std::size_t a, std::size_t b) { return score[a] < score[b]; }));
    // Pairs (false, true) ordered correctly, walking groups of equal scores
    // upwards: a true row beats every false row below its group and ties half
    // of those in it. The counts are integers (and halves) that double holds
    // exactly up to 2^53.
    double wins = 0, false_below = 0, n_true = 0;
    for (std::size_t begin = 0; begin < order.size();) {
        std::size_t end = begin;
        double t = 0, f = 0;
        while (end < order.size() && score[order[end]] == score[order[begin]]) {
            (label[order[end]] ? t : f) += 1;
            ++end;
        }
        wins += t * false_below + 0.5 * t * f;
        false_below += f;
        n_true += t;
        begin = end;
    }
    if (n_true == 0 || false_below == 0) return kNaN;
    return wins / (n_true * false_below);
}

double log_loss(const std::vector<double>& p, const std::vector<bool>& label, double eps) {
    check_lengths(p, label, "log_loss");
    if (!(eps >= 0 && eps < 0.5)) throw_invalid("log_loss: eps must be in [0, 0.5)");
    if (p.empty()) return kNaN;
    double total = 0;
    for (std::size_t i = 0; i < p.size(); ++i) {
        if (!(p[i] >= 0 && p[i] <= 1))
            throw_invalid("log_loss: probability " + std::to_string(i + 1) + " is not in [0, 1]");
        const double q = std::clamp(p[i], eps, 1 - eps);
        total -= label[i] ? std::log(q) : std::log1p(-q);
    }
    return total / static_cast<double>(p.size());
}

double accuracy(const std::vector<double>& p, const std::vector<bool>& label, double threshold) {
    check_lengths(p, label, "accuracy");
    check_not_nan(p, "accuracy");
    if (p.empty()) return kNaN;
    std::size_t right = 0;
    for (std::size_t i = 0; i < p.size(); ++i) right += (p[i] > threshold) == label[i] ? 1 : 0;
    return static_cast<double>(right) / static_cast<double>(p.size());
}

double r2_score(const std::vector<double>& prediction, const std::vector<double>& y) {
    check_lengths(prediction, y, "r2_score");
    for (std::size_t i = 0; i < y.size(); ++i)
        if (!std::isfinite(prediction[i]) || !std::isfinite(y[i]))
            throw_invalid("r2_score: value " + std::to_string(i + 1) + " is not finite");
    if (y.empty()) return kNaN;
    double mean = 0;
    for (const double v : y) mean += v;
    mean /= static_cast<double>(y.size());
    double residual = 0, total = 0;
    for (std::size_t i = 0; i < y.size(); ++i) {
        residual += (y[i] - prediction[i]) * (y[i] - prediction[i]);
        total += (y[i] - mean) * (y[i] - mean);
    }
    if (total == 0) return residual == 0 ? 1.0 : 0.0;
    return 1.0 - residual / total;
}

}  // namespace crm
