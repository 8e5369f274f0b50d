// The top-N recommender families in SQL, all returning lists of the shape
// (user_id, rank, item_id, score, reason) and all served by crm::Recommender:
//   crm.itemknn_fit, crm.similar_items (live and over stored lists),
//   crm.itemknn_recommend_batch, crm.itemknn_predict, crm.userknn_recommend_batch,
//   crm.content_recommend_batch, crm.content_similar_items,
//   crm.hybrid_recommend_batch, crm.popular_recommend_batch, crm.reco_evaluate.
//
// Ratings are read as crm.cf_* read them (cf_cache.hpp: the caller's
// privileges, a cached matrix for tracked tables), so the user's side of every
// list is always current. Attribute, group and stored neighbour tables are
// read on every call with the caller's privileges.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "content_model.hpp"
#include "errors.hpp"
#include "interrupts.hpp"
#include "item_knn.hpp"
#include "reco_evaluate.hpp"
#include "reco_options.hpp"
#include "recommender.hpp"

#include "bridge.hpp"
#include "cf_args.hpp"
#include "cf_cache.hpp"
#include "composite.hpp"
#include "datum_convert.hpp"
#include "progress.hpp"
#include "relation.hpp"
#include "settings.hpp"
#include "spi_session.hpp"

namespace {

using crm::pg::int8_array;
using crm::pg::int_arg;
using crm::pg::materialize;
using crm::pg::pg_guard;
using crm::pg::put_ranked;
using crm::pg::text_arg_checked;

double float8_arg(FunctionCallInfo fcinfo, int argno, const char* name) {
    if (PG_ARGISNULL(argno)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, std::string(name) + " must not be NULL");
    return PG_GETARG_FLOAT8(argno);
}

std::string name_arg_checked(FunctionCallInfo fcinfo, int argno, const char* name) {
    if (PG_ARGISNULL(argno)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, std::string(name) + " must not be NULL");
    return crm::pg::name_arg(fcinfo, argno);
}

std::int64_t int8_arg(FunctionCallInfo fcinfo, int argno, const char* name) {
    if (PG_ARGISNULL(argno)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, std::string(name) + " must not be NULL");
    return PG_GETARG_INT64(argno);
}

std::size_t list_length(FunctionCallInfo fcinfo, int argno) {
    const int n = int_arg(fcinfo, argno, "n");
    if (n < 1) crm::throw_invalid("n must be at least 1, got " + std::to_string(n));
    return static_cast<std::size_t>(n);
}

// ---------------------------------------------------------------------------
// Reading keyed text arrays (item attributes, customer groups)

struct RawKeyed {
    MemoryContext context;
    std::uint64_t capacity, count;
    std::int64_t* keys;
    Datum* arrays;  // text[], copied into context
};

void collect_keyed(TupleTableSlot* slot, void* arg) {
    auto* r = static_cast<RawKeyed*>(arg);
    if (slot->tts_isnull[0] || slot->tts_isnull[1]) return;
    if (r->count == r->capacity) {
        const std::uint64_t cap = r->capacity == 0 ? 1024 : r->capacity * 2;
        r->keys = static_cast<std::int64_t*>(r->keys ? repalloc_huge(r->keys, cap * 8) : MemoryContextAllocHuge(r->context, cap * 8));
        r->arrays = static_cast<Datum*>(r->arrays ? repalloc_huge(r->arrays, cap * sizeof(Datum))
                                                  : MemoryContextAllocHuge(r->context, cap * sizeof(Datum)));
        r->capacity = cap;
    }
    r->keys[r->count] = DatumGetInt64(slot->tts_values[0]);
    MemoryContext old = MemoryContextSwitchTo(r->context);
    r->arrays[r->count] = datumCopy(slot->tts_values[1], false, -1);
    MemoryContextSwitchTo(old);
    if ((++r->count & 0xFFF) == 0) CHECK_FOR_INTERRUPTS();
}

// Rows of (key::int8, values::text[]) from `sql`; NULL keys or arrays skipped.
std::vector<crm::ItemAttributes> read_keyed(crm::pg::SpiSession& spi, const std::string& sql, const char* what) {
    RawKeyed* raw = pg_guard([] {
        auto* r = static_cast<RawKeyed*>(palloc0(sizeof(RawKeyed)));
        r->context = AllocSetContextCreate(CurrentMemoryContext, "crm reco keyed rows", ALLOCSET_DEFAULT_SIZES);
        return r;
    });
    spi.stream(sql, {}, {}, &collect_keyed, raw);
    std::vector<crm::ItemAttributes> out(raw->count);
    for (std::uint64_t i = 0; i < raw->count; ++i) out[i] = {raw->keys[i], crm::pg::text_array_from_datum(raw->arrays[i], what)};
    MemoryContext ctx = raw->context;
    pg_guard([ctx] { MemoryContextDelete(ctx); });
    return out;
}

bool is_array_type(Oid type) {
    return pg_guard([type] { return OidIsValid(get_element_type(type)); });
}

// The attribute table and its two columns, three arguments from `first` on.
struct AttributeArgs {
    Oid relid;
    std::string item_col, attribute_col;
};

// Item attributes: a text[] column (NULL elements ignored) or one scalar per row
// (key/value rows), any type, read as text. Several rows per item are merged.
crm::ContentModel read_attributes(crm::pg::SpiSession& spi, const AttributeArgs& a) {
    const crm::pg::RelationRef rel = crm::pg::resolve_relation(a.relid, "attributes");
    const crm::pg::ColumnRef item = crm::pg::resolve_column(rel, a.item_col, "attribute_item_col");
    const crm::pg::ColumnRef attr = crm::pg::resolve_column(rel, a.attribute_col, "attribute_col");
    if (!crm::pg::is_integer_type(item.type))
        crm::throw_error(crm::ErrorKind::DatatypeMismatch,
                         "column \"" + item.name + "\" must be an integer or bigint key, not " + item.type_name);
    const std::string values = is_array_type(attr.type)
                                   ? "pg_catalog.array_remove(" + attr.quoted_name + "::pg_catalog.text[], NULL)"
                                   : "pg_catalog.array_remove(ARRAY[" + attr.quoted_name + "::pg_catalog.text], NULL)";
    return crm::ContentModel(read_keyed(
        spi, "SELECT " + item.quoted_name + "::pg_catalog.int8, " + values + " FROM " + rel.quoted_name, "attributes"));
}

Oid regclass_arg(FunctionCallInfo fcinfo, int argno, const char* name);

// The attribute arguments: three from `first` on.
AttributeArgs attribute_args(FunctionCallInfo fcinfo, int first) {
    return {regclass_arg(fcinfo, first, "attributes"), name_arg_checked(fcinfo, first + 1, "attribute_item_col"),
            name_arg_checked(fcinfo, first + 2, "attribute_col")};
}

Oid regclass_arg(FunctionCallInfo fcinfo, int argno, const char* name) {
    if (PG_ARGISNULL(argno)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, std::string(name) + " must not be NULL");
    return PG_GETARG_OID(argno);
}

// Stored neighbour lists: a table or view with the columns crm.itemknn_fit returns
// (cached by the backend when the table is registered with crm.cf_track_changes).
std::shared_ptr<const crm::ItemNeighbours> neighbour_table(crm::pg::SpiSession& spi, Oid relid) {
    crm::pg::RatingColumns c;
    c.rel = crm::pg::resolve_relation(relid, "model");
    c.user = crm::pg::resolve_column(c.rel, "item_id", "model");
    c.item = crm::pg::resolve_column(c.rel, "neighbour_id", "model");
    c.rating = crm::pg::resolve_column(c.rel, "similarity", "model");
    for (const auto* col : {&c.user, &c.item})
        if (!crm::pg::is_integer_type(col->type))
            crm::throw_error(crm::ErrorKind::DatatypeMismatch, "model column \"" + col->name + "\" must be an integer key");
    if (!crm::pg::is_numeric_type(c.rating.type))
        crm::throw_error(crm::ErrorKind::DatatypeMismatch, "model column \"similarity\" must be numeric");
    return crm::pg::stored_neighbours(spi, c);
}

}  // namespace

