#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "errors.hpp"

#include "bridge.hpp"
#include "datum_convert.hpp"

namespace crm::pg {

namespace {

struct ArrayView {
    int ndim = 0;
    int length = 0;
    bool has_nulls = false;
    const double* data = nullptr;
};

ArrayView view_float8_array(ArrayType* array) {
    ArrayView v;
    v.ndim = ARR_NDIM(array);
    if (ARR_ELEMTYPE(array) != FLOAT8OID) return v;
    v.length = ArrayGetNItems(v.ndim, ARR_DIMS(array));
    v.has_nulls = ARR_HASNULL(array) && array_contains_nulls(array);
    if (!v.has_nulls) v.data = reinterpret_cast<const double*>(ARR_DATA_PTR(array));
    return v;
}

// The checked view: one dimension, float8, and (unless the caller asks to
// hear of them) no NULL elements.
ArrayView checked_view(ArrayType* array, const char* what, bool* has_null_elements) {
    const ArrayView v = pg_guard([array] { return view_float8_array(array); });
    if (v.ndim > 1)
        throw_invalid(std::string(what) + " must be a one-dimensional array, got " + std::to_string(v.ndim) +
                      " dimensions");
    if (has_null_elements != nullptr) {
        *has_null_elements = v.has_nulls;
        if (v.has_nulls) return v;
    }
    if (v.has_nulls)
        throw_error(ErrorKind::NullValueNotAllowed, std::string(what) + " must not contain NULL elements");
    if (v.length > 0 && v.data == nullptr) throw_invalid(std::string(what) + " must be a float8 array");
    return v;
}

std::vector<double> to_vector(ArrayType* array, const char* what, bool* has_null_elements = nullptr) {
    const ArrayView v = checked_view(array, what, has_null_elements);
    if (v.has_nulls) return {};
    return std::vector<double>(v.data, v.data + v.length);
}

}  // namespace

std::vector<double> float8_array_arg(FunctionCallInfo fcinfo, int argno, const char* argname,
                                     bool* has_null_elements) {
    ArrayType* array = pg_guard([fcinfo, argno] { return PG_GETARG_ARRAYTYPE_P(argno); });
    return to_vector(array, argname, has_null_elements);
}

Float8Span float8_array_span_arg(FunctionCallInfo fcinfo, int argno, const char* argname) {
    ArrayType* array = pg_guard([fcinfo, argno] { return PG_GETARG_ARRAYTYPE_P(argno); });
    const ArrayView v = checked_view(array, argname, nullptr);
    return Float8Span{v.data, v.length};
}

std::vector<double> float8_array_with_missing(FunctionCallInfo fcinfo, int argno, const char* argname) {
    struct Raw {
        int ndim = 0;
        int n = 0;
        Datum* elems = nullptr;
        bool* nulls = nullptr;
        bool float8 = true;
    };
    const Raw raw = pg_guard([fcinfo, argno] {
        Raw r;
        ArrayType* a = PG_GETARG_ARRAYTYPE_P(argno);
        r.ndim = ARR_NDIM(a);
        r.float8 = ARR_ELEMTYPE(a) == FLOAT8OID;
        if (r.float8 && r.ndim <= 1)
            deconstruct_array(a, FLOAT8OID, sizeof(double), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &r.elems, &r.nulls, &r.n);
        return r;
    });
    if (raw.ndim > 1)
        throw_invalid(std::string(argname) + " must be a one-dimensional array, got " + std::to_string(raw.ndim) +
                      " dimensions");
    if (!raw.float8) throw_invalid(std::string(argname) + " must be a float8 array");
    std::vector<double> out(static_cast<std::size_t>(raw.n));
    for (int i = 0; i < raw.n; ++i) {
        if (raw.nulls[i]) {
            out[static_cast<std::size_t>(i)] = std::numeric_limits<double>::quiet_NaN();
            continue;
        }
        const double v = DatumGetFloat8(raw.elems[i]);
        if (!std::isfinite(v))
            throw_invalid(std::string(argname) + " must not contain NaN or Infinity (element " + std::to_string(i + 1) +
                              "); a NULL element is a missing value");
        out[static_cast<std::size_t>(i)] = v;
    }
    return out;
}

std::vector<double> float8_array_from_datum(Datum datum, const char* what) {
    ArrayType* array = pg_guard([datum] { return DatumGetArrayTypeP(datum); });
    return to_vector(array, what);
}

std::string text_arg(FunctionCallInfo fcinfo, int argno) {
    text* t = pg_guard([fcinfo, argno] { return PG_GETARG_TEXT_PP(argno); });
    return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

std::string text_from_datum(Datum datum) {
    text* t = pg_guard([datum] { return DatumGetTextPP(datum); });
    return std::string(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
}

std::string name_arg(FunctionCallInfo fcinfo, int argno) {
    const Name n = PG_GETARG_NAME(argno);
    return std::string(NameStr(*n), strnlen(NameStr(*n), NAMEDATALEN));
}

std::vector<std::string> text_array_from_datum(Datum datum, const char* what) {
    struct Raw {
        int n = 0;
        Datum* elems = nullptr;
        bool* nulls = nullptr;
        int ndim = 0;
    };
    const Raw raw = pg_guard([datum] {
        Raw r;
        ArrayType* a = DatumGetArrayTypeP(datum);
        r.ndim = ARR_NDIM(a);
        deconstruct_array(a, TEXTOID, -1, false, TYPALIGN_INT, &r.elems, &r.nulls, &r.n);
        return r;
    });
    if (raw.ndim > 1) throw_invalid(std::string(what) + " must be a one-dimensional array");
    std::vector<std::string> out;
    out.reserve(static_cast<std::size_t>(raw.n));
    for (int i = 0; i < raw.n; ++i) {
        if (raw.nulls[i]) throw_error(ErrorKind::NullValueNotAllowed, std::string(what) + " must not contain NULL");
        out.push_back(text_from_datum(raw.elems[i]));
    }
    return out;
}

Datum float8_array_datum(const std::vector<double>& values) {
    const double* data = values.data();
    const int n = static_cast<int>(values.size());
    return pg_guard([data, n] {
        Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * (n > 0 ? n : 1)));
        for (int i = 0; i < n; ++i) elems[i] = Float8GetDatum(data[i]);
        return PointerGetDatum(construct_array(elems, n, FLOAT8OID, sizeof(double), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
    });
}

Datum text_datum(const std::string& value) {
    if (value.size() > MaxAllocSize - VARHDRSZ) throw_error(ErrorKind::ProgramLimitExceeded, "text value too long");
    const char* data = value.data();
    const int n = static_cast<int>(value.size());
    return pg_guard([data, n] { return PointerGetDatum(cstring_to_text_with_len(data, n)); });
}

}  // namespace crm::pg
