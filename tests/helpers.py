"""Small builders for unit tests: a study spec and a derivation context over inline tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from daybreak_sdtm.build import DomainContext
from daybreak_sdtm.errors import Location
from daybreak_sdtm.spec.model import ArmSpec, EpochSpec, EpochStart, StudySpec

HERE = Location("study.yaml", 1, 1)


def make_study(**overrides: Any) -> StudySpec:
    """A minimal study spec; override any field."""
    fields: dict[str, Any] = dict(
        folder=Path("."),
        file=Path("study.yaml"),
        studyid="S1",
        title="",
        protocol="",
        sdtmig="3.4",
        ct="test",
        subject_column="SUBJECT",
        cutoff="",
        arms=(ArmSpec("A", "Arm A", "", HERE),),
        epochs=(),
        forms_not_mapped={},
        domains=(),
    )
    fields.update(overrides)
    return StudySpec(**fields)


def epoch(name: str, variable: str, how: str = "value", **filters: Any) -> EpochSpec:
    """An epoch starting at a DOMAIN.VARIABLE date."""
    return EpochSpec(name, EpochStart(variable, how, {k: tuple(v) for k, v in filters.items()}, HERE), HERE)


def make_ctx(
    domain: str,
    raw: dict[str, list[Any]] | None = None,
    sdtm: dict[str, list[Any]] | None = None,
    others: dict[str, dict[str, list[Any]]] | None = None,
    study: StudySpec | None = None,
    keys: tuple[str, ...] = ("STUDYID", "USUBJID"),
) -> DomainContext:
    """A context for ``domain`` with inline raw rows, built variables and other domains' frames."""
    raw_frame = pd.DataFrame(raw or {})
    sdtm_frame = pd.DataFrame(sdtm or {}, index=raw_frame.index if raw else None)
    if raw is None:
        raw_frame = pd.DataFrame(index=sdtm_frame.index)
    frames = {domain: sdtm_frame}
    for name, cols in (others or {}).items():
        frames[name] = pd.DataFrame(cols)
    return DomainContext(domain, raw_frame, frames, study or make_study(), None, keys)  # type: ignore[arg-type]


def edited_study(tmp_path: Path, spec: str, old: str, new: str) -> tuple[Path, Path]:
    """A copy of the bundled study with ``old`` replaced by ``new`` in one spec file: (study folder, that file)."""
    import shutil

    from daybreak_sdtm.resources import default_study_dir

    study = tmp_path / "study"
    shutil.copytree(default_study_dir(), study)
    path = study / spec
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {spec}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return study, path


SARIF_SCHEMA = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"  # OASIS SARIF 2.1.0 (errata 01)


def sarif_log(text: str) -> dict[str, Any]:
    """A SARIF log read back and validated against the vendored OASIS schema; its artifact URIs are
    relative references under %SRCROOT% or absolute file URIs."""
    import jsonschema

    log = json.loads(text)
    jsonschema.Draft4Validator(json.loads(SARIF_SCHEMA.read_text(encoding="utf-8"))).validate(log)
    for result in log["runs"][0]["results"]:
        for location in result.get("locations", []) + result.get("relatedLocations", []):
            artifact = location.get("physicalLocation", {}).get("artifactLocation")
            if artifact is not None:
                parts = urlsplit(artifact["uri"])
                assert (parts.scheme, artifact.get("uriBaseId")) in {("", "%SRCROOT%"), ("file", None)}, artifact
    return log


def frame_of_records(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Records as a dataset's frame: a column of numbers only (nulls aside) is Num, any other Char ("" for null)."""
    frame = pd.DataFrame(rows)
    for col in frame.columns:
        values = [v for v in frame[col] if v is not None and v == v]
        if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            frame[col] = pd.to_numeric(frame[col])
        else:
            frame[col] = frame[col].map(lambda v: "" if v is None or v != v else str(v)).astype(object)
    return frame
