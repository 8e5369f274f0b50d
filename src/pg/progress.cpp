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

namespace {
// Puts text in pg_stat_activity.query, keeping the query id that
// pgstat_report_activity would otherwise clear.
void show(const char* text) {
    pg_guard([text] {
        const uint64 query_id = pgstat_get_my_query_id();
        pgstat_report_activity(STATE_RUNNING, text);
        pgstat_report_query_id(query_id, true);
    });
}

std::string progress_text(const std::string& what) {
    std::string text = "crm progress: " + what + " | ";
    if (debug_query_string != nullptr) text += debug_query_string;
    return text;
}
}  // namespace

void report_progress_once(const std::string& what) { show(progress_text(what).c_str()); }

void ProgressReport::update(const std::string& what, bool force) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && shown_ && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    show(progress_text(what).c_str());
    shown_ = true;
}

ProgressReport::~ProgressReport() {
    if (!shown_ || std::uncaught_exceptions() > 0) return;
    try {
        show(debug_query_string);
    } catch (...) {
    }
}

}  // namespace crm::pg
