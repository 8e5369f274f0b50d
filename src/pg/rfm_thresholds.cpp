// The two-step RFM API for BI queries:
//   crm.rfm_thresholds(recency, frequency, monetary [, bins])  aggregate -> crm.rfm_thresholds
//   crm.rfm_score(thresholds, recency, frequency, monetary [, segment_map]) -> crm.rfm_score
//   crm.rfm_segment(r_score, f_score [, bins, segment_map]) -> text
// Thresholds are an ordinary composite value: store them, and score new
// customers against the same cut points later.
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "errors.hpp"
#include "rfm.hpp"
#include "segments.hpp"

#include "bridge.hpp"
#include "composite.hpp"
#include "context_object.hpp"
#include "datum_convert.hpp"
#include "fn_cache.hpp"
#include "partial_state.hpp"
#include "rfm_thresholds_row.hpp"
#include "segment_map_arg.hpp"

namespace {

using crm::RfmAccumulator;
using crm::pg::pg_guard;

// Raw bytes of a varlena, for comparing a cached value with a new one.
std::vector<std::uint8_t> varlena_bytes(const void* ptr) {
    const auto* v = static_cast<const struct varlena*>(ptr);
    const auto* data = reinterpret_cast<const std::uint8_t*>(VARDATA_ANY(v));
    return std::vector<std::uint8_t>(data, data + VARSIZE_ANY_EXHDR(v));
}

bool same_bytes(const std::vector<std::uint8_t>& cached, const void* ptr) {
    const auto* v = static_cast<const struct varlena*>(ptr);
    const std::size_t n = VARSIZE_ANY_EXHDR(v);
    return cached.size() == n && (n == 0 || std::memcmp(cached.data(), VARDATA_ANY(v), n) == 0);
}

// Decoded thresholds and segment map, cached per call site.
struct ScoreCache {
    std::vector<std::uint8_t> thresholds_bytes;
    std::optional<crm::RfmThresholds> thresholds;
    bool map_is_default = true;
    int map_bins = 0;
    std::vector<std::uint8_t> map_bytes;
    std::optional<crm::SegmentMap> map;
    TupleDesc result_desc = nullptr;
};

crm::RfmThresholds decode_thresholds(HeapTupleHeader row) {
    bool null = false;
    crm::RfmThresholds t;
    const Datum bins = crm::pg::row_field(row, 1, &null);
    if (null) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "thresholds.bins must not be NULL");
    t.bins = DatumGetInt32(bins);
    crm::check_rfm_bins(t.bins);
    const Datum customers = crm::pg::row_field(row, 2, &null);
    t.customers = null ? 0 : DatumGetInt64(customers);
    const char* fields[] = {"thresholds.recency_cuts", "thresholds.frequency_cuts", "thresholds.monetary_cuts"};
    std::vector<double>* targets[] = {&t.recency, &t.frequency, &t.monetary};
    for (int i = 0; i < 3; ++i) {
        const Datum cuts = crm::pg::row_field(row, 3 + i, &null);
        if (null) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, std::string(fields[i]) + " must not be NULL");
        *targets[i] = crm::pg::float8_array_from_datum(cuts, fields[i]);
        if (!targets[i]->empty() && targets[i]->size() != static_cast<std::size_t>(t.bins - 1))
            crm::throw_invalid(std::string(fields[i]) + " must have bins - 1 = " + std::to_string(t.bins - 1) +
                               " elements, got " + std::to_string(targets[i]->size()));
        for (std::size_t j = 0; j < targets[i]->size(); ++j)
            if (!std::isfinite((*targets[i])[j]) || (j > 0 && !((*targets[i])[j - 1] <= (*targets[i])[j])))
                crm::throw_invalid(std::string(fields[i]) + " must be finite and in ascending order");
    }
    return t;
}

const crm::SegmentMap& cached_map(ScoreCache& cache, int bins, Jsonb* map) {
    if (map == nullptr) {
        if (!cache.map || !cache.map_is_default || cache.map_bins != bins) {
            cache.map = crm::SegmentMap::default_grid(bins);
            cache.map_is_default = true;
            cache.map_bins = bins;
        }
    } else if (!cache.map || cache.map_is_default || cache.map_bins != bins || !same_bytes(cache.map_bytes, map)) {
        cache.map.reset();
        cache.map = crm::pg::segment_map_for(bins, map);
        cache.map_bytes = varlena_bytes(map);
        cache.map_is_default = false;
        cache.map_bins = bins;
    }
    return *cache.map;
}

Jsonb* jsonb_arg_or_null(FunctionCallInfo fcinfo, int argno) {
    if (PG_NARGS() <= argno || PG_ARGISNULL(argno)) return nullptr;
    return pg_guard([fcinfo, argno] { return PG_GETARG_JSONB_P(argno); });
}

}  // namespace

