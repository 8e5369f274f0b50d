// Market-basket analysis in SQL (docs/baskets.md):
//   crm.frequent_itemsets(baskets, basket_col, item_col, min_support, ...)       itemsets, integer items
//   crm.frequent_itemsets_typed(..., key_type anyelement, ...)                    itemsets in the key's type
//   crm.association_rules(baskets, basket_col, item_col, min_support, ...)       rules, integer items
//   crm.association_rules_typed(..., key_type anyelement, ...)                    rules in the key's type
//   crm.association_rules_agg(basket, item | items[], min_support, min_confidence) aggregate -> rule array
// Baskets are read with the caller's privileges, one array of items per basket
// (PostgreSQL groups the rows by basket, whatever the basket column's type);
// items are int2/int4/int8 or text. The core mines them (fpgrowth.hpp).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "association_rules.hpp"
#include "basket_rules_state.hpp"
#include "basket_transactions.hpp"
#include "errors.hpp"
#include "fpgrowth.hpp"

#include "bridge.hpp"
#include "composite.hpp"
#include "datum_convert.hpp"
#include "partial_state.hpp"
#include "progress.hpp"
#include "relation.hpp"
#include "settings.hpp"
#include "spi_session.hpp"

namespace {

using crm::pg::pg_guard;

// ---- reading the baskets ---------------------------------------------------

// Arrays as they stream out of SPI, copied into PostgreSQL memory (C only
// while filling). Integer items go to `items`; text items to `chars` with
// their end offsets in `items`.
struct RawBaskets {
    MemoryContext context;
    bool text_items;
    std::int64_t* items;
    std::uint64_t n_items, cap_items;
    std::uint64_t* ends;  // per basket: end offset into items
    std::uint64_t n_baskets, cap_baskets;
    char* chars;
    std::uint64_t n_chars, cap_chars;
    std::uint64_t limit_bytes;
    bool over_limit;
};

void* grow(MemoryContext context, void* old, std::uint64_t new_bytes) {
    return old != nullptr ? repalloc_huge(old, new_bytes) : MemoryContextAllocHuge(context, new_bytes);
}

void collect_basket(TupleTableSlot* slot, void* arg) {
    auto* r = static_cast<RawBaskets*>(arg);
    if (r->over_limit || slot->tts_isnull[0]) return;
    ArrayType* a = DatumGetArrayTypeP(slot->tts_values[0]);
    const int n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
    if (r->n_items + static_cast<std::uint64_t>(n) > r->cap_items) {
        std::uint64_t cap = r->cap_items == 0 ? 65536 : r->cap_items;
        while (cap < r->n_items + static_cast<std::uint64_t>(n)) cap *= 2;
        r->items = static_cast<std::int64_t*>(grow(r->context, r->items, cap * 8));
        r->cap_items = cap;
    }
    if (r->text_items) {
        // text[] without NULLs (the query filters them): walk the elements.
        const char* p = ARR_DATA_PTR(a);
        for (int i = 0; i < n; ++i) {
            const text* t = reinterpret_cast<const text*>(p);
            const std::uint64_t len = VARSIZE_ANY_EXHDR(t);
            if (r->n_chars + len > r->cap_chars) {
                std::uint64_t cap = r->cap_chars == 0 ? 262144 : r->cap_chars;
                while (cap < r->n_chars + len) cap *= 2;
                r->chars = static_cast<char*>(grow(r->context, r->chars, cap));
                r->cap_chars = cap;
            }
            memcpy(r->chars + r->n_chars, VARDATA_ANY(t), len);
            r->n_chars += len;
            r->items[r->n_items++] = static_cast<std::int64_t>(r->n_chars);
            p = att_addlength_pointer(p, -1, p);
            p = reinterpret_cast<const char*>(att_align_nominal(p, TYPALIGN_INT));
        }
    } else {
        memcpy(r->items + r->n_items, ARR_DATA_PTR(a), static_cast<std::size_t>(n) * 8);
        r->n_items += static_cast<std::uint64_t>(n);
    }
    if (r->n_baskets == r->cap_baskets) {
        const std::uint64_t cap = r->cap_baskets == 0 ? 16384 : r->cap_baskets * 2;
        r->ends = static_cast<std::uint64_t*>(grow(r->context, r->ends, cap * 8));
        r->cap_baskets = cap;
    }
    r->ends[r->n_baskets++] = r->n_items;
    // What the baskets will cost: the raw copy, the builder and the CSR form
    // hold each item about three times over (8 bytes each), plus the text.
    if ((r->n_items * 32 + r->n_baskets * 24 + r->n_chars * 2) > r->limit_bytes) r->over_limit = true;
    if ((r->n_baskets & 0xFFF) == 0) CHECK_FOR_INTERRUPTS();
}

// (basket, item) rows of integer keys, copied as they stream (C only): no
// grouping in PostgreSQL (a HashAggregate of arrays spills at a million
// baskets); the core sorts the rows into baskets.
struct RawPairs {
    MemoryContext context;
    std::int64_t* pairs;  // basket, item, basket, item, ...
    std::uint64_t n_pairs, cap_pairs;
    std::uint64_t limit_bytes;
    bool over_limit;
};

void collect_pair(TupleTableSlot* slot, void* arg) {
    auto* r = static_cast<RawPairs*>(arg);
    if (r->over_limit || slot->tts_isnull[0] || slot->tts_isnull[1]) return;
    if (r->n_pairs == r->cap_pairs) {
        const std::uint64_t cap = r->cap_pairs == 0 ? 65536 : r->cap_pairs * 2;
        r->pairs = static_cast<std::int64_t*>(grow(r->context, r->pairs, cap * 16));
        r->cap_pairs = cap;
    }
    r->pairs[2 * r->n_pairs] = DatumGetInt64(slot->tts_values[0]);
    r->pairs[2 * r->n_pairs + 1] = DatumGetInt64(slot->tts_values[1]);
    ++r->n_pairs;
    // The raw copy, the builder's rows and the CSR form: about 40 bytes a row.
    if (r->n_pairs * 40 > r->limit_bytes) r->over_limit = true;
    if ((r->n_pairs & 0xFFFF) == 0) CHECK_FOR_INTERRUPTS();
}

struct Source {
    crm::pg::RelationRef rel;
    crm::pg::ColumnRef basket, item;
    bool text_items = false;
    Oid key_type = INT8OID;  // the element type of the result arrays
};

Source resolve_source(FunctionCallInfo fcinfo, Oid key_type, bool typed) {
    const char* names[] = {"baskets", "basket_col", "item_col"};
    for (int i = 0; i < 3; ++i)
        if (PG_ARGISNULL(i)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, std::string(names[i]) + " must not be NULL");
    Source s;
    s.rel = crm::pg::resolve_relation(PG_GETARG_OID(0), "baskets");
    s.basket = crm::pg::resolve_column(s.rel, crm::pg::name_arg(fcinfo, 1), "basket_col");
    s.item = crm::pg::resolve_column(s.rel, crm::pg::name_arg(fcinfo, 2), "item_col");
    const bool text_column = s.item.type == TEXTOID || s.item.type == VARCHAROID || s.item.type == BPCHAROID;
    if (!crm::pg::is_integer_type(s.item.type) && !text_column)
        crm::throw_error(crm::ErrorKind::DatatypeMismatch,
                         "item_col \"" + s.item.name + "\" must be an integer or text column, not " + s.item.type_name);
    s.key_type = key_type;
    s.text_items = key_type == TEXTOID;
    const bool key_integer = crm::pg::is_integer_type(key_type);
    if ((text_column && !s.text_items) || (!text_column && !key_integer))
        crm::throw_error(crm::ErrorKind::DatatypeMismatch,
                         "item_col \"" + s.item.name + "\" is " + s.item.type_name + " but the result's items are " +
                             crm::pg::type_name(key_type),
                         typed ? "Pass key_type => NULL::" + std::string(text_column ? "text" : "bigint") + "."
                               : "For text items use the _typed form with key_type => NULL::text.");
    return s;
}

// The dense item keys and the baskets, read with the caller's privileges.
struct Baskets {
    crm::Transactions transactions;
    std::vector<std::string> item_names;  // text items: the name of item key k (keys are ranks)
};

Baskets read_pairs(crm::pg::SpiSession& spi, const Source& s) {
    const std::string sql = "SELECT " + s.basket.quoted_name + "::pg_catalog.int8, " + s.item.quoted_name +
                            "::pg_catalog.int8 FROM " + s.rel.quoted_name;
    const std::uint64_t limit = crm::pg::max_fit_memory_bytes();
    RawPairs* raw = pg_guard([limit] {
        auto* r = static_cast<RawPairs*>(palloc0(sizeof(RawPairs)));
        r->context = AllocSetContextCreate(CurrentMemoryContext, "crm basket rows", ALLOCSET_DEFAULT_SIZES);
        r->limit_bytes = limit;
        return r;
    });
    spi.stream(sql, {}, {}, &collect_pair, raw);
    if (raw->over_limit)
        crm::throw_error(crm::ErrorKind::OutOfMemory, "the baskets would need more than crm.max_fit_memory",
                         "Mine a sample or a period of the baskets (a view), or raise crm.max_fit_memory.");
    crm::TransactionBuilder builder;
    for (std::uint64_t i = 0; i < raw->n_pairs; ++i) {
        builder.add(raw->pairs[2 * i], raw->pairs[2 * i + 1]);
        if ((i & 0xFFFF) == 0) crm::pg::check_for_interrupts_from_core();
    }
    MemoryContext ctx = raw->context;
    pg_guard([ctx] { MemoryContextDelete(ctx); });
    Baskets out;
    out.transactions = builder.finish();
    return out;
}

Baskets read_baskets(crm::pg::SpiSession& spi, const Source& s) {
    if (!s.text_items && crm::pg::is_integer_type(s.basket.type)) return read_pairs(spi, s);
    const std::string item_expr = s.item.quoted_name + (s.text_items ? "::pg_catalog.text" : "::pg_catalog.int8");
    const std::string sql = "SELECT pg_catalog.array_agg(" + item_expr + ") FROM " + s.rel.quoted_name + " WHERE " +
                            s.item.quoted_name + " IS NOT NULL AND " + s.basket.quoted_name + " IS NOT NULL GROUP BY " +
                            s.basket.quoted_name;
    const std::uint64_t limit = crm::pg::max_fit_memory_bytes();
    const bool text_items = s.text_items;
    RawBaskets* raw = pg_guard([limit, text_items] {
        auto* r = static_cast<RawBaskets*>(palloc0(sizeof(RawBaskets)));
        r->context = AllocSetContextCreate(CurrentMemoryContext, "crm basket rows", ALLOCSET_DEFAULT_SIZES);
        r->limit_bytes = limit;
        r->text_items = text_items;
        return r;
    });
    spi.stream(sql, {}, {}, &collect_basket, raw);
    if (raw->over_limit)
        crm::throw_error(crm::ErrorKind::OutOfMemory, "the baskets would need more than crm.max_fit_memory",
                         "Mine a sample or a period of the baskets (a view), or raise crm.max_fit_memory.");
    Baskets out;
    crm::TransactionBuilder builder;
    std::vector<std::int64_t> basket;
    if (raw->text_items) {
        // Items are named by text: their keys are their ranks in byte order,
        // so the result does not depend on the order the rows came in.
        std::vector<std::string_view> names;
        names.reserve(raw->n_items);
        std::uint64_t start = 0;
        for (std::uint64_t i = 0; i < raw->n_items; ++i) {
            const auto end = static_cast<std::uint64_t>(raw->items[i]);
            names.emplace_back(raw->chars + start, end - start);
            start = end;
        }
        std::vector<std::string_view> distinct = names;
        std::sort(distinct.begin(), distinct.end());
        distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
        std::unordered_map<std::string_view, std::int64_t> key_of;
        key_of.reserve(distinct.size());
        for (std::size_t k = 0; k < distinct.size(); ++k) {
            key_of.emplace(distinct[k], static_cast<std::int64_t>(k));
            out.item_names.emplace_back(distinct[k]);
        }
        std::uint64_t from = 0;
        for (std::uint64_t b = 0; b < raw->n_baskets; ++b) {
            basket.clear();
            for (std::uint64_t i = from; i < raw->ends[b]; ++i) basket.push_back(key_of.at(names[i]));
            builder.add_basket(basket);
            from = raw->ends[b];
            if ((b & 0xFFF) == 0) crm::pg::check_for_interrupts_from_core();
        }
    } else {
        std::uint64_t from = 0;
        for (std::uint64_t b = 0; b < raw->n_baskets; ++b) {
            builder.add_basket(raw->items + from, raw->ends[b] - from);
            from = raw->ends[b];
            if ((b & 0xFFF) == 0) crm::pg::check_for_interrupts_from_core();
        }
    }
    MemoryContext ctx = raw->context;
    pg_guard([ctx] { MemoryContextDelete(ctx); });
    out.transactions = builder.finish();
    return out;
}

// ---- options ---------------------------------------------------------------

double support_arg(FunctionCallInfo fcinfo, int argno) {
    if (PG_ARGISNULL(argno)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "min_support must not be NULL");
    const double s = PG_GETARG_FLOAT8(argno);
    if (!(s > 0 && s <= 1)) crm::throw_invalid("min_support must be in (0, 1], got " + std::to_string(s));
    return s;
}

int int_arg(FunctionCallInfo fcinfo, int argno, const char* name) {
    if (PG_ARGISNULL(argno)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, std::string(name) + " must not be NULL");
    return PG_GETARG_INT32(argno);
}

std::int64_t int8_arg(FunctionCallInfo fcinfo, int argno, const char* name) {
    if (PG_ARGISNULL(argno)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, std::string(name) + " must not be NULL");
    return PG_GETARG_INT64(argno);
}

crm::FpGrowthOptions mining_options(FunctionCallInfo fcinfo, int support_at, int max_len_at, int min_count_at,
                                    int max_itemsets_at, std::int64_t baskets) {
    crm::FpGrowthOptions o;
    const double support = support_arg(fcinfo, support_at);
    o.max_len = int_arg(fcinfo, max_len_at, "max_len");
    if (o.max_len < 1) crm::throw_invalid("max_len must be at least 1, got " + std::to_string(o.max_len));
    o.min_count = crm::min_count_for_support(support, baskets);
    if (min_count_at >= 0 && !PG_ARGISNULL(min_count_at)) {
        const std::int64_t c = PG_GETARG_INT64(min_count_at);
        if (c < 1) crm::throw_invalid("min_count must be at least 1, got " + std::to_string(c));
        o.min_count = std::max(o.min_count, c);
    }
    const std::int64_t cap = int8_arg(fcinfo, max_itemsets_at, "max_itemsets");
    if (cap < 1) crm::throw_invalid("the result limit must be at least 1, got " + std::to_string(cap));
    o.max_itemsets = static_cast<std::size_t>(cap);
    o.memory_limit_bytes = crm::pg::max_fit_memory_bytes();
    return o;
}

// ---- output ------------------------------------------------------------------

struct ItemArrays {
    const Source& source;
    const Baskets& baskets;

