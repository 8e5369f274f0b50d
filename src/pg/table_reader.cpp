#include "table_reader.hpp"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <system_error>

#include "settings.hpp"

extern "C" {
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_inherits.h"
#include "executor/tuptable.h"
#include "utils/acl.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "executor/executor.h"
#include "datatype/timestamp.h"
}

namespace crm::pg {

struct DirectTable {
    Relation rel;
    Snapshot snapshot;
    TableScanDesc scan;
    TupleTableSlot* slot;
    int natts;          // deform up to this attribute
    std::uint32_t rows; // for the periodic interrupt check
    MemoryContext batch_context;
    MemoryContext caller_context;
};

namespace {

bool caller_may_read(Oid relid, const AttrNumber* columns, int ncolumns) {
    const Oid user = GetUserId();
    if (pg_class_aclcheck(relid, user, ACL_SELECT) == ACLCHECK_OK) return true;
    for (int i = 0; i < ncolumns; ++i)
        if (pg_attribute_aclcheck(relid, columns[i], user, ACL_SELECT) != ACLCHECK_OK) return false;
    return true;
}

}  // namespace

DirectTable* open_direct_table(Oid relid, const AttrNumber* columns, const Oid* types, int ncolumns) {
    if (!direct_scan_enabled() || ExecutorCheckPerms_hook != nullptr) return nullptr;
    if (get_rel_relkind(relid) != RELKIND_RELATION) return nullptr;  // not even a table: no lock needed
    Relation rel = table_open(relid, AccessShareLock);
    // From here on the table cannot change shape under us; every check is made now.
    const auto decline = [rel]() -> DirectTable* {
        table_close(rel, NoLock);  // the SQL path takes the same lock anyway
        return nullptr;
    };
    if (rel->rd_rel->relkind != RELKIND_RELATION || RELATION_IS_OTHER_TEMP(rel)) return decline();
    if (has_subclass(relid)) return decline();  // SELECT ... FROM t reads the children too
    const int rls = check_enable_rls(relid, InvalidOid, true);
    if (rls != RLS_NONE && rls != RLS_NONE_ENV) return decline();
    const TupleDesc desc = RelationGetDescr(rel);
    int natts = 0;
    for (int i = 0; i < ncolumns; ++i) {
        if (columns[i] <= 0 || columns[i] > desc->natts) return decline();  // system columns are not read here
        const Form_pg_attribute att = TupleDescAttr(desc, columns[i] - 1);
        if (att->attisdropped || att->atttypid != types[i]) return decline();
        natts = columns[i] > natts ? columns[i] : natts;
    }
    if (!caller_may_read(relid, columns, ncolumns)) return decline();
    auto* t = static_cast<DirectTable*>(palloc0(sizeof(DirectTable)));
    t->rel = rel;
    t->natts = natts;
    t->batch_context = AllocSetContextCreate(CurrentMemoryContext, "crm direct scan batch", ALLOCSET_DEFAULT_SIZES);
    t->snapshot = RegisterSnapshot(GetActiveSnapshot());
    t->scan = table_beginscan(rel, t->snapshot, 0, nullptr);
    t->slot = table_slot_create(rel, nullptr);
    return t;
}

void begin_direct_batch(DirectTable* t) {
    MemoryContextReset(t->batch_context);
    t->caller_context = MemoryContextSwitchTo(t->batch_context);
}

void end_direct_batch(DirectTable* t) { MemoryContextSwitchTo(t->caller_context); }

bool timestamp_safely_inside(Timestamp t) {
    constexpr Timestamp kMargin = 2 * USECS_PER_DAY;
    return TIMESTAMP_NOT_FINITE(t) || (t >= MIN_TIMESTAMP + kMargin && t < END_TIMESTAMP - kMargin);
}

bool date_safely_inside(DateADT d) {
    constexpr int kMargin = 2;
    return DATE_NOT_FINITE(d) || (d >= DATETIME_MIN_JULIAN - POSTGRES_EPOCH_JDATE + kMargin &&
                                  d < TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE - kMargin);
}

bool next_direct_row(DirectTable* t, const Datum** values, const bool** nulls) {
    if ((++t->rows & 0xFFF) == 0) CHECK_FOR_INTERRUPTS();
    if (!table_scan_getnextslot(t->scan, ForwardScanDirection, t->slot)) return false;
    slot_getsomeattrs(t->slot, t->natts);
    *values = t->slot->tts_values;
    *nulls = t->slot->tts_isnull;
    return true;
}

void close_direct_table(DirectTable* t) {
    MemoryContextDelete(t->batch_context);
    ExecDropSingleTupleTableSlot(t->slot);
    table_endscan(t->scan);
    UnregisterSnapshot(t->snapshot);
    table_close(t->rel, NoLock);  // the lock stays until the transaction ends, as a query's would
    pfree(t);
}

AttrNumber user_column(Oid relid, const char* name, Oid* type) {
    const AttrNumber att = get_attnum(relid, name);
    if (att <= 0) return InvalidAttrNumber;
    *type = get_atttype(relid, att);
    return att;
}

// ---- numeric's storage format ----
//
// The layout read here is numeric's on-disk format (src/backend/utils/adt/
// numeric.c), which pg_upgrade keeps stable: a 16-bit header, for the long
// form a 16-bit weight, then base-10000 digits, most significant first;
// value = sum digit[i] * 10000^(weight - i), trailing zero digits dropped.

namespace {

constexpr std::uint16_t kSignMask = 0xC000, kNegative = 0x4000, kShort = 0x8000, kSpecial = 0xC000;
constexpr std::uint16_t kShortSign = 0x2000, kShortDscaleMask = 0x1F80, kShortWeightSign = 0x0040,
                        kShortWeight = 0x003F, kLongDscaleMask = 0x3FFF;
constexpr int kShortDscaleShift = 7;

struct NumericParts {
    bool negative;
    int weight;
    int dscale;
    const std::uint8_t* digits;  // unaligned int16 values
    std::size_t ndigits;
};

// False for NaN and infinities, and for a value that is not inline (compressed or out of line).
bool numeric_parts(Datum d, NumericParts* out) {
    const auto* v = reinterpret_cast<const varlena*>(DatumGetPointer(d));
    const std::uint8_t* p;
    std::size_t len;
    if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v)) return false;  // (a 1-byte TOAST pointer is "short" too)
    if (VARATT_IS_SHORT(v)) {
        p = reinterpret_cast<const std::uint8_t*>(VARDATA_SHORT(v));
        len = VARSIZE_SHORT(v) - VARHDRSZ_SHORT;
    } else if (VARATT_IS_4B_U(v)) {
        p = reinterpret_cast<const std::uint8_t*>(VARDATA(v));
        len = VARSIZE(v) - VARHDRSZ;
    } else {
        return false;
    }
    if (len < sizeof(std::uint16_t)) return false;
    std::uint16_t header;
    std::memcpy(&header, p, sizeof header);
    if ((header & kSignMask) == kSpecial) return false;
    std::size_t header_size;
    if ((header & kSignMask) == kShort) {
        out->negative = (header & kShortSign) != 0;
        out->dscale = (header & kShortDscaleMask) >> kShortDscaleShift;
        out->weight = (header & kShortWeightSign) ? static_cast<int>(~kShortWeight | (header & kShortWeight))
                                                  : static_cast<int>(header & kShortWeight);
        header_size = sizeof(std::uint16_t);
    } else {
        if (len < 2 * sizeof(std::uint16_t)) return false;
        out->negative = (header & kSignMask) == kNegative;
        out->dscale = header & kLongDscaleMask;
        std::int16_t w;
        std::memcpy(&w, p + sizeof(std::uint16_t), sizeof w);
        out->weight = w;
        header_size = 2 * sizeof(std::uint16_t);
    }
    out->digits = p + header_size;
    out->ndigits = (len - header_size) / sizeof(std::int16_t);
    return true;
}

