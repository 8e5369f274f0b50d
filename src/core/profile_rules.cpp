#include "profile_rules.hpp"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "errors.hpp"

namespace crm {

namespace {

constexpr std::size_t kMaxRuleLength = 2000;
constexpr int kMaxDepth = 32;
constexpr std::size_t kMaxInItems = 100;

enum class Tok { Ident, Number, String, Op, LParen, RParen, Comma, End };

struct Token {
    Tok kind = Tok::End;
    std::string text;  // identifier (lower-cased), operator, or the string's value
    double number = 0;
    std::size_t pos = 0;  // 1-based character position, for messages
};

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

[[noreturn]] void syntax(const std::string& what, std::size_t pos) {
    throw_error(ErrorKind::SyntaxError, "tag rule: " + what + " at character " + std::to_string(pos),
                "Rules compare profile columns with constants, e.g. value_tier = 'high' AND p_alive >= 0.5.");
}

std::vector<Token> tokenize(const std::string& s) {
    std::vector<Token> out;
    std::size_t i = 0;
    while (i < s.size()) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (std::isspace(c)) {
            ++i;
            continue;
        }
        Token t;
        t.pos = i + 1;
        if (std::isalpha(c) || c == '_') {
            std::size_t j = i;
            while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) ++j;
            t.kind = Tok::Ident;
            t.text = lower(s.substr(i, j - i));
            i = j;
        } else if (std::isdigit(c) || (c == '.' && i + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
            std::size_t j = i;
            while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
            if (j < s.size() && s[j] == '.') {
                ++j;
                while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
            }
            if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
                std::size_t k = j + 1;
                if (k < s.size() && (s[k] == '+' || s[k] == '-')) ++k;
                if (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) {
                    while (k < s.size() && std::isdigit(static_cast<unsigned char>(s[k]))) ++k;
                    j = k;
                }
            }
            t.kind = Tok::Number;
            t.text = s.substr(i, j - i);
            // from_chars is locale-independent (strtod would read "0.5" as 0 under a "," locale).
            const auto parsed = std::from_chars(t.text.data(), t.text.data() + t.text.size(), t.number);
            if (parsed.ec == std::errc::result_out_of_range || !std::isfinite(t.number))
                throw_error(ErrorKind::OutOfRange, "tag rule: the number " + t.text + " is out of range");
            if (parsed.ec != std::errc() || parsed.ptr != t.text.data() + t.text.size())
                syntax("malformed number \"" + t.text + "\"", t.pos);
            i = j;
        } else if (c == '\'') {
            std::size_t j = i + 1;
            for (;;) {
                if (j >= s.size()) syntax("unterminated string", t.pos);
                if (s[j] == '\'') {
                    if (j + 1 < s.size() && s[j + 1] == '\'') {
                        t.text += '\'';
                        j += 2;
                        continue;
                    }
                    break;
                }
                t.text += s[j++];
            }
            t.kind = Tok::String;
            i = j + 1;
        } else if (c == '(' || c == ')' || c == ',') {
            t.kind = c == '(' ? Tok::LParen : c == ')' ? Tok::RParen : Tok::Comma;
            t.text = std::string(1, static_cast<char>(c));
            ++i;
        } else if (c == '=' || c == '<' || c == '>' || c == '!' || c == '-' || c == '+') {
            // Operators: = <> != < <= > >=, and a sign before a number. Only <, > and ! take a second
            // character ("==" would pass through to SQL, which has no such operator).
            std::string op(1, static_cast<char>(c));
            const bool takes_second = c == '<' || c == '>' || c == '!';
            if (takes_second && i + 1 < s.size() && (s[i + 1] == '=' || (c == '<' && s[i + 1] == '>'))) op += s[i + 1];
            if (op == "!") syntax("unexpected \"!\"", t.pos);
            t.kind = Tok::Op;
            t.text = op == "!=" ? "<>" : op;
            i += op.size();
        } else {
            // A byte of a multi-byte character alone is not valid text in any encoding: show non-ASCII as hex.
            char shown[8];
            if (c >= 0x20 && c < 0x7F) std::snprintf(shown, sizeof shown, "\"%c\"", c);
            else std::snprintf(shown, sizeof shown, "0x%02X", c);
            syntax(std::string("unexpected character ") + shown, t.pos);
        }
        out.push_back(std::move(t));
    }
    Token end;
    end.pos = s.size() + 1;
    out.push_back(end);
    return out;
}

