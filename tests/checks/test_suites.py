"""Where the great-expectations suites run: the worker process gives what this process gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from daybreak_sdtm import suites
from daybreak_sdtm.checks import CheckContext, validate_package
from daybreak_sdtm.checks.expect import Expect
from daybreak_sdtm.checks.package import package_of
from daybreak_sdtm.findings import Severity
from daybreak_sdtm.resources import specs_dir
from daybreak_sdtm.standards import read_standards

needs_two_cpus = pytest.mark.skipif(suites._cpus() < 2, reason="the worker is used only with two or more CPUs")


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


@needs_two_cpus
def test_worker_reports_what_this_process_reports(ctx: CheckContext) -> None:
    inline = validate_package(defective(), ctx, suites=suites.InlineSuites())
    assert suites.warm()
    runner = suites.suite_runner()
    assert isinstance(runner, suites.WorkerSuites)
    worker = validate_package(defective(), ctx, suites=runner)
    assert worker.findings == inline.findings
    rules = {f.rule for f in inline.findings}
    assert {"DB101", "DB102", "DB105", "DB106", "DB201", "DB301", "DB401"} <= rules  # all gx-run


@needs_two_cpus
def test_a_failing_suite_raises_with_the_dataset_and_the_worker_goes_on(ctx: CheckContext) -> None:
    suites.warm()
    broken = [
        Expect(
            "DB201", Severity.ERROR, "NOPE", "ExpectColumnValuesToBeInSet", {"column": "NOPE", "value_set": ["A"]}, "x"
        )
    ]
    runner = suites.suite_runner()
    runner.submit("DM", pd.DataFrame({"SEX": ["M"]}), broken)
    with pytest.raises(suites.WorkerError, match="DM: DB201 ExpectColumnValuesToBeInSet on NOPE"):
        runner.collect()
    # The same worker serves the next validation.
    assert validate_package(defective(), ctx, suites=suites.suite_runner()).findings


@needs_two_cpus
def test_a_dead_worker_is_an_error_and_the_next_validation_starts_another(ctx: CheckContext) -> None:
    suites.warm()
    worker = suites._shared
    assert worker is not None
    os.kill(worker.process.pid, signal.SIGKILL)
    worker.process.wait(timeout=10)
    runner = suites.WorkerSuites(worker)
    with pytest.raises(suites.WorkerError, match="ended unexpectedly"):
        runner.submit("DM", pd.DataFrame({"SEX": ["M"]}), [])
        runner.collect()
    assert suites.warm() and suites._shared is not worker
    assert validate_package(defective(), ctx, suites=suites.suite_runner()).findings


def test_without_warm_the_suites_run_here(ctx: CheckContext) -> None:
    suites.shutdown()
    assert isinstance(suites.suite_runner(), suites.InlineSuites)


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
    suites.shutdown()
    try:
        assert suites.warm()
        with pytest.raises(suites.WorkerError, match="great_expectations is broken here"):
            validate_package(defective(), ctx, suites=suites.suite_runner())
    finally:
        suites.shutdown()  # the next validation starts a worker with the real gx
