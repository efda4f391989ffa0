"""Reports of big runs: findings grouped by rule with exact counts, capped details, JSON streamed; read back."""

from __future__ import annotations

import io
import json
import shutil
import tracemalloc
from pathlib import Path

import pytest
from lxml import html as lxml_html

from daybreak_sdtm.cli import main
from daybreak_sdtm.findings import Finding, Report, Severity, group_by_rule
from daybreak_sdtm.report import render_text, write_html, write_json
from daybreak_sdtm.resources import default_export_dir
from tests.browser import chromium_path, dump_dom

TS = ["--timestamp", "2026-10-01T00:00:00"]


def _findings(counts: dict[tuple[str, Severity, str], int]) -> list[Finding]:
    """``n`` findings per (rule, severity, dataset), one per row, each with a distinct value."""
    return [
        Finding(
            rule,
            sev,
            dataset,
            "VAR",
            row,
            f"{rule} broken in {dataset} row {row}",
            usubjid=f"S-{row:05d}",
            seq=row,
            value=str(row),
            source=f"{dataset.lower()}.csv record {row}",
            spec="x.yaml:1:2",
        )
        for (rule, sev, dataset), n in counts.items()
        for row in range(1, n + 1)
    ]


COUNTS = {
    ("DB106", Severity.ERROR, "EX"): 1500,
    ("DB106", Severity.ERROR, "DM"): 3,
    ("DB201", Severity.WARNING, "AE"): 800,
    ("DB201", Severity.ERROR, "AE"): 40,
    ("DB201", Severity.WARNING, "EX"): 700,
    ("DB403", Severity.ERROR, "AE"): 2,
}
BIG = Report.of(_findings(COUNTS), ["AE", "DM", "EX"])


def test_groups_count_exactly_and_keep_examples_from_every_dataset() -> None:
    groups = group_by_rule(BIG.findings, 5)
    assert [g.rule for g in groups] == ["DB106", "DB201", "DB403"]  # error rules first, then by id
    db106, db201, db403 = groups
    assert db106.by_dataset == {"DM": 3, "EX": 1500} and db106.total == 1503 and db106.not_shown == 1498
    assert db201.by_severity == {Severity.ERROR: 40, Severity.WARNING: 1500} and db201.severity == Severity.ERROR
    assert db201.by_dataset == {"AE": 840, "EX": 700}
    assert len(db106.examples) == 5 and {f.dataset for f in db106.examples} == {"DM", "EX"}
    assert {f.dataset for f in db201.examples} == {"AE", "EX"}
    assert list(db106.examples) == sorted(db106.examples, key=Finding.sort_key)
    assert db403.examples == tuple(f for f in BIG.findings if f.rule == "DB403") and db403.not_shown == 0
    assert all(not g.examples for g in group_by_rule(BIG.findings, 0))


def test_text_report_groups_by_rule_with_exact_totals() -> None:
    text = render_text(BIG, max_per_rule=3)
    lines = text.splitlines()
    assert "DB106 structure.value_in_range: 1503 error(s); DM 3, EX 1500" in lines
    assert "  implements CORE CORE-000308, CORE-000310; FDA FB4001, FB4002, SD0014, SD0084" in lines
    assert "DB201 ct.value_in_codelist: 40 error(s), 1500 warning(s); AE 840, EX 700" in lines
    examples = [x for x in lines if x.startswith("x.yaml:1:2: ")]
    assert len(examples) == 3 + 3 + 2
    more = {x.split()[3]: int(x.split()[1]) for x in lines if x.startswith("... ")}
    assert more == {"DB106": 1500, "DB201": 1537}
    assert "validation: 1545 error(s), 1500 warning(s), 0 note(s) in 3 dataset(s)" in lines
    assert "  DB201 warning AE       800" in lines  # the summary keeps its counts per rule and dataset
    assert len(lines) < 40


def test_text_report_lists_only_findings_at_or_above_the_threshold() -> None:
    text = render_text(BIG, Severity.ERROR, max_per_rule=100)
    assert "DB201 ct.value_in_codelist: 40 error(s); AE 40" in text.splitlines()
    assert " DB201 warning: " not in text and text.count(" DB201 error: ") == 40


