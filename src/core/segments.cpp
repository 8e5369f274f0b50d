#include "segments.hpp"

#include <cctype>

#include "errors.hpp"

namespace crm {

namespace {

struct Range {
    int lo;
    int hi;
};

class PatternParser {
public:
    PatternParser(const std::string& pattern, int bins)
        : p_(pattern), bins_(bins), separated_(has_separator(pattern)) {}

    std::pair<Range, Range> parse() {
        skip_spaces();
        const Range r = part("R");
        skip_spaces();
        if (pos_ < p_.size() && (p_[pos_] == ',' || p_[pos_] == ':')) ++pos_;
        skip_spaces();
        const Range f = part("F");
        skip_spaces();
        if (pos_ != p_.size()) fail("unexpected text after the F score");
        return {r, f};
    }

private:
    Range part(const char* which) {
        if (pos_ >= p_.size()) fail(std::string("the ") + which + " score is missing");
        if (p_[pos_] == '*') {
            ++pos_;
            return {1, bins_};
        }
        if (p_[pos_] == '[') {
            ++pos_;
            const int lo = number(which, true);
            if (pos_ >= p_.size() || p_[pos_] != '-') fail("expected '-' in a range");
            ++pos_;
            const int hi = number(which, true);
            if (pos_ >= p_.size() || p_[pos_] != ']') fail("expected ']' closing a range");
            ++pos_;
            if (lo > hi) fail(std::string("empty ") + which + " range");
            return {lo, hi};
        }
        const int v = number(which, false);
        return {v, v};
    }

    // Outside brackets a number is one digit, unless the parts are separated
    // (by ',', ':' or a space): then it is all the digits, so "10,10" works.
    int number(const char* which, bool in_brackets) {
        const std::size_t start = pos_;
        const bool whole = in_brackets || separated_;
        while (pos_ < p_.size() && std::isdigit(static_cast<unsigned char>(p_[pos_]))) {
            ++pos_;
            if (!whole) break;
        }
        if (pos_ == start) fail(std::string("expected a number for the ") + which + " score");
        if (pos_ - start > 2) fail(std::string("the ") + which + " score is too large");
        const int v = std::stoi(p_.substr(start, pos_ - start));
        if (v < 1 || v > bins_)
            fail(std::string("the ") + which + " score " + std::to_string(v) + " is outside 1.." +
                 std::to_string(bins_));
        return v;
    }

    static bool has_separator(const std::string& p) {
        int depth = 0;
        for (char c : p) {
            if (c == '[') ++depth;
            else if (c == ']') --depth;
            else if (depth == 0 && (c == ',' || c == ':' || c == ' ')) return true;
        }
        return false;
    }

    void skip_spaces() {
        while (pos_ < p_.size() && p_[pos_] == ' ') ++pos_;
    }

    [[noreturn]] void fail(const std::string& why) const {
        throw_invalid("invalid segment pattern \"" + p_ + "\": " + why,
                      "A pattern is an R part and an F part, each a score, a range such as [3-4], or *; "
                      "for example \"5[4-5]\" or \"10,[8-10]\".");
    }

    const std::string& p_;
    int bins_;
    bool separated_;
    std::size_t pos_ = 0;
};

void check_bins(int bins) {
    if (bins < 2 || bins > 10)
        throw_invalid("bins must be between 2 and 10, got " + std::to_string(bins));
}

std::string cell_name(int r, int f) {
    return "R=" + std::to_string(r) + " F=" + std::to_string(f);
}

}  // namespace

const std::vector<SegmentRule>& default_segment_rules() {
    static const std::vector<SegmentRule> rules = {
        {"Champions", "5[4-5]"},         {"Loyal Customers", "[3-4][4-5]"},
        {"Potential Loyalists", "[4-5][2-3]"}, {"New Customers", "51"},
        {"Promising", "41"},              {"Need Attention", "33"},
        {"About To Sleep", "3[1-2]"},     {"Can't Lose Them", "[1-2]5"},
        {"At Risk", "[1-2][3-4]"},        {"Hibernating", "[1-2][1-2]"},
    };
    return rules;
}

SegmentMap SegmentMap::from_rules(int bins, const std::vector<SegmentRule>& rules) {
    check_bins(bins);
    if (rules.empty()) throw_invalid("segment map has no rules");
    std::vector<std::string> cells(static_cast<std::size_t>(bins * bins));
    for (const auto& rule : rules) {
        if (rule.segment.empty()) throw_invalid("segment map has a rule with an empty segment name");
        const auto ranges = PatternParser(rule.pattern, bins).parse();
        for (int r = ranges.first.lo; r <= ranges.first.hi; ++r) {
            for (int f = ranges.second.lo; f <= ranges.second.hi; ++f) {
                auto& cell = cells[static_cast<std::size_t>((r - 1) * bins + (f - 1))];
                if (!cell.empty())
                    throw_invalid("segment map assigns cell " + cell_name(r, f) + " to both \"" + cell +
                                      "\" and \"" + rule.segment + "\"",
                                  "Every (R, F) cell must belong to exactly one segment.");
                cell = rule.segment;
            }
        }
    }
    for (int r = 1; r <= bins; ++r)
        for (int f = 1; f <= bins; ++f)
            if (cells[static_cast<std::size_t>((r - 1) * bins + (f - 1))].empty())
                throw_invalid("segment map leaves cell " + cell_name(r, f) + " unassigned",
                              "Every (R, F) cell must belong to exactly one segment; use * to cover a "
                              "whole row or column.");
    return SegmentMap(bins, std::move(cells));
}

SegmentMap SegmentMap::default_grid(int bins) {
    check_bins(bins);
    static const SegmentMap grid5 = from_rules(5, default_segment_rules());
    std::vector<std::string> cells(static_cast<std::size_t>(bins * bins));
    const auto to5 = [bins](int s) { return (5 * s + bins - 1) / bins; };
    for (int r = 1; r <= bins; ++r)
        for (int f = 1; f <= bins; ++f)
            cells[static_cast<std::size_t>((r - 1) * bins + (f - 1))] = grid5.segment(to5(r), to5(f));
    return SegmentMap(bins, std::move(cells));
}

const std::string& SegmentMap::segment(int r_score, int f_score) const {
    if (r_score < 1 || r_score > bins_ || f_score < 1 || f_score > bins_)
        throw_error(ErrorKind::OutOfRange, "scores must be between 1 and " + std::to_string(bins_) +
                                               ", got R=" + std::to_string(r_score) +
                                               " F=" + std::to_string(f_score));
    return cells_[static_cast<std::size_t>((r_score - 1) * bins_ + (f_score - 1))];
}

}  // namespace crm
