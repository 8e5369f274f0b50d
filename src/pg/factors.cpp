// Latent-factor models in SQL:
//   the type crm.factor_model (text form JSON, binary form the versioned bytes),
//   crm.als_fit, crm.svd_fit, crm.factor_model_info,
//   crm.als_recommend_batch (fold-in from the users' current rows),
//   crm.svd_predict (stored factors) and its fold-in form.
//
// Ratings are read as crm.cf_* read them (cf_cache.hpp: the caller's
// privileges, the backend's cached matrix for tracked tables). A model knows
// the schema-qualified name and columns of the relation it was fitted on;
// using it on another relation is refused unless the caller forces it.
#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "errors.hpp"
#include "factor_model.hpp"
#include "interrupts.hpp"
#include "recommender.hpp"

#include "bridge.hpp"
#include "cf_args.hpp"
#include "cf_cache.hpp"
#include "composite.hpp"
#include "datum_convert.hpp"
#include "fn_cache.hpp"
#include "progress.hpp"
#include "settings.hpp"
#include "spi_session.hpp"

namespace {

using crm::FactorModel;
using crm::pg::int_arg;
using crm::pg::materialize;
using crm::pg::pg_guard;

Datum model_datum(const FactorModel& model) { return crm::pg::bytea_datum(model.serialize()); }

FactorModel model_arg(FunctionCallInfo fcinfo, int argno) {
    const crm::pg::ByteSpan b = crm::pg::bytea_arg(fcinfo, argno);
    return FactorModel::deserialize(b.data, b.size);
}

// Decoded models are kept at two levels: per call site, keyed by the
// argument's raw varlena (a row-by-row svd_predict compares a TOAST pointer,
// not megabytes), and per backend for models stored in a table, so that online
// calls in new queries do not decode a large model again. A backend entry is
// keyed by the stored value's TOAST pointer (its toast table and value id,
// which PostgreSQL assigns and never changes while the value exists) and the
// content hash in the value's first bytes (a prefix read). The backend keeps
// the two most recently used models, each at most half of crm.cf_cache_memory,
// outside PostgreSQL's memory contexts (freed when the backend exits).
struct StoredModelKey {
    Oid toastrelid = InvalidOid;
    Oid valueid = InvalidOid;
    std::int32_t rawsize = 0;
    std::uint64_t content = 0;
    bool operator==(const StoredModelKey& o) const {
        return toastrelid == o.toastrelid && valueid == o.valueid && rawsize == o.rawsize && content == o.content;
    }
};

struct BackendModels {
    struct Entry {
        StoredModelKey key;
        std::shared_ptr<const FactorModel> model;
        std::uint64_t used;
    };
    std::vector<Entry> entries;
    std::uint64_t clock = 0;
};

BackendModels& backend_models() {
    static BackendModels models;
    return models;
}

std::shared_ptr<const FactorModel> backend_model(FunctionCallInfo fcinfo, int argno) {
    const Datum datum = PG_GETARG_DATUM(argno);
    auto* raw = reinterpret_cast<struct varlena*>(DatumGetPointer(datum));
    if (!VARATT_IS_EXTERNAL_ONDISK(raw)) return std::make_shared<const FactorModel>(model_arg(fcinfo, argno));
    StoredModelKey key;
    varatt_external pointer;
    VARATT_EXTERNAL_GET_POINTER(pointer, raw);
    key.toastrelid = pointer.va_toastrelid;
    key.valueid = pointer.va_valueid;
    key.rawsize = pointer.va_rawsize;
    std::uint8_t head[10];
    const std::size_t got = pg_guard([raw, &head] {
        struct varlena* slice = pg_detoast_datum_slice(raw, 0, 10);
        const std::size_t n = std::min<std::size_t>(10, VARSIZE_ANY_EXHDR(slice));
        std::memcpy(head, VARDATA_ANY(slice), n);
        return n;
    });
    key.content = crm::factor_model_id(head, got);
    BackendModels& cache = backend_models();
    for (auto& e : cache.entries)
        if (key.content != 0 && e.key == key) {
            e.used = ++cache.clock;
            return e.model;
        }
    auto model = std::make_shared<const FactorModel>(model_arg(fcinfo, argno));  // validates, checksum included
    if (key.content != 0 && model->memory_bytes() <= crm::pg::cf_cache_memory_bytes() / 2) {
        if (cache.entries.size() >= 2)
            cache.entries.erase(std::min_element(cache.entries.begin(), cache.entries.end(),
                                                 [](const auto& a, const auto& b) { return a.used < b.used; }));
        cache.entries.push_back({key, model, ++cache.clock});
    }
    return model;
}

struct ModelCache {
    std::vector<std::uint8_t> raw;
    std::shared_ptr<const FactorModel> model;
};

const FactorModel& cached_model(FunctionCallInfo fcinfo, int argno) {
    if (PG_ARGISNULL(argno)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "model must not be NULL");
    ModelCache& cache = crm::pg::fn_cache<ModelCache>(fcinfo);
    if (crm::pg::same_raw_datum(fcinfo, argno, cache.raw) && cache.model) return *cache.model;
    cache.model.reset();
    try {
        cache.model = backend_model(fcinfo, argno);
    } catch (...) {
        cache.raw.clear();
        throw;
    }
    return *cache.model;
}

void check_json_memory(std::size_t estimate, const char* what) {
    if (estimate > crm::pg::max_fit_memory_bytes())
        crm::throw_error(crm::ErrorKind::OutOfMemory,
                         std::string("the JSON form of this latent-factor model would need about ") +
                             std::to_string(estimate / (1024 * 1024)) + " MB to " + what + ", more than crm.max_fit_memory",
                         "Raise crm.max_fit_memory, or move models in binary form (COPY ... WITH (FORMAT binary)).");
}

double float8_arg(FunctionCallInfo fcinfo, int argno, const char* name) {
    if (PG_ARGISNULL(argno)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, std::string(name) + " must not be NULL");
    return PG_GETARG_FLOAT8(argno);
}

crm::FactorSource source_of(const crm::pg::RatingColumns& c) {
    return {c.rel.quoted_name, c.user.name, c.item.name, c.rating.name};
}

// A model fitted on another relation or other columns is refused unless forced.
void check_source(const FactorModel& model, const crm::pg::RatingColumns& c, bool force) {
    const crm::FactorSource now = source_of(c);
    const crm::FactorSource& was = model.source;
    if (force || (was.relation == now.relation && was.user_col == now.user_col && was.item_col == now.item_col &&
                  was.rating_col == now.rating_col))
        return;
    crm::throw_invalid("the model was fitted on " + was.relation + " (" + was.user_col + ", " + was.item_col + ", " +
                           was.rating_col + "), not on " + now.relation + " (" + now.user_col + ", " + now.item_col +
                           ", " + now.rating_col + ")",
                       "Pass force => true when the two hold the same kind of data (a copy, a renamed table).");
}

bool force_arg(FunctionCallInfo fcinfo, int argno) {
    if (PG_ARGISNULL(argno)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "force must not be NULL");
    return PG_GETARG_BOOL(argno);
}

// The matrix a fit reads, with the fit's own memory checked against crm.max_fit_memory.
void check_fit_memory(const crm::RatingMatrix& m, int factors) {
    const std::size_t need = crm::factor_fit_bytes(m.users(), m.items(), factors);
    if (need > crm::pg::max_fit_memory_bytes())
        crm::throw_error(crm::ErrorKind::OutOfMemory,
                         "the factor matrices would need about " + std::to_string(need / (1024 * 1024)) +
                             " MB, more than crm.max_fit_memory",
                         "Use fewer factors, filter the ratings, or raise crm.max_fit_memory.");
}

// The table's change version when it is registered with crm.cf_track_changes, else -1.
std::int64_t tracked_version(crm::pg::SpiSession& spi, Oid relid) {
    struct Out {
        bool found;
        std::int64_t version;
    } out{false, -1};
    spi.stream("SELECT version FROM crm.cf_tracked_tables WHERE ratings = $1::pg_catalog.regclass", {OIDOID},
               {ObjectIdGetDatum(relid)},
               [](TupleTableSlot* slot, void* arg) {
                   auto* o = static_cast<Out*>(arg);
                   if (slot->tts_isnull[0]) return;
                   o->found = true;
                   o->version = DatumGetInt64(slot->tts_values[0]);
               },
               &out);
    return out.found ? out.version : -1;
}

// Reads the ratings (cached matrix when allowed), checks the fit's memory,
// fits with `fit` and records where the model came from.
template <class Fit>
Datum fit_model(const crm::pg::RatingColumns& c, const char* name, int factors, int rounds, Fit fit) {
    if (factors < 1 || factors > crm::kMaxFactors)
        crm::throw_invalid("factors must be between 1 and " + std::to_string(crm::kMaxFactors) + ", got " +
                           std::to_string(factors));
    crm::pg::ProgressReport progress;
    progress.update(std::string(name) + " reading the ratings", true);
    crm::pg::SpiSession spi;
    std::optional<crm::RatingMatrix> uncached;
    const crm::RatingMatrix& m = crm::pg::rating_matrix(spi, c, uncached);
    if (m.ratings() == 0) crm::throw_invalid(std::string(name) + " needs at least one rating");
    check_fit_memory(m, factors);
    progress.update(std::string(name) + " " + std::to_string(m.ratings()) + " ratings, " + std::to_string(rounds) +
                        " rounds",
                    true);
    FactorModel model = fit(m);
    try {
        model.validate(crm::ErrorKind::InvalidParameter);  // never store a value that cannot be read back
    } catch (const crm::Error& e) {
        crm::throw_invalid(std::string(name) + " did not converge: " + e.what(),
                           "Lower learning_rate or init_std (svd), or raise regularization.");
    }
    model.source = source_of(c);
    model.data_version = tracked_version(spi, c.rel.relid);
    spi.finish();
    return model_datum(model);
}

}  // namespace

