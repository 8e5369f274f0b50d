#include "series_accumulator.hpp"

#include <cstring>
#include <string>

#include "byte_io.hpp"
#include "errors.hpp"

namespace crm {

namespace {
constexpr std::uint8_t kVersion = 1;

// Parameters compare bit for bit, so NaN (NULL) equals NaN.
bool same(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
}  // namespace

void SeriesAccumulator::set_parameters(const std::vector<double>& parameters, const char* const* names) {
    if (!has_parameters_) {
        parameters_ = parameters;
        has_parameters_ = true;
        return;
    }
    for (std::size_t i = 0; i < parameters.size() && i < parameters_.size(); ++i)
        if (!same(parameters[i], parameters_[i]))
            throw_invalid(std::string(names != nullptr ? names[i] : "parameter") + " must be the same on every row");
}

void SeriesAccumulator::merge(const SeriesAccumulator& other) {
    if (other.has_parameters_) set_parameters(other.parameters_, nullptr);
    series_.merge(other.series_);
}

std::vector<std::uint8_t> SeriesAccumulator::serialize() const {
    ByteWriter w(tags::series_accumulator, kVersion);
    w.u8(has_parameters_ ? 1 : 0);
    w.f64s(parameters_);
    w.blob(series_.serialize());
    return w.take();
}

SeriesAccumulator SeriesAccumulator::deserialize(const std::uint8_t* data, std::size_t size) {
    ByteReader r(data, size, tags::series_accumulator, kVersion, "cold-chain aggregate state");
    SeriesAccumulator acc;
    const std::uint8_t flag = r.u8();
    if (flag > 1) throw Error(ErrorKind::InvalidBinary, "invalid cold-chain aggregate state value: bad flag");
    acc.has_parameters_ = flag == 1;
    acc.parameters_ = r.f64s();
    const std::uint64_t n = r.u64();
    const std::size_t header = 2 + 1 + 8 + 8 * acc.parameters_.size() + 8;
    if (header > size || n != size - header)
        throw Error(ErrorKind::InvalidBinary, "invalid cold-chain aggregate state value: wrong inner length");
    acc.series_ = ReadingSeries::deserialize(data + header, static_cast<std::size_t>(n));
    return acc;
}

}  // namespace crm
