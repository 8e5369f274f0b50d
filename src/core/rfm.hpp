// RFM (recency, frequency, monetary) scoring.
//
// Scores run 1..bins; higher is better for every score, so for recency
// (days since the last order, lower is better) the bins are reversed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <memory_resource>
#include <vector>

namespace crm {

class ByteWriter;

// Rejects bins outside 2..10 (22023).
void check_rfm_bins(int bins);

// The bin count an aggregate state keeps: `incoming` (checked by
// check_rfm_bins) when the state has none yet (current == 0), else `current`,
// which `incoming` must equal (InvalidParameter: "bins must be the same on
// every row"). Callers skip empty states (bins 0) before merging.
int agree_on_bins(int current, int incoming);

// Cut points that turn R, F and M values into scores: bins - 1 per measure.
struct RfmThresholds {
    int bins = 5;
    std::int64_t customers = 0;  // how many customers the cut points were learned from
    std::vector<double> recency;
    std::vector<double> frequency;
    std::vector<double> monetary;
};

struct RfmScores {
    int r = 0;
    int f = 0;
    int m = 0;
};

// Scores of one customer with right-closed intervals: equal values always get
// equal scores; when cut points coincide some scores are skipped.
RfmScores score_customer(const RfmThresholds& thresholds, double recency_days, double frequency,
                         double monetary);

// The RFM cell: "545" for bins up to 9, "10-9-8" (dash-separated) for bins = 10.
std::string rfm_cell(const RfmScores& scores, int bins);

// The R, F, M values of a population, gathered by an aggregate or a query.
// Learns quantile cut points and scores everyone at once.
class RfmSample {
public:
    // The sample's arrays come from `memory` (the adapter passes a resource
    // over the aggregate's memory context, so PostgreSQL counts them).
    explicit RfmSample(std::pmr::memory_resource* memory = std::pmr::get_default_resource())
        : recency_(memory), frequency_(memory), monetary_(memory) {}
    std::size_t memory_bytes() const {
        return (recency_.capacity() + frequency_.capacity() + monetary_.capacity()) * sizeof(double);
    }
    void add(double recency_days, double frequency, double monetary);
    void merge(const RfmSample& other);
    std::size_t size() const { return recency_.size(); }
    void reserve(std::size_t n);

    const std::pmr::vector<double>& recency() const { return recency_; }
    const std::pmr::vector<double>& frequency() const { return frequency_; }
    const std::pmr::vector<double>& monetary() const { return monetary_; }

    // Cut points at the 1/bins ... (bins-1)/bins quantiles (type 7). An empty
    // sample gives empty cut points (everyone would score 1).
    RfmThresholds thresholds(int bins) const;

    // Scores every customer in the order added.
    // 'quantile': by the thresholds above. 'ntile': SQL's NTILE(bins) with ties
    // ordered by the value and then by the order of addition (add customers in
    // key order to reproduce NTILE(...) OVER (ORDER BY value, key)); recency is
    // ranked descending so the most recent get the top score.
    std::vector<RfmScores> score_all_quantile(int bins) const;
    std::vector<RfmScores> score_all_ntile(int bins) const;

    // Portable versioned bytes for parallel aggregation.
    std::vector<std::uint8_t> serialize() const;
    // serialize() written into an enclosing value: the same bytes as w.blob(serialize()), one copy fewer.
    void serialize_into(ByteWriter& w) const;
    static RfmSample deserialize(const std::uint8_t* data, std::size_t size,
                                 std::pmr::memory_resource* memory = std::pmr::get_default_resource());

private:
    std::pmr::vector<double> recency_;
    std::pmr::vector<double> frequency_;
    std::pmr::vector<double> monetary_;
};

// State of the thresholds aggregate: the sample plus the bin count, which
// must be the same on every row.
struct RfmAccumulator {
    int bins = 0;  // 0 until the first row
    RfmSample sample;

    explicit RfmAccumulator(std::pmr::memory_resource* memory = std::pmr::get_default_resource())
        : sample(memory) {}
    std::size_t memory_bytes() const { return sizeof(*this) + sample.memory_bytes(); }

    void add(int row_bins, double recency_days, double frequency, double monetary);
    void merge(const RfmAccumulator& other);
    std::vector<std::uint8_t> serialize() const;
    // The state's arrays are read straight into `memory` (the adapter passes
    // the aggregate's), so a partial state from a parallel worker is copied once.
    static RfmAccumulator deserialize(const std::uint8_t* data, std::size_t size,
                                      std::pmr::memory_resource* memory = std::pmr::get_default_resource());
};

}  // namespace crm
