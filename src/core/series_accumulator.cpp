#include "series_accumulator.hpp"

#include <cstring>
#include <string>

#include "byte_io.hpp"
#include "errors.hpp"

namespace crm {

namespace {
// Version 2 (0.2.0) adds the kind byte. Version 1 states (0.1.0) carry no
// kind: they cannot be told apart, so they are refused with advice.
constexpr std::uint8_t kVersion = 2;
constexpr std::uint8_t kVersionWithoutKind = 1;

struct KindName {
    SeriesKind kind;
    const char* name;
};
constexpr KindName kKindNames[] = {
    {SeriesKind::TempFit, "temp_fit"},
    {SeriesKind::TimeAbove, "time_above"},
    {SeriesKind::TimeBelow, "time_below"},
    {SeriesKind::MeanKineticTemperature, "mean_kinetic_temperature"},
    {SeriesKind::ColdChainStatus, "_cold_chain_status"},
};

// Parameters compare bit for bit, so NaN (NULL) equals NaN.
bool same(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
}  // namespace

SeriesKind series_kind_of_aggregate(const std::string& name) {
    for (const std::string suffix : {"", "_partial", "_combine"})
        for (const KindName& k : kKindNames)
            if (name == std::string(k.name) + suffix) return k.kind;
    return SeriesKind::Unknown;
}

const char* series_kind_name(SeriesKind kind) {
    for (const KindName& k : kKindNames)
        if (k.kind == kind) return k.name;
    return "unknown";
}

void SeriesAccumulator::set_kind(SeriesKind kind) {
    if (kind == SeriesKind::Unknown || kind == kind_) return;
    if (kind_ == SeriesKind::Unknown) {
        kind_ = kind;
        return;
    }
    throw_invalid(std::string("cannot combine a partial state of crm.") + series_kind_name(kind_) +
                  " with one of crm." + series_kind_name(kind),
                  "Combine the states of each aggregate with its own _combine aggregate.");
}

void SeriesAccumulator::check_parameters(const double* parameters, std::size_t n, const char* const* names) {
    if (!has_parameters_) {
        parameters_.assign(parameters, parameters + n);
        has_parameters_ = true;
        return;
    }
    for (std::size_t i = 0; i < n && i < parameters_.size(); ++i)
        if (!same(parameters[i], parameters_[i]))
            throw_invalid(std::string(names != nullptr ? names[i] : "parameter") + " must be the same on every row");
}

void SeriesAccumulator::merge(const SeriesAccumulator& other) {
    set_kind(other.kind_);
    if (other.has_parameters_) set_parameters(other.parameters_, nullptr);
    series_.merge(other.series_);
}

std::vector<std::uint8_t> SeriesAccumulator::serialize() const { return serialize_as(kind_); }

std::vector<std::uint8_t> SeriesAccumulator::serialize_as(SeriesKind kind) const {
    ByteWriter w(tags::series_accumulator, kVersion);
    w.reserve(2 + 8 + 8 * parameters_.size() + 8 + series_.serialized_size());
    w.u8(static_cast<std::uint8_t>(kind == SeriesKind::Unknown ? kind_ : kind));
    w.u8(has_parameters_ ? 1 : 0);
    w.f64s(parameters_);
    const std::size_t at = w.begin_blob();
    series_.serialize_into(w);
    w.end_blob(at);
    return w.take();
}

SeriesAccumulator SeriesAccumulator::deserialize(const std::uint8_t* data, std::size_t size,
                                                 std::pmr::memory_resource* memory) {
    ByteReader r(data, size, tags::series_accumulator, kVersion, "cold-chain aggregate state");
    if (r.version() == kVersionWithoutKind)
        throw_invalid("this cold-chain partial state was made by crm_analytics 0.1.0 and does not say which "
                      "aggregate made it",
                      "Recompute it with the _partial aggregate of this version (see docs/upgrading.md).");
    SeriesAccumulator acc(memory);
    const std::uint8_t kind = r.u8();
    if (kind > static_cast<std::uint8_t>(SeriesKind::ColdChainStatus))
        throw Error(ErrorKind::InvalidBinary, "invalid cold-chain aggregate state value: bad kind");
    acc.kind_ = static_cast<SeriesKind>(kind);
    const std::uint8_t flag = r.u8();
    if (flag > 1) throw Error(ErrorKind::InvalidBinary, "invalid cold-chain aggregate state value: bad flag");
    acc.has_parameters_ = flag == 1;
    acc.parameters_ = r.f64s();
    const std::uint64_t n = r.u64();
    const std::size_t header = 2 + 1 + 1 + 8 + 8 * acc.parameters_.size() + 8;
    if (header > size || n != size - header)
        throw Error(ErrorKind::InvalidBinary, "invalid cold-chain aggregate state value: wrong inner length");
    acc.series_ = ReadingSeries::deserialize(data + header, static_cast<std::size_t>(n), memory);
    return acc;
}

}  // namespace crm
