#!/usr/bin/env python3
"""Benchmark harness: runs each benchmark's variants against the same database
in one process run, interleaved, and prints our time, each baseline's time and
the ratio (ours / baseline: below 1.0 means we are faster).

A benchmark is a SQL file in bench/ with blocks introduced by comment lines:
    -- @setup            statements run once before timing (optional)
    -- @ours <label>     the extension's way
    -- @baseline <label> the way a user would write it without the extension
Each timed block must be one statement. Times are the median of --repeat runs,
measured by psql's \\timing (server round trip, no connection set-up).

A file may declare cases, each a set of psql variables that its blocks use as
:name or :'name'; setup and every timed block then run once per case:
    -- @case <label>
    -- :name = value
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

PSQL = os.environ.get("PSQL", "/usr/lib/postgresql/15/bin/psql")


def parse(path):
    blocks, cases, current, case = [], [], None, None
    for line in open(path):
        m = re.match(r"--\s*@(setup|ours|baseline|python|case)\b\s*(.*)", line)
        v = re.match(r"--\s*:(\w+)\s*=\s*(.*?)\s*$", line)
        if m and m.group(1) == "case":
            case = {"label": m.group(2).strip(), "vars": {}}
            cases.append(case)
            current = None
        elif v and case is not None and current is None:
            case["vars"][v.group(1)] = v.group(2)
        elif m:
            current = {"kind": m.group(1), "label": m.group(2).strip() or m.group(1), "sql": ""}
            blocks.append(current)
        elif current is not None:
            current["sql"] += line
    return blocks, cases or [{"label": None, "vars": {}}]


def psql_vars(variables):
    args = []
    for k, v in variables.items():
        args += ["-v", f"{k}={v}"]
    return args


def run_sql(sql, settings=(), variables=None):
    script = "".join(f"SET {s};\n" for s in settings) + "\\timing on\n" + sql.strip() + "\n"
    out = subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-At"] + psql_vars(variables or {}),
                         input=script, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    times = [float(t) for t in re.findall(r"^Time: ([0-9.]+) ms", out.stdout, re.M)]
    return times[-1] if times else None


def run_python(code):
    env = dict(os.environ)
    out = subprocess.run([os.environ.get("CRM_PYTHON", "/usr/bin/python3"), "-c", code], capture_output=True,
                         text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip()[-2000:])
    m = re.search(r"^TIME_MS ([0-9.]+)", out.stdout, re.M)
    return float(m.group(1)) if m else None


def run_case(name, blocks, variables, repeat):
    rows = []
    try:
        for b in blocks:
            if b["kind"] == "setup":
                print(f"[{name}] setup", file=sys.stderr)
                subprocess.run([PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1"] + psql_vars(variables), input=b["sql"],
                               text=True, check=True)
    except subprocess.CalledProcessError:
        print(f"[{name}] setup failed (missing data?): skipped", file=sys.stderr)
        return [(name, "skipped", "setup failed", float("nan"), "")]
    timed = [b for b in blocks if b["kind"] != "setup"]
    samples = {b["label"]: [] for b in timed}
    for r in range(repeat):
        for b in timed:  # interleaved, so drift hits every variant alike
            t = run_python(b["sql"]) if b["kind"] == "python" else run_sql(b["sql"], variables=variables)
            samples[b["label"]].append(t)
            print(f"[{name}] run {r + 1} {b['label']}: {t:.1f} ms", file=sys.stderr)
    ours = [b for b in timed if b["kind"] == "ours"]
    ours_ms = statistics.median(samples[ours[0]["label"]]) if ours else None
    for b in timed:
        ms = statistics.median(samples[b["label"]])
        ratio = "" if b["kind"] == "ours" or not ours_ms else f"{ours_ms / ms:.2f}"
        rows.append((name, b["kind"], b["label"], ms, ratio))
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = []
    for path in args.files:
        blocks, cases = parse(path)
        for case in cases:
            base = os.path.splitext(os.path.basename(path))[0]
            name = base if case["label"] is None else f"{base}[{case['label']}]"
            rows += run_case(name, blocks, case["vars"], args.repeat)
    print()
    print(f"| benchmark | variant | what | median ms | ours / this |")
    print(f"|---|---|---|---:|---:|")
    for name, kind, label, ms, ratio in rows:
        print(f"| {name} | {kind} | {label} | {ms:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
