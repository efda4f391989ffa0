"""Benchmark harness: convert the Daybreak-01 sample export at several sizes and compare with the I/O floor.

Usage::

    python benchmarks/run.py [--sizes 32,1000,10000,100000] [--json out.json] [--cache benchmarks/out]

For each size it generates (once, cached under ``--cache``) a sample export with
``daybreak-sdtm sample-export``, then runs, each in a fresh process so that process start,
imports and peak RSS are those of a real run:

* ``convert``: the full command, with the library's stage timings (``daybreak_sdtm.timing``)
  collected in the child: read, map, validate, write XPT, define, and the rest;
* the floor: reading the same raw CSVs with pandas (``dtype=str``) plus writing the package's
  output tables with ``pyreadstat.write_xport`` (text given as ``str`` objects, its fastest
  input), i.e. the I/O no conversion can avoid.

It also times references on the same machine in the same run (a fresh process importing
great-expectations; reading the CDISC pilot package's XPT files), the light commands, loading the
standards, and validating the CDISC pilot package (``../shared/reference/cdiscpilot01``, when
present). It prints one table (one column per size) and checks the README's targets, in seconds
and as ratios to those references; ``--json`` writes the same numbers as JSON. It is a tool, not a test: nothing in the test suite is timed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TIMESTAMP = "2026-01-01T00:00:00"
# Stage names the library reports (daybreak_sdtm.timing) grouped into the table's columns.
STAGES = {
    "read": ("read",),
    "map": ("load", "map"),
    "validate": ("validate",),
    "write XPT": ("xpt_check", "write_xpt"),
    "define": ("define",),
}

# The child processes: small scripts run with ``python -c`` so that each starts cold.
CONVERT_CHILD = """
import json, sys
from daybreak_sdtm.timing import collect
from daybreak_sdtm.cli import main
with collect() as timings:
    status = main(sys.argv[2:])
json.dump({"status": status, "timings": timings}, open(sys.argv[1], "w"))
"""

FLOOR_CHILD = """
import json, sys, time
from pathlib import Path
import pandas as pd
import pyreadstat
export, package, scratch, out = (Path(a) for a in sys.argv[1:5])
tables = {p.stem: pyreadstat.read_xport(str(p))[0] for p in sorted(package.glob("*.xpt"))}
# Text as Python str objects: pyreadstat's fastest input (about 3x faster than Arrow-backed str),
# so the floor is the best pyreadstat can do, not what a given dtype happens to cost.
tables = {name: frame.astype({c: object for c in frame.columns if frame[c].dtype != "float64"})
          for name, frame in tables.items()}
start = time.perf_counter()
for path in sorted(export.glob("*.csv")):
    pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
read = time.perf_counter() - start
start = time.perf_counter()
for name, frame in tables.items():
    pyreadstat.write_xport(frame, str(scratch / f"{name}.xpt"), table_name=name.upper(), file_format_version=5)
write = time.perf_counter() - start
json.dump({"read": read, "write": write}, open(out, "w"))
"""


def tree_rss(root: int) -> int:
    """Resident memory of a process and all its descendants now, in bytes (Linux /proc).

    Descendants are found through each process's ``children`` list, not by scanning every
    process of the machine, so sampling costs the measured run next to nothing.
    """
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            for task in os.scandir(f"/proc/{pid}/task"):
                todo.extend(int(c) for c in Path(task.path, "children").read_text().split())
        except OSError:  # ended meanwhile
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
                break
    return total


class TreeMemory(threading.Thread):
    """Samples the summed RSS of a process tree (a command and its worker processes) every 50 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            self.peak = max(self.peak, tree_rss(self.pid))