// ---- the type ----

CRM_FUNCTION(crm_factor_model_in) {
    const char* text = PG_GETARG_CSTRING(0);
    check_json_memory(std::strlen(text) * 4, "read");
    return model_datum(FactorModel::from_json(text));
}

CRM_FUNCTION(crm_factor_model_out) {
    check_json_memory(crm::pg::bytea_arg(fcinfo, 0).size * 6, "write");
    const std::string json = model_arg(fcinfo, 0).to_json();
    const char* s = json.c_str();
    PG_RETURN_CSTRING(pg_guard([s] { return pstrdup(s); }));
}

CRM_FUNCTION(crm_factor_model_recv) {
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    const auto* data = reinterpret_cast<const std::uint8_t*>(buf->data + buf->cursor);
    const std::size_t n = static_cast<std::size_t>(buf->len - buf->cursor);
    const FactorModel model = FactorModel::deserialize(data, n);  // validates
    buf->cursor = buf->len;
    return model_datum(model);
}

CRM_FUNCTION(crm_factor_model_send) {
    const crm::pg::ByteSpan b = crm::pg::bytea_arg(fcinfo, 0);
    return crm::pg::bytea_datum(std::vector<std::uint8_t>(b.data, b.data + b.size));
}

CRM_FUNCTION(crm_factor_model_info) {
    const std::string json = cached_model(fcinfo, 0).info_json();
    const char* s = json.c_str();
    return pg_guard([s] { return DirectFunctionCall1(jsonb_in, CStringGetDatum(s)); });
}

