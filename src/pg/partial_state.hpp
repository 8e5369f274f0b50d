// Transition function of the <aggregate>_combine(bytea) aggregates: merges a
// state serialised by <aggregate>_partial (on another server, e.g. a
// postgres_fdw shard) into this aggregate's state. NULL partials are skipped.
#pragma once

#include "context_object.hpp"

namespace crm::pg {

template <typename State>
Datum merge_serialised_state(FunctionCallInfo fcinfo, const char* aggregate) {
    MemoryContext context = aggregate_context(fcinfo, aggregate);
    State* state = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<State*>(PG_GETARG_POINTER(0));
    if (state == nullptr) state = make_in_context<State>(context);
    if (!PG_ARGISNULL(1)) {
        const ByteSpan bytes = bytea_arg(fcinfo, 1);
        state->merge(State::deserialize(bytes.data, bytes.size));
    }
    PG_RETURN_POINTER(state);
}

}  // namespace crm::pg
