#include "reco_options.hpp"

#include <nlohmann/json.hpp>

#include "errors.hpp"

namespace crm {

namespace {

using json = nlohmann::json;

int int_option(const json& v, const char* key) {
    if (!v.is_number_integer() || v.get<std::int64_t>() < INT32_MIN || v.get<std::int64_t>() > INT32_MAX)
        throw_invalid(std::string("options.") + key + " must be an integer");
    return static_cast<int>(v.get<std::int64_t>());
}

double number_option(const json& v, const char* key) {
    if (!v.is_number()) throw_invalid(std::string("options.") + key + " must be a number");
    return v.get<double>();
}

std::string string_option(const json& v, const char* key) {
    if (!v.is_string()) throw_invalid(std::string("options.") + key + " must be a string");
    return v.get<std::string>();
}

}  // namespace

RecoOptions parse_reco_options(RecoMethod method, const std::string& text) {
    RecoOptions out;
    RecoEvaluation& e = out.evaluation;
    e.method = method;
    e.user_predict.similarity = Similarity::Msd;
    e.item_predict.similarity = ItemSimilarity::Pearson;
    if (text.empty()) return out;
    json doc;
    try {
        doc = json::parse(text);
    } catch (const json::exception&) {
        throw_invalid("options must be a JSON object");
    }
    if (!doc.is_object()) throw_invalid("options must be a JSON object");
    for (const auto& [key, v] : doc.items()) {
        if (key == "k") {
            const int k = int_option(v, "k");
            e.options.user_k = e.options.item_k = k;
            e.user_predict.k = e.item_predict.k = k;
        } else if (key == "similarity") {
            const std::string s = string_option(v, "similarity");
            if (method == RecoMethod::UserKnn) {
                e.user_predict.similarity = parse_similarity(s);
            } else {
                e.options.item_similarity = parse_item_similarity(s);
                e.item_predict.similarity = e.options.item_similarity;
            }
        } else if (key == "neighbours") {
            e.options.user_vectors = parse_neighbour_vectors(string_option(v, "neighbours"));
        } else if (key == "weight") {
            e.options.hybrid_weight = number_option(v, "weight");
        } else if (key == "min_support") {
            e.options.hybrid_min_support = int_option(v, "min_support");
        } else if (key == "new_item_slots") {
            if (v.is_null())
                e.options.hybrid_new_item_slots.reset();  // no limit
            else
                e.options.hybrid_new_item_slots = int_option(v, "new_item_slots");
        } else if (key == "diversity") {
            e.options.diversity = number_option(v, "diversity");
        } else if (key == "seed") {
            const int seed = int_option(v, "seed");
            out.seed = static_cast<std::uint64_t>(static_cast<std::int64_t>(seed));
            e.options.seed = out.seed;
            e.options.als.seed = e.options.svd.seed = seed;
        } else if (key == "factors") {
            e.options.als.factors = e.options.svd.factors = int_option(v, "factors");
        } else if (key == "regularization") {
            e.options.als.regularization = e.options.svd.regularization = number_option(v, "regularization");
        } else if (key == "alpha") {
            e.options.als.alpha = number_option(v, "alpha");
        } else if (key == "iterations") {
            e.options.als.iterations = int_option(v, "iterations");
        } else if (key == "epochs") {
            e.options.svd.epochs = int_option(v, "epochs");
        } else if (key == "learning_rate") {
            e.options.svd.learning_rate = number_option(v, "learning_rate");
        } else if (key == "init_std") {
            e.options.svd.init_std = number_option(v, "init_std");
        } else if (key == "attributes") {
            out.attributes.table = string_option(v, "attributes");
        } else if (key == "attribute_item_col") {
            out.attributes.item_col = string_option(v, "attribute_item_col");
        } else if (key == "attribute_col") {
            out.attributes.attribute_col = string_option(v, "attribute_col");
        } else {
            throw_invalid("unknown option \"" + key + "\"",
                          "Valid options: k, similarity, neighbours, weight, min_support, new_item_slots, diversity, "
                          "seed, attributes, attribute_item_col, attribute_col, factors, regularization, alpha, "
                          "iterations, epochs, learning_rate, init_std.");
        }
    }
    const bool any_attr = !out.attributes.table.empty() || !out.attributes.item_col.empty() ||
                          !out.attributes.attribute_col.empty();
    if (any_attr && (out.attributes.table.empty() || out.attributes.item_col.empty() || out.attributes.attribute_col.empty()))
        throw_invalid("options attributes, attribute_item_col and attribute_col go together");
    check_recommender_options(e.options);
    return out;
}

}  // namespace crm
