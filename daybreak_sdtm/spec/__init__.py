"""Mapping specs: a study file plus one YAML file per domain, loaded with their positions."""

from __future__ import annotations

from daybreak_sdtm.spec.check import check_study_spec
from daybreak_sdtm.spec.load import load_study
from daybreak_sdtm.spec.model import (
    ArmSpec,
    DomainSpec,
    EpochSpec,
    ExcludeSpec,
    JoinSpec,
    SourceSpec,
    StudySpec,
    SuppSpec,
    VariableSpec,
    VariantSpec,
)

__all__ = [
    "ArmSpec",
    "DomainSpec",
    "EpochSpec",
    "ExcludeSpec",
    "JoinSpec",
    "SourceSpec",
    "StudySpec",
    "SuppSpec",
    "VariableSpec",
    "VariantSpec",
    "check_study_spec",
    "load_study",
]