std::int16_t digit_at(const NumericParts& n, std::size_t i) {
    std::int16_t digit;
    std::memcpy(&digit, n.digits + i * sizeof digit, sizeof digit);
    return digit;
}

constexpr double kPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

double numeric_to_double_by_cast(Datum d) { return DatumGetFloat8(DirectFunctionCall1(numeric_float8, d)); }

// The correctly rounded double of the decimal digits [first, last) times
// 10^exponent, from its first 19 significant digits m in an x87 long double
// (64-bit mantissa), when that cannot be wrong; false otherwise (about 6% of
// values, and every exponent beyond what 19 digits and 10^27 cover).
// The value is (m + f) x 10^e with 0 <= f < 1 and m >= 10^18 whenever digits
// were dropped, so m x 10^e is within 1e-18 (relative) of it, and m x 10^e
// rounded once to 64 bits within 2^-64 more: together under 20 units of the
// long double's last place. Rounding it to a double (53 bits) can only go
// the other way than the exact value's rounding when its 11 lower bits lie
// that close to the half-way point; outside 64 units of it, the two agree.
bool rounded_from_leading_digits(const char* first, const char* last, int exponent, double* out) {
    if constexpr (std::numeric_limits<long double>::digits != 64) {
        return false;
    } else {
        static constexpr long double kPowers[] = {1e0L,  1e1L,  1e2L,  1e3L,  1e4L,  1e5L,  1e6L,
                                                  1e7L,  1e8L,  1e9L,  1e10L, 1e11L, 1e12L, 1e13L,
                                                  1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L,
                                                  1e21L, 1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L};  // exact
        // The x87 unit rounds to 64 bits unless its precision control was
        // changed (to 53 bits nothing below a double's last bit would be left
        // to check): tested on every call, as any library could change it.
        volatile long double one = 1.0L;
        if (one + std::numeric_limits<long double>::epsilon() == one) return false;
        while (first < last && *first == '0') ++first;
        std::uint64_t m = 0;
        int taken = 0;
        for (; first < last && taken < 19; ++first, ++taken) m = m * 10 + static_cast<std::uint64_t>(*first - '0');
        const long e = static_cast<long>(exponent) + (last - first);  // the digits not taken
        if (m == 0 || e > 27 || e < -27) return false;
        long double x = static_cast<long double>(m);
        x = e >= 0 ? x * kPowers[e] : x / kPowers[-e];
        std::uint64_t mantissa;  // x87 extended precision: the 64-bit mantissa comes first
        std::memcpy(&mantissa, &x, sizeof mantissa);
        const unsigned below_double = static_cast<unsigned>(mantissa & 0x7FF);
        if (below_double > 1024 - 64 && below_double < 1024 + 64) return false;
        *out = static_cast<double>(x);
        return true;
    }
}

