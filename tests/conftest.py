"""Settings for the whole suite: a user store of its own per test session, no hypothesis deadline."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest
from hypothesis import HealthCheck, settings

# Property tests assert behaviour, not speed: on a loaded 2-core machine an example can take far
# longer than hypothesis's 200 ms default deadline, which would fail a correct test. Speed is
# measured by benchmarks/run.py.
settings.register_profile("daybreak", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("daybreak")

_STORE: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Point DAYBREAK_SDTM_HOME at a fresh folder before any test (or test module) reads standards."""
    global _STORE
    _STORE = tempfile.mkdtemp(prefix="daybreak-sdtm-home-")
    os.environ["DAYBREAK_SDTM_HOME"] = _STORE


def pytest_unconfigure(config: pytest.Config) -> None:
    if _STORE is not None:
        shutil.rmtree(_STORE, ignore_errors=True)
