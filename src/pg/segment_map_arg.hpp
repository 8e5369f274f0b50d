// The segment_map jsonb argument: {"Champions": ["5[4-5]"], "New": "51", ...}
// (segment name -> one pattern or an array of patterns) as core rules.
#pragma once

#include <vector>

#include "segments.hpp"

#include "pg_includes.hpp"

namespace crm::pg {

// Rules from a jsonb value; 22023 when it is not an object of strings or
// arrays of strings.
std::vector<crm::SegmentRule> segment_rules_from_jsonb(Jsonb* map);

// The segment map for bins: the default grid when map is NULL, else the rules
// (validated as a complete partition).
crm::SegmentMap segment_map_for(int bins, Jsonb* map_or_null);

}  // namespace crm::pg
