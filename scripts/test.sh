#!/usr/bin/env bash
# Command 2: every test. Installs what is missing, builds, runs the GoogleTest
# unit tests (ctest), starts a throwaway cluster, runs pg_regress
# (make installcheck) and the integration scripts under test/integration,
# then prints "N passed, N failed" and exits non-zero on any failure.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
source "$REPO_ROOT/scripts/lib/cluster.sh"

PASSED=0
FAILED=0
SKIPPED=0
FAILURES=()

count_result() {  # name status(0 pass, 77 skip, else fail)
  case "$2" in
    0) PASSED=$((PASSED + 1)) ;;
    77) SKIPPED=$((SKIPPED + 1)) ;;
    *) FAILED=$((FAILED + 1)); FAILURES+=("$1") ;;
  esac
}

install_missing_packages
build_and_install_extension

log "building and running the unit tests (GoogleTest via ctest)"
cmake -S "$REPO_ROOT" -B "$REPO_ROOT/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$REPO_ROOT/build" -j"$(build_jobs)" >/dev/null
ctest_log="$(mktemp)"
ctest --test-dir "$REPO_ROOT/build" --output-on-failure >"$ctest_log" 2>&1 || true
tail -n 3 "$ctest_log"
ctest_total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$ctest_log")
ctest_failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1/p' "$ctest_log")
if [ -z "$ctest_total" ]; then
  cat "$ctest_log"; FAILED=$((FAILED + 1)); FAILURES+=("ctest did not run")
else
  PASSED=$((PASSED + ctest_total - ctest_failed)); FAILED=$((FAILED + ctest_failed))
  [ "$ctest_failed" -eq 0 ] || { grep -E "^\s*[0-9]+ - .*Failed" "$ctest_log" || true; FAILURES+=("$ctest_failed unit tests"); }
fi
rm -f "$ctest_log"

log "running the unit tests again under AddressSanitizer and UndefinedBehaviorSanitizer"
cmake -S "$REPO_ROOT" -B "$REPO_ROOT/build-sanitize" -DCMAKE_BUILD_TYPE=Debug -DCRM_SANITIZE=ON >/dev/null
cmake --build "$REPO_ROOT/build-sanitize" -j"$(build_jobs)" >/dev/null
asan_log="$(mktemp)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$REPO_ROOT/build-sanitize" --output-on-failure >"$asan_log" 2>&1 || true
tail -n 1 "$asan_log"
asan_total=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\2/p' "$asan_log")
asan_failed=$(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1/p' "$asan_log")
if [ -z "$asan_total" ]; then
  tail -n 50 "$asan_log"; FAILED=$((FAILED + 1)); FAILURES+=("sanitizer run did not complete")
elif [ "$asan_failed" -ne 0 ]; then
  grep -E "ERROR: AddressSanitizer|runtime error|Failed" "$asan_log" | head -20
  FAILED=$((FAILED + 1)); FAILURES+=("$asan_failed unit tests under sanitizers")
else
  PASSED=$((PASSED + 1))   # the sanitizer run counts as one test
fi
rm -f "$asan_log"

# pg_cron (Debian postgresql-15-cron) is loaded at server start for the scheduling test.
cluster_start "shared_preload_libraries = 'pg_cron'" "cron.database_name = 'postgres'" \
              "cron.use_background_workers = on" "max_worker_processes = 16" \
              "listen_addresses = '127.0.0.1'"   # JDBC needs TCP; loopback only, private port

log "running the regression tests (pg_regress via make installcheck)"
regress_log="$(mktemp)"
make -C "$REPO_ROOT" -s installcheck >"$regress_log" 2>&1 || true
grep -E '^(ok|not ok|test| ) ' "$regress_log" | grep -E '\.\.\.|^(ok|not ok)' || true
regress_ok=$(grep -cE '\.\.\. ok' "$regress_log" || true)
regress_bad=$(grep -cE '\.\.\. FAILED|\.\.\. failed' "$regress_log" || true)
if [ "$regress_ok" -eq 0 ] && [ "$regress_bad" -eq 0 ]; then
  cat "$regress_log"; FAILED=$((FAILED + 1)); FAILURES+=("pg_regress did not run")
fi
PASSED=$((PASSED + regress_ok)); FAILED=$((FAILED + regress_bad))
if [ "$regress_bad" -gt 0 ]; then
  FAILURES+=("$regress_bad regression tests")
  [ -f "$REPO_ROOT/regression.diffs" ] && head -n 200 "$REPO_ROOT/regression.diffs"
fi
rm -f "$regress_log"

log "running the integration tests (test/integration)"
for script in "$REPO_ROOT"/test/integration/*.sh; do
  [ -e "$script" ] || continue
  name="$(basename "$script" .sh)"
  status=0
  bash "$script" || status=$?
  case "$status" in
    0) echo "integration $name ... ok" ;;
    77) echo "integration $name ... skipped" ;;
    *) echo "integration $name ... FAILED (exit $status)" ;;
  esac
  count_result "$name" "$status"
done

if grep -q "terminated by signal" "$CRM_SERVER_LOG" 2>/dev/null; then
  echo "the server log shows a backend crash:"; grep -B2 -A2 "terminated by signal" "$CRM_SERVER_LOG"
  FAILED=$((FAILED + 1)); FAILURES+=("backend crash")
fi

[ "${#FAILURES[@]}" -eq 0 ] || printf 'failed: %s\n' "${FAILURES[@]}"
echo "${PASSED} passed, ${FAILED} failed, ${SKIPPED} skipped"
[ "$FAILED" -eq 0 ]
