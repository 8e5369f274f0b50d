#!/usr/bin/env bash
# Documentation that runs: every ```sql block of README.md and docs/*.md, in
# page order, against a fresh database per page loaded with the bundled sample
# data (scripts/sample_data.sql), each block with ON_ERROR_STOP. A failing
# block fails the test with its page:line and error. Blocks marked
# <!-- doc-test: needs pg_cron --> or needs shards are skipped; the markers
# are described in test/docs/run_doc_examples.py and docs/architecture.md.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
[ -x "$PYTHON" ] || skip "no $PYTHON"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
"$PYTHON" -u "$REPO_ROOT/test/docs/run_doc_examples.py" >"$log" 2>&1 || status=$?
sed 's/^/  /' "$log"
case "$status" in
  0) ;;
  1) fail "a documentation example failed (see above)" ;;
  *) fail "the documentation harness could not run (exit $status)" ;;
esac
