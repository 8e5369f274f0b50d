// Accuracy check of the collaborative-filtering core on MovieLens 100k.
//
//   cf_movielens [--tune] [ratings.tsv]
//
// The file holds "user item rating [fold]" per line, tab- or space-separated,
// with an optional header line (default: ../shared ml100k_folds.tsv, whose fold
// column is Surprise's KFold(n_splits=5, random_state=0) split). Without a fold
// column the rows are split by cross_validate's own shuffle (seed 0).
//
// Prints, for every similarity, per-fold and mean RMSE/MAE of predict() (compare
// with Surprise KNNWithMeans: msd 0.951 / 0.749, cosine 0.9556 / 0.7545, pearson
// 0.9495 / 0.7438), then precision@10 / recall@10 on fold 0 used as an 80/20
// split (relevant = held-out rating >= 4, training items excluded) for "most
// popular" and for recommend(). --tune adds a table over neighbour vectors and k.
//
// Exit status: 0 on success, 1 when the file cannot be read, 2 on bad usage.
// Build (from the repository root):
//   g++ -std=c++17 -O2 -Isrc/core -I/usr/include/eigen3 src/core/cf.cpp src/core/errors.cpp
//       src/core/interrupts.cpp test/tools/cf_movielens.cpp -o cf_movielens
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cf.hpp"
#include "errors.hpp"

namespace {

struct Data {
    std::vector<crm::Rating> ratings;
    std::vector<int> fold;  // empty when the file has no fold column
};

bool read_data(const std::string& path, Data& data) {
    std::ifstream in(path);
    if (!in) return false;
    std::string line;
    bool first = true;  // the first non-empty line may be a header
    bool has_fold = false;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        std::istringstream fields(line);
        long long user = 0, item = 0;
        double rating = 0;
        if (!(fields >> user >> item >> rating)) {
            if (first && data.ratings.empty()) {
                first = false;
                continue;
            }
            std::cerr << "cannot parse line: " << line << "\n";
            return false;
        }
        int fold = -1;
        const bool got_fold = static_cast<bool>(fields >> fold);
        if (data.ratings.empty()) has_fold = got_fold;  // the first data line decides
        first = false;
        data.ratings.push_back({user, item, rating});
        if (has_fold) data.fold.push_back(got_fold ? fold : -1);
    }
    return true;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One train/test split for top-N: the users with at least one relevant test
// item and those items (training items excluded), as cross_validate defines them.
struct TopNSplit {
    std::vector<crm::Rating> train;
    std::vector<std::int64_t> users;
    std::vector<std::set<std::int64_t>> relevant;
};

TopNSplit make_split(const Data& data, int test_fold, double threshold) {
    TopNSplit s;
    std::map<std::int64_t, std::set<std::int64_t>> relevant;
    std::set<std::pair<std::int64_t, std::int64_t>> trained;
    for (std::size_t r = 0; r < data.ratings.size(); ++r)
        if (data.fold[r] != test_fold) {
            s.train.push_back(data.ratings[r]);
            trained.emplace(data.ratings[r].user, data.ratings[r].item);
        }
    for (std::size_t r = 0; r < data.ratings.size(); ++r) {
        const auto& x = data.ratings[r];
        if (data.fold[r] == test_fold && x.rating >= threshold && !trained.count({x.user, x.item}))
            relevant[x.user].insert(x.item);
    }
    for (auto& [user, items] : relevant) {
        s.users.push_back(user);
        s.relevant.push_back(std::move(items));
    }
    return s;
}

struct PrecisionRecall {
    double precision = 0, recall = 0;
};

PrecisionRecall score_lists(const TopNSplit& s, const std::vector<std::vector<std::int64_t>>& lists, int n) {
    PrecisionRecall pr;
    for (std::size_t u = 0; u < s.users.size(); ++u) {
        int hits = 0;
        for (const auto item : lists[u]) hits += s.relevant[u].count(item) ? 1 : 0;
        pr.precision += static_cast<double>(hits) / n;
        pr.recall += static_cast<double>(hits) / static_cast<double>(s.relevant[u].size());
    }
    pr.precision /= static_cast<double>(s.users.size());
    pr.recall /= static_cast<double>(s.users.size());
    return pr;
}

// "Most popular": the n items with the most training ratings that the user has
// not rated (ties: lower item id), written independently of the core.
PrecisionRecall most_popular(const TopNSplit& s, int n) {
    std::map<std::int64_t, int> count;
    std::map<std::int64_t, std::set<std::int64_t>> seen;
    for (const auto& r : s.train) {
        ++count[r.item];
        seen[r.user].insert(r.item);
    }
    std::vector<std::pair<int, std::int64_t>> order;
    for (const auto& [item, c] : count) order.emplace_back(-c, item);
    std::sort(order.begin(), order.end());
    std::vector<std::vector<std::int64_t>> lists;
    for (const auto user : s.users) {
        std::vector<std::int64_t> list;
        for (const auto& [negc, item] : order) {
            if (static_cast<int>(list.size()) >= n) break;
            if (!seen[user].count(item)) list.push_back(item);
        }
        lists.push_back(std::move(list));
    }
    return score_lists(s, lists, n);
}

PrecisionRecall ours(const TopNSplit& s, const crm::RatingMatrix& m, const crm::TopNOptions& o, int* fallbacks) {
    const auto recs = crm::recommend_many(m, s.users, o);
    std::vector<std::vector<std::int64_t>> lists;
    *fallbacks = 0;
    for (const auto& list : recs) {
        std::vector<std::int64_t> items;
        for (const auto& r : list) {
            items.push_back(r.item);
            *fallbacks += r.popular_fallback ? 1 : 0;
        }
        lists.push_back(std::move(items));
    }
    return score_lists(s, lists, o.n);
}

}  // namespace