def test_json_report_is_complete_and_in_the_documented_shape() -> None:
    out = io.StringIO()
    write_json(BIG, out)
    doc = json.loads(out.getvalue())
    assert list(doc) == ["findings", "rules", "summary"]
    assert doc["findings"] == [f.to_dict() for f in BIG.findings]
    assert list(doc["findings"][0]) == [
        "rule",
        "severity",
        "dataset",
        "variable",
        "row",
        "message",
        "usubjid",
        "seq",
        "value",
        "source",
        "spec",
        "core",
        "fingerprint",
        "disposition",
        "explanation",
    ]
    assert doc["summary"] == BIG.summary()
    assert doc["summary"]["by_rule"] == {"DB106": 1503, "DB201": 1540, "DB403": 2}
    # Each rule of the findings with the published rules it implements.
    assert list(doc["rules"]) == ["DB106", "DB201", "DB403"]
    assert doc["rules"]["DB106"] == {
        "name": "structure.value_in_range",
        "cdisc": [],
        "core": ["CORE-000308", "CORE-000310"],
        "fda": ["FB4001", "FB4002", "SD0014", "SD0084"],
        "no_counterpart": "",
    }
    empty = io.StringIO()
    write_json(Report.of([], ["DM"]), empty)
    assert json.loads(empty.getvalue()) == {"findings": [], "rules": {}, "summary": Report.of([], ["DM"]).summary()}


class _Sink(io.TextIOBase):
    """A stream that counts what it is given and keeps none of it."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, text: str) -> int:
        self.size += len(text)
        return len(text)


def _json_peak(findings: int) -> tuple[int, int]:
    """(peak memory traced while writing the JSON report of ``findings`` findings, its length)."""
    report = Report.of(_findings({("DB106", Severity.ERROR, "EX"): findings}), ["EX"])
    sink = _Sink()
    tracemalloc.start()
    try:
        write_json(report, sink)
        return tracemalloc.get_traced_memory()[1], sink.size
    finally:
        tracemalloc.stop()


def test_json_report_is_written_as_a_stream() -> None:
    """The memory writing takes does not grow with the number of findings."""
    small_peak, small_size = _json_peak(5_000)
    big_peak, big_size = _json_peak(50_000)
    assert big_size > 9 * small_size > 9 * 2**20
    assert big_peak < 1.5 * small_peak and big_peak < big_size / 10, (small_peak, big_peak, big_size)


def _parse(page: str) -> lxml_html.HtmlElement:
    return lxml_html.fromstring(page)


def test_html_report_summarises_every_finding_and_details_some(tmp_path: Path) -> None:
    out = io.StringIO()
    write_html(BIG, out, max_per_rule=10, full_report="validation.json")
    dom = _parse(out.getvalue())
    summary = {
        (tr[0].text_content(), tr[1].text_content(), tr[2].text_content()): int(tr[3].text_content())
        for tr in dom.get_element_by_id("summary").findall("tr")[1:]
    }
    assert summary == {(r, str(s), d): n for (r, s, d), n in COUNTS.items()}
    implements = {
        tr[0].text_content(): tr[4].text_content() for tr in dom.get_element_by_id("summary").findall("tr")[1:]
    }
    assert implements["DB106"] == "CORE-000308 CORE-000310 FB4001 FB4002 SD0014 SD0084"
    assert "Implements: CORE CORE-000308, CORE-000310" in dom.get_element_by_id("DB106").text_content()
    table = dom.get_element_by_id("findings")
    rows = [tr for tr in table.findall("tr")[1:] if "more" not in tr.get("class", "")]
    per_rule: dict[str, int] = {}
    for tr in rows:
        per_rule[tr[0].text_content()] = per_rule.get(tr[0].text_content(), 0) + 1
    assert per_rule == {"DB106": 10, "DB201": 10, "DB403": 2}
    more = {
        tr.get("data-rule"): int(tr.get("data-not-shown")) for tr in table.findall("tr") if tr.get("class") == "more"
    }
    assert more == {"DB106": 1493, "DB201": 1530}
    assert sum(more.values()) + len(rows) == len(BIG.findings)
    assert all(
        tr.find(".//a").get("href") == "validation.json" for tr in table.findall("tr") if tr.get("class") == "more"
    )
    assert dom.get_element_by_id("shown").text_content().startswith("22 of 3045 findings shown, at most 10 per rule")
    assert len(out.getvalue()) < 60_000


def test_html_report_of_few_findings_shows_them_all() -> None:
    small = Report.of(_findings({("DB403", Severity.ERROR, "AE"): 3}), ["AE"])
    page = io.StringIO()
    write_html(small, page)
    dom = _parse(page.getvalue())
    assert len(dom.get_element_by_id("findings").findall("tr")) == 1 + 3
    assert dom.find(".//*[@id='shown']") is None and not dom.find_class("more")


@pytest.fixture(scope="module")
def broken_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled export with every EX dose negative: one DB106 finding per administered dose."""
    export = tmp_path_factory.mktemp("export") / "export"
    shutil.copytree(default_export_dir(), export)
    ex = export / "ex.csv"
    lines = ex.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    doses = [i for i, name in enumerate(header) if name.endswith("_DOSE")]
    rows = []
    for line in lines[1:]:
        cells = line.split(",")
        for i in doses:
            if cells[i]:
                cells[i] = "-" + cells[i]
        rows.append(",".join(cells))
    ex.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    return export


