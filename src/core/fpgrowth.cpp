#include "fpgrowth.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <string>

#include "errors.hpp"
#include "interrupts.hpp"

namespace crm {

namespace {

constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
const char* const kRaiseSupportHint = "Raise the minimum support or lower max_len.";

template <class T>
std::size_t capacity_bytes(const std::vector<T>& v) {
    return v.capacity() * sizeof(T);
}

// Bytes held by the mining's structures, checked against the caller's limit
// whenever a structure grows.
class MemoryMeter {
public:
    explicit MemoryMeter(std::size_t limit) : limit_(limit) {}
    // Only growth is checked, so giving bytes back never throws.
    void adjust(std::size_t& held, std::size_t now) {
        const bool grows = now > held;
        total_ = total_ - held + now;
        held = now;
        peak_ = std::max(peak_, total_);
        if (grows && total_ > limit_)
            throw_error(ErrorKind::OutOfMemory,
                        "frequent itemset mining needs more than its memory limit of " + std::to_string(limit_) +
                            " bytes",
                        kRaiseSupportHint);
    }
    std::size_t peak() const { return peak_; }

private:
    std::size_t limit_;
    std::size_t total_ = 0;
    std::size_t peak_ = 0;
};

// The bytes one structure holds on a meter, given back when it goes away.
class Charge {
public:
    explicit Charge(MemoryMeter& meter) : meter_(meter) {}
    ~Charge() { release(); }
    Charge(const Charge&) = delete;
    Charge& operator=(const Charge&) = delete;
    void set(std::size_t bytes) { meter_.adjust(held_, bytes); }
    void release() noexcept {
        if (held_ > 0) meter_.adjust(held_, 0);
    }

private:
    MemoryMeter& meter_;
    std::size_t held_ = 0;
};

// Weighted paths, each an ascending run of local item ids (root to leaf).
struct Paths {
    std::vector<std::uint32_t> items;
    std::vector<std::size_t> offsets{0};
    std::vector<std::int64_t> weights;

    std::size_t size() const { return weights.size(); }
    std::size_t bytes() const { return capacity_bytes(items) + capacity_bytes(offsets) + capacity_bytes(weights); }
    void clear() {
        items.clear();
        offsets.assign(1, 0);
        weights.clear();
    }
    void close(std::int64_t weight) {
        offsets.push_back(items.size());
        weights.push_back(weight);
    }
};

// Scratch of a tree build, kept between builds so that the many small
// conditional trees do not allocate.
struct BuildScratch {
    std::vector<std::uint32_t> order;
    std::vector<std::uint32_t> chain;
    std::vector<std::uint32_t> fill;
    std::size_t bytes() const { return capacity_bytes(order) + capacity_bytes(chain) + capacity_bytes(fill); }
};

// An FP-tree in flat arrays. Items are local ids 0 .. m-1 whose order is the
// global order (most frequent first), so a path from the root has ascending
// ids. Node 0 is the root.
struct FpTree {
    std::vector<std::uint32_t> to_global;  // local id -> global rank
    std::vector<std::int64_t> support;     // local id -> count in this (conditional) database
    std::vector<std::uint32_t> node_item;
    std::vector<std::uint32_t> node_parent;
    std::vector<std::int64_t> node_count;
    std::vector<std::uint32_t> header_start;  // nodes of item i: header_nodes[header_start[i] .. [i + 1])
    std::vector<std::uint32_t> header_nodes;

    std::size_t item_count() const { return to_global.size(); }
    std::size_t bytes() const {
        return capacity_bytes(to_global) + capacity_bytes(support) + capacity_bytes(node_item) +
               capacity_bytes(node_parent) + capacity_bytes(node_count) + capacity_bytes(header_start) +
               capacity_bytes(header_nodes);
    }
    // Nodes are created parent first, so the tree is one chain exactly when
    // every node's parent is the node created before it.
    bool single_path() const {
        for (std::size_t v = 1; v < node_parent.size(); ++v)
            if (node_parent[v] != v - 1) return false;
        return true;
    }

