// Long core loops poll the interrupt handler and stop when it throws.
#include <gtest/gtest.h>

#include <vector>

#include "errors.hpp"
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
    try {
        (void)sample.score_all_quantile(5);
        crm::set_interrupt_handler(previous);
        FAIL() << "scoring did not stop";
    } catch (const crm::Error& e) {
        crm::set_interrupt_handler(previous);
        EXPECT_EQ(e.kind(), crm::ErrorKind::QueryCanceled);
    }
}

TEST(Interrupts, NoHandlerMeansNoChecks) {
    const auto previous = crm::set_interrupt_handler(nullptr);
    EXPECT_NO_THROW(crm::check_interrupts());
    crm::set_interrupt_handler(previous);
}

}  // namespace
