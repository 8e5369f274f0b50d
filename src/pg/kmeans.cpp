// k-means in SQL:
//   crm.kmeans_fit(features float8[], options crm.kmeans_options | k int) aggregate -> crm.kmeans_model
//   crm.kmeans_model: a base type; text form JSON (readable, dump/restore), binary form the versioned bytes
//   crm.kmeans_assign / crm.kmeans_distance(model, features)   per row, model decoded once per query
//   crm.kmeans_clusters(model), crm.kmeans_info(model), crm.kmeans_labels(model),
//   crm.kmeans_cluster_names(model)
//   crm.kmeans_silhouette(model, relation, feature_cols, sample_size, seed)
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "errors.hpp"
#include "kmeans.hpp"
#include "kmeans_labels.hpp"
#include "kmeans_state.hpp"
#include "kmeans_step.hpp"

#include "bridge.hpp"
#include "composite.hpp"
#include "context_object.hpp"
#include "datum_convert.hpp"
#include "fn_cache.hpp"
#include "partial_state.hpp"
#include "progress.hpp"
#include "relation.hpp"
#include "settings.hpp"
#include "spi_session.hpp"

namespace {

using crm::KMeansFitState;
using crm::KMeansModel;
using crm::pg::pg_guard;

// ---- the model type's storage: a varlena holding KMeansModel::serialize() ----

Datum model_datum(const KMeansModel& model) {
    const std::vector<std::uint8_t> bytes = model.serialize();
    return crm::pg::bytea_datum(bytes);  // same varlena layout as bytea
}

struct ModelBytes {
    const std::uint8_t* data;
    std::size_t size;
};

ModelBytes model_arg_bytes(FunctionCallInfo fcinfo, int argno) {
    const crm::pg::ByteSpan b = crm::pg::bytea_arg(fcinfo, argno);
    return {b.data, b.size};
}

// A decoded model cached per call site, keyed by the argument's raw varlena
// (a model read from a table is compressed; see same_raw_datum).
struct ModelCache {
    std::vector<std::uint8_t> raw;
    std::vector<std::uint8_t> bytes;  // the decoded value's bytes (kmeans_step checks every row has the same model)
    std::optional<KMeansModel> model;
};

const KMeansModel& cached_model(FunctionCallInfo fcinfo, int argno) {
    ModelCache& cache = crm::pg::fn_cache<ModelCache>(fcinfo);
    if (crm::pg::same_raw_datum(fcinfo, argno, cache.raw) && cache.model) return *cache.model;
    cache.model.reset();
    const ModelBytes b = model_arg_bytes(fcinfo, argno);
    try {
        cache.model = KMeansModel::deserialize(b.data, b.size);
        cache.bytes.assign(b.data, b.data + b.size);
    } catch (...) {
        cache.raw.clear();  // a value that failed to decode is never a cache hit
        throw;
    }
    return *cache.model;
}

// ---- options ----

struct OptionsCache {
    std::vector<std::uint8_t> row_bytes;
    crm::KMeansOptions options;
    std::int64_t sample_size = 0;
    bool ready = false;
};

// crm.kmeans_options(k, seed, n_init, max_iter, tol, scale, feature_names, sample_size, verbose)
void decode_options(HeapTupleHeader row, OptionsCache& out) {
    bool null = false;
    const auto field = [&](int attno) { return crm::pg::row_field(row, attno, &null); };
    crm::KMeansOptions o;
    Datum d = field(1);
    if (null) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "options.k must not be NULL");
    o.k = DatumGetInt32(d);
    d = field(2);
    o.seed = null ? 0 : static_cast<std::uint64_t>(static_cast<std::int64_t>(DatumGetInt32(d)));
    d = field(3);
    o.n_init = null ? 10 : DatumGetInt32(d);
    d = field(4);
    o.max_iter = null ? 300 : DatumGetInt32(d);
    d = field(5);
    o.tol = null ? 1e-4 : DatumGetFloat8(d);
    d = field(6);
    if (!null) {
        const text* t = reinterpret_cast<const text*>(pg_guard([d] { return PG_DETOAST_DATUM_PACKED(d); }));
        o.scale = crm::parse_scaling(std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
    }
    d = field(7);
    if (!null) o.feature_names = crm::pg::text_array_from_datum(d, "feature_names");
    d = field(8);
    out.sample_size = null ? 0 : DatumGetInt64(d);
    d = field(9);
    o.verbose = !null && DatumGetBool(d);
    crm::validate_kmeans_options(o, out.sample_size);
    out.options = o;
    out.ready = true;
}

const OptionsCache& options_from_row(FunctionCallInfo fcinfo, int argno) {
    OptionsCache& cache = crm::pg::fn_cache<OptionsCache>(fcinfo);
    HeapTupleHeader row = crm::pg::row_arg(fcinfo, argno);
    const std::size_t n = HeapTupleHeaderGetDatumLength(row);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(row);
    if (!cache.ready || cache.row_bytes.size() != n || std::memcmp(cache.row_bytes.data(), bytes, n) != 0) {
        cache.ready = false;
        decode_options(row, cache);
        cache.row_bytes.assign(bytes, bytes + n);
    }
    return cache;
}

[[noreturn]] void too_much_memory(std::size_t need) {
    crm::throw_error(crm::ErrorKind::OutOfMemory,
                     "k-means fit would need more than crm.max_fit_memory (" +
                         std::to_string(crm::pg::max_fit_memory_bytes() / 1024) + " kB): about " +
                         std::to_string(need / 1024) + " kB for the points gathered so far",
                     "Fit on a uniform sample: crm.kmeans_options(..., sample_size => 100000), or raise "
                     "crm.max_fit_memory.");
}

struct FitProgress {
    crm::pg::ProgressReport report;
    bool notices;  // options.progress: also a NOTICE per iteration
    int n_init;
    std::int64_t points;
};

void report_progress(int init, int iteration, double inertia, void* arg) {
    auto* p = static_cast<FitProgress*>(arg);
    p->report.update("crm.kmeans_fit " + std::to_string(p->points) + " points, start " + std::to_string(init) +
                     "/" + std::to_string(p->n_init) + ", iteration " + std::to_string(iteration));
    if (p->notices)
        pg_guard([=] {
            ereport(NOTICE, (errmsg("kmeans_fit: start %d, iteration %d, inertia %.6g", init, iteration, inertia)));
        });
}

}  // namespace