    // Builds the tree from paths over `m` local items. Each path is compared
    // with the previous one only, so paths sharing a prefix must be adjacent
    // for the prefix to become one node: the paths are put in depth-first
    // order of the trie they form (lexicographic, a path after its
    // extensions). The prefix paths of a tree's nodes come in that order
    // already unless an infrequent item was dropped from them, so the sort is
    // skipped when a linear check finds them in order.
    void build(const Paths& paths, std::size_t m, BuildScratch& scratch, InterruptTicker& ticker) {
        auto& order = scratch.order;
        order.resize(paths.size());
        std::iota(order.begin(), order.end(), 0u);
        const auto less = [&paths](std::uint32_t a, std::uint32_t b) {
            const std::uint32_t* x = paths.items.data() + paths.offsets[a];
            const std::uint32_t* x_end = paths.items.data() + paths.offsets[a + 1];
            const std::uint32_t* y = paths.items.data() + paths.offsets[b];
            const std::uint32_t* y_end = paths.items.data() + paths.offsets[b + 1];
            for (; x != x_end && y != y_end; ++x, ++y)
                if (*x != *y) return *x < *y;
            return x != x_end && y == y_end;  // an extension before its prefix
        };
        if (!std::is_sorted(order.begin(), order.end(), less))
            std::sort(order.begin(), order.end(), ticking(ticker, less));

        node_item.assign(1, kNone);
        node_parent.assign(1, kNone);
        node_count.assign(1, 0);
        auto& chain = scratch.chain;  // the nodes of the previous path
        chain.clear();
        const std::uint32_t* prev = nullptr;
        std::size_t prev_len = 0;
        for (const std::uint32_t p : order) {
            ticker.tick();
            const std::uint32_t* items = paths.items.data() + paths.offsets[p];
            const std::size_t len = paths.offsets[p + 1] - paths.offsets[p];
            const std::int64_t w = paths.weights[p];
            std::size_t common = 0;
            while (common < len && common < prev_len && items[common] == prev[common]) ++common;
            chain.resize(common);
            for (const std::uint32_t v : chain) node_count[v] += w;
            for (std::size_t k = common; k < len; ++k) {
                if (node_item.size() >= kNone)
                    throw_error(ErrorKind::ProgramLimitExceeded, "an FP-tree would have more than 2^32 - 1 nodes",
                                kRaiseSupportHint);
                node_parent.push_back(chain.empty() ? 0 : chain.back());
                chain.push_back(static_cast<std::uint32_t>(node_item.size()));
                node_item.push_back(items[k]);
                node_count.push_back(w);
            }
            prev = items;
            prev_len = len;
        }

        header_start.assign(m + 1, 0);
        support.assign(m, 0);
        for (std::size_t v = 1; v < node_item.size(); ++v) {
            ++header_start[node_item[v] + 1];
            support[node_item[v]] += node_count[v];
        }
        std::partial_sum(header_start.begin(), header_start.end(), header_start.begin());
        header_nodes.resize(node_item.size() - 1);
        auto& fill = scratch.fill;
        fill.assign(header_start.begin(), header_start.end() - 1);
        for (std::size_t v = 1; v < node_item.size(); ++v)
            header_nodes[fill[node_item[v]]++] = static_cast<std::uint32_t>(v);
    }
};

// Everything one recursion depth needs: the tree mined at that depth, the
// paths and scratch it was built from, and the scratch for its conditional
// pattern bases. Kept for the whole mining, so buffers are reused.
struct Frame {
    explicit Frame(MemoryMeter& meter) : charge(meter) {}
    FpTree tree;
    Paths paths;
    BuildScratch build;
    std::vector<std::uint32_t> raw;       // the prefix paths as walked, leaf to root
    std::vector<std::size_t> raw_end;     // where each walked path ends in raw
    std::vector<std::int64_t> cond_count; // zero between uses
    std::vector<std::uint32_t> remap;     // kNone between uses
    std::vector<std::uint32_t> touched;
    Charge charge;

