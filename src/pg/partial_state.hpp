// The support functions every internal-state aggregate of the extension
// shares, for any State with merge(), serialize() and a static deserialize():
// combine (parallel workers), deserial, and the transition function of the
// <aggregate>_combine(bytea) aggregates, which merges a state serialised by
// <aggregate>_partial (on another server, e.g. a postgres_fdw shard).
#pragma once

#include <memory_resource>
#include <string>
#include <type_traits>
#include <utility>

#include "errors.hpp"

#include "context_memory.hpp"
#include "context_object.hpp"
#include "settings.hpp"

namespace crm::pg {

// A new, empty aggregate state in `context`. A state whose containers take a
// std::pmr::memory_resource gets one over the context itself, so its data is
// counted where PostgreSQL looks: HashAgg's memory accounting (and spilling
// decisions), pg_backend_memory_contexts, the context's reset. (The resource
// is registered first, so its reset callback runs after the state's.)
template <typename State>
State* make_state(MemoryContext context) {
    if constexpr (std::is_constructible_v<State, std::pmr::memory_resource*>) {
        auto* memory = make_in_context<ContextMemoryResource>(context, context);
        return make_in_context<State>(context, static_cast<std::pmr::memory_resource*>(memory));
    } else {
        return make_in_context<State>(context);
    }
}

template <typename State, typename = void>
struct has_memory_bytes : std::false_type {};
template <typename State>
struct has_memory_bytes<State, std::void_t<decltype(std::declval<const State&>().memory_bytes())>> : std::true_type {};

// One aggregate state may hold at most crm.max_fit_memory (per group: a
// grouped query over many small groups is fine); beyond it a clear 53200.
template <typename State>
void check_state_memory(const State& state, const char* aggregate) {
    if constexpr (has_memory_bytes<State>::value) {  // fixed-size states need no check
        const std::size_t bytes = state.memory_bytes();
        const std::size_t limit = max_fit_memory_bytes();
        if (bytes > limit)
            throw_error(ErrorKind::OutOfMemory,
                        std::string(aggregate) + " holds " + std::to_string((bytes + 1023) / 1024) +
                            " kB for one group, more than crm.max_fit_memory (" + std::to_string(limit / 1024) + " kB)",
                        "Aggregate fewer rows per group (filter or group more finely), or raise crm.max_fit_memory.");
    }
}

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
    if (left == nullptr) left = make_state<State>(context);
    left->merge(*right);
    check_state_memory(*left, aggregate);
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
    // In the current (per-input-tuple) context, as PostgreSQL expects of a
    // deserial function: the combine step copies it into the aggregate
    // context, and this copy goes with the tuple instead of staying for the
    // whole group.
    (void)context;
    if constexpr (std::is_invocable_r_v<State, decltype(&State::deserialize), const std::uint8_t*, std::size_t,
                                        std::pmr::memory_resource*>) {
        // A state that can read its arrays straight into the context's memory: one copy of the data.
        auto* memory = make_in_context<ContextMemoryResource>(CurrentMemoryContext, CurrentMemoryContext);
        State* state = make_in_context<State>(
            CurrentMemoryContext, State::deserialize(bytes.data, bytes.size, static_cast<std::pmr::memory_resource*>(memory)));
        PG_RETURN_POINTER(state);
    } else {
        State decoded = State::deserialize(bytes.data, bytes.size);
        State* state = make_state<State>(CurrentMemoryContext);
        *state = std::move(decoded);
        PG_RETURN_POINTER(state);
    }
}

template <typename State>
Datum merge_serialised_state(FunctionCallInfo fcinfo, const char* aggregate) {
    MemoryContext context = aggregate_context(fcinfo, aggregate);
    State* state = PG_ARGISNULL(0) ? nullptr : reinterpret_cast<State*>(PG_GETARG_POINTER(0));
    if (state == nullptr) state = make_state<State>(context);
    if (!PG_ARGISNULL(1)) {
        const ByteSpan bytes = bytea_arg(fcinfo, 1);
        state->merge(State::deserialize(bytes.data, bytes.size));
        check_state_memory(*state, aggregate);
    }
    PG_RETURN_POINTER(state);
}

}  // namespace crm::pg
