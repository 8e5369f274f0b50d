// Cold-chain temperature analytics: Newton warming/cooling fits, breach times,
// time out of range and mean kinetic temperature.
//
// The model is Newton's law of warming/cooling, with t in seconds:
//     T(t) = T0 + (Ta - T0) * (1 - exp(-(t - start) / tau)),   tau > 0
// T0 is the temperature at `start` (the earliest reading), Ta the ambient the
// goods tend to and tau the time constant (63% of the way to Ta after tau).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <memory_resource>
#include <vector>

#include "byte_io.hpp"

namespace crm {

// The largest time constant a fit reports (about 285,000 years, within
// PostgreSQL's interval range); a fit beyond it is reported as not converged.
constexpr double kMaxTimeConstantSeconds = 9.0e12;


// InvalidParameter (22023): "<what> must be a finite number, got NaN" (or Infinity).
[[noreturn]] __attribute__((noinline, cold)) void throw_not_finite_reading(double v, const char* what);
// What every reading added to a series must be: a finite time and temperature.
inline void check_reading_finite(double t, double temperature) {
    if (__builtin_expect(!std::isfinite(t), 0)) throw_not_finite_reading(t, "reading time");
    if (__builtin_expect(!std::isfinite(temperature), 0)) throw_not_finite_reading(temperature, "temperature");
}

struct Reading {
    double t;            // seconds since an arbitrary epoch (e.g. Unix time)
    double temperature;  // any unit; mean_kinetic_temperature needs degrees Celsius
};

struct CoolingFit {
    static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

