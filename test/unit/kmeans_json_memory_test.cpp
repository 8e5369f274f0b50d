// Reading a huge JSON text costs memory of the order of its size: the reader
// keeps no document tree. Peak heap use is measured by replacing the global
// operator new/delete of the test program (they only count, then call malloc).
#include <gtest/gtest.h>

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "errors.hpp"
#include "kmeans.hpp"

namespace {
std::atomic<std::size_t> g_live{0};
std::atomic<std::size_t> g_peak{0};

void* counted_alloc(std::size_t n) {
    void* p = std::malloc(n ? n : 1);
    if (p == nullptr) throw std::bad_alloc();
    const std::size_t live = g_live += malloc_usable_size(p);
    std::size_t peak = g_peak.load();
    while (live > peak && !g_peak.compare_exchange_weak(peak, live)) {
    }
    return p;
}

void counted_free(void* p) noexcept {
    if (p == nullptr) return;
    g_live -= malloc_usable_size(p);
    std::free(p);
}
}  // namespace

void* operator new(std::size_t n) { return counted_alloc(n); }
void* operator new[](std::size_t n) { return counted_alloc(n); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
// The nothrow forms too (std::stable_sort's temporary buffer uses them): every
// form of the one test binary must pair with its delete.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return counted_alloc(n);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return counted_alloc(n);
    } catch (...) {
        return nullptr;
    }
}
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }

namespace {

// Peak heap growth while from_json reads `text` (which it rejects).
std::size_t peak_while_reading(const std::string& text) {
    g_peak = g_live.load();
    const std::size_t before = g_live.load();
    try {
        crm::KMeansModel::from_json(text);
        ADD_FAILURE() << "accepted";
    } catch (const crm::Error& e) {
        EXPECT_EQ(e.kind(), crm::ErrorKind::InvalidText) << e.what();
    }
    return g_peak.load() - before;
}

constexpr std::size_t kSize = 8u << 20;  // 8 MiB of JSON

// head, then item repeated to kSize bytes, then tail.
std::string repeated(const char* head, const char* item, const char* tail) {
    std::string text = head;
    text.reserve(kSize + 64);
    while (text.size() < kSize) text += item;
    return text + tail;
}

TEST(KMeansJsonMemory, HugeArrayOfNumbers) {
    const std::string text = repeated("{\"offset\": [", "1,", "1]}");
    // 8 bytes a number for every 2 bytes of text, plus the vector's growth.
    EXPECT_LT(peak_while_reading(text), 7 * text.size());
}

TEST(KMeansJsonMemory, HugeArrayOfEmptyArrays) {
    const std::string text = repeated("{\"centroids\": [", "[],", "[]]}");
    // The rows are kept as runs of equal length; what remains is nlohmann's
    // record of the bytes read since the last string or number (for its error
    // messages), grown by doubling.
    EXPECT_LT(peak_while_reading(text), 4 * text.size());
}

TEST(KMeansJsonMemory, HugeStringAndNumberLiterals) {
    const std::string name(kSize, 'x');
    // The parser's token buffer (grown by doubling) and the name itself.
    EXPECT_LT(peak_while_reading("{\"feature_names\": [\"" + name + "\"]}"), 6 * kSize);
    EXPECT_LT(peak_while_reading("{\"inertia\": 1" + std::string(kSize, '0') + "}"), kSize);
    EXPECT_LT(peak_while_reading("{\"unknown\": [" + std::string(kSize, '[') + "]}"), kSize);
}

}  // namespace
