"""Form assembly in build/forms.py: the raw rows a domain is derived from (join, unpivot, exclude), read
from real CSV forms with the raw reader and a domain spec loaded from YAML."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from daybreak_sdtm.build import Exclusion
from daybreak_sdtm.build.forms import assemble_domain
from daybreak_sdtm.errors import RawDataError
from daybreak_sdtm.raw import SRC_FILE, SRC_ROW, read_form
from daybreak_sdtm.spec import DomainSpec
from daybreak_sdtm.spec.load import load_domain

VARIABLES = "variables:\n  USUBJID: derive_usubjid\n"


def _forms(tmp_path: Path, **csv: str) -> dict[str, pd.DataFrame]:
    export = tmp_path / "export"
    export.mkdir()
    for form, text in csv.items():
        (export / f"{form}.csv").write_text(text, encoding="utf-8")
    return {form: read_form(export, form) for form in csv}


def _domain(tmp_path: Path, source: str) -> DomainSpec:
    path = tmp_path / "xx.yaml"
    path.write_text(f"domain: EX\nsource:\n{source}{VARIABLES}", encoding="utf-8")
    return load_domain(path)


def test_join_adds_the_joined_forms_columns_by_subject(tmp_path: Path) -> None:
    forms = _forms(tmp_path, ex="SUBJECT,DOSE\n001,10\n002,20\n001,30\n", dm="SUBJECT,WEIGHT\n002,70\n001,80\n")
    dom = _domain(tmp_path, "  form: ex\n  join:\n    - form: dm\n")
    rows, exclusions, unused = assemble_domain(dom, forms, "SUBJECT")
    assert rows[["SUBJECT", "DOSE", "dm.WEIGHT"]].values.tolist() == [
        ["001", "10", "80"],
        ["002", "20", "70"],
        ["001", "30", "80"],
    ]
    assert rows[SRC_FILE].tolist() == ["ex.csv"] * 3 and rows[SRC_ROW].tolist() == [
        1,
        2,
        3,
    ]  # the source form's records
    assert (exclusions, unused) == ([], {})


def test_a_subject_without_a_joined_record_gets_blanks(tmp_path: Path) -> None:
    forms = _forms(tmp_path, ex="SUBJECT,DOSE\n001,10\n002,20\n", dm="SUBJECT,WEIGHT\n001,80\n")
    rows, _, _ = assemble_domain(_domain(tmp_path, "  form: ex\n  join:\n    - form: dm\n"), forms, "SUBJECT")
    assert rows["dm.WEIGHT"].tolist() == ["80", ""]


@pytest.mark.parametrize(
    ("dm", "problem"),
    [
        (
            "SUBJECT,WEIGHT\n001,80\n001,81\n",
            "dm.csv record 1: subject '001' has 2 records; the EX spec joins one per subject (join on: [COLUMN]",
        ),
        (
            "SUBJECT,WEIGHT\n001,80\n,81\n",
            "dm.csv record 2 column SUBJECT: no subject; the EX spec joins form 'dm' by subject",
        ),
        ("SUBJECT,WEIGHT\n001,80\n003,81\n", "dm.csv record 2 column SUBJECT: subject '003' is not in form 'ex'"),
    ],
)
def test_a_join_that_would_lose_or_repeat_records_is_refused(tmp_path: Path, dm: str, problem: str) -> None:
    forms = _forms(tmp_path, ex="SUBJECT,DOSE\n001,10\n002,20\n", dm=dm)
    with pytest.raises(RawDataError) as exc:
        assemble_domain(_domain(tmp_path, "  form: ex\n  join:\n    - form: dm\n"), forms, "SUBJECT")
    assert str(exc.value).startswith(problem)


UNPIVOT = """\
  form: ex
  unpivot:
    - values: {TRT: TIS}
      columns: {DAT: TIS_DAT, DOSE: TIS_DOSE}
    - values: {TRT: GEM}
      columns: {DAT: GEM_DAT, DOSE: null}
"""


def test_unpivot_makes_one_row_per_variant_in_raw_record_order(tmp_path: Path) -> None:
    forms = _forms(
        tmp_path, ex="SUBJECT,TIS_DAT,TIS_DOSE,GEM_DAT\n001,01-MAR-2026,200,02-MAR-2026\n002,05-MAR-2026,210,\n"
    )
    rows, exclusions, unused = assemble_domain(_domain(tmp_path, UNPIVOT), forms, "SUBJECT")
    assert rows[["SUBJECT", "TRT", "DAT", "DOSE"]].values.tolist() == [
        ["001", "TIS", "01-MAR-2026", "200"],
        ["001", "GEM", "02-MAR-2026", ""],  # no GEM dose column: blank
        ["002", "TIS", "05-MAR-2026", "210"],
        ["002", "GEM", "", ""],
    ]
    assert rows[SRC_ROW].tolist() == [1, 1, 2, 2] and rows["_variant"].tolist() == [0, 1, 0, 1]
    assert (exclusions, unused) == ([], {})


def test_exclusions_are_counted_once_with_their_reason(tmp_path: Path) -> None:
    source = (
        UNPIVOT
        + """\
  exclude:
    - when: {DAT: ""}
      reason: not given
    - when: {TRT: GEM, DOSE: ""}
      reason: no dose
