#include "interrupts.hpp"

namespace crm {

namespace {
InterruptHandler current_handler = nullptr;
}

InterruptHandler set_interrupt_handler(InterruptHandler handler) noexcept {
    const InterruptHandler previous = current_handler;
    current_handler = handler;
    return previous;
}

void check_interrupts() {
    if (current_handler != nullptr) current_handler();
}

}  // namespace crm
