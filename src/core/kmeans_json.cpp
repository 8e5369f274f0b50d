// The k-means model's JSON text form (to_json / from_json).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "errors.hpp"
#include "kmeans.hpp"
#include "kmeans_internal.hpp"

namespace crm {

namespace {

using kmeans_detail::Index;

void append_double(std::string& out, double v) {
    if (!std::isfinite(v)) {  // only a hand-built invalid model gets here; from_json rejects it
        out += "null";
        return;
    }
    char buf[40];
    // to_chars is locale-independent and, with 17 significant digits, exact.
    const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::general, 17);
    out.append(buf, res.ptr);
}

template <class Int>
void append_integer(std::string& out, Int v) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, res.ptr);
}

void append_string(std::string& out, const std::string& s) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    for (const char ch : s) {
        const auto u = static_cast<unsigned char>(ch);
        switch (ch) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (u < 0x20) {
                    out += "\\u00";
                    out += hex[u >> 4];
                    out += hex[u & 15];
                } else {
                    out += ch;  // UTF-8 bytes pass through
                }
        }
    }
    out += '"';
}

void append_doubles(std::string& out, const double* v, std::size_t n) {
    out += '[';
    for (std::size_t i = 0; i < n; ++i) {
        if (i) out += ", ";
        append_double(out, v[i]);
    }
    out += ']';
}

void append_matrix(std::string& out, const Eigen::MatrixXd& m) {
    out += '[';
    for (Index r = 0; r < m.rows(); ++r) {
        if (r) out += ", ";
        const Eigen::RowVectorXd row = m.row(r);
        append_doubles(out, row.data(), static_cast<std::size_t>(row.size()));
    }
    out += ']';
}

struct JsonValue {
    enum class Type { Null, Bool, Number, String, Array, Object };
    Type type = Type::Null;
    std::size_t pos = 0;             // byte offset where the value starts
    bool boolean = false;
    std::string text;                // a number's literal or a string's decoded bytes
    std::vector<JsonValue> items;    // array elements, or object values
    std::vector<std::string> keys;   // object keys, parallel to items
};

const char* const kTextWhat = "invalid k-means model text";

[[noreturn]] void text_error_at(std::size_t pos, const std::string& why) {
    throw Error(ErrorKind::InvalidText, std::string(kTextWhat) + " at position " + std::to_string(pos) + ": " + why);
}

// A small strict JSON reader (RFC 8259): objects, arrays, numbers (kept as
// their literal so integers convert exactly), strings with every escape,
// true/false/null. Nesting is limited so hostile input cannot exhaust the stack.
class JsonReader {
public:
    explicit JsonReader(const std::string& text) : s_(text) {}

    JsonValue document() {
        skip_space();
        JsonValue v = value(0);
        skip_space();
        if (pos_ != s_.size()) fail("unexpected text after the JSON value");
        return v;
    }

private:
    static constexpr int kMaxDepth = 32;

    [[noreturn]] void fail(const std::string& why) const { text_error_at(pos_, why); }
    bool at_end() const { return pos_ >= s_.size(); }
    char peek() const { return at_end() ? '\0' : s_[pos_]; }
    void skip_space() {
        while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
    }
    void expect(char c) {
        if (peek() != c || at_end()) fail(std::string("expected '") + c + "'");
        ++pos_;
    }

    JsonValue value(int depth) {
        if (depth > kMaxDepth) fail("nesting too deep");
        if (at_end()) fail("unexpected end of text");
        JsonValue v;
        v.pos = pos_;
        const char c = s_[pos_];
        if (c == '{') {
            v.type = JsonValue::Type::Object;
            ++pos_;
            skip_space();
            if (peek() == '}' && !at_end()) {
                ++pos_;
                return v;
            }
            for (;;) {
                skip_space();
                if (peek() != '"' || at_end()) fail("expected a string key");
                v.keys.push_back(string());
                skip_space();
                expect(':');
                skip_space();
                v.items.push_back(value(depth + 1));
                skip_space();
                if (peek() == ',' && !at_end()) {
                    ++pos_;
                    continue;
                }
                expect('}');
                return v;
            }
        }
        if (c == '[') {
            v.type = JsonValue::Type::Array;
            ++pos_;
            skip_space();
            if (peek() == ']' && !at_end()) {
                ++pos_;
                return v;
            }
            for (;;) {
                skip_space();
                v.items.push_back(value(depth + 1));
                skip_space();
                if (peek() == ',' && !at_end()) {
                    ++pos_;
                    continue;
                }
                expect(']');
                return v;
            }
        }
        if (c == '"') {
            v.type = JsonValue::Type::String;
            v.text = string();
            return v;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            v.type = JsonValue::Type::Number;
            v.text = number();
            return v;
        }
        if (literal("true")) {
            v.type = JsonValue::Type::Bool;
            v.boolean = true;
            return v;
        }
        if (literal("false")) {
            v.type = JsonValue::Type::Bool;
            return v;
        }
        if (literal("null")) return v;
        fail("unexpected character");
    }

