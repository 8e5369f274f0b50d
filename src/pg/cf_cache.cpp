// The backend's rating-matrix cache and the reading of rating rows; see
// cf_cache.hpp for when a cached matrix may be served.
#include <cmath>
#include <cstdint>
#include <algorithm>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cf.hpp"
#include "errors.hpp"

#include "bridge.hpp"
#include "cf_cache.hpp"
#include "context_memory.hpp"
#include "settings.hpp"

namespace crm::pg {

namespace {

// Rows as they stream out of SPI, in PostgreSQL memory (C only while filling).
struct RawRatings {
    MemoryContext context;
    std::uint64_t capacity, count;
    std::int64_t* users;
    std::int64_t* items;
    double* values;
    std::int32_t* folds;  // when a fold column is read: its value, -1 for NULL or out of [0, fold_count)
    std::int64_t fold_count;
    std::int64_t skipped;
    const char* problem;
    std::uint64_t max_ratings;
    bool over_limit;
};

void collect_rating(TupleTableSlot* slot, void* arg) {
    auto* r = static_cast<RawRatings*>(arg);
    if (r->problem != nullptr) return;
    if (r->count + 1 > r->max_ratings) {  // the matrix would not fit: stop storing
        r->problem = "the rating matrix would need more than crm.max_fit_memory";
        r->over_limit = true;
        return;
    }
    if (slot->tts_isnull[0] || slot->tts_isnull[1] || slot->tts_isnull[2]) {
        r->skipped++;
        return;
    }
    const double v = DatumGetFloat8(slot->tts_values[2]);
    if (!std::isfinite(v)) {
        r->problem = "ratings must be finite numbers (found NaN or Infinity)";
        return;
    }
    if (r->count == r->capacity) {
        const std::uint64_t cap = r->capacity == 0 ? 4096 : r->capacity * 2;
        r->users = static_cast<std::int64_t*>(r->users ? repalloc_huge(r->users, cap * 8) : MemoryContextAllocHuge(r->context, cap * 8));
        r->items = static_cast<std::int64_t*>(r->items ? repalloc_huge(r->items, cap * 8) : MemoryContextAllocHuge(r->context, cap * 8));
        r->values = static_cast<double*>(r->values ? repalloc_huge(r->values, cap * 8) : MemoryContextAllocHuge(r->context, cap * 8));
        if (r->fold_count > 0)
            r->folds = static_cast<std::int32_t*>(r->folds ? repalloc_huge(r->folds, cap * 4) : MemoryContextAllocHuge(r->context, cap * 4));
        r->capacity = cap;
    }
    r->users[r->count] = DatumGetInt64(slot->tts_values[0]);
    r->items[r->count] = DatumGetInt64(slot->tts_values[1]);
    r->values[r->count] = v;
    if (r->fold_count > 0) {
        const std::int64_t f = slot->tts_isnull[3] ? -1 : DatumGetInt64(slot->tts_values[3]);
        r->folds[r->count] = f >= 0 && f < r->fold_count ? static_cast<std::int32_t>(f) : -1;
    }
    if ((++r->count & 0xFFFF) == 0) CHECK_FOR_INTERRUPTS();
}

// The rating columns (and an optional fourth, already an SQL expression built
// from quoted identifiers), from the quoted relation.
std::string select_columns(const RatingColumns& c, const std::string& extra_column = {}) {
    const std::string rating_expr = c.rating.quoted_name + (c.rating.type == CASHOID ? "::pg_catalog.numeric" : "") +
                                    (c.rating.type == BOOLOID ? "::pg_catalog.int4" : "") + "::pg_catalog.float8";
    return "SELECT " + c.user.quoted_name + "::pg_catalog.int8, " + c.item.quoted_name + "::pg_catalog.int8, " +
           rating_expr + (extra_column.empty() ? "" : ", " + extra_column) + " FROM " + c.rel.quoted_name;
}

// What identifies the contents of a cached matrix (see cf_cache.hpp).
struct CacheKey {
    Oid relid = InvalidOid;
    Oid relfilenode = InvalidOid;
    Oid trigger = InvalidOid;
    std::int64_t version = -1;
    TransactionId version_xmin = InvalidTransactionId;
    std::string columns;

