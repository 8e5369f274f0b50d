// A per-query cache for a function call site, kept in fn_extra.
//
// Row-by-row functions (scorers, assigners) decode their model or map once
// per query instead of once per row. The object lives in fn_mcxt and is
// destroyed with it.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "context_object.hpp"

namespace crm::pg {

template <typename T>
T& fn_cache(FunctionCallInfo fcinfo) {
    if (fcinfo->flinfo->fn_extra == nullptr)
        fcinfo->flinfo->fn_extra = make_in_context<T>(fcinfo->flinfo->fn_mcxt);
    return *static_cast<T*>(fcinfo->flinfo->fn_extra);
}

// Whether argument argno is the same value as last time, judged by its raw
// varlena (a TOAST pointer, compressed bytes or plain bytes), which is then
// remembered in `key`. A per-call-site cache of a decoded model keys on it: a
// stored model comes compressed or TOASTed, and detoasting it on every row
// only to compare it would cost more than the work the row needs.
inline bool same_raw_datum(FunctionCallInfo fcinfo, int argno, std::vector<std::uint8_t>& key) {
    const auto* raw = reinterpret_cast<const std::uint8_t*>(DatumGetPointer(PG_GETARG_DATUM(argno)));
    const std::size_t size = VARSIZE_ANY(raw);
    if (key.size() == size && std::memcmp(key.data(), raw, size) == 0) return true;
    key.assign(raw, raw + size);
    return false;
}

}  // namespace crm::pg
