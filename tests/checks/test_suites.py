"""The great-expectations adapter: its worker process gives what this process gives, and fails loudly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from daybreak_sdtm import gx
from daybreak_sdtm.checks import CHECKS, CheckContext, validate_package
from daybreak_sdtm.checks.package import package_of
from daybreak_sdtm.checks.registry import CheckDef
from daybreak_sdtm.findings import Severity
from daybreak_sdtm.gx import _worker
from daybreak_sdtm.resources import specs_dir
from daybreak_sdtm.standards import read_standards

needs_two_cpus = pytest.mark.skipif(_worker._cpus() < 2, reason="the worker is used only with two or more CPUs")


@pytest.fixture(scope="module")
def ctx() -> CheckContext:
    return CheckContext(read_standards(specs_dir(), "3.4", "2025-03-28"))


def defective():
    """A package whose expectations fail in every way: rows, missing columns, duplicates, lengths."""
    return package_of(
        {
            "DM": pd.DataFrame(
                {
                    "STUDYID": ["S", "S", "S"],
                    "DOMAIN": ["DM", "DM", "DM"],
                    "USUBJID": ["A", "A", ""],
                    "SEX": ["X", "F", "M"],
                    "AGE": [150.0, 40.0, -1.0],
                    "RFSTDTC": ["2026-13-01", "2026-01-02", ""],
                }
            ),
            "SUPPDM": pd.DataFrame(
                {
                    "STUDYID": ["S"],
                    "RDOMAIN": ["DM"],
                    "USUBJID": ["A"],
                    "IDVAR": [""],
                    "IDVARVAL": [""],
                    "QNAM": ["WAYTOOLONGNAME"],
                    "QLABEL": ["x"],
                    "QVAL": ["1"],
                    "QORIG": ["CRF"],
                }
            ),
        }
    )


def running_in(pending: gx.Pending) -> str:
    """Where ``pending``'s suites were handed: the worker process or this one."""
    return "worker" if isinstance(pending._suites, _worker.WorkerSuites) else "here"


def broken_check() -> CheckDef:
    """An expectation check of ours that gx cannot run: its column does not exist (a bug of ours)."""

    def build(ds: object, ctx: CheckContext) -> list[gx.Expect]:
        return [
            gx.Expect(
                "DB201",
                Severity.ERROR,
                "NOPE",
                "ExpectColumnValuesToBeInSet",
                {"column": "NOPE", "value_set": ["A"]},
                "x",
            )
        ]

    return CheckDef("DB201", "test.broken", Severity.ERROR, ("test",), build, kind="expectation", doc="Broken.")


@needs_two_cpus
def test_worker_reports_what_this_process_reports(ctx: CheckContext) -> None:
    gx.shutdown()
    assert running_in(gx.start(defective(), ctx, [])) == "here"
    inline = validate_package(defective(), ctx)
    assert gx.warm()
    assert running_in(gx.start(defective(), ctx, [])) == "worker"
    worker = validate_package(defective(), ctx)
    assert worker.findings == inline.findings
    rules = {f.rule for f in inline.findings}
    assert {"DB101", "DB102", "DB105", "DB106", "DB201", "DB301", "DB401"} <= rules  # all gx-run


def test_expectation_findings_have_the_shape_of_our_own(ctx: CheckContext) -> None:
    """A record-level expectation's finding names its row, subject and value as our own checks' do."""
    found = {(f.rule, f.dataset, f.variable, f.row): f for f in validate_package(defective(), ctx).findings}
    sex = found["DB201", "DM", "SEX", 1]
    assert sex.severity is Severity.ERROR and sex.usubjid == "A" and "X" in sex.message
    age = found["DB106", "DM", "AGE", 1]
    assert "150" in age.message


def test_a_failing_suite_raises_with_the_dataset_and_the_check_here(ctx: CheckContext) -> None:
    gx.shutdown()
    pending = gx.start(package_of({"DM": pd.DataFrame({"SEX": ["M"]})}), ctx, [broken_check()])
    with pytest.raises(RuntimeError, match="DM: DB201 ExpectColumnValuesToBeInSet on NOPE"):
        pending.findings()


@needs_two_cpus
def test_a_failing_suite_raises_with_the_dataset_and_the_worker_goes_on(ctx: CheckContext) -> None:
    assert gx.warm()
    pending = gx.start(package_of({"DM": pd.DataFrame({"SEX": ["M"]})}), ctx, [broken_check()])
    assert running_in(pending) == "worker"
    with pytest.raises(gx.WorkerError, match="DM: DB201 ExpectColumnValuesToBeInSet on NOPE"):
        pending.findings()
    # The same worker serves the next validation.
    assert validate_package(defective(), ctx).findings


@needs_two_cpus
def test_a_worker_killed_mid_validation_is_an_error_and_the_next_validation_starts_another(
    ctx: CheckContext,
) -> None:
    assert gx.warm()
    worker = _worker._shared
    assert worker is not None
    pending = gx.start(defective(), ctx, [c for c in CHECKS.values() if c.kind == "expectation"])
    assert running_in(pending) == "worker" and pending.count
    os.kill(worker.process.pid, signal.SIGKILL)
    worker.process.wait(timeout=10)
    with pytest.raises(gx.WorkerError, match="ended unexpectedly"):
        pending.findings()
    assert gx.warm() and _worker._shared is not worker
    assert validate_package(defective(), ctx).findings


def test_without_warm_the_suites_run_here(ctx: CheckContext) -> None:
    gx.shutdown()
    pending = gx.start(defective(), ctx, [c for c in CHECKS.values() if c.kind == "expectation"])
    assert running_in(pending) == "here" and pending.count
    assert {f.rule for f in pending.findings()} >= {"DB201", "DB301"}


def test_convert_with_its_worker_uses_no_network_and_prints_no_noise(tmp_path: Path) -> None:
    """Both processes of `convert` start with sockets refused (sitecustomize); stderr stays empty."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import socket\n"
        "def refuse(*a, **k):\n    raise RuntimeError('network access attempted')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *filter(None, [os.environ.get("PYTHONPATH")])])}
    out = tmp_path / "sdtm"
    done = subprocess.run(
        [sys.executable, "-m", "daybreak_sdtm", "convert", "--out", str(out), "--timestamp", "2026-01-01T00:00:00"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "validation: 0 error(s)" in done.stdout and (out / "dm.xpt").is_file()


@needs_two_cpus
def test_a_worker_without_great_expectations_reports_why(
    ctx: CheckContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gx failing to import in the worker is an error naming the import, not a hang or a silent pass."""
    fake = tmp_path / "fake" / "great_expectations"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('great_expectations is broken here')\n", encoding="utf-8")
    monkeypatch.setenv("PYTHONPATH", str(fake.parent))
    gx.shutdown()
    try:
        assert gx.warm()
        with pytest.raises(gx.WorkerError, match="great_expectations is broken here"):
            validate_package(defective(), ctx)
    finally:
        gx.shutdown()  # the next validation starts a worker with the real gx


def test_this_process_without_great_expectations_reports_why(
    ctx: CheckContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gx failing to import in this process is the validation's error, raised where the worker's is."""
    from daybreak_sdtm.gx import _suite

    def broken() -> None:
        raise ImportError("great_expectations is broken here")

    gx.shutdown()
    monkeypatch.setattr(_suite, "_import_gx", broken)
    pending = gx.start(defective(), ctx, [c for c in CHECKS.values() if c.kind == "expectation"])
    with pytest.raises(ImportError, match="great_expectations is broken here"):
        pending.findings()
