#include "reco_evaluate.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "errors.hpp"
#include "interrupts.hpp"
#include "parallel_jobs.hpp"

namespace crm {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct UserTest {
    std::int64_t user;
    std::vector<std::int64_t> relevant;  // ascending
};

// The measured users of a fold and their relevant test items.
std::vector<UserTest> relevant_items(const RatingMatrix& train, std::vector<Rating> test, double threshold) {
    std::sort(test.begin(), test.end(), [](const Rating& a, const Rating& b) {
        return a.user != b.user ? a.user < b.user : a.item < b.item;
    });
    std::vector<UserTest> out;
    for (const Rating& r : test) {
        if (r.rating < threshold) continue;
        const std::size_t u = train.user_index(r.user);
        const std::size_t i = train.item_index(r.item);
        if (u != RatingMatrix::npos && i != RatingMatrix::npos) {
            const auto row = train.user_ratings(u);
            if (std::binary_search(row.index, row.index + row.size, static_cast<RatingMatrix::Index>(i))) continue;
        }
        if (out.empty() || out.back().user != r.user) out.push_back({r.user, {}});
        if (out.back().relevant.empty() || out.back().relevant.back() != r.item) out.back().relevant.push_back(r.item);
    }
    return out;
}

constexpr int kFoldThreads = 2;

}  // namespace

std::vector<RecoFoldMetrics> evaluate_recommender(const std::vector<Rating>& ratings, const std::vector<int>& fold,
                                                  const RecoEvaluation& e, const ContentModel* content) {
    if (e.folds < 1) throw_invalid("folds must be at least 1, got " + std::to_string(e.folds));
    if (e.n < 1) throw_invalid("n must be at least 1");
    if (!std::isfinite(e.relevant_threshold)) throw_invalid("relevant_threshold must be a finite number");
    if (fold.size() != ratings.size()) throw_invalid("one fold per rating is needed");
    check_recommender_options(e.options);
    for (std::size_t r = 0; r < fold.size(); ++r)
        if (fold[r] < -1 || fold[r] >= e.folds)
            throw_invalid("fold must be -1 or between 0 and folds - 1, got " + std::to_string(fold[r]));

    // The folds are independent: two at a time, each on its own thread (a fold's
    // own code checks for interrupts, which on a worker thread means its stop
    // request). Every fold's figures are the same as evaluated alone.
    std::vector<RecoFoldMetrics> out(static_cast<std::size_t>(e.folds));
    run_jobs(e.folds, kFoldThreads, [&](int, int f, Progress&) {
        check_interrupts();
        std::vector<Rating> train, test;
        for (std::size_t r = 0; r < ratings.size(); ++r) {
            if (fold[r] == f) {
                test.push_back(ratings[r]);
            } else {
                train.push_back(ratings[r]);
                if (e.implicit) train.back().rating = 1.0;
            }
        }
        RecoFoldMetrics fm{f, static_cast<std::int64_t>(test.size()), 0, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN, kNaN};
        const RatingMatrix model(std::move(train));
        Recommender rec(model, e.method, e.options, content);

        if (rec.predicts_ratings() && !test.empty() && model.ratings() > 0) {
            std::vector<std::pair<std::int64_t, std::int64_t>> pairs;
            for (const Rating& r : test) pairs.emplace_back(r.user, r.item);
            const std::vector<double> est = rec.predict(pairs, e.user_predict, e.item_predict);
            double se = 0, ae = 0;
            for (std::size_t t = 0; t < test.size(); ++t) {
                const double err = est[t] - test[t].rating;
                se += err * err;
                ae += std::abs(err);
            }
            fm.rmse = std::sqrt(se / static_cast<double>(test.size()));
            fm.mae = ae / static_cast<double>(test.size());
        }

        const std::vector<UserTest> users = relevant_items(model, std::move(test), e.relevant_threshold);
        fm.users = static_cast<std::int64_t>(users.size());
        if (!users.empty() && model.ratings() > 0) {
            double precision = 0, recall = 0, ndcg = 0, map = 0, diversity = 0, popularity = 0;
            std::size_t listed = 0, lists_with_pairs = 0;
            std::set<std::int64_t> recommended;
            for (const UserTest& u : users) {
                const std::vector<RankedItem> list = rec.recommend(u.user, e.n);
                std::size_t hits = 0;
                double dcg = 0, ap = 0;
                for (std::size_t r = 0; r < list.size(); ++r) {
                    recommended.insert(list[r].item);
                    const std::size_t i = model.item_index(list[r].item);
                    popularity += i == RatingMatrix::npos ? 0.0 : static_cast<double>(model.item_popularity(i));
                    ++listed;
                    if (std::binary_search(u.relevant.begin(), u.relevant.end(), list[r].item)) {
                        ++hits;
                        dcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
                        ap += static_cast<double>(hits) / static_cast<double>(r + 1);
                    }
                }
                const std::size_t ideal_hits = std::min(e.n, u.relevant.size());
                double idcg = 0;
                for (std::size_t r = 0; r < ideal_hits; ++r) idcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
                precision += static_cast<double>(hits) / static_cast<double>(e.n);
                recall += static_cast<double>(hits) / static_cast<double>(u.relevant.size());
                ndcg += dcg / idcg;
                map += ap / static_cast<double>(ideal_hits);
                if (list.size() >= 2) {
                    double distance = 0;
                    for (std::size_t a = 0; a < list.size(); ++a)
                        for (std::size_t b = a + 1; b < list.size(); ++b)
                            distance += 1.0 - binary_item_cosine(model, list[a].item, list[b].item);
                    diversity += distance / (static_cast<double>(list.size() * (list.size() - 1)) / 2.0);
                    ++lists_with_pairs;
                }
                check_interrupts();
            }
            const double count = static_cast<double>(users.size());
            fm.precision = precision / count;
            fm.recall = recall / count;
            fm.ndcg = ndcg / count;
            fm.map = map / count;
            std::size_t catalogue = model.items();
            if (content != nullptr && (e.method == RecoMethod::Content || e.method == RecoMethod::Hybrid)) {
                catalogue = content->items();  // plus the rated items without attributes
                for (std::size_t i = 0; i < model.items(); ++i) catalogue += content->index(model.item_key(i)) == ContentModel::npos;
            }
            fm.coverage = catalogue > 0 ? static_cast<double>(recommended.size()) / static_cast<double>(catalogue) : kNaN;
            fm.diversity = lists_with_pairs > 0 ? diversity / static_cast<double>(lists_with_pairs) : kNaN;
            fm.popularity = listed > 0 ? popularity / static_cast<double>(listed) : kNaN;
        }
        out[static_cast<std::size_t>(f)] = fm;
    });
    return out;
}

}  // namespace crm
