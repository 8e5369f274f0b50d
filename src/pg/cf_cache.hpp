// The backend's cache of rating matrices for crm.cf_* calls.
//
// A matrix is served from the cache only when a fresh query would give the
// same rows to this caller:
//  * the table is registered (crm.cf_track_changes: a statement trigger,
//    enabled ALWAYS, covering INSERT, UPDATE, DELETE and TRUNCATE), and is a
//    plain table that is neither a partition nor an inheritance parent or
//    child (their rows change without the table's own statement triggers
//    firing), with no row-level security;
//  * nothing changed: the same table version (row of crm.cf_table_versions
//    and the transaction that wrote it), the same storage (relfilenode: a
//    rewrite such as ALTER COLUMN ... TYPE changes it), the same trigger (a
//    re-registration retires older matrices) and the same columns (attnum
//    and type);
//  * the caller may read it now: the columns are read with a probe query
//    (LIMIT 0) that checks exactly what a fresh query checks (schema USAGE,
//    table or column SELECT).
// Matrices live in memory contexts under "crm cf cache" (visible in
// pg_backend_memory_contexts), at most crm.cf_cache_memory in total, least
// recently used first out.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "cf.hpp"
#include "item_knn.hpp"

#include "relation.hpp"
#include "spi_session.hpp"

namespace crm::pg {

struct RatingColumns {
    RelationRef rel;
    ColumnRef user, item, rating;
};

// The matrix for this call: cached when valid, else read now (and cached when
// the table may be). `uncached` holds a matrix that must not be kept.
const crm::RatingMatrix& rating_matrix(SpiSession& spi, const RatingColumns& c,
                                       std::optional<crm::RatingMatrix>& uncached);

// Reads the rating rows (user, item, rating as float8) with the caller's
// privileges, within crm.max_fit_memory; NULL rows are counted in *skipped.
std::vector<crm::Rating> load_ratings(SpiSession& spi, const RatingColumns& c, std::int64_t* skipped);

// load_ratings plus a fold column (read as bigint): folds[r] is its value, or
// -1 when NULL or outside [0, fold_count).
std::vector<crm::Rating> load_ratings_with_folds(SpiSession& spi, const RatingColumns& c, const ColumnRef* fold_col,
                                                 int fold_count, std::vector<int>* folds, std::int64_t* skipped);

// 53200 when the neighbour lists of `items` items among `catalogue` (at most
// k each) would need more than crm.max_fit_memory.
void check_neighbour_memory(std::size_t items, std::size_t catalogue, int k);

// The k-nearest item lists of `m` (memory checked as above): kept with m when m is a cached matrix (and
// they fit crm.cf_cache_memory), so a later call on the same table version
// reuses them; otherwise built into `uncached`.
const crm::ItemNeighbours& item_neighbours(const crm::RatingMatrix& m, int k, crm::ItemSimilarity similarity,
                                           std::optional<crm::ItemNeighbours>& uncached);

// Stored neighbour lists (a table with the columns of crm.itemknn_fit, mapped
// as user = item_id, item = neighbour_id, rating = similarity): kept by the
// backend under the same rules as a rating matrix when the table is registered
// with crm.cf_track_changes, so online calls with model => do not read two
// million rows each time; otherwise read now. Shared, so that a later load
// that evicts the entry does not free lists still in use: load them before the
// rating matrix of the same call.
std::shared_ptr<const crm::ItemNeighbours> stored_neighbours(SpiSession& spi, const RatingColumns& c);

}  // namespace crm::pg