// Re-quotes a string as an E'' literal: the meaning of E'' does not depend on
// standard_conforming_strings, and only ' and \ need escaping in it.
std::string sql_string(const std::string& v) {
    std::string out = "E'";
    for (const char c : v) {
        if (c == '\'') out += "''";
        else if (c == '\\') out += "\\\\";
        else out += c;
    }
    return out + "'";
}

// The shortest text that reads back as the same double, locale-independent.
std::string sql_number(double v) {
    char buf[40];
    const auto res = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, res.ptr);
}

class Parser {
public:
    Parser(std::vector<Token> tokens, const std::vector<RuleColumn>& columns)
        : t_(std::move(tokens)), columns_(columns) {}

    std::string rule() {
        std::string out = parse_or(0);
        if (peek().kind != Tok::End) syntax("unexpected \"" + peek().text + "\"", peek().pos);
        return out;
    }

private:
    const Token& peek() const { return t_[i_]; }
    bool keyword(const char* k) const { return peek().kind == Tok::Ident && peek().text == k; }
    bool accept_keyword(const char* k) {
        if (!keyword(k)) return false;
        ++i_;
        return true;
    }
    void expect(Tok kind, const char* what) {
        if (peek().kind != kind) syntax(std::string("expected ") + what, peek().pos);
        ++i_;
    }

    std::string parse_or(int depth) {
        std::string out = parse_and(depth);
        while (accept_keyword("or")) out = "(" + out + " OR " + parse_and(depth) + ")";
        return out;
    }
    std::string parse_and(int depth) {
        std::string out = parse_not(depth);
        while (accept_keyword("and")) out = "(" + out + " AND " + parse_not(depth) + ")";
        return out;
    }
    std::string parse_not(int depth) {
        if (depth > kMaxDepth)
            throw_error(ErrorKind::ProgramLimitExceeded, "tag rule: nested deeper than " + std::to_string(kMaxDepth));
        if (accept_keyword("not")) return "(NOT " + parse_not(depth + 1) + ")";
        if (peek().kind == Tok::LParen) {
            ++i_;
            std::string inner = parse_or(depth + 1);
            expect(Tok::RParen, "\")\"");
            return inner;
        }
        return comparison();
    }

    const RuleColumn& column() {
        const Token& tok = peek();
        if (tok.kind != Tok::Ident) syntax("expected a column name", tok.pos);
        for (const RuleColumn& c : columns_)
            if (c.name == tok.text) {
                ++i_;
                return c;
            }
        std::string known;
        for (const RuleColumn& c : columns_) known += (known.empty() ? "" : ", ") + c.name;
        throw_error(ErrorKind::UndefinedColumn, "tag rule: unknown column \"" + tok.text + "\"",
                    "Rules may use the profile columns " + known + ".");
    }

    std::string literal(const RuleColumn& col) {
        const Token& tok = peek();
        double sign = 1;
        if (tok.kind == Tok::Op && (tok.text == "-" || tok.text == "+")) {
            sign = tok.text == "-" ? -1 : 1;
            ++i_;
            if (peek().kind != Tok::Number) syntax("expected a number", peek().pos);
        }
        const Token& lit = peek();
        if (lit.kind == Tok::Number) {
            if (col.type != RuleColumnType::Number)
                throw_error(ErrorKind::DatatypeMismatch,
                            "tag rule: column \"" + col.name + "\" is text and cannot be compared with a number",
                            "Quote the value: " + col.name + " = '" + lit.text + "'.");
            ++i_;
            return sql_number(sign * lit.number);
        }
        if (lit.kind == Tok::String) {
            if (col.type != RuleColumnType::Text)
                throw_error(ErrorKind::DatatypeMismatch,
                            "tag rule: column \"" + col.name + "\" is a number and cannot be compared with a string");
            ++i_;
            return sql_string(lit.text);
        }
        syntax("expected a constant (a number or a quoted string)", lit.pos);
    }

