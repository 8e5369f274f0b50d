#include "tree_json.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "errors.hpp"

namespace crm {

namespace {

using Json = nlohmann::json;

[[noreturn]] void bad(const std::string& why) {
    throw_error(ErrorKind::InvalidText, "invalid crm.tree_model text: " + why,
                "The text form is the JSON that crm.tree_model's output writes.");
}

const Json& field(const Json& object, const char* name) {
    const auto it = object.find(name);
    if (it == object.end()) bad(std::string("missing \"") + name + "\"");
    return *it;
}

double number(const Json& object, const char* name) {
    const Json& v = field(object, name);
    if (v.is_null()) return std::numeric_limits<double>::quiet_NaN();  // to_json writes non-finite values as null
    if (!v.is_number()) bad(std::string("\"") + name + "\" must be a number");
    return v.get<double>();
}

std::int64_t integer(const Json& object, const char* name) {
    const Json& v = field(object, name);
    if (!v.is_number_integer()) bad(std::string("\"") + name + "\" must be an integer");
    return v.get<std::int64_t>();
}

int small_integer(const Json& object, const char* name) {
    const std::int64_t v = integer(object, name);
    if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
        bad(std::string("\"") + name + "\" is out of range");
    return static_cast<int>(v);
}

std::string text(const Json& object, const char* name) {
    const Json& v = field(object, name);
    if (!v.is_string()) bad(std::string("\"") + name + "\" must be a string");
    return v.get<std::string>();
}

bool boolean(const Json& object, const char* name) {
    const Json& v = field(object, name);
    if (!v.is_boolean()) bad(std::string("\"") + name + "\" must be true or false");
    return v.get<bool>();
}

const Json& array(const Json& object, const char* name) {
    const Json& v = field(object, name);
    if (!v.is_array()) bad(std::string("\"") + name + "\" must be an array");
    return v;
}

TreeOptions read_options(const Json& o) {
    if (!o.is_object()) bad("\"options\" must be an object");
    TreeOptions options;
    options.max_depth = small_integer(o, "max_depth");
    options.min_samples_split = small_integer(o, "min_samples_split");
    options.min_samples_leaf = small_integer(o, "min_samples_leaf");
    options.min_impurity_decrease = number(o, "min_impurity_decrease");
    options.criterion = parse_tree_criterion(text(o, "criterion"));
    options.class_weight_true = number(o, "class_weight_true");
    options.class_weight_false = number(o, "class_weight_false");
    options.n_trees = small_integer(o, "n_trees");
    options.max_features = small_integer(o, "max_features");
    options.bootstrap = boolean(o, "bootstrap");
    const Json& seed = field(o, "seed");
    if (!seed.is_number_unsigned() && !(seed.is_number_integer() && seed.get<std::int64_t>() >= 0))
        bad("\"seed\" must be a non-negative integer");
    options.seed = seed.get<std::uint64_t>();
    options.threads = small_integer(o, "threads");
    return options;
}

TreeNode read_node(const Json& n, std::size_t expected_index) {
    if (!n.is_object()) bad("a node must be an object");
    if (integer(n, "node") != static_cast<std::int64_t>(expected_index)) bad("nodes must be listed in index order");
    TreeNode node;
    node.samples = integer(n, "samples");
    node.weighted_samples = number(n, "weighted_samples");
    node.impurity = number(n, "impurity");
    node.value = number(n, "value");
    if (n.contains("feature")) {
        const std::int64_t feature = integer(n, "feature");
        if (feature < 1 || feature > std::numeric_limits<int>::max()) bad("\"feature\" is out of range");
        node.feature = static_cast<int>(feature - 1);
        node.threshold = number(n, "threshold");
        node.left = small_integer(n, "left");
        node.right = small_integer(n, "right");
        const std::string missing = text(n, "missing");
        if (missing != "left" && missing != "right") bad("\"missing\" must be \"left\" or \"right\"");
        node.missing_left = missing == "left";
        node.missing_samples = integer(n, "missing_samples");
    }
    return node;
}

}  // namespace

TreeModel tree_model_from_json(const std::string& input) {
    Json j;
    try {
        j = Json::parse(input);
    } catch (const Json::exception& e) {
        bad(std::string("not JSON (") + e.what() + ")");
    }
    if (!j.is_object()) bad("not a JSON object");
    if (text(j, "format") != "crm.tree_model") bad("\"format\" must be \"crm.tree_model\"");
    if (integer(j, "version") != 1) bad("unknown version " + field(j, "version").dump());
    TreeModel m;
    const std::string kind = text(j, "kind");
    if (kind != "classification" && kind != "regression") bad("\"kind\" must be classification or regression");
    m.regression = kind == "regression";
    m.dims = small_integer(j, "dims");
    for (const Json& name : array(j, "feature_names")) {
        if (!name.is_string()) bad("feature names must be strings");
        m.feature_names.push_back(name.get<std::string>());
    }
    m.options = read_options(field(j, "options"));
    m.options.feature_names = m.feature_names;
    m.n_samples = integer(j, "n_samples");
    for (const Json& v : array(j, "feature_importance")) {
        if (!v.is_number()) bad("feature importances must be numbers");
        m.feature_importance.push_back(v.get<double>());
    }
    m.oob_score = number(j, "oob_score");
    for (const Json& t : array(j, "trees")) {
        if (!t.is_object()) bad("a tree must be an object");
        DecisionTree tree;
        const Json& nodes = array(t, "nodes");
        tree.nodes.reserve(nodes.size());
        for (const Json& n : nodes) tree.nodes.push_back(read_node(n, tree.nodes.size()));
        m.trees.push_back(std::move(tree));
    }
    // One set of checks for both forms: the bytes' reader validates every
    // field, index and number; its 22P03 becomes this form's 22P02.
    const std::vector<std::uint8_t> bytes = m.serialize();
    try {
        return TreeModel::deserialize(bytes.data(), bytes.size());
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::InvalidBinary) throw;
        // "invalid decision tree model value: <why>" -> "<why>", under this form's own prefix.
        std::string why = e.what();
        const std::string::size_type colon = why.find(": ");
        bad(colon == std::string::npos ? why : why.substr(colon + 2));
    }
}

}  // namespace crm
