#include "factor_model.hpp"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "byte_io.hpp"
#include "errors.hpp"

namespace crm {

namespace {

constexpr std::uint8_t kVersion = 1;
constexpr const char* kWhat = "latent-factor model";

[[noreturn]] void damaged(const std::string& why) {
    throw_error(ErrorKind::InvalidBinary, std::string("invalid ") + kWhat + " value: " + why);
}

std::size_t find_key(const std::vector<std::int64_t>& keys, std::int64_t key) {
    const auto it = std::lower_bound(keys.begin(), keys.end(), key);
    return it != keys.end() && *it == key ? static_cast<std::size_t>(it - keys.begin()) : FactorModel::npos;
}

void put_matrix(ByteWriter& w, const Eigen::MatrixXd& m) {
    w.u64(static_cast<std::uint64_t>(m.rows()));
    // Row-major on the wire: one entity's factors together.
    const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rm = m;
    w.f64s(rm.data(), static_cast<std::size_t>(rm.size()));
}

Eigen::MatrixXd get_matrix(ByteReader& r, int factors) {
    const std::uint64_t rows = r.u64();
    const std::vector<double> v = r.f64s();
    if (factors < 1 || v.size() != rows * static_cast<std::uint64_t>(factors))
        damaged("factor matrix size does not match");
    Eigen::MatrixXd m(static_cast<Eigen::Index>(rows), factors);
    for (std::uint64_t i = 0; i < rows; ++i)
        for (int f = 0; f < factors; ++f) m(static_cast<Eigen::Index>(i), f) = v[i * factors + f];
    return m;
}

void check_model(const FactorModel& m, ErrorKind kind) {
    const auto bad = [kind](const std::string& why) { throw_error(kind, "invalid latent-factor model: " + why); };
    if (m.kind != FactorKind::Als && m.kind != FactorKind::Svd) bad("unknown kind");
    if (m.factors < 1 || m.factors > kMaxFactors) bad("factors must be between 1 and " + std::to_string(kMaxFactors));
    if (!(m.regularization >= 0) || !std::isfinite(m.regularization)) bad("regularization must be a finite number >= 0");
    if (m.kind == FactorKind::Als && (!(m.alpha > 0) || !std::isfinite(m.alpha))) bad("alpha must be a finite number > 0");
    if (m.kind == FactorKind::Svd && (!std::isfinite(m.min_rating) || !std::isfinite(m.max_rating) || m.min_rating > m.max_rating))
        bad("the rating scale must be two finite numbers, the smaller first");
    if (!std::isfinite(m.training_error) || !std::isfinite(m.learning_rate) || !std::isfinite(m.init_std))
        bad("hyper-parameters and the training error must be finite");
    if (m.user_factors.rows() != static_cast<Eigen::Index>(m.user_keys.size()) ||
        m.item_factors.rows() != static_cast<Eigen::Index>(m.item_keys.size()) ||
        m.user_factors.cols() != m.factors || m.item_factors.cols() != m.factors)
        bad("factor matrices do not match the keys");
    if (m.kind == FactorKind::Svd && (m.user_bias.size() != static_cast<Eigen::Index>(m.user_keys.size()) ||
                                      m.item_bias.size() != static_cast<Eigen::Index>(m.item_keys.size())))
        bad("biases do not match the keys");
    if (!m.user_factors.allFinite() || !m.item_factors.allFinite() || !m.user_bias.allFinite() ||
        !m.item_bias.allFinite() || !std::isfinite(m.global_mean))
        bad("factors must be finite");
    for (std::size_t i = 1; i < m.user_keys.size(); ++i)
        if (m.user_keys[i - 1] >= m.user_keys[i]) bad("user keys are not ascending");
    for (std::size_t i = 1; i < m.item_keys.size(); ++i)
        if (m.item_keys[i - 1] >= m.item_keys[i]) bad("item keys are not ascending");
}

const char* kind_name(FactorKind k) { return k == FactorKind::Als ? "als" : "svd"; }

}  // namespace

double NormalDeviates::operator()(double sd) {
    if (has_spare_) {
        has_spare_ = false;
        return spare_ * sd;
    }
    double u1;
    do u1 = static_cast<double>(engine_() >> 11) * 0x1.0p-53;
    while (u1 <= 0.0);
    const double u2 = static_cast<double>(engine_() >> 11) * 0x1.0p-53;
    const double radius = std::sqrt(-2.0 * std::log(u1));
    spare_ = radius * std::sin(2 * M_PI * u2);
    has_spare_ = true;
    return radius * std::cos(2 * M_PI * u2) * sd;
}

void FactorModel::validate(ErrorKind kind) const { check_model(*this, kind); }

std::size_t FactorModel::user_index(std::int64_t key) const { return find_key(user_keys, key); }
std::size_t FactorModel::item_index(std::int64_t key) const { return find_key(item_keys, key); }

const Eigen::MatrixXd& FactorModel::item_gram() const {
    if (item_gram_.rows() != factors) {
        item_gram_ = item_factors.transpose() * item_factors;
        item_gram_.diagonal().array() += regularization;
    }
    return item_gram_;
}

std::size_t FactorModel::memory_bytes() const {
    return sizeof(*this) + 8 * (user_keys.capacity() + item_keys.capacity() + user_factors.size() + item_factors.size() +
                                user_bias.size() + item_bias.size() + static_cast<std::size_t>(factors) * factors);
}

std::size_t factor_fit_bytes(std::size_t users, std::size_t items, int factors) {
    const std::size_t f = static_cast<std::size_t>(factors);
    // The two factor matrices, the model's copy of them, keys and biases; per
    // solving thread (two) and on the caller, the f x f systems and an f x 1024
    // block of gathered rows.
    return (users + items) * (2 * f + 4) * 8 + 4 * (f * f + f * 1024) * 8;
}

namespace {

// FNV-1a over 64-bit little-endian words (the tail byte by byte): fast
// enough for megabytes of factors, and all the identity a cache needs.
std::uint64_t content_hash(const std::uint8_t* data, std::size_t size) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    std::size_t i = 0;
    for (; i + 8 <= size; i += 8) {
        std::uint64_t word = 0;
        for (int b = 0; b < 8; ++b) word |= static_cast<std::uint64_t>(data[i + b]) << (8 * b);
        h = (h ^ word) * 0x100000001b3ULL;
    }
    for (; i < size; ++i) h = (h ^ data[i]) * 0x100000001b3ULL;
    return h;
}

constexpr std::size_t kHeaderBytes = 10;  // tag, version, content hash

}  // namespace