// ---- aggregate ----

// crm.kmeans_options(k, seed, n_init, max_iter, tol, scale, feature_names, sample_size, progress):
// the options row, checked by the core's one options check (the fit checks
// the same again when it reads the row).
CRM_FUNCTION(crm_kmeans_options) {
    if (PG_ARGISNULL(0)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "kmeans_options: k must not be NULL");
    crm::KMeansOptions o;
    o.k = PG_GETARG_INT32(0);
    if (!PG_ARGISNULL(2)) o.n_init = PG_GETARG_INT32(2);
    if (!PG_ARGISNULL(3)) o.max_iter = PG_GETARG_INT32(3);
    if (!PG_ARGISNULL(4)) o.tol = PG_GETARG_FLOAT8(4);
    if (!PG_ARGISNULL(5)) o.scale = crm::parse_scaling(crm::pg::text_arg(fcinfo, 5));
    if (!PG_ARGISNULL(6)) o.feature_names = crm::pg::text_array_from_datum(PG_GETARG_DATUM(6), "feature_names");
    const std::int64_t sample_size = PG_ARGISNULL(7) ? 0 : PG_GETARG_INT64(7);
    if (!PG_ARGISNULL(7) && sample_size < 1)
        crm::throw_invalid("kmeans_options: sample_size must be at least 1 (NULL: no sampling), got " +
                           std::to_string(sample_size));
    crm::validate_kmeans_options(o, sample_size);
    std::vector<Datum> values(9);
    std::vector<bool> nulls(9);
    for (int i = 0; i < 9; ++i) {
        nulls[static_cast<std::size_t>(i)] = PG_ARGISNULL(i);
        values[static_cast<std::size_t>(i)] = PG_ARGISNULL(i) ? static_cast<Datum>(0) : PG_GETARG_DATUM(i);
    }
    return crm::pg::make_row(crm::pg::result_tupdesc(fcinfo), values, nulls);
}

