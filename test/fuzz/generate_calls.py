#!/usr/bin/env python3
"""Generates argument-fuzzing calls for every function and aggregate in schema
crm, found from the catalog (so new functions are covered automatically).

Reads the catalog listing on stdin (one line per routine: kind|name|arg types
|arg names, from test/integration/fuzz.sh) and writes SQL on stdout: one
`SELECT fuzz.try(...)` per call, each run in its own subtransaction by
fuzz.try, which records the SQLSTATE. Deterministic for a seed.
"""
import random
import sys

# Edge values per argument type, as SQL literals.
FLOAT = ["NULL", "'NaN'::float8", "'Infinity'::float8", "'-Infinity'::float8", "0::float8", "-1::float8",
         "1e308::float8", "-1e308::float8", "1e-308::float8", "5::float8", "0.5::float8", "8::float8",
         "0.95::float8"]
INT = ["NULL", "0", "-1", "1", "2", "3", "5", "10", "11", "2147483647", "-2147483648"]
BIGINT = [v + "::bigint" for v in INT] + ["9223372036854775807::bigint"]
NUMERIC = ["NULL", "'NaN'::numeric", "'Infinity'::numeric", "0::numeric", "-1::numeric", "1e100::numeric",
           "100::numeric", "1500::numeric"]
TEXT = ["NULL", "''", "'quantile'", "'ntile'", "'msd'", "'cosine'", "'zscore'", "'minmax'", "'none'",
        "repeat('x', 100000)", "$t$'; DROP TABLE fuzz_orders; --$t$", "'Ünïcødé'", "E'\\\\x00'"]
NAME = ["NULL", "'customer_id'", "'ordered_at'", "'amount'", "'campaign'", "'treated'", "'revenue'",
        "'shipment'", "'ts'", "'temp'", "'cost'", "'nope'", "$n$Odd \"col\"$n$", "''", "repeat('n', 200)"]
REGCLASS = ["NULL", "'fuzz_orders'::regclass", "'fuzz_results'::regclass", "'fuzz_readings'::regclass",
            "'fuzz_costs'::regclass", "'pg_class'::regclass", "0::regclass", "123456789::regclass",
            "$r$\"Fuzz Odd\"$r$::regclass"]
FLOAT_ARRAY = ["NULL", "'{}'::float8[]", "'{1,2,3}'::float8[]", "'{NULL,1}'::float8[]",
               "'{{1,2},{3,4}}'::float8[]", "'{NaN}'::float8[]", "'{1e308,1e308}'::float8[]",
               "array_fill(1.5::float8, ARRAY[10000])", "'[5:6]={1,2}'::float8[]", "'{-Infinity,0}'::float8[]"]
BOOL = ["NULL", "true", "false"]
TIMESTAMPTZ = ["NULL", "now()", "'infinity'::timestamptz", "'-infinity'::timestamptz",
               "'2025-01-01'::timestamptz", "'4713-01-01 BC'::timestamptz", "'294276-12-31'::timestamptz"]
INTERVAL = ["NULL", "'0'::interval", "'-1 hour'::interval", "'1 hour'::interval", "'100000 years'::interval",
            "'1 microsecond'::interval", "'2 months 3 days'::interval"]
JSONB = ["NULL", "'{}'::jsonb", "'[]'::jsonb", "'\"x\"'::jsonb", "'{\"A\":\"**\"}'::jsonb",
         "'{\"A\":[\"5*\"]}'::jsonb", "crm.rfm_default_segment_map()", "'{\"A\":[\"**\",\"11\"]}'::jsonb",
         "'{\"A\":{\"b\":1}}'::jsonb", "'{\"A\":[1,2]}'::jsonb", "'{\"\":\"**\"}'::jsonb",
         "'{\"A\":\"[1-9]*\"}'::jsonb", "'{\"A\":\"10,10\"}'::jsonb"]
ANYELEMENT = ["NULL::int", "NULL::bigint", "NULL::text", "NULL::uuid", "NULL::date", "NULL::float8"]
RFM_THRESHOLDS = ["NULL", "(5, 10, '{1,2,3,4}', '{1,2,3,4}', '{1,2,3,4}')::crm.rfm_thresholds",
                  "(5, 10, '{4,3,2,1}', '{1,2,3,4}', '{1,2,3,4}')::crm.rfm_thresholds",
                  "(NULL, NULL, NULL, NULL, NULL)::crm.rfm_thresholds",
                  "(2, 0, '{NaN}', '{1}', '{1}')::crm.rfm_thresholds",
                  "(10, -1, '{}', '{}', '{}')::crm.rfm_thresholds",
                  "(5, 1, '{{1,2},{3,4}}', '{1,2,3,4}', '{1,2,3,4}')::crm.rfm_thresholds",
                  "(-3, 1, '{1}', '{1}', '{1}')::crm.rfm_thresholds",
                  "(5, 1, '{1,2,3,4,5,6,7,8,9,10,11}', '{1,2,3,4}', '{1,2,3,4}')::crm.rfm_thresholds"]
