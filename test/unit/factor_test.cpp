// Latent-factor models: ALS against the dense textbook formula, fold-in equal
// to the fitted factors, thread-count independence, SVD behaviour and fold-in
// against the normal equations, and the model's byte and JSON forms.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "errors.hpp"
#include "expect_error.hpp"
#include "factor_model.hpp"

namespace {

std::vector<crm::Rating> random_counts(unsigned seed, int users, int items, double density) {
    std::mt19937_64 engine(seed);
    std::uniform_real_distribution<double> unit(0, 1);
    std::vector<crm::Rating> out;
    for (int u = 1; u <= users; ++u)
        for (int i = 1; i <= items; ++i)
            if (unit(engine) < density) out.push_back({u * 10, i * 7, 1.0 + std::floor(4 * unit(engine))});
    return out;
}

TEST(Als, UserStepIsTheDenseHuKorenVolinskySolution) {
    const crm::RatingMatrix m(random_counts(3, 25, 18, 0.3));
    crm::AlsOptions o;
    o.factors = 4;
    o.regularization = 0.7;
    o.alpha = 3;
    o.iterations = 3;
    const crm::FactorModel model = crm::als_fit(m, o);
    const Eigen::MatrixXd& y = model.item_factors;
    for (std::size_t u = 0; u < m.users(); ++u) {
        // C_u and p_u over every item: c = 1 + alpha r, p = 1 where rated; c = 1, p = 0 elsewhere.
        Eigen::VectorXd c = Eigen::VectorXd::Ones(y.rows()), p = Eigen::VectorXd::Zero(y.rows());
        const auto r = m.user_ratings(u);
        for (std::size_t e = 0; e < r.size; ++e) c[r.index[e]] = 1 + o.alpha * r.value[e], p[r.index[e]] = 1;
        const Eigen::MatrixXd a = y.transpose() * c.asDiagonal() * y + o.regularization * Eigen::MatrixXd::Identity(4, 4);
        const Eigen::VectorXd x = a.ldlt().solve(y.transpose() * c.asDiagonal() * p);
        EXPECT_LT((x - model.user_factors.row(static_cast<Eigen::Index>(u)).transpose()).norm(), 1e-10);
    }
}

TEST(Als, FoldInGivesTheFittedFactorsAndThreadsDoNotMatter) {
    const crm::RatingMatrix m(random_counts(5, 40, 30, 0.2));
    crm::AlsOptions o;
    o.factors = 6;
    o.threads = 1;
    const crm::FactorModel one = crm::als_fit(m, o);
    o.threads = 2;
    const crm::FactorModel two = crm::als_fit(m, o);
    EXPECT_EQ(one.user_factors, two.user_factors);
    EXPECT_EQ(one.item_factors, two.item_factors);
    const crm::AlsFoldIn fold(two);
    for (std::size_t u = 0; u < m.users(); ++u) {
        std::vector<std::pair<std::int64_t, double>> rows;
        const auto r = m.user_ratings(u);
        for (std::size_t e = 0; e < r.size; ++e) rows.emplace_back(m.item_key(r.index[e]), r.value[e]);
        rows.emplace_back(999999, 5.0);  // an item the model does not know is ignored
        const Eigen::VectorXd x = fold.solve(rows);
        EXPECT_LT((x - two.user_factors.row(static_cast<Eigen::Index>(u)).transpose()).norm(), 1e-12);
    }
    EXPECT_TRUE(fold.solve({}).isZero(0));
}

TEST(Als, WorkerThreadsGiveTheSameModel) {
    // More than one 256-row chunk of users and items, so the solves really run on two workers.
    const crm::RatingMatrix m(random_counts(8, 700, 600, 0.02));
    crm::AlsOptions o;
    o.factors = 5;
    o.iterations = 3;
    o.threads = 1;
    const crm::FactorModel one = crm::als_fit(m, o);
    o.threads = 2;
    const crm::FactorModel two = crm::als_fit(m, o);
    EXPECT_EQ(one.user_factors, two.user_factors);
    EXPECT_EQ(one.item_factors, two.item_factors);
}

TEST(Als, BadOptions) {
    const crm::RatingMatrix m(random_counts(1, 5, 5, 0.5));
    using crm::ErrorKind;
    const auto fit = [&m](auto change) {
        crm::AlsOptions o;
        change(o);
        crm::als_fit(m, o);
    };
    crm_test::expect_error_kind([&] { fit([](crm::AlsOptions& o) { o.factors = 0; }); }, ErrorKind::InvalidParameter);
    crm_test::expect_error_kind([&] { fit([](crm::AlsOptions& o) { o.regularization = -1; }); }, ErrorKind::InvalidParameter);
    crm_test::expect_error_kind([&] { fit([](crm::AlsOptions& o) { o.alpha = 0; }); }, ErrorKind::InvalidParameter);
    crm_test::expect_error_kind([&] { fit([](crm::AlsOptions& o) { o.iterations = 0; }); }, ErrorKind::InvalidParameter);
    const crm::RatingMatrix negative({{1, 1, -1.0}, {1, 2, 1.0}});
    crm_test::expect_error_kind([&] { crm::als_fit(negative, crm::AlsOptions{}); }, ErrorKind::InvalidParameter);
}

TEST(Svd, LearnsAndFoldInSolvesTheRidgeProblem) {
    const crm::RatingMatrix m(random_counts(9, 60, 40, 0.3));
    crm::SvdOptions o;
    o.factors = 8;
    o.epochs = 30;
    const crm::FactorModel model = crm::svd_fit(m, o);
    // Training error below the global mean's.
    double se_mean = 0;
    for (std::size_t u = 0; u < m.users(); ++u) {
        const auto r = m.user_ratings(u);
        for (std::size_t e = 0; e < r.size; ++e) se_mean += std::pow(r.value[e] - m.global_mean(), 2);
    }
    EXPECT_LT(model.training_error, std::sqrt(se_mean / static_cast<double>(m.ratings())));
    // Unknown pair: the global mean; predictions stay on the scale.
    EXPECT_DOUBLE_EQ(crm::svd_predict(model, -1, -1), m.global_mean());
    // Fold-in: the gradient of the ridge objective is zero at the solution.
    const std::vector<std::pair<std::int64_t, double>> rows = {{7, 4.0}, {14, 1.0}, {21, 3.0}, {28, 2.0}};
    const crm::SvdUser user = crm::svd_fold_in(model, rows);
    Eigen::VectorXd grad = Eigen::VectorXd::Zero(o.factors + 1);
    for (const auto& [item, r] : rows) {
        const auto i = static_cast<Eigen::Index>(model.item_index(item));
        Eigen::VectorXd z(o.factors + 1);
        z << 1, model.item_factors.row(i).transpose();
        const double pred = model.global_mean + model.item_bias[i] + user.bias + user.factors.dot(model.item_factors.row(i).transpose());
        grad += -(r - pred) * z;
    }
    grad[0] += o.regularization * user.bias;
    grad.tail(o.factors) += o.regularization * user.factors;
    EXPECT_LT(grad.norm(), 1e-9);
}

TEST(FactorModel, BytesAndJsonRoundTripAndDamageIsRefused) {
    const crm::RatingMatrix m(random_counts(2, 12, 9, 0.4));
    crm::SvdOptions o;
    o.factors = 3;
    crm::FactorModel model = crm::svd_fit(m, o);
    model.source = {"public.ratings", "user_id", "item_id", "rating"};
    const auto bytes = model.serialize();
    const crm::FactorModel back = crm::FactorModel::deserialize(bytes.data(), bytes.size());
    EXPECT_EQ(back.serialize(), bytes);
    const crm::FactorModel from_json = crm::FactorModel::from_json(model.to_json());
    EXPECT_EQ(from_json.serialize(), bytes);  // JSON keeps doubles exactly (shortest round-trip form)
    EXPECT_EQ(back.source.relation, "public.ratings");
    std::vector<std::uint8_t> cut(bytes.begin(), bytes.end() - 3);
    crm_test::expect_error_kind([&] { crm::FactorModel::deserialize(cut.data(), cut.size()); }, crm::ErrorKind::InvalidBinary);
    crm_test::expect_error_kind([] { crm::FactorModel::from_json("{\"format\": 1}"); }, crm::ErrorKind::InvalidText);
}

}  // namespace
