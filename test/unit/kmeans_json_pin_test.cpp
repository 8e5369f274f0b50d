// Pins the k-means model's JSON text form: the exact to_json() output of a few
// models (fitted ones, so the fit's numbers and random streams are pinned too,
// and a hand-built one for number formatting; feature names with quotes,
// backslashes, unicode and control characters), and what from_json() accepts
// and rejects, with which kind and message. Stored models and the pg_regress
// expected files depend on this text: it must not change by accident. The
// pins were taken from the hand-written reader and writer before the switch to
// nlohmann-json; the few entries marked "Changed" are the deliberate
// differences of the switch.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "errors.hpp"
#include "kmeans.hpp"

namespace {

using crm::ErrorKind;


inline std::string replaced(const std::string& s, const std::string& from, const std::string& to) {
    std::string out = s;
    const auto at = out.find(from);
    if (at != std::string::npos) out.replace(at, from.size(), to);
    return out;
}

// Deterministic points from the raw engine output (portable).
inline crm::PointSet pin_points(int n, int dims, std::uint64_t seed, std::int64_t sample_size = 0) {
    std::mt19937_64 engine(seed);
    crm::PointSet p(sample_size, 99);  // one sampling seed for every part of a merge
    std::vector<double> x(static_cast<std::size_t>(dims));
    for (int i = 0; i < n; ++i) {
        for (int j = 0; j < dims; ++j)
            x[static_cast<std::size_t>(j)] =
                static_cast<double>(engine() >> 11) * 0x1.0p-53 * 10.0 + 7.0 * (i % 3) * (j + 1);
        p.add(x.data(), dims);
    }
    return p;
}

// Models whose to_json text is pinned.
inline std::vector<crm::KMeansModel> pin_models() {
    std::vector<crm::KMeansModel> out;
    {
        crm::KMeansOptions o;
        o.k = 3;
        o.seed = 7;
        o.feature_names = {"quote\"d", "back\\slash", "uni\xE2\x82\xAC \xE6\x97\xA5 \xF0\x9F\x98\x80",
                           std::string("ctl\x01\x1f\t\n\r\b\f/\x7f")};
        out.push_back(crm::kmeans_fit(pin_points(60, 4, 11), o));
    }
    {
        crm::KMeansOptions o;
        o.k = 4;
        o.seed = 123456789;
        o.n_init = 3;
        o.scale = crm::Scaling::MinMax;
        crm::PointSet a = pin_points(300, 2, 5, 50);
        const crm::PointSet b = pin_points(200, 2, 6, 50);
        a.merge(b);
        out.push_back(crm::kmeans_fit(a, o));
    }
    {
        crm::KMeansOptions o;
        o.k = 1;
        o.seed = std::numeric_limits<std::uint64_t>::max();
        o.scale = crm::Scaling::None;
        o.tol = 0;
        out.push_back(crm::kmeans_fit(pin_points(10, 1, 3), o));
    }
    {
        crm::KMeansModel m;  // hand-built: number formatting
        m.k = 2;
        m.dims = 3;
        m.scale = crm::Scaling::ZScore;
        m.offset = {0.1, -0.0, 1e21};
        m.divisor = {1e-300, 5e-324, 1.7976931348623157e308};
        m.population_mean = {123456789012345680.0, 1e16, 0.5};
        m.population_std = {2.5e-8, 1.0 / 3.0, 100.0};
        m.centroids.resize(2, 3);
        m.centroids << -1.5, 0.0, 2.0 / 3.0, 1e-5, 1e-4, 12345.678;
        m.sizes = {9007199254740993LL, 0};
        m.wcss = {0.30000000000000004, 0.0};
        m.inertia = 0.30000000000000004;
        m.iterations = 2147483647;
        m.n_init = 0;
        m.seed = 18446744073709551615ULL;
        m.n_points = 9007199254740993LL;
        m.converged = true;
        out.push_back(m);
    }
    return out;
}

// A small valid model text: every from_json case below edits it.
inline std::string base_text() {
    crm::KMeansModel m;
    m.k = 2;
    m.dims = 2;
    m.scale = crm::Scaling::ZScore;
    m.offset = {1.0, 2.0};
    m.divisor = {2.0, 4.0};
    m.population_mean = {1.0, 2.0};
    m.population_std = {2.0, 4.0};
    m.centroids.resize(2, 2);
    m.centroids << -1.0, 0.5, 1.0, -0.5;
    m.sizes = {3, 2};
    m.wcss = {1.5, 0.5};
    m.inertia = 2.0;
    m.iterations = 4;
    m.n_init = 10;
    m.seed = 42;
    m.n_points = 5;
    m.converged = true;
    m.feature_names = {"a", "b"};
    return m.to_json();
}

inline std::vector<std::string> from_json_cases() {
    const std::string b = base_text();
    const auto r = [&b](const std::string& from, const std::string& to) { return replaced(b, from, to); };
    std::string spaced;
    for (char c : b) {
        spaced += c;
        if (c == ',' || c == ':' || c == '[' || c == '{') spaced += "\n\t \r";
    }
    std::string reordered = "{\"converged\": true, " + b.substr(1, b.find(", \"converged\"") - 1) + "}";
    return {
        b,
        spaced,
        " \n" + b + "\r\n\t ",
        reordered,
        r("\"a\"", "\"\\/\\u00e9\\u00E9\\ud83d\\ude00\\\"\\\\\\b\\f\\n\\r\\t\""),
        r("\"a\"", "\"\\u0000\""),
        r("\"a\"", "\"x\\u0000y\""),
        r("\"a\"", "\"\\ud83d\""),
        r("\"a\"", "\"\\udc00\""),
        r("\"a\"", "\"\\ud83dx\""),
        r("\"a\"", "\"\\ud83d\\u0041\""),
        r("\"a\"", "\"\\u12\""),
        r("\"a\"", "\"\\u12G4\""),
        r("\"a\"", "\"\\x\""),
        r("\"a\"", "\"tab\there\""),
        r("\"a\"", "\"\x7f\""),
        r("\"a\"", "\"\xff\xfe\""),
        r("\"a\"", "\"\xC3\x28\""),
        r("\"a\"", "\"\xED\xA0\x80\""),
        r("\"a\"", "\"\""),
        r("\"a\"", "1"),
        r("\"k\": 2", "\"k\": 2.0"),
        r("\"k\": 2", "\"k\": 2e0"),
        r("\"k\": 2", "\"k\": -0"),
        r("\"k\": 2", "\"k\": 02"),
        r("\"k\": 2", "\"k\": +2"),
        r("\"k\": 2", "\"k\": \"2\""),
        r("\"k\": 2", "\"k\": 2147483648"),
        r("\"k\": 2", "\"k\": 3"),
        r("\"seed\": 42", "\"seed\": -0"),
        r("\"seed\": 42", "\"seed\": 18446744073709551615"),
        r("\"seed\": 42", "\"seed\": 18446744073709551616"),
        r("\"seed\": 42", "\"seed\": -1"),
        r("\"iterations\": 4", "\"iterations\": -0"),
        r("\"iterations\": 4", "\"iterations\": -1"),
        r("\"n_points\": 5", "\"n_points\": 9223372036854775808"),
        r("\"inertia\": 2", "\"inertia\": 2.0000000000000000000000001"),
        r("\"inertia\": 2", "\"inertia\": 1e400"),
        r("\"inertia\": 2", "\"inertia\": 1e-400"),
        r("\"inertia\": 2", "\"inertia\": 2E+0"),
        r("\"inertia\": 2", "\"inertia\": 2."),
        r("\"inertia\": 2", "\"inertia\": .5"),
        r("\"inertia\": 2", "\"inertia\": NaN"),
        r("\"inertia\": 2", "\"inertia\": Infinity"),
        r("\"inertia\": 2", "\"inertia\": 0x2"),
        r("\"inertia\": 2", "\"inertia\": null"),
        r("\"wcss\": [1.5", "\"wcss\": [1.5e0"),
        r("\"wcss\": [1.5", "\"wcss\": [\"1.5\""),
        r("\"wcss\": [1.5", "\"wcss\": [[1.5]"),
        r("\"wcss\": [1.5, 0.5]", "\"wcss\": 2"),
        r("\"wcss\": [1.5, 0.5]", "\"wcss\": [1.5, 0.5,]"),
        r("\"offset\": [1, 2]", "\"offset\": [1, 2, 3]"),
        r("\"offset\": [1, 2]", "\"offset\": [1, 1e999]"),
        r("\"centroids\": [[-1, 0.5], [1, -0.5]]", "\"centroids\": [[-1, 0.5]]"),
        r("\"centroids\": [[-1, 0.5], [1, -0.5]]", "\"centroids\": [[-1, 0.5], [1]]"),
        r("\"centroids\": [[-1, 0.5], [1, -0.5]]", "\"centroids\": [[-1, 0.5], 1]"),
        r("\"centroids\": [[-1, 0.5], [1, -0.5]]", "\"centroids\": [[-1, 0.5], [1, true]]"),
        r("\"centroids_original\": [[-1, 4], [3, 0]]", "\"centroids_original\": [[-1, 4], [3, 1]]"),
        r("\"centroids_original\": [[-1, 4], [3, 0]]", "\"centroids_original\": [[-1, 4], [3, 0.0000000000001]]"),
        r("\"centroids_original\": [[-1, 4], [3, 0]]", "\"centroids_original\": [[-1, 4]]"),
        r("\"sizes\": [3, 2]", "\"sizes\": [3, 3]"),
        r("\"sizes\": [3, 2]", "\"sizes\": [3, -2]"),
        r("\"sizes\": [3, 2]", "\"sizes\": [3, 2.0]"),
        r("\"scale\": \"zscore\"", "\"scale\": \"ZScore\""),
        r("\"scale\": \"zscore\"", "\"scale\": 1"),
        r("\"format\": \"crm.kmeans_model\"", "\"format\": \"crm.kmeans\""),
        r("\"version\": 1", "\"version\": 2"),
        r("\"version\": 1", "\"version\": 0"),
        r("\"version\": 1", "\"version\": 1.0"),
        r("\"converged\": true", "\"converged\": 1"),
        r("\"converged\": true", "\"converged\": True"),
        r("\"converged\": true", "\"converged\": tru"),
        r("\"converged\": true", "\"converged\": true, \"extra\": 1"),
        r("\"converged\": true", "\"converged\": true, \"k\": 2"),
        r("\"converged\": true", "\"converged\": true, \"z\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
        r("\"converged\": true", "\"converged\": true, \"z\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
        r("\"converged\": true", "\"converged\": true,"),
        r("\"converged\": true", "\"converged\": true /* c */"),
        r("\"dims\": 2, ", ""),
        r("\"dims\": 2, ", "\"dims\": 2, \"k\": 2, "),
        r("\"k\": 2, ", "\"x\": 1, "),
        r("\"format\"", "'format'"),
        r("\"format\": ", "\"format\" "),
        r("\"format\": ", "\"format\":: "),
        b + " x",
        b + "}",
        b + "\n{}",
        "\xEF\xBB\xBF" + b,
        b.substr(0, b.size() - 1),
        b.substr(0, 40),
        b.substr(0, 30) + "\"",
        std::string("{\"format\": \"crm.kmeans_model\"\0, \"version\": 1}", 45),
        "",
        "   ",
        "null",
        "[]",
        "{}",
        "[1, 2",
        "[1x]",
        "[1,]",
        "{\"format\" 1}",
        "{\"format\": 1",
        "{\"a\",",
        "{1: 2}",
        "not json",
        "{\"format\": \"crm.kmeans_model\", \"version\": 1}",
        std::string(40, '[') + std::string(40, ']'),
        std::string(33, '[') + std::string(33, ']'),
        std::string(34, '[') + std::string(34, ']'),
        "\"just a string\"",
        "42",
    };
}


const char* const kExpectedJson[] = {
    "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 3, \"dims\": 4, \"scale\": \"zscore\", \"feature_names\": [\"quote\\\"d\", \"back\\\\slash\", \"uni\xE2""\x82""\xAC"" \xE6""\x97""\xA5"" \xF0""\x9F""\x98""\x80""\", \"ctl\\u0001\\u001f\\t\\n\\r\\b\\f/\x7F""\"], \"offset\": [12.0893903263627, 19.170763842371333, 25.665480672285817, 33.026172409394015], \"divisor\": [6.2133471201180832, 12.355415149530028, 17.159165890651515, 23.667947362128984], \"population_mean\": [12.0893903263627, 19.170763842371333, 25.665480672285817, 33.026172409394015], \"population_std\": [6.2133471201180832, 12.355415149530028, 17.159165890651515, 23.667947362128984], \"centroids\": [[0.010097114705535471, -0.0071229015518689456, 0.006978348277209773, 0.00891069501472639], [-1.1070886386207235, -1.1953264137827357, -1.2093673210273113, -1.2205113625468444], [1.0969915239151882, 1.2024493153346045, 1.2023889727501016, 1.2116006675321194]], \"centroids_original\": [[12.152127204939841, 19.082757436628761, 25.785223308017201, 33.237070269962544], [5.2106643218731783, 4.4020097608867204, 4.9137461880453763, 4.1391737257549757], [18.905379452275081, 34.027524329598513, 46.297472520794869, 61.702273232464556]], \"sizes\": [20, 20, 20], \"wcss\": [6.4526596940628851, 4.5322349310541892, 5.616330241833392], \"inertia\": 16.601224866950467, \"iterations\": 2, \"n_init\": 10, \"seed\": 7, \"n_points\": 60, \"converged\": true}",
    "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 4, \"dims\": 2, \"scale\": \"minmax\", \"feature_names\": [], \"offset\": [0.014712995950220131, 0.036227300882260005], \"divisor\": [22.623755317717684, 37.458434018920109], \"population_mean\": [9.7101688827395218, 14.963895925288217], \"population_std\": [6.1069746777573819, 11.336042005287569], \"centroids\": [[0.11408208703740584, 0.11615095570852645], [0.5333520477419309, 0.50045386070531694], [0.81790894265405489, 0.89607908343755882], [0.35123631245540837, 0.082315645934454715]], \"centroids_original\": [[2.5956782192190619, 4.3870602115246093], [12.081139222267344, 18.782445221626208], [18.518884786728741, 33.601946523562461], [7.960997387638816, 3.1196424928428215]], \"sizes\": [16, 19, 9, 6], \"wcss\": [0.14793289480358265, 0.36394482449892535, 0.14579961057250057, 0.072520303921645629], \"inertia\": 0.73019763379665426, \"iterations\": 3, \"n_init\": 3, \"seed\": 123456789, \"n_points\": 50, \"converged\": true}",
    "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 1, \"dims\": 1, \"scale\": \"none\", \"feature_names\": [], \"offset\": [0], \"divisor\": [1], \"population_mean\": [10.943000132763487], \"population_std\": [6.4585967280992005], \"centroids\": [[10.943000132763487]], \"centroids_original\": [[10.943000132763487]], \"sizes\": [10], \"wcss\": [417.13471696213696], \"inertia\": 417.13471696213696, \"iterations\": 2, \"n_init\": 10, \"seed\": 18446744073709551615, \"n_points\": 10, \"converged\": true}",
    "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 2, \"dims\": 3, \"scale\": \"zscore\", \"feature_names\": [], \"offset\": [0.10000000000000001, -0, 1e+21], \"divisor\": [1e-300, 4.9406564584124654e-324, 1.7976931348623157e+308], \"population_mean\": [1.2345678901234568e+17, 10000000000000000, 0.5], \"population_std\": [2.4999999999999999e-08, 0.33333333333333331, 100], \"centroids\": [[-1.5, 0, 0.66666666666666663], [1.0000000000000001e-05, 0.0001, 12345.678]], \"centroids_original\": [[0.10000000000000001, 0, 1.1984620899082103e+308], [0.10000000000000001, 0, null]], \"sizes\": [9007199254740993, 0], \"wcss\": [0.30000000000000004, 0], \"inertia\": 0.30000000000000004, \"iterations\": 2147483647, \"n_init\": 0, \"seed\": 18446744073709551615, \"n_points\": 9007199254740993, \"converged\": true}",
};

enum Outcome { Accepted, Rejected };
struct Expected {
    int index;
    Outcome outcome;
    ErrorKind kind;            // when rejected
    const char* text;          // accepted: to_json() of the result; rejected: the message
};

const Expected kFromJson[] = {
    {0, Accepted, ErrorKind::Internal, "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 2, \"dims\": 2, \"scale\": \"zscore\", \"feature_names\": [\"a\", \"b\"], \"offset\": [1, 2], \"divisor\": [2, 4], \"population_mean\": [1, 2], \"population_std\": [2, 4], \"centroids\": [[-1, 0.5], [1, -0.5]], \"centroids_original\": [[-1, 4], [3, 0]], \"sizes\": [3, 2], \"wcss\": [1.5, 0.5], \"inertia\": 2, \"iterations\": 4, \"n_init\": 10, \"seed\": 42, \"n_points\": 5, \"converged\": true}"},
    {1, Accepted, ErrorKind::Internal, "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 2, \"dims\": 2, \"scale\": \"zscore\", \"feature_names\": [\"a\", \"b\"], \"offset\": [1, 2], \"divisor\": [2, 4], \"population_mean\": [1, 2], \"population_std\": [2, 4], \"centroids\": [[-1, 0.5], [1, -0.5]], \"centroids_original\": [[-1, 4], [3, 0]], \"sizes\": [3, 2], \"wcss\": [1.5, 0.5], \"inertia\": 2, \"iterations\": 4, \"n_init\": 10, \"seed\": 42, \"n_points\": 5, \"converged\": true}"},
    {2, Accepted, ErrorKind::Internal, "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 2, \"dims\": 2, \"scale\": \"zscore\", \"feature_names\": [\"a\", \"b\"], \"offset\": [1, 2], \"divisor\": [2, 4], \"population_mean\": [1, 2], \"population_std\": [2, 4], \"centroids\": [[-1, 0.5], [1, -0.5]], \"centroids_original\": [[-1, 4], [3, 0]], \"sizes\": [3, 2], \"wcss\": [1.5, 0.5], \"inertia\": 2, \"iterations\": 4, \"n_init\": 10, \"seed\": 42, \"n_points\": 5, \"converged\": true}"},
    {3, Accepted, ErrorKind::Internal, "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 2, \"dims\": 2, \"scale\": \"zscore\", \"feature_names\": [\"a\", \"b\"], \"offset\": [1, 2], \"divisor\": [2, 4], \"population_mean\": [1, 2], \"population_std\": [2, 4], \"centroids\": [[-1, 0.5], [1, -0.5]], \"centroids_original\": [[-1, 4], [3, 0]], \"sizes\": [3, 2], \"wcss\": [1.5, 0.5], \"inertia\": 2, \"iterations\": 4, \"n_init\": 10, \"seed\": 42, \"n_points\": 5, \"converged\": true}"},
    {4, Accepted, ErrorKind::Internal, "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 2, \"dims\": 2, \"scale\": \"zscore\", \"feature_names\": [\"/\xc3""\xa9""\xc3""\xa9""\xf0""\x9f""\x98""\x80""\\\"\\\\\\b\\f\\n\\r\\t\", \"b\"], \"offset\": [1, 2], \"divisor\": [2, 4], \"population_mean\": [1, 2], \"population_std\": [2, 4], \"centroids\": [[-1, 0.5], [1, -0.5]], \"centroids_original\": [[-1, 4], [3, 0]], \"sizes\": [3, 2], \"wcss\": [1.5, 0.5], \"inertia\": 2, \"iterations\": 4, \"n_init\": 10, \"seed\": 42, \"n_points\": 5, \"converged\": true}"},
    // Changed with the switch to nlohmann-json: a NUL in a feature name is rejected (22023), since
    // PostgreSQL text cannot hold it.
    {5, Rejected, ErrorKind::InvalidParameter, "invalid k-means model text at position 101: \"feature_names\" must not contain the NUL character (\\u0000)"},
    {6, Rejected, ErrorKind::InvalidParameter, "invalid k-means model text at position 101: \"feature_names\" must not contain the NUL character (\\u0000)"},
    {7, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 108: unpaired high surrogate in \\u escape"},
    // Changed: the position of a bad escape is the last byte the parser read (was one further).
    {8, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 107: unpaired low surrogate in \\u escape"},
    {9, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 108: unpaired high surrogate in \\u escape"},
    // Changed: a high surrogate followed by another escape is called unpaired (was "invalid low surrogate").
    {10, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 113: unpaired high surrogate in \\u escape"},
    {11, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 106: invalid hex digit in \\u escape"},
    {12, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 106: invalid hex digit in \\u escape"},
    {13, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 103: invalid escape"},
    {14, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 105: control character in a string (escape it)"},
    {15, Accepted, ErrorKind::Internal, "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 2, \"dims\": 2, \"scale\": \"zscore\", \"feature_names\": [\"\x7f""\", \"b\"], \"offset\": [1, 2], \"divisor\": [2, 4], \"population_mean\": [1, 2], \"population_std\": [2, 4], \"centroids\": [[-1, 0.5], [1, -0.5]], \"centroids_original\": [[-1, 4], [3, 0]], \"sizes\": [3, 2], \"wcss\": [1.5, 0.5], \"inertia\": 2, \"iterations\": 4, \"n_init\": 10, \"seed\": 42, \"n_points\": 5, \"converged\": true}"},
    // Changed: strings must be valid UTF-8 (RFC 8259); they were passed through before.
    {16, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 102: invalid UTF-8 in a string"},
    {17, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 103: invalid UTF-8 in a string"},
    {18, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 103: invalid UTF-8 in a string"},
    {19, Accepted, ErrorKind::Internal, "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 2, \"dims\": 2, \"scale\": \"zscore\", \"feature_names\": [\"\", \"b\"], \"offset\": [1, 2], \"divisor\": [2, 4], \"population_mean\": [1, 2], \"population_std\": [2, 4], \"centroids\": [[-1, 0.5], [1, -0.5]], \"centroids_original\": [[-1, 4], [3, 0]], \"sizes\": [3, 2], \"wcss\": [1.5, 0.5], \"inertia\": 2, \"iterations\": 4, \"n_init\": 10, \"seed\": 42, \"n_points\": 5, \"converged\": true}"},
    {20, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 101: \"feature_names\" must be an array of strings"},
    {21, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 50: \"k\" must be an integer >= 1 within range"},
    {22, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 50: \"k\" must be an integer >= 1 within range"},
    {23, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 50: \"k\" must be an integer >= 1 within range"},
    {24, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 51: expected '}'"},
    {25, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 50: unexpected character"},
    {26, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 50: \"k\" must be an integer"},
    {27, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 50: \"k\" must be an integer >= 1 within range"},
    {28, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 215: \"centroids\" must be an array of k rows"},
    {29, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 370: \"seed\" must be an integer >= 0 within range"},
    {30, Accepted, ErrorKind::Internal, "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 2, \"dims\": 2, \"scale\": \"zscore\", \"feature_names\": [\"a\", \"b\"], \"offset\": [1, 2], \"divisor\": [2, 4], \"population_mean\": [1, 2], \"population_std\": [2, 4], \"centroids\": [[-1, 0.5], [1, -0.5]], \"centroids_original\": [[-1, 4], [3, 0]], \"sizes\": [3, 2], \"wcss\": [1.5, 0.5], \"inertia\": 2, \"iterations\": 4, \"n_init\": 10, \"seed\": 18446744073709551615, \"n_points\": 5, \"converged\": true}"},
    {31, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 370: \"seed\" must be an integer >= 0 within range"},
    {32, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 370: \"seed\" must be an integer >= 0 within range"},
    {33, Accepted, ErrorKind::Internal, "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 2, \"dims\": 2, \"scale\": \"zscore\", \"feature_names\": [\"a\", \"b\"], \"offset\": [1, 2], \"divisor\": [2, 4], \"population_mean\": [1, 2], \"population_std\": [2, 4], \"centroids\": [[-1, 0.5], [1, -0.5]], \"centroids_original\": [[-1, 4], [3, 0]], \"sizes\": [3, 2], \"wcss\": [1.5, 0.5], \"inertia\": 2, \"iterations\": 0, \"n_init\": 10, \"seed\": 42, \"n_points\": 5, \"converged\": true}"},
    {34, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 345: \"iterations\" must be an integer >= 0 within range"},
    {35, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 386: \"n_points\" must be an integer >= 0 within range"},
    {36, Accepted, ErrorKind::Internal, "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 2, \"dims\": 2, \"scale\": \"zscore\", \"feature_names\": [\"a\", \"b\"], \"offset\": [1, 2], \"divisor\": [2, 4], \"population_mean\": [1, 2], \"population_std\": [2, 4], \"centroids\": [[-1, 0.5], [1, -0.5]], \"centroids_original\": [[-1, 4], [3, 0]], \"sizes\": [3, 2], \"wcss\": [1.5, 0.5], \"inertia\": 2, \"iterations\": 4, \"n_init\": 10, \"seed\": 42, \"n_points\": 5, \"converged\": true}"},
    {37, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 328: \"inertia\" must be a number within double range"},
    {38, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 328: \"inertia\" must be a number within double range"},
    {39, Accepted, ErrorKind::Internal, "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 2, \"dims\": 2, \"scale\": \"zscore\", \"feature_names\": [\"a\", \"b\"], \"offset\": [1, 2], \"divisor\": [2, 4], \"population_mean\": [1, 2], \"population_std\": [2, 4], \"centroids\": [[-1, 0.5], [1, -0.5]], \"centroids_original\": [[-1, 4], [3, 0]], \"sizes\": [3, 2], \"wcss\": [1.5, 0.5], \"inertia\": 2, \"iterations\": 4, \"n_init\": 10, \"seed\": 42, \"n_points\": 5, \"converged\": true}"},
    {40, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 330: invalid number: digits must follow '.'"},
    {41, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 328: unexpected character"},
    {42, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 328: unexpected character"},
    {43, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 328: unexpected character"},
    {44, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 329: expected '}'"},
    {45, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 328: \"inertia\" must be a number"},
    {46, Accepted, ErrorKind::Internal, "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 2, \"dims\": 2, \"scale\": \"zscore\", \"feature_names\": [\"a\", \"b\"], \"offset\": [1, 2], \"divisor\": [2, 4], \"population_mean\": [1, 2], \"population_std\": [2, 4], \"centroids\": [[-1, 0.5], [1, -0.5]], \"centroids_original\": [[-1, 4], [3, 0]], \"sizes\": [3, 2], \"wcss\": [1.5, 0.5], \"inertia\": 2, \"iterations\": 4, \"n_init\": 10, \"seed\": 42, \"n_points\": 5, \"converged\": true}"},
    {47, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 306: \"wcss\" must be a number"},
    {48, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 306: \"wcss\" must be a number"},
    {49, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 305: \"wcss\" must be an array of numbers"},
    {50, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 315: unexpected character"},
    {51, Rejected, ErrorKind::InvalidText, "invalid k-means model text: offset and divisor need dims values each"},
    {52, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 126: \"offset\" must be a number within double range"},
    {53, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 215: \"centroids\" must be an array of k rows"},
    {54, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 227: \"centroids\" must be a row of dims numbers"},
    {55, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 227: \"centroids\" must be a row of dims numbers"},
    {56, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 231: \"centroids\" must be a number"},
    {57, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 261: \"centroids_original\" disagrees with \"centroids\" (edit the scaled centroids)"},
    {58, Accepted, ErrorKind::Internal, "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": 2, \"dims\": 2, \"scale\": \"zscore\", \"feature_names\": [\"a\", \"b\"], \"offset\": [1, 2], \"divisor\": [2, 4], \"population_mean\": [1, 2], \"population_std\": [2, 4], \"centroids\": [[-1, 0.5], [1, -0.5]], \"centroids_original\": [[-1, 4], [3, 0]], \"sizes\": [3, 2], \"wcss\": [1.5, 0.5], \"inertia\": 2, \"iterations\": 4, \"n_init\": 10, \"seed\": 42, \"n_points\": 5, \"converged\": true}"},
    {59, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 261: \"centroids_original\" must be an array of k rows"},
    {60, Rejected, ErrorKind::InvalidText, "invalid k-means model text: cluster sizes must be >= 0 and add up to n_points"},
    {61, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 293: \"sizes\" must be an integer >= 0 within range"},
    {62, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 293: \"sizes\" must be an integer >= 0 within range"},
    {63, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 73: \"scale\" must be \"none\", \"zscore\" or \"minmax\""},
    {64, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 73: \"scale\" must be a string"},
    {65, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 11: \"format\" must be \"crm.kmeans_model\""},
    {66, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 42: unsupported version (this build reads version 1)"},
    {67, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 42: \"version\" must be an integer >= 1 within range"},
    {68, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 42: \"version\" must be an integer >= 1 within range"},
    {69, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 402: \"converged\" must be true or false"},
    {70, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 402: unexpected character"},
    {71, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 402: unexpected character"},
    {72, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 417: unknown key \"extra\""},
    {73, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 413: duplicate key \"k\""},
    {74, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 445: nesting too deep"},
    {75, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 445: nesting too deep"},
    {76, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 407: expected a string key"},
    {77, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 407: expected '}'"},
    {78, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 0: missing key \"dims\""},
    {79, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 69: duplicate key \"k\""},
    {80, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 50: unknown key \"x\""},
    {81, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 1: expected a string key"},
    {82, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 10: expected ':'"},
    {83, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 10: unexpected character"},
    {84, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 408: unexpected text after the JSON value"},
    {85, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 407: unexpected text after the JSON value"},
    {86, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 408: unexpected text after the JSON value"},
    {87, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 0: unexpected character"},
    {88, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 406: expected '}'"},
    {89, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 40: expected ':'"},
    {90, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 31: unterminated string"},
    {91, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 29: expected '}'"},
    {92, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 0: unexpected end of text"},
    {93, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 3: unexpected end of text"},
    {94, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 0: expected a JSON object"},
    {95, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 0: expected a JSON object"},
    {96, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 0: missing key \"format\""},
    {97, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 5: expected ']'"},
    {98, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 2: expected ']'"},
    {99, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 3: unexpected character"},
    {100, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 10: expected ':'"},
    {101, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 12: expected '}'"},
    {102, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 4: expected ':'"},
    {103, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 1: expected a string key"},
    {104, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 0: unexpected character"},
    {105, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 0: missing key \"k\""},
    {106, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 33: nesting too deep"},
    {107, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 0: expected a JSON object"},
    {108, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 33: nesting too deep"},
    {109, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 0: expected a JSON object"},
    {110, Rejected, ErrorKind::InvalidText, "invalid k-means model text at position 0: expected a JSON object"},
};

TEST(KMeansJsonPin, ToJsonTextIsUnchanged) {
    const std::vector<crm::KMeansModel> models = pin_models();
    ASSERT_EQ(models.size(), std::size(kExpectedJson));
    for (std::size_t i = 0; i < models.size(); ++i) EXPECT_EQ(models[i].to_json(), kExpectedJson[i]) << "model " << i;
}

TEST(KMeansJsonPin, ToJsonRoundTrips) {
    for (const crm::KMeansModel& m : pin_models()) {
        if (m.n_init == 0) continue;  // the hand-built model is not valid (divisor underflows the centroids)
        EXPECT_EQ(crm::KMeansModel::from_json(m.to_json()).to_json(), m.to_json());
    }
}

TEST(KMeansJsonPin, FromJsonAcceptsAndRejectsAsBefore) {
    const std::vector<std::string> cases = from_json_cases();
    ASSERT_EQ(cases.size(), std::size(kFromJson));
    for (const Expected& e : kFromJson) {
        const std::string& input = cases[static_cast<std::size_t>(e.index)];
        SCOPED_TRACE("case " + std::to_string(e.index) + ": " + input.substr(0, 200));
        if (e.outcome == Accepted) {
            try {
                EXPECT_EQ(crm::KMeansModel::from_json(input).to_json(), e.text);
            } catch (const crm::Error& err) {
                ADD_FAILURE() << "rejected: " << err.what();
            }
            continue;
        }
        try {
            crm::KMeansModel::from_json(input);
            ADD_FAILURE() << "accepted";
        } catch (const crm::Error& err) {
            EXPECT_EQ(err.kind(), e.kind) << err.what();
            EXPECT_STREQ(err.what(), e.text);
        }
    }
}

}  // namespace
