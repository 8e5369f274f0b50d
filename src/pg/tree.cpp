// Decision trees and random forests in SQL (docs/trees.md):
//   crm.tree_options(...)                                   the options row
//   crm.tree_fit(features, label [, options])               aggregate -> crm.tree_model
//   crm.regression_tree_fit(features, target [, options])   aggregate -> crm.tree_model
//   crm.tree_fit_partial / crm.tree_fit_combine             the same over shards
//   crm.tree_model: a base type; text form JSON, binary form the versioned bytes
//   crm.tree_predict(model, features), crm.tree_rules(model, tree), crm.tree_info(model),
//   crm.tree_importance(model)
//   crm.binary_metrics(score, label [, threshold])          aggregate -> crm.binary_metrics
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "binary_metrics_state.hpp"
#include "errors.hpp"
#include "tree_fit_state.hpp"
#include "tree_json.hpp"
#include "tree_model.hpp"

#include "bridge.hpp"
#include "composite.hpp"
#include "context_object.hpp"
#include "datum_convert.hpp"
#include "fn_cache.hpp"
#include "partial_state.hpp"
#include "progress.hpp"
#include "settings.hpp"

namespace {

using crm::TreeFitState;
using crm::TreeModel;
using crm::TreeOptions;
using crm::pg::pg_guard;

constexpr const char* kFitName = "crm.tree_fit";

// ---- the model type's storage: a varlena holding TreeModel::serialize() ----

Datum model_datum(const TreeModel& model) { return crm::pg::bytea_datum(model.serialize()); }

// A decoded model cached per call site, keyed by the argument's raw varlena (a
// stored forest is compressed; see same_raw_datum).
struct ModelCache {
    std::vector<std::uint8_t> raw;
    std::optional<TreeModel> model;
};

const TreeModel& cached_model(FunctionCallInfo fcinfo, int argno) {
    ModelCache& cache = crm::pg::fn_cache<ModelCache>(fcinfo);
    if (crm::pg::same_raw_datum(fcinfo, argno, cache.raw) && cache.model) return *cache.model;
    cache.model.reset();
    const crm::pg::ByteSpan b = crm::pg::bytea_arg(fcinfo, argno);
    try {
        cache.model = TreeModel::deserialize(b.data, b.size);
    } catch (...) {
        cache.raw.clear();  // a value that failed to decode is never a cache hit
        throw;
    }
    return *cache.model;
}

TreeModel model_arg(FunctionCallInfo fcinfo, int argno) {
    const crm::pg::ByteSpan b = crm::pg::bytea_arg(fcinfo, argno);
    return TreeModel::deserialize(b.data, b.size);
}

// ---- options ----

// The options as given: a NULL criterion means the kind's default (gini or squared_error),
// resolved when the kind is known.
struct ParsedOptions {
    TreeOptions options;
    bool default_criterion = true;
};

TreeOptions for_kind(const ParsedOptions& p, bool regression) {
    TreeOptions o = p.options;
    if (p.default_criterion) o.criterion = regression ? crm::TreeCriterion::SquaredError : crm::TreeCriterion::Gini;
    return o;
}

// Fields of crm.tree_options: max_depth, min_samples_split, min_samples_leaf, min_impurity_decrease,
// criterion, class_weight_true, class_weight_false, n_trees, max_features, bootstrap, seed, feature_names.
// NULL fields take their defaults.
ParsedOptions decode_options(HeapTupleHeader row) {
    bool null = false;
    const auto field = [&](int attno) { return crm::pg::row_field(row, attno, &null); };
    ParsedOptions p;
    TreeOptions& o = p.options;
    Datum d = field(1);
    o.max_depth = null ? 0 : DatumGetInt32(d);
    if (!null && o.max_depth < 1) crm::throw_invalid("tree_options: max_depth must be at least 1 (NULL: unlimited)");
    d = field(2);
    if (!null) o.min_samples_split = DatumGetInt32(d);
    d = field(3);
    if (!null) o.min_samples_leaf = DatumGetInt32(d);
    d = field(4);
    if (!null) o.min_impurity_decrease = DatumGetFloat8(d);
    d = field(5);
    if (!null) {
        o.criterion = crm::parse_tree_criterion(crm::pg::text_from_datum(d));
        p.default_criterion = false;
    }
    d = field(6);
    if (!null) o.class_weight_true = DatumGetFloat8(d);
    d = field(7);
    if (!null) o.class_weight_false = DatumGetFloat8(d);
    d = field(8);
    if (!null) o.n_trees = DatumGetInt32(d);
    d = field(9);
    if (!null) {
        o.max_features = DatumGetInt32(d);
        if (o.max_features < 0)
            crm::throw_invalid("tree_options: max_features must be at least 1 (NULL or 0: the default)");
    }
    d = field(10);
    if (!null) o.bootstrap = DatumGetBool(d);
    d = field(11);
    if (!null) {
        const std::int64_t seed = DatumGetInt64(d);
        o.seed = static_cast<std::uint64_t>(seed);
    }
    d = field(12);
    if (!null) o.feature_names = crm::pg::text_array_from_datum(d, "feature_names");
    if (o.n_trees < 0) crm::throw_invalid("tree_options: n_trees must be 0 (one tree) or more, got " + std::to_string(o.n_trees));
    return p;
}

// The options row decoded once per call site (again only when its bytes change), already resolved for the
// aggregate's kind: the transition function runs per row and must not copy the options each time.
struct OptionsCache {
    std::vector<std::uint8_t> row_bytes;
    TreeOptions options;
    bool ready = false;
};

const TreeOptions& options_arg(FunctionCallInfo fcinfo, int argno, bool regression) {
    OptionsCache& cache = crm::pg::fn_cache<OptionsCache>(fcinfo);
    if (argno >= PG_NARGS()) {  // the form without options: the defaults
        if (!cache.ready) {
            cache.options = for_kind(ParsedOptions{}, regression);
            cache.ready = true;
        }
        return cache.options;
    }
    HeapTupleHeader row = crm::pg::row_arg(fcinfo, argno);
    const std::size_t n = HeapTupleHeaderGetDatumLength(row);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(row);
    if (!cache.ready || cache.row_bytes.size() != n || std::memcmp(cache.row_bytes.data(), bytes, n) != 0) {
        cache.ready = false;
        cache.options = for_kind(decode_options(row), regression);
        cache.row_bytes.assign(bytes, bytes + n);
        cache.ready = true;
    }
    return cache.options;
}

[[noreturn]] void too_much_memory(std::size_t need) {
    crm::throw_error(crm::ErrorKind::OutOfMemory,
                     "tree fit would need more than crm.max_fit_memory (" +
                         std::to_string(crm::pg::max_fit_memory_bytes() / 1024) + " kB): about " +
                         std::to_string(need / 1024) + " kB for the rows gathered so far",
                     "Fit on a sample of the rows (TABLESAMPLE, or a WHERE on a hash), or raise crm.max_fit_memory.");
}

// Feature names come back as text (rules, info, JSON): a name that is not valid in the database encoding
// (possible in binary input or a forged partial state) must not get that far.
void check_names_encoding(const std::vector<std::string>& names, crm::ErrorKind kind) {
    for (const std::string& name : names) {
        const char* data = name.data();
        const int len = static_cast<int>(name.size());
        if (!pg_guard([data, len] { return pg_verifymbstr(data, len, true); }))
            crm::throw_error(kind, "a feature name of the tree model is not valid in the database encoding");
    }
}

// The JSON form is built and parsed as a document in memory, several times the text's size: checked
// against crm.max_fit_memory first (measured: about 10x the text to read it, 22x the bytes to write it).
void check_json_memory(std::size_t estimate, const char* what) {
    if (estimate > crm::pg::max_fit_memory_bytes())
        crm::throw_error(crm::ErrorKind::OutOfMemory,
                         std::string("the JSON form of this tree model would need about ") +
                             std::to_string(estimate / (1024 * 1024)) + " MB to " + what +
                             ", more than crm.max_fit_memory",
                         "Raise crm.max_fit_memory, or move models between databases in binary form "
                         "(COPY ... WITH (FORMAT binary), pg_dump -Fc keeps the text form).");
}

std::size_t fit_memory(const TreeFitState& state) {
    const std::size_t rows = state.rows.memory_bytes();
    const std::size_t fit = crm::tree_fit_memory_estimate(state.rows.size(), state.rows.dims(), state.options);
    return fit > SIZE_MAX - rows ? SIZE_MAX : rows + fit;
}

Datum transition(FunctionCallInfo fcinfo, bool regression) {
    MemoryContext context = crm::pg::aggregate_context(fcinfo, kFitName);
    TreeFitState* state = crm::pg::state_arg<TreeFitState>(fcinfo, 0);
    if (state == nullptr) state = crm::pg::make_state<TreeFitState>(context);
    if (PG_NARGS() > 3 && PG_ARGISNULL(3))
        crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "tree options must not be NULL");
    state->set_options(options_arg(fcinfo, 3, regression), regression);
    if (PG_ARGISNULL(1) || PG_ARGISNULL(2)) {
        state->skipped_rows++;
        PG_RETURN_POINTER(state);
    }
    const std::vector<double> x = crm::pg::float8_array_with_missing(fcinfo, 1, "features");
    if (x.empty()) crm::throw_invalid("features must not be an empty array");
    const double y = regression ? PG_GETARG_FLOAT8(2) : (PG_GETARG_BOOL(2) ? 1.0 : 0.0);
    state->rows.add(x.data(), static_cast<int>(x.size()), y);
    if ((state->rows.size() & 0x3FFFF) == 0)  // every 262,144 rows
        crm::pg::report_progress_once("crm.tree_fit reading rows: " + std::to_string(state->rows.size()));
    if ((state->rows.size() & 1023) == 0) {
        const std::size_t need = fit_memory(*state);
        if (need > crm::pg::max_fit_memory_bytes()) too_much_memory(need);
    }
    PG_RETURN_POINTER(state);
}