// crm.itemknn_fit(ratings, user_col, item_col, rating_col, k, similarity, items)
CRM_FUNCTION(crm_itemknn_fit) {
    const crm::pg::RatingColumns c = crm::pg::resolve_rating_columns(fcinfo);
    const int k = int_arg(fcinfo, 4, "k");
    const crm::ItemSimilarity similarity = crm::parse_item_similarity(text_arg_checked(fcinfo, 5, "similarity"));
    if (k < 1) crm::throw_invalid("k must be at least 1, got " + std::to_string(k));
    std::optional<std::vector<std::int64_t>> items;
    if (!PG_ARGISNULL(6)) items = int8_array(fcinfo, 6, "items");
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::SpiSession spi;
    std::optional<crm::RatingMatrix> uncached;
    const crm::RatingMatrix& m = crm::pg::rating_matrix(spi, c, uncached);
    crm::pg::check_neighbour_memory(items ? std::min(items->size(), m.items()) : m.items(), m.items(), k);
    const auto links = crm::item_neighbour_links(m, k, similarity, items ? &*items : nullptr);
    int rank = 0;
    for (std::size_t r = 0; r < links.size(); ++r) {
        rank = r > 0 && links[r - 1].item == links[r].item ? rank + 1 : 1;
        Datum v[4] = {Int64GetDatum(links[r].item), Int32GetDatum(rank), Int64GetDatum(links[r].neighbour),
                      Float8GetDatum(links[r].similarity)};
        bool nulls[4] = {false, false, false, false};
        crm::pg::put_srf_row(rsinfo, v, nulls);
    }
    spi.finish();
    return static_cast<Datum>(0);
}

