#include <cstring>
#include <exception>

#include "errors.hpp"

#include "bridge.hpp"

namespace crm::pg {

const char* PgError::what() const noexcept {
    return (data_ != nullptr && data_->message != nullptr) ? data_->message : "PostgreSQL error";
}

namespace {
void copy_truncated(char* dst, std::size_t size, const char* src) noexcept {
    std::size_t n = std::strlen(src);
    if (n >= size) n = size - 1;
    std::memcpy(dst, src, n);
    dst[n] = '\0';
}
}  // namespace

void flatten_current_exception(FlatError& out) noexcept {
    copy_truncated(out.sqlstate, sizeof out.sqlstate, "XX000");
    copy_truncated(out.message, sizeof out.message, "internal error in crm_analytics");
    out.hint[0] = '\0';
    try {
        const crm::ErrorReport report = crm::describe_exception(std::current_exception());
        copy_truncated(out.sqlstate, sizeof out.sqlstate, report.sqlstate.c_str());
        copy_truncated(out.message, sizeof out.message, report.message.c_str());
        copy_truncated(out.hint, sizeof out.hint, report.hint.c_str());
    } catch (...) {
        // Building the report itself failed (out of memory): report that.
        copy_truncated(out.sqlstate, sizeof out.sqlstate, "53200");
        copy_truncated(out.message, sizeof out.message, "out of memory in crm_analytics");
    }
}

void raise_error(const char* sqlstate, const char* message, const char* hint) {
    const int code = MAKE_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2], sqlstate[3], sqlstate[4]);
    if (hint != nullptr && hint[0] != '\0')
        ereport(ERROR, (errcode(code), errmsg("%s", message), errhint("%s", hint)));
    ereport(ERROR, (errcode(code), errmsg("%s", message)));
    pg_unreachable();
}

void reraise(ErrorData* data) {
    ReThrowError(data);
}

void check_for_interrupts_from_core() {
    if (INTERRUPTS_PENDING_CONDITION()) pg_guard([] { CHECK_FOR_INTERRUPTS(); });
}

}  // namespace crm::pg
