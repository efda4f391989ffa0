"""Synthetic raw EDC export for the Daybreak-01 trial (for demos and tests)."""

from __future__ import annotations

from daybreak_sdtm.sample.generator import CUTOFF, FORMS, generate_export

__all__ = ["CUTOFF", "FORMS", "generate_export"]
