"""The corpus of bad inputs: each refused with one exact message, a documented exit code, no package."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.robustness.conftest import Workspace

INVALID_INPUT, WRITE_FAILED = 3, 4


def refused(ws: Workspace, capsys: pytest.CaptureFixture[str], code: int = INVALID_INPUT) -> list[str]:
    rc, err, _ = ws.convert(capsys)
    assert rc == code, err
    assert not ws.out.exists(), "a refused conversion must leave no package"
    assert not any("Traceback" in line for line in err)
    assert not list(ws.out.parent.glob(".out.*")), "temporary folders must be cleaned up"
    return err


def test_missing_raw_file(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    (ws.export / "ae.csv").unlink()
    assert refused(ws, capsys) == [
        f"error: {ws.export}: raw form 'ae' not found (looked for ae.csv, ae.sas7bdat, ae.xpt)"
    ]


def test_missing_export_folder(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.export = ws.export.parent / "nowhere"
    assert refused(ws, capsys) == [f"error: {ws.export}: export folder not found"]


def test_empty_file(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    (ws.export / "ae.csv").write_text("")
    assert refused(ws, capsys) == ["error: ae.csv: file is empty (expected a header row)"]


def test_file_cut_off_mid_record(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    lines = (ws.export / "ae.csv").read_text().splitlines()
    cut = ",".join(lines[3].split(",")[:3])
    (ws.export / "ae.csv").write_text("\n".join([*lines[:3], cut]))
    n_columns = len(lines[0].split(","))
    assert refused(ws, capsys) == [
        f"error: ae.csv:4: record has 3 field(s), the header has {n_columns}; the file may be cut off"
    ]


def test_missing_column(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.save("ae", ws.form("ae").drop(columns=["AETOXGR"]))
    line = ws.line_of("ae.yaml", "  AETOXGR:")
    assert refused(ws, capsys) == [
        f"error: {ws.study.as_posix()}/ae.yaml:{line + 1}:5: AETOXGR: raw column 'AETOXGR' not in form 'ae' "
        "(hint: did you mean 'AETERM'?)"
    ]


def test_extra_column_is_a_warning(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    frame = ws.form("ae")
    frame["NOTE"] = "checked"
    ws.save("ae", frame)
    rc, err, _ = ws.convert(capsys)
    assert rc == 0
    assert err == [
        "warning: ae.csv: column NOTE is not mapped (list it under columns_not_mapped in study.yaml if that is intended)"
    ]
    assert (ws.out / "ae.xpt").is_file()


def test_wrong_delimiter(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    text = (ws.export / "dm.csv").read_text()
    (ws.export / "dm.csv").write_text(text.replace(",", ";"))
    assert refused(ws, capsys) == [
        "error: dm.csv:1: header has no comma; the file looks delimited by another character"
    ]


def test_utf8_with_bom_is_read(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    path = ws.export / "dm.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    rc, err, _ = ws.convert(capsys)
    assert rc == 0, err
    assert (ws.out / "dm.xpt").is_file()


def test_latin1_export_is_refused(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.set_cell("ae", 2, "AETERM", "naus\u00e9e")
    path = ws.export / "ae.csv"
    data = path.read_text(encoding="utf-8").encode("latin-1")
    path.write_bytes(data)
    assert refused(ws, capsys) == [
        "error: ae.csv record 2 column AETERM (line 3): byte 0xe9 is not UTF-8 text; declare the export's encoding "
        "with `export: encoding:` in study.yaml or `convert --encoding` (e.g. cp1252 for Windows-1252)"
    ]


def test_invalid_bytes_are_refused(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    path = ws.export / "rs.csv"
    data = path.read_bytes()
    cut = data.index(b"\n", data.index(b"\n") + 1) + 1  # start of the second record
    path.write_bytes(data[:cut] + b"\xff\xfe" + data[cut:])
    assert refused(ws, capsys) == [
        "error: rs.csv record 2 column STUDY (line 3): byte 0xff is not UTF-8 text; declare the export's encoding "
        "with `export: encoding:` in study.yaml or `convert --encoding` (e.g. cp1252 for Windows-1252)"
    ]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("31-FEB-2026", "not a calendar date"),
        ("2026-13-01", "not a calendar date"),
        ("last week", "not a date in the format DD-MMM-YYYY (UN/UNK for unknown parts)"),
    ],
)
def test_impossible_or_malformed_dates(
    ws: Workspace, capsys: pytest.CaptureFixture[str], value: str, problem: str
) -> None:
    ws.set_cell("ae", 7, "AESTDAT", value)
    line = ws.line_of("ae.yaml", "AESTDTC:")
    assert refused(ws, capsys) == [
        f"error: ae.csv record 7 column AESTDAT: {problem}: {value!r} [{ws.study.as_posix()}/ae.yaml:{line}:12 AE.AESTDTC]"
    ]


def test_unknown_coded_value(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.set_cell("dm", 3, "SEX", "Intersex?")
    line = ws.line_of("dm.yaml", "  SEX:")
    assert refused(ws, capsys) == [
        f"error: dm.csv record 3 column SEX: value not in codelist SEX (C66731) nor in the spec's map: 'Intersex?' "
        f"[{ws.study.as_posix()}/dm.yaml:{line}:8 DM.SEX]"
    ]


def test_non_numeric_dose(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.set_cell("ex", 2, "CIS_DOSE", "eighty")
    line = ws.line_of("ex.yaml", "  EXDOSE:")
    assert refused(ws, capsys) == [
        f"error: ex.csv record 2 column CIS_DOSE: not a number: 'eighty' [{ws.study.as_posix()}/ex.yaml:{line}:11 EX.EXDOSE]"
    ]


def test_duplicate_subject_in_demographics(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    frame = ws.form("dm")
    ws.save("dm", pd.concat([frame, frame.iloc[[4]]], ignore_index=True))
    subject = frame.SUBJECT.iat[4]
    assert refused(ws, capsys) == [
        f"error: dm.csv record 33: subject 'DAYBREAK-01-{subject}' already has a DM record (record 5); DM holds one record per subject"
    ]


def test_records_of_a_subject_not_in_demographics(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.set_cell("ae", 10, "SUBJECT", "999-999")
    assert refused(ws, capsys) == [
        "error: ae.csv record 10 column SUBJECT: subject 'DAYBREAK-01-999-999' is not in demographics (DM)"
    ]


def test_joined_form_subject_not_in_demographics(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.set_cell("death", 1, "SUBJECT", "999-999")
    assert refused(ws, capsys) == [
        "error: death.csv record 1 column SUBJECT: subject '999-999' is not in form 'dm', which the DM spec joins it to"
    ]


def test_non_ascii_text_is_reported(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.set_cell("ae", 4, "AETERM", "\u6076\u5fc3")  # "nausea" as a Chinese site enters it
    line = ws.line_of("ae.yaml", "  AETERM:")
    assert refused(ws, capsys) == [
        f"error: ae.csv record 4 column AETERM: not ASCII text, which XPT v5 cannot hold "
        f"(transliterate: true on the variable folds accented letters): '\u6076\u5fc3' [{ws.study.as_posix()}/ae.yaml:{line}:11 AE.AETERM]"
    ]


def test_accents_are_transliterated_where_the_spec_says_so(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.set_cell("ae", 4, "AETERM", "naus\u00e9e s\u00e9v\u00e8re")
    spec = ws.study / "ae.yaml"
    spec.write_text(
        spec.read_text().replace(
            "AETERM: {derivation: assign_no_ct, source: AETERM}",
            "AETERM: {derivation: assign_no_ct, source: AETERM, transliterate: true}",
        )
    )
    rc, err, _ = ws.convert(capsys)
    assert rc == 0, err
    ae = pd.read_sas(ws.out / "ae.xpt", format="xport", encoding="ascii")
    assert "nausee severe" in set(ae.AETERM)


def test_chinese_text_is_refused_even_with_transliterate(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws.set_cell("ae", 4, "AETERM", "\u6076\u5fc3")
    spec = ws.study / "ae.yaml"
    spec.write_text(
        spec.read_text().replace(
            "AETERM: {derivation: assign_no_ct, source: AETERM}",
            "AETERM: {derivation: assign_no_ct, source: AETERM, transliterate: true}",
        )
    )
    err = refused(ws, capsys)
    assert len(err) == 1 and err[0].startswith(
        "error: ae.csv record 4 column AETERM: not ASCII text, which XPT v5 cannot hold: "
    )


def test_yaml_syntax_error(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    spec = ws.study / "pr.yaml"
    spec.write_text(spec.read_text().replace("  PRSEQ: derive_seq\n", "  PRSEQ: [derive_seq\n"))
    line = ws.line_of("pr.yaml", "PRSEQ:")
    err = refused(ws, capsys)
    assert len(err) == 1
    assert err[0].startswith(f"error: {ws.study.as_posix()}/pr.yaml:{line + 1}:")
    assert "YAML syntax error" in err[0]


def test_spec_names_unknown_variable_derivation_and_column(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    spec = ws.study / "pr.yaml"
    text = spec.read_text()
    text = text.replace(
        "  PRSPID: {derivation: assign_no_ct, source: RTLINE}",
        "  PRSPID: {derivation: asign_no_ct, source: RTLINE}\n  PRFOO: derive_seq\n"
        "  PRINDC: {derivation: assign_no_ct, source: RTINDIC}",
    )
    spec.write_text(text)
    where = ws.study.as_posix() + "/pr.yaml"
    spid, foo, indc = ws.line_of("pr.yaml", "PRSPID"), ws.line_of("pr.yaml", "PRFOO"), ws.line_of("pr.yaml", "PRINDC")
    assert refused(ws, capsys) == [
        f"error: {where}:{spid}:24: PRSPID.derivation: unknown derivation 'asign_no_ct' (hint: did you mean 'assign_no_ct'?)",
        f"error: {where}:{foo}:3: PRFOO: not a variable of PR in SDTMIG 3.4 (hint: did you mean 'PRPORTOT'?)",
        f"error: {where}:{indc}:11: PRINDC: raw column 'RTINDIC' not in form 'rt' (hint: did you mean 'RTUNIT'?)",
    ]


def test_spec_cannot_read_outside_the_export(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    spec = ws.study / "pr.yaml"
    spec.write_text(spec.read_text().replace("  form: rt", "  form: ../../etc/passwd"))
    line = ws.line_of("pr.yaml", "form:")
    assert refused(ws, capsys) == [
        f"error: {ws.study.as_posix()}/pr.yaml:{line}:9: source.form: '../../etc/passwd' is not a form name "
        "(letters, digits, _ and -; no paths)"
    ]


def test_output_folder_not_writable(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = ws.out.parent / "file"
    blocker.write_text("not a folder")
    ws.out = blocker / "pkg"
    rc, err, _ = ws.convert(capsys)
    assert rc == WRITE_FAILED
    assert err == [f"error: {ws.out}: cannot write here ({blocker} is a file, not a folder)"]
    assert blocker.read_text() == "not a folder"


def test_a_failed_run_keeps_the_previous_package(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _, _ = ws.convert(capsys)
    assert rc == 0
    before = {p: p.read_bytes() for p in ws.out.rglob("*") if p.is_file()}
    ws.set_cell("ae", 7, "AESTDAT", "31-FEB-2026")
    rc, _, _ = ws.convert(capsys)
    assert rc == INVALID_INPUT
    assert {p: p.read_bytes() for p in ws.out.rglob("*") if p.is_file()} == before


def _us_dates_and_an_unknown_code(ws: Workspace) -> tuple[int, int]:
    """Every AESTDAT rewritten as MM/DD/YYYY and 30 AESER set to 'Maybe'; returns (dates rewritten, codes)."""
    ae = ws.form("ae")
    parsed = pd.to_datetime(ae["AESTDAT"], format="%d-%b-%Y", errors="coerce")
    ae["AESTDAT"] = parsed.dt.strftime("%m/%d/%Y").fillna(ae["AESTDAT"])
    ae.loc[ae.index[:30], "AESER"] = "Maybe"
    ws.save("ae", ae)
    return int(parsed.notna().sum()), 30


def test_many_problems_are_summarised_by_cause(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    dates, codes = _us_dates_and_an_unknown_code(ws)
    err = refused(ws, capsys)
    study = ws.study.as_posix()
    assert err[0] == f"error: {dates + codes} problems in the raw export; by cause:"
    date_cause, code_cause = err[1], err[2]  # the most frequent cause first
    assert date_cause.startswith(f"error:   {dates} x ae.csv column AESTDAT: not a date in the format DD-MMM-YYYY")
    assert f"[{study}/ae.yaml:{ws.line_of('ae.yaml', 'AESTDTC:')}:12 AE.AESTDTC]" in date_cause
    first = ws.form("ae")["AESTDAT"].iloc[0]
    assert date_cause.endswith(
        f"e.g. {first!r} (record 1), {ws.form('ae')['AESTDAT'].iloc[1]!r} (record 2), "
        f"{ws.form('ae')['AESTDAT'].iloc[2]!r} (record 3)"
    )
    assert code_cause == (
        f"error:   {codes} x ae.csv column AESER: value not in codelist NY (C66742) nor in the spec's map "
        f"[{study}/ae.yaml:{ws.line_of('ae.yaml', '  AESER:')}:10 AE.AESER]; 1 distinct value(s), e.g. 'Maybe' (record 1)"
    )
    assert len(err) == 3


def test_lint_values_maps_the_export_and_groups_by_cause(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    from daybreak_sdtm.cli import main

    assert main(["lint", str(ws.study), "--export", str(ws.export), "--values"]) == 0
    assert "specs OK; every value of" in capsys.readouterr().out
    dates, codes = _us_dates_and_an_unknown_code(ws)
    assert main(["lint", str(ws.study), "--export", str(ws.export), "--values"]) == INVALID_INPUT
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"error: {dates + codes} problems in the raw export; by cause:"
    assert len(err) == 3
    assert main(["lint", str(ws.study), "--values"]) == INVALID_INPUT  # --values needs the export
    assert "give it with --export DIR" in capsys.readouterr().err
