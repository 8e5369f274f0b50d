#include "kmeans_labels.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <numeric>

#include "errors.hpp"

namespace crm {

namespace {

using namespace label_rules;

std::string lower_case(const std::string& s) {
    std::string out = s;
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string feature_name(const KMeansModel& model, int j) {
    if (static_cast<std::size_t>(j) < model.feature_names.size() && !model.feature_names[j].empty())
        return model.feature_names[j];
    return "feature " + std::to_string(j + 1);
}

// Index of the first feature whose lower-cased name is one of `names`, or -1.
int find_feature(const KMeansModel& model, std::initializer_list<const char*> names) {
    for (std::size_t j = 0; j < model.feature_names.size(); ++j) {
        const std::string name = lower_case(model.feature_names[j]);
        for (const char* candidate : names)
            if (name == candidate) return static_cast<int>(j);
    }
    return -1;
}

std::string generic_profile(const KMeansModel& model, const Eigen::RowVectorXd& z) {
    std::vector<int> notable;
    for (int j = 0; j < model.dims; ++j)
        if (std::abs(z(j)) >= kProfileZ) notable.push_back(j);
    // Strongest first; equal strengths keep feature order.
    std::stable_sort(notable.begin(), notable.end(),
                     [&z](int a, int b) { return std::abs(z(a)) > std::abs(z(b)); });
    if (notable.size() > static_cast<std::size_t>(kProfileFeatures)) notable.resize(kProfileFeatures);
    if (notable.empty()) return "average";
    std::string out;
    for (const int j : notable) {
        if (!out.empty()) out += ", ";
        out += (z(j) > 0 ? "high " : "low ") + feature_name(model, j);
    }
    return out;
}

const char* crm_name(double r, double f, double m) {
    const bool not_long_ago = r < kLongAgoZ;
    if (f >= kHighZ && m >= kHighZ && not_long_ago) return "High-Value";
    if (f >= kHighZ && not_long_ago) return "Loyal";
    if (r >= kLongAgoZ && (f > kLowZ || m > kLowZ)) return "At-Risk";
    if (r <= kRecentZ && f <= kLowZ) return "New";
    return "Low-Value";
}

}  // namespace

Eigen::MatrixXd cluster_z_profiles(const KMeansModel& model) {
    const auto dims = static_cast<std::size_t>(model.dims);
    std::vector<double> mean = model.population_mean, stddev = model.population_std;
    if (mean.size() != dims || stddev.size() != dims) {
        if (model.scale != Scaling::ZScore)
            throw_invalid("the k-means model has no population statistics to profile its clusters",
                          "Refit the model: kmeans_fit records them.");
        mean = model.offset;  // zscore: offset and divisor are the mean and standard deviation
        stddev = model.divisor;
    }
    const Eigen::Map<const Eigen::RowVectorXd> mu(mean.data(), model.dims), sigma(stddev.data(), model.dims);
    // A feature without spread cannot tell clusters apart: z = 0 rather than 0/0.
    const Eigen::RowVectorXd inverse = (sigma.array() > 0).select(sigma.array().inverse(), 0.0);
    return ((model.centroids_original().rowwise() - mu).array().rowwise() * inverse.array()).matrix();
}

std::vector<std::string> cluster_labels(const KMeansModel& model) {
    const Eigen::MatrixXd z = cluster_z_profiles(model);
    const int recency = find_feature(model, {"recency", "recency_days"});
    const int frequency = find_feature(model, {"frequency"});
    const int monetary = find_feature(model, {"monetary"});
    const bool rfm = recency >= 0 && frequency >= 0 && monetary >= 0;

    std::vector<std::string> labels;
    labels.reserve(static_cast<std::size_t>(model.k));
    for (int c = 0; c < model.k; ++c) {
        const Eigen::RowVectorXd profile = z.row(c);
        const std::string generic = generic_profile(model, profile);
        if (rfm)
            labels.push_back(std::string(crm_name(profile(recency), profile(frequency), profile(monetary))) + " (" +
                             generic + ")");
        else
            labels.push_back(generic);
    }
    return labels;
}

namespace {

// Names for the members of one category, given most valuable first.
std::vector<std::string> names_within(const std::string& category, std::size_t m) {
    std::vector<std::string> out;
    if (m == 1) return {category};
    if (category == "High-Value") {
        out = {"VIP", "High-Value"};
        for (std::size_t i = 2; i < m; ++i)
            out.push_back(i == 2 ? "Medium-Value" : "Medium-Value " + std::to_string(i - 1));
        return out;
    }
    if (category == "Low-Value") {
        for (std::size_t i = 0; i + 1 < m; ++i) out.push_back(i == 0 ? "Low-Value" : "Low-Value " + std::to_string(i + 1));
        out.push_back("Lowest-Value");
        return out;
    }
    if (m == 2) return {category + " (higher value)", category + " (lower value)"};
    for (std::size_t i = 0; i < m; ++i) out.push_back(category + " " + std::to_string(i + 1));
    return out;
}

}  // namespace

std::vector<ClusterName> cluster_names(const KMeansModel& model) {
    const Eigen::MatrixXd z = cluster_z_profiles(model);
    const int recency = find_feature(model, {"recency", "recency_days"});
    const int frequency = find_feature(model, {"frequency"});
    const int monetary = find_feature(model, {"monetary"});
    const bool rfm = recency >= 0 && frequency >= 0 && monetary >= 0;

    std::vector<ClusterName> out(static_cast<std::size_t>(model.k));
    std::vector<std::string> category(out.size());
    for (int c = 0; c < model.k; ++c) {
        ClusterName& n = out[static_cast<std::size_t>(c)];
        const Eigen::RowVectorXd profile = z.row(c);
        n.cluster = c + 1;
        n.profile = generic_profile(model, profile);
        if (rfm) {
            n.value_score = profile(frequency) + profile(monetary) - profile(recency);
            category[static_cast<std::size_t>(c)] = crm_name(profile(recency), profile(frequency), profile(monetary));
        } else {
            double sum = 0;
            for (int j = 0; j < model.dims; ++j) sum += j == recency ? -profile(j) : profile(j);
            n.value_score = model.dims > 0 ? sum / model.dims : 0.0;
            category[static_cast<std::size_t>(c)] = n.profile;
        }
    }
    // Most valuable first; equal scores keep cluster order, so names are deterministic.
    std::vector<std::size_t> order(out.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&out](std::size_t a, std::size_t b) { return out[a].value_score > out[b].value_score; });
    for (std::size_t rank = 0; rank < order.size(); ++rank) out[order[rank]].value_rank = static_cast<int>(rank + 1);

    std::map<std::string, std::vector<std::size_t>> members;  // category -> clusters, most valuable first
    for (const std::size_t c : order) members[category[c]].push_back(c);
    for (const auto& [cat, clusters] : members) {
        if (rfm) {
            const std::vector<std::string> names = names_within(cat, clusters.size());
            for (std::size_t i = 0; i < clusters.size(); ++i) out[clusters[i]].name = names[i];
        } else {
            for (const std::size_t c : clusters)
                out[c].name = clusters.size() == 1 ? cat
                                                   : cat + " (value rank " + std::to_string(out[c].value_rank) + ")";
        }
    }
    std::sort(out.begin(), out.end(),
              [](const ClusterName& a, const ClusterName& b) { return a.value_rank < b.value_rank; });
    return out;
}

}  // namespace crm
