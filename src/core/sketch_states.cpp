#include "sketch_states.hpp"

#include <cmath>
#include <string>

#include "byte_io.hpp"
#include "errors.hpp"

namespace crm {

namespace {
constexpr std::uint8_t kVersion = 1;
}  // namespace

void RfmSketchAccumulator::add(int row_bins, double recency_days, double frequency_value, double monetary_value) {
    bins = agree_on_bins(bins, row_bins);
    if (!std::isfinite(recency_days) || !std::isfinite(frequency_value) || !std::isfinite(monetary_value))
        throw_invalid("recency, frequency and monetary must be finite numbers");
    recency.add(recency_days);
    frequency.add(frequency_value);
    monetary.add(monetary_value);
}

void RfmSketchAccumulator::merge(const RfmSketchAccumulator& other) {
    if (other.bins == 0) return;
    bins = agree_on_bins(bins, other.bins);
    recency.merge(other.recency);
    frequency.merge(other.frequency);
    monetary.merge(other.monetary);
}

RfmThresholds RfmSketchAccumulator::thresholds() const {
    RfmThresholds t;
    t.bins = bins;
    t.customers = static_cast<std::int64_t>(recency.count());
    t.recency = recency.cut_points(bins);
    t.frequency = frequency.cut_points(bins);
    t.monetary = monetary.cut_points(bins);
    return t;
}

std::vector<std::uint8_t> RfmSketchAccumulator::serialize() const {
    ByteWriter w(tags::rfm_sketch_state, kVersion);
    w.u32(static_cast<std::uint32_t>(bins));
    recency.serialize_into(w);
    frequency.serialize_into(w);
    monetary.serialize_into(w);
    return w.take();
}

RfmSketchAccumulator RfmSketchAccumulator::deserialize(const std::uint8_t* data, std::size_t size,
                                                       std::pmr::memory_resource* memory) {
    ByteReader r(data, size, tags::rfm_sketch_state, kVersion, "crm.rfm_thresholds_approx state");
    RfmSketchAccumulator state(memory);
    const std::uint32_t bins = r.u32();
    state.recency = QuantileSketch::read_from(r, memory);
    state.frequency = QuantileSketch::read_from(r, memory);
    state.monetary = QuantileSketch::read_from(r, memory);
    r.expect_end();
    const std::uint64_t n = state.recency.count();
    if ((bins != 0 && (bins < 2 || bins > 10)) || (bins == 0) != (n == 0) || state.frequency.count() != n ||
        state.monetary.count() != n)
        throw Error(ErrorKind::InvalidBinary, "invalid crm.rfm_thresholds_approx state value: inconsistent counts");
    state.bins = static_cast<int>(bins);
    return state;
}

void QuantileApproxAccumulator::add(double row_fraction, double value) {
    if (fraction < 0.0) {
        if (!(row_fraction >= 0.0 && row_fraction <= 1.0))
            throw_invalid("fraction must be between 0 and 1, got " + std::to_string(row_fraction));
        fraction = row_fraction;
    } else if (row_fraction != fraction) {
        throw_invalid("fraction must be the same on every row");
    }
    sketch.add(value);
}

void QuantileApproxAccumulator::merge(const QuantileApproxAccumulator& other) {
    if (other.fraction < 0.0) return;
    if (fraction < 0.0) {
        fraction = other.fraction;
    } else if (other.fraction != fraction) {
        throw_invalid("fraction must be the same on every row");
    }
    sketch.merge(other.sketch);
}

std::vector<std::uint8_t> QuantileApproxAccumulator::serialize() const {
    ByteWriter w(tags::quantile_sketch_state, kVersion);
    w.f64(fraction);
    sketch.serialize_into(w);
    return w.take();
}

QuantileApproxAccumulator QuantileApproxAccumulator::deserialize(const std::uint8_t* data, std::size_t size,
                                                                 std::pmr::memory_resource* memory) {
    ByteReader r(data, size, tags::quantile_sketch_state, kVersion, "crm.quantile_approx state");
    QuantileApproxAccumulator state(memory);
    const double fraction = r.f64();
    state.sketch = QuantileSketch::read_from(r, memory);
    r.expect_end();
    const bool empty = state.sketch.count() == 0;
    if (!(empty ? fraction == -1.0 : (fraction >= 0.0 && fraction <= 1.0)))
        throw Error(ErrorKind::InvalidBinary, "invalid crm.quantile_approx state value: bad fraction");
    state.fraction = fraction;
    return state;
}

}  // namespace crm
