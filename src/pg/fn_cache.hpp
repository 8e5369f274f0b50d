// A per-query cache for a function call site, kept in fn_extra.
//
// Row-by-row functions (scorers, assigners) decode their model or map once
// per query instead of once per row. The object lives in fn_mcxt and is
// destroyed with it.
#pragma once

#include "context_object.hpp"

namespace crm::pg {

template <typename T>
T& fn_cache(FunctionCallInfo fcinfo) {
    if (fcinfo->flinfo->fn_extra == nullptr)
        fcinfo->flinfo->fn_extra = make_in_context<T>(fcinfo->flinfo->fn_mcxt);
    return *static_cast<T*>(fcinfo->flinfo->fn_extra);
}

}  // namespace crm::pg
