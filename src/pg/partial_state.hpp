// The support functions every internal-state aggregate of the extension
// shares, for any State with merge(), serialize() and a static deserialize():
// combine (parallel workers), deserial, and the transition function of the
// <aggregate>_combine(bytea) aggregates, which merges a state serialised by
// <aggregate>_partial (on another server, e.g. a postgres_fdw shard).
#pragma once

#include <utility>

#include "context_object.hpp"

namespace crm::pg {

template <typename State>
State* state_arg(FunctionCallInfo fcinfo, int argno) {
    return PG_ARGISNULL(argno) ? nullptr : reinterpret_cast<State*>(PG_GETARG_POINTER(argno));
}

// COMBINEFUNC: merges the second state into the first (a new one in the
// aggregate context when the first is NULL).
template <typename State>
Datum combine_states(FunctionCallInfo fcinfo, const char* aggregate) {
    MemoryContext context = aggregate_context(fcinfo, aggregate);
    State* left = state_arg<State>(fcinfo, 0);
    State* right = state_arg<State>(fcinfo, 1);
    if (right == nullptr) {
        if (left == nullptr) PG_RETURN_NULL();
        PG_RETURN_POINTER(left);
    }
    if (left == nullptr) left = make_in_context<State>(context);
    left->merge(*right);
    PG_RETURN_POINTER(left);
}

// SERIALFUNC
template <typename State>
Datum serialize_state(FunctionCallInfo fcinfo) {
    return bytea_datum(state_arg<State>(fcinfo, 0)->serialize());
}

// DESERIALFUNC: the bytes are checked (22P03 when corrupted).
template <typename State>
Datum deserialize_state(FunctionCallInfo fcinfo, const char* aggregate) {
    MemoryContext context = aggregate_context(fcinfo, aggregate);
    const ByteSpan bytes = bytea_arg(fcinfo, 0);
    State decoded = State::deserialize(bytes.data, bytes.size);
    PG_RETURN_POINTER(make_in_context<State>(context, std::move(decoded)));
}

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
