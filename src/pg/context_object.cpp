#include <cstring>
#include <string>
#include <vector>

#include "errors.hpp"

#include "context_object.hpp"

namespace crm::pg {

MemoryContext aggregate_context(FunctionCallInfo fcinfo, const char* function_name) {
    MemoryContext context = nullptr;
    const int kind = AggCheckCallContext(fcinfo, &context);
    if (kind == 0 || context == nullptr)
        throw_error(ErrorKind::Internal, std::string(function_name) + " called in non-aggregate context");
    return context;
}

ByteSpan bytea_arg(FunctionCallInfo fcinfo, int argno) {
    bytea* b = pg_guard([fcinfo, argno] { return PG_GETARG_BYTEA_PP(argno); });
    return {reinterpret_cast<const std::uint8_t*>(VARDATA_ANY(b)), VARSIZE_ANY_EXHDR(b)};
}

Datum bytea_datum(const std::vector<std::uint8_t>& bytes) {
    if (bytes.size() > MaxAllocSize - VARHDRSZ)
        throw_error(ErrorKind::ProgramLimitExceeded, "aggregate state is too large to serialise (over 1 GB)");
    const std::uint8_t* data = bytes.data();
    const std::size_t n = bytes.size();
    return pg_guard([data, n] {
        bytea* out = static_cast<bytea*>(palloc(n + VARHDRSZ));
        SET_VARSIZE(out, n + VARHDRSZ);
        if (n > 0) std::memcpy(VARDATA(out), data, n);
        return PointerGetDatum(out);
    });
}

}  // namespace crm::pg
