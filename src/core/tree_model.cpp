// The fitted tree model: prediction, rules, feature importance, the byte
// format and the JSON text form.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "byte_io.hpp"
#include "errors.hpp"
#include "interrupts.hpp"
#include "tree_internal.hpp"
#include "tree_model.hpp"

namespace crm {

namespace {

constexpr std::uint8_t kTreeModelVersion = 1;
constexpr const char* kWhat = "decision tree model";
// Bytes of one serialised node: feature, threshold, left, right, missing_left,
// value, weighted_samples, samples, impurity, missing_samples.
constexpr std::size_t kNodeBytes = 4 + 8 + 4 + 4 + 1 + 8 + 8 + 8 + 8 + 8;

[[noreturn]] void bad_binary(const std::string& why) {
    throw Error(ErrorKind::InvalidBinary, std::string("invalid ") + kWhat + " value: " + why);
}

// Shortest text that reads back as the same double, locale-independent.
std::string number(double v) {
    char buf[32];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, res.ptr);
}

const DecisionTree& tree_at(const TreeModel& m, int tree) {
    if (tree < 0 || static_cast<std::size_t>(tree) >= m.trees.size())
        throw_invalid("tree " + std::to_string(tree) + " does not exist: the model has " +
                      std::to_string(m.trees.size()) + (m.trees.size() == 1 ? " tree" : " trees") +
                      " (numbered from 0)");
    return m.trees[static_cast<std::size_t>(tree)];
}

const DecisionTree& first_tree(const TreeModel& m) {
    if (m.trees.empty() || m.trees[0].nodes.empty()) throw_invalid("the decision tree model is empty");
    return m.trees[0];
}

// The bounds a path from the root puts on one feature.
struct Bounds {
    int feature;
    bool has_low = false, has_high = false;
    double low = 0, high = 0;     // low < x <= high
    bool missing_follows = true;  // missing values of the feature take every branch of the path
    bool missing_seen = false;    // some split of the feature on the path had missing values at fit
};

std::string term(const Bounds& b, const std::string& name, bool alone) {
    std::string range;
    if (b.has_low && b.has_high)
        range = number(b.low) + " < " + name + " <= " + number(b.high);
    else if (b.has_high)
        range = name + " <= " + number(b.high);
    else
        range = name + " > " + number(b.low);
    if (!(b.missing_follows && b.missing_seen)) return range;
    const std::string either = name + " is missing or " + range;
    return alone ? either : "(" + either + ")";
}

std::string condition(const TreeModel& m, const DecisionTree& tree, const std::vector<std::pair<int, bool>>& path) {
    std::vector<Bounds> bounds;  // in the order the features first appear
    for (const auto& [id, went_left] : path) {
        const TreeNode& node = tree.nodes[static_cast<std::size_t>(id)];
        auto it = std::find_if(bounds.begin(), bounds.end(),
                               [&node](const Bounds& b) { return b.feature == node.feature; });
        if (it == bounds.end()) it = bounds.insert(bounds.end(), Bounds{node.feature});
        if (went_left) {
            it->high = it->has_high ? std::min(it->high, node.threshold) : node.threshold;
            it->has_high = true;
        } else {
            it->low = it->has_low ? std::max(it->low, node.threshold) : node.threshold;
            it->has_low = true;
        }
        it->missing_follows = it->missing_follows && went_left == node.missing_left;
        it->missing_seen = it->missing_seen || node.missing_samples > 0;
    }
    if (bounds.empty()) return "true";
    std::string text;
    for (const Bounds& b : bounds) {
        if (!text.empty()) text += " AND ";
        text += term(b, tree_detail::feature_label(m.feature_names, b.feature), bounds.size() == 1);
    }
    return text;
}

}  // namespace