"""
    )
    forms = _forms(
        tmp_path,
        ex="SUBJECT,TIS_DAT,TIS_DOSE,GEM_DAT\n001,01-MAR-2026,200,02-MAR-2026\n002, ,,\n003,06-MAR-2026,220,\n",
    )
    rows, exclusions, unused = assemble_domain(_domain(tmp_path, source), forms, "SUBJECT")
    # 002 has no date at all (a blank after stripping) and 003 no GEM date: three rows go for the
    # first reason; 001's GEM row has a date but no dose (no GEM dose column) and goes for the second.
    assert exclusions == [Exclusion("EX", "ex", "not given", 3), Exclusion("EX", "ex", "no dose", 1)]
    assert rows[["SUBJECT", "TRT"]].values.tolist() == [["001", "TIS"], ["003", "TIS"]]
    assert rows.index.tolist() == [0, 1]
    assert unused == {"ex": 1}  # record 2 (subject 002) gave no row at all


def test_a_join_on_a_key_matches_the_subjects_record_of_that_key(tmp_path: Path) -> None:
    forms = _forms(
        tmp_path,
        ex="SUBJECT,FOLDER,DOSE\n001,C1,10\n001,C2,20\n002,C1,30\n",
        vs="SUBJECT,FOLDER,WEIGHT\n001,C2,81\n001,C1,80\n",
    )
    rows, _, _ = assemble_domain(
        _domain(tmp_path, "  form: ex\n  join:\n    - {form: vs, on: [FOLDER]}\n"), forms, "SUBJECT"
    )
    assert rows[["SUBJECT", "FOLDER", "DOSE", "vs.WEIGHT"]].values.tolist() == [
        ["001", "C1", "10", "80"],
        ["001", "C2", "20", "81"],
        ["002", "C1", "30", ""],
    ]
    assert rows[SRC_ROW].tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    ("vs", "problem"),
    [
        (
            "SUBJECT,FOLDER,WEIGHT\n001,C1,80\n001,C1,81\n",
            "vs.csv record 1: subject '001' (FOLDER 'C1') has 2 records; the EX spec joins one per subject and FOLDER",
        ),
        (
            "SUBJECT,FOLDER,WEIGHT\n001,C3,80\n",
            "vs.csv record 1 column SUBJECT: subject '001' FOLDER 'C3' is not in form 'ex'",
        ),
    ],
)
def test_a_keyed_join_that_would_lose_or_repeat_records_is_refused(tmp_path: Path, vs: str, problem: str) -> None:
    forms = _forms(tmp_path, ex="SUBJECT,FOLDER,DOSE\n001,C1,10\n001,C2,20\n", vs=vs)
    with pytest.raises(RawDataError) as exc:
        assemble_domain(_domain(tmp_path, "  form: ex\n  join:\n    - {form: vs, on: FOLDER}\n"), forms, "SUBJECT")
    assert str(exc.value).startswith(problem)


STACKED = """\
  - form: dm
    unpivot:
      - values: {CAT: CONSENT, REAS: ""}
        columns: {DAT: ICDAT}
  - form: eos
    unpivot:
      - values: {CAT: EOT}
        columns: {DAT: EOTDAT, REAS: EOTREAS}
      - values: {CAT: EOS}
        columns: {DAT: EOSDAT, REAS: EOSREAS}
    exclude:
      - when: {DAT: ""}
        reason: not reached
"""


def test_stacked_sources_keep_each_records_own_form_and_record(tmp_path: Path) -> None:
    forms = _forms(
        tmp_path,
        dm="SUBJECT,ICDAT\n001,01-MAR-2026\n002,02-MAR-2026\n",
        eos="SUBJECT,EOTDAT,EOTREAS,EOSDAT,EOSREAS\n002,01-JUN-2026,Death,01-JUN-2026,Death\n001,05-JUN-2026,Progressive disease,,\n",
    )
    rows, exclusions, unused = assemble_domain(_domain(tmp_path, STACKED), forms, "SUBJECT")
    assert rows[["SUBJECT", "CAT", "DAT", "REAS", SRC_FILE, SRC_ROW, "_variant"]].values.tolist() == [
        ["001", "CONSENT", "01-MAR-2026", "", "dm.csv", 1, 0],
        ["002", "CONSENT", "02-MAR-2026", "", "dm.csv", 2, 0],
        ["002", "EOT", "01-JUN-2026", "Death", "eos.csv", 1, 1],
        ["002", "EOS", "01-JUN-2026", "Death", "eos.csv", 1, 2],
        ["001", "EOT", "05-JUN-2026", "Progressive disease", "eos.csv", 2, 1],
    ]
    assert exclusions == [Exclusion("EX", "eos", "not reached", 1)] and unused == {}
    assert [v.columns.get("DAT") for v in _domain(tmp_path, STACKED).variants] == ["ICDAT", "EOTDAT", "EOSDAT"]


def test_an_unpivoted_column_may_come_from_a_joined_form(tmp_path: Path) -> None:
    source = (
        "  form: dm\n  join:\n    - form: eos\n  unpivot:\n    - values: {CAT: EOT}\n      columns: {DAT: eos.EOTDAT}\n"
    )
    forms = _forms(tmp_path, dm="SUBJECT\n001\n002\n", eos="SUBJECT,EOTDAT\n002,01-JUN-2026\n")
    rows, _, _ = assemble_domain(_domain(tmp_path, source), forms, "SUBJECT")
    assert rows[["SUBJECT", "DAT"]].values.tolist() == [["001", ""], ["002", "01-JUN-2026"]]
