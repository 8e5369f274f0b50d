// Extension settings (GUCs), defined in module.cpp.
#pragma once

#include <cstddef>

namespace crm::pg {

// crm.max_fit_memory: the most memory a model fit may hold, in bytes.
std::size_t max_fit_memory_bytes();

}  // namespace crm::pg
