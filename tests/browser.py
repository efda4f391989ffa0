"""Debian's headless Chromium for the tests that look at a page as a browser shows it.

A missing browser skips those tests locally and fails them under CI=true (``.ci/run`` installs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_path() -> str:
    """The chromium executable; skips the test locally, fails it in CI, when there is none."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        reason = "chromium is not installed (apt-get install -y chromium); the browser tests need it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def run_chromium(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """Run headless Chromium with a throwaway profile; fails on a non-zero exit."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [chromium_path(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )


def dump_dom(page: Path) -> str:
    """The DOM of a page after Chromium loaded and ran it."""
    return run_chromium("--dump-dom", page.as_uri()).stdout
