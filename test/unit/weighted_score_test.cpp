#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "errors.hpp"
#include "expect_error.hpp"
#include "weighted_score.hpp"

namespace {

TEST(WeightedScore, HandComputed) {
    const double x[] = {0.5, -1.0, 2.0};
    const double w[] = {0.2, 0.3, 0.5};
    EXPECT_DOUBLE_EQ(crm::weighted_score(x, w, 3), 0.1 - 0.3 + 1.0);
}

TEST(WeightedScore, RejectsBadInput) {
    const double x[] = {1.0, std::nan("")};
    const double w[] = {1.0, 1.0};
    EXPECT_ERROR_KIND(crm::weighted_score(x, w, 2), crm::ErrorKind::InvalidParameter);
    EXPECT_ERROR_KIND(crm::weighted_score(x, w, 0), crm::ErrorKind::InvalidParameter);
    const double big[] = {1e308, 1e308};
    const double two[] = {10.0, 10.0};
    EXPECT_ERROR_KIND(crm::weighted_score(big, two, 2), crm::ErrorKind::OutOfRange);
}

}  // namespace
