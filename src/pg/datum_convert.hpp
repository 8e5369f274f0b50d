// Conversions between PostgreSQL Datums and plain C++ values. Every function
// here is safe to call from C++: PostgreSQL calls run under pg_guard.
#pragma once

#include <string>
#include <vector>

#include "pg_includes.hpp"

namespace crm::pg {

// A float8[] argument as a vector. Arrays of more than one dimension are
// errors (22023) naming the argument. NULL elements are an error (22004)
// unless has_null_elements is given: then it is set and an empty vector returned.
std::vector<double> float8_array_arg(FunctionCallInfo fcinfo, int argno, const char* argname,
                                     bool* has_null_elements = nullptr);

// A float8[] argument read in place, for per-row scoring: no copy, valid
// until the function returns. The same errors as float8_array_arg.
struct Float8Span {
    const double* data = nullptr;
    int size = 0;
};
Float8Span float8_array_span_arg(FunctionCallInfo fcinfo, int argno, const char* argname);

// A float8[] argument whose NULL elements are missing values: they come back
// as NaN. A NaN or infinite element is 22023 (only NULL means missing), a
// multi-dimensional array 22023.
std::vector<double> float8_array_with_missing(FunctionCallInfo fcinfo, int argno, const char* argname);

// A text (or name) argument as a string.
std::string text_arg(FunctionCallInfo fcinfo, int argno);
std::string text_from_datum(Datum datum);
std::string name_arg(FunctionCallInfo fcinfo, int argno);

// A text[] Datum as strings; NULL elements (22004) and more than one dimension (22023) are errors naming `what`.
std::vector<std::string> text_array_from_datum(Datum array, const char* what);

Datum float8_array_datum(const std::vector<double>& values);
Datum text_datum(const std::string& value);

// A float8[] Datum (e.g. a composite field) as a vector; NULL elements rejected.
std::vector<double> float8_array_from_datum(Datum array, const char* what);

}  // namespace crm::pg
