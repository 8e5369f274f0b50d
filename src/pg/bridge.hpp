// The bridge between C++ and PostgreSQL error handling.
//
// Two rules keep a backend alive:
//  * No C++ exception reaches PostgreSQL: run_entry() catches everything, maps
//    it to a SQLSTATE (crm::describe_exception), leaves every C++ frame and only
//    then raises the ERROR.
//  * No PostgreSQL ERROR (a longjmp) crosses live C++ objects: a call into
//    PostgreSQL made from C++ runs inside pg_guard(), which catches the ERROR
//    with PG_TRY, copies it, and throws it on as a PgError; run_entry re-raises
//    it with its original SQLSTATE.
// Code inside a pg_guard lambda calls only PostgreSQL (C) functions: it must
// neither throw nor create C++ objects with destructors.
#pragma once

#include <exception>
#include <type_traits>

#include "pg_includes.hpp"

namespace crm::pg {

// A PostgreSQL error in flight through C++ frames. Owns no C++ resources: the
// ErrorData lives in the memory context that was current at the call.
class PgError : public std::exception {
public:
    explicit PgError(ErrorData* data) : data_(data) {}
    ErrorData* data() const noexcept { return data_; }
    const char* what() const noexcept override;

private:
    ErrorData* data_;
};

// Raises a PostgreSQL ERROR from plain C strings; never returns.
[[noreturn]] void raise_error(const char* sqlstate, const char* message, const char* hint);
// Re-raises a caught PostgreSQL error; never returns.
[[noreturn]] void reraise(ErrorData* data);

// Turns the exception in flight into plain buffers; never throws.
struct FlatError {
    char sqlstate[6];
    char message[1024];
    char hint[512];
};
void flatten_current_exception(FlatError& out) noexcept;

template <typename Body>
Datum run_entry(Body&& body) {
    ErrorData* pg_error = nullptr;
    bool failed = false;
    FlatError flat;
    Datum result = static_cast<Datum>(0);
    try {
        result = body();
    } catch (const PgError& e) {
        pg_error = e.data();
    } catch (...) {
        failed = true;
        flatten_current_exception(flat);
    }
    // Every C++ frame of the body is gone here: now PostgreSQL may longjmp.
    if (pg_error != nullptr) reraise(pg_error);
    if (failed) raise_error(flat.sqlstate, flat.message, flat.hint);
    return result;
}

// -Wclobbered: `result` is written inside PG_TRY and read only when no
// longjmp happened (after one, the PgError is thrown instead), so its value
// after a longjmp never matters.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wclobbered"
template <typename F>
auto pg_guard(F&& call) -> decltype(call()) {
    using Result = decltype(call());
    MemoryContext caller_context = CurrentMemoryContext;
    ErrorData* volatile caught = nullptr;
    if constexpr (std::is_void_v<Result>) {
        PG_TRY();
        { call(); }
        PG_CATCH();
        {
            MemoryContextSwitchTo(caller_context);
            caught = CopyErrorData();
            FlushErrorState();
        }
        PG_END_TRY();
        if (caught != nullptr) throw PgError(caught);
    } else {
        Result result{};
        PG_TRY();
        { result = call(); }
        PG_CATCH();
        {
            MemoryContextSwitchTo(caller_context);
            caught = CopyErrorData();
            FlushErrorState();
        }
        PG_END_TRY();
        if (caught != nullptr) throw PgError(caught);
        return result;
    }
}
#pragma GCC diagnostic pop

// The core's interrupt handler: raises a pending cancel or statement_timeout
// as a PgError so the core unwinds and the query stops.
void check_for_interrupts_from_core();

}  // namespace crm::pg