Datum text_array_datum(const std::vector<std::string>& values) {
    std::vector<Datum> texts;
    texts.reserve(values.size());
    for (const auto& s : values) texts.push_back(crm::pg::text_datum(s));
    const Datum* elems = texts.data();
    const int n = static_cast<int>(texts.size());
    return pg_guard([elems, n] {
        return PointerGetDatum(construct_array(const_cast<Datum*>(elems), n, TEXTOID, -1, false, TYPALIGN_INT));
    });
}

}  // namespace

// ---- options ----

CRM_FUNCTION(crm_tree_options) {
    // Checked now as far as possible without the data: the fit checks the rest (features, kind).
    std::vector<Datum> values(12);
    std::vector<bool> nulls(12);
    for (int i = 0; i < 12; ++i) {
        nulls[static_cast<std::size_t>(i)] = PG_ARGISNULL(i);
        values[static_cast<std::size_t>(i)] = PG_ARGISNULL(i) ? static_cast<Datum>(0) : PG_GETARG_DATUM(i);
    }
    const Datum row = crm::pg::make_row(crm::pg::result_tupdesc(fcinfo), values, nulls);
    const ParsedOptions p = decode_options(reinterpret_cast<HeapTupleHeader>(DatumGetPointer(row)));
    TreeOptions o = p.options;
    const int dims = o.feature_names.empty() ? std::max(1, o.max_features) : static_cast<int>(o.feature_names.size());
    crm::validate(o, dims);
    return row;
}