std::uint64_t factor_model_id(const std::uint8_t* data, std::size_t size) {
    if (size < kHeaderBytes || data[0] != tags::factor_model) return 0;
    std::uint64_t id = 0;
    for (int b = 0; b < 8; ++b) id |= static_cast<std::uint64_t>(data[2 + b]) << (8 * b);
    return id;
}

std::vector<std::uint8_t> FactorModel::serialize() const {
    ByteWriter w(tags::factor_model, kVersion);
    w.u64(0);  // the content hash, filled in below
    w.u8(static_cast<std::uint8_t>(kind));
    w.u32(static_cast<std::uint32_t>(factors));
    for (const double v : {regularization, alpha, learning_rate, init_std, global_mean, min_rating, max_rating, training_error})
        w.f64(v);
    w.u32(static_cast<std::uint32_t>(iterations));
    w.i64(seed);
    w.i64(ratings);
    for (const std::string* s : {&source.relation, &source.user_col, &source.item_col, &source.rating_col}) w.str(*s);
    w.i64(data_version);
    for (const auto* keys : {&user_keys, &item_keys}) {
        w.u64(keys->size());
        for (const std::int64_t k : *keys) w.i64(k);
    }
    put_matrix(w, user_factors);
    put_matrix(w, item_factors);
    w.f64s(user_bias.data(), static_cast<std::size_t>(user_bias.size()));
    w.f64s(item_bias.data(), static_cast<std::size_t>(item_bias.size()));
    std::vector<std::uint8_t> bytes = w.take();
    const std::uint64_t h = content_hash(bytes.data() + kHeaderBytes, bytes.size() - kHeaderBytes);
    for (int b = 0; b < 8; ++b) bytes[2 + b] = static_cast<std::uint8_t>(h >> (8 * b));
    return bytes;
}