def run_child(
    argv: list[str], *, env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)
) -> tuple[float, int, int]:
    """Run a process; returns (wall seconds, exit status, peak RSS in bytes).

    The peak is the larger of the process's own peak (wait4; its worker processes counted only
    one at a time) and the sampled peak of the whole process tree's summed RSS, so a command that
    runs work in a second process is charged for both. An exit status outside ``ok`` stops the
    benchmark with the child's error output.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    sampler = TreeMemory(proc.pid)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    sampler.done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{stderr}")
    return wall, proc.returncode, max(usage.ru_maxrss * 1024, sampler.peak)  # ru_maxrss is in KiB on Linux


def cli(*args: str) -> list[str]:
    """The daybreak-sdtm command run by the current interpreter."""
    return [sys.executable, "-m", "daybreak_sdtm", *args]


def ensure_export(cache: Path, subjects: int) -> Path:
    """The sample export of ``subjects`` subjects, generated once."""
    folder = cache / f"export-{subjects}"
    done = folder / ".complete"
    if not done.is_file():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"generating {subjects} subjects -> {folder}", file=sys.stderr)
        run_child(cli("sample-export", str(folder), "--subjects", str(subjects)))
        done.write_text("ok\n")
    return folder


def measure(cache: Path, subjects: int) -> dict[str, Any]:
    """Convert and floor for one size."""
    export = ensure_export(cache, subjects)
    package = cache / f"package-{subjects}"
    timings_file = cache / f"timings-{subjects}.json"
    # --timestamp fixes the creation time; SOURCE_DATE_EPOCH would override it.
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    wall, _status, rss = run_child(
        [
            sys.executable,
            "-c",
            CONVERT_CHILD,
            str(timings_file),
            "convert",
            "--export",
            str(export),
            "--out",
            str(package),
            "--timestamp",
            TIMESTAMP,
            "--fail-on",
            "never",
        ],
        env=env,
    )
    child = json.loads(timings_file.read_text())
    timings: dict[str, float] = child["timings"]
    stages = {col: sum(timings.get(n, 0.0) for n in names) for col, names in STAGES.items()}
    stages["other"] = wall - sum(stages.values())  # process start, imports, provenance, reports, publish

    # Records per dataset as written, from the package's own reconciliation (XPT headers do not hold it).
    recon = json.loads((package / "reconciliation.json").read_text())
    rows: dict[str, int] = {}
    for d in recon["domains"]:  # one entry per domain and source form (stacked sources: DS, RS)
        rows[d["domain"]] = rows.get(d["domain"], 0) + d["records"]
    rows.update({d["dataset"]: d["records"] for d in recon["supplemental"]})
    rows = {name: n for name, n in rows.items() if n}

    scratch = cache / f"floor-{subjects}"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    floor_file = cache / f"floor-{subjects}.json"
    floor_wall, _, floor_rss = run_child(
        [sys.executable, "-c", FLOOR_CHILD, str(export), str(package), str(scratch), str(floor_file)]
    )
    floor = json.loads(floor_file.read_text())
    shutil.rmtree(scratch, ignore_errors=True)
    return {
        "subjects": subjects,
        "rows": rows,
        "stages": stages,
        "library_timings": timings,
        "total": wall,
        "peak_rss": rss,
        "floor": {
            "read": floor["read"],
            "write": floor["write"],
            "total": floor["read"] + floor["write"],
            "process_wall": floor_wall,
            "peak_rss": floor_rss,
        },
    }


STANDARDS_CHILD = """
import json, resource, sys, time
import pandas, pyarrow  # what every command has loaded before the standards: not charged to them
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
from daybreak_sdtm import api
study, standards = api.load()
seconds = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
json.dump({"seconds": seconds, "rss": (after - before) * 1024}, open(sys.argv[1], "w"))
"""

PILOT = ROOT.parent / "shared" / "reference" / "cdiscpilot01"


def references() -> dict[str, float]:
    """Figures every machine can time for itself, for ratios that hold across machines.

    ``gx import``: a fresh process importing great-expectations (the fixed cost a small convert
    hides behind its own work); the least of three runs, as the machine's own speed.
    """
    gx = min(run_child([sys.executable, "-c", "import great_expectations"])[0] for _ in range(3))
    bare = min(run_child([sys.executable, "-c", "pass"])[0] for _ in range(3))
    return {"gx import": gx, "python start": bare}


def standards_load(cache: Path) -> dict[str, float]:
    """Time and memory of loading the bundled study's standards (SDTMIG and the whole CT) in a fresh process."""
    out = cache / "standards.json"
    run_child([sys.executable, "-c", STANDARDS_CHILD, str(out)])
    return json.loads(out.read_text())