// ---- aggregates ----

CRM_FUNCTION(crm_tree_transfn) { return transition(fcinfo, false); }
CRM_FUNCTION(crm_regression_tree_transfn) { return transition(fcinfo, true); }
CRM_FUNCTION(crm_tree_combine) { return crm::pg::combine_states<TreeFitState>(fcinfo, kFitName); }
CRM_FUNCTION(crm_tree_serial) { return crm::pg::serialize_state<TreeFitState>(fcinfo); }
CRM_FUNCTION(crm_tree_deserial) { return crm::pg::deserialize_state<TreeFitState>(fcinfo, kFitName); }
CRM_FUNCTION(crm_tree_merge_bytea) { return crm::pg::merge_serialised_state<TreeFitState>(fcinfo, kFitName); }

CRM_FUNCTION(crm_tree_final) {
    const TreeFitState* state = crm::pg::state_arg<TreeFitState>(fcinfo, 0);
    if (state == nullptr) PG_RETURN_NULL();
    if (state->skipped_rows > 0) {
        const long long skipped = state->skipped_rows;
        pg_guard([skipped] {
            ereport(NOTICE, (errmsg("tree_fit skipped %lld rows with a NULL feature array or label", skipped)));
        });
    }
    if (!state->has_options || state->rows.size() == 0) PG_RETURN_NULL();
    check_names_encoding(state->options.feature_names, crm::ErrorKind::InvalidBinary);
    if (!state->regression) {
        // One class only: every row would land in one leaf of probability 0 or 1, almost certainly a
        // mistake in the label (a filter that kept one class, a join that lost the other).
        std::size_t positives = 0;
        for (const double y : state->rows.labels()) positives += y != 0.0 ? 1 : 0;
        if (positives == 0 || positives == state->rows.size())
            crm::throw_invalid(std::string("tree_fit: every label is ") + (positives == 0 ? "false" : "true") +
                                   " (" + std::to_string(state->rows.size()) + " rows); a classifier needs both classes",
                               "Check the query that builds the label.");
    }
    const std::size_t need = fit_memory(*state);
    if (need > crm::pg::max_fit_memory_bytes()) too_much_memory(need);
    crm::pg::ProgressReport report;
    report.update("crm.tree_fit " + std::to_string(state->rows.size()) + " rows, " +
                      (state->options.n_trees > 0 ? std::to_string(state->options.n_trees) + " trees" : "one tree"),
                  true);
    return model_datum(crm::tree_fit(state->rows, state->options, state->regression));
}