// crm.similar_items(ratings, user_col, item_col, rating_col, item, n, similarity)
CRM_FUNCTION(crm_similar_items) {
    const crm::pg::RatingColumns c = crm::pg::resolve_rating_columns(fcinfo);
    const std::int64_t item = int8_arg(fcinfo, 4, "item");
    const std::size_t n = list_length(fcinfo, 5);
    const crm::ItemSimilarity similarity = crm::parse_item_similarity(text_arg_checked(fcinfo, 6, "similarity"));
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::SpiSession spi;
    std::optional<crm::RatingMatrix> uncached;
    const crm::RatingMatrix& m = crm::pg::rating_matrix(spi, c, uncached);
    auto row = crm::item_similarity_row(m, item, similarity);
    std::vector<crm::RankedItem> list;
    for (const auto& [j, sim] : row)
        if (sim > 0) list.push_back({m.item_key(j), sim, crm::RecoReason::SimilarItems});
    std::sort(list.begin(), list.end(), [](const crm::RankedItem& a, const crm::RankedItem& b) {
        return a.score > b.score || (a.score == b.score && a.item < b.item);
    });
    if (list.size() > n) list.resize(n);
    put_ranked(rsinfo, std::nullopt, list);
    spi.finish();
    return static_cast<Datum>(0);
}

// crm.similar_items(model, item, n): over stored neighbour lists
CRM_FUNCTION(crm_similar_items_stored) {
    const Oid model = regclass_arg(fcinfo, 0, "model");
    const std::int64_t item = int8_arg(fcinfo, 1, "item");
    const std::size_t n = list_length(fcinfo, 2);
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::SpiSession spi;
    const std::shared_ptr<const crm::ItemNeighbours> stored = neighbour_table(spi, model);
    const crm::ItemNeighbours& nb = *stored;
    std::vector<crm::RankedItem> list;
    const std::size_t i = nb.index(item);
    if (i != crm::ItemNeighbours::npos) {
        const auto row = nb.row(i);
        for (std::size_t a = 0; a < row.size && list.size() < n; ++a)
            list.push_back({nb.key(row.neighbour[a]), row.similarity[a], crm::RecoReason::SimilarItems});
    }
    put_ranked(rsinfo, std::nullopt, list);
    spi.finish();
    return static_cast<Datum>(0);
}

