// Building and reading composite (row) values from C++.
#pragma once

#include <cmath>
#include <vector>

#include "pg_includes.hpp"

namespace crm::pg {

// The blessed tuple descriptor of the function's composite result type.
// Costs a catalog lookup: callers cache it per query (see fn_cache.hpp).
TupleDesc result_tupdesc(FunctionCallInfo fcinfo);

// Forms a row of the result type from values (nulls: all false when empty).
Datum make_row(TupleDesc desc, const std::vector<Datum>& values, const std::vector<bool>& nulls = {});

// Sets field `at` of a row being built to x, or to NULL when x is not a finite number (an undefined
// statistic: an interval of one answer, a missing out-of-bag score).
inline void put_float8_or_null(std::vector<Datum>& values, std::vector<bool>& nulls, std::size_t at, double x) {
    nulls[at] = !std::isfinite(x);
    values[at] = nulls[at] ? static_cast<Datum>(0) : Float8GetDatum(x);
}

// Appends one row to a materialised set-returning function's result (InitMaterializedSRF).
void put_srf_row(ReturnSetInfo* rsinfo, Datum* values, bool* nulls);

// Field `attno` (1-based) of a composite argument; *is_null set.
Datum row_field(HeapTupleHeader row, int attno, bool* is_null);

// The composite argument as a detoasted row header plus its raw bytes, for caching.
HeapTupleHeader row_arg(FunctionCallInfo fcinfo, int argno);

}  // namespace crm::pg
