// Cooperative cancellation for long loops in the core.
//
// The core does not know PostgreSQL: the adapter installs a handler that checks
// for a pending cancel or statement_timeout and throws a C++ exception out of
// the loop when there is one. Loops call check_interrupts() every so often.
#pragma once

#include <atomic>

namespace crm {

using InterruptHandler = void (*)();

// Thrown on a worker thread (parallel_jobs.hpp) when its group was asked to stop.
struct Cancelled {};

// Installs the handler (nullptr: no checks) for the calling thread, the
// backend's own. Returns the previous one.
InterruptHandler set_interrupt_handler(InterruptHandler handler) noexcept;

// On the thread that installed the handler: calls it, which may throw. On a
// worker thread of run_jobs (parallel_jobs.hpp): never calls it (it would call
// into PostgreSQL), but throws Cancelled once the worker's group is asked to
// stop, so code shared by both kinds of thread stops promptly on either.
void check_interrupts();

// Marks the calling thread as a worker whose stop request is `cancel` while
// the object lives (run_jobs does this for its threads).
class WorkerThreadScope {
public:
    explicit WorkerThreadScope(const std::atomic<bool>* cancel) noexcept;
    ~WorkerThreadScope();
    WorkerThreadScope(const WorkerThreadScope&) = delete;
    WorkerThreadScope& operator=(const WorkerThreadScope&) = delete;

private:
    const std::atomic<bool>* previous_;
};

// Calls check_interrupts() once every `period` ticks; cheap enough for inner loops.
class InterruptTicker {
public:
    explicit InterruptTicker(unsigned period = 4096) : period_(period ? period : 1) {}
    void tick() {
        if (++count_ >= period_) {
            count_ = 0;
            check_interrupts();
        }
    }

private:
    unsigned period_;
    unsigned count_ = 0;
};

// A comparator that ticks `ticker` on every comparison, so that a sort over a
// whole column (n log n comparisons) can be cancelled while it runs. The
// ticker is shared by reference: the sort's copies of the comparator all
// count together. Sorting with it gives exactly what sorting with `less` does.
template <class Less>
auto ticking(InterruptTicker& ticker, Less less) {
    return [&ticker, less](const auto& a, const auto& b) {
        ticker.tick();
        return less(a, b);
    };
}

}  // namespace crm
