// Row counts merged from partial states. Counts in a state that crossed a
// process or server boundary are data: a crafted or corrupted state must not
// wrap them around, so sums are checked (22003) and stored counts must not be
// negative (22P03).
#pragma once

#include <cstdint>
#include <string>

#include "errors.hpp"

namespace crm {

inline std::int64_t add_counts(std::int64_t a, std::int64_t b, const char* what) {
    std::int64_t sum = 0;
    if (__builtin_add_overflow(a, b, &sum))
        throw_error(ErrorKind::OutOfRange, std::string("merging partial states overflows the ") + what +
                                               " count (" + std::to_string(a) + " + " + std::to_string(b) + ")");
    return sum;
}

inline std::int64_t stored_count(std::int64_t n, const char* what) {
    if (n < 0)
        throw_error(ErrorKind::InvalidBinary,
                    std::string("corrupted aggregate state: negative ") + what + " count " + std::to_string(n));
    return n;
}

}  // namespace crm
