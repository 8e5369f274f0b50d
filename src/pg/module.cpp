// The extension's shared library: magic block and load-time setup.
#include "interrupts.hpp"

#include "bridge.hpp"
#include "settings.hpp"

namespace {
int max_fit_memory_kb = 1024 * 1024;  // 1 GB
int cf_cache_memory_kb = 256 * 1024;  // 256 MB
bool direct_scan = true;
}

std::size_t crm::pg::max_fit_memory_bytes() { return static_cast<std::size_t>(max_fit_memory_kb) * 1024; }
std::size_t crm::pg::cf_cache_memory_bytes() { return static_cast<std::size_t>(cf_cache_memory_kb) * 1024; }
bool crm::pg::direct_scan_enabled() { return direct_scan; }

extern "C" {
PG_MODULE_MAGIC;

PGDLLEXPORT void _PG_init(void);
PGDLLEXPORT void _PG_init(void) {
    // Long loops in the core poll this, so statement_timeout and
    // pg_cancel_backend stop them.
    crm::set_interrupt_handler(&crm::pg::check_for_interrupts_from_core);
    DefineCustomIntVariable("crm.max_fit_memory",
                            "Largest memory a model fit may hold (points and work arrays).",
                            "A fit that would need more fails with an error suggesting sample_size.",
                            &max_fit_memory_kb, 1024 * 1024, 1024, INT_MAX, PGC_USERSET, GUC_UNIT_KB, nullptr,
                            nullptr, nullptr);
    DefineCustomIntVariable("crm.cf_cache_memory",
                            "Largest memory the rating matrices cached by one backend may hold together.",
                            "Least recently used matrices are dropped first; a larger matrix is read on every call.",
                            &cf_cache_memory_kb, 256 * 1024, 0, INT_MAX, PGC_USERSET, GUC_UNIT_KB, nullptr,
                            nullptr, nullptr);
    DefineCustomBoolVariable("crm.direct_scan",
                             "Lets functions that total an orders table per customer read a plain table directly.",
                             "Used only where the result is the same as the GROUP BY query's (a plain table, no "
                             "row-level security, SELECT granted); off always runs the query.",
                             &direct_scan, true, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    MarkGUCPrefixReserved("crm");
}
}
