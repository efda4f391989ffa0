"""spec/check.py: a small study's specs resolved against SDTMIG, CT, the derivation registry and an
export's headers; each kind of mistake is one SpecError at the file:line:col of what caused it."""

from __future__ import annotations

from pathlib import Path

import pytest

from daybreak_sdtm.derive import DERIVATIONS, VarRef
from daybreak_sdtm.errors import Location, SpecError, SpecErrors
from daybreak_sdtm.resources import specs_dir
from daybreak_sdtm.spec import load_study
from daybreak_sdtm.spec.check import check_study_spec, resolve_study
from daybreak_sdtm.standards import Standards, read_standards

STUDY = """\
study: {studyid: S1, dictionaries: {MedDRA: "28.0"}}
standards: {sdtmig: "3.4", ct: "2025-03-28"}
export: {subject: SUBJECT}
domains: [dm.yaml, ae.yaml]
"""
DM = """\
domain: DM
source:
  form: dm
variables:
  STUDYID: derive_studyid
  DOMAIN: derive_domain
  USUBJID: derive_usubjid
  SUBJID: {derivation: assign_no_ct, source: SUBJECT}
  SITEID: {derivation: assign_no_ct, source: SITE}
  SEX: {derivation: assign_ct, source: SEX}
  COUNTRY: {derivation: hardcode_ct, value: CHN}
  RFSTDTC: {derivation: derive_iso8601, source: RFDAT}
"""
AE = """\
domain: AE
source:
  form: ae
variables:
  STUDYID: derive_studyid
  DOMAIN: derive_domain
  USUBJID: derive_usubjid
  AESEQ: derive_seq
  AETERM: {derivation: assign_no_ct, source: AETERM}
  AEDECOD: {derivation: assign_no_ct, source: AEPT}
  AESEV: {derivation: assign_ct, source: AESEV, map: {Light: MILD}}
  AESTDTC: {derivation: derive_iso8601, source: AESTDAT}
  AESTDY: {derivation: derive_study_day, date: AESTDTC}
"""
HEADERS = {"dm": ["SUBJECT", "SITE", "SEX", "RFDAT"], "ae": ["SUBJECT", "AETERM", "AEPT", "AESEV", "AESTDAT"]}


@pytest.fixture(scope="module")
def standards() -> Standards:
    return read_standards(specs_dir(), "3.4", "2025-03-28")


def _study(tmp_path: Path, ae: str = AE) -> Path:
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "study.yaml").write_text(STUDY, encoding="utf-8")
    (folder / "dm.yaml").write_text(DM, encoding="utf-8")
    (folder / "ae.yaml").write_text(ae, encoding="utf-8")
    return folder


