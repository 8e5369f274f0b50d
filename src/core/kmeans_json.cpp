// The k-means model's JSON text form (to_json / from_json).
//
// Reading: nlohmann-json's SAX parser checks the syntax (RFC 8259, strict:
// nothing after the value, no comments, valid UTF-8 in strings). The events go
// straight into the model's typed fields (no document tree), so the memory a
// text costs stays a small multiple of its size. Numbers are converted from
// their literal in the text with std::from_chars, as before the switch: an
// integer field accepts exactly the literals it did ("2.0" and "2e0" are not
// integers, a double literal out of double range is rejected rather than read
// as infinity).
//
// Writing: the text is built here, not by nlohmann's dump(), because stored
// models and the pg_regress expected files depend on its exact bytes: dump()
// writes doubles in their shortest form ("0.1") and without spaces after ','
// and ':', while this text has 17 significant digits ("0.10000000000000001",
// which from_json turns back into the same bits) and ", " / ": ". Strings
// (feature names) are escaped by nlohmann's serializer, which escapes exactly
// as the earlier hand-written writer did for valid UTF-8.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "errors.hpp"
#include "kmeans.hpp"
#include "kmeans_internal.hpp"

namespace crm {

namespace {

using kmeans_detail::Index;
using Json = nlohmann::json;

// ---------------------------------------------------------------------------
// Writing

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

// A name that is not valid UTF-8 (possible only in a SQL_ASCII database, and
// one from_json would reject) is written with U+FFFD for the bad bytes, so the
// text is always valid JSON.
void append_string(std::string& out, const std::string& s) {
    out += Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
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

// ---------------------------------------------------------------------------
// Reading

const char* const kTextWhat = "invalid k-means model text";

[[noreturn]] void text_error_at(std::size_t pos, const std::string& why) {
    throw Error(ErrorKind::InvalidText, std::string(kTextWhat) + " at position " + std::to_string(pos) + ": " + why);
}

constexpr int kMaxDepth = 32;  // deeper nesting is rejected (the model needs 3 levels)

constexpr const char* kKeys[] = {
    "format",  "version", "k",          "dims",  "scale",      "feature_names",   "offset",
    "divisor", "population_mean", "population_std", "centroids", "centroids_original", "sizes",
    "wcss",    "inertia", "iterations", "n_init", "seed",     "n_points",        "converged"};
constexpr std::size_t kKeyCount = sizeof kKeys / sizeof kKeys[0];

// What a key's value must look like.
enum class Shape { Scalar, Strings, Numbers, Integers, Matrix };

Shape shape_of(const std::string& key) {
    if (key == "feature_names") return Shape::Strings;
    if (key == "sizes") return Shape::Integers;
    if (key == "centroids" || key == "centroids_original") return Shape::Matrix;
    if (key == "offset" || key == "divisor" || key == "population_mean" || key == "population_std" || key == "wcss")
        return Shape::Numbers;
    return Shape::Scalar;
}

enum class Type { Null, Bool, Number, String, Array, Object };

// Where a number literal ends, from its first character (the parser has
// checked it is a valid literal).
std::size_t number_end(const std::string& s, std::size_t p) {
    while (p < s.size() && (std::strchr("+-.eE", s[p]) != nullptr || (s[p] >= '0' && s[p] <= '9')) && s[p] != '\0')
        ++p;
    return p;
}

// nlohmann copies a number literal it cannot represent into its error message
// several times over; no model needs a literal this long (to_json writes at
// most 24 bytes), so longer ones are rejected before parsing.
constexpr std::size_t kMaxNumberLiteral = 4096;

void reject_long_number_literals(const std::string& s) {
    bool in_string = false;
    std::size_t run = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (in_string) {
            if (c == '\\') ++i;
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        const bool number_char = (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
        run = number_char ? run + 1 : 0;
        if (run > kMaxNumberLiteral)
            text_error_at(i + 1 - run, "number literal longer than " + std::to_string(kMaxNumberLiteral) + " bytes");
    }
}

// One top-level key's value, filled from the parser's events.
struct Field {
    bool present = false;
    Shape shape = Shape::Scalar;
    std::size_t pos = 0;      // where the value starts
    Type type = Type::Null;
    bool boolean = false;
    std::string text;         // a string value
    std::size_t literal = 0;  // a number value: its literal is text_[literal, number_end)
    // Arrays: the items (Strings, Numbers, Integers) or the rows' elements
    // (Matrix, row-major), kept up to the first item of the wrong kind.
    std::vector<std::string> strings;
    std::vector<std::size_t> string_pos;
    std::vector<double> numbers;
    std::vector<std::int64_t> integers;
    // Matrix: the rows as runs of rows of the same length (kNotArray: not an
    // array), so that even "[[], [], ...]" costs little memory.
    struct Run {
        std::size_t pos, len, count;  // the first row's position, the length, how many rows
    };
    std::vector<Run> rows;
    bool row_open = false;  // an array row is being read
    std::size_t open_row_pos = 0, open_row_len = 0;
    void add_row(std::size_t pos, std::size_t len) {
        if (!rows.empty() && rows.back().len == len) ++rows.back().count;
        else rows.push_back({pos, len, 1});
    }
    std::size_t row_count() const {
        std::size_t n = 0;
        for (const Run& r : rows) n += r.count;
        return n;
    }
    bool item_bad = false;    // the first wrong item, in document order
    std::size_t bad_pos = 0;
    std::string bad_expected;
};

constexpr std::size_t kNotArray = static_cast<std::size_t>(-1);

// The SAX handler: checks nesting, keys and value kinds as the events arrive,
// keeps the first semantic problem to report after a successful parse (so a
// syntax error anywhere wins, as with a parse-then-check reader), and works
// out each value's byte position from the text (only whitespace, ',' and ':'
// separate consecutive tokens).
class ModelSax {
public:
    explicit ModelSax(const std::string& text) : text_(text) {}

    // nlohmann's SAX interface.
    bool null() { return scalar(Type::Null, 4); }
    bool boolean(bool b) {
        const std::size_t pos = value_start();
        if (value(Type::Bool, pos)) {
            current().boolean = b;
            item_wrong(pos);
        }
        end_ = pos + (b ? 4 : 5);
        return true;
    }
    bool number_integer(Json::number_integer_t) { return number(); }
    bool number_unsigned(Json::number_unsigned_t) { return number(); }
    bool number_float(Json::number_float_t, const std::string&) { return number(); }
    bool string(std::string& s) {
        const std::size_t pos = value_start();
        end_ = string_end(pos);
        if (!value(Type::String, pos)) return true;
        Field& f = current();
        if (depth_ == 1) {
            f.text = std::move(s);
        } else if (f.type == Type::Array && f.shape == Shape::Strings && depth_ == 2 && !f.item_bad) {
            f.strings.push_back(std::move(s));
            f.string_pos.push_back(pos);
        } else {
            item_wrong(pos);
        }
        return true;
    }
    bool binary(Json::binary_t&) { return true; }  // never sent for JSON text
    bool start_object(std::size_t) { return open(Type::Object); }
    bool start_array(std::size_t) { return open(Type::Array); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(std::string& k) {
        const std::size_t pos = value_start();
        end_ = string_end(pos);
        if (depth_ != 1 || !root_is_object_) return true;
        field_ = -1;
        const std::size_t value_pos = skip(end_);  // past the ':'
        const auto* it = std::find(std::begin(kKeys), std::end(kKeys), k);
        if (it == std::end(kKeys)) {
            problem(value_pos, "unknown key \"" + k + "\"");
            return true;
        }
        const int index = static_cast<int>(it - std::begin(kKeys));
        if (fields_[index].present) {
            problem(value_pos, "duplicate key \"" + k + "\"");
            return true;
        }
        fields_[index].present = true;
        fields_[index].shape = shape_of(k);
        field_ = index;
        return true;
    }
    bool parse_error(std::size_t position, const std::string& last_token, const nlohmann::detail::exception& e) {
        syntax_error(position, last_token, e);
    }

    // After a successful parse: the first problem found on the way.
    void finish() const {
        if (!root_is_object_) text_error_at(root_pos_, "expected a JSON object");
        if (has_problem_) text_error_at(problem_pos_, problem_);
        for (std::size_t i = 0; i < kKeyCount; ++i)
            if (!fields_[i].present) text_error_at(root_pos_, std::string("missing key \"") + kKeys[i] + "\"");
    }

    const Field& get(const char* key) const {
        return fields_[static_cast<std::size_t>(std::find(std::begin(kKeys), std::end(kKeys), std::string(key)) -
                                                std::begin(kKeys))];
    }
    const std::string& text() const { return text_; }

private:
    Field& current() { return fields_[static_cast<std::size_t>(field_)]; }

    static bool space_or_separator(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':'; }
    std::size_t skip(std::size_t p) const {
        while (p < text_.size() && space_or_separator(text_[p])) ++p;
        return p;
    }
    std::size_t value_start() const { return skip(end_); }
    std::size_t string_end(std::size_t p) const {
        for (++p; p < text_.size() && text_[p] != '"'; ++p)
            if (text_[p] == '\\') ++p;
        return p + 1;
    }

    void problem(std::size_t pos, const std::string& why) {
        if (has_problem_) return;
        has_problem_ = true;
        problem_pos_ = pos;
        problem_ = why;
    }

    // Bookkeeping common to every value; false when nothing needs keeping.
    bool value(Type type, std::size_t pos) {
        if (depth_ > kMaxDepth) text_error_at(pos, "nesting too deep");
        if (depth_ == 0) {
            root_pos_ = pos;
            root_is_object_ = type == Type::Object;
            complete_ = type != Type::Object && type != Type::Array;
            return false;
        }
        if (field_ < 0) return false;
        Field& f = current();
        if (depth_ == 1) {
            f.pos = pos;
            f.type = type;
            return true;
        }
        if (f.type != Type::Array) return false;
        if (f.shape == Shape::Matrix) {
            // Rows are counted even after a wrong element: a row of the wrong
            // length is reported before any element.
            if (depth_ == 2) {
                if (type != Type::Array) {
                    f.add_row(pos, kNotArray);
                    return false;
                }
                f.row_open = true;
                f.open_row_pos = pos;
                f.open_row_len = 0;
                return true;
            }
            if (depth_ == 3 && f.row_open) {
                ++f.open_row_len;
                return !f.item_bad;
            }
            return false;
        }
        return depth_ == 2 && !f.item_bad;
    }

    void item_wrong(std::size_t pos) {
        Field& f = current();
        if (depth_ < 2 || f.item_bad || f.type != Type::Array) return;
        if (depth_ == 3 && (f.shape != Shape::Matrix || !f.row_open)) return;
        f.item_bad = true;
        f.bad_pos = pos;
        switch (f.shape) {
            case Shape::Strings: f.bad_expected = "an array of strings"; break;
            case Shape::Integers: f.bad_expected = "an integer"; break;
            default: f.bad_expected = "a number"; break;
        }
    }

    bool scalar(Type type, std::size_t length) {
        const std::size_t pos = value_start();
        end_ = pos + length;
        if (value(type, pos) && depth_ >= 2) item_wrong(pos);
        return true;
    }

    bool number() {
        const std::size_t pos = value_start();
        end_ = number_end(text_, pos);
        if (!value(Type::Number, pos)) return true;
        Field& f = current();
        if (depth_ == 1) {
            f.literal = pos;
            return true;
        }
        const char* first = text_.data() + pos;
        const char* last = text_.data() + end_;
        if (f.shape == Shape::Integers) {
            std::int64_t v = 0;
            const auto res = std::from_chars(first, last, v);
            if (res.ec != std::errc() || res.ptr != last || v < 0) {
                item_wrong(pos);
                f.bad_expected = "an integer >= 0 within range";
            } else {
                f.integers.push_back(v);
            }
        } else if (f.shape == Shape::Numbers || f.shape == Shape::Matrix) {
            double v = 0;
            const auto res = std::from_chars(first, last, v);
            if (res.ec != std::errc() || res.ptr != last) {
                item_wrong(pos);
                f.bad_expected = "a number within double range";
            } else {
                f.numbers.push_back(v);
            }
        } else {
            item_wrong(pos);
        }
        return true;
    }

    bool open(Type type) {
        const std::size_t pos = value_start();
        end_ = pos + 1;
        if (value(type, pos) && depth_ >= 2 && !(depth_ == 2 && current().shape == Shape::Matrix)) item_wrong(pos);
        ++depth_;
        return true;
    }

    bool close() {
        end_ = value_start() + 1;
        --depth_;
        if (depth_ == 2 && field_ >= 0 && current().row_open) {
            Field& f = current();
            f.add_row(f.open_row_pos, f.open_row_len);
            f.row_open = false;
        }
        if (depth_ == 0) complete_ = true;
        if (depth_ == 1) field_ = -1;
        return true;
    }

    // The earlier reader's words for nlohmann's lexer errors.
    static std::string lexer_problem(const std::string& problem) {
        const auto has = [&problem](const char* s) { return problem.find(s) != std::string::npos; };
        if (has("control character")) return "control character in a string (escape it)";
        if (has("missing closing quote")) return "unterminated string";
        if (has("forbidden character after backslash")) return "invalid escape";
        if (has("must be followed by 4 hex digits")) return "invalid hex digit in \\u escape";
        if (has("surrogate U+D800..U+DBFF must be followed")) return "unpaired high surrogate in \\u escape";
        if (has("surrogate U+DC00..U+DFFF must follow")) return "unpaired low surrogate in \\u escape";
        if (has("ill-formed UTF-8")) return "invalid UTF-8 in a string";
        if (has("expected digit after '.'")) return "invalid number: digits must follow '.'";
        if (has("exponent")) return "invalid number: digits must follow the exponent";
        if (has("invalid number")) return "invalid number";
        return problem;
    }

    // nlohmann's message is "[json.exception.parse_error.101] parse error at
    // line L, column C: syntax error while parsing <context> - <problem>"; the
    // problem is reported in the words of this type's earlier reader where they
    // say the same, at the byte where the offending token starts, or for a bad
    // character inside a string or number, at that character. `position` is
    // the count of bytes the lexer has read (the end of input counting one);
    // `last_token` what it read of a string or number token.
    [[noreturn]] void syntax_error(std::size_t position, const std::string& last_token,
                                   const nlohmann::detail::exception& e) const {
        if (e.id == 406) {  // a number literal beyond double range (nlohmann rejects it while parsing)
            const bool numeric = field_ >= 0 && fields_[field_].shape != Shape::Scalar;
            text_error_at(value_start(), numeric || (field_ >= 0 && kKeys[field_] == std::string("inertia"))
                                             ? std::string("\"") + kKeys[field_] + "\" must be a number within double range"
                                             : std::string("number out of double range"));
        }
        const std::string what = e.what();
        const std::size_t dash = what.find(" - ");
        const std::string message = dash == std::string::npos ? what : what.substr(dash + 3);
        const auto ends_with = [&message](const char* s) {
            const std::size_t n = std::strlen(s);
            return message.size() >= n && message.compare(message.size() - n, n, s) == 0;
        };
        const std::size_t last_read = message.find("; last read:");
        const std::string problem = message.substr(0, last_read);  // a lexer error, or "unexpected <token>; ..."
        const auto has = [&problem](const char* s) { return problem.find(s) != std::string::npos; };
        std::size_t pos = position > 0 ? position - 1 : 0;  // the last byte read
        if (has("invalid literal"))
            pos = value_start();
        else if (last_read == std::string::npos && (has("unexpected string literal") || has("unexpected number literal")))
            pos = position >= last_token.size() ? position - last_token.size() : 0;
        else if (has("unexpected 'true' literal") || has("unexpected 'null' literal"))
            pos = position - 4;
        else if (has("unexpected 'false' literal"))
            pos = position - 5;

        const bool lexer_error = last_read != std::string::npos && !has("invalid literal");
        std::string why;
        if (complete_)
            why = "unexpected text after the JSON value";
        else if (lexer_error)
            why = lexer_problem(problem);
        else if (ends_with("; expected ':'"))
            why = "expected ':'";
        else if (ends_with("; expected '}'"))
            why = "expected '}'";
        else if (ends_with("; expected ']'"))
            why = "expected ']'";
        else if (ends_with("; expected string literal"))
            why = "expected a string key";
        else if (has("end of input"))
            why = "unexpected end of text";
        else
            why = "unexpected character";
        text_error_at(pos, why);
    }

    const std::string& text_;
    Field fields_[kKeyCount];
    int field_ = -1;          // the top-level key whose value is being read
    int depth_ = 0;           // containers open
    std::size_t end_ = 0;     // where the last token ended
    std::size_t root_pos_ = 0;
    bool root_is_object_ = false;
    bool complete_ = false;   // the root value is closed
    bool has_problem_ = false;
    std::size_t problem_pos_ = 0;
    std::string problem_;
};

// Typed access to the fields, with errors naming key and position (the order
// of the checks is the order of from_json's reads).
class ModelFields {
public:
    explicit ModelFields(const ModelSax& sax) : sax_(sax) {}

    const Field& get(const char* key) const { return sax_.get(key); }

    [[noreturn]] static void wrong(const Field& v, const char* key, const std::string& expected) {
        text_error_at(v.pos, std::string("\"") + key + "\" must be " + expected);
    }

    double number(const char* key) const {
        const Field& v = get(key);
        if (v.type != Type::Number) wrong(v, key, "a number");
        double out = 0;
        const auto [first, last] = literal(v);
        const auto res = std::from_chars(first, last, out);
        if (res.ec != std::errc() || res.ptr != last) wrong(v, key, "a number within double range");
        return out;
    }

    template <class Int>
    Int integer(const char* key, Int min_value) const {
        const Field& v = get(key);
        if (v.type != Type::Number) wrong(v, key, "an integer");
        Int out = 0;
        const auto [first, last] = literal(v);
        const auto res = std::from_chars(first, last, out);
        if (res.ec != std::errc() || res.ptr != last || out < min_value)
            wrong(v, key, "an integer >= " + std::to_string(min_value) + " within range");
        return out;
    }

    std::vector<double> numbers(const char* key) const {
        const Field& v = get(key);
        if (v.type != Type::Array) wrong(v, key, "an array of numbers");
        bad_item(v, key);
        return v.numbers;
    }

    std::vector<std::int64_t> integers(const char* key) const {
        const Field& v = get(key);
        if (v.type != Type::Array) wrong(v, key, "an array of integers");
        bad_item(v, key);
        return v.integers;
    }

    std::vector<std::string> strings(const char* key) const {
        const Field& v = get(key);
        if (v.type != Type::Array) wrong(v, key, "an array of strings");
        bad_item(v, key);
        // A text value with an embedded NUL cannot exist in PostgreSQL.
        for (std::size_t i = 0; i < v.strings.size(); ++i)
            if (v.strings[i].find('\0') != std::string::npos)
                throw Error(ErrorKind::InvalidParameter,
                            std::string(kTextWhat) + " at position " + std::to_string(v.string_pos[i]) + ": \"" +
                                key + "\" must not contain the NUL character (\\u0000)");
        return v.strings;
    }

    Eigen::MatrixXd matrix(const char* key, int rows, int cols) const {
        const Field& v = get(key);
        if (v.type != Type::Array || v.row_count() != static_cast<std::size_t>(rows))
            wrong(v, key, "an array of k rows");
        for (const Field::Run& run : v.rows)
            if (run.len != static_cast<std::size_t>(cols)) {
                Field row;
                row.pos = run.pos;
                wrong(row, key, "a row of dims numbers");
            }
        bad_item(v, key);
        Eigen::MatrixXd m(rows, cols);
        for (int r = 0; r < rows; ++r)
            for (int c = 0; c < cols; ++c) m(r, c) = v.numbers[static_cast<std::size_t>(r) * cols + c];
        return m;
    }

private:
    std::pair<const char*, const char*> literal(const Field& v) const {
        const std::string& s = sax_.text();
        return {s.data() + v.literal, s.data() + number_end(s, v.literal)};
    }

    static void bad_item(const Field& v, const char* key) {
        if (v.item_bad) text_error_at(v.bad_pos, std::string("\"") + key + "\" must be " + v.bad_expected);
    }

    const ModelSax& sax_;
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
    // nlohmann skips a UTF-8 byte order mark; a model's text never has one.
    if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text_error_at(0, "unexpected character");
    reject_long_number_literals(text);
    ModelSax sax(text);
    Json::sax_parse(text, &sax, nlohmann::detail::input_format_t::json, true, false);
    sax.finish();
    const ModelFields f(sax);

    const Field& format = f.get("format");
    if (format.type != Type::String || format.text != "crm.kmeans_model")
        ModelFields::wrong(format, "format", "\"crm.kmeans_model\"");
    if (f.integer<int>("version", 1) != 1)
        text_error_at(f.get("version").pos, "unsupported version (this build reads version 1)");

    KMeansModel m;
    m.k = f.integer<int>("k", 1);
    m.dims = f.integer<int>("dims", 1);
    const Field& scale = f.get("scale");
    if (scale.type != Type::String) ModelFields::wrong(scale, "scale", "a string");
    if (scale.text == "none") m.scale = Scaling::None;
    else if (scale.text == "zscore") m.scale = Scaling::ZScore;
    else if (scale.text == "minmax") m.scale = Scaling::MinMax;
    else ModelFields::wrong(scale, "scale", "\"none\", \"zscore\" or \"minmax\"");

    m.feature_names = f.strings("feature_names");
    m.offset = f.numbers("offset");
    m.divisor = f.numbers("divisor");
    m.population_mean = f.numbers("population_mean");
    m.population_std = f.numbers("population_std");
    m.centroids = f.matrix("centroids", m.k, m.dims);
    m.sizes = f.integers("sizes");
    m.wcss = f.numbers("wcss");
    m.inertia = f.number("inertia");
    m.iterations = f.integer<int>("iterations", 0);
    m.n_init = f.integer<int>("n_init", 0);
    m.seed = f.integer<std::uint64_t>("seed", 0);
    m.n_points = f.integer<std::int64_t>("n_points", 0);
    const Field& converged = f.get("converged");
    if (converged.type != Type::Bool) ModelFields::wrong(converged, "converged", "true or false");
    m.converged = converged.boolean;

    kmeans_detail::validate_model(m, ErrorKind::InvalidText, std::string(kTextWhat) + ": ");

    // The original-unit centroids are derived; they must agree with the scaled
    // ones so an edit to the wrong copy is caught instead of silently ignored.
    const Eigen::MatrixXd original = f.matrix("centroids_original", m.k, m.dims);
    const Eigen::MatrixXd expected = m.centroids_original();
    for (int c = 0; c < m.k; ++c)
        for (int j = 0; j < m.dims; ++j)
            if (!(std::abs(original(c, j) - expected(c, j)) <= 1e-9 * (std::abs(expected(c, j)) + m.divisor[j])))
                text_error_at(f.get("centroids_original").pos,
                              "\"centroids_original\" disagrees with \"centroids\" (edit the scaled centroids)");
    return m;
}

}  // namespace crm