TEMP_MODEL = ["NULL", "(1, 4, 20, '1 hour', now(), 0.1, 10, true, false, NULL)::crm.temp_model",
              "(1, 4, 20, '-1 hour', now(), 0.1, 10, true, false, NULL)::crm.temp_model",
              "(1, 4, 20, NULL, now(), 0.1, 10, true, false, NULL)::crm.temp_model",
              "(9, 4, 20, '1 hour', now(), 0.1, 10, true, false, NULL)::crm.temp_model",
              "(1, 'NaN', 20, '1 hour', now(), 0.1, 10, true, false, NULL)::crm.temp_model",
              "(1, 4, 1e308, '1 microsecond', 'infinity', 0.1, 10, true, false, NULL)::crm.temp_model",
              "(1, 4, 20, '100000 years', '294276-01-01', 0.1, 10, true, false, NULL)::crm.temp_model",
              "(NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::crm.temp_model",
              "(1, 4, 20, '1 hour', now(), 0.1, 10, false, false, 'x')::crm.temp_model"]
BYTEA = ["NULL", "''::bytea", "'\\x00'::bytea", "'\\x5301'::bytea", "'\\x53010500000000'::bytea",
         "decode(repeat('ff', 64), 'hex')", "'\\x5501ffffffffffffffff'::bytea"]

BY_TYPE = {
    "double precision": FLOAT, "integer": INT, "bigint": BIGINT, "numeric": NUMERIC, "text": TEXT,
    "name": NAME, "regclass": REGCLASS, "double precision[]": FLOAT_ARRAY, "boolean": BOOL,
    "timestamp with time zone": TIMESTAMPTZ, "interval": INTERVAL, "jsonb": JSONB, "anyelement": ANYELEMENT,
    "crm.rfm_thresholds": RFM_THRESHOLDS, "rfm_thresholds": RFM_THRESHOLDS, "crm.temp_model": TEMP_MODEL,
    "temp_model": TEMP_MODEL, "bytea": BYTEA, "smallint": INT, "real": FLOAT, "bigint[]": ["NULL", "'{}'::bigint[]",
    "'{1,2,NULL}'::bigint[]", "'{{1}}'::bigint[]", "array_fill(7::bigint, ARRAY[5000])"],
}


def literal_for(type_name, rng, typed_null=False):
    values = BY_TYPE.get(type_name)
    if values is None:
        # An unknown type (a new feature): NULL and a cast of a few generic literals.
        values = ["NULL", f"NULL::{type_name}"]
    value = rng.choice(values)
    # In VALUES rows an untyped NULL would become text; aggregates need the type.
    if typed_null and value == "NULL" and type_name != "anyelement":
        value = f"NULL::{type_name}"
    return value


def dollar(s, tag="q"):
    while f"${tag}$" in s:
        tag += "q"
    return f"${tag}${s}${tag}$"


def main():
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    total = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    rng = random.Random(seed)
    routines = []
    for line in sys.stdin:
        kind, name, types = line.rstrip("\n").split("|", 2)
        arg_types = [t.strip() for t in types.split(",") if t.strip()] if types else []
        if "internal" in arg_types:
            continue  # not callable from SQL
        routines.append((kind, name, arg_types))
    if not routines:
        sys.exit("no routines found in schema crm")
    per_routine = max(1, -(-total // len(routines)))  # ceil: at least `total` calls
    emitted = 0
    for kind, name, arg_types in routines:
        for _ in range(per_routine):
            if kind == "a":  # aggregate: several rows of edge values
                rows = []
                for _ in range(rng.choice([1, 2, 3, 5])):
                    rows.append("(" + ", ".join(literal_for(t, rng, True) for t in arg_types) + ")")
                cols = ", ".join(f"c{i}" for i in range(len(arg_types)))
                call = (f"SELECT crm.{name}({cols}) FROM (VALUES {', '.join(rows)}) v({cols})"
                        if arg_types else f"SELECT crm.{name}()")
            else:
                args = ", ".join(literal_for(t, rng) for t in arg_types)
                call = f"SELECT * FROM crm.{name}({args})"
            print(f"SELECT fuzz.try({dollar(call)}, {dollar(name, 'n')});")
            emitted += 1
    print(f"-- {emitted} calls over {len(routines)} routines", file=sys.stderr)


if __name__ == "__main__":
    main()
