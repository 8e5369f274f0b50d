#include "errors.hpp"

#include <new>
#include <typeinfo>

namespace crm {

const char* sqlstate_of(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::InvalidParameter: return "22023";
        case ErrorKind::OutOfRange: return "22003";
        case ErrorKind::DivisionByZero: return "22012";
        case ErrorKind::DataException: return "22000";
        case ErrorKind::NullValueNotAllowed: return "22004";
        case ErrorKind::InvalidText: return "22P02";
        case ErrorKind::InvalidBinary: return "22P03";
        case ErrorKind::UndefinedTable: return "42P01";
        case ErrorKind::UndefinedColumn: return "42703";
        case ErrorKind::DatatypeMismatch: return "42804";
        case ErrorKind::SyntaxError: return "42601";
        case ErrorKind::ProgramLimitExceeded: return "54000";
        case ErrorKind::OutOfMemory: return "53200";
        case ErrorKind::QueryCanceled: return "57014";
        case ErrorKind::Internal: return "XX000";
    }
    return "XX000";
}

void throw_invalid(const std::string& message, const std::string& hint) {
    throw Error(ErrorKind::InvalidParameter, message, hint);
}

void throw_error(ErrorKind kind, const std::string& message, const std::string& hint) {
    throw Error(kind, message, hint);
}

ErrorReport describe_exception(std::exception_ptr error) {
    try {
        std::rethrow_exception(error);
    } catch (const Error& e) {
        return {sqlstate_of(e.kind()), e.what(), e.hint()};
    } catch (const std::bad_alloc&) {
        return {sqlstate_of(ErrorKind::OutOfMemory), "out of memory in crm_analytics",
                "Reduce the input (filter or sample it) or raise the memory available."};
    } catch (const std::length_error& e) {
        return {sqlstate_of(ErrorKind::ProgramLimitExceeded), e.what(), {}};
    } catch (const std::invalid_argument& e) {
        return {sqlstate_of(ErrorKind::InvalidParameter), e.what(), {}};
    } catch (const std::domain_error& e) {
        return {sqlstate_of(ErrorKind::InvalidParameter), e.what(), {}};
    } catch (const std::out_of_range& e) {
        return {sqlstate_of(ErrorKind::OutOfRange), e.what(), {}};
    } catch (const std::overflow_error& e) {
        return {sqlstate_of(ErrorKind::OutOfRange), e.what(), {}};
    } catch (const std::underflow_error& e) {
        return {sqlstate_of(ErrorKind::OutOfRange), e.what(), {}};
    } catch (const std::range_error& e) {
        return {sqlstate_of(ErrorKind::OutOfRange), e.what(), {}};
    } catch (const std::exception& e) {
        return {sqlstate_of(ErrorKind::Internal), std::string("internal error in crm_analytics: ") + e.what(),
                {}};
    } catch (...) {
        return {sqlstate_of(ErrorKind::Internal), "internal error in crm_analytics: unknown exception", {}};
    }
}

}  // namespace crm
