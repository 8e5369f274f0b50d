#include <string>
#include <vector>

#include "errors.hpp"
#include "segments.hpp"

#include "bridge.hpp"
#include "segment_map_arg.hpp"

namespace crm::pg {

namespace {

// Filled inside pg_guard with PostgreSQL allocations only.
struct RawRules {
    int count;
    int capacity;
    char** names;
    char** patterns;
    const char* problem;  // non-null: the map's shape is wrong
};

void add_rule(RawRules* raw, const char* name, const JsonbValue& v) {
    if (raw->count == raw->capacity) {
        raw->capacity *= 2;
        raw->names = static_cast<char**>(repalloc(raw->names, sizeof(char*) * raw->capacity));
        raw->patterns = static_cast<char**>(repalloc(raw->patterns, sizeof(char*) * raw->capacity));
    }
    raw->names[raw->count] = pstrdup(name);
    raw->patterns[raw->count] = pnstrdup(v.val.string.val, v.val.string.len);
    raw->count++;
}

RawRules read_rules(Jsonb* map) {
    RawRules raw{0, 16, nullptr, nullptr, nullptr};
    raw.names = static_cast<char**>(palloc(sizeof(char*) * raw.capacity));
    raw.patterns = static_cast<char**>(palloc(sizeof(char*) * raw.capacity));
    JsonbIterator* it = JsonbIteratorInit(&map->root);
    JsonbValue v;
    JsonbIteratorToken token;
    int depth = 0;
    char* key = nullptr;
    while ((token = JsonbIteratorNext(&it, &v, false)) != WJB_DONE) {
        if (raw.problem != nullptr) continue;
        switch (token) {
            case WJB_BEGIN_OBJECT:
                if (depth != 0) raw.problem = "a segment's patterns must be a string or an array of strings";
                depth++;
                break;
            case WJB_END_OBJECT:
            case WJB_END_ARRAY:
                depth--;
                break;
            case WJB_BEGIN_ARRAY:
                if (depth == 0) raw.problem = "segment_map must be a JSON object";
                if (depth >= 2) raw.problem = "a segment's patterns must be a string or an array of strings";
                depth++;
                break;
            case WJB_KEY:
                key = pnstrdup(v.val.string.val, v.val.string.len);
                break;
            case WJB_VALUE:
            case WJB_ELEM:
                if (v.type != jbvString || key == nullptr)
                    raw.problem = "a segment's patterns must be a string or an array of strings";
                else
                    add_rule(&raw, key, v);
                break;
            default:
                break;
        }
    }
    if (raw.problem == nullptr && raw.count == 0) raw.problem = "segment_map has no rules";
    return raw;
}

}  // namespace

std::vector<crm::SegmentRule> segment_rules_from_jsonb(Jsonb* map) {
    const RawRules raw = pg_guard([map] { return read_rules(map); });
    if (raw.problem != nullptr)
        throw_invalid(std::string("invalid segment_map: ") + raw.problem,
                      "Use an object such as {\"Champions\": [\"5[4-5]\"], \"Others\": [\"[1-4]*\", \"5[1-3]\"]}.");
    std::vector<crm::SegmentRule> rules;
    rules.reserve(static_cast<std::size_t>(raw.count));
    for (int i = 0; i < raw.count; ++i) rules.push_back({raw.names[i], raw.patterns[i]});
    return rules;
}

crm::SegmentMap segment_map_for(int bins, Jsonb* map_or_null) {
    if (map_or_null == nullptr) return crm::SegmentMap::default_grid(bins);
    return crm::SegmentMap::from_rules(bins, segment_rules_from_jsonb(map_or_null));
}

}  // namespace crm::pg
