// C++ objects owned by a PostgreSQL memory context.
//
// An aggregate state or a per-query cache must live as long as a memory
// context, not a C++ scope. The object is constructed in place in memory
// allocated from the context, and a reset callback runs its destructor when
// the context goes away, so its own heap memory is released too.
#pragma once

#include <new>
#include <utility>

#include "bridge.hpp"

namespace crm::pg {

template <typename T>
struct ContextObject {
    MemoryContextCallback callback;
    alignas(T) unsigned char storage[sizeof(T)];

    T* object() { return std::launder(reinterpret_cast<T*>(storage)); }
    static void destroy(void* arg) { static_cast<ContextObject*>(arg)->object()->~T(); }
};

// Constructs T(args...) in `context`; its destructor runs when the context is
// reset or deleted.
template <typename T, typename... Args>
T* make_in_context(MemoryContext context, Args&&... args) {
    static_assert(alignof(T) <= MAXIMUM_ALIGNOF, "palloc does not align beyond MAXIMUM_ALIGNOF");
    auto* holder = static_cast<ContextObject<T>*>(
        pg_guard([context] { return MemoryContextAllocZero(context, sizeof(ContextObject<T>)); }));
    T* object = new (holder->storage) T(std::forward<Args>(args)...);
    holder->callback.func = &ContextObject<T>::destroy;
    holder->callback.arg = holder;
    pg_guard([context, holder] { MemoryContextRegisterResetCallback(context, &holder->callback); });
    return object;
}

// The aggregate memory context of the current call; errors when the function
// is not called as an aggregate.
MemoryContext aggregate_context(FunctionCallInfo fcinfo, const char* function_name);

// Reads a bytea argument as a pointer and size (detoasted).
struct ByteSpan {
    const std::uint8_t* data;
    std::size_t size;
};
ByteSpan bytea_arg(FunctionCallInfo fcinfo, int argno);
Datum bytea_datum(const std::vector<std::uint8_t>& bytes);

}  // namespace crm::pg
