"""The bundled SDTMIG 3.4 metadata read whole: datasets, variables, class variables, splits, custom domains."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from daybreak_sdtm.errors import StandardsError
from daybreak_sdtm.resources import specs_dir
from daybreak_sdtm.standards import Standards, domain_code, read_standards
from daybreak_sdtm.standards.read import read_sdtmig

SHARED_IG = Path(__file__).resolve().parents[3] / "shared" / "standards" / "sdtmig" / "3.4"
CT = "2025-03-28"


@pytest.fixture(scope="module")
def std() -> Standards:
    return read_standards(specs_dir(), "3.4", CT)


def _export_rows(name: str) -> list[dict[str, str]]:
    with (specs_dir() / "sdtmig" / "3.4" / name).open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_every_dataset_and_variable_of_the_export(std: Standards) -> None:
    assert len(std.datasets) == 63
    assert sum(len(vs) for vs in std.variables.values()) == 1917
    rows = _export_rows("Variables.csv")
    for row in rows[::97]:  # a spread of rows: each is there with its label, type, role and core
        meta = std.variable(row["Dataset Name"], row["Variable Name"])
        assert meta is not None and not meta.model_allowed
        assert (meta.label, meta.type, meta.role, meta.core) == (
            row["Variable Label"].replace("\\n", "").strip(),
            row["Type"],
            row["Role"],
            row["Core"],
        )


@pytest.mark.skipif(not SHARED_IG.is_dir(), reason="the shared SDTMIG export is not beside the project")
def test_bundled_export_is_the_shared_one() -> None:
    for name in ("Datasets.csv", "Variables.csv"):
        assert (specs_dir() / "sdtmig" / "3.4" / name).read_bytes() == (SHARED_IG / name).read_bytes()


def test_labels_codelists_and_value_domains(std: Standards) -> None:
    assert std.variable("LB", "LBTESTCD").label == "Lab Test or Examination Short Name"
    assert std.variable("TS", "TSPARMCD").label == "Trial Summary Parameter Short Name"
    assert std.variable("GF", "GFSEQID").label == "Sequence Identifier"  # the export's literal "\n" cleaned
    assert std.variable("RS", "RSCAT").codelists == ("C124298", "C118971")
    assert std.variable("DS", "DSDECOD").codelists == ("C66727", "C114118", "C150811")
    assert std.variable("DM", "COUNTRY").codelist == "ISO3166"  # amendments.csv, from the CDISC notes
    assert std.variable("AE", "AESTDTC").format == "ISO 8601"
    assert std.variable("AE", "AEDECOD").value_domain == "MedDRA"
    assert std.variable("AE", "DOMAIN").value_list == ("AE",)
    assert "ISO 3166-1 Alpha-3" in std.variable("DM", "COUNTRY").notes


def test_dataset_classes_and_keys(std: Standards) -> None:
    kept = {
        "DM": "STUDYID USUBJID",
        "EX": "STUDYID USUBJID EXTRT EXSTDTC",
        "AE": "STUDYID USUBJID AEDECOD AESTDTC",
        "PR": "STUDYID USUBJID PRTRT PRSTDTC",
        "SUPPQUAL": "STUDYID RDOMAIN USUBJID IDVAR IDVARVAL QNAM",
        "RS": "STUDYID USUBJID RSTESTCD VISITNUM RSTPTREF RSEVAL RSTPTNUM RSEVALID",
    }
    for name, keys in kept.items():
        assert " ".join(std.datasets[name].keys) == keys
    assert std.datasets["TS"].keys == ("STUDYID", "TSPARMCD", "TSSEQ")
    assert std.datasets["TA"].keys == ("STUDYID", "ARMCD", "TAETORD")
    assert std.datasets["RELREC"].keys == ("STUDYID", "RDOMAIN", "USUBJID", "IDVAR", "IDVARVAL", "RELID")
    assert std.datasets["FT"].keys[2] == "FTTESTCD"
    assert std.datasets["TS"].klass == "TRIAL DESIGN" and std.datasets["TS"].reference_data
    assert not std.datasets["TS"].repeating and not std.datasets["DM"].repeating
    assert std.datasets["SV"].klass == "SPECIAL PURPOSE" and std.datasets["FA"].klass == "FINDINGS ABOUT"
    assert std.datasets["OI"].klass == "STUDY REFERENCE"
    # Every key names a variable of the dataset (the IG's, or one its class allows).
    for name, meta in std.datasets.items():
        for key in meta.keys:
            assert std.variable(name, key) is not None, (name, key)


def test_model_allowed_variables(std: Standards) -> None:
    assert std.variable("EX", "VISITNUM") is not None and "VISITNUM" not in {v.name for v in std.domain_variables("EX")}
    visitnum = std.variable("EX", "VISITNUM")
    assert (visitnum.label, visitnum.type, visitnum.role, visitnum.core, visitnum.model_allowed) == (
        "Visit Number",
        "Num",
        "Timing",
        "Perm",
        True,
    )
    aedtc = std.variable("AE", "AEDTC")
    assert (aedtc.label, aedtc.type, aedtc.role, aedtc.format) == (
        "Date/Time of Collection",
        "Char",
        "Timing",
        "ISO 8601",
    )
    assert std.variable("CM", "CMLNKGRP").label == "Link Group ID"
    assert std.variable("EX", "EXTPTREF").role == "Timing"
    assert std.variable("AE", "AEEVINTX") is not None
    # Qualifiers come from the domain's own class only.
    assert std.variable("AE", "AEDOSE") is None  # an Interventions qualifier
    assert std.variable("LB", "LBOCCUR") is None  # an Events/Interventions qualifier
    assert std.variable("CM", "CMDOSRGM") is not None  # Interventions qualifier listed for EX, allowed in CM
    assert std.variable("FA", "FAORRES").role == "Result Qualifier"
    # Special-purpose and trial design datasets take no class variables.
    assert std.variable("DM", "DMGRPID") is None and std.variable("TS", "VISITNUM") is None


def test_model_allowed_variables_take_their_place_in_order(std: Standards) -> None:
    ordered = std.ordered("EX", ["EXSTDTC", "VISITNUM", "EPOCH", "EXTRT", "STUDYID", "NOTSDTM"])
    assert ordered == ["STUDYID", "EXTRT", "VISITNUM", "EPOCH", "EXSTDTC", "NOTSDTM"]


def test_split_datasets_resolve_to_their_domain(std: Standards) -> None:
    assert domain_code("LBCH") == "LB" and domain_code("SUPPLBCH") == "LB" and domain_code("SUPPAE") == "AE"
    assert domain_code("RELREC") == "RELREC"
    assert std.dataset_domain("LBCH") == "LB" and std.dataset_domain("QSCO") == "QS"
    assert std.dataset_domain("SUPPQSCO") == "SUPPQUAL" and std.dataset_domain("FACM") == "FA"
    assert std.dataset("LBHE").label == "Laboratory Test Results"
    assert std.domain_variables("QSGI") == std.domain_variables("QS")
    assert std.variable("LBUR", "LBDTC").label == std.variable("LB", "LBDTC").label
    assert std.variable("SUPPLBCH", "QNAM").label == "Qualifier Variable Name"
    assert std.dataset_domain("XYZW") is None and std.dataset_domain("DMX") is None  # DM is not split


def test_custom_domain_takes_its_class_variables(std: Standards) -> None:
    custom = std.with_custom_domain("XR", "Findings", "Radiology Findings")
    meta = custom.dataset("XR")
    assert (meta.label, meta.klass, meta.custom) == ("Radiology Findings", "FINDINGS", True)
    assert meta.keys == ("STUDYID", "USUBJID", "XRTESTCD", "VISITNUM", "XRTPTREF", "XRTPTNUM")
    names = [v.name for v in custom.domain_variables("XR")]
    assert names[:3] == ["STUDYID", "DOMAIN", "USUBJID"]
    assert {"XRSEQ", "XRTESTCD", "XRTEST", "XRORRES", "XRSTRESC", "VISITNUM", "XRDTC", "EPOCH"} <= set(names)
    assert names.index("XRTESTCD") < names.index("XRORRES") < names.index("VISITNUM") < names.index("XRDTC")
    assert "XRTRT" not in names and "XRTERM" not in names  # other classes' topics
    assert {v.name for v in custom.domain_variables("XR") if v.core == "Req"} == {
        "STUDYID",
        "DOMAIN",
        "USUBJID",
        "XRSEQ",
        "XRTESTCD",
    }
    assert custom.variable("XR", "XRORRESU").codelist == "C71620"
    assert custom.variable("XRAB", "XRTESTCD") is not None  # a split of the custom domain
    assert std.dataset("XR") is None  # the standards it was made from are unchanged
    events = std.with_custom_domain("XE", "EVENTS", "Sponsor Events")
    assert events.dataset("XE").keys == ("STUDYID", "USUBJID", "XEDECOD", "XESTDTC")
    assert events.variable("XE", "XETERM").core == "Req"


@pytest.mark.parametrize(
    ("name", "klass", "message"),
    [
        ("AE", "Events", "already defines AE"),
        ("XYZ", "Findings", "two letters"),
        ("XR", "Trial Design", "not a general observation class"),
        ("SQ", "Findings", "may not be used"),
        ("DI", "Findings", "is a CDISC domain code"),
    ],
)
def test_custom_domain_errors(std: Standards, name: str, klass: str, message: str) -> None:
    with pytest.raises(StandardsError, match=message):
        std.with_custom_domain(name, klass, "Label")


def test_class_variables_table() -> None:
    _, _, classes = read_sdtmig(specs_dir() / "sdtmig" / "3.4")
    general = {cv.name for cv in classes["GENERAL OBSERVATIONS"]}
    for name in (
        "--GRPID",
        "--REFID",
        "--SPID",
        "--LNKID",
        "--LNKGRP",
        "VISITNUM",
        "VISIT",
        "VISITDY",
        "TAETORD",
        "EPOCH",
        "--DTC",
        "--STDTC",
        "--ENDTC",
        "--DY",
        "--STDY",
        "--ENDY",
        "--DUR",
        "--TPT",
        "--TPTNUM",
        "--ELTM",
        "--TPTREF",
        "--RFTDTC",
        "--STRF",
        "--ENRF",
        "--STRTPT",
        "--STTPT",
        "--ENRTPT",
        "--ENTPT",
        "--EVLINT",
        "--EVINTX",
    ):
        assert name in general, name
    assert {cv.name for cv in classes["FINDINGS ABOUT"]} == {"--OBJ"}
    assert "--TRT" in {cv.name for cv in classes["INTERVENTIONS"]}
    assert "--TERM" in {cv.name for cv in classes["EVENTS"]}


def test_broken_metadata_names_file_and_line(tmp_path: Path) -> None:
    ig = tmp_path / "sdtmig" / "3.4"
    shutil.copytree(specs_dir() / "sdtmig" / "3.4", ig)
    text = (ig / "Variables.csv").read_text(encoding="utf-8-sig").splitlines()
    text[3] = text[3].replace('"Char"', '"Text"', 1)
    (ig / "Variables.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(StandardsError, match=r"Variables\.csv:4: Type must be Char or Num, not 'Text'"):
        read_sdtmig(ig)


def test_compiled_sdtmig_is_rebuilt_when_a_file_changes(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(specs_dir() / "sdtmig", specs / "sdtmig")
    (specs / "ct").mkdir()
    (specs / "ct" / CT).symlink_to(specs_dir() / "ct" / CT)
    store = tmp_path / "store"
    assert read_standards(specs, "3.4", CT, home=store).datasets["AE"].keys == (
        "STUDYID",
        "USUBJID",
        "AEDECOD",
        "AESTDTC",
    )
    assert list((store / "cache").glob("sdtmig-3.4-*.bin"))
    keys = specs / "sdtmig" / "3.4" / "keys.csv"
    keys.write_text(
        keys.read_text(encoding="utf-8").replace(
            "AE,STUDYID USUBJID AEDECOD AESTDTC", "AE,STUDYID USUBJID AETERM AESTDTC"
        ),
        encoding="utf-8",
    )
    assert read_standards(specs, "3.4", CT, home=store).datasets["AE"].keys == (
        "STUDYID",
        "USUBJID",
        "AETERM",
        "AESTDTC",
    )


@pytest.mark.parametrize(
    ("domain", "variable", "unit"),
    [
        ("EX", "EXDOSE", "EXDOSU"),  # "Units for EXDOSE, EXDOSTOT, or EXDOSTXT"
        ("EX", "EXDOSTXT", "EXDOSU"),
        ("EX", "EXDOSFRQ", ""),  # a dosing frequency has no unit variable, though its name starts like EXDOSE
        ("LB", "LBORRES", "LBORRESU"),
        ("VS", "VSSTRESC", "VSSTRESU"),  # VSRESU, not the UNIT codelist: the notes decide
        ("EC", "ECPSTRG", "ECPSTRGU"),
        ("DM", "AGE", "AGEU"),
        ("LB", "LBSTRESU", ""),  # LBSTNRLO mentions LBSTRESU in its notes, but holds no units
        ("AE", "AETERM", ""),
    ],
)
def test_the_unit_variable_of_a_variable_comes_from_sdtmig_notes(
    std: Standards, domain: str, variable: str, unit: str
) -> None:
    assert std.unit_qualifier(domain, variable) == unit


def test_topic_variables_by_sdtmig_role(std: Standards) -> None:
    assert [std.topic_variable(d) for d in ("EX", "AE", "LB", "LBCH", "DM")] == [
        "EXTRT",
        "AETERM",
        "LBTESTCD",
        "LBTESTCD",
        "SUBJID",
    ]


def test_dictionaries_by_dictnam_name_synonym_or_alias(std: Standards) -> None:
    found = {
        n: (t.submission_value if (t := std.dictionary(n)) else None)
        for n in ("MEDDRA", "WHODRUG", "WHODrug Global", "CDISC", "iso  3166", "MedDRAX")
    }
    assert found == {
        "MEDDRA": "MedDRA",
        "WHODRUG": "WHODD",
        "WHODrug Global": "WHODD",
        "CDISC": "CDISC CT",
        "iso  3166": "ISO 3166",
        "MedDRAX": None,
    }
    coded = {
        v: (t.submission_value if (t := std.coding_dictionary(d, v)) else None)
        for d, v in (("AE", "AEDECOD"), ("AE", "AEBODSYS"), ("MH", "MHDECOD"), ("CM", "CMDECOD"), ("AE", "AETERM"))
    }
    # CMDECOD is dictionary-derived, but SDTMIG names no dictionary for it ("WHO Drug" in passing): the spec says.
    assert coded == {"AEDECOD": "MedDRA", "AEBODSYS": "MedDRA", "MHDECOD": "MedDRA", "CMDECOD": None, "AETERM": None}