    void recharge() {
        charge.set(tree.bytes() + paths.bytes() + build.bytes() + capacity_bytes(raw) + capacity_bytes(raw_end) +
                   capacity_bytes(cond_count) + capacity_bytes(remap) + capacity_bytes(touched));
    }
};

class Miner {
public:
    Miner(const FpGrowthOptions& options, std::vector<ItemId> rank_to_dense)
        : options_(options),
          meter_(options.memory_limit_bytes),
          out_charge_(meter_),
          rank_to_dense_(std::move(rank_to_dense)) {}

    // Mines the tree of frame `depth`, whose every item is frequent given the
    // prefix.
    void mine(std::size_t depth) {
        Frame& frame = this->frame(depth);
        const FpTree& tree = frame.tree;
        const std::size_t m = tree.item_count();
        if (frame.cond_count.size() < m) {
            frame.cond_count.resize(m, 0);
            frame.remap.resize(m, kNone);
            frame.recharge();
        }
        for (std::size_t j = 0; j < m; ++j) {
            check_interrupts();
            prefix_.push_back(tree.to_global[j]);
            emit(tree.support[j]);
            if (prefix_.size() < static_cast<std::size_t>(options_.max_len) && j > 0) {
                Frame& child = this->frame(depth + 1);  // frames are stable: held by pointer
                if (conditional_tree(frame, j, child)) {
                    if (child.tree.single_path())
                        emit_chain(child.tree, 1);
                    else
                        mine(depth + 1);
                }
            }
            prefix_.pop_back();
        }
    }

    // The first tree, from the baskets, in frame 0.
    void build_root(const Transactions& baskets, const std::vector<std::uint32_t>& dense_to_rank,
                    std::size_t frequent) {
        Frame& root = frame(0);
        Paths& paths = root.paths;
        paths.items.reserve(estimate_items(baskets, dense_to_rank));
        paths.offsets.reserve(baskets.basket_count() + 1);
        paths.weights.reserve(baskets.basket_count());
        root.build.order.reserve(baskets.basket_count());
        root.recharge();
        for (std::size_t b = 0; b < baskets.basket_count(); ++b) {
            const std::size_t first = paths.items.size();
            for (const ItemId* it = baskets.begin(b); it != baskets.end(b); ++it) {
                ticker_.tick();
                if (dense_to_rank[*it] != kNone) paths.items.push_back(dense_to_rank[*it]);
            }
            if (paths.items.size() == first) continue;
            std::sort(paths.items.begin() + first, paths.items.end());
            paths.close(1);
        }
        root.tree.to_global.resize(frequent);
        std::iota(root.tree.to_global.begin(), root.tree.to_global.end(), 0u);
        root.tree.build(paths, frequent, root.build, ticker_);
        // The baskets' paths are not needed again: give their memory back.
        paths = Paths();
        root.build = BuildScratch();
        root.recharge();
    }

    // Items with `frequent` ranks; collected without trees (max_len 1).
    void emit_singletons(const std::vector<std::int64_t>& rank_count) {
        for (std::size_t r = 0; r < rank_count.size(); ++r) {
            prefix_.assign(1, static_cast<std::uint32_t>(r));
            emit(rank_count[r]);
        }
        prefix_.clear();
    }

    MemoryMeter& meter() { return meter_; }

    static std::size_t estimate_items(const Transactions& baskets, const std::vector<std::uint32_t>& dense_to_rank) {
        std::size_t n = 0;
        for (std::size_t i = 0; i < dense_to_rank.size(); ++i)
            if (dense_to_rank[i] != kNone) n += static_cast<std::size_t>(baskets.item_counts()[i]);
        return n;
    }

