// Reading the JSON text form of a tree model (TreeModel::to_json writes it):
// the input function of the SQL type crm.tree_model, so that pg_dump's text
// copy of a stored model restores to the same model.
#pragma once

#include <string>

#include "tree_model.hpp"

namespace crm {

// Parses exactly what TreeModel::to_json writes (fields in any order; "depth"
// and "leaves" are derived and ignored) and validates the result as
// TreeModel::deserialize validates bytes. Not JSON, or not a tree model of a
// known version: 22P02 (invalid_text_representation) with the reason.
TreeModel tree_model_from_json(const std::string& text);

}  // namespace crm