    bool operator==(const CacheKey& o) const {
        return relid == o.relid && relfilenode == o.relfilenode && trigger == o.trigger && version == o.version &&
               version_xmin == o.version_xmin && columns == o.columns;
    }
};

std::string column_key(const RatingColumns& c) {
    std::string key;
    for (const ColumnRef* col : {&c.user, &c.item, &c.rating})
        key += std::to_string(col->attnum) + ":" + std::to_string(col->type) + ":" + col->name + "\x1f";
    return key;
}

// The key of the table's current contents when this caller may be served from
// the cache, else nothing.
std::optional<CacheKey> cacheable_key(SpiSession& spi, const RatingColumns& c) {
    struct Out {
        bool found;
        Oid relfilenode, trigger;
        std::int64_t version;
        bool has_xmin;
        TransactionId xmin;
    };
    Out out{false, InvalidOid, InvalidOid, 0, false, InvalidTransactionId};
    // tgtype 60 = AFTER, FOR EACH STATEMENT, INSERT | DELETE | UPDATE | TRUNCATE.
    spi.stream(
        "SELECT c.relfilenode, t.oid, COALESCE(v.version, 0), v.xmin "
        "FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_trigger t ON t.tgrelid = c.oid AND t.tgname = 'crm_cf_track_changes' "
        "  AND t.tgenabled = 'A' AND t.tgtype = 60 AND t.tgqual IS NULL "
        "  AND pg_catalog.cardinality(t.tgattr::pg_catalog.int2[]) = 0 "
        "  AND t.tgfoid = 'crm._cf_bump_version()'::pg_catalog.regprocedure "
        "LEFT JOIN crm.cf_table_versions v ON v.relid = c.oid "
        "WHERE c.oid = $1 AND c.relkind = 'r' AND NOT c.relispartition AND NOT c.relhassubclass "
        "  AND NOT c.relrowsecurity "
        "  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid)",
        {OIDOID}, {ObjectIdGetDatum(c.rel.relid)},
        [](TupleTableSlot* slot, void* arg) {
            auto* o = static_cast<Out*>(arg);
            if (slot->tts_isnull[0] || slot->tts_isnull[1] || slot->tts_isnull[2]) return;
            o->found = true;
            o->relfilenode = DatumGetObjectId(slot->tts_values[0]);
            o->trigger = DatumGetObjectId(slot->tts_values[1]);
            o->version = DatumGetInt64(slot->tts_values[2]);
            o->has_xmin = !slot->tts_isnull[3];
            if (o->has_xmin) o->xmin = DatumGetTransactionId(slot->tts_values[3]);
        },
        &out);
    if (!out.found) return std::nullopt;
    // A version written by this very transaction may still be rolled back: do not cache on it.
    if (out.has_xmin && TransactionIdIsCurrentTransactionId(out.xmin)) return std::nullopt;
    CacheKey key;
    key.relid = c.rel.relid;
    key.relfilenode = out.relfilenode;
    key.trigger = out.trigger;
    key.version = out.version;
    key.version_xmin = out.xmin;
    key.columns = column_key(c);
    return key;
}

// One cached matrix and the memory context its arrays live in.
struct CacheEntry {
    CacheKey key;
    MemoryContext context = nullptr;
    std::unique_ptr<ContextMemoryResource> memory;
    std::optional<crm::RatingMatrix> matrix;
    // Item neighbour lists built from this matrix, by "k:similarity".
    // Shared: a caller keeps stored lists alive even if a later load evicts the entry.
    std::map<std::string, std::shared_ptr<const crm::ItemNeighbours>> neighbours;
    std::uint64_t last_used = 0;

