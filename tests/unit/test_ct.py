"""CDISC SDTM CT as NCI EVS publishes it: import, checks of a broken file, the compiled copy, lookups."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest

from daybreak_sdtm import api
from daybreak_sdtm.cli import main
from daybreak_sdtm.errors import StandardsError
from daybreak_sdtm.resources import specs_dir
from daybreak_sdtm.standards import read_standards
from daybreak_sdtm.standards.ct import load_terminology, read_nci
from daybreak_sdtm.standards.store import compiled_path, find_release

SHARED_CT = (
    Path(__file__).resolve().parents[3] / "shared" / "standards" / "sdtm-ct" / "2025-03-28" / "SDTM Terminology.txt"
)
BUNDLED_CT = specs_dir() / "ct" / "2025-03-28" / "SDTM Terminology.txt.gz"
HEADER = (
    "Code\tCodelist Code\tCodelist Extensible (Yes/No)\tCodelist Name\tCDISC Submission Value\t"
    "CDISC Synonym(s)\tCDISC Definition\tNCI Preferred Term\n"
)


@pytest.fixture(scope="module")
def nci_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 2025-03-28 release as NCI EVS names it: the shared file when there, else the bundled copy."""
    target = tmp_path_factory.mktemp("nci") / "SDTM Terminology 2025-03-28.txt"
    if SHARED_CT.is_file():
        shutil.copyfile(SHARED_CT, target)
    else:
        target.write_bytes(gzip.decompress(BUNDLED_CT.read_bytes()))
    return target


