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
//
// A constant argument (a literal, or a parameter of EXECUTE ... USING, which
// PL/pgSQL hands to the planner as a constant) is the same value on every
// call of this call site, so once it has been seen it is not compared again:
// a forest of megabytes would otherwise be compared byte by byte on every row.
inline bool arg_is_const(FunctionCallInfo fcinfo, int argno) {
    const Node* expr = fcinfo->flinfo != nullptr ? fcinfo->flinfo->fn_expr : nullptr;
    if (expr == nullptr || !IsA(expr, FuncExpr)) return false;
    const List* args = reinterpret_cast<const FuncExpr*>(expr)->args;
    if (argno < 0 || argno >= list_length(args)) return false;
    return IsA(list_nth(args, argno), Const);
}

inline bool same_raw_datum(FunctionCallInfo fcinfo, int argno, std::vector<std::uint8_t>& key) {
    if (!key.empty() && arg_is_const(fcinfo, argno)) return true;
    const auto* raw = reinterpret_cast<const std::uint8_t*>(DatumGetPointer(PG_GETARG_DATUM(argno)));
    // An expanded object (a PL/pgSQL record variable) or an indirect pointer is named by an address, not
    // by its contents, which can change in place: never "the same" (the caller decodes it again).
    if (VARATT_IS_EXTERNAL_EXPANDED(raw) || VARATT_IS_EXTERNAL_INDIRECT(raw)) {
        key.clear();
        return false;
    }
    const std::size_t size = VARSIZE_ANY(raw);
    if (key.size() == size && std::memcmp(key.data(), raw, size) == 0) return true;
    key.assign(raw, raw + size);
    return false;
}

}  // namespace crm::pg
