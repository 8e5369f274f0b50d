// Tuning aid for the recommenders of recommender.hpp on MovieLens 100k fold 0
// (the protocol of ../shared/REFERENCES.md). The acceptance test is
// test/integration/reco_movielens.sh, which measures through SQL; this prints
// the same figures straight from the core, fast enough to try options.
//
//   reco_movielens ml100k_folds.tsv u.item cold_items.txt [weight new_item_slots min_support]
//
// cold_items.txt: whitespace-separated item ids whose training ratings are
// hidden for the cold-start part.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "content_model.hpp"
#include "reco_evaluate.hpp"
#include "recommender.hpp"

namespace {

struct Row {
    crm::Rating r;
    int fold;
};

std::vector<Row> read_folds(const char* path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);  // header
    std::vector<Row> out;
    while (std::getline(in, line)) {
        std::istringstream s(line);
        Row row{};
        s >> row.r.user >> row.r.item >> row.r.rating >> row.fold;
        out.push_back(row);
    }
    return out;
}

// u.item: id|title|date|video|url|19 genre flags.
std::vector<crm::ItemAttributes> read_genres(const char* path, std::vector<std::vector<int>>* flags) {
    std::ifstream in(path);
    std::string line;
    std::vector<crm::ItemAttributes> out;
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::string cell;
        std::istringstream s(line);
        while (std::getline(s, cell, '|')) f.push_back(cell);
        if (f.size() < 24) continue;
        crm::ItemAttributes a{std::stoll(f[0]), {}};
        std::vector<int> g(19, 0);
        for (int k = 0; k < 19; ++k)
            if (f[5 + k] == "1") a.attributes.push_back("genre" + std::to_string(k)), g[k] = 1;
        if (flags->size() <= static_cast<std::size_t>(a.item)) flags->resize(a.item + 1);
        (*flags)[a.item] = g;
        out.push_back(a);
    }
    return out;
}

