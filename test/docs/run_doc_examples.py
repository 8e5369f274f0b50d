#!/usr/bin/env python3
"""Run every SQL example of README.md and docs/*.md as a user copying it would.

    test/docs/run_doc_examples.py [--page docs/rfm.md ...] [--scale 1] [--seed 42]
                                  [--keep] [--reuse-template] [-v]

Needs a running server (PGHOST/PGPORT/PGUSER, a superuser) with crm_analytics
installed. The harness loads the bundled sample data (scripts/sample_data.sql,
schema crm_sample) and the extension into a template database once, then runs
each page's ```sql blocks in page order in a fresh database copied from that
template (one database per page, dropped afterwards unless --keep). Each block
runs in its own psql session with ON_ERROR_STOP: the first error ends the block
and is reported as page:line (the line where the failing statement ends) with
its SQLSTATE and message. Objects a block creates stay for the later blocks of
its page; session settings (SET) do not carry over to the next block. Roles a
page creates are dropped after it. Blocks in other languages (sh, text, python,
...) and fences without a language are not run. The output is not compared
with the page; a block passes when it runs without an error.

Markers: an HTML comment on the line right before the fence changes how that
block is run. Several directives may share one comment, separated by ';'.

    <!-- doc-test: needs pg_cron -->       skipped (printed as skipped): pg_cron must be
                                           preloaded, and its objects live only in the
                                           database named by cron.database_name
    <!-- doc-test: needs shards -->        skipped: needs the postgres_fdw shard servers
    <!-- doc-test: needs role analyst -->  the harness creates the role (NOLOGIN) first
                                           and drops it after the page
    <!-- doc-test: expect-error 22023 -->  the block must fail with this SQLSTATE
    <!-- doc-test: skip reason... -->      skipped; only where running it is truly
                                           impossible, and the reason is required
    <!-- doc-test: signature -->           a declaration to read, not run (for example the
                                           CREATE TYPE of a result type the extension makes)

A block whose first code line starts with a schema-qualified function name is a
reference synopsis such as `crm.rfm_analyze(relation regclass, ...) RETURNS
TABLE (...)` and is not run either (no SQL statement starts that way); it needs
no marker.

Exit status: 0 when every block passed or was skipped by a marker, 1 when a
block failed, 2 on a usage or set-up error.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PG_BIN = "/usr/lib/postgresql/%s/bin" % os.environ.get("PG_MAJOR", "15")
PSQL = os.path.join(PG_BIN, "psql") if os.path.exists(os.path.join(PG_BIN, "psql")) else "psql"
TEMPLATE_DB = "crm_doc_template"
BLOCK_TIMEOUT_S = 600

MARKER_RE = re.compile(r"^\s*<!--\s*doc-test:\s*(.*?)\s*-->\s*$")
FENCE_RE = re.compile(r"^(\s*)(```+|~~~+)\s*([A-Za-z0-9_+-]*)")
ERROR_RE = re.compile(r"^psql:[^:]*:(\d+): ERROR:\s+([0-9A-Z]{5}): (.*)$")
SIGNATURE_RE = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\s*\(")
KNOWN_NEEDS = {"pg_cron", "shards"}


class Block:
    def __init__(self, page, line, lang, sql, directives):
        self.page = page          # path relative to the repository
        self.line = line          # line of the opening fence (1-based)
        self.lang = lang
        self.sql = sql
        self.skip = None          # reason when skipped by a marker
        self.roles = []
        self.expect_error = None
        self.signature = is_signature(sql)
        for d in directives:
            self._directive(d)

    def where(self, offset=0):
        return "%s:%d" % (self.page, self.line + offset)

    def _directive(self, d):
        words = d.split()
        if len(words) == 2 and words[0] == "needs" and words[1] in KNOWN_NEEDS:
            self.skip = "needs " + words[1]
        elif len(words) == 3 and words[:2] == ["needs", "role"] and re.match(r"^[a-z_][a-z0-9_]*$", words[2]):
            self.roles.append(words[2])
        elif len(words) == 2 and words[0] == "expect-error" and re.match(r"^[0-9A-Z]{5}$", words[1]):
            self.expect_error = words[1]
        elif words == ["signature"]:
            self.signature = True
        elif words and words[0] == "skip" and len(words) > 1:
            self.skip = "skip: " + " ".join(words[1:])
        else:
            raise SetupError("%s: unknown doc-test marker %r" % (self.where(), d))


class SetupError(Exception):
    pass


def is_signature(sql):
    """A reference synopsis such as `crm.rfm_analyze(relation regclass, ...) RETURNS ...`: no SQL
    statement starts with a schema-qualified function name, so a block whose first code line does
    is a declaration to read, not an example to run."""
    for line in sql.splitlines():
        code = line.split("--", 1)[0].strip()
        if code:
            return SIGNATURE_RE.match(code) is not None
    return False


def extract_blocks(path, rel):
    """Every fenced block of one page, in order; only ```sql ones are returned."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    blocks = []
    i = 0
    pending = None   # (line number, directives) of a marker on the previous line
    while i < len(lines):
        m = FENCE_RE.match(lines[i])
        marker = MARKER_RE.match(lines[i])
        if marker:
            pending = (i + 1, [d.strip() for d in marker.group(1).split(";") if d.strip()])
            i += 1
            continue
        if m:
            fence, lang = m.group(2), m.group(3).lower()
            start = i + 1
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(fence):
                body.append(lines[i])
                i += 1
            directives = []
            if pending and pending[0] == start - 1:
                directives = pending[1]
                if lang != "sql":
                    raise SetupError("%s:%d: doc-test marker before a %r block" % (rel, pending[0], lang or "plain"))
            pending = None
            if lang == "sql":
                blocks.append(Block(rel, start, lang, "\n".join(body) + "\n", directives))
            i += 1
            continue
        if pending and pending[0] == i:   # a marker not followed by a fence
            raise SetupError("%s:%d: doc-test marker is not on the line right before a fence" % (rel, pending[0]))
        i += 1
    if pending:
        raise SetupError("%s:%d: doc-test marker at the end of the page" % (rel, pending[0]))
    return blocks


def psql(args, stdin=None, db="postgres", check=True, timeout=BLOCK_TIMEOUT_S):
    env = dict(os.environ, PGDATABASE=db, PGOPTIONS="-c client_min_messages=warning")
    p = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1"] + args, input=stdin, env=env,
                       capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise SetupError("psql %s failed:\n%s" % (" ".join(args), p.stderr.strip()))
    return p


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def make_template(scale, seed):
    psql(["-c", "DROP DATABASE IF EXISTS %s" % TEMPLATE_DB, "-c", "CREATE DATABASE %s" % TEMPLATE_DB])
    psql(["-c", "CREATE EXTENSION crm_analytics"], db=TEMPLATE_DB)
    psql(["-v", "scale=%d" % scale, "-v", "seed=%d" % seed,
          "-f", os.path.join(REPO_ROOT, "scripts", "sample_data.sql")], db=TEMPLATE_DB, timeout=1800)


def drop_database(db):
    psql(["-c", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % quote_ident(db)], check=False)


def run_block(block, db, workdir, verbose):
    """Returns (ok, message)."""
    path = os.path.join(workdir, "block.sql")
    with open(path, "w", encoding="utf-8") as f:
        f.write(block.sql)
    env = dict(os.environ, PGDATABASE=db)
    try:
        p = subprocess.run([PSQL, "-X", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose",
                            "-P", "pager=off", "-f", path],
                           env=env, capture_output=True, text=True, timeout=BLOCK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return False, "%s: did not finish within %d s" % (block.where(), BLOCK_TIMEOUT_S)
    if verbose:
        sys.stdout.write(p.stdout)
    error = None
    for line in p.stderr.splitlines():
        m = ERROR_RE.match(line)
        if m:
            error = (int(m.group(1)), m.group(2), m.group(3))
            break
    if block.expect_error:
        if error is None:
            return False, "%s: expected an error %s, the block ran without one" % (block.where(), block.expect_error)
        if error[1] != block.expect_error:
            return False, "%s: expected SQLSTATE %s, got %s: %s" % (
                block.where(error[0]), block.expect_error, error[1], error[2])
        return True, "%s: failed as documented with %s" % (block.where(error[0]), error[1])
    if p.returncode == 0 and error is None:
        return True, ""
    if error:
        return False, "%s: ERROR %s: %s" % (block.where(error[0]), error[1], error[2])
    return False, "%s: psql exited with %d: %s" % (block.where(), p.returncode, p.stderr.strip()[-500:])


def page_db_name(rel):
    return "crm_doc_" + re.sub(r"[^a-z0-9]+", "_", rel.lower().rsplit(".", 1)[0]).strip("_")


def run_page(rel, blocks, workdir, keep, verbose):
    db = page_db_name(rel)
    drop_database(db)
    psql(["-c", "CREATE DATABASE %s TEMPLATE %s" % (db, TEMPLATE_DB)])
    roles_before = set(list_roles())
    created_roles = []
    counts = {"passed": 0, "skipped": 0, "failed": 0, "signatures": 0}
    failures = []
    try:
        for block in blocks:
            if block.signature:
                counts["signatures"] += 1
                continue
            if block.skip:
                print("  %s skipped (%s)" % (block.where(), block.skip))
                counts["skipped"] += 1
                continue
            for role in block.roles:
                if role not in created_roles:
                    exists = psql(["-At", "-c", "SELECT 1 FROM pg_roles WHERE rolname = '%s'" % role]).stdout.strip()
                    if exists:
                        raise SetupError("%s: role %s already exists in this cluster; the harness creates "
                                         "(and drops) the roles the pages need" % (block.where(), role))
                    psql(["-c", "CREATE ROLE %s NOLOGIN" % quote_ident(role)])
                    created_roles.append(role)
            ok, message = run_block(block, db, workdir, verbose)
            if ok:
                counts["passed"] += 1
                if verbose and message:
                    print("  " + message)
            else:
                counts["failed"] += 1
                failures.append(message)
                print("  FAILED " + message)
    finally:
        if not keep:
            # Roles are cluster-wide: drop those the page made (its examples or its markers).
            new_roles = [r for r in list_roles() if r not in roles_before]
            for role in new_roles:
                psql(["-c", "DROP OWNED BY %s" % quote_ident(role)], db=db, check=False)
            drop_database(db)
            for role in new_roles:
                psql(["-c", "DROP ROLE IF EXISTS %s" % quote_ident(role)], check=False)
    return counts, failures


def list_roles():
    return psql(["-At", "-c", "SELECT rolname FROM pg_roles"]).stdout.split()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--page", action="append", help="only this page (repeatable), e.g. docs/rfm.md")
    ap.add_argument("--scale", type=int, default=1, help="sample data scale (default 1, as the showcase)")
    ap.add_argument("--seed", type=int, default=42, help="sample data seed (default 42, as the showcase)")
    ap.add_argument("--keep", action="store_true", help="keep the template and page databases")
    ap.add_argument("--reuse-template", action="store_true",
                    help="use (and keep) an existing crm_doc_template instead of loading the sample data")
    ap.add_argument("-v", "--verbose", action="store_true", help="print each block's output")
    args = ap.parse_args()

    pages = ["README.md"] + sorted(os.path.join("docs", f) for f in os.listdir(os.path.join(REPO_ROOT, "docs"))
                                   if f.endswith(".md"))
    if args.page:
        wanted = [os.path.normpath(p) for p in args.page]
        unknown = [p for p in wanted if p not in pages]
        if unknown:
            print("unknown page: %s (pages: %s)" % (", ".join(unknown), ", ".join(pages)), file=sys.stderr)
            return 2
        pages = [p for p in pages if p in wanted]

    try:
        blocks = {rel: extract_blocks(os.path.join(REPO_ROOT, rel), rel) for rel in pages}
        if not args.reuse_template:
            print("loading the sample data (scale %d, seed %d) into %s" % (args.scale, args.seed, TEMPLATE_DB))
            make_template(args.scale, args.seed)
    except (SetupError, OSError, subprocess.TimeoutExpired) as e:
        print("set-up error: %s" % e, file=sys.stderr)
        return 2

    totals = {"passed": 0, "skipped": 0, "failed": 0, "signatures": 0}
    all_failures = []
    workdir = tempfile.mkdtemp(prefix="crm_doc_")
    try:
        for rel in pages:
            if not blocks[rel]:
                continue
            counts, failures = run_page(rel, blocks[rel], workdir, args.keep, args.verbose)
            print("%s: %d passed, %d skipped, %d failed (%d signatures not run)"
                  % (rel, counts["passed"], counts["skipped"], counts["failed"], counts["signatures"]))
            for k in totals:
                totals[k] += counts[k]
            all_failures += failures
    except SetupError as e:
        print("set-up error: %s" % e, file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not args.keep and not args.reuse_template:
            drop_database(TEMPLATE_DB)

    print("doc examples: %d run, %d passed, %d failed, %d skipped by marker (%d signature blocks not run)"
          % (totals["passed"] + totals["failed"], totals["passed"], totals["failed"], totals["skipped"],
             totals["signatures"]))
    for f in all_failures:
        print("  " + f)
    return 1 if totals["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
