"""Derive specs/sdtmig/<version>/class_variables.csv from the SDTMIG's own domain specifications.

Every variable an SDTMIG domain of a general observation class uses is a variable of its SDTM
class: ``AESTDTC`` in AE (Events) is the Events variable ``--STDTC``. Identifier and Timing
variables are shared by all three classes (SDTM v2.0 section 3.1: "Identifiers for All Classes",
"Timing Variables for All General Observation Classes") and are listed once under the class
"General Observations"; Findings About takes the Findings variables plus its own (``--OBJ``).

For each generalised variable: the type (the same in every domain), the role, codelist and
described value domain held by most domains using it (a codelist only where more than half agree),
and the label most domains give it, unless every domain words it for itself ("Start Date/Time of
Adverse Event"): then the generic label below, worded as the SDTM model words it.

The order (SDTMIG 3.4 section 2.6 g: a custom domain orders its variables as its class does) is
identifiers, topic, qualifiers, timing, and within each block the order the IG's domains agree
on: variables are placed one by one, the most used first, each where it contradicts the fewest
orderings of the domains that have it beside those already placed.

Run from the project root:  python tools/derive_class_variables.py [3.4]
"""

from __future__ import annotations

import csv
import sys
from collections import Counter, defaultdict
from pathlib import Path
from statistics import mean

GENERAL = "General Observations"
GO_CLASSES = ("Interventions", "Events", "Findings", "Findings About")
SHARED_ROLES = ("Identifier", "Timing")
BLOCKS = {"Identifier": 0, "Topic": 1, "Timing": 3}  # qualifiers (2) between topic and timing

# Generic labels where the IG's domains each word the label for themselves.
GENERIC_LABELS = {
    (GENERAL, "--STDTC"): "Start Date/Time of Observation",
    (GENERAL, "--ENDTC"): "End Date/Time of Observation",
    (GENERAL, "--STDY"): "Study Day of Start of Observation",
    (GENERAL, "--ENDY"): "Study Day of End of Observation",
    ("Events", "--TERM"): "Reported Term",
    ("Events", "--CAT"): "Category for Event",
    ("Events", "--SCAT"): "Subcategory for Event",
    ("Events", "--LOC"): "Location of Event",
    ("Events", "--OCCUR"): "Occurrence",
    ("Events", "--PRESP"): "Pre-Specified",
    ("Events", "--REASND"): "Reason Not Collected",
    ("Events", "--OUT"): "Outcome of Event",
    ("Events", "--PATT"): "Pattern of Event",
    ("Interventions", "--PRESP"): "Pre-Specified",
    ("Interventions", "--REASND"): "Reason Not Collected",
    ("Interventions", "--CLAS"): "Class",
    ("Interventions", "--CLASCD"): "Class Code",
    ("Interventions", "--DECOD"): "Standardized Treatment Name",
    ("Findings", "--TESTCD"): "Short Name of Measurement, Test or Exam",
    ("Findings", "--TEST"): "Name of Measurement, Test or Examination",
}


def clean(text: str) -> str:
    """The export writes line breaks as a literal backslash-n."""
    return text.replace("\\n", "\n").strip()


def majority(values: list[str]) -> str:
    """The value more than half of the uses agree on, else ""."""
    value, count = Counter(values).most_common(1)[0]
    return value if count * 2 > len(values) else ""


def consensus(names: list[str], sequences: list[list[str]], tie: dict[str, float]) -> list[str]:
    """``names`` in the order the sequences (each one domain's variables) agree on most."""
    index = [{n: i for i, n in enumerate(seq)} for seq in sequences]
    placed: list[str] = []
    for name in names:  # most used first
        seen_in = [ix for ix in index if name in ix]
        best, best_cost = 0, None
        for slot in range(len(placed) + 1):
            cost = 0
            for ix in seen_in:
                here = ix[name]
                cost += sum(1 for other in placed[:slot] if other in ix and ix[other] > here)
                cost += sum(1 for other in placed[slot:] if other in ix and ix[other] < here)
            key = (cost, abs(slot - sum(tie[p] < tie[name] for p in placed)))
            if best_cost is None or key < best_cost:
                best, best_cost = slot, key
        placed.insert(best, name)
    return placed


