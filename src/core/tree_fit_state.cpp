#include "tree_fit_state.hpp"

#include <string>

#include "byte_io.hpp"
#include "checked_count.hpp"
#include "errors.hpp"
#include "tree_internal.hpp"

namespace crm {

namespace {

constexpr std::uint8_t kVersion = 1;

bool same_options(const TreeOptions& a, const TreeOptions& b) {
    return a.max_depth == b.max_depth && a.min_samples_split == b.min_samples_split &&
           a.min_samples_leaf == b.min_samples_leaf && a.min_impurity_decrease == b.min_impurity_decrease &&
           a.criterion == b.criterion && a.class_weight_true == b.class_weight_true &&
           a.class_weight_false == b.class_weight_false && a.n_trees == b.n_trees &&
           a.max_features == b.max_features && a.bootstrap == b.bootstrap && a.seed == b.seed &&
           a.threads == b.threads && a.feature_names == b.feature_names;
}

void adopt(TreeFitState& state, const TreeOptions& options, bool regression) {
    if (!state.has_options) {
        state.options = options;
        state.regression = regression;
        state.has_options = true;
        return;
    }
    if (state.regression != regression)
        throw_invalid("a classification state cannot be merged with a regression state");
    if (!same_options(state.options, options)) throw_invalid("the tree options must be the same on every row");
}

}  // namespace

void TreeFitState::set_options(const TreeOptions& o, bool kind_regression) {
    if (!has_options) {
        // What does not depend on the number of features is checked now, on the first row.
        validate(o, o.feature_names.empty() ? std::max(1, o.max_features) : static_cast<int>(o.feature_names.size()),
                 kind_regression);
    }
    adopt(*this, o, kind_regression);
}

void TreeFitState::merge(const TreeFitState& other) {
    skipped_rows = add_counts(skipped_rows, other.skipped_rows, "skipped row");
    if (!other.has_options) return;
    adopt(*this, other.options, other.regression);
    rows.merge(other.rows);
}

std::vector<std::uint8_t> TreeFitState::serialize() const {
    ByteWriter w(tags::tree_fit_state, kVersion);
    w.u8(has_options ? 1 : 0);
    w.u8(regression ? 1 : 0);
    tree_detail::write_options(w, options);
    w.u32(static_cast<std::uint32_t>(options.feature_names.size()));
    for (const std::string& name : options.feature_names) w.str(name);
    w.i64(skipped_rows);
    w.blob(rows.serialize());
    return w.take();
}

TreeFitState TreeFitState::deserialize(const std::uint8_t* data, std::size_t size) {
    ByteReader r(data, size, tags::tree_fit_state, kVersion, "decision tree aggregate state");
    TreeFitState s;
    s.has_options = tree_detail::read_bool(r);
    s.regression = tree_detail::read_bool(r);
    s.options = tree_detail::read_options(r);
    const std::uint32_t names = r.u32();
    if (names > size) throw Error(ErrorKind::InvalidBinary, "invalid decision tree aggregate state: too many names");
    for (std::uint32_t i = 0; i < names; ++i) s.options.feature_names.push_back(r.str());
    s.skipped_rows = r.i64();
    if (s.skipped_rows < 0) throw Error(ErrorKind::InvalidBinary, "invalid decision tree aggregate state: bad count");
    const std::uint64_t n = r.u64();
    const std::uint8_t* inner = r.take(n);
    r.expect_end();
    s.rows = TreeRows::deserialize(inner, static_cast<std::size_t>(n));
    return s;
}

}  // namespace crm
