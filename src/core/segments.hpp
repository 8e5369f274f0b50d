// Named customer segments on the R x F score grid.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace crm {

// One rule of a segment map: a segment name and a cell pattern such as "5[4-5]"
// (R = 5, F in 4..5), "[1-2][3-4]", "51", "*1" or, for bins = 10, "10,[8-10]".
// The first part is the R score, the second the F score; each part is a number,
// an inclusive range in brackets, or '*'. A ',', ':' or space may separate the
// parts, and must when a score outside brackets has two digits ("10,10").
struct SegmentRule {
    std::string segment;
    std::string pattern;
};

// A complete partition of the bins x bins cells of (R, F) into named segments.
class SegmentMap {
public:
    // The widely used 10-segment grid (Champions ... Hibernating), defined on
    // 5 x 5 scores. With other bin counts each score s is first rescaled to
    // ceil(5 s / bins), so the top score always maps to 5.
    static SegmentMap default_grid(int bins);

    // Rejects (22023) a map that leaves a cell unassigned, assigns one twice,
    // has an empty name or a malformed or out-of-range pattern.
    static SegmentMap from_rules(int bins, const std::vector<SegmentRule>& rules);

    int bins() const { return bins_; }
    // Segment of a cell; scores must be in 1..bins.
    const std::string& segment(int r_score, int f_score) const;

private:
    SegmentMap(int bins, std::vector<std::string> cells) : bins_(bins), cells_(std::move(cells)) {}
    int bins_;
    std::vector<std::string> cells_;  // (r - 1) * bins + (f - 1)
};

// The default rules on the 5 x 5 grid, as documented.
const std::vector<SegmentRule>& default_segment_rules();

}  // namespace crm