def _write(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")
    return path


def test_bundled_release_is_the_published_file() -> None:
    if SHARED_CT.is_file():
        assert gzip.decompress(BUNDLED_CT.read_bytes()) == SHARED_CT.read_bytes()
    terminology = read_nci(BUNDLED_CT)
    assert (len(terminology.codelists), terminology.term_count) == (1158, 43698)


def test_import_the_nci_file_and_use_it_by_date(nci_file: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    summary = api.ct_import(nci_file, store=store)
    assert (summary.date, summary.codelists, summary.terms) == ("2025-03-28", 1158, 43698)
    assert summary.source == store / "ct" / "2025-03-28" / "SDTM Terminology.txt.gz"
    assert gzip.decompress(summary.source.read_bytes()) == nci_file.read_bytes()
    # The same release under another date, from --date: read back through read_standards.
    other = api.ct_import(nci_file, date="2030-01-31", store=store)
    assert other.date == "2030-01-31" and not other.replaces_bundled
    std = read_standards(specs_dir(), "3.4", "2030-01-31", home=store)
    assert std.ct_version == "2030-01-31"
    sex = std.codelist("SEX")
    assert (sex.code, sex.name, sex.extensible) == ("C66731", "Sex", False)
    assert sex.term("F").code == "C16576" and sex.term("F").preferred_term == "Female"
    unit = std.codelist("C71620")
    assert unit.submission_value == "UNIT" and unit.extensible
    assert unit.term("mg").code == "C28253"
    # Synonyms and NCI preferred terms find the submission value, whatever their case.
    assert sex.lookup["FEMALE"] == "F"
    assert std.codelist("NY").lookup["YES"] == "Y"
    route = std.codelist("ROUTE")
    assert route.lookup["INTRACERVICAL ROUTE OF ADMINISTRATION"] == "ENDOCERVICAL"  # a CDISC synonym
    assert route.lookup["INTRAVENOUS ROUTE OF ADMINISTRATION"] == "INTRAVENOUS"  # the NCI preferred term
    listed = {(r.date, r.origin) for r in api.ct_list(store=store)}
    assert {("2025-03-28", "imported"), ("2030-01-31", "imported")} <= listed


def test_ct_cli(nci_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store"
    assert main(["ct", "import", str(nci_file), "--date", "2031-06-30", "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "CT 2031-06-30: 1,158 codelists, 43,698 terms" in out
    assert main(["ct", "list", "--store", str(store)]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert rows[0][:4] == ["2025-03-28", "bundled", "1158", "43698"]
    assert rows[1][:4] == ["2031-06-30", "imported", "1158", "43698"]
    assert main(["ct", "import", str(nci_file), "--date", "2031-02-30", "--store", str(store)]) == 3
    assert "'2031-02-30' is not a calendar date" in capsys.readouterr().err


def test_unknown_release_lists_what_there_is(tmp_path: Path) -> None:
    with pytest.raises(
        StandardsError, match=r"'1999-01-01' is neither bundled nor imported \(bundled: 2025-03-28; imported: none\)"
    ):
        read_standards(specs_dir(), "3.4", "1999-01-01", home=tmp_path)


def test_validate_with_an_unknown_ct_date_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pkg").mkdir()
    assert main(["validate", str(tmp_path / "pkg"), "--ct", "2001-01-01"]) == 3
    assert "CT package '2001-01-01' is neither bundled nor imported" in capsys.readouterr().err


def test_file_name_without_date_needs_date(tmp_path: Path) -> None:
    path = _write(tmp_path / "SDTM Terminology.txt", ["C1\t\tNo\tList\tLST\t\t\t"])
    with pytest.raises(StandardsError, match=r"gives no release date .* --date"):
        api.ct_import(path, store=tmp_path / "store")


def test_missing_column_is_reported_with_line(tmp_path: Path) -> None:
    header = HEADER.replace("\tNCI Preferred Term", "")
    path = _write(tmp_path / "SDTM Terminology 2025-06-27.txt", ["C1\t\tNo\tList\tLST\t\t"], header=header)
    with pytest.raises(
        StandardsError, match=r"SDTM Terminology 2025-06-27\.txt:1: missing column\(s\) NCI Preferred Term"
    ):
        api.ct_import(path, store=tmp_path / "store")
    assert not (tmp_path / "store" / "ct").exists()  # nothing stored


def test_every_row_problem_is_reported_with_its_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "SDTM Terminology 2025-06-27.txt",
        [
            "C1\t\tNo\tFirst List\tFIRST\t\t\t",
            "C11\tC1\t\tFirst List\tA\tAlpha\t\tAlpha",
            "C2\t\tMaybe\tSecond List\tSECOND\t\t\t",
            "C21\tC9\t\tNo List\tB\t\t\tBeta",
            "C12\tC1\t\tFirst List\tC",
        ],
    )
    with pytest.raises(StandardsError) as err:
        read_nci(path)
    lines = str(err.value).splitlines()
    assert lines == [
        f"{path}:4: codelist C2: Codelist Extensible (Yes/No) is 'Maybe', not Yes or No",
        f"{path}:6: 5 tab-separated field(s), the header has 8",
        f"{path}:5: term C21 ('B') names codelist C9, which the file does not define",
    ]
    assert main(["ct", "import", str(path), "--store", str(tmp_path / "store")]) == 3


def test_compiled_copy_is_rebuilt_when_the_source_changes(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "SDTM Terminology.txt",
        [
            "C1\t\tNo\tFirst List\tFIRST\t\t\t",
            "C11\tC1\t\tFirst List\tA\tAlpha; First\tDef A\tAlpha",
        ],
    )
    compiled = tmp_path / "cache" / "ct.bin"
    table = load_terminology(source, compiled)
    assert compiled.is_file() and table["C1"].submission_values == {"A"}
    assert table["C1"].lookup["FIRST"] == "A"
    built = compiled.stat().st_mtime_ns
    assert load_terminology(source, compiled)["C1"].term("A").definition == "Def A"
    assert compiled.stat().st_mtime_ns == built  # fresh: read, not rebuilt
    _write(
        source,
        [
            "C1\t\tYes\tFirst List\tFIRST\t\t\t",
            "C11\tC1\t\tFirst List\tA\tAlpha\t\tAlpha",
            "C12\tC1\t\tFirst List\tB\tBeta\t\tBeta",
        ],
    )
    os.utime(source, ns=(built + 10**9, built + 10**9))
    table = load_terminology(source, compiled)
    assert table["C1"].extensible and table["C1"].submission_values == {"A", "B"}
    assert table.code_of("FIRST") == "C1"
    assert load_terminology(source, compiled)["C1"].submission_values == {"A", "B"}
    compiled.write_bytes(b"garbage")  # a damaged copy is rebuilt too
    assert load_terminology(source, compiled)["C1"].submission_values == {"A", "B"}


def test_unwritable_store_reads_the_file_in_process(tmp_path: Path) -> None:
    source = _write(
        tmp_path / "SDTM Terminology.txt", ["C1\t\tNo\tFirst List\tFIRST\t\t\t", "C11\tC1\t\tFirst List\tA\t\t\t"]
    )
    blocker = tmp_path / "file"
    blocker.write_text("not a folder", encoding="utf-8")
    table = load_terminology(source, blocker / "cache" / "ct.bin")
    assert table["C1"].submission_values == {"A"} and table.counts() == (1, 1)


def test_bundled_release_is_compiled_once(tmp_path: Path) -> None:
    release = find_release(specs_dir(), "2025-03-28", tmp_path)
    std = read_standards(specs_dir(), "3.4", "2025-03-28", home=tmp_path)
    assert compiled_path(release, tmp_path).is_file()
    assert len(std.codelists) == 1159  # 1,158 CDISC codelists and ISO 3166
    assert std.codelists.counts() == (1158, 43698)


def test_country_codes(tmp_path: Path) -> None:
    std = read_standards(specs_dir(), "3.4", "2025-03-28", home=tmp_path)
    countries = std.codelist(std.variable("DM", "COUNTRY").codelist)
    assert {"USA", "CHN", "FRA", "DEU"} <= countries.submission_values
    assert len(countries.terms) >= 249
    assert countries.lookup["UNITED STATES"] == "USA" and countries.lookup["CN"] == "CHN"
    assert "US" not in countries.submission_values