CRM_FUNCTION(crm_kmeans_transfn) {
    MemoryContext context = crm::pg::aggregate_context(fcinfo, "crm.kmeans_fit");
    KMeansFitState* state = crm::pg::state_arg<KMeansFitState>(fcinfo, 0);
    if (state == nullptr) state = crm::pg::make_state<KMeansFitState>(context);
    if (PG_ARGISNULL(2)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "k-means options (or k) must not be NULL");
    if (get_fn_expr_argtype(fcinfo->flinfo, 2) == INT4OID) {
        crm::KMeansOptions o;
        o.k = PG_GETARG_INT32(2);
        state->set_options(o, 0);
    } else {
        const OptionsCache& opts = options_from_row(fcinfo, 2);
        state->set_options(opts.options, opts.sample_size);
    }
    if (PG_ARGISNULL(1)) {
        state->skipped_rows++;
        PG_RETURN_POINTER(state);
    }
    const std::vector<double> x = crm::pg::float8_array_arg(fcinfo, 1, "features");
    if (x.empty()) crm::throw_invalid("features must not be an empty array");
    state->points.add(x.data(), static_cast<int>(x.size()));
    if ((state->points.seen() & 0x3FFFF) == 0)  // every 262,144 rows
        crm::pg::report_progress_once("crm.kmeans_fit reading rows: " + std::to_string(state->points.seen()));
    // The points grow with the table (or up to sample_size): stop early, with advice.
    if ((state->points.size() & 1023) == 0) {
        const std::size_t need = crm::kmeans_memory_estimate(state->points.size(), state->points.dims(),
                                                             state->options.k);
        if (need > crm::pg::max_fit_memory_bytes()) too_much_memory(need);
    }
    PG_RETURN_POINTER(state);
}

CRM_FUNCTION(crm_kmeans_combine) { return crm::pg::combine_states<KMeansFitState>(fcinfo, "crm.kmeans_fit"); }

CRM_FUNCTION(crm_kmeans_serial) { return crm::pg::serialize_state<KMeansFitState>(fcinfo); }

CRM_FUNCTION(crm_kmeans_deserial) {
    return crm::pg::deserialize_state<KMeansFitState>(fcinfo, "crm.kmeans_fit");
}

CRM_FUNCTION(crm_kmeans_final) {
    const KMeansFitState* state = crm::pg::state_arg<KMeansFitState>(fcinfo, 0);
    if (state == nullptr) PG_RETURN_NULL();
    if (state->skipped_rows > 0) {
        const long long skipped = state->skipped_rows;
        pg_guard([skipped] { ereport(NOTICE, (errmsg("kmeans_fit skipped %lld rows with NULL features", skipped))); });
    }
    if (state->points.size() == 0) PG_RETURN_NULL();
    const std::size_t need =
        crm::kmeans_memory_estimate(state->points.size(), state->points.dims(), state->options.k);
    if (need > crm::pg::max_fit_memory_bytes()) too_much_memory(need);
    // Progress goes to pg_stat_activity always; NOTICEs (with the inertia,
    // which costs a pass over the points) only when the user asked for them.
    const crm::KMeansOptions& options = state->options;
    FitProgress progress{{}, options.verbose, options.n_init, state->points.size()};
    progress.report.update("crm.kmeans_fit " + std::to_string(progress.points) + " points, seeding", true);
    const KMeansModel model = crm::kmeans_fit(state->points, options, &report_progress, &progress);
    return model_datum(model);
}

// ---- the model type ----

CRM_FUNCTION(crm_kmeans_model_in) {
    const char* text = PG_GETARG_CSTRING(0);
    return model_datum(KMeansModel::from_json(text));
}

CRM_FUNCTION(crm_kmeans_model_out) {
    const ModelBytes b = model_arg_bytes(fcinfo, 0);
    const std::string json = KMeansModel::deserialize(b.data, b.size).to_json();
    const char* s = json.c_str();
    PG_RETURN_CSTRING(pg_guard([s] { return pstrdup(s); }));
}

