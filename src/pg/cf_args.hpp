// Argument handling shared by the recommender functions (crm.cf_* and the
// top-N families of reco.cpp): the ratings table and its columns, key
// arrays, and required scalar arguments, each a clear error when NULL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "recommender.hpp"

#include "cf_cache.hpp"
#include "pg_includes.hpp"

namespace crm::pg {

// Arguments first..first+3 (default 0..3): ratings regclass, user_col, item_col,
// rating_col (22004 when NULL, 42P01/42703 when missing, 42804 for non-integer
// keys or a non-numeric rating).
RatingColumns resolve_rating_columns_at(FunctionCallInfo fcinfo, int first);
inline RatingColumns resolve_rating_columns(FunctionCallInfo fcinfo) { return resolve_rating_columns_at(fcinfo, 0); }

// A bigint[] argument (not NULL: the caller checks) as keys; NULL elements 22004.
std::vector<std::int64_t> int8_array(FunctionCallInfo fcinfo, int argno, const char* name);

// Required integer and text arguments (22004 naming the argument when NULL).
int int_arg(FunctionCallInfo fcinfo, int argno, const char* name);
std::string text_arg_checked(FunctionCallInfo fcinfo, int argno, const char* name);

// The (users[i], items[i]) pairs of two bigint[] arguments: neither NULL (22004),
// the same length (22023).
std::vector<std::pair<std::int64_t, std::int64_t>> user_item_pairs(FunctionCallInfo fcinfo, int users_arg, int items_arg);

// Rows (user_id, item_id, prediction), NaN as NULL.
void put_predictions(ReturnSetInfo* rsinfo, const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs,
                     const std::vector<double>& predictions);

// Rows of a top-N list: (user_id, rank, item_id, score, reason), or without
// user_id (rank, item_id, score, reason) when `user` is empty.
void put_ranked(ReturnSetInfo* rsinfo, const std::optional<std::int64_t>& user, const std::vector<crm::RankedItem>& list);
inline void put_ranked_list(ReturnSetInfo* rsinfo, std::int64_t user, const std::vector<crm::RankedItem>& list) {
    put_ranked(rsinfo, user, list);
}

// Lists for every user of the bigint[] argument `users_arg` (NULL: every user
// of `m`), n items each, with progress reported under `label`.
void emit_batch(FunctionCallInfo fcinfo, ReturnSetInfo* rsinfo, crm::Recommender& rec, const crm::RatingMatrix& m,
                int users_arg, std::size_t n, const char* label);

// Sets up a materialised set-returning call.
ReturnSetInfo* materialize(FunctionCallInfo fcinfo);

}  // namespace crm::pg
