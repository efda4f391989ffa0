"""ISO 8601 dates, study days and epochs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from daybreak_sdtm.derive import RowProblems, VarRef
from daybreak_sdtm.derive.dates import compute_iso_date, compute_study_day, derive_epoch, derive_iso8601
from tests.helpers import epoch, make_ctx, make_study


def iso(*values: str) -> list[str]:
    return compute_iso_date(pd.Series(list(values), dtype=object), "DAT").tolist()


def test_complete_edc_dates_become_iso_8601() -> None:
    assert iso("05-MAR-2026", "5-mar-2026", "31-DEC-2025") == ["2026-03-05", "2026-03-05", "2025-12-31"]


def test_partial_dates_are_truncated_not_imputed() -> None:
    assert iso("UN-MAR-2026", "UN-UNK-2026", "05-UNK-2026", "UK-MAR-2026") == ["2026-03", "2026", "2026", "2026-03"]


def test_iso_input_is_accepted_as_it_is() -> None:
    assert iso("2026-03-05", "2026-03", "2026") == ["2026-03-05", "2026-03", "2026"]


def test_blank_stays_blank() -> None:
    assert iso("", "  ") == ["", ""]


def test_leap_day_exists_only_in_leap_years() -> None:
    assert iso("29-FEB-2024") == ["2024-02-29"]
    with pytest.raises(RowProblems) as err:
        iso("01-JAN-2025", "29-FEB-2025")
    assert err.value.positions.tolist() == [1]
    assert err.value.values == ["29-FEB-2025"]
    assert "not a calendar date" in err.value.message


@pytest.mark.parametrize("bad", ["31-FEB-2026", "2026-13-01", "32-JAN-2026", "2026-02-30"])
def test_impossible_dates_are_refused(bad: str) -> None:
    with pytest.raises(RowProblems) as err:
        iso("05-MAR-2026", bad)
    assert err.value.positions.tolist() == [1]
    assert err.value.column == "DAT"


@pytest.mark.parametrize("bad", ["yesterday", "05/03/2026", "05-XYZ-2026", "2026-3-5"])
def test_malformed_dates_are_refused(bad: str) -> None:
    with pytest.raises(RowProblems) as err:
        iso(bad)
    assert "not a date" in err.value.message
    assert err.value.values == [bad]


def test_time_is_appended_only_to_complete_dates() -> None:
    ctx = make_ctx("EX", raw={"D": ["05-MAR-2026", "UN-MAR-2026", "06-MAR-2026"], "T": ["09:30", "10:00", ""]})
    assert derive_iso8601(ctx, source="D", time="T").tolist() == ["2026-03-05T09:30", "2026-03", "2026-03-06"]


def test_malformed_time_is_refused() -> None:
    ctx = make_ctx("EX", raw={"D": ["05-MAR-2026"], "T": ["25:00"]})
    with pytest.raises(RowProblems) as err:
        derive_iso8601(ctx, source="D", time="T")
    assert err.value.column == "T"


def test_study_day_has_no_day_zero() -> None:
    dates = pd.Series(["2026-03-05", "2026-03-04", "2026-03-06T10:00", "2026-03", ""], dtype=object)
    ref = pd.Series(["2026-03-05"] * 5, dtype=object)
    days = compute_study_day(dates, ref).tolist()
    assert days[:3] == [1.0, -1.0, 2.0]
    assert np.isnan(days[3]) and np.isnan(days[4])


def test_study_day_across_a_leap_day() -> None:
    days = compute_study_day(pd.Series(["2024-03-01"]), pd.Series(["2024-02-28"])).tolist()
    assert days == [3.0]


def test_epoch_is_the_last_started_epoch_and_skips_epochs_never_entered() -> None:
    study = make_study(
        epochs=(
            epoch("SCREENING", "DM.RFICDTC"),
            epoch("TREATMENT", "DM.RFXSTDTC"),
            epoch("CONSOLIDATION TREATMENT", "PR.PRSTDTC", "first"),
            epoch("FOLLOW-UP", "DM.RFXENDTC", "day_after"),
        )
    )
    dm = {
        "USUBJID": ["S1-1", "S1-2"],
        "RFICDTC": ["2026-01-01", "2026-01-01"],
        "RFXSTDTC": ["2026-01-10", "2026-01-10"],
        "RFXENDTC": ["2026-05-01", "2026-05-01"],
    }
    pr = {"USUBJID": ["S1-1"], "PRSTDTC": ["2026-03-01"]}
    ae = {
        "USUBJID": ["S1-1", "S1-1", "S1-2", "S1-2", "S1-2", "S1-1", "S1-1"],
        "AESTDTC": ["2026-01-05", "2026-03-02", "2026-03-02", "2026-05-01", "2026-05-02", "2026-03", "2025-12-01"],
    }
    ctx = make_ctx("AE", sdtm=ae, others={"DM": dm, "PR": pr}, study=study)
    assert derive_epoch(ctx, date=VarRef("AE", "AESTDTC")).tolist() == [
        "SCREENING",
        "CONSOLIDATION TREATMENT",
        "TREATMENT",
        "TREATMENT",
        "FOLLOW-UP",
        "",
        "",
    ]


def test_epoch_from_subject_elements_takes_partial_dates_only_within_one_epoch() -> None:
    from daybreak_sdtm.derive.dates import epoch_from_elements

    se = pd.DataFrame(
        {
            "USUBJID": ["S1"] * 4 + ["S2"] * 2,
            "SESTDTC": ["2026-01-05", "2026-01-20T08:30", "2026-03-10", "2026-03-31", "2026-01-01", "2026-02-01"],
            "SEENDTC": ["2026-01-20T08:30", "2026-03-10", "2026-03-31", "", "2026-02-01", "2026-02-14"],
            "EPOCH": ["SCREENING", "TREATMENT", "TREATMENT", "FOLLOW-UP", "SCREENING", "TREATMENT"],
        }
    )
    records = [
        ("S1", "2026-01-04", ""),  # before the first element
        ("S1", "2026-01-20", "TREATMENT"),  # the day an element starts belongs to it
        ("S1", "2026-01-19T23:00", "SCREENING"),
        ("S1", "2026-01", ""),  # January holds screening and treatment days
        ("S1", "2026-02", "TREATMENT"),  # within one element
        ("S1", "2026-03", ""),  # two treatment elements, then follow-up on the 31st
        ("S1", "2026-04", "FOLLOW-UP"),  # the last element has no end yet
        ("S1", "2026", ""),
        ("S2", "2026-02-14", "TREATMENT"),  # the last element's end day is in it
        ("S2", "2026-02-15", ""),  # after the subject's last element ended
        ("S2", "2026-02", ""),  # part of February is after the last element ended
        ("S3", "2026-02-01", ""),  # no elements
        ("S1", "", ""),
    ]
    frame = pd.DataFrame(records, columns=["USUBJID", "DTC", "EPOCH"])
    got = epoch_from_elements(frame["DTC"], frame["USUBJID"], se)
    assert got.tolist() == frame["EPOCH"].tolist()

    # Two elements of one epoch in a row: a month across them has that epoch.
    se2 = se.assign(SESTDTC=["2026-01-05", "2026-01-20", "2026-03-10", "2026-05-01", "2026-01-01", "2026-02-01"])
    assert epoch_from_elements(pd.Series(["2026-03"]), pd.Series(["S1"]), se2).tolist() == ["TREATMENT"]


def test_a_partial_start_is_on_or_before_the_records_end() -> None:
    from daybreak_sdtm.derive.dates import epoch_from_elements

    se = pd.DataFrame(
        {
            "USUBJID": ["S1"] * 3,
            "SESTDTC": ["2026-03-01", "2026-03-20", "2026-09-10"],
            "SEENDTC": ["2026-03-20", "2026-09-10", ""],
            "EPOCH": ["SCREENING", "TREATMENT", "FOLLOW-UP"],
        }
    )
    records = [
        # (start, end, EPOCH): the start's possible days end on the end's last possible day.
        ("2026-03", "2026-03-12", "SCREENING"),  # 1 to 12 March: screening only
        ("2026-03", "2026-03-20", ""),  # the 20th is treatment's first day
        ("2026-03", "2026-03-19T23:59", "SCREENING"),
        ("2026-03", "", ""),  # no end: all of March, two epochs
        ("2026-03", "2026-04-02", ""),  # an end after the month bounds nothing
        ("2026-09", "2026-09-22", ""),  # 1 to 22 September: treatment, then follow-up from the 10th
        ("2026-09", "2026-09-09", "TREATMENT"),
        ("2026", "2026-03-05", ""),  # a year bounded by its end: 1 January to 5 March, before screening at first
        ("2026-03", "2026-03", ""),  # a partial end: its last possible day is the 31st
        ("2026-03", "2026-02-27", ""),  # an end before the start (DB403's): not used
        ("2026-03-05", "2026-03-02", "SCREENING"),  # a complete start is its own day
    ]
    frame = pd.DataFrame(records, columns=["DTC", "END", "EPOCH"])
    subjects = pd.Series(["S1"] * len(frame))
    got = epoch_from_elements(frame["DTC"], subjects, se, record_end=frame["END"])
    assert got.tolist() == frame["EPOCH"].tolist()
    # Without the end, only whole months inside one epoch have one.
    assert epoch_from_elements(frame["DTC"], subjects, se).tolist()[:2] == ["", ""]