namespace tree_detail {

void write_options(ByteWriter& w, const TreeOptions& o) {
    w.u32(static_cast<std::uint32_t>(o.max_depth));
    w.u32(static_cast<std::uint32_t>(o.min_samples_split));
    w.u32(static_cast<std::uint32_t>(o.min_samples_leaf));
    w.f64(o.min_impurity_decrease);
    w.u8(static_cast<std::uint8_t>(o.criterion));
    w.f64(o.class_weight_true);
    w.f64(o.class_weight_false);
    w.u32(static_cast<std::uint32_t>(o.n_trees));
    w.u32(static_cast<std::uint32_t>(o.max_features));
    w.u8(o.bootstrap ? 1 : 0);
    w.u64(o.seed);
    w.u32(static_cast<std::uint32_t>(o.threads));
}

int read_int(ByteReader& r) {
    const std::uint32_t v = r.u32();
    if (v > static_cast<std::uint32_t>(std::numeric_limits<int>::max())) bad_binary("a count out of range");
    return static_cast<int>(v);
}

bool read_bool(ByteReader& r) {
    const std::uint8_t v = r.u8();
    if (v > 1) bad_binary("a flag that is neither 0 nor 1");
    return v == 1;
}

TreeOptions read_options(ByteReader& r) {
    TreeOptions o;
    o.max_depth = read_int(r);
    o.min_samples_split = read_int(r);
    o.min_samples_leaf = read_int(r);
    o.min_impurity_decrease = r.f64();
    const std::uint8_t criterion = r.u8();
    if (criterion > static_cast<std::uint8_t>(TreeCriterion::SquaredError)) bad_binary("an unknown criterion");
    o.criterion = static_cast<TreeCriterion>(criterion);
    o.class_weight_true = r.f64();
    o.class_weight_false = r.f64();
    o.n_trees = read_int(r);
    o.max_features = read_int(r);
    o.bootstrap = read_bool(r);
    o.seed = r.u64();
    o.threads = read_int(r);
    return o;
}

}  // namespace tree_detail

namespace {

using tree_detail::read_bool;
using tree_detail::read_int;
using tree_detail::read_options;
using tree_detail::write_options;

void check_node(const TreeNode& node, std::size_t id, std::size_t count, int dims, bool regression) {
    const std::string at = " at node " + std::to_string(id);
    if (node.feature < -1 || node.feature >= dims) bad_binary("a split feature out of range" + at);
    if (node.feature == -1) {
        if (node.left != -1 || node.right != -1) bad_binary("a leaf with children" + at);
        if (node.missing_samples != 0) bad_binary("a leaf with missing values" + at);
    } else {
        // Children numbered after their parent: no node can be its own ancestor.
        if (node.left <= static_cast<int>(id) || node.right <= static_cast<int>(id) ||
            static_cast<std::size_t>(node.left) >= count || static_cast<std::size_t>(node.right) >= count ||
            node.left == node.right)
            bad_binary("a child index out of range" + at);
        if (!std::isfinite(node.threshold)) bad_binary("a threshold that is not finite" + at);
        if (node.missing_samples < 0 || node.missing_samples > node.samples)
            bad_binary("a missing-value count out of range" + at);
    }
    if (!std::isfinite(node.value) || (!regression && !(node.value >= 0 && node.value <= 1)))
        bad_binary("a node value out of range" + at);
    if (!std::isfinite(node.weighted_samples) || !(node.weighted_samples > 0) || node.samples < 1)
        bad_binary("a node without rows" + at);
    if (!std::isfinite(node.impurity) || node.impurity < 0) bad_binary("an impurity out of range" + at);
}

DecisionTree read_tree(ByteReader& r, std::size_t bytes, int dims, bool regression) {
    const std::uint32_t count = r.u32();
    if (count == 0) bad_binary("a tree without nodes");
    if (count > kMaxTreeNodes || count > bytes / kNodeBytes) bad_binary("more nodes than the value holds");
    DecisionTree tree;
    tree.nodes.resize(count);
    for (std::size_t id = 0; id < count; ++id) {
        TreeNode& node = tree.nodes[id];
        node.feature = static_cast<int>(static_cast<std::int32_t>(r.u32()));
        node.threshold = r.f64();
        node.left = static_cast<int>(static_cast<std::int32_t>(r.u32()));
        node.right = static_cast<int>(static_cast<std::int32_t>(r.u32()));
        node.missing_left = read_bool(r);
        node.value = r.f64();
        node.weighted_samples = r.f64();
        node.samples = r.i64();
        node.impurity = r.f64();
        node.missing_samples = r.i64();
        check_node(node, id, count, dims, regression);
    }
    // Every node but the root has exactly one parent: with children numbered
    // after parents, the nodes form one tree rooted at node 0.
    std::vector<std::uint8_t> parents(count, 0);
    for (const TreeNode& node : tree.nodes)
        if (node.feature >= 0) {
            if (++parents[static_cast<std::size_t>(node.left)] > 1 || ++parents[static_cast<std::size_t>(node.right)] > 1)
                bad_binary("a node with two parents");
        }
    for (std::size_t id = 1; id < count; ++id)
        if (parents[id] != 1) bad_binary("a node not reachable from the root");
    return tree;
}

}  // namespace

