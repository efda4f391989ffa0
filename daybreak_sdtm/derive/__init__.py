"""Derivations a mapping spec can name; importing this package fills the registry."""

from __future__ import annotations

from daybreak_sdtm.derive import assign, dates, findings, keys, numbers, subject  # noqa: F401  (registration)
from daybreak_sdtm.derive.registry import (
    DERIVATIONS,
    Context,
    DerivationDef,
    Kind,
    Param,
    RowProblems,
    VarRef,
    derivation,
)

__all__ = ["DERIVATIONS", "Context", "DerivationDef", "Kind", "Param", "RowProblems", "VarRef", "derivation"]
