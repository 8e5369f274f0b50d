#include "cf_args.hpp"

#include <cmath>

#include "errors.hpp"
#include "interrupts.hpp"

#include "bridge.hpp"
#include "composite.hpp"
#include "datum_convert.hpp"
#include "progress.hpp"
#include "relation.hpp"

namespace crm::pg {


RatingColumns resolve_rating_columns_at(FunctionCallInfo fcinfo, int first) {
    const char* names[] = {"ratings", "user_col", "item_col", "rating_col"};
    for (int i = 0; i < 4; ++i)
        if (PG_ARGISNULL(first + i))
            crm::throw_error(crm::ErrorKind::NullValueNotAllowed, std::string(names[i]) + " must not be NULL");
    RatingColumns c;
    c.rel = resolve_relation(PG_GETARG_OID(first), "ratings");
    c.user = resolve_column(c.rel, name_arg(fcinfo, first + 1), "user_col");
    c.item = resolve_column(c.rel, name_arg(fcinfo, first + 2), "item_col");
    c.rating = resolve_column(c.rel, name_arg(fcinfo, first + 3), "rating_col");
    for (const auto* col : {&c.user, &c.item})
        if (!is_integer_type(col->type))
            crm::throw_error(crm::ErrorKind::DatatypeMismatch,
                             "column \"" + col->name + "\" must be an integer or bigint key, not " + col->type_name);
    if (!is_numeric_type(c.rating.type) && c.rating.type != BOOLOID)
        crm::throw_error(crm::ErrorKind::DatatypeMismatch,
                         "rating_col \"" + c.rating.name + "\" must be numeric, not " + c.rating.type_name);
    return c;
}

std::vector<std::int64_t> int8_array(FunctionCallInfo fcinfo, int argno, const char* name) {
    struct Raw {
        int n;
        Datum* elems;
        bool* nulls;
        int ndim;
    };
    const Raw raw = pg_guard([fcinfo, argno] {
        Raw r{0, nullptr, nullptr, 0};
        ArrayType* a = PG_GETARG_ARRAYTYPE_P(argno);
        r.ndim = ARR_NDIM(a);
        deconstruct_array(a, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &r.elems, &r.nulls, &r.n);
        return r;
    });
    if (raw.ndim > 1) crm::throw_invalid(std::string(name) + " must be a one-dimensional array");
    std::vector<std::int64_t> out;
    out.reserve(static_cast<std::size_t>(raw.n));
    for (int i = 0; i < raw.n; ++i) {
        if (raw.nulls[i]) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, std::string(name) + " must not contain NULL");
        out.push_back(DatumGetInt64(raw.elems[i]));
    }
    return out;
}

int int_arg(FunctionCallInfo fcinfo, int argno, const char* name) {
    if (PG_ARGISNULL(argno)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, std::string(name) + " must not be NULL");
    return PG_GETARG_INT32(argno);
}

std::string text_arg_checked(FunctionCallInfo fcinfo, int argno, const char* name) {
    if (PG_ARGISNULL(argno)) crm::throw_error(crm::ErrorKind::NullValueNotAllowed, std::string(name) + " must not be NULL");
    return text_arg(fcinfo, argno);
}

ReturnSetInfo* materialize(FunctionCallInfo fcinfo) {
    pg_guard([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    return reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
}

std::vector<std::pair<std::int64_t, std::int64_t>> user_item_pairs(FunctionCallInfo fcinfo, int users_arg, int items_arg) {
    if (PG_ARGISNULL(users_arg) || PG_ARGISNULL(items_arg))
        crm::throw_error(crm::ErrorKind::NullValueNotAllowed, "users and items must not be NULL");
    const std::vector<std::int64_t> users = int8_array(fcinfo, users_arg, "users");
    const std::vector<std::int64_t> items = int8_array(fcinfo, items_arg, "items");
    if (users.size() != items.size())
        crm::throw_invalid("users and items must have the same length (one pair per position), got " +
                           std::to_string(users.size()) + " and " + std::to_string(items.size()));
    std::vector<std::pair<std::int64_t, std::int64_t>> pairs(users.size());
    for (std::size_t i = 0; i < users.size(); ++i) pairs[i] = {users[i], items[i]};
    return pairs;
}

void put_predictions(ReturnSetInfo* rsinfo, const std::vector<std::pair<std::int64_t, std::int64_t>>& pairs,
                     const std::vector<double>& predictions) {
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        Datum v[3] = {Int64GetDatum(pairs[i].first), Int64GetDatum(pairs[i].second), Float8GetDatum(predictions[i])};
        bool nulls[3] = {false, false, std::isnan(predictions[i])};
        put_srf_row(rsinfo, v, nulls);
    }
}

void put_ranked(ReturnSetInfo* rsinfo, const std::optional<std::int64_t>& user, const std::vector<crm::RankedItem>& list) {
    for (std::size_t r = 0; r < list.size(); ++r) {
        const Datum reason = text_datum(crm::reco_reason_name(list[r].reason));
        if (user) {
            Datum v[5] = {Int64GetDatum(*user), Int32GetDatum(static_cast<int>(r + 1)), Int64GetDatum(list[r].item),
                          Float8GetDatum(list[r].score), reason};
            bool nulls[5] = {false, false, false, false, false};
            put_srf_row(rsinfo, v, nulls);
        } else {
            Datum v[4] = {Int32GetDatum(static_cast<int>(r + 1)), Int64GetDatum(list[r].item), Float8GetDatum(list[r].score),
                          reason};
            bool nulls[4] = {false, false, false, false};
            put_srf_row(rsinfo, v, nulls);
        }
    }
}

void emit_batch(FunctionCallInfo fcinfo, ReturnSetInfo* rsinfo, crm::Recommender& rec, const crm::RatingMatrix& m,
                int users_arg, std::size_t n, const char* label) {
    std::vector<std::int64_t> users;
    if (PG_ARGISNULL(users_arg)) {
        users.resize(m.users());
        for (std::size_t u = 0; u < m.users(); ++u) users[u] = m.user_key(u);
    } else {
        users = int8_array(fcinfo, users_arg, "users");
    }
    ProgressReport progress;
    for (std::size_t i = 0; i < users.size(); ++i) {
        if (i % 1024 == 0)
            progress.update(std::string(label) + " " + std::to_string(i) + " of " + std::to_string(users.size()) + " users",
                            i == 0);
        put_ranked(rsinfo, users[i], rec.recommend(users[i], n));
        crm::check_interrupts();
    }
}

}  // namespace crm::pg
