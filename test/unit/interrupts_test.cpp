// Long core loops poll the interrupt handler and stop when it throws.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <numeric>
#include <vector>

#include "errors.hpp"
#include "expect_error.hpp"
#include "interrupts.hpp"
#include "parallel_jobs.hpp"
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

namespace {
std::thread::id installing_thread;
std::atomic<bool> handler_off_its_thread{false};
void note_thread() {
    if (std::this_thread::get_id() != installing_thread) handler_off_its_thread = true;
}
}  // namespace

// On a worker thread of run_jobs, check_interrupts() never calls the handler
// (the backend's, which would call into PostgreSQL), and throws Cancelled once
// the group is asked to stop: here, after the other job failed.
TEST(Interrupts, WorkersNeverCallTheHandlerAndStopWhenAsked) {
    installing_thread = std::this_thread::get_id();
    handler_off_its_thread = false;
    const crm::InterruptHandler previous = crm::set_interrupt_handler(&note_thread);
    std::atomic<bool> checking{false}, stopped_by_cancel{false};
    std::atomic<int> checks_on_worker{0};
    EXPECT_THROW(crm::run_jobs(2, 2, [&](int, int job, crm::Progress&) {
                     if (job == 0) {  // fails once the other job is checking
                         while (!checking.load()) std::this_thread::yield();
                         throw std::runtime_error("job 0 failed");
                     }
                     try {
                         for (;;) {  // until asked to stop
                             crm::check_interrupts();
                             ++checks_on_worker;
                             checking = true;
                             std::this_thread::sleep_for(std::chrono::microseconds(200));
                         }
                     } catch (const crm::Cancelled&) {
                         stopped_by_cancel = true;
                         throw;
                     }
                 }),
                 std::runtime_error);
    EXPECT_TRUE(stopped_by_cancel.load());
    EXPECT_GT(checks_on_worker.load(), 0);
    EXPECT_FALSE(handler_off_its_thread.load());
    crm::set_interrupt_handler(previous);
}
