// Resolving the table and column arguments of the one-call functions, and
// building SQL from them with every identifier quoted.
#pragma once

#include <string>

#include "pg_includes.hpp"

namespace crm::pg {

struct RelationRef {
    Oid relid = InvalidOid;
    std::string display_name;  // as the user would write it
    std::string quoted_name;   // schema-qualified, quoted, safe to splice into SQL
};

struct ColumnRef {
    std::string name;
    std::string quoted_name;  // quoted identifier, safe to splice into SQL
    Oid type = InvalidOid;
    AttrNumber attnum = InvalidAttrNumber;
    std::string type_name;  // format_type_be
};

// 42P01 when the relation is gone (a regclass can name a dropped table).
RelationRef resolve_relation(Oid relid, const char* argname);

// 42703 naming the argument when the column does not exist.
ColumnRef resolve_column(const RelationRef& rel, const std::string& column, const char* argname);

// Type categories used to validate column types.
bool is_numeric_type(Oid type);  // smallint, integer, bigint, real, double precision, numeric, money
bool is_integer_type(Oid type);  // smallint, integer, bigint
bool is_temporal_type(Oid type); // date, timestamp, timestamptz

std::string type_name(Oid type);
std::string quote_literal(const std::string& value);

}  // namespace crm::pg
