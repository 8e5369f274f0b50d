// The bridge's exception -> SQLSTATE mapping (crm::describe_exception).
#include <gtest/gtest.h>

#include <new>
#include <stdexcept>

#include "errors.hpp"

namespace {

crm::ErrorReport report_of(std::exception_ptr e) { return crm::describe_exception(e); }

template <typename E, typename... Args>
crm::ErrorReport report(Args&&... args) {
    return report_of(std::make_exception_ptr(E(std::forward<Args>(args)...)));
}

TEST(ErrorMapping, EveryKindHasItsSqlstate) {
    const std::pair<crm::ErrorKind, const char*> expected[] = {
        {crm::ErrorKind::InvalidParameter, "22023"}, {crm::ErrorKind::OutOfRange, "22003"},
        {crm::ErrorKind::DivisionByZero, "22012"},   {crm::ErrorKind::DataException, "22000"},
        {crm::ErrorKind::NullValueNotAllowed, "22004"}, {crm::ErrorKind::InvalidText, "22P02"},
        {crm::ErrorKind::InvalidBinary, "22P03"},    {crm::ErrorKind::UndefinedTable, "42P01"},
        {crm::ErrorKind::UndefinedColumn, "42703"},  {crm::ErrorKind::DatatypeMismatch, "42804"},
        {crm::ErrorKind::SyntaxError, "42601"},
        {crm::ErrorKind::ProgramLimitExceeded, "54000"}, {crm::ErrorKind::OutOfMemory, "53200"},
        {crm::ErrorKind::QueryCanceled, "57014"},    {crm::ErrorKind::Internal, "XX000"},
    };
    for (const auto& [kind, code] : expected) {
        const auto r = report<crm::Error>(kind, "message", "hint");
        EXPECT_EQ(r.sqlstate, code);
        EXPECT_EQ(r.message, "message");
        EXPECT_EQ(r.hint, "hint");
    }
}

TEST(ErrorMapping, StandardExceptions) {
    EXPECT_EQ(report<std::bad_alloc>().sqlstate, "53200");
    EXPECT_EQ(report<std::invalid_argument>("bad k").sqlstate, "22023");
    EXPECT_EQ(report<std::invalid_argument>("bad k").message, "bad k");
    EXPECT_EQ(report<std::domain_error>("x").sqlstate, "22023");
    EXPECT_EQ(report<std::out_of_range>("x").sqlstate, "22003");
    EXPECT_EQ(report<std::overflow_error>("x").sqlstate, "22003");
    EXPECT_EQ(report<std::length_error>("x").sqlstate, "54000");
    const auto internal = report<std::logic_error>("oops");
    EXPECT_EQ(internal.sqlstate, "XX000");
    EXPECT_NE(internal.message.find("oops"), std::string::npos);
}

TEST(ErrorMapping, UnknownExceptionIsInternal) {
    const auto r = report_of(std::make_exception_ptr(42));
    EXPECT_EQ(r.sqlstate, "XX000");
    EXPECT_NE(r.message.find("unknown"), std::string::npos);
}

TEST(ErrorMapping, ThrowHelpers) {
    try {
        crm::throw_invalid("k must be at least 1", "try k = 5");
        FAIL();
    } catch (const crm::Error& e) {
        EXPECT_EQ(e.kind(), crm::ErrorKind::InvalidParameter);
        EXPECT_STREQ(e.what(), "k must be at least 1");
        EXPECT_EQ(e.hint(), "try k = 5");
    }
}

}  // namespace
