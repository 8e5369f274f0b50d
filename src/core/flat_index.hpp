// An open-addressing hash index from keys to dense numbers 0, 1, 2, ... in
// the order keys are first seen: the grouping step of the per-customer
// aggregations that read whole orders tables (CustomerTotals, CohortBuilder).
//
// Slots hold the key and its number, so a lookup touches one cache line;
// prefetch() lets a caller request the line of a row some rows ahead, so the
// cache misses of a big table overlap instead of queueing. The load factor
// stays at most 1/2 (linear probing stays short).
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "errors.hpp"
#include "hash_mix.hpp"

namespace crm {

// Hashes give 64 bits that FlatIndex mixes once more; an integer key is its own.
struct Int64KeyHash {
    std::uint64_t operator()(std::int64_t key) const { return static_cast<std::uint64_t>(key); }
};

template <class Key, class Hash>
class FlatIndex {
public:
    static constexpr std::uint32_t npos = std::numeric_limits<std::uint32_t>::max();

    FlatIndex() : slots_(kInitialSlots, Slot{Key{}, 0}), mask_(kInitialSlots - 1), shift_(64 - kInitialBits) {}

    std::size_t size() const { return keys_.size(); }
    const std::vector<Key>& keys() const { return keys_; }

    void prefetch(const Key& key) const { __builtin_prefetch(&slots_[position(key)]); }

    // The key's number; a new key gets size() and *added is set.
    std::uint32_t find_or_add(const Key& key, bool* added) {
        if (2 * (keys_.size() + 1) > slots_.size()) grow();
        const std::size_t s = slot_of(key);
        if (slots_[s].number != 0) {
            *added = false;
            return slots_[s].number - 1;
        }
        keys_.push_back(key);
        slots_[s] = Slot{key, static_cast<std::uint32_t>(keys_.size())};
        *added = true;
        return static_cast<std::uint32_t>(keys_.size() - 1);
    }

    std::uint32_t find(const Key& key) const {
        const std::size_t s = slot_of(key);
        return slots_[s].number == 0 ? npos : slots_[s].number - 1;
    }

    // Drops the hash slots (find no longer works); the keys stay.
    void release_slots() {
        slots_.clear();
        slots_.shrink_to_fit();
    }

    std::size_t memory_bytes() const { return slots_.capacity() * sizeof(Slot) + keys_.capacity() * sizeof(Key); }

private:
    static constexpr int kInitialBits = 10;
    static constexpr std::size_t kInitialSlots = std::size_t{1} << kInitialBits;

    struct Slot {
        Key key;
        std::uint32_t number;  // + 1; 0 marks an empty slot
    };

    std::size_t position(const Key& key) const {
        return static_cast<std::size_t>(fibonacci_mix(Hash{}(key)) >> shift_);
    }

    std::size_t slot_of(const Key& key) const {
        std::size_t s = position(key);
        while (slots_[s].number != 0 && !(slots_[s].key == key)) s = (s + 1) & mask_;
        return s;
    }

    void grow() {
        if (keys_.size() >= npos / 2) throw_error(ErrorKind::ProgramLimitExceeded, "more than 2^31 distinct keys");
        const std::size_t capacity = slots_.size() * 2;
        slots_.assign(capacity, Slot{Key{}, 0});
        mask_ = capacity - 1;
        --shift_;
        for (std::size_t i = 0; i < keys_.size(); ++i) slots_[slot_of(keys_[i])] = Slot{keys_[i], static_cast<std::uint32_t>(i + 1)};
    }

    std::vector<Slot> slots_;
    std::size_t mask_;
    int shift_;
    std::vector<Key> keys_;
};

}  // namespace crm
