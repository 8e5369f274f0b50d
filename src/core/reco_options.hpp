// The `options` of crm.reco_evaluate: one JSON object carrying each method's
// hyper-parameters, read strictly (unknown keys and wrong types are 22023, so
// a typo never silently evaluates the defaults).
//
//   k                  int     neighbours (user-kNN: users, default 40; item-kNN and hybrid: items, default 100)
//   similarity         string  item-kNN / hybrid item similarity (cosine) and
//                              the similarity of rating predictions (user-kNN msd, item-kNN pearson)
//   neighbours         string  user-kNN neighbour vectors (binary)
//   weight, min_support, new_item_slots   hybrid (0.9, 5, 1)
//   diversity          number  MMR in [0, 1] (0)
//   seed               int     random split and the random method (0)
//   factors, regularization   als (16, 5) and svd (100, 0.02)
//   alpha, iterations  als (2, 10);  epochs, learning_rate, init_std   svd (20, 0.005, 0.1)
//   attributes, attribute_item_col, attribute_col   the item attribute table
//                              (content and hybrid), as for crm.content_recommend_batch
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "reco_evaluate.hpp"

namespace crm {

struct AttributeSource {
    std::string table, item_col, attribute_col;  // all set, or table empty
};

struct RecoOptions {
    RecoEvaluation evaluation;  // method, options and prediction options set; folds, n etc. untouched
    AttributeSource attributes;
    std::uint64_t seed = 0;
};

// Applies the JSON object `json` (empty: defaults) on top of the defaults for `method`.
RecoOptions parse_reco_options(RecoMethod method, const std::string& json);

}  // namespace crm
