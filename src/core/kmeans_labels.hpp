// Readable names for k-means clusters, from each centroid's profile.
//
// A centroid is profiled in z-units of the population the model was fitted
// on: (centroid in original units - population mean) / population standard
// deviation, per feature. The population statistics come from the model's
// population_mean / population_std (kmeans_fit fills them for every scaling);
// a model without them falls back to offset / divisor when its scaling is
// zscore (they are the mean and standard deviation there) and is rejected
// (22023) otherwise. A feature with zero spread has z = 0.
#pragma once

#include <string>
#include <vector>

#include <Eigen/Dense>

#include "kmeans.hpp"

namespace crm {

namespace label_rules {

// Generic profile: the features with |z| >= kProfileZ, strongest first, at most
// kProfileFeatures of them, as "high <name>" / "low <name>"; none: "average".
constexpr double kProfileZ = 0.5;
constexpr int kProfileFeatures = 3;

// CRM rule, used when the feature names include recency (or recency_days),
// frequency and monetary, compared case-insensitively. With r, f, m the z of
// recency (days since the last order, so high = long ago), frequency and
// monetary, the first rule that matches names the cluster:
//   High-Value  f >= kHighZ, m >= kHighZ, r < kLongAgoZ  (buy often, spend much, still active)
//   Loyal       f >= kHighZ, m <  kHighZ, r < kLongAgoZ  (buy often, spend less)
//   At-Risk     r >= kLongAgoZ and (f > kLowZ or m > kLowZ)  (were worth something, churning)
//   New         r <= kRecentZ, f <= kLowZ  (bought recently, not yet often)
//   Low-Value   anything else (e.g. long ago and low frequency and monetary)
// High-Value and Loyal accept an average recency ("not long ago") so a
// high-spending cluster is never called Low-Value for being only averagely
// recent; New needs a clearly recent cluster.
constexpr double kHighZ = 0.5;
constexpr double kLowZ = -0.5;       // at or below: low; above: at least average
constexpr double kLongAgoZ = 0.5;
constexpr double kRecentZ = -0.5;

}  // namespace label_rules

// k x dims matrix of the centroids in population z-units (see above).
Eigen::MatrixXd cluster_z_profiles(const KMeansModel& model);

// One readable label per cluster (index 0 = cluster 1). With RFM features:
// "<CRM name> (<generic profile>)", e.g. "At-Risk (high recency_days, low
// frequency)"; otherwise the generic profile alone, e.g. "high monetary, low
// recency". Unnamed features are "feature 1", "feature 2", ... Two clusters can
// get the same label; the cluster number is the key.
std::vector<std::string> cluster_labels(const KMeansModel& model);

// A name that tells a cluster apart from the other clusters of its model.
struct ClusterName {
    int cluster = 0;         // 1..k
    std::string name;        // distinct within the model
    int value_rank = 0;      // 1 = most valuable cluster
    double value_score = 0;  // see cluster_names
    std::string profile;     // the generic profile, e.g. "high frequency, high monetary"
};

// Distinct names, ordered by value (the result is sorted by value_rank).
//
// Value score of a cluster: the mean z (see cluster_z_profiles) of its
// features, with a recency feature (days since the last order: high is bad)
// counted negatively. With recency, frequency and monetary features the
// score is z_frequency + z_monetary - z_recency and each cluster first gets
// its CRM category (the rule of cluster_labels); clusters sharing a category
// are then told apart by value, most valuable first:
//   High-Value  1: High-Value; 2: VIP, High-Value; 3: VIP, High-Value,
//               Medium-Value; more: ... Medium-Value 2, Medium-Value 3, ...
//   Low-Value   1: Low-Value; 2: Low-Value, Lowest-Value; more: Low-Value,
//               Low-Value 2, ..., Lowest-Value
//   Loyal, At-Risk, New: 1: the category; 2: "<category> (higher value)",
//               "<category> (lower value)"; more: "<category> 1", "<category> 2", ...
// Without RFM features the name is the generic profile, and clusters sharing
// one get " (value rank N)" appended.
std::vector<ClusterName> cluster_names(const KMeansModel& model);

}  // namespace crm
