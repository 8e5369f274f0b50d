// Error kinds of the pure core and the SQLSTATE each maps to.
//
// The core throws crm::Error (or standard exceptions); the PostgreSQL bridge
// turns whatever arrives into an ERROR with the SQLSTATE chosen here. The
// mapping lives in the core so it can be unit-tested without a server.
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace crm {

enum class ErrorKind {
    InvalidParameter,      // 22023 invalid_parameter_value
    OutOfRange,            // 22003 numeric_value_out_of_range
    DivisionByZero,        // 22012 division_by_zero
    DataException,         // 22000 data_exception
    NullValueNotAllowed,   // 22004 null_value_not_allowed
    InvalidText,           // 22P02 invalid_text_representation
    InvalidBinary,         // 22P03 invalid_binary_representation
    UndefinedTable,        // 42P01 undefined_table
    UndefinedColumn,       // 42703 undefined_column
    DatatypeMismatch,      // 42804 datatype_mismatch
    SyntaxError,           // 42601 syntax_error
    ProgramLimitExceeded,  // 54000 program_limit_exceeded
    OutOfMemory,           // 53200 out_of_memory
    QueryCanceled,         // 57014 query_canceled
    Internal,              // XX000 internal_error
};

// Five-character SQLSTATE of an error kind.
const char* sqlstate_of(ErrorKind kind);

class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, const std::string& message, std::string hint = {})
        : std::runtime_error(message), kind_(kind), hint_(std::move(hint)) {}
    ErrorKind kind() const noexcept { return kind_; }
    const std::string& hint() const noexcept { return hint_; }

private:
    ErrorKind kind_;
    std::string hint_;
};

// Shorthands for the common kinds.
[[noreturn]] void throw_invalid(const std::string& message, const std::string& hint = {});
[[noreturn]] void throw_error(ErrorKind kind, const std::string& message, const std::string& hint = {});

// What the bridge reports for an exception: SQLSTATE, message and hint.
struct ErrorReport {
    std::string sqlstate;
    std::string message;
    std::string hint;
};

// Classifies any exception (crm::Error, std::bad_alloc, std::invalid_argument,
// the other standard exceptions, or something unknown). Never throws for a
// non-null pointer except std::bad_alloc while building the strings.
ErrorReport describe_exception(std::exception_ptr error);

}  // namespace crm
