#!/usr/bin/env bash
# Security: functions run as the caller (privileges and row-level security
# apply), hostile table and column names cannot inject SQL, look-alike
# functions and operators in public cannot change what the extension runs,
# and the library calls nothing that writes files, opens sockets or runs
# programs.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
fresh_database security
trap '"$PG_BIN/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $IT_DB" -c "DROP ROLE IF EXISTS crm_alice" -c "DROP ROLE IF EXISTS crm_bob" -c "DROP ROLE IF EXISTS crm_mallory" >/dev/null 2>&1 || true' EXIT
failures=0
check() {  # description, expected, actual
  if [ "$2" = "$3" ]; then echo "  ok: $1"; else echo "  FAILED: $1 (expected '$2', got '$3')"; failures=$((failures + 1)); fi
}

sql <<'SQL'
SET client_min_messages = warning;
DROP ROLE IF EXISTS crm_alice; DROP ROLE IF EXISTS crm_bob; DROP ROLE IF EXISTS crm_mallory;
CREATE ROLE crm_alice LOGIN;     -- no privilege on the data
CREATE ROLE crm_bob LOGIN;       -- may read North only (row-level security)
CREATE ROLE crm_mallory LOGIN;   -- hostile: may create objects in public
GRANT USAGE ON SCHEMA crm TO crm_alice, crm_bob, crm_mallory;
GRANT CREATE ON SCHEMA public TO crm_mallory;
CREATE TABLE orders (customer_id int, region text, ordered_at date, amount numeric);
INSERT INTO orders SELECT i % 40, CASE WHEN i % 40 < 10 THEN 'North' ELSE 'South' END,
                          date '2024-01-01' + i % 360, i % 50 FROM generate_series(1, 4000) i;
CREATE TABLE results (campaign text, region text, treated boolean, revenue float8);
INSERT INTO results SELECT 'c' || i % 2, CASE WHEN i % 3 = 0 THEN 'North' ELSE 'South' END, i % 4 <> 0, i % 37
FROM generate_series(1, 1000) i;
CREATE TABLE costs (campaign text, cost numeric);
INSERT INTO costs VALUES ('c0', 100), ('c1', 100);
CREATE TABLE readings (shipment int, region text, ts timestamptz, temp float8);
INSERT INTO readings SELECT i % 5, CASE WHEN i % 5 = 0 THEN 'North' ELSE 'South' END,
                            timestamptz '2025-01-01' + i * interval '5 minutes', 3 + i % 7
FROM generate_series(1, 500) i;
GRANT SELECT ON orders, results, costs, readings TO crm_bob;
ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
ALTER TABLE results ENABLE ROW LEVEL SECURITY;
ALTER TABLE readings ENABLE ROW LEVEL SECURITY;
CREATE POLICY north_only ON orders TO crm_bob USING (region = 'North');
CREATE POLICY north_only ON results TO crm_bob USING (region = 'North');
CREATE POLICY north_only ON readings TO crm_bob USING (region = 'North');
SQL

# 1. No privilege: permission denied (42501) from every one-call function.
state_of() {  # role, query -> SQLSTATE or ok
  "$PG_BIN/psql" -X -q -At -U "$1" -v VERBOSITY=verbose -c "$2" 2>&1 >/dev/null | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -1
}
check "rfm_analyze without SELECT is denied" 42501 "$(state_of crm_alice "SELECT * FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount')")"
check "campaign_report without SELECT is denied" 42501 "$(state_of crm_alice "SELECT * FROM crm.campaign_report('results', 'campaign', 'treated', 'revenue', 'costs', 'campaign', 'cost')")"
check "cold_chain_alerts without SELECT is denied" 42501 "$(state_of crm_alice "SELECT * FROM crm.cold_chain_alerts('readings', 'shipment', 'ts', 'temp', 8)")"

# 2. Row-level security: bob's results are computed from North rows only.
owner_customers=$(sql -c "SELECT count(*) FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount')")
bob_customers=$(sql -U crm_bob -c "SELECT count(*) FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount')")
check "owner sees all 40 customers" 40 "$owner_customers"
check "bob sees the 10 North customers" 10 "$bob_customers"
owner_n=$(sql -c "SELECT sum(treated_n + control_n) FROM crm.campaign_report('results', 'campaign', 'treated', 'revenue', 'costs', 'campaign', 'cost')")
bob_n=$(sql -U crm_bob -c "SELECT sum(treated_n + control_n) FROM crm.campaign_report('results', 'campaign', 'treated', 'revenue', 'costs', 'campaign', 'cost')")
check "campaign_report counts 1000 rows for the owner" 1000 "$owner_n"
check "campaign_report counts bob's 333 North rows" 333 "$bob_n"
bob_ships=$(sql -U crm_bob -c "SELECT string_agg(shipment, ',') FROM crm.cold_chain_alerts('readings', 'shipment', 'ts', 'temp', 8, as_of => '2025-02-01')")
check "cold_chain_alerts shows bob only shipment 0" 0 "$bob_ships"