// ---- fits ----

// crm.als_fit(ratings, user_col, item_col, rating_col, factors, regularization, alpha, iterations, seed)
CRM_FUNCTION(crm_als_fit) {
    const crm::pg::RatingColumns c = crm::pg::resolve_rating_columns(fcinfo);
    crm::AlsOptions o;
    o.factors = int_arg(fcinfo, 4, "factors");
    o.regularization = float8_arg(fcinfo, 5, "regularization");
    o.alpha = float8_arg(fcinfo, 6, "alpha");
    o.iterations = int_arg(fcinfo, 7, "iterations");
    o.seed = int_arg(fcinfo, 8, "seed");
    return fit_model(c, "crm.als_fit", o.factors, o.iterations, [&o](const crm::RatingMatrix& m) { return crm::als_fit(m, o); });
}

// crm.svd_fit(ratings, user_col, item_col, rating_col, factors, epochs, learning_rate, regularization, init_std, seed)
CRM_FUNCTION(crm_svd_fit) {
    const crm::pg::RatingColumns c = crm::pg::resolve_rating_columns(fcinfo);
    crm::SvdOptions o;
    o.factors = int_arg(fcinfo, 4, "factors");
    o.epochs = int_arg(fcinfo, 5, "epochs");
    o.learning_rate = float8_arg(fcinfo, 6, "learning_rate");
    o.regularization = float8_arg(fcinfo, 7, "regularization");
    o.init_std = float8_arg(fcinfo, 8, "init_std");
    o.seed = int_arg(fcinfo, 9, "seed");
    return fit_model(c, "crm.svd_fit", o.factors, o.epochs, [&o](const crm::RatingMatrix& m) { return crm::svd_fit(m, o); });
}

