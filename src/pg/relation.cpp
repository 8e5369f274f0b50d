#include <string>

#include "errors.hpp"

#include "bridge.hpp"
#include "relation.hpp"

namespace crm::pg {

namespace {
std::string owned(const char* s) { return s != nullptr ? std::string(s) : std::string(); }
}  // namespace

RelationRef resolve_relation(Oid relid, const char* argname) {
    struct Names {
        const char* rel;
        const char* nsp;
        char kind;
    };
    const Names names = pg_guard([relid] {
        Names n{nullptr, nullptr, '\0'};
        n.rel = get_rel_name(relid);
        if (n.rel != nullptr) {
            n.nsp = get_namespace_name(get_rel_namespace(relid));
            n.kind = get_rel_relkind(relid);
        }
        return n;
    });
    if (names.rel == nullptr || names.nsp == nullptr)
        throw_error(ErrorKind::UndefinedTable,
                    std::string("relation with OID ") + std::to_string(relid) + " does not exist (argument " +
                        argname + ")");
    RelationRef ref;
    ref.relid = relid;
    const char* qualified = pg_guard([&names] { return quote_qualified_identifier(names.nsp, names.rel); });
    ref.quoted_name = owned(qualified);
    ref.display_name = ref.quoted_name;
    return ref;
}

ColumnRef resolve_column(const RelationRef& rel, const std::string& column, const char* argname) {
    const char* colname = column.c_str();
    const Oid relid = rel.relid;
    const AttrNumber attnum = pg_guard([relid, colname] { return get_attnum(relid, colname); });
    if (attnum == InvalidAttrNumber || attnum < 0)
        throw_error(ErrorKind::UndefinedColumn,
                    "column \"" + column + "\" of relation " + rel.display_name + " does not exist (argument " +
                        argname + ")");
    ColumnRef ref;
    ref.name = column;
    ref.attnum = attnum;
    ref.type = pg_guard([relid, attnum] { return get_atttype(relid, attnum); });
    ref.quoted_name = owned(pg_guard([colname] { return quote_identifier(colname); }));
    ref.type_name = type_name(ref.type);
    return ref;
}

bool is_integer_type(Oid type) { return type == INT2OID || type == INT4OID || type == INT8OID; }

bool is_numeric_type(Oid type) {
    return is_integer_type(type) || type == FLOAT4OID || type == FLOAT8OID || type == NUMERICOID ||
           type == CASHOID;
}

bool is_temporal_type(Oid type) { return type == DATEOID || type == TIMESTAMPOID || type == TIMESTAMPTZOID; }

std::string type_name(Oid type) {
    return owned(pg_guard([type] { return format_type_be(type); }));
}

std::string quote_literal(const std::string& value) {
    const char* v = value.c_str();
    return owned(pg_guard([v] { return quote_literal_cstr(v); }));
}

}  // namespace crm::pg
