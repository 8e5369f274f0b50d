// State of the crm.tree_fit / crm.regression_tree_fit aggregates: the kind of
// model, the options (fixed by the first row) and the training rows gathered
// so far; mergeable and serialisable for parallel plans and shards.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <vector>

#include "tree_model.hpp"

namespace crm {

struct TreeFitState {
    bool has_options = false;
    bool regression = false;
    TreeOptions options;
    std::int64_t skipped_rows = 0;  // rows whose feature array or label was NULL
    TreeRows rows;

    explicit TreeFitState(std::pmr::memory_resource* memory = std::pmr::get_default_resource()) : rows(memory) {}
    std::size_t memory_bytes() const { return sizeof(*this) + rows.memory_bytes(); }

    // Fixes the kind and options on the first row (checked as far as they can
    // be before the features are known); a later row with another kind or
    // other options is 22023.
    void set_options(const TreeOptions& options, bool regression);
    void merge(const TreeFitState& other);
    std::vector<std::uint8_t> serialize() const;
    static TreeFitState deserialize(const std::uint8_t* data, std::size_t size);
};

}  // namespace crm