namespace tree_detail {

const TreeNode& leaf_of(const DecisionTree& tree, const double* x) {
    const TreeNode* node = &tree.nodes[0];
    while (node->feature >= 0) {
        const double v = x[node->feature];
        const bool left = std::isnan(v) ? node->missing_left : v <= node->threshold;
        node = &tree.nodes[static_cast<std::size_t>(left ? node->left : node->right)];
    }
    return *node;
}

std::vector<double> tree_importance(const DecisionTree& tree, int dims) {
    std::vector<double> importance(static_cast<std::size_t>(dims), 0.0);
    for (const TreeNode& node : tree.nodes) {
        if (node.feature < 0) continue;
        const TreeNode& l = tree.nodes[static_cast<std::size_t>(node.left)];
        const TreeNode& r = tree.nodes[static_cast<std::size_t>(node.right)];
        importance[static_cast<std::size_t>(node.feature)] += node.weighted_samples * node.impurity -
                                                              l.weighted_samples * l.impurity -
                                                              r.weighted_samples * r.impurity;
    }
    double total = 0;
    for (const double v : importance) total += v;
    if (total > 0)
        for (double& v : importance) v /= total;
    return importance;
}

std::string feature_label(const std::vector<std::string>& names, int j) {
    if (static_cast<std::size_t>(j) < names.size()) return names[static_cast<std::size_t>(j)];
    return "feature " + std::to_string(j + 1);
}

}  // namespace tree_detail

int TreeModel::depth() const {
    const DecisionTree& tree = first_tree(*this);
    // Preorder numbering: a child comes after its parent, so one forward pass
    // knows every parent's depth before its children's.
    std::vector<int> at(tree.nodes.size(), 0);
    int deepest = 0;
    for (std::size_t id = 0; id < tree.nodes.size(); ++id) {
        const TreeNode& node = tree.nodes[id];
        deepest = std::max(deepest, at[id]);
        if (node.feature < 0) continue;
        at[static_cast<std::size_t>(node.left)] = at[id] + 1;
        at[static_cast<std::size_t>(node.right)] = at[id] + 1;
    }
    return deepest;
}

int TreeModel::leaves() const {
    const DecisionTree& tree = first_tree(*this);
    return static_cast<int>(
        std::count_if(tree.nodes.begin(), tree.nodes.end(), [](const TreeNode& n) { return n.feature < 0; }));
}

double TreeModel::predict(const double* x, int n) const {
    if (n != dims)
        throw_invalid("the model was fitted on " + std::to_string(dims) + " features, got " + std::to_string(n));
    first_tree(*this);
    double sum = 0;
    for (const DecisionTree& tree : trees) sum += tree_detail::leaf_of(tree, x).value;
    return sum / static_cast<double>(trees.size());
}

std::vector<TreeRule> TreeModel::rules(int tree_index) const {
    const DecisionTree& tree = tree_at(*this, tree_index);
    if (tree.nodes.empty()) throw_invalid("the decision tree model is empty");
    std::vector<TreeRule> out;
    std::vector<std::pair<int, bool>> path;  // (split node, went left) from the root down
    // Depth-first, left first, so the leaves come in node order. A frame is a
    // node, its depth and the step from its parent.
    struct Frame {
        int id;
        std::size_t depth;
        std::pair<int, bool> step;
    };
    std::vector<Frame> stack{{0, 0, {-1, false}}};
    InterruptTicker ticker(256);
    while (!stack.empty()) {
        const Frame frame = stack.back();
        stack.pop_back();
        if (frame.depth > 0) {
            path.resize(frame.depth - 1);
            path.push_back(frame.step);
        }
        const TreeNode& node = tree.nodes[static_cast<std::size_t>(frame.id)];
        if (node.feature >= 0) {
            stack.push_back({node.right, frame.depth + 1, {frame.id, false}});
            stack.push_back({node.left, frame.depth + 1, {frame.id, true}});
            continue;
        }
        out.push_back({frame.id, condition(*this, tree, path), node.samples, node.value});
        ticker.tick();
    }
    return out;
}

std::vector<std::uint8_t> TreeModel::serialize() const {
    ByteWriter w(tags::tree_model, kTreeModelVersion);
    w.u8(regression ? 1 : 0);
    w.u32(static_cast<std::uint32_t>(dims));
    write_options(w, options);
    w.u32(static_cast<std::uint32_t>(feature_names.size()));
    for (const auto& name : feature_names) w.str(name);
    w.i64(n_samples);
    w.f64s(feature_importance);
    w.f64(oob_score);
    w.u32(static_cast<std::uint32_t>(trees.size()));
    for (const DecisionTree& tree : trees) {
        w.u32(static_cast<std::uint32_t>(tree.nodes.size()));
        for (const TreeNode& node : tree.nodes) {
            w.u32(static_cast<std::uint32_t>(node.feature));
            w.f64(node.threshold);
            w.u32(static_cast<std::uint32_t>(node.left));
            w.u32(static_cast<std::uint32_t>(node.right));
            w.u8(node.missing_left ? 1 : 0);
            w.f64(node.value);
            w.f64(node.weighted_samples);
            w.i64(node.samples);
            w.f64(node.impurity);
            w.i64(node.missing_samples);
        }
    }
    return w.take();
}

