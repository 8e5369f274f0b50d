// Latent-factor models: implicit ALS (Hu, Koren and Volinsky 2008) for top-N
// on purchase data, and biased matrix factorisation by SGD (the "SVD" of Funk
// and Koren, as Surprise's SVD) for rating prediction.
//
// A fitted model is a value: user and item keys, their factors (and biases),
// the hyper-parameters, a training metric and where it came from (the
// ratings relation's schema-qualified name and column names, so that a model
// restored into another database still matches its table, and a model used
// on another table is noticed). It serialises to a versioned byte format and
// to JSON.
//
// Fold-in: a user's factors can be solved from the user's current rows and
// the stored item factors at query time, without a refit (exactly the
// least-squares step ALS itself takes for users; a ridge solve for SVD, see
// svd_fold_in), so a purchase made a second ago changes the next answer and a
// user the model has never seen gets personal results from a few rows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <Eigen/Dense>

#include "cf.hpp"
#include "errors.hpp"

namespace crm {

enum class FactorKind : std::uint8_t { Als = 1, Svd = 2 };

// The most factors a model may have (fits refuse more with 22023).
constexpr int kMaxFactors = 10000;

struct FactorSource {
    std::string relation;  // schema-qualified, as quote_ident would print it
    std::string user_col, item_col, rating_col;
};

struct FactorModel {
    FactorKind kind = FactorKind::Als;
    int factors = 0;
    // Hyper-parameters (those of the other kind are 0).
    double regularization = 0, alpha = 0, learning_rate = 0, init_std = 0;
    int iterations = 0;  // ALS iterations or SVD epochs
    std::int64_t seed = 0;
    // SVD: global mean and rating scale (predictions are clipped to it).
    double global_mean = 0, min_rating = 0, max_rating = 0;
    // Training metric: ALS mean squared error of (1 - x_u . y_i) over the
    // observed pairs; SVD training RMSE.
    double training_error = 0;
    std::int64_t ratings = 0;  // training ratings
    FactorSource source;
    // The change version of the source table at fit time (crm.cf_tracked_tables),
    // -1 when the table is not registered with crm.cf_track_changes.
    std::int64_t data_version = -1;
    std::vector<std::int64_t> user_keys, item_keys;  // ascending
    Eigen::MatrixXd user_factors, item_factors;       // users x factors, items x factors
    Eigen::VectorXd user_bias, item_bias;             // SVD only (else empty)

    // Every invariant a stored model must meet (kind, sizes, finite values,
    // ascending keys, hyper-parameters in range); `kind` is the error raised.
    void validate(ErrorKind kind) const;

    std::size_t user_index(std::int64_t key) const;  // npos when absent
    std::size_t item_index(std::int64_t key) const;
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);

    std::vector<std::uint8_t> serialize() const;
    // Validates everything (22P03 for a damaged value).
    static FactorModel deserialize(const std::uint8_t* data, std::size_t size);
    std::string to_json() const;  // the whole model
    static FactorModel from_json(const std::string& json);  // 22P02 / 22023 for bad text
    std::string info_json() const;  // everything but the factors
    std::size_t memory_bytes() const;

    // Y^T Y + regularization * I of the item factors, computed on first use and
    // kept with the model (fold-in needs it for every user; a backend keeps
    // decoded models between queries).
    const Eigen::MatrixXd& item_gram() const;

private:
    mutable Eigen::MatrixXd item_gram_;
};

// Normal deviates by Box-Muller from std::mt19937_64, whose output the
// standard fixes (std::normal_distribution's algorithm is implementation-
// defined), so a seed gives the same start on every platform.
class NormalDeviates {
public:
    explicit NormalDeviates(std::int64_t seed) : engine_(static_cast<std::uint64_t>(seed)) {}
    double operator()(double sd);

private:
    std::mt19937_64 engine_;
    double spare_ = 0;
    bool has_spare_ = false;
};

// The identity of a serialised model, from its first 10 bytes (the serial
// form starts with a hash of its content): 0 when they are not a model's.
// Lets a backend keep decoded models between queries, keyed by a prefix read
// of the stored value instead of the whole value.
std::uint64_t factor_model_id(const std::uint8_t* first_bytes, std::size_t size);

// Bytes a fit needs beyond the rating matrix, for crm.max_fit_memory.
std::size_t factor_fit_bytes(std::size_t users, std::size_t items, int factors);

struct AlsOptions {
    int factors = 16;
    double regularization = 5;  // lambda of the plain lambda * I term (>= 0)
    double alpha = 2;           // confidence 1 + alpha * rating (> 0)
    int iterations = 10;
    std::int64_t seed = 0;
    int threads = 2;  // worker threads of the solves (1 = the calling thread only)
};

// 22023: factors < 1, regularization < 0 or not finite, alpha <= 0 or not
// finite, iterations < 1, a negative rating.
FactorModel als_fit(const RatingMatrix& m, const AlsOptions& options);

// The exact ALS user step from (item key, rating) rows: items unknown to the
// model are ignored; no known item gives the zero vector. The item Gram
// matrix is computed once per model (FactorModel::item_gram).
class AlsFoldIn {
public:
    explicit AlsFoldIn(const FactorModel& model);
    Eigen::VectorXd solve(const std::vector<std::pair<std::int64_t, double>>& rows) const;

private:
    const FactorModel& model_;
};

struct SvdOptions {
    int factors = 100;
    int epochs = 20;
    double learning_rate = 0.005;
    double regularization = 0.02;
    double init_std = 0.1;
    std::int64_t seed = 0;
};

// Surprise's SVD: r^ = mu + b_u + b_i + q_i . p_u, trained by SGD over the
// ratings in user-then-item order, each epoch; 22023 for factors < 1,
// epochs < 1, learning_rate <= 0, regularization < 0, init_std < 0.
FactorModel svd_fit(const RatingMatrix& m, const SvdOptions& options);

// Prediction from stored factors: an unknown user or item drops its bias and
// factor terms (so an unknown pair gets the global mean); clipped to the scale.
double svd_predict(const FactorModel& model, std::int64_t user, std::int64_t item);

// Fold-in for SVD: b_u and p_u minimising
//   sum over the rows (r - mu - b_i - b_u - q_i . p_u)^2 + regularization * (b_u^2 + |p_u|^2)
// with the item terms fixed (one ridge solve), items unknown to the model ignored.
struct SvdUser {
    double bias = 0;
    Eigen::VectorXd factors;
};
SvdUser svd_fold_in(const FactorModel& model, const std::vector<std::pair<std::int64_t, double>>& rows);
double svd_predict_folded(const FactorModel& model, const SvdUser& user, std::int64_t item);

}  // namespace crm