// ---- the model type ----

CRM_FUNCTION(crm_tree_model_in) {
    const char* text = PG_GETARG_CSTRING(0);
    check_json_memory(std::strlen(text) * 10, "read");
    const TreeModel model = crm::tree_model_from_json(text);
    check_names_encoding(model.feature_names, crm::ErrorKind::InvalidText);
    return model_datum(model);
}

CRM_FUNCTION(crm_tree_model_out) {
    check_json_memory(crm::pg::bytea_arg(fcinfo, 0).size * 22, "write");
    const std::string json = model_arg(fcinfo, 0).to_json();
    const char* s = json.c_str();
    PG_RETURN_CSTRING(pg_guard([s] { return pstrdup(s); }));
}

CRM_FUNCTION(crm_tree_model_recv) {
    StringInfo buf = reinterpret_cast<StringInfo>(PG_GETARG_POINTER(0));
    const auto* data = reinterpret_cast<const std::uint8_t*>(buf->data + buf->cursor);
    const std::size_t n = static_cast<std::size_t>(buf->len - buf->cursor);
    const TreeModel model = TreeModel::deserialize(data, n);  // validates
    check_names_encoding(model.feature_names, crm::ErrorKind::InvalidBinary);
    buf->cursor = buf->len;
    return model_datum(model);
}

CRM_FUNCTION(crm_tree_model_send) {
    const crm::pg::ByteSpan b = crm::pg::bytea_arg(fcinfo, 0);
    return crm::pg::bytea_datum(std::vector<std::uint8_t>(b.data, b.data + b.size));
}

// ---- using a model ----

CRM_FUNCTION(crm_tree_predict) {
    const TreeModel& model = cached_model(fcinfo, 0);
    const std::vector<double> x = crm::pg::float8_array_with_missing(fcinfo, 1, "features");
    PG_RETURN_FLOAT8(model.predict(x.data(), static_cast<int>(x.size())));
}

