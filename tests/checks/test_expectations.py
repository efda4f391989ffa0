"""great-expectations as we run it: value-level codelists, silence, and no network."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from daybreak_sdtm.checks import CheckContext, validate_package
from daybreak_sdtm.checks.package import package_of
from daybreak_sdtm.resources import specs_dir
from daybreak_sdtm.standards import read_standards


@pytest.fixture(scope="module")
def ctx() -> CheckContext:
    std = read_standards(specs_dir(), "3.4", "2025-03-28")
    # As the Daybreak-01 spec says: RSSTRESC of NEWLIND uses NY, every other test ONCRSR.
    return CheckContext(
        std, value_codelists={("RS", "RSSTRESC"): (({"RSTESTCD": ("NEWLIND",)}, "C66742"), ({}, "C96785"))}
    )


def rs(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {"USUBJID": ["S1-1"] * len(rows), "RSTESTCD": [r[0] for r in rows], "RSSTRESC": [r[1] for r in rows]}
    )


def test_value_level_codelists_pass(ctx: CheckContext) -> None:
    report = validate_package(package_of({"RS": rs([("NEWLIND", "N"), ("OVRLRESP", "PR")])}), ctx, only=["DB201"])
    assert report.findings == ()


def test_value_level_codelists_fail_per_case(ctx: CheckContext) -> None:
    # N is right for NEWLIND but not for OVRLRESP; PR is right for OVRLRESP but not for NEWLIND (NY, non-extensible).
    report = validate_package(package_of({"RS": rs([("NEWLIND", "PR"), ("OVRLRESP", "N")])}), ctx, only=["DB201"])
    assert [(f.row, f.variable, str(f.severity)) for f in report.findings] == [
        (1, "RSSTRESC", "error"),
        (2, "RSSTRESC", "warning"),
    ]


def test_no_network_and_nothing_printed(tmp_path: Path) -> None:
    """Validation in a fresh process with sockets disabled prints nothing but our own report."""
    script = tmp_path / "run.py"
    script.write_text(
        "import socket\n"
        "def refuse(*a, **k):\n    raise RuntimeError('network access attempted')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\n"
        "import pandas as pd\n"
        "from daybreak_sdtm.checks import CheckContext, validate_package\n"
        "from daybreak_sdtm.checks.package import package_of\n"
        "from daybreak_sdtm.resources import specs_dir\n"
        "from daybreak_sdtm.standards import read_standards\n"
        "std = read_standards(specs_dir(), '3.4', '2025-03-28')\n"
        "r = validate_package(package_of({'DM': pd.DataFrame({'USUBJID': ['A', 'A'], 'SEX': ['X', 'F']})}), CheckContext(std))\n"
        "assert any(f.rule == 'DB301' for f in r.findings)\n",
        encoding="utf-8",
    )
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning:daybreak_sdtm", str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
    assert socket.socket.connect is not None  # this process untouched