    // An array of the result's element type holding the items (dense ids).
    Datum make(const crm::ItemId* begin, const crm::ItemId* end) const {
        const std::size_t n = static_cast<std::size_t>(end - begin);
        std::vector<Datum> elems(n);
        if (source.text_items) {
            for (std::size_t i = 0; i < n; ++i)
                elems[i] = crm::pg::text_datum(baskets.item_names[static_cast<std::size_t>(
                    baskets.transactions.item_key(begin[i]))]);
        } else {
            for (std::size_t i = 0; i < n; ++i) {
                const std::int64_t key = baskets.transactions.item_key(begin[i]);
                if (source.key_type == INT4OID) {
                    if (key < INT32_MIN || key > INT32_MAX) crm::throw_error(crm::ErrorKind::OutOfRange, "item key out of integer range");
                    elems[i] = Int32GetDatum(static_cast<std::int32_t>(key));
                } else if (source.key_type == INT2OID) {
                    if (key < INT16_MIN || key > INT16_MAX) crm::throw_error(crm::ErrorKind::OutOfRange, "item key out of smallint range");
                    elems[i] = Int16GetDatum(static_cast<std::int16_t>(key));
                } else {
                    elems[i] = Int64GetDatum(key);
                }
            }
        }
        const Oid type = source.key_type;
        const Datum* data = elems.data();
        const int count = static_cast<int>(n);
        return pg_guard([type, data, count] {
            int16 len;
            bool byval;
            char align;
            get_typlenbyvalalign(type, &len, &byval, &align);
            return PointerGetDatum(construct_array(const_cast<Datum*>(data), count, type, len, byval, align));
        });
    }
};

ReturnSetInfo* materialize(FunctionCallInfo fcinfo) {
    pg_guard([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    return reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
}

Oid result_element_type(ReturnSetInfo* rsinfo) {
    const Oid array_type = TupleDescAttr(rsinfo->setDesc, 0)->atttypid;
    const Oid elem = pg_guard([array_type] { return get_element_type(array_type); });
    if (elem == InvalidOid) crm::throw_error(crm::ErrorKind::Internal, "the result's first column is not an array");
    return elem;
}

// The dense ids of items given as text (their text form for integer items).
std::vector<crm::ItemId> item_ids(const Baskets& b, const Source& s, const std::vector<std::string>& given,
                                  bool* all_found = nullptr) {
    std::vector<crm::ItemId> ids;
    if (all_found != nullptr) *all_found = true;
    for (const std::string& g : given) {
        std::int64_t key = -1;
        if (s.text_items) {
            const auto it = std::lower_bound(b.item_names.begin(), b.item_names.end(), g);
            if (it == b.item_names.end() || *it != g) {  // an item nobody bought
                if (all_found != nullptr) *all_found = false;
                continue;
            }
            key = it - b.item_names.begin();
        } else {
            try {
                std::size_t used = 0;
                key = std::stoll(g, &used);
                if (used != g.size()) throw std::invalid_argument(g);
            } catch (const std::exception&) {
                crm::throw_invalid("item \"" + g + "\" is not an integer item key");
            }
        }
        const std::int64_t id = b.transactions.find_item(key);
        if (id >= 0)
            ids.push_back(static_cast<crm::ItemId>(id));
        else if (all_found != nullptr)
            *all_found = false;
    }
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
}

std::optional<std::vector<std::string>> text_array_arg(FunctionCallInfo fcinfo, int argno, const char* name) {
    if (PG_ARGISNULL(argno)) return std::nullopt;
    struct Raw {
        int n;
        Datum* elems;
        bool* nulls;
    };
    const Raw raw = pg_guard([fcinfo, argno] {
        Raw r{0, nullptr, nullptr};
        deconstruct_array(PG_GETARG_ARRAYTYPE_P(argno), TEXTOID, -1, false, TYPALIGN_INT, &r.elems, &r.nulls, &r.n);
        return r;
    });
    std::vector<std::string> out;
    for (int i = 0; i < raw.n; ++i) {
        if (raw.nulls[i]) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, std::string(name) + " must not contain NULL");
        out.push_back(crm::pg::text_from_datum(raw.elems[i]));
    }
    return out;
}

// (arguments after the key_type of the _typed forms move by one)
int at(bool typed, int position) { return typed && position >= 4 ? position + 1 : position; }

Datum frequent_itemsets(FunctionCallInfo fcinfo, bool typed) {
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    const Source source = resolve_source(fcinfo, result_element_type(rsinfo), typed);
    (void)mining_options(fcinfo, 3, at(typed, 4), at(typed, 5), at(typed, 6), 0);  // bad options before the read
    crm::pg::SpiSession spi;
    crm::pg::ProgressReport progress;
    progress.update("crm.frequent_itemsets reading the baskets", true);
    const Baskets baskets = read_baskets(spi, source);
    spi.finish();
    const std::int64_t n = static_cast<std::int64_t>(baskets.transactions.basket_count());
    const crm::FpGrowthOptions o = mining_options(fcinfo, 3, at(typed, 4), at(typed, 5), at(typed, 6), n);
    if (n == 0) return static_cast<Datum>(0);
    progress.update("crm.frequent_itemsets mining " + std::to_string(n) + " baskets", true);
    const crm::FrequentItemsets sets = crm::mine_frequent_itemsets(baskets.transactions, o);
    const ItemArrays arrays{source, baskets};
    for (std::size_t i = 0; i < sets.size(); ++i) {
        Datum v[3] = {arrays.make(sets.begin(i), sets.end(i)), Int64GetDatum(sets.count(i)),
                      Float8GetDatum(static_cast<double>(sets.count(i)) / static_cast<double>(n))};
        bool nulls[3] = {false, false, false};
        crm::pg::put_srf_row(rsinfo, v, nulls);
        if ((i & 0xFFF) == 0) crm::pg::check_for_interrupts_from_core();
    }
    return static_cast<Datum>(0);
}

Datum association_rules(FunctionCallInfo fcinfo, bool typed) {
    ReturnSetInfo* rsinfo = materialize(fcinfo);
    const Source source = resolve_source(fcinfo, result_element_type(rsinfo), typed);
    if (PG_ARGISNULL(at(typed, 4))) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "min_confidence must not be NULL");
    crm::RuleOptions r;
    r.min_confidence = PG_GETARG_FLOAT8(at(typed, 4));
    if (!(r.min_confidence >= 0 && r.min_confidence <= 1))
        crm::throw_invalid("min_confidence must be in [0, 1], got " + std::to_string(r.min_confidence));
    if (PG_ARGISNULL(at(typed, 5))) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "min_lift must not be NULL");
    r.min_lift = PG_GETARG_FLOAT8(at(typed, 5));
    if (!(r.min_lift >= 0) || !std::isfinite(r.min_lift))
        crm::throw_invalid("min_lift must be a finite number >= 0, got " + std::to_string(r.min_lift));
    r.max_len = int_arg(fcinfo, at(typed, 6), "max_len");
    r.min_len = int_arg(fcinfo, at(typed, 7), "min_len");
    if (r.min_len < 1 || r.max_len < r.min_len)
        crm::throw_invalid("need 1 <= min_len <= max_len, got " + std::to_string(r.min_len) + " and " +
                           std::to_string(r.max_len));
    if (PG_ARGISNULL(at(typed, 8)))
        crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "multi_item_consequents must not be NULL");
    r.multi_item_consequents = PG_GETARG_BOOL(at(typed, 8));
    const auto includes = text_array_arg(fcinfo, at(typed, 9), "antecedent_includes");
    const auto among = text_array_arg(fcinfo, at(typed, 10), "consequent_among");
    const std::int64_t max_rules = int8_arg(fcinfo, at(typed, 11), "max_rules");
    if (max_rules < 1) crm::throw_invalid("max_rules must be at least 1, got " + std::to_string(max_rules));
    r.max_rules = static_cast<std::size_t>(max_rules);
    (void)support_arg(fcinfo, 3);  // a bad min_support before the read

    crm::pg::SpiSession spi;
    crm::pg::ProgressReport progress;
    progress.update("crm.association_rules reading the baskets", true);
    const Baskets baskets = read_baskets(spi, source);
    spi.finish();
    const std::int64_t n = static_cast<std::int64_t>(baskets.transactions.basket_count());
    crm::FpGrowthOptions o;
    o.max_len = r.max_len;
    o.min_count = crm::min_count_for_support(support_arg(fcinfo, 3), n);
    o.memory_limit_bytes = crm::pg::max_fit_memory_bytes();
    o.max_itemsets = 10 * r.max_rules;  // the itemsets behind at most max_rules rules, with room for pruning
    if (n == 0) return static_cast<Datum>(0);
    if (includes) {
        bool all_found = true;
        r.antecedent.required = item_ids(baskets, source, *includes, &all_found);
        if (!all_found) return static_cast<Datum>(0);  // an item nobody bought: no rule can hold it
    }
    if (among) r.consequent.allowed = item_ids(baskets, source, *among);
    progress.update("crm.association_rules mining " + std::to_string(n) + " baskets", true);
    const crm::FrequentItemsets sets = crm::mine_frequent_itemsets(baskets.transactions, o);
    const std::vector<crm::AssociationRule> rules = crm::association_rules(sets, r);
    const ItemArrays arrays{source, baskets};
    for (std::size_t i = 0; i < rules.size(); ++i) {
        const crm::AssociationRule& rule = rules[i];
        Datum v[9] = {arrays.make(rule.antecedent.data(), rule.antecedent.data() + rule.antecedent.size()),
                      arrays.make(rule.consequent.data(), rule.consequent.data() + rule.consequent.size()),
                      Int64GetDatum(rule.count),
                      Float8GetDatum(rule.support),
                      Float8GetDatum(rule.confidence),
                      Float8GetDatum(rule.lift),
                      Float8GetDatum(rule.leverage),
                      Float8GetDatum(rule.conviction),  // +Infinity when the confidence is 1
                      Float8GetDatum(rule.coverage)};
        bool nulls[9] = {false, false, false, false, false, false, false, false, false};
        crm::pg::put_srf_row(rsinfo, v, nulls);
        if ((i & 0xFFF) == 0) crm::pg::check_for_interrupts_from_core();
    }
    return static_cast<Datum>(0);
}

}  // namespace