CRM_FUNCTION(crm_rfm_thresholds_transfn) {
    MemoryContext context = crm::pg::aggregate_context(fcinfo, "crm.rfm_thresholds");
    RfmAccumulator* state = crm::pg::state_arg<RfmAccumulator>(fcinfo, 0);
    const int bins = PG_NARGS() > 4 ? (PG_ARGISNULL(4) ? -1 : PG_GETARG_INT32(4)) : 5;
    if (bins == -1) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "bins must not be NULL");
    // SQL aggregate convention: rows with a NULL input are ignored.
    if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3)) {
        if (state == nullptr) PG_RETURN_NULL();
        PG_RETURN_POINTER(state);
    }
    if (state == nullptr) state = crm::pg::make_state<RfmAccumulator>(context);
    state->add(bins, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3));
    crm::pg::check_state_memory(*state, "crm.rfm_thresholds");
    PG_RETURN_POINTER(state);
}

CRM_FUNCTION(crm_rfm_thresholds_combine) {
    return crm::pg::combine_states<RfmAccumulator>(fcinfo, "crm.rfm_thresholds");
}

CRM_FUNCTION(crm_rfm_thresholds_serial) { return crm::pg::serialize_state<RfmAccumulator>(fcinfo); }

CRM_FUNCTION(crm_rfm_thresholds_deserial) {
    return crm::pg::deserialize_state<RfmAccumulator>(fcinfo, "crm.rfm_thresholds");
}

CRM_FUNCTION(crm_rfm_thresholds_final) {
    const RfmAccumulator* state = crm::pg::state_arg<RfmAccumulator>(fcinfo, 0);
    if (state == nullptr || state->sample.size() == 0) PG_RETURN_NULL();
    return crm::pg::rfm_thresholds_row(fcinfo, state->sample.thresholds(state->bins));
}

// crm.rfm_score(thresholds, recency, frequency, monetary, segment_map)
CRM_FUNCTION(crm_rfm_score) {
    for (int i = 0; i < 4; ++i)
        if (PG_ARGISNULL(i)) PG_RETURN_NULL();
    ScoreCache& cache = crm::pg::fn_cache<ScoreCache>(fcinfo);
    HeapTupleHeader row = crm::pg::row_arg(fcinfo, 0);
    // The row's bytes identify the thresholds: decode only when they change.
    const std::size_t row_size = HeapTupleHeaderGetDatumLength(row);
    const auto* row_bytes = reinterpret_cast<const std::uint8_t*>(row);
    if (!cache.thresholds || cache.thresholds_bytes.size() != row_size ||
        std::memcmp(cache.thresholds_bytes.data(), row_bytes, row_size) != 0) {
        cache.thresholds.reset();
        cache.thresholds = decode_thresholds(row);
        cache.thresholds_bytes.assign(row_bytes, row_bytes + row_size);
    }
    const crm::RfmThresholds& t = *cache.thresholds;
    const crm::SegmentMap& map = cached_map(cache, t.bins, jsonb_arg_or_null(fcinfo, 4));
    const crm::RfmScores s = crm::score_customer(t, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), PG_GETARG_FLOAT8(3));
    if (cache.result_desc == nullptr) {
        const TupleDesc desc = crm::pg::result_tupdesc(fcinfo);
        // Keep the descriptor for the query: copy it into the cache's context.
        cache.result_desc = pg_guard([fcinfo, desc] {
            MemoryContext previous = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
            TupleDesc copy = CreateTupleDescCopy(desc);
            MemoryContextSwitchTo(previous);
            return BlessTupleDesc(copy);
        });
    }
    return crm::pg::make_row(cache.result_desc,
                             {Int32GetDatum(s.r), Int32GetDatum(s.f), Int32GetDatum(s.m),
                              crm::pg::text_datum(crm::rfm_cell(s, t.bins)),
                              crm::pg::text_datum(map.segment(s.r, s.f))});
}

// crm.rfm_segment(r_score, f_score, bins, segment_map)
CRM_FUNCTION(crm_rfm_segment) {
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) PG_RETURN_NULL();
    if (PG_ARGISNULL(2)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "bins must not be NULL");
    const int bins = PG_GETARG_INT32(2);
    crm::check_rfm_bins(bins);
    ScoreCache& cache = crm::pg::fn_cache<ScoreCache>(fcinfo);
    const crm::SegmentMap& map = cached_map(cache, bins, jsonb_arg_or_null(fcinfo, 3));
    return crm::pg::text_datum(map.segment(PG_GETARG_INT32(0), PG_GETARG_INT32(1)));
}

CRM_FUNCTION(crm_rfm_thresholds_merge_bytea) {
    return crm::pg::merge_serialised_state<RfmAccumulator>(fcinfo, "crm.rfm_thresholds_combine");
}
