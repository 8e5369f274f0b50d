#include "kmeans_random.hpp"

#include <cstring>

namespace crm {
namespace kmeans_detail {

std::uint64_t hash_point(const double* x, int dims) {
    std::uint64_t h = 0;
    for (int j = 0; j < dims; ++j) {
        const double v = x[j] + 0.0;  // -0.0 and 0.0 are the same coordinate
        std::uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        h = mix64(h ^ bits);
    }
    return h;
}

}  // namespace kmeans_detail
}  // namespace crm
