"""The CDISC pilot package (written by others, SDTMIG 3.2): split datasets, model-allowed variables, trial design,
and what validating all of it finds: its real problems, and the differences between SDTMIG versions as notes."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from daybreak_sdtm.checks import CheckContext
from daybreak_sdtm.checks.package import read_package
from daybreak_sdtm.checks.run import validate_package
from daybreak_sdtm.findings import Severity
from daybreak_sdtm.resources import specs_dir
from daybreak_sdtm.standards import read_standards

PILOT = Path(__file__).resolve().parents[3] / "shared" / "reference" / "cdiscpilot01"
# Readable datasets covering each kind (ts.xpt holds Windows-1252 bytes and is left out here).
DATASETS = ("dm", "ae", "suppae", "ex", "lbch", "supplbch", "qsco", "sv", "se", "ta", "te", "tv", "ti", "relrec")


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> list:
    if not PILOT.is_dir():
        pytest.skip("the shared CDISC pilot package is not beside the project")
    folder = tmp_path_factory.mktemp("pilot")
    for name in DATASETS:
        shutil.copyfile(PILOT / f"{name}.xpt", folder / f"{name}.xpt")
    std = read_standards(specs_dir(), "3.4", "2025-03-28")
    report = validate_package(
        read_package(folder), CheckContext(std), only=["DB104", "DB107", "DB111", "DB112", "DB303"]
    )
    return list(report.findings)


def test_every_dataset_is_described(findings: list) -> None:
    # LBCH and QSCO are splits of LB and QS, SUPPLBCH a SUPP-- of one; TA, TE, TV, TI are trial design.
    assert [f for f in findings if f.rule == "DB111"] == []


def test_split_datasets_carry_their_domain_code(findings: list) -> None:
    assert [f for f in findings if f.rule == "DB107"] == []
    assert [f for f in findings if f.rule == "DB303"] == []  # SUPPLBCH records point into LBCH


def test_variables_the_class_allows_are_not_reported(findings: list) -> None:
    unknown = {(f.dataset, f.variable) for f in findings if f.rule == "DB112"}
    # AEDTC/AEDY (Events timing) and VISIT/VISITNUM in EX are model-allowed; SV's EPOCH is not
    # (SV is special-purpose, and SDTMIG 3.4 dropped it from SV's table).
    assert unknown == {("SV", "EPOCH")}
    assert [f for f in findings if f.rule == "DB104"] == []


# What `validate` finds in the whole pilot package, at error and warning level, per rule, severity
# and dataset: each a real problem of that package, against the SDTMIG 3.4 metadata and CT
# 2025-03-28 it is checked with (it declares SDTMIG 3.2 in its define.xml). Nothing else may reach
# warning level: a finding from a gap of our metadata or an error of our checks would.
EXPECTED = [
    # TS.TSVAL holds Windows-1252 right single quotes (0x92) in two records: not ASCII, not UTF-8.
    ("DB109", "error", "TS", 2),
    ("DB113", "warning", "TS", 1),
    # Sponsor DSDECOD terms FINAL LAB VISIT and FINAL RETRIEVAL VISIT for DSCAT = OTHER EVENT:
    # not in OTHEVENT (events not driven by the protocol), nor NCOMPLT or PROTMLST.
    ("DB201", "warning", "DS", 290),
    # Urine colour standardised as 'N' (the package's own code for Normal) instead of a character
    # result of LBSTRESC's codelist (NORMAL).
    ("DB201", "warning", "LBUR", 874),
    # TSPARMCD AGESPAN / TSPARM 'Age Group' (a sponsor parameter, which Pinnacle 21 reported too),
    # and TSPARM 'Trial Indication Type' for TINDTP, which CT names 'Trial Intent Type'.
    ("DB201", "warning", "TS", 5),
    # AESER = N while a seriousness criterion is Y (mostly AESHOSP).
    ("DB203", "error", "AE", 32),
    # VSSTAT = NOT DONE (blood pressure and pulse of three subjects' visits) in a VS without VSREASND.
    ("DB204", "warning", "VS", 8),
    # CM holds a record per visit for each medication (ASPIRIN started in 2003, again at each of the
    # 13 visits): the keys define.xml declares (STUDYID, USUBJID, CMTRT, CMSTDTC) do not tell them
    # apart (VISITNUM would). AE's define keys hold AESEQ and so are unique; the SDTMIG's
    # (AEDECOD, AESTDTC) would not be, and are not what the package declares.
    ("DB306", "error", "CM", 6429),
    # ACTARM 'Xanomeline Low Dose' while ARM is 'Xanomeline High Dose' (CORE-000656, FDA FB2502):
    # the 12 subjects DB305 notes by their codes (Xan_Lo against Xan_Hi).
    ("DB205", "warning", "DM", 12),
    # QSCO: QSBLFL = Y on ADAS-Cog items not done at the baseline visit (QSSTAT NOT DONE, QSSTRESC
    # blank), a baseline flag on a record without a result (CORE-000643, FDA FB2601), 7; and
    # QSSTRESC holding the derived totals cut to fewer decimals than QSSTRESN (ACTOT '56.7' against
    # 56.7241..., in QSNI NPTOT '20' against 20.5714...): the two do not give the same number
    # (CORE-000542, FB3102), 22 in QSCO and 2 in QSNI.
    ("DB205", "warning", "QSCO", 29),
    ("DB205", "warning", "QSNI", 2),
    # MH has MHSTDTC but no MHSTDY (CORE-000328, FB3202).
    ("DB114", "warning", "MH", 1),
    # ARMCD/ACTARMCD 'Scrnfail': SDTMIG 3.2 reserves 'SCRNFAIL', in capitals, for screen failures.
    ("DB304", "warning", "DM", 104),
    # RFXENDTC before the last dose's EXSTDTC (01-704-1233, 01-705-1031, 01-705-1303, 01-705-1377),
    # or blank though the subject has EX records (01-705-1018, 01-705-1382).
    ("DB405", "error", "DM", 6),
    # EPOCH contradicting the subject's SE elements on the record's date: questionnaires of the
    # screening visit with EPOCH TREATMENT (all of QSHI and QSMM), records of the follow-up with
    # TREATMENT, disposition events after the last element with FOLLOW-UP, medications started in
    # treatment with SCREENING.
    ("DB406", "error", "CM", 174),
    ("DB406", "error", "DS", 310),
    ("DB406", "error", "QSCO", 517),
    ("DB406", "error", "QSDA", 1360),
    ("DB406", "error", "QSGI", 32),
    ("DB406", "error", "QSHI", 3302),
    ("DB406", "error", "QSMM", 1524),
    ("DB406", "error", "QSNI", 1082),
    # define.xml labels a variable otherwise than its XPT header: TAETORD ('Order of Element within
    # Arm' / 'Planned Order of Element within Arm'), IETESTCD ('Incl/Excl Criterion Short Name' /
    # 'Inclusion/Exclusion Criterion Short Name') and QSSTRESC of each QS dataset ('Character
    # Result/Finding in Std Format' / 'Result or Finding in Standard Format').
    ("DB501", "warning", "TA", 1),
    ("DB501", "warning", "TI", 1),
    *(("DB501", "warning", qs, 1) for qs in ("QSCO", "QSDA", "QSGI", "QSHI", "QSMM", "QSNI")),
    # AEENDTC given while AEOUT = NOT RECOVERED/NOT RESOLVED.
    ("DB408", "warning", "AE", 21),
    # The fatal AE of 01-704-1445 ends on 2014-10-31, DM.DTHDTC is 2014-11-01.
    ("DB409", "warning", "AE", 1),
    # TSVCDVER 'clinicaltrials.gov' on REGID with no TSVCDREF; CDISC (6), SNOMED and NDF-RT codes
    # without the version of their terminology (UNII identifiers need none).
    ("DB503", "error", "TS", 1),
    ("DB503", "warning", "TS", 8),
]


# Rules of later SDTMIG versions that the package's SDTMIG 3.2 did not have: notes, never errors.
OLDER_VERSION_NOTES = [
    # ARM 'Screen Failure' for the 52 screen failures (CORE-000115, CG0570): SDTMIG 3.2's convention;
    # 3.3 and 3.4 leave ARM and ARMCD null and give the reason in ARMNRS.
    ("CORE-000115", "DM", 52),
    # SUPPDM holds nothing but population flags (COMPLT8/16/24, EFFICACY, ITT, SAFETY), as SDTMIG
    # 3.2's appendix allowed; 3.3 and 3.4 leave analysis populations to ADaM (CORE-000211, CG0528).
    ("CORE-000211", "SUPPDM", 1197),
]


@pytest.fixture(scope="module")
def whole() -> Any:
    if not PILOT.is_dir():
        pytest.skip("the shared CDISC pilot package is not beside the project")
    from daybreak_sdtm import api

    return api.validate(PILOT)


def test_every_dataset_is_checked(whole: Any) -> None:
    assert len(whole.report.datasets) == 31
    assert [f for f in whole.report.findings if f.rule == "DB111"] == []  # every dataset has its domain's metadata


def test_only_the_packages_real_problems_reach_warning_level(whole: Any) -> None:
    found = Counter(
        (f.rule, str(f.severity), f.dataset) for f in whole.report.findings if f.severity >= Severity.WARNING
    )
    assert dict(found) == {(rule, severity, dataset): n for rule, severity, dataset, n in EXPECTED}
    notes = Counter(
        (f.core, f.dataset)
        for f in whole.report.findings
        if f.core and f.severity == Severity.NOTE and "the package declares SDTMIG 3.2" in f.message
    )
    assert dict(notes) == {(core, dataset): n for core, dataset, n in OLDER_VERSION_NOTES}


def test_the_named_problems(whole: Any) -> None:
    findings = whole.report.findings
    late = {f.usubjid for f in findings if f.rule == "DB405" and "is before it" in f.message}
    blank = {f.usubjid for f in findings if f.rule == "DB405" and "is blank" in f.message}
    assert late == {"01-704-1233", "01-705-1031", "01-705-1303", "01-705-1377"}
    assert blank == {"01-705-1018", "01-705-1382"}
    fatal = [f for f in findings if f.rule == "DB409"]
    assert [(f.usubjid, f.value) for f in fatal] == [("01-704-1445", "2014-10-31")] and "2014-11-01" in fatal[0].message
    ended = [f for f in findings if f.rule == "DB408"]
    assert all(f.value and "AEOUT = NOT RECOVERED/NOT RESOLVED" in f.message for f in ended)
    assert len({f.usubjid for f in ended}) == 15
    serious = [f for f in findings if f.rule == "DB203"]
    assert all(f.value == "N" for f in serious) and sum("AESHOSP" in f.message for f in serious) == 27
    orphan = [f for f in findings if f.rule == "DB503" and f.severity == Severity.ERROR]
    assert [f.value for f in orphan] == ["clinicaltrials.gov"]
    not_done = [f for f in findings if f.rule == "DB204"]
    assert {f.usubjid for f in not_done} == {"01-702-1082", "01-703-1279", "01-713-1141"}
    assert all(f.variable == "VSSTAT" and "VS has no VSREASND" in f.message for f in not_done)
    epochs = [f for f in findings if f.rule == "DB406" and f.dataset == "QSHI"]
    assert {f.value for f in epochs} == {"TREATMENT"} and all("should be 'SCREENING'" in f.message for f in epochs)


def test_version_differences_are_notes(whole: Any) -> None:
    # SDTMIG 3.2, declared in define.xml, checked against 3.4: what 3.4 added, dropped or relabelled,
    # and terms of the CT of 3.2's time, are notes that say so.
    report = whole.report
    assert report.standards == "declared SDTMIG 3.2; checked against SDTMIG 3.4 metadata, CT 2025-03-28"
    assert any("declared in define.xml" in n for n in whole.notes)
    notes = Counter((f.rule, f.dataset, f.variable) for f in report.findings if f.severity == Severity.NOTE)
    assert notes[("DB103", "LBCH", "LBLOBXFL")] == notes[("DB103", "DM", "ARMNRS")] == 1
    assert notes[("DB112", "SV", "EPOCH")] == 1
    assert notes[("DB502", "SV", "SVSTDTC")] == notes[("DB502", "QSCO", "QSSTRESC")] == 1
    assert notes[("DB201", "QSCO", "QSCAT")] == 12241  # ADAS-COG: a Category of Functional Test in CT 2025-03-28
    assert notes[("DB201", "QSCO", "QSORRESU")] == 810  # 'sec', CT's synonym of s
    assert notes[("DB305", "DM", "ACTARMCD")] == 12  # actual arm Xan_Lo, planned Xan_Hi
    messages = {f.message for f in report.findings if f.rule == "DB112"}
    assert messages == {
        "EPOCH is not an SDTMIG 3.4 SV variable: SDTMIG 3.4 dropped EPOCH from SV; "
        "the package declares SDTMIG 3.2, which has it"
    }


def test_declared_3_4_makes_the_differences_warnings(tmp_path: Path) -> None:
    if not PILOT.is_dir():
        pytest.skip("the shared CDISC pilot package is not beside the project")
    from daybreak_sdtm import api

    folder = tmp_path / "pilot"
    folder.mkdir()
    for name in ("dm", "sv", "lbch"):
        shutil.copyfile(PILOT / f"{name}.xpt", folder / f"{name}.xpt")
    result = api.validate(folder, sdtmig="3.4")
    levels = {
        (f.rule, f.dataset, f.variable): str(f.severity)
        for f in result.report.findings
        if f.rule in ("DB103", "DB112", "DB502")
    }
    assert levels[("DB103", "LBCH", "LBLOBXFL")] == levels[("DB112", "SV", "EPOCH")] == "warning"
    assert levels[("DB502", "SV", "SVSTDTC")] == "warning"
    assert result.report.standards == "SDTMIG 3.4, CT 2025-03-28"


def test_what_cores_rules_get_wrong_is_not_reported(whole: Any) -> None:
    # LB holds visit numbers computed in floating point (1.2000000000000002, 4.199999999999999) for the
    # 1.2 and 4.2 SV holds: the same visits, so VISITNUM is in SV (compared exactly, 250 LB records
    # would not be).
    rules = Counter(f.rule for f in whole.report.findings)
    assert rules["DB307"] == 0
    # Every EPOCH is one of TA's; the three DS records of a death are dated on DM.DTHDTC; every
    # RECOVERED/RESOLVED AE has its end date and every serious AE a criterion; DS records no
    # informed consent, so RFICDTC (blank) is not judged.
    assert rules["DB308"] == rules["DB410"] == rules["DB411"] == 0
    assert not any(f.rule == "DB408" and "is blank" in f.message for f in whole.report.findings)
    assert not any(f.rule == "DB203" and f.value == "Y" for f in whole.report.findings)