CRM_FUNCTION(crm_kmeans_model_recv) {
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    const auto* data = reinterpret_cast<const std::uint8_t*>(buf->data + buf->cursor);
    const std::size_t n = static_cast<std::size_t>(buf->len - buf->cursor);
    const KMeansModel model = KMeansModel::deserialize(data, n);  // validates
    buf->cursor = buf->len;
    return model_datum(model);
}

CRM_FUNCTION(crm_kmeans_model_send) {
    const ModelBytes b = model_arg_bytes(fcinfo, 0);
    std::vector<std::uint8_t> bytes(b.data, b.data + b.size);
    return crm::pg::bytea_datum(bytes);
}

// ---- per-row use ----

CRM_FUNCTION(crm_kmeans_assign) {
    const KMeansModel& model = cached_model(fcinfo, 0);
    const crm::pg::Float8Span x = crm::pg::float8_array_span_arg(fcinfo, 1, "features");
    PG_RETURN_INT32(model.assign(x.data, x.size));
}

CRM_FUNCTION(crm_kmeans_distance) {
    const KMeansModel& model = cached_model(fcinfo, 0);
    const crm::pg::Float8Span x = crm::pg::float8_array_span_arg(fcinfo, 1, "features");
    double distance = 0;
    model.assign(x.data, x.size, &distance);
    PG_RETURN_FLOAT8(distance);
}

CRM_FUNCTION(crm_kmeans_labels) {
    const ModelBytes b = model_arg_bytes(fcinfo, 0);
    const std::vector<std::string> labels = crm::cluster_labels(KMeansModel::deserialize(b.data, b.size));
    std::vector<Datum> texts;
    for (const auto& l : labels) texts.push_back(crm::pg::text_datum(l));
    const Datum* elems = texts.data();
    const int n = static_cast<int>(texts.size());
    return pg_guard([elems, n] {
        return PointerGetDatum(construct_array(const_cast<Datum*>(elems), n, TEXTOID, -1, false, TYPALIGN_INT));
    });
}