// crm.itemknn_recommend_batch(ratings, user_col, item_col, rating_col, users, n, k, similarity, model, diversity)
CRM_FUNCTION(crm_itemknn_recommend_batch) {
    const crm::pg::RatingColumns c = crm::pg::resolve_rating_columns(fcinfo);
    const std::size_t n = list_length(fcinfo, 5);
    crm::RecommenderOptions o;
    o.item_k = int_arg(fcinfo, 6, "k");
    o.item_similarity = crm::parse_item_similarity(text_arg_checked(fcinfo, 7, "similarity"));
    o.diversity = float8_arg(fcinfo, 9, "diversity");
    crm::check_recommender_options(o);
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::SpiSession spi;
    // Stored lists first: loading them may evict cache entries, the matrix must not be one of them.
    const std::shared_ptr<const crm::ItemNeighbours> stored =
        PG_ARGISNULL(8) ? nullptr : neighbour_table(spi, PG_GETARG_OID(8));
    std::optional<crm::ItemNeighbours> uncached_nb;
    std::optional<crm::RatingMatrix> uncached;
    const crm::RatingMatrix& m = crm::pg::rating_matrix(spi, c, uncached);
    const crm::ItemNeighbours& nb =
        stored ? *stored : crm::pg::item_neighbours(m, o.item_k, o.item_similarity, uncached_nb);
    crm::Recommender rec(m, crm::RecoMethod::ItemKnn, o, nullptr, &nb);
    crm::pg::emit_batch(fcinfo, rsinfo, rec, m, 4, n, "crm.itemknn_recommend_batch");
    spi.finish();
    return static_cast<Datum>(0);
}

// crm.itemknn_predict(ratings, user_col, item_col, rating_col, users, items, k, min_k, similarity)
CRM_FUNCTION(crm_itemknn_predict) {
    const crm::pg::RatingColumns c = crm::pg::resolve_rating_columns(fcinfo);
    const auto pairs = crm::pg::user_item_pairs(fcinfo, 4, 5);
    crm::ItemPredictOptions o;
    o.k = int_arg(fcinfo, 6, "k");
    o.min_k = int_arg(fcinfo, 7, "min_k");
    o.similarity = crm::parse_item_similarity(text_arg_checked(fcinfo, 8, "similarity"));
    if (o.k < 1) crm::throw_invalid("k must be at least 1, got " + std::to_string(o.k));
    if (o.min_k < 0) crm::throw_invalid("min_k must be at least 0, got " + std::to_string(o.min_k));
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::SpiSession spi;
    std::optional<crm::RatingMatrix> uncached;
    const crm::RatingMatrix& m = crm::pg::rating_matrix(spi, c, uncached);
    crm::pg::put_predictions(rsinfo, pairs, crm::predict_item_based(m, pairs, o));
    spi.finish();
    return static_cast<Datum>(0);
}

// crm.userknn_recommend_batch(ratings, user_col, item_col, rating_col, users, n, k, neighbours, diversity)
CRM_FUNCTION(crm_userknn_recommend_batch) {
    const crm::pg::RatingColumns c = crm::pg::resolve_rating_columns(fcinfo);
    const std::size_t n = list_length(fcinfo, 5);
    crm::RecommenderOptions o;
    o.user_k = int_arg(fcinfo, 6, "k");
    o.user_vectors = crm::parse_neighbour_vectors(text_arg_checked(fcinfo, 7, "neighbours"));
    o.diversity = float8_arg(fcinfo, 8, "diversity");
    crm::check_recommender_options(o);
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::SpiSession spi;
    std::optional<crm::RatingMatrix> uncached;
    const crm::RatingMatrix& m = crm::pg::rating_matrix(spi, c, uncached);
    crm::Recommender rec(m, crm::RecoMethod::UserKnn, o);
    crm::pg::emit_batch(fcinfo, rsinfo, rec, m, 4, n, "crm.userknn_recommend_batch");
    spi.finish();
    return static_cast<Datum>(0);
}