CRM_FUNCTION(crm_tree_rules) {
    const TreeModel model = model_arg(fcinfo, 0);
    const int tree = PG_GETARG_INT32(1);
    if (tree < 1 || static_cast<std::size_t>(tree) > model.trees.size())
        crm::throw_invalid("tree_rules: tree must be between 1 and " + std::to_string(model.trees.size()) + ", got " +
                           std::to_string(tree));
    const std::vector<crm::TreeRule> rules = model.rules(tree - 1);
    pg_guard([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    int leaf = 0;
    for (const crm::TreeRule& rule : rules) {
        Datum values[4] = {Int32GetDatum(++leaf), crm::pg::text_datum(rule.condition), Int64GetDatum(rule.samples),
                           Float8GetDatum(rule.value)};
        bool nulls[4] = {};
        crm::pg::put_srf_row(rsinfo, values, nulls);
    }
    return static_cast<Datum>(0);
}

CRM_FUNCTION(crm_tree_info) {
    const TreeModel m = model_arg(fcinfo, 0);
    std::vector<Datum> v(13);
    std::vector<bool> nulls(13, false);
    v[0] = crm::pg::text_datum(m.regression ? "regression" : "classification");
    v[1] = Int32GetDatum(static_cast<int>(m.trees.size()));
    v[2] = Int32GetDatum(m.depth());
    v[3] = Int32GetDatum(m.leaves());
    v[4] = Int64GetDatum(m.n_samples);
    crm::pg::put_float8_or_null(v, nulls, 5, m.oob_score);
    nulls[6] = m.feature_names.empty();
    v[6] = nulls[6] ? static_cast<Datum>(0) : text_array_datum(m.feature_names);
    v[7] = crm::pg::text_datum(crm::tree_criterion_name(m.options.criterion));
    nulls[8] = m.options.max_depth == 0;
    v[8] = Int32GetDatum(m.options.max_depth);
    v[9] = Int32GetDatum(m.options.min_samples_split);
    v[10] = Int32GetDatum(m.options.min_samples_leaf);
    v[11] = Int32GetDatum(m.options.max_features);
    v[12] = Int64GetDatum(static_cast<std::int64_t>(m.options.seed));
    return crm::pg::make_row(crm::pg::result_tupdesc(fcinfo), v, nulls);
}

CRM_FUNCTION(crm_tree_importance) {
    const TreeModel m = model_arg(fcinfo, 0);
    pg_guard([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (int j = 0; j < m.dims; ++j) {
        const std::string name = static_cast<std::size_t>(j) < m.feature_names.size()
                                     ? m.feature_names[static_cast<std::size_t>(j)]
                                     : "feature " + std::to_string(j + 1);
        Datum values[3] = {Int32GetDatum(j + 1), crm::pg::text_datum(name),
                           Float8GetDatum(static_cast<std::size_t>(j) < m.feature_importance.size()
                                              ? m.feature_importance[static_cast<std::size_t>(j)]
                                              : 0.0)};
        bool nulls[3] = {};
        crm::pg::put_srf_row(rsinfo, values, nulls);
    }
    return static_cast<Datum>(0);
}

// ---- evaluation ----

CRM_FUNCTION(crm_binary_metrics_transfn) {
    MemoryContext context = crm::pg::aggregate_context(fcinfo, "crm.binary_metrics");
    auto* state = crm::pg::state_arg<crm::BinaryMetricsState>(fcinfo, 0);
    if (state == nullptr) state = crm::pg::make_state<crm::BinaryMetricsState>(context);
    if (PG_NARGS() > 3) {
        if (PG_ARGISNULL(3)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "binary_metrics: threshold must not be NULL");
        state->set_threshold(PG_GETARG_FLOAT8(3));
    }
    if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2)) {
        state->add(PG_GETARG_FLOAT8(1), PG_GETARG_BOOL(2));
        if ((state->size() & 4095) == 0) crm::pg::check_state_memory(*state, "crm.binary_metrics");
    }
    PG_RETURN_POINTER(state);
}

CRM_FUNCTION(crm_binary_metrics_combine) {
    return crm::pg::combine_states<crm::BinaryMetricsState>(fcinfo, "crm.binary_metrics");
}
CRM_FUNCTION(crm_binary_metrics_serial) { return crm::pg::serialize_state<crm::BinaryMetricsState>(fcinfo); }
CRM_FUNCTION(crm_binary_metrics_deserial) {
    return crm::pg::deserialize_state<crm::BinaryMetricsState>(fcinfo, "crm.binary_metrics");
}

CRM_FUNCTION(crm_binary_metrics_final) {
    const auto* state = crm::pg::state_arg<crm::BinaryMetricsState>(fcinfo, 0);
    if (state == nullptr || state->size() == 0) PG_RETURN_NULL();
    const crm::BinaryMetrics r = state->result();
    std::vector<Datum> v(7);
    std::vector<bool> nulls(7, false);
    v[0] = Int64GetDatum(r.rows);
    v[1] = Int64GetDatum(r.positives);
    crm::pg::put_float8_or_null(v, nulls, 2, r.auc);
    crm::pg::put_float8_or_null(v, nulls, 3, r.log_loss);
    crm::pg::put_float8_or_null(v, nulls, 4, r.accuracy);
    crm::pg::put_float8_or_null(v, nulls, 5, r.precision);
    crm::pg::put_float8_or_null(v, nulls, 6, r.recall);
    return crm::pg::make_row(crm::pg::result_tupdesc(fcinfo), v, nulls);
}
