// A crm.rfm_thresholds row from core cut points: the result of the exact and
// the approximate thresholds aggregates.
#pragma once

#include "rfm.hpp"

#include "composite.hpp"
#include "datum_convert.hpp"

namespace crm::pg {

inline Datum rfm_thresholds_row(FunctionCallInfo fcinfo, const crm::RfmThresholds& t) {
    const TupleDesc desc = result_tupdesc(fcinfo);
    return make_row(desc, {Int32GetDatum(t.bins), Int64GetDatum(t.customers), float8_array_datum(t.recency),
                           float8_array_datum(t.frequency), float8_array_datum(t.monetary)});
}

}  // namespace crm::pg