    double t0 = kNaN;       // temperature at `start`
    double ambient = kNaN;  // the asymptote
    double tau = kNaN;      // time constant, seconds
    double start = kNaN;    // t of the earliest reading; the curve's origin
    double rmse = kNaN;     // root mean square residual over the (deduplicated) readings used
    std::int64_t n = 0;     // number of readings used after deduplication
    bool converged = false;
    bool ambient_fixed = false;
    int iterations = 0;     // profile evaluations of the tau search, plus Levenberg-Marquardt steps when it falls back
    // Why not converged: "fewer than 3 readings", "flat series", "did not converge";
    // "" when converged.
    std::string note;
};

// Least-squares fit of T0, Ta and tau: a search over tau alone (variable
// projection: T0 and Ta by linear least squares at each tau, Brent's method
// on the slope of the residual sum of squares), bracketed by a grid of time
// constants around a data-driven guess; Levenberg-Marquardt on all three
// (Eigen's MINPACK port, as scipy.optimize.curve_fit) from the best grid
// points when the search cannot be bracketed.
//
// Readings may come in any order; readings sharing a time are averaged into
// one. Not errors, but converged = false with a note:
//   - fewer than 3 distinct times ("fewer than 3 readings") and a flat series,
//     max - min below 1e-9 * max(1, max |T|) ("flat series"): t0 and ambient are
//     the mean temperature (ambient is known_ambient when that is given), tau
//     is NaN and rmse is the spread about the mean;
//   - no starting point converged, or the result is not finite ("did not
//     converge"): the best parameters found are still reported when finite.
// A finite known_ambient fixes Ta (ambient_fixed = true) and only T0 and tau
// are fitted; a NaN or infinite known_ambient counts as not given.
// NaN or infinite t or temperature: InvalidParameter (22023).
CoolingFit fit_cooling(std::vector<Reading> readings, std::optional<double> known_ambient = std::nullopt);
// The same for readings as ReadingSeries::sorted_deduplicated() gives them
// (finite, strictly increasing t): skips the sort and averaging passes (any
// other input is fitted as fit_cooling would).
CoolingFit fit_cooling_sorted(std::vector<Reading> readings, std::optional<double> known_ambient = std::nullopt);

// The model at `elapsed_seconds` after the curve's origin (negative values
// extrapolate backwards). Non-finite input or tau <= 0: InvalidParameter; a
// result too large to represent: OutOfRange.
double predict_temperature(double t0, double ambient, double tau, double elapsed_seconds);

// The fitted curve at absolute time t. The fit's t0, ambient, tau and start
// must be finite (with tau > 0), else InvalidParameter.
double predict_at(const CoolingFit& fit, double t);

// First time t >= from (absolute seconds; from defaults to fit.start) at which
// the fitted curve reaches `limit`.
//
// The curve moves monotonically from T(from) towards the ambient, so the limit
// is read in that direction: an upper limit for a warming curve, a lower limit
// for a cooling one.
//   - limit strictly between T(from) and the ambient: the crossing time,
//     start - tau * ln((Ta - limit) / (Ta - T0));
//   - limit equal to T(from), or already passed (on the ambient side of
//     T(from), e.g. a warming curve already above it): "already breached",
//     returns `from`;
//   - limit at or beyond the ambient, or a curve sitting at its ambient away
//     from the limit: the curve never gets there, nullopt.
// The fit's parameters must be finite (see predict_at); limit and from too.
std::optional<double> breach_time(const CoolingFit& fit, double limit,
                                  std::optional<double> from = std::nullopt);

// Status of one shipment, as crm.cold_chain_alerts reports it.
enum class ShipmentState {
    Breached,          // the last reading is above `upper` or below `lower`
    WillBreach,        // the fitted curve crosses the limit it heads for by as_of + horizon
    Ok,                // within limits and not forecast to leave them within the horizon
    InsufficientData,  // no usable fit (fewer than 3 readings, or no convergence)
};

// "breached", "will breach within horizon", "ok", "insufficient data".
const char* shipment_state_name(ShipmentState state);

struct ShipmentStatus {
    ShipmentState state = ShipmentState::InsufficientData;
    // When the curve is forecast to cross its limit (seconds; maybe after the
    // horizon), set only for a usable fit heading for a finite limit it
    // reaches within a century of the last reading.
    std::optional<double> breach_at;
};

// The decision for a shipment whose latest reading is `last` and whose
// readings gave `fit` (fit_cooling). upper / lower: the limits, NaN for none;
// as_of and horizon in seconds. A fit that stopped short of convergence but
// has finite parameters, tau > 0 and at least 3 readings is still used (a
// nearly straight or noisy series gives its best curve); a flat series is ok.
// A warming curve can only cross the upper limit, a cooling one the lower.
ShipmentStatus shipment_status(const CoolingFit& fit, const Reading& last, double upper, double lower,
                               double as_of, double horizon);

// Readings gathered by the aggregates; merged for parallel aggregation and
// serialised in a portable versioned format.
class ReadingSeries {
public:
    // The readings' blocks come from `memory` (the adapter passes a resource
    // over the aggregate's memory context, so PostgreSQL counts them).
    explicit ReadingSeries(std::pmr::memory_resource* memory = std::pmr::get_default_resource())
        : memory_(memory), blocks_(memory) {}
    // A copy lives in the default resource, as a std::pmr container's does.
    ReadingSeries(const ReadingSeries& other);
    ReadingSeries(ReadingSeries&& other) noexcept;
    ReadingSeries& operator=(const ReadingSeries& other);
    // Takes over other's blocks when both use the same resource, else copies.
    ReadingSeries& operator=(ReadingSeries&& other);
    ~ReadingSeries() { release(); }

    // Non-finite t or temperature: InvalidParameter. True when the reading
    // took a new block (memory_bytes() grew), so a caller checks a memory limit
    // only then.
    bool add(double t, double temperature);
    void merge(const ReadingSeries& other);
    // Readings added, duplicates included.
    std::size_t size() const { return size_; }
    // Heap bytes held (capacities), from counters: called for every row.
    std::size_t memory_bytes() const {
        return blocks_.capacity() * sizeof(Reading*) + capacity_readings_ * sizeof(Reading);
    }
    // Bytes serialize_into() will write.
    std::size_t serialized_size() const { return 3 + 2 * 8 + 16 * size_; }  // tag, version, time encoding
    // Sorted by t; readings sharing a time are averaged into one. The result
    // does not depend on the order of addition or merging.
    std::vector<Reading> sorted_deduplicated() const;