FactorModel FactorModel::deserialize(const std::uint8_t* data, std::size_t size) {
    ByteReader r(data, size, tags::factor_model, kVersion, kWhat);
    const std::uint64_t stored_hash = r.u64();  // throws first when the value is shorter than the header
    if (stored_hash != content_hash(data + kHeaderBytes, size - kHeaderBytes)) damaged("its checksum does not match");
    FactorModel m;
    m.kind = static_cast<FactorKind>(r.u8());
    m.factors = static_cast<int>(r.u32());
    for (double* v : {&m.regularization, &m.alpha, &m.learning_rate, &m.init_std, &m.global_mean, &m.min_rating,
                      &m.max_rating, &m.training_error})
        *v = r.f64();
    m.iterations = static_cast<int>(r.u32());
    m.seed = r.i64();
    m.ratings = r.i64();
    for (std::string* s : {&m.source.relation, &m.source.user_col, &m.source.item_col, &m.source.rating_col}) *s = r.str();
    m.data_version = r.i64();
    for (auto* keys : {&m.user_keys, &m.item_keys}) {
        const std::uint64_t n = r.u64();
        if (n > size / 8) damaged("key count exceeds the data");
        keys->resize(static_cast<std::size_t>(n));
        for (auto& k : *keys) k = r.i64();
    }
    if (m.factors < 1 || m.factors > kMaxFactors) damaged("factors out of range");
    m.user_factors = get_matrix(r, m.factors);
    m.item_factors = get_matrix(r, m.factors);
    const std::vector<double> ub = r.f64s(), ib = r.f64s();
    m.user_bias = Eigen::Map<const Eigen::VectorXd>(ub.data(), static_cast<Eigen::Index>(ub.size()));
    m.item_bias = Eigen::Map<const Eigen::VectorXd>(ib.data(), static_cast<Eigen::Index>(ib.size()));
    r.expect_end();
    check_model(m, ErrorKind::InvalidBinary);
    return m;
}

namespace {

nlohmann::json header_json(const FactorModel& m) {
    nlohmann::json j;
    j["format"] = "crm_analytics latent-factor model";
    j["version"] = kVersion;
    j["kind"] = kind_name(m.kind);
    j["factors"] = m.factors;
    j["regularization"] = m.regularization;
    if (m.kind == FactorKind::Als) {
        j["alpha"] = m.alpha;
        j["iterations"] = m.iterations;
    } else {
        j["learning_rate"] = m.learning_rate;
        j["init_std"] = m.init_std;
        j["epochs"] = m.iterations;
        j["global_mean"] = m.global_mean;
        j["rating_scale"] = {m.min_rating, m.max_rating};
    }
    j["seed"] = m.seed;
    j["training_ratings"] = m.ratings;
    j[m.kind == FactorKind::Als ? "training_mse" : "training_rmse"] = m.training_error;
    j["users"] = m.user_keys.size();
    j["items"] = m.item_keys.size();
    j["source"] = {{"relation", m.source.relation},
                   {"user_col", m.source.user_col},
                   {"item_col", m.source.item_col},
                   {"rating_col", m.source.rating_col}};
    j["data_version"] = m.data_version >= 0 ? nlohmann::json(m.data_version) : nlohmann::json(nullptr);
    return j;
}

nlohmann::json rows_json(const std::vector<std::int64_t>& keys, const Eigen::MatrixXd& f, const Eigen::VectorXd& bias) {
    nlohmann::json out = nlohmann::json::array();
    for (std::size_t i = 0; i < keys.size(); ++i) {
        nlohmann::json row = {{"id", keys[i]}};
        if (bias.size() > 0) row["bias"] = bias[static_cast<Eigen::Index>(i)];
        std::vector<double> v(f.cols());
        for (Eigen::Index c = 0; c < f.cols(); ++c) v[static_cast<std::size_t>(c)] = f(static_cast<Eigen::Index>(i), c);
        row["factors"] = v;
        out.push_back(std::move(row));
    }
    return out;
}

}  // namespace