    bool literal(const char* word) {
        const std::size_t n = std::char_traits<char>::length(word);
        if (s_.compare(pos_, n, word) != 0) return false;
        pos_ += n;
        return true;
    }

    static bool is_digit(char c) { return c >= '0' && c <= '9'; }

    std::string number() {
        const std::size_t start = pos_;
        if (peek() == '-') ++pos_;
        if (peek() == '0') {
            ++pos_;
        } else if (is_digit(peek()) && !at_end()) {
            while (!at_end() && is_digit(s_[pos_])) ++pos_;
        } else {
            fail("invalid number");
        }
        if (!at_end() && s_[pos_] == '.') {
            ++pos_;
            if (at_end() || !is_digit(s_[pos_])) fail("invalid number: digits must follow '.'");
            while (!at_end() && is_digit(s_[pos_])) ++pos_;
        }
        if (!at_end() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
            ++pos_;
            if (!at_end() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
            if (at_end() || !is_digit(s_[pos_])) fail("invalid number: digits must follow the exponent");
            while (!at_end() && is_digit(s_[pos_])) ++pos_;
        }
        return s_.substr(start, pos_ - start);
    }

    unsigned hex4() {
        if (s_.size() - pos_ < 4) fail("truncated \\u escape");
        unsigned v = 0;
        for (int i = 0; i < 4; ++i) {
            const char c = s_[pos_++];
            v <<= 4;
            if (c >= '0' && c <= '9') v |= static_cast<unsigned>(c - '0');
            else if (c >= 'a' && c <= 'f') v |= static_cast<unsigned>(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F') v |= static_cast<unsigned>(c - 'A' + 10);
            else { --pos_; fail("invalid hex digit in \\u escape"); }
        }
        return v;
    }

    static void append_utf8(std::string& out, unsigned cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }

    std::string string() {
        expect('"');
        std::string out;
        for (;;) {
            if (at_end()) fail("unterminated string");
            const char c = s_[pos_];
            if (c == '"') {
                ++pos_;
                return out;
            }
            if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string (escape it)");
            if (c != '\\') {
                out += c;
                ++pos_;
                continue;
            }
            ++pos_;
            if (at_end()) fail("unterminated escape");
            const char e = s_[pos_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    unsigned cp = hex4();
                    if (cp >= 0xDC00 && cp <= 0xDFFF) fail("unpaired low surrogate in \\u escape");
                    if (cp >= 0xD800 && cp <= 0xDBFF) {
                        if (s_.compare(pos_, 2, "\\u") != 0) fail("unpaired high surrogate in \\u escape");
                        pos_ += 2;
                        const unsigned low = hex4();
                        if (low < 0xDC00 || low > 0xDFFF) fail("invalid low surrogate in \\u escape");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    }
                    append_utf8(out, cp);
                    break;
                }
                default: --pos_; fail("invalid escape");
            }
        }
    }

    const std::string& s_;
    std::size_t pos_ = 0;
};

// Typed access to the parsed model object, with errors naming key and position.
class ModelFields {
public:
    explicit ModelFields(const JsonValue& root) {
        if (root.type != JsonValue::Type::Object) text_error_at(root.pos, "expected a JSON object");
        for (std::size_t i = 0; i < root.keys.size(); ++i) {
            const std::string& key = root.keys[i];
            if (std::find(std::begin(kKeys), std::end(kKeys), key) == std::end(kKeys))
                text_error_at(root.items[i].pos, "unknown key \"" + key + "\"");
            for (std::size_t j = 0; j < i; ++j)
                if (root.keys[j] == key) text_error_at(root.items[i].pos, "duplicate key \"" + key + "\"");
        }
        for (const char* key : kKeys)
            if (std::find(root.keys.begin(), root.keys.end(), key) == root.keys.end())
                text_error_at(root.pos, std::string("missing key \"") + key + "\"");
        root_ = &root;
    }

