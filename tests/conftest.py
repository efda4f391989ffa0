"""Every test session gets a user store of its own (imported CT releases, compiled standards)."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_STORE: str | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Point DAYBREAK_SDTM_HOME at a fresh folder before any test (or test module) reads standards."""
    global _STORE
    _STORE = tempfile.mkdtemp(prefix="daybreak-sdtm-home-")
    os.environ["DAYBREAK_SDTM_HOME"] = _STORE


def pytest_unconfigure(config: pytest.Config) -> None:
    if _STORE is not None:
        shutil.rmtree(_STORE, ignore_errors=True)