// The cast prints the exact value and parses it with strtod, which rounds
// correctly; std::from_chars rounds correctly too, so parsing the same digits
// gives the same double, without the print and at a fraction of strtod's cost
// for long values (numeric arithmetic such as exp() leaves 20 and more
// digits). Values of more than 100 base-10000 digits, and results that
// overflow or fall below the normal range (where the cast's error or
// subnormal handling decides), take the cast.
bool numeric_to_double_from_digits(const NumericParts& n, double* out) {
    constexpr std::size_t kMaxDigits = 100;
    if (n.ndigits > kMaxDigits) return false;
    char text[1 + 4 * kMaxDigits + 16];
    char* p = text;
    if (n.negative) *p++ = '-';
    for (std::size_t i = 0; i < n.ndigits; ++i) {
        const int digit = digit_at(n, i);
        if (digit < 0 || digit > 9999) return false;  // not numeric's own form
        p[0] = static_cast<char>('0' + digit / 1000);
        p[1] = static_cast<char>('0' + digit / 100 % 10);
        p[2] = static_cast<char>('0' + digit / 10 % 10);
        p[3] = static_cast<char>('0' + digit % 10);
        p += 4;
    }
    const int last_digit_exponent = 4 * (n.weight - static_cast<int>(n.ndigits - 1));
    if (rounded_from_leading_digits(text + (n.negative ? 1 : 0), p, last_digit_exponent, out)) {
        if (n.negative) *out = -*out;
        return true;
    }
    *p++ = 'e';
    const auto [end, written] = std::to_chars(p, text + sizeof text, last_digit_exponent);
    if (written != std::errc()) return false;
    double value = 0.0;
    const auto [stop, parsed] = std::from_chars(text, end, value, std::chars_format::scientific);
    if (parsed != std::errc() || stop != end || !(std::fabs(value) >= std::numeric_limits<double>::min()) ||
        !std::isfinite(value))
        return false;
    *out = value;
    return true;
}

}  // namespace