// crm.kmeans_cluster_names(model): distinct names, one row per cluster, most valuable first.
CRM_FUNCTION(crm_kmeans_cluster_names) {
    const ModelBytes b = model_arg_bytes(fcinfo, 0);
    const std::vector<crm::ClusterName> names = crm::cluster_names(KMeansModel::deserialize(b.data, b.size));
    pg_guard([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const crm::ClusterName& n : names) {
        Datum values[5] = {Int32GetDatum(n.cluster), crm::pg::text_datum(n.name), Int32GetDatum(n.value_rank),
                           Float8GetDatum(n.value_score), crm::pg::text_datum(n.profile)};
        pg_guard([rsinfo, &values] {
            bool nulls[5] = {false, false, false, false, false};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        });
    }
    return static_cast<Datum>(0);
}

// crm.kmeans_info(model): one row describing the model.
CRM_FUNCTION(crm_kmeans_info) {
    const ModelBytes b = model_arg_bytes(fcinfo, 0);
    const KMeansModel m = KMeansModel::deserialize(b.data, b.size);
    std::vector<Datum> names;
    for (const auto& f : m.feature_names) names.push_back(crm::pg::text_datum(f));
    const Datum* elems = names.data();
    const int n = static_cast<int>(names.size());
    const Datum names_array = pg_guard([elems, n] {
        return PointerGetDatum(construct_array(const_cast<Datum*>(elems), n, TEXTOID, -1, false, TYPALIGN_INT));
    });
    std::vector<Datum> v = {Int32GetDatum(1),
                            Int32GetDatum(m.k),
                            Int32GetDatum(m.dims),
                            Int64GetDatum(m.n_points),
                            Float8GetDatum(m.inertia),
                            Int32GetDatum(m.iterations),
                            Int32GetDatum(m.n_init),
                            Int64GetDatum(static_cast<std::int64_t>(m.seed)),
                            BoolGetDatum(m.converged),
                            crm::pg::text_datum(crm::scaling_name(m.scale)),
                            names_array};
    std::vector<bool> nulls(v.size(), false);
    nulls[10] = m.feature_names.empty();
    return crm::pg::make_row(crm::pg::result_tupdesc(fcinfo), v, nulls);
}

// crm.kmeans_clusters(model): one row per cluster.
CRM_FUNCTION(crm_kmeans_clusters) {
    const ModelBytes b = model_arg_bytes(fcinfo, 0);
    const KMeansModel m = KMeansModel::deserialize(b.data, b.size);
    const std::vector<std::string> labels = crm::cluster_labels(m);
    const Eigen::MatrixXd original = m.centroids_original();
    pg_guard([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (int c = 0; c < m.k; ++c) {
        std::vector<double> centroid(static_cast<std::size_t>(m.dims)), scaled(static_cast<std::size_t>(m.dims));
        for (int j = 0; j < m.dims; ++j) {
            centroid[static_cast<std::size_t>(j)] = original(c, j);
            scaled[static_cast<std::size_t>(j)] = m.centroids(c, j);
        }
        Datum values[6] = {Int32GetDatum(c + 1),
                           Int64GetDatum(m.sizes[static_cast<std::size_t>(c)]),
                           Float8GetDatum(m.wcss[static_cast<std::size_t>(c)]),
                           crm::pg::float8_array_datum(centroid),
                           crm::pg::float8_array_datum(scaled),
                           crm::pg::text_datum(labels[static_cast<std::size_t>(c)])};
        pg_guard([rsinfo, &values] {
            bool nulls[6] = {false, false, false, false, false, false};
            tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
        });
    }
    return static_cast<Datum>(0);
}

// ---- silhouette over a table ----

namespace {
struct PointCollector {
    crm::PointSet* points;
    int dims;
    const char* problem;  // set when a row is unusable (C only: no throw here)
    std::int64_t skipped;
};

void collect_point(TupleTableSlot* slot, void* arg) {
    auto* c = static_cast<PointCollector*>(arg);
    if (c->problem != nullptr) return;
    if (slot->tts_isnull[0]) {
        c->skipped++;
        return;
    }
    ArrayType* a = DatumGetArrayTypeP(slot->tts_values[0]);
    if (ARR_NDIM(a) != 1 || ARR_HASNULL(a) || ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)) != c->dims) {
        c->problem = "every row must have one value per feature column, none NULL";
        return;
    }
    const auto* x = reinterpret_cast<const double*>(ARR_DATA_PTR(a));
    for (int j = 0; j < c->dims; ++j)
        if (!std::isfinite(x[j])) {
            c->problem = "feature values must be finite numbers";
            return;
        }
    // This runs inside the executor: no exception may leave it. add() only
    // throws for ragged or non-finite input (ruled out above) or when out of
    // memory; catch everything and report it after the query.
    try {
        c->points->add(x, c->dims);
    } catch (...) {
        c->problem = "out of memory while sampling the rows";
    }
}
}  // namespace

// crm.kmeans_silhouette(model, relation, feature_cols name[], sample_size, seed)
CRM_FUNCTION(crm_kmeans_silhouette) {
    const ModelBytes b = model_arg_bytes(fcinfo, 0);
    const KMeansModel model = KMeansModel::deserialize(b.data, b.size);
    const auto rel = crm::pg::resolve_relation(PG_GETARG_OID(1), "relation");
    struct Names {
        int n;
        Datum* elems;
        bool* nulls;
    };
    const Datum cols_datum = PG_GETARG_DATUM(2);
    const Names names = pg_guard([cols_datum] {
        Names r{0, nullptr, nullptr};
        deconstruct_array(DatumGetArrayTypeP(cols_datum), NAMEOID, NAMEDATALEN, false, TYPALIGN_CHAR, &r.elems,
                          &r.nulls, &r.n);
        return r;
    });
    if (names.n != model.dims)
        crm::throw_invalid("feature_cols must name " + std::to_string(model.dims) + " columns, as the model has, got " +
                           std::to_string(names.n));
    std::string list;
    for (int i = 0; i < names.n; ++i) {
        if (names.nulls[i]) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "feature_cols must not contain NULL");
        const auto col = crm::pg::resolve_column(rel, NameStr(*DatumGetName(names.elems[i])), "feature_cols");
        if (!crm::pg::is_numeric_type(col.type))
            crm::throw_error(crm::ErrorKind::DatatypeMismatch,
                             "feature column \"" + col.name + "\" must be numeric, not " + col.type_name);
        list += (i ? ", " : "") + col.quoted_name + "::pg_catalog.float8";
    }
    const std::int64_t sample_size = PG_GETARG_INT64(3);
    crm::validate_silhouette_sample_size(sample_size);
    if (crm::silhouette_memory_estimate(sample_size, model.dims, model.k) > crm::pg::max_fit_memory_bytes())
        crm::throw_error(crm::ErrorKind::OutOfMemory,
                         "a silhouette sample of " + std::to_string(sample_size) +
                             " points would need more than crm.max_fit_memory",
                         "Use a smaller sample_size (10000 gives a close estimate), or raise crm.max_fit_memory.");
    const std::uint64_t seed = static_cast<std::uint64_t>(static_cast<std::int64_t>(PG_GETARG_INT32(4)));
    crm::PointSet points(sample_size, seed);  // a uniform reservoir sample of the table
    PointCollector collector{&points, model.dims, nullptr, 0};
    crm::pg::SpiSession spi;
    spi.stream("SELECT ARRAY[" + list + "] FROM " + rel.quoted_name, {}, {}, &collect_point, &collector);
    spi.finish();
    if (collector.problem != nullptr) crm::throw_invalid(collector.problem);
    if (points.size() == 0) PG_RETURN_NULL();
    const crm::SilhouetteResult r = crm::silhouette(model, points, sample_size, seed);
    if (std::isnan(r.score)) PG_RETURN_NULL();
    PG_RETURN_FLOAT8(r.score);
}