    std::vector<std::uint8_t> serialize() const;
    // The bytes of serialize() appended to w (a value nested in another).
    void serialize_into(ByteWriter& w) const;
    // Truncated, corrupted or non-finite content: InvalidBinary (22P03). The
    // readings are read straight into `memory`.
    static ReadingSeries deserialize(const std::uint8_t* data, std::size_t size,
                                     std::pmr::memory_resource* memory = std::pmr::get_default_resource());

private:
    // Readings are kept in blocks of kBlockReadings (2 KB). The first block
    // grows by doubling from kFirstBlockReadings, so a small group stays
    // small; every later block is allocated once at full size. Blocks of one
    // size are what a memory context's free lists reuse: when thousands of
    // groups grow at once (a fleet's readings arrive interleaved in time),
    // arrays that double leave every smaller array they outgrew on a free
    // list, about three times the data in all. The write position lives in
    // the series itself, so adding a reading touches the state and the
    // block's tail, nothing else.
    static constexpr std::size_t kBlockReadings = 128;
    static constexpr std::size_t kFirstBlockReadings = 4;

    void push(const Reading& r) {
        if (tail_ == tail_end_) grow();
        *tail_++ = r;
        ++size_;
    }
    // Appends get(0) .. get(n - 1), a block's worth at a time.
    template <class Get>
    void append(std::size_t n, Get get) {
        for (std::size_t i = 0; i < n;) {
            if (tail_ == tail_end_) grow();
            const std::size_t take = std::min(static_cast<std::size_t>(tail_end_ - tail_), n - i);
            for (std::size_t j = 0; j < take; ++j) tail_[j] = get(i + j);
            tail_ += take;
            size_ += take;
            i += take;
        }
    }
    void grow();
    void release() noexcept;
    std::size_t block_capacity(std::size_t b) const { return b == 0 ? first_capacity_ : kBlockReadings; }
    std::size_t block_count(std::size_t b) const {
        return b + 1 == blocks_.size() ? static_cast<std::size_t>(tail_ - blocks_[b]) : block_capacity(b);
    }
    void write_arrays(ByteWriter& w) const;
    // Reading i in stored order: block i / kBlockReadings (a first block smaller than that is the only one).
    const Reading& reading_at(std::size_t i) const { return blocks_[i / kBlockReadings][i % kBlockReadings]; }
    // Every reading, in the order stored.
    std::vector<Reading> readings() const;

    std::pmr::memory_resource* memory_;
    std::pmr::vector<Reading*> blocks_;
    Reading* tail_ = nullptr;
    Reading* tail_end_ = nullptr;
    std::size_t size_ = 0;
    std::size_t first_capacity_ = 0;
    std::size_t capacity_readings_ = 0;
};

// Seconds the temperature spent strictly above `limit` (above = true) or
// strictly below it (above = false), taking the temperature as linear between
// consecutive readings, so partial intervals count up to the interpolated
// crossing. `sorted` must be ordered by t (non-decreasing, e.g. from
// sorted_deduplicated()), else InvalidParameter; fewer than 2 readings give 0.
double time_beyond(const std::vector<Reading>& sorted, double limit, bool above);

// Mean kinetic temperature in degrees Celsius of readings in degrees Celsius:
//     MKT = (dH/R) / (-ln(sum_i w_i exp(-dH / (R T_i)) / sum_i w_i)) - 273.15
// with T_i in kelvin, R = 8.314462618 J/(mol K) and dH the activation energy in
// J/mol (83144 J/mol = 83.144 kJ/mol by default, so dH/R is about 10000 K).
//
// Irregular readings are time-weighted: w_i is half the gap to the previous
// reading plus half the gap to the next. The first and last readings have a
// single neighbour and take that whole gap (the missing half-gap mirrors the
// present one), so equally spaced readings get equal weights and the result is
// exactly the textbook unweighted formula; plain trapezoid weights would halve
// the end readings and disagree with it. One reading, or readings all at the
// same time, are weighted equally. `sorted` must be ordered by t
// (sorted_deduplicated() output).
// Empty input, dH <= 0 or non-finite, a temperature below -273.15 or
// non-finite, or unsorted times: InvalidParameter.
double mean_kinetic_temperature(const std::vector<Reading>& sorted,
                                double activation_energy_j_per_mol = 83144.0);

}  // namespace crm
