#include <chrono>
#include <exception>
#include <string>

#include "bridge.hpp"
#include "progress.hpp"

extern "C" {
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
}

namespace crm::pg {

void report_progress_once(const std::string& what) {
    std::string text = "crm progress: " + what + " | ";
    if (debug_query_string != nullptr) text += debug_query_string;
    const char* s = text.c_str();
    pg_guard([s] {
        const uint64 query_id = pgstat_get_my_query_id();
        pgstat_report_activity(STATE_RUNNING, s);
        pgstat_report_query_id(query_id, true);
    });
}

void ProgressReport::update(const std::string& what, bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && shown_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    std::string text = "crm progress: " + what + " | ";
    if (debug_query_string != nullptr) text += debug_query_string;
    const char* s = text.c_str();
    pg_guard([s] {
        const uint64 query_id = pgstat_get_my_query_id();  // pgstat_report_activity clears it
        pgstat_report_activity(STATE_RUNNING, s);
        pgstat_report_query_id(query_id, true);
    });
    shown_ = true;
}

ProgressReport::~ProgressReport() {
    if (!shown_ || std::uncaught_exceptions() > 0) return;
    try {
        pg_guard([] {
            const uint64 query_id = pgstat_get_my_query_id();
            pgstat_report_activity(STATE_RUNNING, debug_query_string);
            pgstat_report_query_id(query_id, true);
        });
    } catch (...) {
    }
}

}  // namespace crm::pg
