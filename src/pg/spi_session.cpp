#include <cstring>
#include <exception>
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
    guc_nest_level_ = pg_guard([] {
        const int level = NewGUCNestLevel();
        (void)set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
                                true, 0, false);
        return level;
    });
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

namespace {

// A DestReceiver that forwards each row to a callback.
struct RowForwarder {
    DestReceiver pub;  // first member: PostgreSQL sees a DestReceiver*
    SpiSession::RowCallback on_row;
    void* arg;
    std::uint64_t rows;
};

bool forward_row(TupleTableSlot* slot, DestReceiver* self) {
    auto* forwarder = reinterpret_cast<RowForwarder*>(self);
    slot_getallattrs(slot);
    forwarder->on_row(slot, forwarder->arg);
    forwarder->rows++;
    return true;
}
void receiver_startup(DestReceiver*, int, TupleDesc) {}
void receiver_noop(DestReceiver*) {}

}  // namespace

std::uint64_t SpiSession::stream(const std::string& sql, const std::vector<Oid>& types,
                                 const std::vector<Datum>& values, RowCallback on_row, void* arg) {
    const char* text = sql.c_str();
    const int nargs = static_cast<int>(types.size());
    const Oid* argtypes = types.data();
    const Datum* args = values.data();
    struct Outcome {
        int rc;
        std::uint64_t rows;
    };
    const Outcome outcome = pg_guard([=] {
        ParamListInfo params = makeParamList(nargs);
        for (int i = 0; i < nargs; ++i) {
            params->params[i].value = args[i];
            params->params[i].isnull = false;
            params->params[i].pflags = PARAM_FLAG_CONST;
            params->params[i].ptype = argtypes[i];
        }
        auto* forwarder = static_cast<RowForwarder*>(palloc0(sizeof(RowForwarder)));
        forwarder->pub.receiveSlot = forward_row;
        forwarder->pub.rStartup = receiver_startup;
        forwarder->pub.rShutdown = receiver_noop;
        forwarder->pub.rDestroy = receiver_noop;
        forwarder->pub.mydest = DestNone;
        forwarder->on_row = on_row;
        forwarder->arg = arg;
        SPIExecuteOptions options;
        memset(&options, 0, sizeof options);
        options.params = params;
        options.read_only = true;
        options.dest = &forwarder->pub;
        const int rc = SPI_execute_extended(text, &options);
        return Outcome{rc, forwarder->rows};
    });
    // SPI reports a SELECT whose rows go to a receiver of kind DestNone as
    // SPI_OK_UTILITY; the query here is always our own SELECT.
    if (outcome.rc != SPI_OK_SELECT && outcome.rc != SPI_OK_UTILITY)
        throw_error(ErrorKind::Internal, "unexpected SPI result " + std::to_string(outcome.rc));
    return outcome.rows;
}

void SpiSession::finish() {
    if (!open_) return;
    open_ = false;
    const int level = guc_nest_level_;
    pg_guard([level] {
        AtEOXact_GUC(true, level);  // restores the caller's search_path
        SPI_finish();
    });
}

}  // namespace crm::pg
