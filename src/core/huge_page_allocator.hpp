// An allocator for the big scratch arrays of one call (a table's purchases):
// blocks of 4 MB and more are mapped directly and marked for transparent huge
// pages, smaller ones come from operator new.
//
// Why: filling a fresh 100 MB array touches 25,000 4 KB pages, and on a
// virtual machine every first touch is a costly fault (measured: a seventh of
// crm.clv_analyze's time went to them). With THP in its default "madvise"
// mode, only memory that asks gets 2 MB pages; where THP is off the advice is
// ignored and this is plain mmap.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <new>

namespace crm {

namespace detail {
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kMapAtLeast = std::size_t{4} << 20;

inline std::size_t round_to_huge(std::size_t bytes) { return (bytes + kHugePage - 1) & ~(kHugePage - 1); }

// A mapping of round_to_huge(bytes) aligned to a huge page: map one huge page
// more than needed and give back the unaligned ends.
inline void* map_huge(std::size_t bytes) {
    const std::size_t size = round_to_huge(bytes);
    void* raw = mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (start + kHugePage - 1) & ~(std::uintptr_t{kHugePage} - 1);
    if (aligned > start) munmap(raw, aligned - start);
    const std::uintptr_t end = start + size + kHugePage;
    if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - (aligned + size));
    void* p = reinterpret_cast<void*>(aligned);
    madvise(p, size, MADV_HUGEPAGE);  // advice: without THP it fails harmlessly
    return p;
}
}  // namespace detail

template <class T>
struct HugePageAllocator {
    using value_type = T;
    HugePageAllocator() noexcept = default;
    template <class U>
    HugePageAllocator(const HugePageAllocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        if (n > static_cast<std::size_t>(-1) / sizeof(T)) throw std::bad_alloc();
        const std::size_t bytes = n * sizeof(T);
        if (bytes < detail::kMapAtLeast) return static_cast<T*>(::operator new(bytes));
        return static_cast<T*>(detail::map_huge(bytes));
    }
    void deallocate(T* p, std::size_t n) noexcept {
        const std::size_t bytes = n * sizeof(T);
        if (bytes < detail::kMapAtLeast)
            ::operator delete(p);
        else
            munmap(p, detail::round_to_huge(bytes));
    }
    template <class U>
    bool operator==(const HugePageAllocator<U>&) const noexcept {
        return true;
    }
    template <class U>
    bool operator!=(const HugePageAllocator<U>&) const noexcept {
        return false;
    }
};

}  // namespace crm
