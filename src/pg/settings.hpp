// Extension settings (GUCs), defined in module.cpp.
#pragma once

#include <cstddef>

namespace crm::pg {

// crm.max_fit_memory: the most memory a model fit may hold, in bytes.
std::size_t max_fit_memory_bytes();
// crm.cf_cache_memory: the most memory a backend's cached rating matrices may
// hold together, in bytes.
std::size_t cf_cache_memory_bytes();

// crm.direct_scan: whether functions that total an orders table per customer
// may read a plain table directly instead of running a GROUP BY query.
bool direct_scan_enabled();

}  // namespace crm::pg
