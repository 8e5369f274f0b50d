// Scores of binary classifiers and regressors: ROC AUC, log loss, accuracy
// and R^2, for evaluating tree models (and the forest's out-of-bag score).
//
// Every function takes parallel vectors; different lengths, or a NaN score, are
// 22023. Rows are unweighted.
#pragma once

#include <vector>

namespace crm {

// Area under the ROC curve: the probability that a random true row scores
// above a random false one, ties counted 1/2 (Mann-Whitney U / (n_true *
// n_false)). NaN when one class is absent. Interruptible (it sorts).
double roc_auc(const std::vector<double>& score, const std::vector<bool>& label);

// Mean of -(y log p + (1 - y) log(1 - p)) with p clipped to [eps, 1 - eps]
// (scikit-learn's clipping; eps in [0, 0.5), else 22023). p must lie in
// [0, 1] (22023). NaN for no rows.
double log_loss(const std::vector<double>& p, const std::vector<bool>& label, double eps = 1e-15);

// Share of rows where (p > threshold) equals the label (the model's class is
// true when its probability is above 1/2, as scikit-learn's argmax, which
// picks false on a tie). NaN for no rows.
double accuracy(const std::vector<double>& p, const std::vector<bool>& label, double threshold = 0.5);

// Coefficient of determination 1 - SS_res / SS_tot. When every y is the same
// (SS_tot = 0): 1 for a perfect prediction, else 0 (scikit-learn's r2_score).
// NaN for no rows; a non-finite value is 22023.
double r2_score(const std::vector<double>& prediction, const std::vector<double>& y);

}  // namespace crm