int main(int argc, char** argv) {
    bool tune = false;
    std::string path = "../shared/data/movielens-100k/ml100k_folds.tsv";
    for (int a = 1; a < argc; ++a) {
        const std::string arg = argv[a];
        if (arg == "--tune")
            tune = true;
        else if (!arg.empty() && arg[0] == '-') {
            std::cerr << "usage: cf_movielens [--tune] [ratings.tsv]\n";
            return 2;
        } else
            path = arg;
    }
    Data data;
    if (!read_data(path, data) || data.ratings.empty()) {
        std::cerr << "cannot read ratings from " << path << "\n";
        return 1;
    }
    int folds = 5;
    if (!data.fold.empty()) folds = 1 + *std::max_element(data.fold.begin(), data.fold.end());
    std::printf("%zu ratings, %d folds (%s)\n", data.ratings.size(), folds,
                data.fold.empty() ? "shuffled, seed 0" : "from the file");

    try {
        const auto total_start = std::chrono::steady_clock::now();
        const crm::TopNOptions topn;  // the defaults
        const crm::Similarity kinds[] = {crm::Similarity::Msd, crm::Similarity::Cosine, crm::Similarity::Pearson,
                                         crm::Similarity::PearsonBaseline};
        std::vector<crm::FoldMetrics> fold0;
        for (const auto kind : kinds) {
            crm::KnnOptions knn;
            knn.similarity = kind;
            const auto start = std::chrono::steady_clock::now();
            const auto metrics = crm::cross_validate(data.ratings, data.fold, folds, 0, knn, topn, 4.0);
            const double secs = seconds_since(start);
            double rmse = 0, mae = 0;
            std::printf("%-17s", crm::similarity_name(kind));
            for (const auto& m : metrics) {
                std::printf(" f%d %.4f/%.4f", m.fold, m.rmse, m.mae);
                rmse += m.rmse / metrics.size();
                mae += m.mae / metrics.size();
            }
            std::printf("  mean RMSE %.4f MAE %.4f  (%.2f s)\n", rmse, mae, secs);
            fold0.push_back(metrics.front());
        }

        if (data.fold.empty()) {
            std::printf("top-N comparison needs a fold column; done in %.2f s\n", seconds_since(total_start));
            return 0;
        }
        const TopNSplit split = make_split(data, 0, 4.0);
        const crm::RatingMatrix train(split.train);
        std::printf("\ntop-%d on fold 0 as an 80/20 split: %zu users with a relevant held-out item\n", topn.n,
                    split.users.size());
        const auto pop = most_popular(split, topn.n);
        std::printf("  most popular          precision@%d %.4f  recall@%d %.4f\n", topn.n, pop.precision, topn.n,
                    pop.recall);
        int fallbacks = 0;
        const auto start = std::chrono::steady_clock::now();
        const auto our = ours(split, train, topn, &fallbacks);
        std::printf("  user kNN (%s, k=%d)  precision@%d %.4f  recall@%d %.4f  (%d fallback items, %.3f s)\n",
                    crm::neighbour_vectors_name(topn.vectors), topn.k, topn.n, our.precision, topn.n, our.recall,
                    fallbacks, seconds_since(start));
        std::printf("  cross_validate fold 0 precision@%d %.4f  recall@%d %.4f (same protocol, must agree)\n",
                    topn.n, fold0.front().precision_at_k, topn.n, fold0.front().recall_at_k);

        if (tune) {
            // Every fold in turn as the 80/20 split, so the choice is not fitted to fold 0 alone.
            std::vector<TopNSplit> splits;
            std::vector<crm::RatingMatrix> matrices;
            for (int f = 0; f < folds; ++f) {
                splits.push_back(make_split(data, f, 4.0));
                matrices.emplace_back(splits.back().train);
            }
            double pop_mean = 0;
            for (const auto& sp : splits) pop_mean += most_popular(sp, topn.n).precision / folds;
            std::printf("\nprecision@%d (fold 0 | mean of the %d folds) by neighbour vectors and k; most popular "
                        "%.4f | %.4f\n",
                        topn.n, folds, pop.precision, pop_mean);
            struct Variant {
                crm::NeighbourVectors vectors;
                crm::Similarity similarity;
                const char* label;
            };
            const Variant variants[] = {
                {crm::NeighbourVectors::CoRated, crm::Similarity::Cosine, "co_rated cosine"},
                {crm::NeighbourVectors::CoRated, crm::Similarity::Msd, "co_rated msd"},
                {crm::NeighbourVectors::CoRated, crm::Similarity::Pearson, "co_rated pearson"},
                {crm::NeighbourVectors::CoRated, crm::Similarity::PearsonBaseline, "co_rated pearson_bsl"},
                {crm::NeighbourVectors::Full, crm::Similarity::Cosine, "full cosine"},
                {crm::NeighbourVectors::Centered, crm::Similarity::Cosine, "centered cosine"},
                {crm::NeighbourVectors::Binary, crm::Similarity::Cosine, "binary cosine"},
            };
            const int ks[] = {20, 40, 60, 80, 100, 150, 200};
            std::printf("%-21s", "");
            for (const int k : ks) std::printf("    k=%-3d       ", k);
            std::printf("\n");
            for (const auto& v : variants) {
                std::printf("%-21s", v.label);
                for (const int k : ks) {
                    crm::TopNOptions o;
                    o.k = k;
                    o.vectors = v.vectors;
                    o.similarity = v.similarity;
                    double first = 0, mean = 0;
                    for (int f = 0; f < folds; ++f) {
                        const double p = ours(splits[f], matrices[f], o, &fallbacks).precision;
                        if (f == 0) first = p;
                        mean += p / folds;
                    }
                    std::printf("  %.4f|%.4f", first, mean);
                }
                std::printf("\n");
            }
        }
        std::printf("\ntotal %.2f s\n", seconds_since(total_start));
    } catch (const crm::Error& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