# 3. Injection through names: quoted, so they are just names that do not exist.
check "hostile column name is an unknown column" 42703 "$(state_of postgres "SELECT * FROM crm.rfm_analyze('orders', 'customer_id, 1 FROM orders; DROP TABLE orders; --', 'ordered_at', 'amount')")"
check "hostile column in campaign_report" 42703 "$(state_of postgres "SELECT * FROM crm.campaign_report('results', 'campaign) FROM results; DROP TABLE costs; --', 'treated', 'revenue', 'costs', 'campaign', 'cost')")"
check "hostile column in cold_chain_alerts" 42703 "$(state_of postgres "SELECT * FROM crm.cold_chain_alerts('readings', 'shipment', 'ts; DROP TABLE readings', 'temp', 8)")"
check "tables survived" 3 "$(sql -c "SELECT count(*) FROM pg_class WHERE relname IN ('orders', 'costs', 'readings')")"

# 4. search_path tricks: mallory plants look-alike functions and operators in
#    public; a user with public first in search_path gets the same answers.
before=$(sql -c "SELECT md5(string_agg(customer_key || segment || monetary, ',' ORDER BY customer_key)) FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01')")
before_report=$(sql -c "SELECT md5(string_agg(campaign || uplift || verdict, ',')) FROM crm.campaign_report('results', 'campaign', 'treated', 'revenue', 'costs', 'campaign', 'cost')")
sql -U crm_mallory <<'SQL'
CREATE FUNCTION public.max(date) RETURNS date LANGUAGE sql AS 'SELECT date ''1900-01-01''';
CREATE FUNCTION public.sum(double precision) RETURNS double precision LANGUAGE sql AS 'SELECT -1::float8';
CREATE FUNCTION public.quote_ident(text) RETURNS text LANGUAGE sql AS $f$SELECT 'x; DROP TABLE costs; --'$f$;
CREATE FUNCTION public.evil_le(date, timestamptz) RETURNS boolean LANGUAGE sql AS 'SELECT false';
CREATE OPERATOR public.<= (LEFTARG = date, RIGHTARG = timestamptz, FUNCTION = public.evil_le);
CREATE FUNCTION public.evil_minus(date, date) RETURNS integer LANGUAGE sql AS 'SELECT 99999';
CREATE OPERATOR public.- (LEFTARG = date, RIGHTARG = date, FUNCTION = public.evil_minus);
SQL
after=$(PGOPTIONS="-c search_path=public,pg_catalog" sql -c "SELECT md5(string_agg(customer_key || segment || monetary, ',' ORDER BY customer_key)) FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01')")
after_report=$(PGOPTIONS="-c search_path=public,pg_catalog" sql -c "SELECT md5(string_agg(campaign || uplift || verdict, ',')) FROM crm.campaign_report('results', 'campaign', 'treated', 'revenue', 'costs', 'campaign', 'cost')")
check "rfm_analyze ignores look-alikes in public" "$before" "$after"
check "campaign_report ignores look-alikes in public" "$before_report" "$after_report"
# The install script under a hostile search_path still binds to pg_catalog and crm.
sql -c "DROP EXTENSION crm_analytics"
PGOPTIONS="-c search_path=public,pg_catalog" sql -c "CREATE EXTENSION crm_analytics"
reinstalled=$(PGOPTIONS="-c search_path=public,pg_catalog" sql -c "SELECT md5(string_agg(customer_key || segment || monetary, ',' ORDER BY customer_key)) FROM crm.rfm_analyze('orders', 'customer_id', 'ordered_at', 'amount', as_of => '2025-01-01')")
check "installed under a hostile search_path, same answers" "$before" "$reinstalled"
# One narrow exception (docs/reliability.md): the trigger function that bumps
# crm.cf_table_versions, with a fixed search_path.
check "no SECURITY DEFINER function but the version trigger's" "crm._cf_bump_version()|{\"search_path=pg_catalog, pg_temp\"}" \
  "$(sql -c "SELECT p.oid::regprocedure, p.proconfig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'crm' AND p.prosecdef")"
check "extension is not trusted (a superuser installs it)" f "$(sql -c "SELECT trusted FROM pg_available_extension_versions WHERE name = 'crm_analytics' LIMIT 1")"

# 5. The library imports nothing that writes files, opens sockets or runs programs.
lib="$("$PG_BIN/pg_config" --pkglibdir)/crm_analytics.so"
bad=$(nm -D --undefined-only "$lib" | awk '{print $2}' | sed 's/@.*//' |
      grep -xE 'socket|connect|bind|listen|accept|system|popen|execv|execve|execvp|execl|execlp|fork|vfork|posix_spawn|fopen|fopen64|open|open64|openat|creat|unlink|rename|write|pwrite|send|sendto|dlopen' || true)
check "no file, network or process calls imported" "" "$bad"

[ "$failures" -eq 0 ] || fail "$failures security checks failed"
