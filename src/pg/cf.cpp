// Collaborative filtering in SQL:
//   crm.cf_predict(ratings, user_col, item_col, rating_col, users[], items[], k, min_k, similarity)
//   crm.cf_recommend(ratings, ..., target_user, n, k, neighbours)
//   crm.cf_recommend_batch(ratings, ..., users[] | NULL for everyone, n, k, neighbours)
//   crm.cf_evaluate(ratings, ..., folds, k, similarity, seed, relevant_threshold, n)
//
// Every call reads the ratings with the caller's privileges (row-level
// security applies), or serves a matrix the backend cached for a table
// registered with crm.cf_track_changes, when that gives the same rows
// (cf_cache.hpp). So a new rating changes the next recommendation.
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cf.hpp"
#include "errors.hpp"
#include "interrupts.hpp"

#include "bridge.hpp"
#include "composite.hpp"
#include "cf_args.hpp"
#include "cf_cache.hpp"
#include "datum_convert.hpp"
#include "progress.hpp"
#include "relation.hpp"
#include "settings.hpp"
#include "spi_session.hpp"

namespace {

using crm::pg::pg_guard;

using Columns = crm::pg::RatingColumns;
using crm::pg::int8_array;
using crm::pg::int_arg;
using crm::pg::materialize;
using crm::pg::text_arg_checked;

Columns resolve(FunctionCallInfo fcinfo) { return crm::pg::resolve_rating_columns(fcinfo); }

crm::TopNOptions topn_options(FunctionCallInfo fcinfo, int n_arg) {
    crm::TopNOptions o;
    o.n = int_arg(fcinfo, n_arg, "n");
    o.k = int_arg(fcinfo, n_arg + 1, "k");
    o.vectors = crm::parse_neighbour_vectors(text_arg_checked(fcinfo, n_arg + 2, "neighbours"));
    crm::check_topn_options(o);
    return o;
}

}  // namespace

// crm.cf_predict(ratings, user_col, item_col, rating_col, users, items, k, min_k, similarity)
CRM_FUNCTION(crm_cf_predict) {
    const Columns c = resolve(fcinfo);
    const auto pairs = crm::pg::user_item_pairs(fcinfo, 4, 5);
    crm::KnnOptions o;
    o.k = int_arg(fcinfo, 6, "k");
    o.min_k = int_arg(fcinfo, 7, "min_k");
    o.similarity = crm::parse_similarity(text_arg_checked(fcinfo, 8, "similarity"));
    crm::check_knn_options(o);
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::SpiSession spi;
    std::optional<crm::RatingMatrix> uncached;
    const crm::RatingMatrix& m = crm::pg::rating_matrix(spi, c, uncached);
    crm::pg::put_predictions(rsinfo, pairs, crm::predict(m, pairs, o));
    spi.finish();
    return static_cast<Datum>(0);
}

// crm.cf_recommend(ratings, user_col, item_col, rating_col, target_user, n, k, neighbours)
CRM_FUNCTION(crm_cf_recommend) {
    const Columns c = resolve(fcinfo);
    if (PG_ARGISNULL(4)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "target_user must not be NULL");
    const std::int64_t user = PG_GETARG_INT64(4);
    const crm::TopNOptions o = topn_options(fcinfo, 5);
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::SpiSession spi;
    std::optional<crm::RatingMatrix> uncached;
    const crm::RatingMatrix& m = crm::pg::rating_matrix(spi, c, uncached);
    const std::vector<crm::Recommendation> recs = crm::recommend(m, user, o);
    for (std::size_t r = 0; r < recs.size(); ++r) {
        Datum v[4] = {Int64GetDatum(recs[r].item), Float8GetDatum(recs[r].score),
                      BoolGetDatum(recs[r].popular_fallback), Int32GetDatum(static_cast<int>(r + 1))};
        bool nulls[4] = {false, false, false, false};
        crm::pg::put_srf_row(rsinfo, v, nulls);
    }
    spi.finish();
    return static_cast<Datum>(0);
}

