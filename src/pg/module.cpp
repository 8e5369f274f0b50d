// The extension's shared library: magic block and load-time setup.
#include "interrupts.hpp"

#include "bridge.hpp"
#include "settings.hpp"

namespace {
int max_fit_memory_kb = 1024 * 1024;  // 1 GB
}

std::size_t crm::pg::max_fit_memory_bytes() { return static_cast<std::size_t>(max_fit_memory_kb) * 1024; }

extern "C" {
PG_MODULE_MAGIC;

void _PG_init(void);
void _PG_init(void) {
    // Long loops in the core poll this, so statement_timeout and
    // pg_cancel_backend stop them.
    crm::set_interrupt_handler(&crm::pg::check_for_interrupts_from_core);
    DefineCustomIntVariable("crm.max_fit_memory",
                            "Largest memory a model fit may hold (points and work arrays).",
                            "A fit that would need more fails with an error suggesting sample_size.",
                            &max_fit_memory_kb, 1024 * 1024, 1024, INT_MAX, PGC_USERSET, GUC_UNIT_KB, nullptr,
                            nullptr, nullptr);
    MarkGUCPrefixReserved("crm");
}
}