    CacheEntry() = default;
    CacheEntry(const CacheEntry&) = delete;
    CacheEntry& operator=(const CacheEntry&) = delete;
    ~CacheEntry() {
        neighbours.clear();
        matrix.reset();  // gives its arrays back to the context first
        if (context != nullptr) MemoryContextDelete(context);  // cannot raise
    }
};

struct Cache {
    MemoryContext parent = nullptr;  // "crm cf cache", under TopMemoryContext
    std::list<CacheEntry> entries;
    std::uint64_t clock = 0;
};

Cache& backend_cache() {
    static Cache cache;
    return cache;
}

std::size_t cached_bytes(const Cache& cache) {
    std::size_t total = 0;
    for (const CacheEntry& e : cache.entries) {
        total += e.matrix ? e.matrix->memory_bytes() : 0;
        for (const auto& nb : e.neighbours) total += nb.second->memory_bytes();
    }
    return total;
}

// Drops least recently used entries until `incoming` more bytes fit the budget.
void make_room(Cache& cache, std::size_t incoming) {
    const std::size_t budget = cf_cache_memory_bytes();
    while (!cache.entries.empty() && cached_bytes(cache) + incoming > budget) {
        auto oldest = cache.entries.begin();
        for (auto it = cache.entries.begin(); it != cache.entries.end(); ++it)
            if (it->last_used < oldest->last_used) oldest = it;
        cache.entries.erase(oldest);
    }
}

MemoryContext new_entry_context(Cache& cache, const std::string& table) {
    if (cache.parent == nullptr)
        cache.parent = pg_guard([] { return AllocSetContextCreate(TopMemoryContext, "crm cf cache", ALLOCSET_SMALL_SIZES); });
    MemoryContext parent = cache.parent;
    const char* name = table.c_str();
    return pg_guard([parent, name] {
        MemoryContext ctx = AllocSetContextCreate(parent, "crm cf matrix", ALLOCSET_DEFAULT_SIZES);
        MemoryContextSetIdentifier(ctx, MemoryContextStrdup(ctx, name));
        return ctx;
    });
}

void notice_skipped(std::int64_t skipped) {
    if (skipped > 0)
        pg_guard([skipped] {
            ereport(NOTICE, (errmsg("skipped %lld rating rows with a NULL user, item or rating",
                                    static_cast<long long>(skipped))));
        });
}

}  // namespace

std::vector<crm::Rating> load_ratings(SpiSession& spi, const RatingColumns& c, std::int64_t* skipped) {
    return load_ratings_with_folds(spi, c, nullptr, 0, nullptr, skipped);
}

std::vector<crm::Rating> load_ratings_with_folds(SpiSession& spi, const RatingColumns& c, const ColumnRef* fold_col,
                                                 int fold_count, std::vector<int>* folds, std::int64_t* skipped) {
    const std::string sql = select_columns(c, fold_col != nullptr ? fold_col->quoted_name + "::pg_catalog.int8" : "");
    const std::uint64_t max_ratings = crm::rating_matrix_max_ratings(max_fit_memory_bytes());
    const std::int64_t fold_count64 = fold_col != nullptr ? fold_count : 0;
    RawRatings* raw = pg_guard([max_ratings, fold_count64] {
        auto* r = static_cast<RawRatings*>(palloc0(sizeof(RawRatings)));
        r->context = AllocSetContextCreate(CurrentMemoryContext, "crm cf ratings", ALLOCSET_DEFAULT_SIZES);
        r->max_ratings = max_ratings;
        r->fold_count = fold_count64;
        return r;
    });
    spi.stream(sql, {}, {}, &collect_rating, raw);
    if (raw->over_limit)
        crm::throw_error(crm::ErrorKind::OutOfMemory, raw->problem,
                         "Filter the ratings (a view of recent or active users) or raise crm.max_fit_memory.");
    if (raw->problem != nullptr) crm::throw_invalid(raw->problem);
    std::vector<crm::Rating> out(raw->count);
    for (std::uint64_t i = 0; i < raw->count; ++i) out[i] = {raw->users[i], raw->items[i], raw->values[i]};
    if (folds != nullptr) folds->assign(raw->folds, raw->folds + (raw->fold_count > 0 ? raw->count : 0));
    *skipped = raw->skipped;
    MemoryContext ctx = raw->context;
    pg_guard([ctx] { MemoryContextDelete(ctx); });
    return out;
}

const crm::RatingMatrix& rating_matrix(SpiSession& spi, const RatingColumns& c,
                                       std::optional<crm::RatingMatrix>& uncached) {
    Cache& cache = backend_cache();
    const std::optional<CacheKey> key = cacheable_key(spi, c);
    if (key) {
        for (CacheEntry& e : cache.entries)
            if (e.matrix && e.key == *key) {
                // Checks what a fresh read would check now (schema USAGE, table or
                // column SELECT) before serving rows read by someone else.
                spi.query(select_columns(c) + " LIMIT 0", {}, {});
                e.last_used = ++cache.clock;
                return *e.matrix;
            }
    }
    std::int64_t skipped = 0;
    std::vector<crm::Rating> ratings = load_ratings(spi, c, &skipped);
    notice_skipped(skipped);
    // An upper bound of the matrix's size: 24 bytes per rating in its two
    // orders, at most 40 more per user or item (keys, offsets, means).
    const std::size_t bound = 64 * ratings.size() + sizeof(crm::RatingMatrix);
    if (!key || bound > cf_cache_memory_bytes()) {
        uncached.emplace(std::move(ratings));
        return *uncached;
    }
    // Retire older matrices of the same table and columns and make room, then
    // build the new one in a context of its own.
    cache.entries.remove_if([&key](const CacheEntry& e) { return e.key.relid == key->relid && e.key.columns == key->columns; });
    make_room(cache, bound);
    auto& entry = cache.entries.emplace_back();
    try {
        entry.key = *key;
        entry.context = new_entry_context(cache, c.rel.display_name);
        entry.memory = std::make_unique<ContextMemoryResource>(entry.context);
        entry.matrix.emplace(std::move(ratings), entry.memory.get());
    } catch (...) {
        cache.entries.pop_back();
        throw;
    }
    entry.last_used = ++cache.clock;
    return *cache.entries.back().matrix;
}

void check_neighbour_memory(std::size_t items, std::size_t catalogue, int k) {
    // About 48 bytes a link: the link as built, and the forward and reverse lists.
    const std::size_t per_item = std::min<std::size_t>(static_cast<std::size_t>(std::max(k, 0)), catalogue > 0 ? catalogue - 1 : 0);
    const std::size_t need = items * per_item * 48;
    if (need > max_fit_memory_bytes())
        crm::throw_error(crm::ErrorKind::OutOfMemory,
                         "the item neighbour lists would need about " + std::to_string(need / (1024 * 1024)) +
                             " MB, more than crm.max_fit_memory",
                         "Use a smaller k, or raise crm.max_fit_memory.");
}

const crm::ItemNeighbours& item_neighbours(const crm::RatingMatrix& m, int k, crm::ItemSimilarity similarity,
                                           std::optional<crm::ItemNeighbours>& uncached) {
    check_neighbour_memory(m.items(), m.items(), k);
    Cache& cache = backend_cache();
    const std::string key = std::to_string(k) + ":" + crm::item_similarity_name(similarity);
    for (CacheEntry& e : cache.entries) {
        if (!e.matrix || &*e.matrix != &m) continue;
        const auto found = e.neighbours.find(key);
        if (found != e.neighbours.end()) return *found->second;
        auto built = std::make_unique<crm::ItemNeighbours>(crm::item_neighbour_links(m, k, similarity));
        // Kept only within the budget; the matrix it belongs to is not evicted for it.
        if (cached_bytes(cache) + built->memory_bytes() > cf_cache_memory_bytes()) {
            uncached.emplace(std::move(*built));
            return *uncached;
        }
        return *e.neighbours.emplace(key, std::move(built)).first->second;
    }
    uncached.emplace(crm::item_neighbour_links(m, k, similarity));
    return *uncached;
}

std::shared_ptr<const crm::ItemNeighbours> stored_neighbours(SpiSession& spi, const RatingColumns& c) {
    Cache& cache = backend_cache();
    const std::optional<CacheKey> key = cacheable_key(spi, c);
    const std::string slot = "stored";
    if (key) {
        for (CacheEntry& e : cache.entries)
            if (!e.matrix && e.key == *key) {
                const auto found = e.neighbours.find(slot);
                if (found == e.neighbours.end()) continue;
                spi.query(select_columns(c) + " LIMIT 0", {}, {});  // the caller may read it now
                e.last_used = ++cache.clock;
                return found->second;
            }
    }
    std::int64_t skipped = 0;
    std::vector<crm::Rating> rows = load_ratings(spi, c, &skipped);
    std::vector<crm::ItemNeighbours::Link> links(rows.size());
    for (std::size_t r = 0; r < rows.size(); ++r) links[r] = {rows[r].user, rows[r].item, rows[r].rating};
    rows = {};
    auto built = std::make_shared<const crm::ItemNeighbours>(std::move(links));  // validates
    if (!key || built->memory_bytes() > cf_cache_memory_bytes()) return built;
    // Retire older lists of the same table and make room, then keep these.
    cache.entries.remove_if([&key](const CacheEntry& e) { return e.key.relid == key->relid && e.key.columns == key->columns; });
    make_room(cache, built->memory_bytes());
    auto& entry = cache.entries.emplace_back();
    entry.key = *key;
    entry.last_used = ++cache.clock;
    entry.neighbours.emplace(slot, built);
    return built;
}

}  // namespace crm::pg
