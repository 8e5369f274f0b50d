// A std::pmr::memory_resource over a PostgreSQL memory context.
//
// The core's containers (std::pmr::vector) take their memory from it, so large
// buffers are counted by the context they live in: pg_backend_memory_contexts
// shows them, and deleting the context frees them. The core stays free of
// PostgreSQL headers: it only sees a std::pmr::memory_resource.
//
// Safe to call from C++ without a guard: the allocation asks PostgreSQL not to
// raise on failure (MCXT_ALLOC_NO_OOM) and sizes are checked before the call,
// so nothing here can longjmp; a failure is a std::bad_alloc (53200). Only the
// backend's own thread may use it (PostgreSQL memory is not thread-safe).
#pragma once

#include <memory_resource>
#include <new>

#include "pg_includes.hpp"

namespace crm::pg {

class ContextMemoryResource final : public std::pmr::memory_resource {
public:
    explicit ContextMemoryResource(MemoryContext context) : context_(context) {}
    MemoryContext context() const { return context_; }

private:
    void* do_allocate(std::size_t bytes, std::size_t alignment) override {
        if (alignment > MAXIMUM_ALIGNOF || bytes >= MaxAllocHugeSize) throw std::bad_alloc();
        void* p = MemoryContextAllocExtended(context_, bytes == 0 ? 1 : bytes, MCXT_ALLOC_HUGE | MCXT_ALLOC_NO_OOM);
        if (p == nullptr) throw std::bad_alloc();
        return p;
    }
    void do_deallocate(void* p, std::size_t, std::size_t) override { pfree(p); }
    bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override { return this == &other; }

    MemoryContext context_;
};

}  // namespace crm::pg
