// Work spread over threads inside one C++ call, safely for a PostgreSQL backend.
//
// Workers only run the job; they never call anything that may call into
// PostgreSQL (check_interrupts() on a worker only looks at its group's stop
// request: interrupts.hpp, so a job may run code that checks for interrupts,
// even a nested run_jobs). An exception in one is captured and rethrown on
// the calling thread after every worker has been joined. The calling thread
// waits, checking for interrupts while it does; if it is interrupted it asks
// the workers to stop (they see it through Progress) and joins them before the
// exception leaves. No path out of run_jobs leaves a thread running.
#pragma once

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

#include "interrupts.hpp"

namespace crm {

// An InterruptTicker weighted by work: loops report how many rows they
// touched, and every kPeriod rows it checks for interrupts (on the calling
// thread only: workers pass on_caller = false, since check_interrupts calls
// into PostgreSQL) and for a stop request (workers: `cancel`, set when
// another thread failed or the caller was interrupted).
class Progress {
public:
    Progress(bool on_caller, const std::atomic<bool>* cancel) : on_caller_(on_caller), cancel_(cancel) {}
    void add(std::size_t work) {
        pending_ += work + 1;
        if (pending_ < kPeriod) return;
        pending_ = 0;
        if (on_caller_) check_interrupts();
        if (cancel_ != nullptr && cancel_->load(std::memory_order_relaxed)) throw Cancelled{};
    }

private:
    static constexpr std::size_t kPeriod = std::size_t{1} << 16;
    bool on_caller_;
    const std::atomic<bool>* cancel_;
    std::size_t pending_ = 0;
};

// Joins its threads when it goes out of scope, after asking them to stop, so
// no path out of run_jobs (an interrupt, a failed spawn) leaves one running.
class ThreadGroup {
public:
    explicit ThreadGroup(std::atomic<bool>& cancel) : cancel_(cancel) {}
    ThreadGroup(const ThreadGroup&) = delete;
    ThreadGroup& operator=(const ThreadGroup&) = delete;
    ~ThreadGroup() {
        cancel_.store(true);
        for (auto& t : threads_) t.join();
    }
    // The thread starts with every signal blocked, so the backend's handlers
    // (statement_timeout's SIGALRM, cancel, terminate, latches) only ever run
    // on the calling thread, never beside it on a worker.
    template <class F>
    void spawn(F&& f) {
        sigset_t all, previous;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &previous);
        try {
            threads_.emplace_back(std::forward<F>(f));
        } catch (...) {
            pthread_sigmask(SIG_SETMASK, &previous, nullptr);
            throw;
        }
        pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    }

private:
    std::atomic<bool>& cancel_;
    std::vector<std::thread> threads_;
};

// Runs job(worker, index, progress) for every index in [0, jobs), on
// `threads` threads (the calling one alone when 1). The lowest-numbered
// failure is rethrown here, so the error does not depend on the timing.
template <class Job>
void run_jobs(int jobs, int threads, const Job& job) {
    const int workers = std::min(threads, jobs);
    if (workers <= 1) {
        Progress progress(true, nullptr);
        for (int i = 0; i < jobs; ++i) job(0, i, progress);
        return;
    }
    std::atomic<int> next{0};
    std::atomic<bool> cancel{false};
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(jobs));
    std::mutex mutex;
    std::condition_variable finished_cv;
    int finished = 0;
    int spawned = 0;
    {
        ThreadGroup group(cancel);
        // A thread that cannot be created (a process limit) leaves its share to
        // the threads that were: they take jobs until none is left. With none
        // at all, the calling thread does every job below.
        for (int w = 0; w < workers; ++w) {
            try {
                group.spawn([&, w]() noexcept {
                    const WorkerThreadScope scope(&cancel);  // check_interrupts() here: the stop request
                    Progress progress(false, &cancel);
                    for (;;) {
                        const int i = next.fetch_add(1);
                        if (i >= jobs || cancel.load()) break;
                        try {
                            job(w, i, progress);
                        } catch (const Cancelled&) {
                            break;
                        } catch (...) {
                            errors[static_cast<std::size_t>(i)] = std::current_exception();
                            cancel.store(true);
                            break;
                        }
                    }
                    const std::lock_guard<std::mutex> lock(mutex);
                    ++finished;
                    finished_cv.notify_all();
                });
            } catch (const std::system_error&) {
                break;
            }
            ++spawned;
        }
        std::unique_lock<std::mutex> lock(mutex);
        while (finished < spawned) {
            finished_cv.wait_for(lock, std::chrono::milliseconds(10));
            lock.unlock();
            check_interrupts();  // may throw: the group stops and joins the workers
            lock.lock();
        }
    }
    if (spawned == 0) {
        Progress progress(true, nullptr);
        for (int i = 0; i < jobs; ++i) job(0, i, progress);
        return;
    }
    for (const auto& error : errors)
        if (error) std::rethrow_exception(error);
}

}  // namespace crm
