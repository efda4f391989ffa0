"""The SDTMIG version differences the checks report as notes: the table agrees with the bundled 3.4
metadata, class-wide rows reach every dataset of the class, and define.xml declares the version."""

from __future__ import annotations

from pathlib import Path

import pytest

from daybreak_sdtm.checks.versions import ADDED, DIFFERENCES, LABEL, REMOVED, declared_in_define, difference, is_older
from daybreak_sdtm.resources import specs_dir
from daybreak_sdtm.standards import Standards, read_standards


@pytest.fixture(scope="module")
def std() -> Standards:
    return read_standards(specs_dir(), "3.4", "2025-03-28")


@pytest.mark.parametrize("item", DIFFERENCES, ids=lambda d: f"{d.dataset}.{d.variable}.{d.kind}")
def test_every_difference_is_one_of_sdtmig_3_4(item, std: Standards) -> None:  # type: ignore[no-untyped-def]
    # What 3.4 added or relabelled is in its metadata (its table, or its class for --variables),
    # with another label than the older version's; what it dropped is not in the domain's table.
    assert set(item.versions) <= {"3.2", "3.3"} and item.why
    if item.dataset in std.datasets:
        names = {v.name: v for v in std.domain_variables(item.dataset)}
        if item.kind == REMOVED:
            assert item.variable not in names
        else:
            assert item.variable in names
        if item.kind == LABEL:
            assert names[item.variable].label != item.detail
    else:
        assert item.kind == ADDED and item.variable in {cv.name for cv in std.class_variables[item.dataset]}


def test_class_rows_reach_every_dataset_of_the_class() -> None:
    assert difference("3.2", "3.4", "LBCH", "LB", "FINDINGS", "LBLOBXFL", ADDED) is not None
    assert difference("3.2", "3.4", "FA", "FA", "FINDINGS ABOUT", "FALOBXFL", ADDED) is not None
    assert difference("3.2", "3.4", "AE", "AE", "EVENTS", "AELOBXFL", ADDED) is None
    assert difference("3.3", "3.4", "DM", "DM", "SPECIAL PURPOSE", "ARMNRS", ADDED) is None  # 3.3 has it
    assert difference("3.4", "3.4", "SV", "SV", "SPECIAL PURPOSE", "EPOCH", REMOVED) is None
    assert difference("", "3.4", "SV", "SV", "SPECIAL PURPOSE", "EPOCH", REMOVED) is None


def test_older_versions() -> None:
    assert is_older("3.2", "3.4") and is_older("3.1.2", "3.4")
    assert not is_older("3.4", "3.4") and not is_older("3.5", "3.4") and not is_older("", "3.4")


def _define(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "define.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" '
        'xmlns:def="http://www.cdisc.org/ns/def/v2.1"><Study OID="S">' + body + "</Study></ODM>",
        encoding="utf-8",
    )
    return path


def test_declared_in_define(tmp_path: Path) -> None:
    standards = (
        '<MetaDataVersion OID="M" Name="M"><def:Standards>'
        '<def:Standard OID="STD.CT" Name="CDISC/NCI" Type="CT" Version="2025-03-28" PublishingSet="SDTM"/>'
        '<def:Standard OID="STD.IG" Name="SDTMIG" Type="IG" Version="3.3"/></def:Standards></MetaDataVersion>'
    )
    assert declared_in_define(_define(tmp_path, standards)) == "3.3"
    attributes = '<MetaDataVersion OID="M" Name="M" def:StandardName="CDISC SDTM" def:StandardVersion="3.2"/>'
    assert declared_in_define(_define(tmp_path, attributes)) == "3.2"
    assert declared_in_define(_define(tmp_path, '<MetaDataVersion OID="M" Name="M"/>')) == ""
    (tmp_path / "broken.xml").write_text("<ODM", encoding="utf-8")
    assert declared_in_define(tmp_path / "broken.xml") == ""