def test_convert_max_per_rule_caps_printed_findings_and_html_not_json(
    broken_export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sdtm"
    assert main(["convert", "--export", str(broken_export), "--out", str(out), "--max-per-rule", "3", *TS]) == 1
    text = capsys.readouterr().out
    header = next(x for x in text.splitlines() if x.startswith("DB106 "))
    total = int(header.split(": ")[1].split()[0])
    assert total > 500 and header.endswith(f"; EX {total}")
    assert sum("DB106 error: EX.EXDOSE row " in x for x in text.splitlines()) == 3
    assert f"... {total - 3} more DB106 finding(s) not shown" in text
    assert not out.exists()

    assert (
        main(
            [
                "convert",
                "--export",
                str(broken_export),
                "--out",
                str(out),
                "--fail-on",
                "never",
                "--max-per-rule",
                "4",
                *TS,
            ]
        )
        == 0
    )
    doc = json.loads((out / "validation.json").read_text(encoding="utf-8"))
    assert sum(f["rule"] == "DB106" for f in doc["findings"]) == doc["summary"]["by_rule"]["DB106"] == total
    dom = _parse((out / "validation.html").read_text(encoding="utf-8"))
    detailed = [tr for tr in dom.get_element_by_id("findings").findall("tr")[1:] if tr.get("class") == "error"]
    assert [tr[0].text_content() for tr in detailed].count("DB106") == 4
    more = dom.find_class("more")
    assert [(tr.get("data-rule"), int(tr.get("data-not-shown"))) for tr in more] == [("DB106", total - 4)]
    assert more[0].find(".//a").get("href") == "validation.json"


def test_validate_max_per_rule_in_text_and_html(
    broken_export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sdtm"
    assert main(["convert", "--export", str(broken_export), "--out", str(out), "--fail-on", "never", *TS]) == 0
    capsys.readouterr()
    assert main(["validate", str(out), "--max-per-rule", "2"]) == 1
    text = capsys.readouterr().out
    assert sum("DB106 error: EX.EXDOSE row " in x for x in text.splitlines()) == 2
    assert main(["validate", str(out)]) == 1  # default: 5 a rule
    assert sum("DB106 error: EX.EXDOSE row " in x for x in capsys.readouterr().out.splitlines()) == 5
    page = tmp_path / "report.html"
    assert main(["validate", str(out), "--format", "html", "--max-per-rule", "0", "-o", str(page)]) == 1
    dom = _parse(page.read_text(encoding="utf-8"))
    assert len(dom.get_element_by_id("findings").findall("tr")) == 1 + 1  # header and the "not shown" row
    assert "--format json" in dom.find_class("more")[0].text_content()
    assert not list(tmp_path.glob(".*.partial"))
    report = tmp_path / "report.json"
    assert main(["validate", str(out), "--format", "json", "--max-per-rule", "1", "-o", str(report)]) == 1
    doc = json.loads(report.read_text(encoding="utf-8"))
    assert len(doc["findings"]) == doc["summary"]["total"] > 500


def test_max_per_rule_must_be_a_count() -> None:
    for bad in ("-1", "many"):
        with pytest.raises(SystemExit) as exc:
            main(["validate", ".", "--max-per-rule", bad])
        assert exc.value.code == 2


def test_validate_report_into_a_missing_folder_is_an_error(
    broken_export: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sdtm"
    assert main(["convert", "--export", str(broken_export), "--out", str(out), "--fail-on", "never", *TS]) == 0
    missing = tmp_path / "no-such-folder" / "report.json"
    assert main(["validate", str(out), "--format", "json", "-o", str(missing)]) == 3
    assert f"error: {missing}: cannot write the report" in capsys.readouterr().err
    assert not missing.parent.exists()


def test_capped_html_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    chromium_path()
    page = tmp_path / "validation.html"
    with page.open("w", encoding="utf-8") as out:
        write_html(BIG, out, max_per_rule=25, full_report="validation.json")
    dom = _parse(dump_dom(page))
    findings = dom.get_element_by_id("findings")
    assert len(findings.find_class("error")) + len(findings.find_class("warning")) == 25 + 25 + 2
    assert [tr.text_content() for tr in findings.find_class("more")] == [
        "1478 more DB106 finding(s) not shown (of 1503); every finding is in validation.json",
        "1515 more DB201 finding(s) not shown (of 1540); every finding is in validation.json",
    ]
    assert "52 of 3045 findings shown" in dom.get_element_by_id("shown").text_content()
