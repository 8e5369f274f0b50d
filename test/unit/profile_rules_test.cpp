// The tag-rule compiler of the customer profile: what it writes, and that
// hostile rule text never reaches the SQL.
#include <gtest/gtest.h>

#include <string>

#include "expect_error.hpp"
#include "profile_rules.hpp"

namespace {

using crm::ErrorKind;
using crm_test::expect_error_kind;

std::string compile(const std::string& rule) { return crm::compile_rule(rule, crm::profile_rule_columns()); }

TEST(ProfileRules, CompilesComparisonsFromTheTree) {
    EXPECT_EQ(compile("value_tier = 'high' and p_alive >= 0.5"),
              "((\"value_tier\" = E'high') AND (\"p_alive\" >= 0.5))");
    EXPECT_EQ(compile("F_SCORE>=4 OR NOT (recency_days < 30)"),
              "((\"f_score\" >= 4) OR (NOT (\"recency_days\" < 30)))");
    EXPECT_EQ(compile("segment IN ('At Risk', 'Can''t Lose Them')"),
              "(\"segment\" IN (E'At Risk', E'Can''t Lose Them'))");
    EXPECT_EQ(compile("churn_risk not in ('low')"), "(\"churn_risk\" NOT IN (E'low'))");
    EXPECT_EQ(compile("monetary between 100 and 2.5e3"), "(\"monetary\" BETWEEN 100 AND 2500)");
    EXPECT_EQ(compile("clv is not null and cluster_name is null"),
              "((\"clv\" IS NOT NULL) AND (\"cluster_name\" IS NULL))");
    EXPECT_EQ(compile("expected_purchases != -1.25"), "(\"expected_purchases\" <> -1.25)");
    EXPECT_EQ(compile("r_score <> +3"), "(\"r_score\" <> 3)");
    // AND binds tighter than OR.
    EXPECT_EQ(compile("r_score = 1 or f_score = 2 and m_score = 3"),
              "((\"r_score\" = 1) OR ((\"f_score\" = 2) AND (\"m_score\" = 3)))");
    // Numbers are re-printed from their value, not copied.
    EXPECT_EQ(compile("clv > 000012.50"), "(\"clv\" > 12.5)");
}

TEST(ProfileRules, StringsAreRequotedWhateverTheyHold) {
    EXPECT_EQ(compile("segment = 'a\\' or segment = 'x'"), "((\"segment\" = E'a\\\\') OR (\"segment\" = E'x'))");
    // A quote inside the value stays inside the literal.
    EXPECT_EQ(compile("segment = 'x''); DROP TABLE t; --'"), "(\"segment\" = E'x''); DROP TABLE t; --')");
}

TEST(ProfileRules, HostileRulesAreRejected) {
    const char* syntax_errors[] = {
        "segment = 'x'; DROP TABLE crm.profile_tag_rules",
        "clv > 0 -- comment",
        "clv > (SELECT 1)",
        "clv > 1::int",
        "\"clv\" > 1",
        "clv > 1 /* */",
        "segment = $$x$$",
        "clv > 1 or",
        "(clv > 1",
        "clv",
        "clv >",
        "clv > 1)",
        "segment = 'unterminated",
        "clv not > 1",
        "clv > - 'x'",
        "clv => 1",
        "frequency == 1",
        "clv >== 1",
        "segment = 'x' ++ 1",
    };
    for (const char* rule : syntax_errors) {
        SCOPED_TRACE(rule);
        expect_error_kind([&] { compile(rule); }, ErrorKind::SyntaxError);
    }
    // Function calls are names the language does not know.
    const std::string m = expect_error_kind([] { compile("pg_sleep(10) is null"); }, ErrorKind::UndefinedColumn);
    EXPECT_NE(m.find("unknown column \"pg_sleep\""), std::string::npos) << m;
    EXPECT_NE(m.find("recency_days"), std::string::npos) << m;  // the hint lists the columns
    expect_error_kind([] { compile("current_user = 'postgres'"); }, ErrorKind::UndefinedColumn);
    expect_error_kind([] { compile("clv > 1 and customer_key = 3"); }, ErrorKind::UndefinedColumn);
}

TEST(ProfileRules, TypesLimitsAndEmptyRules) {
    expect_error_kind([] { compile("segment = 3"); }, ErrorKind::DatatypeMismatch);
    expect_error_kind([] { compile("clv = 'high'"); }, ErrorKind::DatatypeMismatch);
    expect_error_kind([] { compile("clv in (1, 'x')"); }, ErrorKind::DatatypeMismatch);
    expect_error_kind([] { compile("clv > 1e999"); }, ErrorKind::OutOfRange);
    expect_error_kind([] { compile(""); }, ErrorKind::InvalidParameter);
    expect_error_kind([] { compile("   "); }, ErrorKind::InvalidParameter);
    expect_error_kind([] { compile(std::string(2001, ' ') + "clv > 1"); }, ErrorKind::ProgramLimitExceeded);
    std::string deep = "clv > 1";
    for (int i = 0; i < 40; ++i) deep = "(" + deep + ")";
    expect_error_kind([&] { compile(deep); }, ErrorKind::ProgramLimitExceeded);
    std::string nots = "clv > 1";
    for (int i = 0; i < 40; ++i) nots = "not " + nots;
    expect_error_kind([&] { compile(nots); }, ErrorKind::ProgramLimitExceeded);
    std::string many = "clv in (0";
    for (int i = 1; i <= 100; ++i) many += ", " + std::to_string(i);
    expect_error_kind([&] { compile(many + ")"); }, ErrorKind::ProgramLimitExceeded);
    // A non-ASCII character is shown as its bytes, never as a lone byte of a multi-byte character.
    const std::string bad = expect_error_kind([] { compile("\xC3\xA9 = 1"); }, ErrorKind::SyntaxError);
    EXPECT_NE(bad.find("unexpected character 0xC3 at character 1"), std::string::npos) << bad;
    // 30 levels are fine.
    std::string ok = "clv > 1";
    for (int i = 0; i < 30; ++i) ok = "(" + ok + ")";
    EXPECT_EQ(compile(ok), "(\"clv\" > 1)");
}

}  // namespace