    const JsonValue& get(const char* key) const {
        for (std::size_t i = 0; i < root_->keys.size(); ++i)
            if (root_->keys[i] == key) return root_->items[i];
        text_error_at(root_->pos, std::string("missing key \"") + key + "\"");
    }

    static double number(const JsonValue& v, const char* key) {
        if (v.type != JsonValue::Type::Number) wrong(v, key, "a number");
        double out = 0;
        const char* first = v.text.data();
        const char* last = first + v.text.size();
        const auto res = std::from_chars(first, last, out);
        if (res.ec != std::errc() || res.ptr != last) wrong(v, key, "a number within double range");
        return out;
    }

    template <class Int>
    static Int integer(const JsonValue& v, const char* key, Int min_value) {
        if (v.type != JsonValue::Type::Number) wrong(v, key, "an integer");
        Int out = 0;
        const char* first = v.text.data();
        const char* last = first + v.text.size();
        const auto res = std::from_chars(first, last, out);
        if (res.ec != std::errc() || res.ptr != last || out < min_value)
            wrong(v, key, "an integer >= " + std::to_string(min_value) + " within range");
        return out;
    }

    static std::vector<double> numbers(const JsonValue& v, const char* key) {
        if (v.type != JsonValue::Type::Array) wrong(v, key, "an array of numbers");
        std::vector<double> out;
        out.reserve(v.items.size());
        for (const JsonValue& item : v.items) out.push_back(number(item, key));
        return out;
    }

    static Eigen::MatrixXd matrix(const JsonValue& v, const char* key, int rows, int cols) {
        if (v.type != JsonValue::Type::Array || v.items.size() != static_cast<std::size_t>(rows))
            wrong(v, key, "an array of k rows");
        // Check the shape before allocating: k and dims come from the text.
        for (const JsonValue& row : v.items)
            if (row.type != JsonValue::Type::Array || row.items.size() != static_cast<std::size_t>(cols))
                wrong(row, key, "a row of dims numbers");
        Eigen::MatrixXd m(rows, cols);
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) m(r, c) = number(v.items[r].items[c], key);
        return m;
    }

    [[noreturn]] static void wrong(const JsonValue& v, const char* key, const std::string& expected) {
        text_error_at(v.pos, std::string("\"") + key + "\" must be " + expected);
    }

    static constexpr const char* kKeys[] = {
        "format",  "version", "k",          "dims",  "scale",      "feature_names",   "offset",
        "divisor", "population_mean", "population_std", "centroids", "centroids_original", "sizes",
        "wcss",    "inertia", "iterations", "n_init", "seed",     "n_points",        "converged"};

private:
    const JsonValue* root_ = nullptr;
};

}  // namespace

std::string KMeansModel::to_json() const {
    std::string out;
    out += "{\"format\": \"crm.kmeans_model\", \"version\": 1, \"k\": ";
    append_integer(out, k);
    out += ", \"dims\": ";
    append_integer(out, dims);
    out += ", \"scale\": ";
    append_string(out, scaling_name(scale));
    out += ", \"feature_names\": [";
    for (std::size_t i = 0; i < feature_names.size(); ++i) {
        if (i) out += ", ";
        append_string(out, feature_names[i]);
    }
    out += "], \"offset\": ";
    append_doubles(out, offset.data(), offset.size());
    out += ", \"divisor\": ";
    append_doubles(out, divisor.data(), divisor.size());
    out += ", \"population_mean\": ";
    append_doubles(out, population_mean.data(), population_mean.size());
    out += ", \"population_std\": ";
    append_doubles(out, population_std.data(), population_std.size());
    out += ", \"centroids\": ";
    append_matrix(out, centroids);
    out += ", \"centroids_original\": ";
    append_matrix(out, centroids_original());
    out += ", \"sizes\": [";
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        if (i) out += ", ";
        append_integer(out, sizes[i]);
    }
    out += "], \"wcss\": ";
    append_doubles(out, wcss.data(), wcss.size());
    out += ", \"inertia\": ";
    append_double(out, inertia);
    out += ", \"iterations\": ";
    append_integer(out, iterations);
    out += ", \"n_init\": ";
    append_integer(out, n_init);
    out += ", \"seed\": ";
    append_integer(out, seed);
    out += ", \"n_points\": ";
    append_integer(out, n_points);
    out += ", \"converged\": ";
    out += converged ? "true" : "false";
    out += '}';
    return out;
}

