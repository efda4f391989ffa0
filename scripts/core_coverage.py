"""The README's coverage of CDISC CORE's SDTMIG 3.4 rules: how many our checks implement, by rule class, and why the rest are left.

Usage::

    python scripts/core_coverage.py [--rules ../shared/reference/core-rules-sdtmig.csv] [--write-readme]

It reads CORE's rule list (``core-rules-sdtmig.csv``: CORE id, SDTMIG versions, CDISC and FDA ids,
classes, domains, rule type, description, message) and the checks' declarations (``implements=``
in ``daybreak_sdtm/checks``), and prints the Markdown tables of the README's crosswalk and coverage: each check and the rules it
implements, CORE's rules by class, and the rules left by reason;
``--write-readme`` puts them between the section's markers. ``tests/checks/test_crosswalk.py``
holds the README to what this computes.

A rule applies when its SDTMIG versions include 3.4 and its datasets are ones a package of
SDTMIG 3.4 can hold (every SDTMIG 3.4 dataset, with SUPP-- and split datasets); rules of the
Associated Persons datasets (AP--), of datasets SDTMIG 3.4 no longer has (SJ, TP, TT) or of SEND's
(TX) do not. Each rule left is given the first reason that fits it, from its text.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT.parent / "shared" / "reference" / "core-rules-sdtmig.csv"
README = ROOT / "README.md"
BEGIN = "<!-- core-coverage: begin (scripts/core_coverage.py --write-readme) -->"
END = "<!-- core-coverage: end -->"
VERSION = "3.4"
# Datasets no SDTMIG 3.4 package holds: Associated Persons (their own IG), SDTMIG 3.2/3.3's SJ, TP
# and TT, and SEND's TX.
OUTSIDE = frozenset({"AP--", "SJ", "TP", "TT", "TX"})
# The CORE classes a rule's row names (several for some), as the README's table groups them.
CLASSES = (
    "ALL",
    "SPECIAL PURPOSE",
    "TRIAL DESIGN",
    "INTERVENTIONS",
    "EVENTS",
    "FINDINGS ABOUT",
    "FINDINGS",
    "RELATIONSHIP",
    "STUDY REFERENCE",
)
SEVERAL = "several classes"
# Why a rule our checks do not implement is left, the first that fits its text (description and
# message), in this order; the last one fits every rule.
REASONS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "about MedDRA coding (--BODSYS, --SOC, --PTCD, --LLT ...) or a dictionary's published versions: no MedDRA or list of releases is bundled",
        re.compile(
            r"MedDRA|--?(?:BODSYS|BDSYCD|SOC|SOCCD|PTCD|LLT|LLTCD|HLT|HLTCD|HLGT|HLGTCD)\b|\bSOC\b|"
            r"UNII|SNOMED|MED-RT|NDF-RT|valid (?:published version|code in the version)"
        ),
    ),
    (
        "reads define.xml metadata (DB501 holds the define to the data)",
        re.compile(r"define-xml|define\.xml|metadata attribute", re.IGNORECASE),
    ),
    (
        "a variable that must not be present (SEND's, or one SDTMIG 3.4 removed): DB112 warns of every variable SDTMIG does not define",
        re.compile(
            r"^(?:Raise an error|Trigger error) when [\w-]+ (?:is present|exists in (?:the )?\w+ dataset)"
            r"(?: in (?:an? )?\w+ (?:dataset|domain))?(?: in dataset)?\.?$|must not be present|must never be used|"
            r"^Verify(?:ing)? (?:presence of SEND|variable \w+ does not exist)|not be used to model|"
            r"is present in a dataset other than|^When EC exists, EX\w+ should not be used",
            re.IGNORECASE,
        ),
    ),
    (
        "needs a dataset neither bundled study maps, so no test data (IE, EC, SS, DD, MS, PC/PP, FA, DV, SM/TM, CO, RELREC, RELSUB)",
        re.compile(
            r"\b(?:RELREC|RELSUB|RELID|RSUBJID|POOLID|CO|SM|TM|MIDS\w*|DD|SS|SS\w+|MS|MB|PC|PP|FAOBJ|IE\w*|DV\w*|EC\w*)\b"
        ),
    ),
    (
        "a planned visit is SV's SVPRESP = Y, which records of other domains do not carry (SV's own: CORE-000036, CORE-000039)",
        re.compile(r"VISIT(?:NUM)? is planned \(SVPRESP = 'Y'\)"),
    ),
    (
        "--STTPT/--ENTPT are time points in words (SCREENING, END OF STUDY), so whether one is before the collection date is not in the data (CORE-000572 holds --ENRTPT to its whole list)",
        re.compile(
            r"--STRTPT is not in \('BEFORE', 'COINCIDENT', 'AFTER', 'UNKNOWN'\) and --STTPT is prior|"
            r"--STTPT is equal to the date of collection|--ENRTPT is not in \('BEFORE', 'COINCIDENT', 'ONGOING', 'UNKNOWN'\)$"
        ),
    ),
    (
        "a split dataset (LBCH) replaces its two-letter domain (SDTMIG 4.1.7), so requiring the parent in the package would report every split package",
        re.compile(r"do not have a two-letter parent domain present"),
    ),
    (
        "title case as CORE tests it fails SDTMIG's own labels (Reported Term for the Adverse Event); DB502 holds labels to SDTMIG's",
        re.compile(r"variable label is not in title case", re.IGNORECASE),
    ),
    (
        "what the protocol or the sponsor's definitions say (protocol-specified treatment, the milestone RFSTDTC marks) is not in the data",
        re.compile(r"protocol-specified study treatment|milestone associated with RFSTDTC"),
    ),
    (
        "needs the SE element whose dates span each visit (DB406 places records in SE's elements for EPOCH; SV's TAETORD is not compared yet)",
        re.compile(r"TAETORD values don't match between Subject Visits"),
    ),
    (
        "a sponsor domain's code (SDTMIG 2.6: X-, Y-, Z- and others) is by design in no CT list; DB107 holds DOMAIN to the dataset's name",
        re.compile(r"DOMAIN Code is not a valid Domain Code published by CDISC"),
    ),
    ("not implemented yet", re.compile(r"")),
)


@dataclass(frozen=True)
class Rule:
    """One rule of CORE's list, as the coverage counts it."""

    core_id: str
    klass: str
    applies: bool
    description: str
    message: str


