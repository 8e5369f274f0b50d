#include <string>
#include <vector>

#include "errors.hpp"

#include "bridge.hpp"
#include "spi_session.hpp"

namespace crm::pg {

SpiSession::SpiSession() {
    const int rc = pg_guard([] { return SPI_connect(); });
    if (rc != SPI_OK_CONNECT) throw_error(ErrorKind::Internal, "SPI_connect failed");
    open_ = true;
}

SpiSession::~SpiSession() {
    // Only on the normal path; during unwinding the ERROR that follows aborts
    // the transaction, which releases SPI.
    if (open_ && std::uncaught_exceptions() == 0) {
        try {
            finish();
        } catch (...) {
        }
    }
}

std::uint64_t SpiSession::query(const std::string& sql, const std::vector<Oid>& types,
                                const std::vector<Datum>& values) {
    const char* text = sql.c_str();
    const int nargs = static_cast<int>(types.size());
    Oid* argtypes = const_cast<Oid*>(types.data());
    Datum* args = const_cast<Datum*>(values.data());
    const int rc = pg_guard([=] { return SPI_execute_with_args(text, nargs, argtypes, args, nullptr, true, 0); });
    if (rc != SPI_OK_SELECT) throw_error(ErrorKind::Internal, "unexpected SPI result " + std::to_string(rc));
    return SPI_processed;
}

void SpiSession::finish() {
    if (!open_) return;
    open_ = false;
    pg_guard([] { SPI_finish(); });
}

}  // namespace crm::pg
