// Customer profile tag rules in SQL (docs/profile.md):
//   crm._profile_rule_sql(condition text) -> text
// The rule text is parsed by the core and the SQL written from the parse tree
// (src/core/profile_rules.hpp); the PL/pgSQL profile pastes only that output.
#include "profile_rules.hpp"

#include "bridge.hpp"
#include "datum_convert.hpp"

CRM_FUNCTION(crm_profile_rule_sql) {
    const std::string rule = crm::pg::text_arg(fcinfo, 0);
    return crm::pg::text_datum(crm::compile_rule(rule, crm::profile_rule_columns()));
}
