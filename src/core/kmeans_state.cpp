#include "kmeans_state.hpp"

#include <cmath>
#include <string>

#include "byte_io.hpp"
#include "checked_count.hpp"
#include "errors.hpp"

namespace crm {

namespace {
constexpr std::uint8_t kVersion = 1;

bool same_options(const KMeansOptions& a, const KMeansOptions& b) {
    return a.k == b.k && a.seed == b.seed && a.n_init == b.n_init && a.max_iter == b.max_iter &&
           (a.tol == b.tol || (std::isnan(a.tol) && std::isnan(b.tol))) && a.scale == b.scale &&
           a.feature_names == b.feature_names && a.verbose == b.verbose;
}
}  // namespace

void KMeansFitState::set_options(const KMeansOptions& o, std::int64_t sample) {
    if (!has_options) {
        validate_kmeans_options(o, sample);
        options = o;
        sample_size = sample;
        points = PointSet(sample, o.seed);
        has_options = true;
        return;
    }
    if (!same_options(o, options) || sample != sample_size)
        throw_invalid("the k-means options must be the same on every row");
}

void KMeansFitState::merge(const KMeansFitState& other) {
    skipped_rows = add_counts(skipped_rows, other.skipped_rows, "skipped row");
    if (!other.has_options) return;
    if (!has_options) {
        has_options = true;
        options = other.options;
        sample_size = other.sample_size;
        points = other.points;
        return;
    }
    if (!same_options(other.options, options) || other.sample_size != sample_size)
        throw_invalid("the k-means options must be the same on every row");
    points.merge(other.points);
}

std::vector<std::uint8_t> KMeansFitState::serialize() const {
    ByteWriter w(tags::kmeans_fit_state, kVersion);
    w.u8(has_options ? 1 : 0);
    w.i64(options.k);
    w.u64(options.seed);
    w.i64(options.n_init);
    w.i64(options.max_iter);
    w.f64(options.tol);
    w.u8(static_cast<std::uint8_t>(options.scale));
    w.u8(options.verbose ? 1 : 0);
    w.u32(static_cast<std::uint32_t>(options.feature_names.size()));
    for (const auto& name : options.feature_names) w.str(name);
    w.i64(sample_size);
    w.i64(skipped_rows);
    w.blob(points.serialize());
    return w.take();
}

KMeansFitState KMeansFitState::deserialize(const std::uint8_t* data, std::size_t size) {
    ByteReader r(data, size, tags::kmeans_fit_state, kVersion, "k-means aggregate state");
    const auto bad = [](const char* why) {
        throw Error(ErrorKind::InvalidBinary, std::string("invalid k-means aggregate state value: ") + why);
    };
    KMeansFitState s;
    const std::uint8_t has = r.u8();
    if (has > 1) bad("bad flag");
    s.has_options = has == 1;
    const std::int64_t k = r.i64();
    s.options.seed = r.u64();
    const std::int64_t n_init = r.i64();
    const std::int64_t max_iter = r.i64();
    if (k < 0 || k > 1000000 || n_init < 0 || n_init > 1000000 || max_iter < 0 || max_iter > 100000000)
        bad("options out of range");
    s.options.k = static_cast<int>(k);
    s.options.n_init = static_cast<int>(n_init);
    s.options.max_iter = static_cast<int>(max_iter);
    s.options.tol = r.f64();
    const std::uint8_t scale = r.u8();
    if (scale > 2) bad("bad scaling");
    s.options.scale = static_cast<Scaling>(scale);
    s.options.verbose = r.u8() != 0;
    const std::uint32_t names = r.u32();
    if (names > size) bad("too many feature names");
    for (std::uint32_t i = 0; i < names; ++i) s.options.feature_names.push_back(r.str());
    s.sample_size = r.i64();
    s.skipped_rows = r.i64();
    if (s.sample_size < 0 || s.skipped_rows < 0) bad("negative count");
    const std::uint64_t n = r.u64();
    // What is left must be exactly the point set.
    const std::uint8_t* inner = r.take(n);
    r.expect_end();
    s.points = PointSet::deserialize(inner, static_cast<std::size_t>(n));
    if (s.has_options) {
        // Options a worker accepted are valid; anything else is corruption.
        try {
            validate_kmeans_options(s.options, s.sample_size);
        } catch (const Error& e) {
            bad(e.what());
        }
    }
    return s;
}

}  // namespace crm