// crm.content_recommend_batch(ratings, user_col, item_col, rating_col, attributes, attribute_item_col,
//                             attribute_col, users, n, diversity)
CRM_FUNCTION(crm_content_recommend_batch) {
    const crm::pg::RatingColumns c = crm::pg::resolve_rating_columns(fcinfo);
    const AttributeArgs attributes = attribute_args(fcinfo, 4);
    const std::size_t n = list_length(fcinfo, 8);
    crm::RecommenderOptions o;
    o.diversity = float8_arg(fcinfo, 9, "diversity");
    crm::check_recommender_options(o);
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::SpiSession spi;
    const crm::ContentModel content = read_attributes(spi, attributes);
    std::optional<crm::RatingMatrix> uncached;
    const crm::RatingMatrix& m = crm::pg::rating_matrix(spi, c, uncached);
    crm::Recommender rec(m, crm::RecoMethod::Content, o, &content);
    crm::pg::emit_batch(fcinfo, rsinfo, rec, m, 7, n, "crm.content_recommend_batch");
    spi.finish();
    return static_cast<Datum>(0);
}

// crm.content_similar_items(attributes, attribute_item_col, attribute_col, item, n)
CRM_FUNCTION(crm_content_similar_items) {
    const AttributeArgs attributes = attribute_args(fcinfo, 0);
    const std::int64_t item = int8_arg(fcinfo, 3, "item");
    const std::size_t n = list_length(fcinfo, 4);
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::SpiSession spi;
    const crm::ContentModel content = read_attributes(spi, attributes);
    std::vector<crm::RankedItem> list;
    for (const auto& [key, score] : content.like({item})) {
        if (list.size() >= n) break;
        list.push_back({key, score, crm::RecoReason::Content});
    }
    put_ranked(rsinfo, std::nullopt, list);
    spi.finish();
    return static_cast<Datum>(0);
}

// crm.hybrid_recommend_batch(ratings, user_col, item_col, rating_col, attributes, attribute_item_col,
//                            attribute_col, users, n, k, weight, min_support, new_item_slots, diversity)
CRM_FUNCTION(crm_hybrid_recommend_batch) {
    const crm::pg::RatingColumns c = crm::pg::resolve_rating_columns(fcinfo);
    const AttributeArgs attributes = attribute_args(fcinfo, 4);
    const std::size_t n = list_length(fcinfo, 8);
    crm::RecommenderOptions o;
    o.item_k = int_arg(fcinfo, 9, "k");
    o.hybrid_weight = float8_arg(fcinfo, 10, "weight");
    o.hybrid_min_support = int_arg(fcinfo, 11, "min_support");
    if (!PG_ARGISNULL(12)) o.hybrid_new_item_slots = int_arg(fcinfo, 12, "new_item_slots");  // NULL: no limit
    o.diversity = float8_arg(fcinfo, 13, "diversity");
    crm::check_recommender_options(o);
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::SpiSession spi;
    const crm::ContentModel content = read_attributes(spi, attributes);
    std::optional<crm::RatingMatrix> uncached;
    const crm::RatingMatrix& m = crm::pg::rating_matrix(spi, c, uncached);
    std::optional<crm::ItemNeighbours> uncached_nb;
    const crm::ItemNeighbours& nb = crm::pg::item_neighbours(m, o.item_k, o.item_similarity, uncached_nb);
    crm::Recommender rec(m, crm::RecoMethod::Hybrid, o, &content, &nb);
    crm::pg::emit_batch(fcinfo, rsinfo, rec, m, 7, n, "crm.hybrid_recommend_batch");
    spi.finish();
    return static_cast<Datum>(0);
}

