// Checking a core error's kind, not only its type: the kind decides the
// SQLSTATE a user sees, so a test that only expects "some crm::Error" would
// let a 22023 silently become an XX000.
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <string>

#include "errors.hpp"

namespace crm_test {

// Runs f, which must throw crm::Error of `kind`. Returns "message | hint"
// (empty when nothing or something else was thrown, which fails the test).
template <class F>
std::string expect_error_kind(F&& f, crm::ErrorKind kind) {
    try {
        f();
    } catch (const crm::Error& e) {
        EXPECT_EQ(e.kind(), kind) << "SQLSTATE " << crm::sqlstate_of(e.kind()) << ", wanted "
                                  << crm::sqlstate_of(kind) << ": " << e.what();
        return std::string(e.what()) + " | " + e.hint();
    } catch (const std::exception& e) {
        ADD_FAILURE() << "not a crm::Error: " << e.what();
        return {};
    }
    ADD_FAILURE() << "no crm::Error thrown";
    return {};
}

}  // namespace crm_test

// EXPECT_THROW(statement, crm::Error) that also checks the kind.
#define EXPECT_ERROR_KIND(statement, kind)                             \
    do {                                                               \
        SCOPED_TRACE(#statement);                                      \
        ::crm_test::expect_error_kind([&] { statement; }, kind);      \
    } while (0)
