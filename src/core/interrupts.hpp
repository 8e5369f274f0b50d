// Cooperative cancellation for long loops in the core.
//
// The core does not know PostgreSQL: the adapter installs a handler that checks
// for a pending cancel or statement_timeout and throws a C++ exception out of
// the loop when there is one. Loops call check_interrupts() every so often.
#pragma once

namespace crm {

using InterruptHandler = void (*)();

// Installs the handler (nullptr: no checks). Returns the previous one.
InterruptHandler set_interrupt_handler(InterruptHandler handler) noexcept;

// Calls the installed handler, which may throw.
void check_interrupts();

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

}  // namespace crm