    // Builds in `child` the conditional FP-tree of item j of parent's tree:
    // the prefix paths of j's nodes, weighted by the nodes' counts, keeping
    // the items frequent in them. Returns false when no item is. The parent
    // chains are walked once, into a flat buffer read twice.
    bool conditional_tree(Frame& parent, std::size_t j, Frame& child) {
        const FpTree& tree = parent.tree;
        auto& raw = parent.raw;
        auto& raw_end = parent.raw_end;
        auto& cond_count = parent.cond_count;
        auto& remap = parent.remap;
        auto& touched = parent.touched;
        const std::uint32_t* first = tree.header_nodes.data() + tree.header_start[j];
        const std::uint32_t* last = tree.header_nodes.data() + tree.header_start[j + 1];
        raw.clear();
        raw_end.clear();
        touched.clear();
        for (const std::uint32_t* v = first; v != last; ++v) {
            const std::int64_t c = tree.node_count[*v];
            for (std::uint32_t u = tree.node_parent[*v]; u != 0; u = tree.node_parent[u]) {
                ticker_.tick();
                const std::uint32_t item = tree.node_item[u];
                raw.push_back(item);
                if (cond_count[item] == 0) touched.push_back(item);
                cond_count[item] += c;
            }
            raw_end.push_back(raw.size());
        }
        std::sort(touched.begin(), touched.end());
        FpTree& out = child.tree;
        out.to_global.clear();
        for (const std::uint32_t i : touched) {
            if (cond_count[i] >= options_.min_count) {
                remap[i] = static_cast<std::uint32_t>(out.to_global.size());
                out.to_global.push_back(tree.to_global[i]);
            }
        }
        const bool any = !out.to_global.empty();
        if (any) {
            Paths& paths = child.paths;
            paths.clear();
            std::size_t begin = 0;
            for (std::size_t k = 0; k < raw_end.size(); ++k) {
                // Walked leaf to root: read backwards for root to leaf.
                const std::size_t start = paths.items.size();
                for (std::size_t r = raw_end[k]; r > begin; --r)
                    if (remap[raw[r - 1]] != kNone) paths.items.push_back(remap[raw[r - 1]]);
                if (paths.items.size() != start) paths.close(tree.node_count[first[k]]);
                begin = raw_end[k];
            }
            out.build(paths, out.to_global.size(), child.build, ticker_);
        }
        for (const std::uint32_t i : touched) {
            cond_count[i] = 0;
            remap[i] = kNone;
        }
        parent.recharge();
        if (any) child.recharge();
        return any;
    }

    Frame& frame(std::size_t depth) {
        while (frames_.size() <= depth) frames_.push_back(std::make_unique<Frame>(meter_));
        return *frames_[depth];
    }

    // A single-path tree: every combination of its nodes is frequent, with
    // the count of its deepest node (counts do not grow down a path).
    void emit_chain(const FpTree& chain, std::size_t from) {
        for (std::size_t v = from; v < chain.node_item.size(); ++v) {
            prefix_.push_back(chain.to_global[chain.node_item[v]]);
            emit(chain.node_count[v]);
            if (prefix_.size() < static_cast<std::size_t>(options_.max_len)) emit_chain(chain, v + 1);
            prefix_.pop_back();
        }
    }

    void emit(std::int64_t count) {
        ticker_.tick();
        if (out_counts_.size() >= options_.max_itemsets)
            throw_error(ErrorKind::ProgramLimitExceeded,
                        "more than " + std::to_string(options_.max_itemsets) + " frequent itemsets",
                        kRaiseSupportHint);
        const std::size_t before = out_items_.capacity() + out_counts_.capacity();
        out_items_.insert(out_items_.end(), prefix_.begin(), prefix_.end());
        out_offsets_.push_back(out_items_.size());
        out_counts_.push_back(count);
        if (out_items_.capacity() + out_counts_.capacity() != before)
            out_charge_.set(capacity_bytes(out_items_) + capacity_bytes(out_offsets_) + capacity_bytes(out_counts_));
    }