CRM_FUNCTION(crm_frequent_itemsets) { return frequent_itemsets(fcinfo, false); }
CRM_FUNCTION(crm_frequent_itemsets_typed) { return frequent_itemsets(fcinfo, true); }
CRM_FUNCTION(crm_association_rules) { return association_rules(fcinfo, false); }
CRM_FUNCTION(crm_association_rules_typed) { return association_rules(fcinfo, true); }

// ---- the aggregate form: rules per group ---------------------------------------

namespace {

using crm::BasketRulesState;

constexpr std::size_t kAggregateMaxRules = 1000000;

BasketRulesState* rules_state(FunctionCallInfo fcinfo, int support_at) {
    MemoryContext context = crm::pg::aggregate_context(fcinfo, "crm.association_rules_agg");
    BasketRulesState* state = crm::pg::state_arg<BasketRulesState>(fcinfo, 0);
    if (state == nullptr) state = crm::pg::make_state<BasketRulesState>(context);
    if (PG_ARGISNULL(support_at) || PG_ARGISNULL(support_at + 1))
        crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "min_support and min_confidence must not be NULL");
    state->set_thresholds(PG_GETARG_FLOAT8(support_at), PG_GETARG_FLOAT8(support_at + 1));
    return state;
}

}  // namespace

// crm._basket_rules_transfn(state, basket bigint, item bigint, min_support, min_confidence)
CRM_FUNCTION(crm_basket_rules_transfn) {
    BasketRulesState* state = rules_state(fcinfo, 3);
    if (!PG_ARGISNULL(1) && !PG_ARGISNULL(2)) {  // NULL baskets and items are ignored
        state->add(PG_GETARG_INT64(1), PG_GETARG_INT64(2));
        crm::pg::check_state_memory(*state, "crm.association_rules_agg");
    }
    PG_RETURN_POINTER(state);
}