CRM_FUNCTION(crm_kmeans_merge_bytea) {
    return crm::pg::merge_serialised_state<KMeansFitState>(fcinfo, "crm.kmeans_fit_combine");
}

// ---- one Lloyd step over distributed data ----


// crm.kmeans_step(features, model): transition
CRM_FUNCTION(crm_kmeans_step_transfn) {
    MemoryContext context = crm::pg::aggregate_context(fcinfo, "crm.kmeans_step");
    crm::LloydStep* state = crm::pg::state_arg<crm::LloydStep>(fcinfo, 0);
    if (state == nullptr) state = crm::pg::make_state<crm::LloydStep>(context);
    if (PG_ARGISNULL(2)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "model must not be NULL");
    if (PG_ARGISNULL(1)) PG_RETURN_POINTER(state);  // a row without features is skipped
    const KMeansModel& model = cached_model(fcinfo, 2);
    state->set_model(crm::pg::fn_cache<ModelCache>(fcinfo).bytes, model);
    const std::vector<double> x = crm::pg::float8_array_arg(fcinfo, 1, "features");
    state->add(model, x.data(), static_cast<int>(x.size()));
    PG_RETURN_POINTER(state);
}

CRM_FUNCTION(crm_kmeans_step_combine) {
    return crm::pg::combine_states<crm::LloydStep>(fcinfo, "crm.kmeans_step");
}

CRM_FUNCTION(crm_kmeans_step_serial) { return crm::pg::serialize_state<crm::LloydStep>(fcinfo); }

CRM_FUNCTION(crm_kmeans_step_deserial) {
    return crm::pg::deserialize_state<crm::LloydStep>(fcinfo, "crm.kmeans_step");
}

CRM_FUNCTION(crm_kmeans_step_final) {
    const crm::LloydStep* state = crm::pg::state_arg<crm::LloydStep>(fcinfo, 0);
    if (state == nullptr || !state->has_model()) PG_RETURN_NULL();
    return model_datum(state->next_model());
}

CRM_FUNCTION(crm_kmeans_step_merge_bytea) {
    return crm::pg::merge_serialised_state<crm::LloydStep>(fcinfo, "crm.kmeans_step_combine");
}

// crm.kmeans_centroid_shift(a, b): sum of squared centroid moves (scaled space)
CRM_FUNCTION(crm_kmeans_centroid_shift) {
    const ModelBytes a = model_arg_bytes(fcinfo, 0);
    const ModelBytes b = model_arg_bytes(fcinfo, 1);
    PG_RETURN_FLOAT8(crm::centroid_shift(KMeansModel::deserialize(a.data, a.size), KMeansModel::deserialize(b.data, b.size)));
}