    // Turns ranks into dense ids and sorts: by length, then items.
    // (Output arrays of FrequentItemsets, filled by its friend.)
    void assemble(std::vector<ItemId>& items, std::vector<std::size_t>& offsets, std::vector<std::int64_t>& counts,
                  std::vector<std::size_t>& length_start) {
        const std::size_t n = out_counts_.size();
        for (std::size_t i = 0; i < n; ++i) {
            auto* first = out_items_.data() + out_offsets_[i];
            auto* last = out_items_.data() + out_offsets_[i + 1];
            for (auto* p = first; p != last; ++p) *p = rank_to_dense_[*p];
            std::sort(first, last);
        }
        std::vector<std::size_t> order(n);
        std::iota(order.begin(), order.end(), std::size_t{0});
        const auto less = [this](std::size_t a, std::size_t b) {
            const std::size_t la = out_offsets_[a + 1] - out_offsets_[a];
            const std::size_t lb = out_offsets_[b + 1] - out_offsets_[b];
            if (la != lb) return la < lb;
            return std::lexicographical_compare(out_items_.begin() + out_offsets_[a],
                                                out_items_.begin() + out_offsets_[a + 1],
                                                out_items_.begin() + out_offsets_[b],
                                                out_items_.begin() + out_offsets_[b + 1]);
        };
        Charge sort_charge(meter_);
        sort_charge.set(capacity_bytes(order) + capacity_bytes(out_items_) + capacity_bytes(out_offsets_) +
                        capacity_bytes(out_counts_));
        std::sort(order.begin(), order.end(), ticking(ticker_, less));

        items.reserve(out_items_.size());
        offsets.reserve(n + 1);
        counts.reserve(n);
        for (const std::size_t i : order) {
            items.insert(items.end(), out_items_.begin() + out_offsets_[i], out_items_.begin() + out_offsets_[i + 1]);
            offsets.push_back(items.size());
            counts.push_back(out_counts_[i]);
            while (length_start.size() < out_offsets_[i + 1] - out_offsets_[i]) length_start.push_back(counts.size() - 1);
        }
        length_start.push_back(n);
    }

private:
    const FpGrowthOptions& options_;
    MemoryMeter meter_;
    Charge out_charge_;
    std::vector<ItemId> rank_to_dense_;
    InterruptTicker ticker_;
    std::vector<std::uint32_t> prefix_;  // global ranks
    std::vector<std::uint32_t> out_items_;
    std::vector<std::size_t> out_offsets_{0};
    std::vector<std::int64_t> out_counts_;
    std::vector<std::unique_ptr<Frame>> frames_;  // by recursion depth
};

void check_options(const Transactions& baskets, const FpGrowthOptions& options) {
    if (options.min_count < 1)
        throw_invalid("the minimum count must be at least 1, got " + std::to_string(options.min_count));
    if (options.max_len < 1) throw_invalid("max_len must be at least 1, got " + std::to_string(options.max_len));
    if (options.only_items)
        for (const ItemId id : *options.only_items)
            if (id >= baskets.item_count()) throw_invalid("item id " + std::to_string(id) + " is out of range");
}

// The frequent items in rank order (count descending, dense id ascending) and
// the dense-id -> rank map (kNone for the others).
void rank_items(const Transactions& baskets, const FpGrowthOptions& options, std::vector<ItemId>& rank_to_dense,
                std::vector<std::uint32_t>& dense_to_rank) {
    const auto& counts = baskets.item_counts();
    std::vector<char> allowed(baskets.item_count(), options.only_items ? 0 : 1);
    if (options.only_items)
        for (const ItemId id : *options.only_items) allowed[id] = 1;
    rank_to_dense.clear();
    for (std::size_t i = 0; i < counts.size(); ++i)
        if (allowed[i] && counts[i] >= options.min_count) rank_to_dense.push_back(static_cast<ItemId>(i));
    std::sort(rank_to_dense.begin(), rank_to_dense.end(), [&counts](ItemId a, ItemId b) {
        return counts[a] != counts[b] ? counts[a] > counts[b] : a < b;
    });
    dense_to_rank.assign(baskets.item_count(), kNone);
    for (std::size_t r = 0; r < rank_to_dense.size(); ++r) dense_to_rank[rank_to_dense[r]] = static_cast<std::uint32_t>(r);
}

}  // namespace

std::int64_t min_count_for_support(double min_support, std::int64_t basket_count) {
    if (!(min_support >= 0.0 && min_support <= 1.0))
        throw_invalid("the minimum support must be between 0 and 1, got " + std::to_string(min_support));
    if (basket_count < 0) throw_invalid("the number of baskets must not be negative");
    // The same expression as arules' (int)ceil(tacnt * supp): the product is
    // rounded to double first, no epsilon.
    const auto count = static_cast<std::int64_t>(std::ceil(static_cast<double>(basket_count) * min_support));
    return std::max<std::int64_t>(count, 1);
}

std::int64_t FrequentItemsets::find_count(const ItemId* items, std::size_t n) const {
    if (n == 0) return basket_count_;
    if (n >= length_start_.size()) return -1;
    // Itemsets of length n are contiguous and sorted: binary search them.
    std::size_t lo = length_start_[n - 1];
    std::size_t hi = length_start_[n];
    while (lo < hi) {
        const std::size_t mid = lo + (hi - lo) / 2;
        const ItemId* m = begin(mid);
        if (std::lexicographical_compare(m, m + n, items, items + n))
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < length_start_[n] && std::equal(items, items + n, begin(lo))) return counts_[lo];
    return -1;
}

std::size_t FrequentItemsets::memory_bytes() const {
    return capacity_bytes(offsets_) + capacity_bytes(items_) + capacity_bytes(counts_) + capacity_bytes(length_start_);
}

std::size_t estimate_fpgrowth_bytes(const Transactions& baskets, const FpGrowthOptions& options) {
    check_options(baskets, options);
    std::vector<ItemId> rank_to_dense;
    std::vector<std::uint32_t> dense_to_rank;
    rank_items(baskets, options, rank_to_dense, dense_to_rank);
    std::size_t kept = 0;
    for (const ItemId id : rank_to_dense) kept += static_cast<std::size_t>(baskets.item_counts()[id]);
    const std::size_t b = baskets.basket_count();
    // Paths: 4 bytes an item, 8 + 8 + 4 a basket (offset, weight, order);
    // tree: at most one node an item, 4 + 4 + 8 + 4 bytes a node (item,
    // parent, count, header); 8 + 4 + 4 an item for the maps.
    return 4 * kept + 20 * (b + 1) + 20 * (kept + 1) + 16 * (rank_to_dense.size() + 1) + 12 * baskets.item_count();
}

FrequentItemsets mine_frequent_itemsets(const Transactions& baskets, const FpGrowthOptions& options) {
    check_options(baskets, options);
    std::vector<ItemId> rank_to_dense;
    std::vector<std::uint32_t> dense_to_rank;
    rank_items(baskets, options, rank_to_dense, dense_to_rank);
    std::vector<std::int64_t> rank_count(rank_to_dense.size());
    for (std::size_t r = 0; r < rank_to_dense.size(); ++r) rank_count[r] = baskets.item_counts()[rank_to_dense[r]];
    const std::size_t frequent = rank_to_dense.size();

    Miner miner(options, std::move(rank_to_dense));
    Charge maps(miner.meter());
    maps.set(capacity_bytes(dense_to_rank) + capacity_bytes(rank_count) + 4 * frequent);
    if (options.max_len == 1 || frequent <= 1) {
        miner.emit_singletons(rank_count);
    } else {
        // Refuse up front what cannot fit, before building anything.
        const std::size_t estimate = estimate_fpgrowth_bytes(baskets, options);
        if (estimate > options.memory_limit_bytes)
            throw_error(ErrorKind::OutOfMemory,
                        "frequent itemset mining needs about " + std::to_string(estimate) +
                            " bytes for its first tree, more than its memory limit of " +
                            std::to_string(options.memory_limit_bytes) + " bytes",
                        kRaiseSupportHint);
        miner.build_root(baskets, dense_to_rank, frequent);
        miner.mine(0);
    }
    FrequentItemsets result;
    miner.assemble(result.items_, result.offsets_, result.counts_, result.length_start_);
    result.basket_count_ = static_cast<std::int64_t>(baskets.basket_count());
    result.min_count_ = options.min_count;
    result.max_len_ = options.max_len;
    result.peak_bytes_ = miner.meter().peak();
    return result;
}

}  // namespace crm