def _at(folder: Path, text: str, part: str) -> Location:
    """Where ``part`` is written on the line of ae.yaml holding ``text``."""
    for number, line in enumerate((folder / "ae.yaml").read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return Location((folder / "ae.yaml").as_posix(), number, line.index(part) + 1)
    raise AssertionError(f"{text!r} not in ae.yaml")


def _errors(folder: Path, standards: Standards, headers: dict[str, list[str]] | None = HEADERS) -> list[SpecError]:
    return check_study_spec(load_study(folder), standards, headers)


def test_the_base_study_is_sound_and_resolves(tmp_path: Path, standards: Standards) -> None:
    folder = _study(tmp_path)
    resolved = resolve_study(load_study(folder), standards, HEADERS)
    assert resolved.errors == []
    ae = {item.spec.name: item for item in resolved.variables["AE"]}
    assert ae["AETERM"].derivation is DERIVATIONS["assign_no_ct"] and ae["AETERM"].raw_columns == ("AETERM",)
    assert ae["AESEV"].codelist is not None and ae["AESEV"].codelist.code == "C66769"  # SDTMIG's codelist of AESEV
    assert ae["AESEV"].params["map"] == {"Light": "MILD"}
    assert VarRef("DM", "RFSTDTC") in ae["AESTDY"].reads  # the study day reads the reference start of DM
    assert ae["AESTDY"].params["date"] == VarRef("AE", "AESTDTC")


def test_unknown_derivation(tmp_path: Path, standards: Standards) -> None:
    folder = _study(
        tmp_path, AE.replace("{derivation: assign_no_ct, source: AETERM}", "{derivation: asign_no_ct, source: AETERM}")
    )
    [error] = _errors(folder, standards)
    assert (error.where, error.key) == (_at(folder, "AETERM:", "asign_no_ct"), "AETERM.derivation")
    assert (error.problem, error.hint) == ("unknown derivation 'asign_no_ct'", "did you mean 'assign_no_ct'?")


def test_unknown_and_missing_parameter(tmp_path: Path, standards: Standards) -> None:
    folder = _study(tmp_path, AE.replace("source: AEPT}", "sorce: AEPT}"))
    errors = {e.key: e for e in _errors(folder, standards)}
    assert set(errors) == {"AEDECOD.sorce", "AEDECOD"}
    assert errors["AEDECOD.sorce"].where == _at(folder, "AEDECOD:", "AEPT")
    assert errors["AEDECOD.sorce"].problem == "assign_no_ct has no parameter 'sorce'"
    assert errors["AEDECOD.sorce"].hint == "did you mean 'source'?"
    assert errors["AEDECOD"].where == _at(folder, "AEDECOD:", "{")
    assert errors["AEDECOD"].problem == "assign_no_ct needs parameter 'source' (raw column)"


def test_raw_column_not_in_the_form(tmp_path: Path, standards: Standards) -> None:
    folder = _study(tmp_path, AE.replace("source: AEPT}", "source: AEPTT}"))
    [error] = _errors(folder, standards)
    assert (error.where, error.key) == (_at(folder, "AEDECOD:", "{"), "AEDECOD")
    assert (error.problem, error.hint) == ("raw column 'AEPTT' not in form 'ae'", "did you mean 'AEPT'?")
    assert _errors(folder, standards, headers=None) == []  # without the export's headers, columns are not known


def test_codelist_not_in_the_ct_package(tmp_path: Path, standards: Standards) -> None:
    folder = _study(tmp_path, AE.replace("source: AESEV, map:", "source: AESEV, codelist: C99999, map:"))
    [error] = _errors(folder, standards)
    assert (error.where, error.key) == (_at(folder, "AESEV:", "C99999"), "AESEV.codelist")
    assert error.problem == "codelist 'C99999' is not in CT package 2025-03-28"


def test_value_not_a_term_of_a_non_extensible_codelist(tmp_path: Path, standards: Standards) -> None:
    folder = _study(tmp_path, AE.replace("{Light: MILD}", "{Light: MILDD}"))
    [error] = _errors(folder, standards)
    assert (error.where, error.key) == (_at(folder, "AESEV:", "{Light"), "AESEV.map")
    assert error.problem == "'MILDD' is not a submission value of non-extensible codelist AESEV (C66769)"
    assert error.hint == "did you mean 'MILD'?"


def test_variable_not_in_sdtmig(tmp_path: Path, standards: Standards) -> None:
    folder = _study(tmp_path, AE + "  AESEVX: {derivation: assign_no_ct, source: AESEV}\n")
    [error] = _errors(folder, standards)
    assert (error.where, error.key) == (_at(folder, "AESEVX:", "{"), "AESEVX")
    assert error.problem == "not a variable of AE in SDTMIG 3.4" and error.hint == "did you mean 'AESEV'?"


def test_required_variable_not_mapped(tmp_path: Path, standards: Standards) -> None:
    folder = _study(tmp_path, AE.replace("  AETERM: {derivation: assign_no_ct, source: AETERM}\n", ""))
    [error] = _errors(folder, standards)
    assert (error.where, error.key) == (_at(folder, "domain: AE", "domain"), "AETERM")
    assert error.problem == "required variable AETERM (Reported Term for the Adverse Event) is not mapped"


def test_reads_a_variable_another_domain_does_not_map(tmp_path: Path, standards: Standards) -> None:
    folder = _study(tmp_path, AE.replace("date: AESTDTC}", "date: AESTDTC, reference: DM.RFSTDT}"))
    [error] = _errors(folder, standards)
    assert (error.where, error.key) == (_at(folder, "AESTDY:", "{"), "AESTDY")
    assert error.problem == "reads DM.RFSTDT, which DM's spec does not map" and error.hint == "did you mean 'RFSTDTC'?"


def test_reads_a_domain_the_study_does_not_map(tmp_path: Path, standards: Standards) -> None:
    folder = _study(tmp_path, AE.replace("date: AESTDTC}", "date: AESTDTC, reference: EX.EXSTDTC}"))
    [error] = _errors(folder, standards)
    assert (error.where, error.key) == (_at(folder, "AESTDY:", "{"), "AESTDY")
    assert error.problem == "reads EX.EXSTDTC, but domain EX is not mapped in this study"


def test_text_value_for_a_numeric_variable(tmp_path: Path, standards: Standards) -> None:
    folder = _study(
        tmp_path,
        AE.replace("{derivation: derive_study_day, date: AESTDTC}", "{derivation: hardcode_no_ct, value: first}"),
    )
    [error] = _errors(folder, standards)
    assert (error.where, error.key) == (_at(folder, "AESTDY:", "first"), "AESTDY.value")
    assert error.problem == "'first' is not a number, but AESTDY is Num in SDTMIG"


def test_form_not_in_the_export(tmp_path: Path, standards: Standards) -> None:
    folder = _study(tmp_path)
    errors = {e.key: e for e in _errors(folder, standards, {"dm": HEADERS["dm"], "aes": HEADERS["ae"]})}
    assert set(errors) == {"source.form", "forms_not_mapped"}
    assert errors["source.form"].where == _at(folder, "form: ae", "form")
    assert (errors["source.form"].problem, errors["source.form"].hint) == (
        "form 'ae' is not in the export",
        "did you mean 'aes'?",
    )
    # and the export's form the study neither maps nor lists, at the study file
    assert errors["forms_not_mapped"].where == Location((folder / "study.yaml").as_posix(), 1, 1)
    assert (
        errors["forms_not_mapped"].problem
        == "export form 'aes' is neither mapped nor listed in forms_not_mapped with a reason"
    )


def test_every_mistake_is_reported_at_once(tmp_path: Path, standards: Standards) -> None:
    ae = AE.replace("asign", "assign").replace(
        "{derivation: assign_no_ct, source: AETERM}", "{derivation: asign_no_ct, source: AETERM}"
    )
    folder = _study(tmp_path, ae.replace("{Light: MILD}", "{Light: MILDD}").replace("source: AEPT}", "source: AEPTT}"))
    keys = sorted(e.key for e in _errors(folder, standards))
    assert keys == ["AEDECOD", "AESEV.map", "AETERM.derivation"]


# ---- coding dictionaries (study: dictionaries:)

CM = """\
domain: CM
source:
  form: cm
variables:
  STUDYID: derive_studyid
  DOMAIN: derive_domain
  USUBJID: derive_usubjid
  CMSEQ: derive_seq
  CMTRT: {derivation: assign_no_ct, source: CMTRT}
  CMDECOD: {derivation: assign_no_ct, source: CMDRUG, dictionary: WHODrug}
"""


def _with_dictionaries(tmp_path: Path, dictionaries: str, cm: str = CM) -> Path:
    folder = _study(tmp_path)
    study = STUDY.replace(
        'study: {studyid: S1, dictionaries: {MedDRA: "28.0"}}', f"study:\n  studyid: S1\n{dictionaries}"
    )
    (folder / "study.yaml").write_text(study.replace("ae.yaml]", "ae.yaml, cm.yaml]"), encoding="utf-8")
    (folder / "cm.yaml").write_text(cm, encoding="utf-8")
    return folder


CM_HEADERS = {**HEADERS, "cm": ["SUBJECT", "CMTRT", "CMDRUG"]}


def test_dictionaries_by_version_with_their_href(tmp_path: Path, standards: Standards) -> None:
    folder = _with_dictionaries(
        tmp_path,
        '  dictionaries:\n    MEDDRA: "28.0"\n    WHODrug Global: {version: GLOBAL B3 2025-03, href: "https://who-umc.org/"}\n',
    )
    study = load_study(folder)
    assert [(d.name, d.version, d.href) for d in study.dictionaries] == [
        ("MEDDRA", "28.0", ""),
        ("WHODrug Global", "GLOBAL B3 2025-03", "https://who-umc.org/"),
    ]
    assert check_study_spec(study, standards, CM_HEADERS) == []
    from daybreak_sdtm.spec.check import variable_dictionary

    cm = study.domain("CM")
    assert cm is not None
    found = variable_dictionary(study, standards, "CM", cm.variable("CMDECOD"), "CMDECOD")
    assert found is not None and found[0] == "WHODD" and found[1].version == "GLOBAL B3 2025-03"
    ae = study.domain("AE")
    assert ae is not None
    found = variable_dictionary(study, standards, "AE", ae.variable("AEDECOD"), "AEDECOD")  # SDTMIG: MedDRA
    assert found is not None and found[0] == "MedDRA"
    assert variable_dictionary(study, standards, "AE", ae.variable("AETERM"), "AETERM") is None


def test_meddra_shorthand_is_the_same_declaration(tmp_path: Path) -> None:
    folder = _with_dictionaries(tmp_path, '  meddra: "27.1"\n')
    [declared] = load_study(folder).dictionaries
    assert (declared.name, declared.version) == ("MedDRA", "27.1")


def test_dictionary_problems_each_at_their_line(tmp_path: Path, standards: Standards) -> None:
    folder = _with_dictionaries(
        tmp_path, '  dictionaries:\n    MedDRAA: "28.0"\n    LOINC: "2.78"\n    loinc: "2.79"\n'
    )
    errors = _errors(folder, standards, CM_HEADERS)
    by_problem = {e.problem: e for e in errors}
    unknown = by_problem["'MedDRAA' is not a dictionary of CT's Dictionary Name codelist (DICTNAM, C66788)"]
    assert unknown.where.line == 4 and unknown.hint == "did you mean 'MedDRA'?"
    assert by_problem["LOINC is named twice"].where.line == 6
    # AEDECOD is MedDRA-coded per SDTMIG: with no MedDRA version the define cannot name it.
    coded = by_problem["AEDECOD of AE is coded with MedDRA (SDTMIG), but study.yaml names no MedDRA version"]
    assert coded.where == _at(folder, "AEDECOD:", "{")
    # CMDECOD names WHODrug, which the study does not declare.
    cm_line = next(e for e in errors if e.key == "dictionary")
    assert cm_line.problem == "CMDECOD is coded with WHODrug, which study.yaml does not name"
    assert cm_line.where.file.endswith("cm.yaml") and cm_line.where.line == 10
    assert len(errors) == 4


def test_a_dictionary_needs_a_version(tmp_path: Path) -> None:
    folder = _with_dictionaries(tmp_path, "  dictionaries:\n    MedDRA: {href: x}\n")
    with pytest.raises(SpecErrors) as caught:
        load_study(folder)
    assert [e.problem for e in caught.value.errors] == ["missing required key 'version'"]


def test_unit_conversions_are_read_and_checked_where_written(tmp_path: Path) -> None:
    folder = _study(tmp_path)
    conversions = (
        "unit_conversions:\n"
        "  - {from: LB, to: kg, factor: 0.45359237, decimals: 1}\n"
        "  - {from: F, to: C, factor: 0.5555556, offset: -17.7777778, test: TEMP}\n"
        "  - {from: kg, to: kg, factor: 1}\n"
        "  - {from: in, to: cm, factor: two}\n"
        "  - {from: LB, to: kg, factor: 0.4536}\n"
    )
    (folder / "study.yaml").write_text(STUDY + conversions, encoding="utf-8")
    with pytest.raises(SpecErrors) as caught:
        load_study(folder)
    problems = {(e.where.line, e.problem) for e in caught.value.errors}
    assert problems == {
        (8, "converts 'kg' to itself"),
        (9, "expected a number, found 'two'"),
        (10, "LB -> kg is declared twice"),
    }
    (folder / "study.yaml").write_text(STUDY + "\n".join(conversions.splitlines()[:3]) + "\n", encoding="utf-8")
    lb, temp = load_study(folder).unit_conversions
    assert (lb.from_unit, lb.to_unit, lb.factor, lb.offset, lb.test, lb.decimals) == (
        "LB",
        "kg",
        0.45359237,
        0.0,
        "",
        1,
    )
    assert (temp.test, temp.offset, temp.decimals) == ("TEMP", -17.7777778, None)


def test_a_list_of_variables_resolves_to_references(tmp_path: Path, standards: Standards) -> None:
    folder = _study(
        tmp_path, AE.replace("AESEQ: derive_seq", "AESEQ: {derivation: derive_seq, order_by: [AESTDTC, AETERM]}")
    )
    resolved = resolve_study(load_study(folder), standards, HEADERS)
    assert resolved.errors == []
    seq = next(i for i in resolved.variables["AE"] if i.spec.name == "AESEQ")
    assert seq.params["order_by"] == [VarRef("AE", "AESTDTC"), VarRef("AE", "AETERM")]
    (tmp_path / "b").mkdir()
    folder2 = _study(
        tmp_path / "b", AE.replace("AESEQ: derive_seq", "AESEQ: {derivation: derive_seq, order_by: AESTDTC}")
    )
    [error] = _errors(folder2, standards)
    assert error.problem == "expected a list of SDTM variables, e.g. [LBTESTCD, LBSPEC]"


STACKED_AE = AE.replace(
    "source:\n  form: ae\n",
    "source:\n  - form: ae\n  - form: ae2\n    join:\n      - {form: dm, on: [VISIT]}\n",
)


def test_stacked_sources_each_give_every_column_read(tmp_path: Path, standards: Standards) -> None:
    folder = _study(tmp_path, STACKED_AE)
    headers = {**HEADERS, "ae2": ["SUBJECT", "AETERM", "AEPT", "AESEV", "VISIT"]}
    errors = _errors(folder, standards, headers)
    # ae2 has no AESTDAT: a column one stacked source lacks is not readable; dm has no VISIT.
    assert [(e.key, e.problem) for e in errors] == [
        ("source.join.on", "raw column 'VISIT' not in form 'dm'"),
        ("AESTDTC", "raw column 'AESTDAT' not in every source of AE (form 'ae', form 'ae2')"),
    ]
    assert errors[0].where == _at(folder, "{form: dm, on: [VISIT]}", "{")
    headers["dm"] = [*HEADERS["dm"], "VISIT"]
    headers["ae2"].append("AESTDAT")
    assert _errors(folder, standards, headers) == []


def test_a_join_key_must_be_column_names(tmp_path: Path) -> None:
    folder = _study(tmp_path, AE.replace("  form: ae\n", "  form: ae\n  join:\n    - {form: dm, on: {VISIT: 1}}\n"))
    with pytest.raises(SpecErrors) as exc:
        load_study(folder)
    assert "source.join.on: give the raw column(s) both forms hold, e.g. on: [FOLDER]" in str(exc.value)


def test_a_list_of_codelists_holds_the_terms_of_each(tmp_path: Path, standards: Standards) -> None:
    # AESEV drawing on the severity codelist or on No Yes Response: a map value of either passes,
    # one of neither is refused naming the union.
    both = "source: AESEV, codelist: [C66769, C66742], map: {Light: MILD, None: N}"
    folder = _study(tmp_path, AE.replace("source: AESEV, map: {Light: MILD}", both))
    assert _errors(folder, standards) == []
    resolved = resolve_study(load_study(folder), standards, HEADERS)
    codelist = next(v for v in resolved.variables["AE"] if v.spec.name == "AESEV").params["codelist"]
    assert codelist.code == "C66769;C66742" and {"MILD", "N", "Y"} <= codelist.submission_values
    folder = _study(
        _mkdir(tmp_path / "bad"), AE.replace("source: AESEV, map: {Light: MILD}", both.replace("N}", "NN}"))
    )
    [error] = _errors(folder, standards)
    assert error.key == "AESEV.map" and "'NN' is not a submission value" in error.problem
    folder = _study(
        _mkdir(tmp_path / "unknown"),
        AE.replace("source: AESEV, map:", "source: AESEV, codelist: [C66769, C99999], map:"),
    )
    [error] = _errors(folder, standards)
    assert error.problem == "codelist 'C99999' is not in CT package 2025-03-28"


def test_sdtmigs_several_codelists_are_the_default(standards: Standards) -> None:
    # RSCAT: ONCRSCAT (response criteria) and CCCAT (clinical classifications, ECOG).
    rscat = standards.variable("RS", "RSCAT")
    assert rscat is not None and rscat.codelists == ("C124298", "C118971")
    union = standards.codelist(rscat.codelist)
    assert union is not None and {"RECIST 1.1", "ECOG"} <= union.submission_values
    assert union.lookup["ECOG"] == "ECOG" and union.extensible
    assert union.term("ECOG") is not None and union.term("ECOG").code == "C102116"  # type: ignore[union-attr]
    assert standards.codelist("C124298;C99999") is None


def _mkdir(folder: Path) -> Path:
    folder.mkdir()
    return folder