std::string FactorModel::info_json() const { return header_json(*this).dump(); }

std::string FactorModel::to_json() const {
    nlohmann::json j = header_json(*this);
    j["user_factors"] = rows_json(user_keys, user_factors, user_bias);
    j["item_factors"] = rows_json(item_keys, item_factors, item_bias);
    return j.dump();
}

FactorModel FactorModel::from_json(const std::string& text) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception&) {
        throw_error(ErrorKind::InvalidText, "invalid latent-factor model: not JSON");
    }
    try {
        FactorModel m;
        if (j.at("format").get<std::string>() != "crm_analytics latent-factor model" || j.at("version").get<int>() != kVersion)
            throw_error(ErrorKind::InvalidText, "invalid latent-factor model: unknown format or version");
        const std::string kind = j.at("kind").get<std::string>();
        if (kind != "als" && kind != "svd") throw_error(ErrorKind::InvalidText, "invalid latent-factor model: unknown kind");
        m.kind = kind == "als" ? FactorKind::Als : FactorKind::Svd;
        m.factors = j.at("factors").get<int>();
        m.regularization = j.at("regularization").get<double>();
        if (m.kind == FactorKind::Als) {
            m.alpha = j.at("alpha").get<double>();
            m.iterations = j.at("iterations").get<int>();
            m.training_error = j.at("training_mse").get<double>();
        } else {
            m.learning_rate = j.at("learning_rate").get<double>();
            m.init_std = j.at("init_std").get<double>();
            m.iterations = j.at("epochs").get<int>();
            m.global_mean = j.at("global_mean").get<double>();
            m.min_rating = j.at("rating_scale").at(0).get<double>();
            m.max_rating = j.at("rating_scale").at(1).get<double>();
            m.training_error = j.at("training_rmse").get<double>();
        }
        m.seed = j.at("seed").get<std::int64_t>();
        m.ratings = j.at("training_ratings").get<std::int64_t>();
        const auto& src = j.at("source");
        m.source = {src.at("relation").get<std::string>(), src.at("user_col").get<std::string>(),
                    src.at("item_col").get<std::string>(), src.at("rating_col").get<std::string>()};
        m.data_version = !j.contains("data_version") || j.at("data_version").is_null() ? -1 : j.at("data_version").get<std::int64_t>();
        if (m.factors < 1 || m.factors > kMaxFactors) throw_error(ErrorKind::InvalidText, "invalid latent-factor model: factors out of range");
        const auto read_rows = [&m](const nlohmann::json& rows, std::vector<std::int64_t>& keys, Eigen::MatrixXd& f,
                                    Eigen::VectorXd& bias) {
            keys.resize(rows.size());
            f.resize(static_cast<Eigen::Index>(rows.size()), m.factors);
            if (m.kind == FactorKind::Svd) bias.resize(static_cast<Eigen::Index>(rows.size()));
            for (std::size_t i = 0; i < rows.size(); ++i) {
                keys[i] = rows[i].at("id").get<std::int64_t>();
                const std::vector<double> v = rows[i].at("factors").get<std::vector<double>>();
                if (v.size() != static_cast<std::size_t>(m.factors))
                    throw_error(ErrorKind::InvalidText, "invalid latent-factor model: a factor vector has the wrong length");
                for (int c = 0; c < m.factors; ++c) f(static_cast<Eigen::Index>(i), c) = v[static_cast<std::size_t>(c)];
                if (m.kind == FactorKind::Svd) bias[static_cast<Eigen::Index>(i)] = rows[i].at("bias").get<double>();
            }
        };
        read_rows(j.at("user_factors"), m.user_keys, m.user_factors, m.user_bias);
        read_rows(j.at("item_factors"), m.item_keys, m.item_factors, m.item_bias);
        check_model(m, ErrorKind::InvalidText);
        return m;
    } catch (const nlohmann::json::exception& e) {
        throw_error(ErrorKind::InvalidText, std::string("invalid latent-factor model: ") + e.what());
    }
}

}  // namespace crm