@dataclass(frozen=True)
class Coverage:
    """The counts of the README's two tables.

    Attributes:
        by_class: Class -> (rules for SDTMIG 3.4, outside what a 3.4 package holds, applicable,
            implemented), in ``CLASSES`` order, then ``SEVERAL``.
        left: Reason -> number of applicable rules left for it, in ``REASONS`` order.
        examples: Reason -> a few CORE ids of the rules left for it.
    """

    by_class: dict[str, tuple[int, int, int, int]]
    left: dict[str, int]
    examples: dict[str, tuple[str, ...]]

    @property
    def totals(self) -> tuple[int, int, int, int]:
        """The column sums of ``by_class``."""
        rows = list(self.by_class.values())
        return (
            sum(r[0] for r in rows),
            sum(r[1] for r in rows),
            sum(r[2] for r in rows),
            sum(r[3] for r in rows),
        )


def class_of(classes: str) -> str:
    """A row's CORE classes as one table row: the class, or ``several classes``."""
    text = classes.replace("(not RELATIONSHIP)", "ALL")
    found = []
    for name in CLASSES:
        if re.search(rf"\b{name}\b", text):
            found.append(name)
            text = re.sub(rf"\b{name}\b", " ", text)
    return found[0] if len(set(found)) == 1 else SEVERAL


def applies(domains: str) -> bool:
    """Whether a rule of these datasets (``AE``, ``ALL``, `` (not AP--)``, ``SE TA``) can fire on an SDTMIG 3.4 package."""
    if "(not" in domains or "ALL" in domains.split():
        return True
    return any(d not in OUTSIDE for d in domains.split())


