#include "interrupts.hpp"

#include <thread>

namespace crm {

namespace {
InterruptHandler current_handler = nullptr;
std::thread::id handler_thread;
// The stop request of the run_jobs group the calling thread works for; null
// on threads that are not workers.
thread_local const std::atomic<bool>* worker_cancel = nullptr;
}  // namespace

InterruptHandler set_interrupt_handler(InterruptHandler handler) noexcept {
    const InterruptHandler previous = current_handler;
    current_handler = handler;
    handler_thread = std::this_thread::get_id();
    return previous;
}

void check_interrupts() {
    if (worker_cancel != nullptr) {
        if (worker_cancel->load(std::memory_order_relaxed)) throw Cancelled{};
        return;
    }
    if (current_handler != nullptr && std::this_thread::get_id() == handler_thread) current_handler();
}

WorkerThreadScope::WorkerThreadScope(const std::atomic<bool>* cancel) noexcept : previous_(worker_cancel) {
    worker_cancel = cancel;
}

WorkerThreadScope::~WorkerThreadScope() { worker_cancel = previous_; }

}  // namespace crm