// crm.cf_recommend_batch(ratings, user_col, item_col, rating_col, users (NULL: everyone), n, k, neighbours)
CRM_FUNCTION(crm_cf_recommend_batch) {
    const Columns c = resolve(fcinfo);
    const crm::TopNOptions o = topn_options(fcinfo, 5);
    std::optional<std::vector<std::int64_t>> users;
    if (!PG_ARGISNULL(4)) users = int8_array(fcinfo, 4, "users");
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::SpiSession spi;
    std::optional<crm::RatingMatrix> uncached;
    const crm::RatingMatrix& m = crm::pg::rating_matrix(spi, c, uncached);
    if (!users) {
        users.emplace(m.users());
        for (std::size_t u = 0; u < m.users(); ++u) (*users)[u] = m.user_key(u);
    }
    // In chunks, so memory stays small and a cancel is noticed between them.
    constexpr std::size_t kChunk = 1024;
    crm::pg::ProgressReport progress;
    for (std::size_t start = 0; start < users->size(); start += kChunk) {
        progress.update("crm.cf_recommend_batch " + std::to_string(start) + " of " + std::to_string(users->size()) +
                        " users", start == 0);
        const std::vector<std::int64_t> chunk(users->begin() + static_cast<std::ptrdiff_t>(start),
                                              users->begin() + static_cast<std::ptrdiff_t>(std::min(users->size(), start + kChunk)));
        const auto lists = crm::recommend_many(m, chunk, o);
        for (std::size_t i = 0; i < chunk.size(); ++i)
            for (std::size_t r = 0; r < lists[i].size(); ++r) {
                Datum v[5] = {Int64GetDatum(chunk[i]), Int32GetDatum(static_cast<int>(r + 1)),
                              Int64GetDatum(lists[i][r].item), Float8GetDatum(lists[i][r].score),
                              BoolGetDatum(lists[i][r].popular_fallback)};
                bool nulls[5] = {false, false, false, false, false};
                crm::pg::put_srf_row(rsinfo, v, nulls);
            }
        crm::check_interrupts();
    }
    spi.finish();
    return static_cast<Datum>(0);
}

// crm.cf_evaluate(ratings, user_col, item_col, rating_col, folds, k, similarity, seed, relevant_threshold, n)
CRM_FUNCTION(crm_cf_evaluate) {
    const Columns c = resolve(fcinfo);
    const int folds = int_arg(fcinfo, 4, "folds");
    if (folds < 2) crm::throw_invalid("folds must be at least 2, got " + std::to_string(folds));
    crm::KnnOptions knn;
    knn.k = int_arg(fcinfo, 5, "k");
    knn.similarity = crm::parse_similarity(text_arg_checked(fcinfo, 6, "similarity"));
    crm::check_knn_options(knn);
    const int seed = int_arg(fcinfo, 7, "seed");
    if (PG_ARGISNULL(8)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "relevant_threshold must not be NULL");
    const double threshold = PG_GETARG_FLOAT8(8);
    crm::TopNOptions topn;
    topn.n = int_arg(fcinfo, 9, "n");
    topn.k = knn.k;  // the same neighbourhood size for the top-N metrics
    crm::check_topn_options(topn);
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::ProgressReport progress;
    progress.update("crm.cf_evaluate reading the ratings", true);
    crm::pg::SpiSession spi;
    std::int64_t skipped = 0;
    const std::vector<crm::Rating> ratings = crm::pg::load_ratings(spi, c, &skipped);
    spi.finish();
    progress.update("crm.cf_evaluate " + std::to_string(ratings.size()) + " ratings, " + std::to_string(folds) +
                    " folds", true);
    if (ratings.empty()) return static_cast<Datum>(0);
    const auto metrics = crm::cross_validate(ratings, {}, folds, static_cast<std::uint64_t>(static_cast<std::int64_t>(seed)),
                                             knn, topn, threshold);
    for (const auto& f : metrics) {
        Datum v[6] = {Int32GetDatum(f.fold + 1), Int64GetDatum(f.test_ratings), Float8GetDatum(f.rmse),
                      Float8GetDatum(f.mae), Float8GetDatum(f.precision_at_k), Float8GetDatum(f.recall_at_k)};
        bool nulls[6] = {false, false, std::isnan(f.rmse), std::isnan(f.mae), std::isnan(f.precision_at_k),
                         std::isnan(f.recall_at_k)};
        crm::pg::put_srf_row(rsinfo, v, nulls);
    }
    return static_cast<Datum>(0);
}