// crm.popular_recommend_batch(ratings, user_col, item_col, rating_col, users, n, customers, customer_col, group_col)
CRM_FUNCTION(crm_popular_recommend_batch) {
    const crm::pg::RatingColumns c = crm::pg::resolve_rating_columns(fcinfo);
    const std::size_t n = list_length(fcinfo, 5);
    const bool grouped = !PG_ARGISNULL(6);
    std::string customer_col, group_col;
    if (grouped) {
        customer_col = name_arg_checked(fcinfo, 7, "customer_col");
        group_col = name_arg_checked(fcinfo, 8, "group_col");
    } else if (!PG_ARGISNULL(7) || !PG_ARGISNULL(8)) {
        crm::throw_invalid("customer_col and group_col need customers");
    }
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::SpiSession spi;
    std::vector<std::pair<std::int64_t, std::string>> groups;
    if (grouped) {
        const crm::pg::RelationRef rel = crm::pg::resolve_relation(PG_GETARG_OID(6), "customers");
        const crm::pg::ColumnRef key = crm::pg::resolve_column(rel, customer_col, "customer_col");
        const crm::pg::ColumnRef group = crm::pg::resolve_column(rel, group_col, "group_col");
        if (!crm::pg::is_integer_type(key.type))
            crm::throw_error(crm::ErrorKind::DatatypeMismatch,
                             "column \"" + key.name + "\" must be an integer or bigint key, not " + key.type_name);
        for (auto& row : read_keyed(spi,
                                    "SELECT " + key.quoted_name + "::pg_catalog.int8, pg_catalog.array_remove(ARRAY[" +
                                        group.quoted_name + "::pg_catalog.text], NULL) FROM " + rel.quoted_name,
                                    "group"))
            if (!row.attributes.empty()) groups.emplace_back(row.item, std::move(row.attributes.front()));
    }
    std::optional<crm::RatingMatrix> uncached;
    const crm::RatingMatrix& m = crm::pg::rating_matrix(spi, c, uncached);
    crm::Recommender rec(m, crm::RecoMethod::Popular, crm::RecommenderOptions{});
    if (grouped) rec.set_groups(groups);
    crm::pg::emit_batch(fcinfo, rsinfo, rec, m, 4, n, "crm.popular_recommend_batch");
    spi.finish();
    return static_cast<Datum>(0);
}

namespace {

// A fold's factor model must fit crm.max_fit_memory as crm.als_fit's and crm.svd_fit's do (53200).
void check_factor_memory(const std::vector<crm::Rating>& ratings, const crm::RecoEvaluation& e) {
    std::vector<std::int64_t> users, items;
    users.reserve(ratings.size());
    items.reserve(ratings.size());
    for (const auto& r : ratings) users.push_back(r.user), items.push_back(r.item);
    for (auto* keys : {&users, &items}) {
        std::sort(keys->begin(), keys->end());
        keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
    }
    const int factors = e.method == crm::RecoMethod::Als ? e.options.als.factors : e.options.svd.factors;
    const std::size_t need = crm::factor_fit_bytes(users.size(), items.size(), std::max(1, factors));
    if (need > crm::pg::max_fit_memory_bytes())
        crm::throw_error(crm::ErrorKind::OutOfMemory,
                         "the factor matrices would need about " + std::to_string(need / (1024 * 1024)) +
                             " MB, more than crm.max_fit_memory",
                         "Use fewer factors, filter the ratings, or raise crm.max_fit_memory.");
}

}  // namespace

