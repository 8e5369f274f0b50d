// The extension's shared library: magic block and load-time setup.
#include "interrupts.hpp"

#include "bridge.hpp"

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
void _PG_init(void) {
    // Long loops in the core poll this, so statement_timeout and
    // pg_cancel_backend stop them.
    crm::set_interrupt_handler(&crm::pg::check_for_interrupts_from_core);
}
}
