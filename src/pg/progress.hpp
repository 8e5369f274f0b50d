// Progress of long calls, visible from another session.
//
// While a fit or a batch runs, the backend's query text in pg_stat_activity
// starts with "crm progress: <what> | " followed by the original statement, so
// a DBA can watch it:
//   SELECT pid, now() - query_start, query FROM pg_stat_activity WHERE query LIKE 'crm progress:%';
// Updates are throttled (at most every 100 ms); the original text is restored
// when the ProgressReport goes out of scope on the normal path (an ERROR
// replaces it anyway at the next statement).
#pragma once

#include <chrono>
#include <string>

namespace crm::pg {

// One update without restoring (for aggregate transition functions, whose
// final function's ProgressReport restores the text at the end).
void report_progress_once(const std::string& what);

class ProgressReport {
public:
    ProgressReport() = default;
    ~ProgressReport();
    ProgressReport(const ProgressReport&) = delete;
    ProgressReport& operator=(const ProgressReport&) = delete;

    // Shows `what`; force skips the throttle (first and last updates).
    void update(const std::string& what, bool force = false);

private:
    bool shown_ = false;
    std::chrono::steady_clock::time_point last_{};
};

}  // namespace crm::pg
