#include <vector>

#include "errors.hpp"

#include "bridge.hpp"
#include "composite.hpp"

namespace crm::pg {

TupleDesc result_tupdesc(FunctionCallInfo fcinfo) {
    return pg_guard([fcinfo] {
        TupleDesc desc = nullptr;
        if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                            errmsg("function returning a row called in a context that cannot accept it")));
        return BlessTupleDesc(desc);
    });
}

Datum make_row(TupleDesc desc, const std::vector<Datum>& values, const std::vector<bool>& nulls) {
    const int natts = desc->natts;
    if (static_cast<int>(values.size()) != natts) throw_error(ErrorKind::Internal, "row arity mismatch");
    // std::vector<bool> is packed: copy into a plain array first.
    bool null_flags[64] = {};
    if (natts > 64) throw_error(ErrorKind::Internal, "row too wide");
    for (std::size_t i = 0; i < nulls.size() && i < 64; ++i) null_flags[i] = nulls[i];
    const Datum* v = values.data();
    bool* nf = null_flags;
    return pg_guard([desc, v, nf] {
        HeapTuple tuple = heap_form_tuple(desc, const_cast<Datum*>(v), nf);
        return HeapTupleGetDatum(tuple);
    });
}

Datum row_field(HeapTupleHeader row, int attno, bool* is_null) {
    return pg_guard([row, attno, is_null] { return GetAttributeByNum(row, static_cast<AttrNumber>(attno), is_null); });
}

HeapTupleHeader row_arg(FunctionCallInfo fcinfo, int argno) {
    // Per-row scorers call this for every row: a plain (not toasted) row
    // needs no detoasting, so no guard either.
    const Datum d = PG_GETARG_DATUM(argno);
    if (!VARATT_IS_EXTENDED(DatumGetPointer(d))) return reinterpret_cast<HeapTupleHeader>(DatumGetPointer(d));
    return pg_guard([fcinfo, argno] { return PG_GETARG_HEAPTUPLEHEADER(argno); });
}

void put_srf_row(ReturnSetInfo* rsinfo, Datum* values, bool* nulls) {
    pg_guard([rsinfo, values, nulls] { tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls); });
}

}  // namespace crm::pg