KMeansModel KMeansModel::from_json(const std::string& text) {
    const JsonValue root = JsonReader(text).document();
    const ModelFields f(root);

    const JsonValue& format = f.get("format");
    if (format.type != JsonValue::Type::String || format.text != "crm.kmeans_model")
        ModelFields::wrong(format, "format", "\"crm.kmeans_model\"");
    const JsonValue& version = f.get("version");
    if (ModelFields::integer<int>(version, "version", 1) != 1)
        text_error_at(version.pos, "unsupported version (this build reads version 1)");

    KMeansModel m;
    m.k = ModelFields::integer<int>(f.get("k"), "k", 1);
    m.dims = ModelFields::integer<int>(f.get("dims"), "dims", 1);
    const JsonValue& scale = f.get("scale");
    if (scale.type != JsonValue::Type::String) ModelFields::wrong(scale, "scale", "a string");
    if (scale.text == "none") m.scale = Scaling::None;
    else if (scale.text == "zscore") m.scale = Scaling::ZScore;
    else if (scale.text == "minmax") m.scale = Scaling::MinMax;
    else ModelFields::wrong(scale, "scale", "\"none\", \"zscore\" or \"minmax\"");

    const JsonValue& names = f.get("feature_names");
    if (names.type != JsonValue::Type::Array) ModelFields::wrong(names, "feature_names", "an array of strings");
    for (const JsonValue& name : names.items) {
        if (name.type != JsonValue::Type::String) ModelFields::wrong(name, "feature_names", "an array of strings");
        m.feature_names.push_back(name.text);
    }
    m.offset = ModelFields::numbers(f.get("offset"), "offset");
    m.divisor = ModelFields::numbers(f.get("divisor"), "divisor");
    m.population_mean = ModelFields::numbers(f.get("population_mean"), "population_mean");
    m.population_std = ModelFields::numbers(f.get("population_std"), "population_std");
    m.centroids = ModelFields::matrix(f.get("centroids"), "centroids", m.k, m.dims);

    const JsonValue& sizes = f.get("sizes");
    if (sizes.type != JsonValue::Type::Array) ModelFields::wrong(sizes, "sizes", "an array of integers");
    for (const JsonValue& s : sizes.items) m.sizes.push_back(ModelFields::integer<std::int64_t>(s, "sizes", 0));
    m.wcss = ModelFields::numbers(f.get("wcss"), "wcss");
    m.inertia = ModelFields::number(f.get("inertia"), "inertia");
    m.iterations = ModelFields::integer<int>(f.get("iterations"), "iterations", 0);
    m.n_init = ModelFields::integer<int>(f.get("n_init"), "n_init", 0);
    m.seed = ModelFields::integer<std::uint64_t>(f.get("seed"), "seed", 0);
    m.n_points = ModelFields::integer<std::int64_t>(f.get("n_points"), "n_points", 0);
    const JsonValue& converged = f.get("converged");
    if (converged.type != JsonValue::Type::Bool) ModelFields::wrong(converged, "converged", "true or false");
    m.converged = converged.boolean;

    kmeans_detail::validate_model(m, ErrorKind::InvalidText, std::string(kTextWhat) + ": ");

    // The original-unit centroids are derived; they must agree with the scaled
    // ones so an edit to the wrong copy is caught instead of silently ignored.
    const JsonValue& original_json = f.get("centroids_original");
    const Eigen::MatrixXd original = ModelFields::matrix(original_json, "centroids_original", m.k, m.dims);
    const Eigen::MatrixXd expected = m.centroids_original();
    for (int c = 0; c < m.k; ++c)
        for (int j = 0; j < m.dims; ++j)
            if (!(std::abs(original(c, j) - expected(c, j)) <= 1e-9 * (std::abs(expected(c, j)) + m.divisor[j])))
                text_error_at(original_json.pos,
                              "\"centroids_original\" disagrees with \"centroids\" (edit the scaled centroids)");
    return m;
}

}  // namespace crm