double genre_distance(const std::vector<std::vector<int>>& g, std::int64_t a, std::int64_t b) {
    double common = 0, na = 0, nb = 0;
    for (int k = 0; k < 19; ++k) common += g[a][k] * g[b][k], na += g[a][k], nb += g[b][k];
    return na > 0 && nb > 0 ? 1 - common / std::sqrt(na * nb) : 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) {
        std::cerr << "usage: reco_movielens ml100k_folds.tsv u.item cold_items.txt [weight new_item_slots min_support]\n";
        return 2;
    }
    const std::vector<Row> rows = read_folds(argv[1]);
    std::vector<std::vector<int>> genres;
    const crm::ContentModel content(read_genres(argv[2], &genres));
    std::set<std::int64_t> cold;
    {
        std::ifstream in(argv[3]);
        std::int64_t id;
        while (in >> id) cold.insert(id);
    }
    crm::RecommenderOptions base;
    if (argc >= 7) {
        base.hybrid_weight = std::atof(argv[4]);
        if (std::atoi(argv[5]) >= 0) base.hybrid_new_item_slots = std::atoi(argv[5]);  // negative: no limit
        base.hybrid_min_support = std::atoi(argv[6]);
    }

    std::vector<crm::Rating> ratings;
    std::vector<int> fold;
    for (const Row& r : rows) ratings.push_back(r.r), fold.push_back(r.fold == 0 ? 0 : -1);

    std::printf("%-10s %9s %9s %9s %9s %9s %9s %9s\n", "method", "prec@10", "recall", "ndcg", "map", "coverage", "ild", "pop");
    for (const char* m : {"popular", "random", "userknn", "itemknn", "content", "hybrid", "als"}) {
        crm::RecoEvaluation e;
        e.folds = 1;
        e.method = crm::parse_reco_method(m);
        e.options = base;
        e.implicit = std::string(m) == "als";
        const auto f = crm::evaluate_recommender(ratings, fold, e, &content).front();
        std::printf("%-10s %9.4f %9.4f %9.4f %9.4f %9.4f %9.4f %9.1f  (%lld users)\n", m, f.precision, f.recall, f.ndcg,
                    f.map, f.coverage, f.diversity, f.popularity, static_cast<long long>(f.users));
    }

    // SVD, Surprise's defaults, the 5 folds of the file.
    {
        std::vector<int> folds5;
        for (const Row& r : rows) folds5.push_back(r.fold);
        crm::RecoEvaluation e;
        e.folds = 5;
        e.method = crm::RecoMethod::Svd;
        const auto t0 = std::chrono::steady_clock::now();
        const auto f = crm::evaluate_recommender(ratings, folds5, e, nullptr);
        const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        double rmse = 0, mae = 0;
        for (const auto& x : f) rmse += x.rmse / 5, mae += x.mae / 5;
        std::printf("svd 5 folds: RMSE %.4f MAE %.4f (Surprise 0.934 / 0.737), %.0f ms with the top-N metrics\n", rmse, mae, ms);
    }

    // Cold items: their training ratings hidden.
    std::vector<crm::Rating> train;
    std::vector<crm::Rating> test;
    for (const Row& r : rows) {
        if (r.fold == 0)
            test.push_back(r.r);
        else if (!cold.count(r.r.item))
            train.push_back(r.r);
    }
    const crm::RatingMatrix m(train);
    std::map<std::int64_t, std::set<std::int64_t>> cold_relevant, relevant;
    for (const crm::Rating& r : test) {
        if (r.rating < 4) continue;
        relevant[r.user].insert(r.item);
        if (cold.count(r.item)) cold_relevant[r.user].insert(r.item);
    }
    for (const char* name : {"itemknn", "content", "hybrid"}) {
        crm::Recommender rec(m, crm::parse_reco_method(name), base, &content);
        double cold_recall = 0, precision = 0;
        std::size_t users = 0;
        for (const auto& [user, rel] : relevant) {
            // the user's training items are excluded by the recommender; relevant
            // test items the user has in training do not exist in ml100k.
            const auto list = rec.recommend(user, 10);
            std::size_t hits = 0, cold_hits = 0;
            for (const auto& it : list) hits += rel.count(it.item), cold_hits += cold_relevant[user].count(it.item);
            precision += hits / 10.0;
            if (!cold_relevant[user].empty()) cold_recall += static_cast<double>(cold_hits) / cold_relevant[user].size(), ++users;
        }
        std::printf("cold split %-8s precision@10 %.4f  cold recall@10 %.4f over %zu users\n", name,
                    precision / relevant.size(), cold_recall / users, users);
    }

    // MMR on item-kNN, ILD by genre vectors.
    const crm::RatingMatrix full([&] {
        std::vector<crm::Rating> t;
        for (const Row& r : rows)
            if (r.fold != 0) t.push_back(r.r);
        return t;
    }());
    for (const double d : {0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 1.0}) {
        crm::RecommenderOptions o = base;
        o.diversity = d;
        crm::Recommender rec(full, crm::RecoMethod::ItemKnn, o);
        double precision = 0, ild = 0, cild = 0;
        for (const auto& [user, rel] : relevant) {
            const auto list = rec.recommend(user, 10);
            std::size_t hits = 0;
            double dist = 0;
            for (std::size_t a = 0; a < list.size(); ++a) {
                hits += rel.count(list[a].item);
                for (std::size_t b = a + 1; b < list.size(); ++b) {
                    dist += genre_distance(genres, list[a].item, list[b].item);
                    cild += (1 - crm::binary_item_cosine(full, list[a].item, list[b].item)) / 45.0;
                }
            }
            precision += hits / 10.0;
            ild += dist / 45.0;
        }
        std::printf("itemknn diversity %.1f precision@10 %.4f genre ILD %.4f collaborative ILD %.4f\n", d,
                    precision / relevant.size(), ild / relevant.size(), cild / relevant.size());
    }
    return 0;
}
