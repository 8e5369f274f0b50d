// Tag rules of the customer profile: a small, closed expression language over
// the profile's named columns, compiled to a SQL boolean expression.
//
// Users store rules as text in crm.profile_tag_rules, and a superuser's
// profile call evaluates them, so a rule must never be able to run anything
// but comparisons of profile columns with constants. The compiler therefore
// parses the text into a tree and writes the SQL from the tree alone: column
// names come from the fixed list below (double-quoted), numbers are re-printed
// from the parsed double, strings are re-quoted as E'' literals. Nothing of the
// rule text reaches the SQL verbatim, so there are no function calls,
// subqueries, casts, comments or statement separators to smuggle in.
//
// Grammar (keywords case-insensitive):
//   rule       := or
//   or         := and { OR and }
//   and        := not { AND not }
//   not        := NOT not | primary
//   primary    := '(' or ')' | column predicate
//   predicate  := op literal
//               | [NOT] IN '(' literal { ',' literal } ')'
//               | [NOT] BETWEEN literal AND literal
//               | IS [NOT] NULL
//   op         := = | <> | != | < | <= | > | >=
//   literal    := number (optionally signed) | 'string' ('' for a quote)
// A number column compares with numbers, a text column with strings
// (42804 otherwise). Limits: 2,000 characters, nesting depth 32, 100 IN items.
#pragma once

#include <string>
#include <vector>

namespace crm {

enum class RuleColumnType { Number, Text };

struct RuleColumn {
    std::string name;
    RuleColumnType type;
};

// The columns of crm.customer_profile that rules may use, in profile order.
const std::vector<RuleColumn>& profile_rule_columns();

// The rule as a parenthesised SQL boolean expression over the columns, e.g.
// `value_tier = 'high' and p_alive >= 0.5` gives
// (("value_tier" = E'high') AND ("p_alive" >= 0.5)).
// Errors: 42601 for syntax (with the position), 42703 for an unknown column
// (the hint lists the known ones), 42804 for a type mismatch, 22003 for a
// number that is not finite, 54000 beyond the limits, 22023 for an empty rule.
std::string compile_rule(const std::string& rule, const std::vector<RuleColumn>& columns);

}  // namespace crm
