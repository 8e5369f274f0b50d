// PostgreSQL headers for the adapter, in one place.
//
// Include the C++ standard library and Eigen *before* this header: PostgreSQL's
// port.h redefines snprintf, strerror and qsort. The pure core never includes it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

// The library is built with -fvisibility=hidden: only the SQL entry points,
// the magic block and _PG_init are exported. PostgreSQL 15 defines
// PGDLLEXPORT empty outside Windows; this definition (which c.h keeps) marks
// what it declares as exported.
#ifndef PGDLLEXPORT
#define PGDLLEXPORT __attribute__((visibility("default")))
#endif

extern "C" {
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "nodes/primnodes.h"
#include "tcop/dest.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"
}

// Declares a SQL-callable function `name` whose body runs through the bridge:
// the body is C++ (may throw), PostgreSQL calls inside it go through pg_guard.
#define CRM_FUNCTION(name)                                                                   \
    extern "C" {                                                                             \
    PG_FUNCTION_INFO_V1(name);                                                               \
    }                                                                                        \
    static Datum name##_body(FunctionCallInfo fcinfo);                                       \
    extern "C" PGDLLEXPORT Datum name(PG_FUNCTION_ARGS) {                                    \
        return crm::pg::run_entry([fcinfo]() -> Datum { return name##_body(fcinfo); });      \
    }                                                                                        \
    static Datum name##_body(FunctionCallInfo fcinfo)