    std::string comparison() {
        const RuleColumn& col = column();
        const std::string ref = "\"" + col.name + "\"";  // names are [a-z_][a-z0-9_]*: plain double quotes suffice
        if (accept_keyword("is")) {
            const bool negated = accept_keyword("not");
            if (!accept_keyword("null")) syntax("expected NULL", peek().pos);
            return "(" + ref + (negated ? " IS NOT NULL)" : " IS NULL)");
        }
        const bool negated = accept_keyword("not");
        if (accept_keyword("in")) {
            expect(Tok::LParen, "\"(\"");
            std::string items = literal(col);
            std::size_t n = 1;
            while (peek().kind == Tok::Comma) {
                ++i_;
                if (++n > kMaxInItems)
                    throw_error(ErrorKind::ProgramLimitExceeded,
                                "tag rule: more than " + std::to_string(kMaxInItems) + " values in an IN list");
                items += ", " + literal(col);
            }
            expect(Tok::RParen, "\")\"");
            return "(" + ref + (negated ? " NOT IN (" : " IN (") + items + "))";
        }
        if (accept_keyword("between")) {
            const std::string low = literal(col);
            if (!accept_keyword("and")) syntax("expected AND", peek().pos);
            const std::string high = literal(col);
            return "(" + ref + (negated ? " NOT BETWEEN " : " BETWEEN ") + low + " AND " + high + ")";
        }
        if (negated) syntax("expected IN or BETWEEN after NOT", peek().pos);
        const Token& op = peek();
        if (op.kind != Tok::Op || op.text == "-" || op.text == "+")
            syntax("expected a comparison (=, <>, <, <=, >, >=, IN, BETWEEN, IS NULL)", op.pos);
        const std::string sql_op = op.text;
        ++i_;
        return "(" + ref + " " + sql_op + " " + literal(col) + ")";
    }

    std::vector<Token> t_;
    std::size_t i_ = 0;
    const std::vector<RuleColumn>& columns_;
};

}  // namespace

const std::vector<RuleColumn>& profile_rule_columns() {
    static const std::vector<RuleColumn> columns = {
        {"recency_days", RuleColumnType::Number},   {"frequency", RuleColumnType::Number},
        {"monetary", RuleColumnType::Number},       {"avg_order_value", RuleColumnType::Number},
        {"tenure_days", RuleColumnType::Number},    {"r_score", RuleColumnType::Number},
        {"f_score", RuleColumnType::Number},        {"m_score", RuleColumnType::Number},
        {"rfm_cell", RuleColumnType::Text},         {"segment", RuleColumnType::Text},
        {"value_tier", RuleColumnType::Text},       {"cluster", RuleColumnType::Number},
        {"cluster_name", RuleColumnType::Text},     {"p_alive", RuleColumnType::Number},
        {"stay_probability", RuleColumnType::Number},
        {"expected_purchases", RuleColumnType::Number}, {"clv", RuleColumnType::Number},
        {"churn_risk", RuleColumnType::Text},
    };
    return columns;
}

std::string compile_rule(const std::string& rule, const std::vector<RuleColumn>& columns) {
    if (rule.size() > kMaxRuleLength)
        throw_error(ErrorKind::ProgramLimitExceeded,
                    "tag rule: longer than " + std::to_string(kMaxRuleLength) + " characters");
    std::vector<Token> tokens = tokenize(rule);
    if (tokens.size() == 1) throw_invalid("tag rule: the condition is empty");
    Parser parser(std::move(tokens), columns);
    return parser.rule();
}

}  // namespace crm
