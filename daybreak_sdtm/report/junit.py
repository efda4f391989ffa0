"""JUnit XML for CI: one testsuite per dataset, one testcase per check, a failure per finding at/above the threshold."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from daybreak_sdtm.findings import Report, Severity
from daybreak_sdtm.report.rules import implements_line
from daybreak_sdtm.report.text import finding_line


def render_junit(report: Report, threshold: Severity = Severity.ERROR) -> str:
    """Valid JUnit XML (the schema Jenkins, GitLab and GitHub reporters read).

    Every check that ran is a testcase of every dataset, so a clean package shows passed tests;
    findings below ``threshold`` appear in ``system-out`` and do not fail the case. The text of a
    failure and of ``system-out`` starts with the published rules the check implements.
    """
    from daybreak_sdtm.checks import CHECKS

    root = ET.Element("testsuites", name="daybreak-sdtm validation")
    datasets = list(report.datasets) or sorted({f.dataset for f in report.findings})
    extra = sorted({f.dataset for f in report.findings} - set(datasets))
    total_tests = total_failures = 0
    for dataset in datasets + extra:
        found = [f for f in report.findings if f.dataset == dataset]
        suite = ET.SubElement(root, "testsuite", name=dataset or "package")
        tests = failures = 0
        for code, item in sorted(CHECKS.items()):
            official = implements_line(code)
            case = ET.SubElement(suite, "testcase", classname=f"{dataset or 'package'}", name=f"{code} {item.name}")
            tests += 1
            mine = [f for f in found if f.rule == code]
            failing = [f for f in mine if f.severity >= threshold]
            if failing:
                failures += 1
                failure = ET.SubElement(
                    case,
                    "failure",
                    message=f"{len(failing)} finding(s): {failing[0].message}",
                    type=str(failing[0].severity),
                )
                failure.text = "\n".join([f"{code} {official}", *(finding_line(f) for f in failing)])
            quiet = [f for f in mine if f.severity < threshold]
            if quiet:
                ET.SubElement(case, "system-out").text = "\n".join(
                    [f"{code} {official}", *(finding_line(f) for f in quiet)]
                )
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        total_tests += tests
        total_failures += failures
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", "0")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