// ---- using a model ----

// crm.als_recommend_batch(model, ratings, user_col, item_col, rating_col, users, n, diversity, force)
CRM_FUNCTION(crm_als_recommend_batch) {
    const FactorModel& model = cached_model(fcinfo, 0);
    if (model.kind != crm::FactorKind::Als) crm::throw_invalid("crm.als_recommend_batch needs a model of crm.als_fit");
    // The rating arguments start at 1: shift them into place for the shared resolver.
    const crm::pg::RatingColumns c = crm::pg::resolve_rating_columns_at(fcinfo, 1);
    if (PG_ARGISNULL(6)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "n must not be NULL");
    const int n = PG_GETARG_INT32(6);
    if (n < 1) crm::throw_invalid("n must be at least 1, got " + std::to_string(n));
    crm::RecommenderOptions o;
    o.diversity = float8_arg(fcinfo, 7, "diversity");
    crm::check_recommender_options(o);
    check_source(model, c, force_arg(fcinfo, 8));
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::SpiSession spi;
    std::optional<crm::RatingMatrix> uncached;
    const crm::RatingMatrix& m = crm::pg::rating_matrix(spi, c, uncached);
    crm::Recommender rec(m, crm::RecoMethod::Als, o, nullptr, nullptr, &model);
    crm::pg::emit_batch(fcinfo, rsinfo, rec, m, 5, static_cast<std::size_t>(n), "crm.als_recommend_batch");
    spi.finish();
    return static_cast<Datum>(0);
}

// crm.svd_predict(model, user_id, item_id): stored factors
CRM_FUNCTION(crm_svd_predict) {
    const FactorModel& model = cached_model(fcinfo, 0);
    if (model.kind != crm::FactorKind::Svd) crm::throw_invalid("crm.svd_predict needs a model of crm.svd_fit");
    PG_RETURN_FLOAT8(crm::svd_predict(model, PG_GETARG_INT64(1), PG_GETARG_INT64(2)));
}

// crm.svd_predict(model, ratings, user_col, item_col, rating_col, users, items, force): fold-in
CRM_FUNCTION(crm_svd_predict_folded) {
    const FactorModel& model = cached_model(fcinfo, 0);
    if (model.kind != crm::FactorKind::Svd) crm::throw_invalid("crm.svd_predict needs a model of crm.svd_fit");
    const crm::pg::RatingColumns c = crm::pg::resolve_rating_columns_at(fcinfo, 1);
    const auto pairs = crm::pg::user_item_pairs(fcinfo, 5, 6);
    check_source(model, c, force_arg(fcinfo, 7));
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    crm::pg::SpiSession spi;
    std::optional<crm::RatingMatrix> uncached;
    const crm::RatingMatrix& m = crm::pg::rating_matrix(spi, c, uncached);
    std::vector<double> est(pairs.size());
    std::int64_t folded_user = 0;
    std::optional<crm::SvdUser> folded;
    crm::InterruptTicker ticker(16);
    for (std::size_t p = 0; p < pairs.size(); ++p) {
        ticker.tick();
        if (!folded || folded_user != pairs[p].first) {
            std::vector<std::pair<std::int64_t, double>> rows;
            const std::size_t u = m.user_index(pairs[p].first);
            if (u != crm::RatingMatrix::npos) {
                const auto r = m.user_ratings(u);
                for (std::size_t e = 0; e < r.size; ++e) rows.emplace_back(m.item_key(r.index[e]), r.value[e]);
            }
            folded = crm::svd_fold_in(model, rows);
            folded_user = pairs[p].first;
        }
        est[p] = crm::svd_predict_folded(model, *folded, pairs[p].second);
    }
    crm::pg::put_predictions(rsinfo, pairs, est);
    spi.finish();
    return static_cast<Datum>(0);
}