TreeModel TreeModel::deserialize(const std::uint8_t* data, std::size_t size) {
    ByteReader r(data, size, tags::tree_model, kTreeModelVersion, kWhat);
    TreeModel m;
    m.regression = read_bool(r);
    m.dims = read_int(r);
    m.options = read_options(r);
    const std::uint32_t names = r.u32();
    if (names > size) bad_binary("more feature names than the value holds");
    for (std::uint32_t i = 0; i < names; ++i) m.feature_names.push_back(r.str());
    m.options.feature_names = m.feature_names;
    try {
        validate(m.options, m.dims, m.regression);
    } catch (const Error& e) {
        bad_binary(e.what());
    }
    m.n_samples = r.i64();
    if (m.n_samples < 1) bad_binary("no rows fitted");
    m.feature_importance = r.f64s();
    if (m.feature_importance.size() != static_cast<std::size_t>(m.dims))
        bad_binary("the feature importance is not one value per feature");
    for (const double v : m.feature_importance)
        if (!(v >= 0 && v <= 1)) bad_binary("a feature importance out of range");
    m.oob_score = r.f64();
    if (std::isinf(m.oob_score)) bad_binary("an infinite out-of-bag score");
    const std::uint32_t count = r.u32();
    if (count != static_cast<std::uint32_t>(std::max(m.options.n_trees, 1)))
        bad_binary("the number of trees does not match n_trees");
    m.trees.reserve(count);
    for (std::uint32_t t = 0; t < count; ++t) m.trees.push_back(read_tree(r, size, m.dims, m.regression));
    r.expect_end();
    return m;
}

std::string TreeModel::to_json() const {
    using Json = nlohmann::ordered_json;
    const auto finite_or_null = [](double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); };
    Json j;
    j["format"] = "crm.tree_model";
    j["version"] = kTreeModelVersion;
    j["kind"] = regression ? "regression" : "classification";
    j["dims"] = dims;
    j["feature_names"] = feature_names;
    Json o;
    o["max_depth"] = options.max_depth;
    o["min_samples_split"] = options.min_samples_split;
    o["min_samples_leaf"] = options.min_samples_leaf;
    o["min_impurity_decrease"] = options.min_impurity_decrease;
    o["criterion"] = tree_criterion_name(options.criterion);
    o["class_weight_true"] = options.class_weight_true;
    o["class_weight_false"] = options.class_weight_false;
    o["n_trees"] = options.n_trees;
    o["max_features"] = options.max_features;
    o["bootstrap"] = options.bootstrap;
    o["seed"] = options.seed;
    o["threads"] = options.threads;
    j["options"] = std::move(o);
    j["n_samples"] = n_samples;
    if (!trees.empty() && !trees[0].nodes.empty()) {
        j["depth"] = depth();
        j["leaves"] = leaves();
    }
    j["feature_importance"] = feature_importance;
    j["oob_score"] = finite_or_null(oob_score);
    Json forest = Json::array();
    for (const DecisionTree& tree : trees) {
        Json nodes = Json::array();
        for (std::size_t id = 0; id < tree.nodes.size(); ++id) {
            const TreeNode& node = tree.nodes[id];
            Json n;
            n["node"] = id;
            n["samples"] = node.samples;
            n["weighted_samples"] = finite_or_null(node.weighted_samples);
            n["impurity"] = finite_or_null(node.impurity);
            n["value"] = finite_or_null(node.value);
            if (node.feature >= 0) {
                n["feature"] = node.feature + 1;
                n["feature_name"] = tree_detail::feature_label(feature_names, node.feature);
                n["threshold"] = finite_or_null(node.threshold);
                n["left"] = node.left;
                n["right"] = node.right;
                n["missing"] = node.missing_left ? "left" : "right";
                n["missing_samples"] = node.missing_samples;
            }
            nodes.push_back(std::move(n));
        }
        Json t;
        t["nodes"] = std::move(nodes);
        forest.push_back(std::move(t));
    }
    j["trees"] = std::move(forest);
    // A name that is not valid UTF-8 (possible in a SQL_ASCII database) gets
    // U+FFFD for its bad bytes, so the text is always valid JSON.
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace crm
