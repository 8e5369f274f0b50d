// Portable, versioned byte format for serialised states and stored models.
//
// Every value is written little-endian, field by field (never a memcpy of a
// struct), and every blob starts with a tag byte naming what it holds and a
// version byte, so a value written by one build or machine can be read by
// another and a stored value survives an upgrade.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <memory_resource>
#include <vector>

#include "errors.hpp"

namespace crm {

// The byte format is little-endian everywhere; on little-endian hosts arrays
// of doubles are copied in one piece.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
constexpr bool kLittleEndianHost = true;
#else
constexpr bool kLittleEndianHost = false;
#endif

class ByteWriter {
public:
    ByteWriter(std::uint8_t tag, std::uint8_t version) {
        bytes_.push_back(tag);
        bytes_.push_back(version);
    }
    // Room for n more bytes, so that a large value is not copied as it grows.
    void reserve(std::size_t n) { bytes_.reserve(bytes_.size() + n); }
    void u8(std::uint8_t v) { bytes_.push_back(v); }
    void u32(std::uint32_t v) {
        for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void u64(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) bytes_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    void i64(std::int64_t v) { u64(static_cast<std::uint64_t>(v)); }
    void f64(double v) {
        std::uint64_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        u64(bits);
    }
    void f64s(const std::vector<double>& values) { f64s(values.data(), values.size()); }
    void f64s(const std::pmr::vector<double>& values) { f64s(values.data(), values.size()); }
    void f64s(const double* values, std::size_t n) {
        u64(n);
        if constexpr (kLittleEndianHost) {
            // The format is little-endian: on such a host the bytes are the array's own.
            const auto* p = reinterpret_cast<const std::uint8_t*>(values);
            bytes_.insert(bytes_.end(), p, p + 8 * n);
        } else {
            bytes_.reserve(bytes_.size() + 8 * n);
            for (std::size_t i = 0; i < n; ++i) f64(values[i]);
        }
    }
    // n doubles, the i-th get(i): an array written from any layout (e.g. one
    // field of an array of structs) without a contiguous copy first.
    template <class Get>
    void f64s_of(std::size_t n, Get get) {
        u64(n);
        std::size_t at = bytes_.size();
        bytes_.resize(at + 8 * n);
        for (std::size_t i = 0; i < n; ++i, at += 8) {
            const double v = get(i);
            std::uint64_t bits;
            std::memcpy(&bits, &v, sizeof bits);
            if constexpr (kLittleEndianHost) {
                std::memcpy(bytes_.data() + at, &bits, 8);
            } else {
                for (int b = 0; b < 8; ++b) bytes_[at + static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(bits >> (8 * b));
            }
        }
    }
    void str(const std::string& s) {
        u32(static_cast<std::uint32_t>(s.size()));
        bytes_.insert(bytes_.end(), s.begin(), s.end());
    }
    // A nested value: its length, then its bytes.
    void blob(const std::vector<std::uint8_t>& inner) {
        u64(inner.size());
        bytes_.insert(bytes_.end(), inner.begin(), inner.end());
    }
    // A nested value written in place: begin_blob() reserves its length, end_blob() fills it in.
    std::size_t begin_blob() {
        const std::size_t at = bytes_.size();
        u64(0);
        return at;
    }
    void end_blob(std::size_t at) {
        const std::uint64_t n = bytes_.size() - at - 8;
        for (int i = 0; i < 8; ++i) bytes_[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
    }
    const std::vector<std::uint8_t>& bytes() const { return bytes_; }
    std::vector<std::uint8_t> take() { return std::move(bytes_); }

private:
    std::vector<std::uint8_t> bytes_;
};

namespace tags {
constexpr std::uint8_t rfm_sample = 0x52;       // 'R'
constexpr std::uint8_t rfm_accumulator = 0x53;  // 'S'
constexpr std::uint8_t point_set = 0x50;  // 'P'
constexpr std::uint8_t kmeans_model = 0x4B;  // 'K'
constexpr std::uint8_t kmeans_fit_state = 0x4C; // 'L'
constexpr std::uint8_t lloyd_step = 0x4D;       // 'M'
constexpr std::uint8_t series_accumulator = 0x44; // 'D'
constexpr std::uint8_t reading_series = 0x43;  // 'C'
constexpr std::uint8_t uplift_state = 0x55;     // 'U'
constexpr std::uint8_t conversion_state = 0x56; // 'V'
constexpr std::uint8_t clv_fit_state = 0x42;    // 'B' (buy-till-you-die)
constexpr std::uint8_t spend_fit_state = 0x47;  // 'G' (Gamma-Gamma)
constexpr std::uint8_t purchase_history = 0x4F; // 'O' (one customer's orders)
constexpr std::uint8_t basket_rows = 0x54;      // 'T' (transactions)
constexpr std::uint8_t basket_rules_state = 0x51; // 'Q'
constexpr std::uint8_t survey_counts = 0x4E;    // 'N'
constexpr std::uint8_t tree_model = 0x5A;       // 'Z'
constexpr std::uint8_t tree_rows = 0x58;        // 'X'
constexpr std::uint8_t tree_fit_state = 0x59;   // 'Y'
constexpr std::uint8_t binary_metrics_state = 0x41;  // 'A' (AUC)
constexpr std::uint8_t factor_model = 0x46;     // 'F' (ALS / SVD)
constexpr std::uint8_t rfm_sketch_state = 0x48; // 'H' (approximate RFM cut points)
constexpr std::uint8_t quantile_sketch_state = 0x4A; // 'J'
}

// The name of a known tag's value, or nullptr.
inline const char* tag_name(std::uint8_t tag) {
    switch (tag) {
        case tags::rfm_sample: return "RFM sample";
        case tags::rfm_accumulator: return "crm.rfm_thresholds partial state";
        case tags::point_set: return "k-means point set";
        case tags::kmeans_model: return "k-means model";
        case tags::kmeans_fit_state: return "crm.kmeans_fit partial state";
        case tags::lloyd_step: return "crm.kmeans_step partial state";
        case tags::series_accumulator: return "cold-chain partial state";
        case tags::reading_series: return "reading series";
        case tags::uplift_state: return "crm.campaign_uplift partial state";
        case tags::conversion_state: return "crm.conversion_uplift partial state";
        case tags::clv_fit_state: return "BG/NBD and Pareto/NBD fit state";
        case tags::spend_fit_state: return "Gamma-Gamma fit state";
        case tags::purchase_history: return "crm.customer_summary partial state";
        case tags::basket_rows: return "market-basket rows partial state";
        case tags::basket_rules_state: return "crm.association_rules_agg partial state";
        case tags::survey_counts: return "crm.nps / crm.csat partial state";
        case tags::tree_model: return "decision tree model";
        case tags::tree_rows: return "decision tree training rows";
        case tags::tree_fit_state: return "crm.tree_fit partial state";
        case tags::binary_metrics_state: return "crm.binary_metrics partial state";
        case tags::factor_model: return "latent-factor model";
        case tags::rfm_sketch_state: return "crm.rfm_thresholds_approx partial state";
        case tags::quantile_sketch_state: return "crm.quantile_approx partial state";
        default: return nullptr;
    }
}

// Reads what ByteWriter wrote; every read is bounds-checked, so a truncated or
// corrupted value is an error (22P03), never an out-of-bounds read.
class ByteReader {
public:
    ByteReader(const std::uint8_t* data, std::size_t size, std::uint8_t expected_tag,
               std::uint8_t max_version, const char* what)
        : data_(data), size_(size), what_(what) {
        if (size_ >= 2 && data_[0] != expected_tag && tag_name(data_[0]) != nullptr)
            throw Error(ErrorKind::InvalidParameter, std::string("expected a ") + what_ + ", got a " +
                                                         tag_name(data_[0]),
                        "Combine the states of each aggregate with its own _combine aggregate.");
        if (size_ < 2 || data_[0] != expected_tag)
            fail("it is not a serialised " + std::string(what_));
        version_ = data_[1];
        if (version_ == 0 || version_ > max_version)
            fail("unsupported format version " + std::to_string(version_) +
                 " (this build reads up to version " + std::to_string(max_version) + ")");
        pos_ = 2;
    }
    std::uint8_t version() const { return version_; }
    std::uint8_t u8() {
        need(1);
        return data_[pos_++];
    }
    std::uint32_t u32() {
        need(4);
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v |= static_cast<std::uint32_t>(data_[pos_++]) << (8 * i);
        return v;
    }
    std::uint64_t u64() {
        need(8);
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(data_[pos_++]) << (8 * i);
        return v;
    }
    std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
    double f64() {
        const std::uint64_t bits = u64();
        double v;
        std::memcpy(&v, &bits, sizeof v);
        return v;
    }
    std::vector<double> f64s() {
        const std::uint64_t n = u64();
        if (n > (size_ - pos_) / 8) fail("array length exceeds the data");
        std::vector<double> out(static_cast<std::size_t>(n));
        if constexpr (kLittleEndianHost) {
            if (n > 0) std::memcpy(out.data(), data_ + pos_, 8 * static_cast<std::size_t>(n));
            pos_ += 8 * static_cast<std::size_t>(n);
        } else {
            for (auto& v : out) v = f64();
        }
        return out;
    }
    // An array of doubles read straight into `out` (any vector type, e.g. a
    // std::pmr::vector of the state it belongs to): one copy of the data.
    template <class Vector>
    void f64s_into(Vector& out) {
        const std::uint64_t n = u64();
        if (n > (size_ - pos_) / 8) fail("array length exceeds the data");
        out.resize(static_cast<std::size_t>(n));
        if constexpr (kLittleEndianHost) {
            if (n > 0) std::memcpy(out.data(), data_ + pos_, 8 * static_cast<std::size_t>(n));
            pos_ += 8 * static_cast<std::size_t>(n);
        } else {
            for (auto& v : out) v = f64();
        }
    }
    // A bounds-checked view of an array of doubles in the data, read element
    // by element where it is used (no copy of the whole array).
    class F64Array {
    public:
        F64Array(const std::uint8_t* p, std::size_t n) : p_(p), n_(n) {}  // (nullptr, 0): empty
        std::size_t size() const { return n_; }
        double operator[](std::size_t i) const {
            std::uint64_t bits = 0;
            if constexpr (kLittleEndianHost) {
                std::memcpy(&bits, p_ + 8 * i, 8);
            } else {
                for (int b = 0; b < 8; ++b) bits |= static_cast<std::uint64_t>(p_[8 * i + static_cast<std::size_t>(b)]) << (8 * b);
            }
            double v;
            std::memcpy(&v, &bits, sizeof v);
            return v;
        }

    private:
        const std::uint8_t* p_;
        std::size_t n_;
    };
    F64Array f64_array() {
        const std::uint64_t n = u64();
        if (n > (size_ - pos_) / 8) fail("array length exceeds the data");
        const F64Array view(data_ + pos_, static_cast<std::size_t>(n));
        pos_ += 8 * static_cast<std::size_t>(n);
        return view;
    }
    std::string str() {
        const std::uint32_t n = u32();
        need(n);
        std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
        pos_ += n;
        return s;
    }
    // A view of the next n bytes (a nested value), bounds-checked.
    const std::uint8_t* take(std::uint64_t n) {
        if (n > size_ - pos_) fail("the value is truncated");
        const std::uint8_t* p = data_ + pos_;
        pos_ += static_cast<std::size_t>(n);
        return p;
    }
    void expect_end() const {
        if (pos_ != size_) fail("trailing bytes after the value");
    }

private:
    void need(std::size_t n) const {
        if (n > size_ - pos_) fail("the value is truncated");
    }
    [[noreturn]] void fail(const std::string& why) const {
        throw Error(ErrorKind::InvalidBinary, std::string("invalid ") + what_ + " value: " + why);
    }

    const std::uint8_t* data_;
    std::size_t size_;
    const char* what_;
    std::size_t pos_ = 0;
    std::uint8_t version_ = 0;
};

// Tags of the serialised values; one per state or model type, never reused.

}  // namespace crm