def read_rules(path: Path) -> list[Rule]:
    """CORE's rules for SDTMIG 3.4."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if VERSION in r["sdtmig_versions"].split()]
    return [
        Rule(
            r["core_id"], class_of(r["classes"]), applies(r["domains"]), r["description"].strip(), r["message"].strip()
        )
        for r in rows
    ]


def implemented() -> frozenset[str]:
    """The CORE ids our checks declare they implement."""
    sys.path.insert(0, str(ROOT))
    from daybreak_sdtm.checks import CHECKS

    return frozenset(i for c in CHECKS.values() for i in c.implements.core)


def reason(rule: Rule) -> str:
    """Why a rule our checks do not implement is left: the first of ``REASONS`` its description (or message) fits."""
    return next(name for name, pattern in REASONS if pattern.search(rule.description) or pattern.search(rule.message))


def coverage(path: Path = RULES) -> Coverage:
    """The coverage of CORE's SDTMIG 3.4 rules (``path``: CORE's rule list) by our checks."""
    rules = read_rules(path)
    ours = implemented()
    by_class: dict[str, tuple[int, int, int, int]] = {}
    for name in (*CLASSES, SEVERAL):
        mine = [r for r in rules if r.klass == name]
        if mine:
            live = [r for r in mine if r.applies]
            by_class[name] = (len(mine), len(mine) - len(live), len(live), sum(r.core_id in ours for r in live))
    left = [r for r in rules if r.applies and r.core_id not in ours]
    why = Counter(reason(r) for r in left)
    examples = {
        name: tuple(sorted(r.core_id for r in left if reason(r) == name)[:3]) for name, _ in REASONS if why[name]
    }
    return Coverage(by_class, {name: why[name] for name, _ in REASONS if why[name]}, examples)


def crosswalk() -> str:
    """The Markdown table of every check and the published rules it implements (or why none)."""
    sys.path.insert(0, str(ROOT))
    from daybreak_sdtm.checks import CHECKS

    lines = ["| check | CDISC | CORE | FDA |", "| --- | --- | --- | --- |"]
    for code, item in sorted(CHECKS.items()):
        official = item.implements
        if official.ids:
            cells = (", ".join(official.cdisc), ", ".join(official.core), ", ".join(official.fda))
            lines.append(f"| {code} {item.name} | {' | '.join(cells)} |")
        else:
            lines.append(f"| {code} {item.name} | no published counterpart: {official.none} | | |")
    return "\n".join(lines) + "\n"


def render(cov: Coverage) -> str:
    """The two Markdown tables: by class, then the rules left by reason."""
    lines = [
        "| CORE class | SDTMIG 3.4 rules | outside a 3.4 package | applicable | implemented | left |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, (rules, outside, live, done) in cov.by_class.items():
        lines.append(f"| {name} | {rules} | {outside} | {live} | {done} | {live - done} |")
    rules, outside, live, done = cov.totals
    lines += [f"| **total** | {rules} | {outside} | {live} | {done} | {live - done} |", ""]
    lines += ["| why a rule is left | rules | for example |", "| --- | ---: | --- |"]
    for name, n in cov.left.items():
        lines.append(f"| {name} | {n} | {', '.join(cov.examples[name])} |")
    return "\n".join(lines) + "\n"


def readme_tables(text: str) -> str:
    """What the README holds between the coverage markers."""
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Print the tables, or write them into the README."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=Path, default=RULES, help="CORE's rule list (core-rules-sdtmig.csv)")
    parser.add_argument("--write-readme", action="store_true", help="put the tables between the README's markers")
    args = parser.parse_args(argv)
    tables = f"{crosswalk()}\n{render(coverage(args.rules))}"
    if not args.write_readme:
        sys.stdout.write(tables)
        return 0
    text = README.read_text(encoding="utf-8")
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    README.write_text(f"{before}{BEGIN}\n{tables}{END}{after}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
