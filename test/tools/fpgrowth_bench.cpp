// FP-growth benchmark on generated baskets (built by CMake, not run by ctest):
//   build/fpgrowth_bench [baskets=1000000] [min_support=0.0005] [max_len=4] [seed=42]
// Baskets of 5 to 15 items (about 10) from a 10,000-item catalogue whose
// popularity falls as 1/rank (long tail), with 300 planted groups of 2 to 4
// items bought together, each in a share of the baskets. The random stream is
// splitmix64, so a seed gives the same baskets on every platform.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "association_rules.hpp"
#include "basket_transactions.hpp"
#include "fpgrowth.hpp"

namespace {

struct SplitMix64 {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    std::uint64_t below(std::uint64_t n) { return next() % n; }
};

// Samples index i with probability proportional to 1 / (i + 1).
class LongTail {
public:
    explicit LongTail(std::size_t n) : cumulative_(n) {
        double sum = 0;
        for (std::size_t i = 0; i < n; ++i) cumulative_[i] = sum += 1.0 / static_cast<double>(i + 1);
    }
    std::size_t sample(SplitMix64& rng) const {
        const double u = rng.uniform() * cumulative_.back();
        return static_cast<std::size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), u) -
                                        cumulative_.begin());
    }

private:
    std::vector<double> cumulative_;
};

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t n_baskets = argc > 1 ? std::stoull(argv[1]) : 1000000;
    const double min_support = argc > 2 ? std::stod(argv[2]) : 0.0005;
    const int max_len = argc > 3 ? std::stoi(argv[3]) : 4;
    const std::uint64_t seed = argc > 4 ? std::stoull(argv[4]) : 42;
    constexpr std::size_t kCatalogue = 10000;
    constexpr std::size_t kPatterns = 300;

    SplitMix64 rng{seed};
    const LongTail popularity(kCatalogue);
    // Planted groups: items from ranks 50..5000, so they are not merely popular.
    std::vector<std::vector<std::int64_t>> patterns(kPatterns);
    for (auto& p : patterns) {
        const std::size_t size = 2 + rng.below(3);
        while (p.size() < size) p.push_back(static_cast<std::int64_t>(50 + rng.below(4950)));
    }
    const LongTail pattern_popularity(kPatterns);

    auto t = std::chrono::steady_clock::now();
    crm::TransactionBuilder builder;
    std::size_t rows = 0;
    for (std::size_t b = 0; b < n_baskets; ++b) {
        const std::size_t size = 5 + rng.below(11);
        // Streamed as (basket, item) rows, as an aggregate receives them.
        for (std::size_t i = 0; i < size; ++i, ++rows)
            builder.add(static_cast<std::int64_t>(b), static_cast<std::int64_t>(popularity.sample(rng)));
        if (rng.uniform() < 0.3)
            for (const auto item : patterns[pattern_popularity.sample(rng)]) {
                builder.add(static_cast<std::int64_t>(b), item);
                ++rows;
            }
    }
    const double generate_s = seconds_since(t);
    const std::size_t builder_bytes = builder.memory_bytes();
    const std::size_t finish_estimate = builder.estimate_finish_bytes();

    t = std::chrono::steady_clock::now();
    const crm::Transactions baskets = builder.finish();
    const double finish_s = seconds_since(t);

    crm::FpGrowthOptions fo;
    fo.min_count = crm::min_count_for_support(min_support, static_cast<std::int64_t>(baskets.basket_count()));
    fo.max_len = max_len;
    const std::size_t estimate = crm::estimate_fpgrowth_bytes(baskets, fo);
    t = std::chrono::steady_clock::now();
    const crm::FrequentItemsets sets = crm::mine_frequent_itemsets(baskets, fo);
    const double mine_s = seconds_since(t);

    crm::RuleOptions ro;
    ro.min_confidence = 0.5;
    ro.max_len = max_len;
    t = std::chrono::steady_clock::now();
    const auto rules = crm::association_rules(sets, ro);
    const double rules_s = seconds_since(t);

    std::vector<std::size_t> by_length(static_cast<std::size_t>(max_len) + 1, 0);
    for (std::size_t i = 0; i < sets.size(); ++i) ++by_length[sets.length(i)];
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);

    std::printf("baskets %zu, rows %zu, distinct pairs %zu, items %zu, seed %llu\n", baskets.basket_count(), rows,
                baskets.pair_count(), baskets.item_count(), static_cast<unsigned long long>(seed));
    std::printf("min_support %g -> min_count %lld, max_len %d\n", min_support, static_cast<long long>(fo.min_count),
                max_len);
    std::printf("generate+add   %8.3f s  builder %.1f MB (finish adds <= %.1f MB)\n", generate_s, builder_bytes / 1e6,
                finish_estimate / 1e6);
    std::printf("finish (CSR)   %8.3f s  transactions %.1f MB\n", finish_s, baskets.memory_bytes() / 1e6);
    std::printf("FP-growth      %8.3f s  %zu itemsets, peak %.1f MB (first-tree estimate %.1f MB)\n", mine_s,
                sets.size(), sets.peak_memory_bytes() / 1e6, estimate / 1e6);
    std::printf("  by length:");
    for (std::size_t k = 1; k < by_length.size(); ++k) std::printf(" %zu:%zu", k, by_length[k]);
    std::printf("\nrules (conf 0.5) %6.3f s  %zu rules\n", rules_s, rules.size());
    std::printf("max RSS %.1f MB\n", usage.ru_maxrss / 1e3);
    return 0;
}