def pilot_validation(cache: Path) -> dict[str, float] | None:
    """``validate`` of the CDISC pilot package (31 datasets), and its floor: reading every XPT file."""
    if not PILOT.is_dir():
        return None
    wall, status, rss = run_child(
        cli("validate", str(PILOT), "--format", "json", "-o", str(cache / "pilot.json")), ok=(0, 1, 3)
    )
    floor = run_child(
        [
            sys.executable,
            "-c",
            "import sys, pathlib, pyreadstat\n"
            "for p in sorted(pathlib.Path(sys.argv[1]).glob('*.xpt')): pyreadstat.read_xport(str(p), encoding='cp1252')",
            str(PILOT),
        ]
    )[0]
    return {"wall": wall, "peak_rss": rss, "floor": floor, "status": status}


def startup(cache: Path) -> dict[str, float]:
    """Wall time of the light commands, which must not pay for heavy imports."""
    out = {}
    out["--help"] = run_child(cli("--help"))[0]
    out["lint"] = run_child(cli("lint"))[0]
    folder = cache / "startup-export"
    out["sample-export 32"] = run_child(cli("sample-export", str(folder)))[0]
    shutil.rmtree(folder, ignore_errors=True)
    return out


def gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


def table(results: list[dict[str, Any]]) -> str:
    """One text table: a column per size, a row per measure."""
    domains = sorted({d for r in results for d in r["rows"]}, key=lambda d: (d.removeprefix("SUPP"), d))
    lines: list[tuple[str, list[str]]] = []
    for dom in domains:
        lines.append((f"rows {dom}", [f"{r['rows'].get(dom, 0):,}" for r in results]))
    lines.append(("rows total", [f"{sum(r['rows'].values()):,}" for r in results]))
    for stage in [*STAGES, "other"]:
        lines.append((f"{stage} (s)", [f"{r['stages'][stage]:.2f}" for r in results]))
    lines.append(("total wall (s)", [f"{r['total']:.2f}" for r in results]))
    lines.append(("peak RSS", [gib(r["peak_rss"]) for r in results]))
    lines.append(("floor: read CSV (s)", [f"{r['floor']['read']:.2f}" for r in results]))
    lines.append(("floor: write XPT (s)", [f"{r['floor']['write']:.2f}" for r in results]))
    lines.append(("floor total (s)", [f"{r['floor']['total']:.2f}" for r in results]))
    lines.append(("floor peak RSS", [gib(r["floor"]["peak_rss"]) for r in results]))
    fixed = next((r["total"] for r in results if r["subjects"] == 32), None)
    if fixed is not None:
        lines.append(
            (
                "(total - 32's) / floor",
                [f"{(r['total'] - fixed) / r['floor']['total']:.2f}" if r["subjects"] != 32 else "-" for r in results],
            )
        )
    head = ["subjects", [f"{r['subjects']:,}" for r in results]]
    width = max(len(label) for label, _ in [*lines, head])
    cols = [max(len(head[1][i]), *(len(v[i]) for _, v in lines)) for i in range(len(results))]
    out = [f"{head[0]:<{width}}  " + "  ".join(v.rjust(c) for v, c in zip(head[1], cols, strict=True))]
    out.append("-" * width + "  " + "  ".join("-" * c for c in cols))
    out += [
        f"{label:<{width}}  " + "  ".join(v.rjust(c) for v, c in zip(values, cols, strict=True))
        for label, values in lines
    ]
    return "\n".join(out)


LIGHT_LIMITS = {"--help": 0.3, "lint": 1.0, "sample-export 32": 1.0}