// Whether every stored digit lies within the display scale, as PostgreSQL's
// own numerics keep them: numeric_out (and so the cast) prints only dscale
// decimals, so a hand-made datum with digits past it is left to the cast.
bool digits_within_scale(const NumericParts& n) {
    const int past = 4 * (static_cast<int>(n.ndigits) - 1 - n.weight) - n.dscale;  // decimals of the last digit beyond dscale
    if (past <= 0) return true;
    if (past >= 4) return false;
    static constexpr int kTens[] = {1, 10, 100, 1000};
    return digit_at(n, n.ndigits - 1) % kTens[past] == 0;
}

bool numeric_to_double_fast(Datum d, double* out) {
    NumericParts n;
    if (!numeric_parts(d, &n)) return false;
    if (n.ndigits > 0 && !digits_within_scale(n)) return false;
    if (n.ndigits == 0) {
        *out = 0.0;
        return true;
    }
    if (n.ndigits > 4) return numeric_to_double_from_digits(n, out);  // more than 16 digits: maybe past 2^53
    std::uint64_t mantissa = 0;
    for (std::size_t i = 0; i < n.ndigits; ++i) mantissa = mantissa * 10000 + static_cast<std::uint64_t>(digit_at(n, i));
    if (mantissa > (std::uint64_t{1} << 53)) return numeric_to_double_from_digits(n, out);
    // numeric_float8 prints the value and parses it with strtod: the correctly
    // rounded double. mantissa and 10^|exponent| are both exact doubles here,
    // so one multiplication or division is correctly rounded too (Clinger).
    const int exponent = 4 * (n.weight - static_cast<int>(n.ndigits - 1));
    double value;
    if (exponent >= 0 && exponent <= 22)
        value = static_cast<double>(mantissa) * kPowersOfTen[exponent];
    else if (exponent < 0 && exponent >= -22)
        value = static_cast<double>(mantissa) / kPowersOfTen[-exponent];
    else
        return numeric_to_double_from_digits(n, out);
    *out = n.negative ? -value : value;
    return true;
}

double numeric_to_double(Datum d) {
    double value;
    return numeric_to_double_fast(d, &value) ? value : numeric_to_double_by_cast(d);
}

bool numeric_to_decimal(Datum d, __int128* units, int* scale) {
    NumericParts n;
    if (!numeric_parts(d, &n)) {
        const auto* v = reinterpret_cast<const varlena*>(DatumGetPointer(d));
        if (!VARATT_IS_EXTERNAL(v) && !VARATT_IS_COMPRESSED(v)) return false;  // NaN or an infinity
        // Compressed or out of line: decode the detoasted copy (freed with the batch).
        if (!numeric_parts(PointerGetDatum(PG_DETOAST_DATUM(d)), &n)) return false;
    }
    if (n.ndigits > 9) return false;  // 36 digits fit in 127 bits
    __int128 mantissa = 0;
    for (std::size_t i = 0; i < n.ndigits; ++i) mantissa = mantissa * 10000 + digit_at(n, i);
    // units = mantissa x 10^(exponent of the last digit + dscale); digits past dscale are zeros.
    int shift = n.ndigits == 0 ? 0 : 4 * (n.weight - static_cast<int>(n.ndigits - 1)) + n.dscale;
    for (; shift > 0; --shift)
        if (__builtin_mul_overflow(mantissa, static_cast<__int128>(10), &mantissa)) return false;
    for (; shift < 0; ++shift) {
        if (mantissa % 10 != 0) return false;  // not in numeric's own form: let the SQL path sum it
        mantissa /= 10;
    }
    *units = n.negative ? -mantissa : mantissa;
    *scale = n.dscale;
    return true;
}

}  // namespace crm::pg