// crm.reco_evaluate(ratings, user_col, item_col, rating_col, method, folds, fold_col, n,
//                   relevant_threshold, implicit, options)
CRM_FUNCTION(crm_reco_evaluate) {
    const crm::pg::RatingColumns c = crm::pg::resolve_rating_columns(fcinfo);
    const crm::RecoMethod method = crm::parse_reco_method(text_arg_checked(fcinfo, 4, "method"));
    const int folds = int_arg(fcinfo, 5, "folds");
    const std::size_t n = list_length(fcinfo, 7);
    const double threshold = float8_arg(fcinfo, 8, "relevant_threshold");
    if (PG_ARGISNULL(9)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "implicit must not be NULL");
    const bool implicit = PG_GETARG_BOOL(9);
    std::string options_text;
    if (!PG_ARGISNULL(10)) {
        const Datum json = PG_GETARG_DATUM(10);
        options_text = pg_guard([json] { return std::string(DatumGetCString(DirectFunctionCall1(jsonb_out, json))); });
    }
    crm::RecoOptions options = crm::parse_reco_options(method, options_text);
    crm::RecoEvaluation& e = options.evaluation;
    e.folds = folds;
    e.n = n;
    e.relevant_threshold = threshold;
    e.implicit = implicit;
    std::optional<crm::pg::ColumnRef> fold_col;
    if (!PG_ARGISNULL(6)) {
        fold_col = crm::pg::resolve_column(c.rel, crm::pg::name_arg(fcinfo, 6), "fold_col");
        if (!crm::pg::is_integer_type(fold_col->type))
            crm::throw_error(crm::ErrorKind::DatatypeMismatch, "fold_col must be an integer column, not " + fold_col->type_name);
        if (folds < 1) crm::throw_invalid("folds must be at least 1, got " + std::to_string(folds));
    } else if (folds < 2) {
        crm::throw_invalid("folds must be at least 2 without fold_col, got " + std::to_string(folds));
    }
    if ((method == crm::RecoMethod::Content || method == crm::RecoMethod::Hybrid) && options.attributes.table.empty())
        crm::throw_invalid(std::string("method ") + crm::reco_method_name(method) +
                               " needs the item attributes in options",
                           "Pass options => '{\"attributes\": \"my_items\", \"attribute_item_col\": \"item_id\", "
                           "\"attribute_col\": \"tags\"}'.");
    // Resolved with the caller's search_path, before the session narrows it.
    Oid attributes_relid = InvalidOid;
    if (!options.attributes.table.empty()) {
        const std::string table = options.attributes.table;
        attributes_relid = pg_guard(
            [&table] { return DatumGetObjectId(DirectFunctionCall1(regclassin, CStringGetDatum(table.c_str()))); });
    }
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::ProgressReport progress;
    progress.update("crm.reco_evaluate reading the ratings", true);
    crm::pg::SpiSession spi;
    std::optional<crm::ContentModel> content;
    if (OidIsValid(attributes_relid))
        content.emplace(read_attributes(spi, {attributes_relid, options.attributes.item_col, options.attributes.attribute_col}));
    std::int64_t skipped = 0;
    std::vector<int> fold;
    const std::vector<crm::Rating> ratings =
        crm::pg::load_ratings_with_folds(spi, c, fold_col ? &*fold_col : nullptr, folds, &fold, &skipped);
    spi.finish();
    if (!fold_col) fold = crm::assign_rating_folds(ratings, {}, folds, options.seed);
    progress.update("crm.reco_evaluate " + std::to_string(ratings.size()) + " ratings, " + std::to_string(folds) + " folds",
                    true);
    if (method == crm::RecoMethod::Als || method == crm::RecoMethod::Svd) check_factor_memory(ratings, e);
    const auto metrics = crm::evaluate_recommender(ratings, fold, e, content ? &*content : nullptr);
    for (const auto& f : metrics) {
        const double values[] = {f.rmse, f.mae, f.precision, f.recall, f.ndcg, f.map, f.coverage, f.diversity, f.popularity};
        Datum v[12];
        bool nulls[12];
        v[0] = Int32GetDatum(f.fold);
        v[1] = Int64GetDatum(f.test_ratings);
        v[2] = Int64GetDatum(f.users);
        nulls[0] = nulls[1] = nulls[2] = false;
        for (int i = 0; i < 9; ++i) {
            v[3 + i] = Float8GetDatum(values[i]);
            nulls[3 + i] = std::isnan(values[i]);
        }
        crm::pg::put_srf_row(rsinfo, v, nulls);
    }
    return static_cast<Datum>(0);
}