// crm._basket_rules_array_transfn(state, items bigint[], min_support, min_confidence): one basket per row
CRM_FUNCTION(crm_basket_rules_array_transfn) {
    BasketRulesState* state = rules_state(fcinfo, 2);
    if (!PG_ARGISNULL(1)) {
        struct Raw {
            int n;
            Datum* elems;
            bool* nulls;
        };
        const Raw raw = pg_guard([fcinfo] {
            Raw r{0, nullptr, nullptr};
            deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &r.elems, &r.nulls, &r.n);
            return r;
        });
        std::vector<std::int64_t> items;
        items.reserve(static_cast<std::size_t>(raw.n));
        for (int i = 0; i < raw.n; ++i)
            if (!raw.nulls[i]) items.push_back(DatumGetInt64(raw.elems[i]));
        // As in the row form, a basket without a (non-NULL) item is no basket.
        if (!items.empty()) state->add_basket(items.data(), items.size());
        crm::pg::check_state_memory(*state, "crm.association_rules_agg");
    }
    PG_RETURN_POINTER(state);
}

CRM_FUNCTION(crm_basket_rules_combine) {
    return crm::pg::combine_states<BasketRulesState>(fcinfo, "crm.association_rules_agg");
}
CRM_FUNCTION(crm_basket_rules_serial) { return crm::pg::serialize_state<BasketRulesState>(fcinfo); }
CRM_FUNCTION(crm_basket_rules_deserial) {
    return crm::pg::deserialize_state<BasketRulesState>(fcinfo, "crm.association_rules_agg");
}
CRM_FUNCTION(crm_basket_rules_merge_bytea) {
    return crm::pg::merge_serialised_state<BasketRulesState>(fcinfo, "crm.association_rules_agg_combine");
}

