// Long core loops poll the interrupt handler and stop when it throws.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <vector>

#include "errors.hpp"
#include "expect_error.hpp"
#include "interrupts.hpp"
#include "rfm.hpp"

namespace {

int calls = 0;
void counting_handler() { ++calls; }
void cancelling_handler() { throw crm::Error(crm::ErrorKind::QueryCanceled, "canceling statement"); }

TEST(Interrupts, TickerCallsHandlerPeriodically) {
    calls = 0;
    const auto previous = crm::set_interrupt_handler(&counting_handler);
    crm::InterruptTicker ticker(10);
    for (int i = 0; i < 100; ++i) ticker.tick();
    crm::set_interrupt_handler(previous);
    EXPECT_EQ(calls, 10);
}

TEST(Interrupts, CancelStopsScoring) {
    crm::RfmSample sample;
    for (int i = 0; i < 20000; ++i) sample.add(i % 365, 1 + i % 7, i * 0.5);
    const auto previous = crm::set_interrupt_handler(&cancelling_handler);
    EXPECT_ERROR_KIND((void)sample.score_all_quantile(5), crm::ErrorKind::QueryCanceled);
    crm::set_interrupt_handler(previous);
}

TEST(Interrupts, TickingComparatorSortsAlikeAndCanBeCancelled) {
    std::vector<int> values(100000);
    for (std::size_t i = 0; i < values.size(); ++i) values[i] = static_cast<int>((i * 7919) % 100003);
    std::vector<int> expected = values;
    std::sort(expected.begin(), expected.end());
    calls = 0;
    auto previous = crm::set_interrupt_handler(&counting_handler);
    crm::InterruptTicker ticker(1000);
    std::vector<int> sorted = values;
    std::sort(sorted.begin(), sorted.end(), crm::ticking(ticker, [](int a, int b) { return a < b; }));
    crm::set_interrupt_handler(previous);
    EXPECT_EQ(sorted, expected);
    EXPECT_GT(calls, 100);  // n log n comparisons, one check per 1000

    previous = crm::set_interrupt_handler(&cancelling_handler);
    crm::InterruptTicker cancel_ticker(1000);
    crm_test::expect_error_kind(
        [&] {
            std::stable_sort(values.begin(), values.end(),
                             crm::ticking(cancel_ticker, [](int a, int b) { return a < b; }));
        },
        crm::ErrorKind::QueryCanceled);
    crm::set_interrupt_handler(previous);
}

TEST(Interrupts, NoHandlerMeansNoChecks) {
    const auto previous = crm::set_interrupt_handler(nullptr);
    EXPECT_NO_THROW(crm::check_interrupts());
    crm::set_interrupt_handler(previous);
}

}  // namespace