def targets(
    results: list[dict[str, Any]],
    light: dict[str, float],
    refs: dict[str, float],
    standards: dict[str, float],
    pilot: dict[str, float] | None,
) -> list[tuple[str, bool | None, str]]:
    """The README's targets: (what, held, the numbers). Seconds hold on the README's machine, ratios everywhere."""
    by = {r["subjects"]: r for r in results}
    checks: list[tuple[str, bool | None, str]] = []
    if 32 in by:
        total, gx = by[32]["total"], refs["gx import"]
        checks.append(("32 subjects: full convert <= 4 s", total <= 4, f"{total:.2f} s"))
        checks.append(
            (
                "32 subjects: full convert <= 1.6x the gx import",
                total <= 1.6 * gx,
                f"{total:.2f} s vs {gx:.2f} s ({total / gx:.2f}x)",
            )
        )
    for name, wall in light.items():
        limit = LIGHT_LIMITS.get(name, 1.0)
        checks.append((f"{name} <= {limit:g} s", wall <= limit, f"{wall:.2f} s"))
    checks.append(
        (
            "standards load <= 200 MB",
            standards["rss"] <= 200 * 2**20,
            f"{standards['rss'] / 2**20:.0f} MB in {standards['seconds'] * 1000:.0f} ms",
        )
    )
    if pilot is not None:
        checks.append(
            (
                "CDISC pilot validate (31 datasets) <= 15 s",
                pilot["wall"] <= 15 and pilot["status"] != 3,
                "exit 3: the package could not be read"
                if pilot["status"] == 3
                else f"{pilot['wall']:.2f} s, {pilot['wall'] / pilot['floor']:.1f}x reading its XPT files "
                f"({pilot['floor']:.2f} s), {gib(pilot['peak_rss'])}",
            )
        )
    if 32 in by and 10000 in by:
        extra, floor = by[10000]["total"] - by[32]["total"], by[10000]["floor"]["total"]
        checks.append(
            (
                "10,000: convert beyond the 32-subject cost <= 2x floor",
                extra <= 2 * floor,
                f"{extra:.2f} s vs floor {floor:.2f} s ({extra / floor:.2f}x)",
            )
        )
    if 100000 in by:
        rss = by[100000]["peak_rss"]
        checks.append(("100,000: peak RSS < 8 GiB", rss < 8 * 2**30, gib(rss)))
        if 10000 in by:
            ratio = by[100000]["total"] / by[10000]["total"]
            checks.append(("100,000 / 10,000 wall <= 12x", ratio <= 12, f"{ratio:.2f}x"))
    return checks


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; exit 1 when a target does not hold."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="32,1000,10000,100000", help="subject counts, comma-separated")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the results as JSON")
    parser.add_argument(
        "--cache",
        type=Path,
        default=ROOT / "benchmarks" / "out",
        help="folder for exports and packages (default: benchmarks/out)",
    )
    parser.add_argument("--no-pilot", action="store_true", help="skip validating the CDISC pilot package")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "").replace(",", "")) for s in args.sizes.split(",") if s.strip()]
    args.cache.mkdir(parents=True, exist_ok=True)
    cache = args.cache.resolve()

    refs = references()
    light = startup(cache)
    standards = standards_load(cache)
    pilot = pilot_validation(cache) if not args.no_pilot else None
    results = []
    for n in sizes:
        print(f"measuring {n} subjects ...", file=sys.stderr)
        results.append(measure(cache, n))
    print(table(results))
    print()
    for name, seconds in refs.items():
        print(f"reference: {name} {seconds:.2f} s")
    checks = targets(results, light, refs, standards, pilot)
    for what, ok, numbers in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {what}: {numbers}")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "results": results,
                    "light_commands": light,
                    "references": refs,
                    "standards": standards,
                    "pilot": pilot,
                    "targets": [{"target": w, "holds": ok, "measured": n} for w, ok, n in checks],
                    "python": sys.version.split()[0],
                    "cpus": os.cpu_count(),
                },
                indent=2,
            )
            + "\n"
        )
    return 0 if all(ok for _, ok, _ in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