// The rules of the group as crm.association_rule[].
CRM_FUNCTION(crm_basket_rules_final) {
    BasketRulesState* state = crm::pg::state_arg<BasketRulesState>(fcinfo, 0);
    if (state == nullptr) PG_RETURN_NULL();
    const BasketRulesState::Result result = state->rules(crm::pg::max_fit_memory_bytes(), kAggregateMaxRules);
    Source source;
    source.key_type = INT8OID;
    const Baskets baskets{result.baskets, {}};
    const ItemArrays arrays{source, baskets};
    const Oid array_type = pg_guard([fcinfo] { return get_fn_expr_rettype(fcinfo->flinfo); });
    const Oid row_type = pg_guard([array_type] { return get_element_type(array_type); });
    TupleDesc desc = pg_guard([row_type] { return lookup_rowtype_tupdesc_copy(row_type, -1); });
    std::vector<Datum> rows;
    rows.reserve(result.rules.size());
    for (const crm::AssociationRule& rule : result.rules) {
        const std::vector<Datum> v = {arrays.make(rule.antecedent.data(), rule.antecedent.data() + rule.antecedent.size()),
                                      arrays.make(rule.consequent.data(), rule.consequent.data() + rule.consequent.size()),
                                      Int64GetDatum(rule.count), Float8GetDatum(rule.support),
                                      Float8GetDatum(rule.confidence), Float8GetDatum(rule.lift),
                                      Float8GetDatum(rule.leverage), Float8GetDatum(rule.conviction),
                                      Float8GetDatum(rule.coverage)};
        rows.push_back(crm::pg::make_row(desc, v));
    }
    const Datum* data = rows.data();
    const int n = static_cast<int>(rows.size());
    return pg_guard([data, n, row_type] {
        int16 len;
        bool byval;
        char align;
        get_typlenbyvalalign(row_type, &len, &byval, &align);
        return PointerGetDatum(construct_array(const_cast<Datum*>(data), n, row_type, len, byval, align));
    });
}