def derive(ig_dir: Path) -> list[dict[str, str]]:
    rows = list(csv.DictReader((ig_dir / "Variables.csv").open(encoding="utf-8-sig", newline="")))
    per_dataset = Counter(r["Dataset Name"] for r in rows)
    # Names some general-observation domain uses without its prefix (VISITNUM, EPOCH, MIDS) are
    # never prefixed ones, even in a domain whose code they start with (MIDS in MI).
    unprefixed = {
        r["Variable Name"]
        for r in rows
        if r["Class"] in GO_CLASSES and not r["Variable Name"].startswith(r["Dataset Name"])
    }
    uses: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    findings_suffixes = set()
    for r in rows:
        if r["Class"] not in GO_CLASSES:
            continue
        domain, name = r["Dataset Name"], r["Variable Name"]
        generic = name if name in unprefixed else "--" + name[len(domain) :]
        klass = GENERAL if r["Role"] in SHARED_ROLES else r["Class"]
        if klass == "Findings":
            findings_suffixes.add(generic)
        uses[(klass, generic)].append(r)
    # Findings About holds only what Findings lacks; the rest of its variables are Findings ones.
    for (klass, generic), rs in list(uses.items()):
        if klass == "Findings About" and generic in findings_suffixes:
            uses[("Findings", generic)].extend(rs)
            del uses[(klass, generic)]

    out = []
    for (klass, generic), rs in uses.items():
        types = {r["Type"] for r in rs}
        if len(types) != 1:
            raise SystemExit(f"{klass} {generic}: types differ between domains: {sorted(types)}")
        role = Counter(r["Role"] for r in rs).most_common(1)[0][0]
        labels = Counter(clean(r["Variable Label"]) for r in rs)
        label, count = labels.most_common(1)[0]
        generic_label = GENERIC_LABELS.get((klass, generic))
        domains = sorted({r["Dataset Name"] for r in rs})
        position = mean(int(r["Variable Order"]) / per_dataset[r["Dataset Name"]] for r in rs)
        out.append(
            {
                "class": klass,
                "name": generic,
                "label": generic_label or label,
                "type": types.pop(),
                "role": role,
                "codelist": majority([r["CDISC CT Codelist Code(s)"].replace(" ", "") for r in rs]),
                "value_domain": majority([r["Described Value Domain(s)"] for r in rs]),
                "domains": " ".join(domains),
                "label_source": "generic" if generic_label else ("IG" if count == len(rs) else "IG, most domains"),
                "_block": BLOCKS.get(role, 2),
                "_position": position,
                "_uses": len(rs),
            }
        )
    # Each domain's variables in generic form and IG order, for the consensus order.
    generic_of = {(r["Dataset Name"], r["Variable Name"]): g for (k, g), rs in uses.items() for r in rs}
    sequences = [
        [
            generic_of[(d, r["Variable Name"])]
            for r in rows
            if r["Dataset Name"] == d and (d, r["Variable Name"]) in generic_of
        ]
        for d in dict.fromkeys(r["Dataset Name"] for r in rows)
    ]
    ordered: list[dict[str, str]] = []
    for block in sorted({r["_block"] for r in out}):
        members = sorted(
            (r for r in out if r["_block"] == block), key=lambda r: (-r["_uses"], r["_position"], r["name"])
        )
        tie = {r["name"]: r["_position"] for r in members}
        by_name: dict[str, list[dict]] = defaultdict(list)
        for r in members:
            by_name[r["name"]].append(r)
        names = list(dict.fromkeys(r["name"] for r in members))
        for name in consensus(names, [[g for g in seq if g in tie] for seq in sequences], tie):
            ordered.extend(sorted(by_name[name], key=lambda r: r["class"]))
    for i, row in enumerate(ordered, 1):
        for key in ("_block", "_position", "_uses"):
            del row[key]
        row["order"] = str(i)
    return ordered


def main() -> None:
    version = sys.argv[1] if len(sys.argv) > 1 else "3.4"
    ig_dir = Path("specs") / "sdtmig" / version
    rows = derive(ig_dir)
    columns = ["class", "order", "name", "label", "type", "role", "codelist", "value_domain", "domains", "label_source"]
    with (ig_dir / "class_variables.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{ig_dir / 'class_variables.csv'}: {len(rows)} class variables")


if __name__ == "__main__":
    main()
