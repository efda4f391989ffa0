"""The trial design a study declares (``trial_design:`` in study.yaml, or a file it names).

Read here into ``TrialDesignSpec`` with every entry's position, then checked against SDTMIG and
the CT package (``check_trial_design``): trial summary parameters and coded values against their
codelists, element, arm, visit and criterion codes against each other, the rules that date each
subject's elements and visits against the domains the study maps. Nothing study-specific lives
here: another study declares its own design in the same words.

The vocabulary::

    trial_design:
      summary:                    # TS: one entry per value; TSSEQ counts a parameter's values
        - {TSPARMCD: SSTDTC, TSVAL: "2025-10-04", TSVCDREF: ISO 8601}
        - {TSPARMCD: TPHASE, TSVAL: PHASE II TRIAL, TSVCDREF: CDISC CT}   # TSVALCD, TSVCDVER from CT
        - {TSPARMCD: ACTSUB, TSVAL: {count: DM.USUBJID}}                   # computed from the data
      elements:                   # TE, and where each subject's start of the element is read (SE)
        - {ETCD: SCRN, ELEMENT: Screening, TESTRL: ..., TEENRL: ..., TEDUR: P21D, start: DM.RFICDTC}
      arms:                       # TA: each arm's elements in order, with their epochs
        - ARMCD: A
          ARM: ...
          elements: [{ETCD: SCRN, EPOCH: SCREENING}, {ETCD: TRT, EPOCH: TREATMENT, TABRANCH: ...}]
      visits:                     # TV; ``repeat`` makes a numbered series (C1..C6)
        - {VISITNUM: 1, VISIT: SCREENING, TVSTRL: ...}
        - {VISIT: "C{n}", repeat: {from: 1, to: 6}, VISITNUM: {start: 10, step: 10}, TVSTRL: "Day 1 of cycle {n}"}
      criteria:                   # TI
        - {IETESTCD: IN01, IECAT: INCLUSION, IETEST: ...}
      subject_visits:             # SV: the records that date each subject's visits
        - {from: EX.EXSTDTC}                       # EX records with their VISITNUM/VISIT
        - {VISIT: SCREENING, date: DM.RFICDTC}     # a visit no mapped domain records
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ruamel.yaml.comments import CommentedMap

from daybreak_sdtm.errors import Location, SpecError
from daybreak_sdtm.spec.model import (
    ArmElementSpec,
    ArmSpec,
    CriterionSpec,
    ElementSpec,
    SummaryParameterSpec,
    SummaryValue,
    TrialDesignSpec,
    VisitSourceSpec,
    VisitSpec,
)

if TYPE_CHECKING:
    from daybreak_sdtm.spec.load import _Reader
    from daybreak_sdtm.spec.model import StudySpec
    from daybreak_sdtm.standards import Codelist, Standards

SECTIONS = ("summary", "elements", "arms", "visits", "criteria", "subject_visits")
SUMMARY_KEYS = ("TSPARMCD", "TSPARM", "TSVAL", "TSGRPID", "TSVALNF", "TSVALCD", "TSVCDREF", "TSVCDVER", "codelist")
ELEMENT_KEYS = ("ETCD", "ELEMENT", "TESTRL", "TEENRL", "TEDUR", "start")
ARM_KEYS = ("ARMCD", "ARM", "description", "elements")
ARM_ELEMENT_KEYS = ("ETCD", "EPOCH", "TABRANCH", "TATRANS")
VISIT_KEYS = ("VISITNUM", "VISIT", "VISITDY", "ARMCD", "TVSTRL", "TVENRL", "repeat", "window")
CRITERION_KEYS = ("IETESTCD", "IETEST", "IECAT", "IESCAT", "TIRL", "TIVERS")
VISIT_SOURCE_KEYS = ("from", "end", "VISIT", "date")
REPEAT_KEYS = ("from", "to", "by")  # a repeated visit's numbers n
SERIES_KEYS = ("start", "step")  # a repeated visit's VISITNUM or VISITDY
COMPUTED = ("count", "first", "last")

# The datasets a trial design makes: study-level ones from the declaration, subject-level ones
# (SE, SV) from the data.
DESIGN_DATASETS = ("TS", "TA", "TE", "TV", "TI")
SUBJECT_DESIGN_DATASETS = ("SE", "SV")

# SDTMIG 3.4 Appendix C1 (Trial Summary codes): the CDISC codelist of each coded parameter's value.
TS_CODELISTS = {
    "ADAPT": "C66742",
    "ADDON": "C66742",
    "DMCIND": "C66742",
    "EXTTIND": "C66742",
    "FDADRIND": "C66742",
    "HLTSUBJI": "C66742",
    "ONGOSIND": "C66742",
    "PDSTIND": "C66742",
    "PDPSTIND": "C66742",
    "RANDOM": "C66742",
    "RDIND": "C66742",
    "SSTDYIND": "C66742",
    "FDADEIND": "C66742",
    "PIPIND": "C66742",
    "EPDISIND": "C66742",
    "TPHASE": "C66737",
    "STYPE": "C99077",
    "INTMODEL": "C99076",
    "INTTYPE": "C99078",
    "TBLIND": "C66735",
    "SEXPOP": "C66732",
    "TCNTRL": "C66785",
    "TTYPE": "C66739",
    "TINDTP": "C66736",
    "DOSU": "C71620",
    "DOSFRQ": "C71113",
    "ROUTE": "C66729",
    "DOSFRM": "C66726",
    "OBSMODEL": "C127259",
    "OBSTIMP": "C127261",
    "SETTING": "C127262",
}
CDISC_CT = "CDISC CT"  # TSVCDREF of a value from the CDISC CT package (DICTNAM C66788)
ISO_8601 = "ISO 8601"  # TSVCDREF of a date or a duration (SDTMIG 3.4 TS assumptions)
ISO_3166 = "ISO 3166"
# References SDTMIG 3.4's TS examples use beside DICTNAM's terms: ISO 8601 for dates and durations,
# the trial registries for REGID.
OTHER_REFERENCES = (ISO_8601, "ClinicalTrials.gov", "EudraCT")
# ISO 21090 null flavors TSVALNF may hold (SDTMIG 3.4 TS assumptions).
NULL_FLAVORS = (
    "NI",
    "INV",
    "DER",
    "OTH",
    "PINF",
    "NINF",
    "UNC",
    "MSK",
    "NA",
    "UNK",
    "ASKU",
    "NAV",
    "NASK",
    "QS",
    "TRC",
    "NP",
)
_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_ETCD = re.compile(r"^[A-Za-z0-9_-]+$")
MAX_TEXT = 200


def load_trial_design(
    reader: _Reader, node: Any, where: Location, folder: Path
) -> tuple[TrialDesignSpec, tuple[ArmSpec, ...]]:
    """The ``trial_design:`` section (a mapping, or the name of a YAML file in the study folder) and its arms."""
    from daybreak_sdtm.spec.load import _Reader, load_yaml

    file = None
    if isinstance(node, str):
        path = (folder / node).resolve()
        if folder.resolve() not in path.parents:
            reader.error(where, "trial_design", f"{node!r} is outside the study folder")
            return TrialDesignSpec(where), ()
        file = folder / node
        try:
            tree = load_yaml(file)
        except SpecError as exc:
            reader.errors.append(exc)
            return TrialDesignSpec(where), ()
        inner = _Reader(file)
        top = inner.mapping(tree, Location(file.as_posix(), 1, 1), "trial_design")
        design, arms = (
            _design(inner, top, Location(file.as_posix(), 1, 1), file)
            if top is not None
            else (TrialDesignSpec(where), ())
        )
        reader.errors.extend(inner.errors)
        return design, arms
    top = reader.mapping(node, where, "trial_design")
    if top is None:
        return TrialDesignSpec(where), ()
    return _design(reader, top, where, None)


def _design(
    reader: _Reader, top: CommentedMap, where: Location, file: Path | None
) -> tuple[TrialDesignSpec, tuple[ArmSpec, ...]]:
    reader.unknown_keys(top, SECTIONS, "trial_design")
    summary = tuple(
        p
        for i, item in enumerate(reader.sequence(top, "summary", "trial_design.summary"))
        if (p := _summary(reader, item, reader.at(top["summary"], i))) is not None
    )
    elements = tuple(
        e
        for i, item in enumerate(reader.sequence(top, "elements", "trial_design.elements"))
        if (e := _element(reader, item, reader.at(top["elements"], i))) is not None
    )
    arms = tuple(
        a
        for i, item in enumerate(reader.sequence(top, "arms", "trial_design.arms"))
        if (a := _arm(reader, item, reader.at(top["arms"], i))) is not None
    )
    visits: list[VisitSpec] = []
    for i, item in enumerate(reader.sequence(top, "visits", "trial_design.visits")):
        visits.extend(_visits(reader, item, reader.at(top["visits"], i)))
    criteria = tuple(
        c
        for i, item in enumerate(reader.sequence(top, "criteria", "trial_design.criteria"))
        if (c := _criterion(reader, item, reader.at(top["criteria"], i))) is not None
    )
    sources = tuple(
        s
        for i, item in enumerate(reader.sequence(top, "subject_visits", "trial_design.subject_visits"))
        if (s := _visit_source(reader, item, reader.at(top["subject_visits"], i))) is not None
    )
    design = TrialDesignSpec(
        where=reader.at(top) if file is None else where,
        summary=summary,
        elements=elements,
        visits=tuple(visits),
        criteria=criteria,
        subject_visits=sources,
        file=file,
    )
    return design, arms


def _entry(reader: _Reader, item: Any, where: Location, what: str, keys: tuple[str, ...]) -> CommentedMap | None:
    entry = reader.mapping(item, where, what)
    if entry is not None:
        reader.unknown_keys(entry, keys, what)
    return entry


def _text(reader: _Reader, entry: CommentedMap, key: str, what: str, *, required: bool = False) -> str:
    return " ".join(reader.text(entry, key, what, required=required).split())


def _summary(reader: _Reader, item: Any, where: Location) -> SummaryParameterSpec | None:
    from daybreak_sdtm.spec.load import plain

    what = "trial_design.summary"
    entry = _entry(reader, item, where, what, SUMMARY_KEYS)
    if entry is None:
        return None
    code = _text(reader, entry, "TSPARMCD", what, required=True)
    computed = None
    tsval = ""
    value = entry.get("TSVAL")
    if isinstance(value, CommentedMap):
        hows = [k for k in COMPUTED if k in value]
        reader.unknown_keys(value, COMPUTED, f"{what}.TSVAL")
        if len(hows) != 1:
            reader.error(
                reader.at(entry, "TSVAL"),
                f"{what}.TSVAL",
                "give a value, or exactly one of " + ", ".join(f"{k}: DOMAIN.VARIABLE" for k in COMPUTED),
            )
        else:
            computed = SummaryValue(hows[0], str(plain(value[hows[0]])), reader.at(value, hows[0], value=True))
    elif value is not None:
        tsval = " ".join(str(plain(value)).split())
    return SummaryParameterSpec(
        tsparmcd=code,
        tsval=tsval,
        where=reader.at(entry),
        tsparm=_text(reader, entry, "TSPARM", what),
        tsgrpid=_text(reader, entry, "TSGRPID", what),
        tsvalnf=_text(reader, entry, "TSVALNF", what),
        tsvalcd=_text(reader, entry, "TSVALCD", what),
        tsvcdref=_text(reader, entry, "TSVCDREF", what),
        tsvcdver=_text(reader, entry, "TSVCDVER", what),
        codelist=_text(reader, entry, "codelist", what),
        computed=computed,
    )


def _element(reader: _Reader, item: Any, where: Location) -> ElementSpec | None:
    from daybreak_sdtm.spec.load import _epoch_start

    what = "trial_design.elements"
    entry = _entry(reader, item, where, what, ELEMENT_KEYS)
    if entry is None:
        return None
    start = None
    if "start" in entry:
        start = _epoch_start(reader, entry["start"], reader.at(entry, "start", value=True))
    return ElementSpec(
        etcd=_text(reader, entry, "ETCD", what, required=True),
        element=_text(reader, entry, "ELEMENT", what, required=True),
        testrl=_text(reader, entry, "TESTRL", what, required=True),
        teenrl=_text(reader, entry, "TEENRL", what),
        tedur=_text(reader, entry, "TEDUR", what),
        start=start,
        where=reader.at(entry),
    )


def _arm(reader: _Reader, item: Any, where: Location) -> ArmSpec | None:
    what = "trial_design.arms"
    entry = _entry(reader, item, where, what, ARM_KEYS)
    if entry is None:
        return None
    elements = []
    for i, node in enumerate(reader.sequence(entry, "elements", f"{what}.elements")):
        element = _entry(reader, node, reader.at(entry["elements"], i), f"{what}.elements", ARM_ELEMENT_KEYS)
        if element is not None:
            elements.append(
                ArmElementSpec(
                    etcd=_text(reader, element, "ETCD", f"{what}.elements", required=True),
                    epoch=_text(reader, element, "EPOCH", f"{what}.elements", required=True),
                    where=reader.at(element),
                    branch=_text(reader, element, "TABRANCH", f"{what}.elements"),
                    transition=_text(reader, element, "TATRANS", f"{what}.elements"),
                )
            )
    if "elements" not in entry:
        reader.error(reader.at(entry), what, "missing required key 'elements' (the arm's elements in order)")
    return ArmSpec(
        _text(reader, entry, "ARMCD", what, required=True),
        _text(reader, entry, "ARM", what, required=True),
        _text(reader, entry, "description", what),
        reader.at(entry),
        tuple(elements),
    )


def _number(reader: _Reader, entry: CommentedMap, key: str, what: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        reader.error(reader.at(entry, key, value=True), f"{what}.{key}", f"expected a number, found {value!r}")
        return None
    return float(value)


def _series(reader: _Reader, entry: CommentedMap, key: str, what: str, count: int) -> list[float | None] | None:
    """A repeated visit's number or planned day: a number for the first, ``{start, step}`` for the series."""
    value = entry.get(key)
    if value is None:
        return [None] * count
    if isinstance(value, CommentedMap):
        reader.unknown_keys(value, SERIES_KEYS, f"{what}.{key}")
        start, step = _number(reader, value, "start", f"{what}.{key}"), _number(reader, value, "step", f"{what}.{key}")
        if start is None or step is None:
            reader.error(
                reader.at(entry, key, value=True), f"{what}.{key}", "a repeated visit gives {start: N, step: M}"
            )
            return None
        return [start + step * i for i in range(count)]
    reader.error(
        reader.at(entry, key, value=True),
        f"{what}.{key}",
        "a repeated visit numbers its visits with {start: N, step: M}",
    )
    return None


def _visits(reader: _Reader, item: Any, where: Location) -> list[VisitSpec]:
    what = "trial_design.visits"
    entry = _entry(reader, item, where, what, VISIT_KEYS)
    if entry is None:
        return []
    name = _text(reader, entry, "VISIT", what, required=True)
    start_rule = _text(reader, entry, "TVSTRL", what, required=True)
    end_rule, armcd = _text(reader, entry, "TVENRL", what), _text(reader, entry, "ARMCD", what)
    loc = reader.at(entry)
    window = _window(reader, entry, what)
    if "repeat" not in entry:
        visitnum = _number(reader, entry, "VISITNUM", what)
        if visitnum is None and "VISITNUM" not in entry:
            reader.error(loc, what, "missing required key 'VISITNUM'")
        return [
            VisitSpec(
                visitnum if visitnum is not None else 0.0,
                name,
                start_rule,
                loc,
                _number(reader, entry, "VISITDY", what),
                armcd,
                end_rule,
                window,
            )
        ]
    repeat = reader.mapping(entry["repeat"], reader.at(entry, "repeat", value=True), f"{what}.repeat")
    if repeat is None:
        return []
    reader.unknown_keys(repeat, REPEAT_KEYS, f"{what}.repeat")
    first, last = _number(reader, repeat, "from", f"{what}.repeat"), _number(reader, repeat, "to", f"{what}.repeat")
    by = _number(reader, repeat, "by", f"{what}.repeat") or 1.0
    if first is None or last is None or by <= 0 or last < first or any(v != int(v) for v in (first, last, by)):
        reader.error(reader.at(entry, "repeat"), f"{what}.repeat", "give whole numbers from: A to: B (by: C), A <= B")
        return []
    ns = list(range(int(first), int(last) + 1, int(by)))
    if "{n}" not in name:
        reader.error(reader.at(entry, "VISIT", value=True), f"{what}.VISIT", "a repeated visit's name holds {n}")
        return []
    numbers = _series(reader, entry, "VISITNUM", what, len(ns))
    days = _series(reader, entry, "VISITDY", what, len(ns))
    if numbers is None or days is None:
        return []
    if "VISITNUM" not in entry:
        reader.error(loc, what, "missing required key 'VISITNUM'")
        return []
    return [
        VisitSpec(
            float(num or 0.0),
            name.replace("{n}", str(n)),
            start_rule.replace("{n}", str(n)),
            loc,
            day,
            armcd,
            end_rule.replace("{n}", str(n)),
            window,
        )
        for n, num, day in zip(ns, numbers, days, strict=False)
    ]


def _window(reader: _Reader, entry: CommentedMap, what: str) -> tuple[float, float] | None:
    """``window: [BEFORE, AFTER]``: days relative to VISITDY (e.g. [-3, 3]), BEFORE <= 0 <= AFTER."""
    if "window" not in entry:
        return None
    where = reader.at(entry, "window", value=True)
    value = entry["window"]
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        reader.error(where, f"{what}.window", "give [BEFORE, AFTER] in days around VISITDY, e.g. [-3, 3]")
        return None
    if not low <= 0 <= high:
        reader.error(where, f"{what}.window", f"[{low:g}, {high:g}] does not hold VISITDY: give BEFORE <= 0 <= AFTER")
        return None
    if "VISITDY" not in entry:
        reader.error(where, f"{what}.window", "a window is around VISITDY: give VISITDY too")
        return None
    return (low, high)


def _criterion(reader: _Reader, item: Any, where: Location) -> CriterionSpec | None:
    what = "trial_design.criteria"
    entry = _entry(reader, item, where, what, CRITERION_KEYS)
    if entry is None:
        return None
    return CriterionSpec(
        ietestcd=_text(reader, entry, "IETESTCD", what, required=True),
        ietest=_text(reader, entry, "IETEST", what, required=True),
        iecat=_text(reader, entry, "IECAT", what, required=True),
        where=reader.at(entry),
        iescat=_text(reader, entry, "IESCAT", what),
        tirl=_text(reader, entry, "TIRL", what),
        tivers=_text(reader, entry, "TIVERS", what),
    )


def _visit_source(reader: _Reader, item: Any, where: Location) -> VisitSourceSpec | None:
    what = "trial_design.subject_visits"
    entry = _entry(reader, item, where, what, VISIT_SOURCE_KEYS)
    if entry is None:
        return None
    if ("from" in entry) == ("VISIT" in entry):
        reader.error(
            reader.at(entry),
            what,
            "give either from: DOMAIN.DATE (records with VISITNUM/VISIT) or VISIT: name with date: DOMAIN.VARIABLE",
        )
        return None
    if "from" in entry:
        return VisitSourceSpec(
            _text(reader, entry, "from", what),
            reader.at(entry, "from", value=True),
            end=_text(reader, entry, "end", what),
        )
    if "end" in entry:
        reader.error(reader.at(entry, "end"), what, "end: goes with from:, a domain's records")
    return VisitSourceSpec(
        _text(reader, entry, "date", what, required=True),
        reader.at(entry, "VISIT", value=True),
        visit=_text(reader, entry, "VISIT", what),
    )


# ---- checks against the standards and the domains ---------------------------------------------


def summary_codelist(param: SummaryParameterSpec, standards: Standards) -> Codelist | None:
    """The CDISC codelist of a coded TS value: the one the entry names, else SDTMIG's for the parameter."""
    code = param.codelist or TS_CODELISTS.get(param.tsparmcd, "")
    return standards.codelist(code) if code else None


def tsparm_of(code: str, standards: Standards) -> str:
    """TSPARM for a TSPARMCD: the C67152 term with the C66738 term's NCI code ("" when unknown)."""
    codes, names = standards.codelist("C66738"), standards.codelist("C67152")
    term = codes.term(code) if codes is not None else None
    if term is None or names is None:
        return ""
    return next((t.submission_value for t in names.terms if t.code == term.code), "")


def _mapped(study: StudySpec, ref: str) -> bool:
    dom_name, dot, var = ref.partition(".")
    dom = study.domain(dom_name)
    return bool(dot) and dom is not None and dom.variable(var) is not None


def check_trial_design(study: StudySpec, standards: Standards) -> list[SpecError]:
    """Every problem of a study's trial design, each at its spec line."""
    from daybreak_sdtm.date_formats import DATETIME_RE, DURATION_RE
    from daybreak_sdtm.errors import suggest

    design = study.trial_design
    errors: list[SpecError] = []
    if design is None:
        return errors

    def err(where: Location, key: str, problem: str, hint: str = "") -> None:
        errors.append(SpecError(where, key, problem, hint))

    codes, names = standards.codelist("C66738"), standards.codelist("C67152")
    dictnam = standards.codelist("C66788")
    for p in design.summary:
        key = f"TS {p.tsparmcd}"
        term = codes.term(p.tsparmcd) if codes is not None else None
        if term is None:
            err(
                p.where,
                key,
                f"TSPARMCD {p.tsparmcd!r} is not a term of TSPARMCD (C66738) in CT {standards.ct_version}",
                suggest(p.tsparmcd, sorted(codes.submission_values)) if codes is not None else "",
            )
            continue
        expected = tsparm_of(p.tsparmcd, standards)
        if p.tsparm and p.tsparm != expected:
            err(
                p.where,
                f"{key}.TSPARM",
                f"TSPARM {p.tsparm!r} is not the name of {p.tsparmcd} in TSPARM (C67152): {expected!r}",
            )
        if names is not None and not expected:
            err(p.where, key, f"TSPARM (C67152) has no term for {p.tsparmcd} ({term.code})")
        if p.computed is not None:
            if not _mapped(study, p.computed.variable):
                err(p.computed.where, f"{key}.TSVAL", f"{p.computed.variable!r} is not a mapped DOMAIN.VARIABLE")
            continue
        if not p.tsval and not p.tsvalnf:
            err(p.where, key, "give TSVAL, or TSVALNF (a null flavor) when there is no value")
        if p.tsval and p.tsvalnf:
            err(p.where, key, "TSVALNF is for a parameter without TSVAL; give one of them")
        if p.tsvalnf and p.tsvalnf not in NULL_FLAVORS:
            err(
                p.where,
                f"{key}.TSVALNF",
                f"{p.tsvalnf!r} is not an ISO 21090 null flavor",
                suggest(p.tsvalnf, NULL_FLAVORS),
            )
        if len(p.tsval) > MAX_TEXT:
            err(
                p.where, f"{key}.TSVAL", f"TSVAL holds {len(p.tsval)} characters; XPT v5 values hold at most {MAX_TEXT}"
            )
        if not (p.tsval + p.tsvalcd + p.tsgrpid + p.tsvcdver).isascii():
            err(p.where, key, "not ASCII text, which XPT v5 cannot hold")
        if p.tsvalcd and not p.tsvcdref:
            err(p.where, f"{key}.TSVALCD", "a TSVALCD needs TSVCDREF, the terminology it comes from")
        if not p.tsvcdref:
            continue
        if p.tsvcdref not in OTHER_REFERENCES and dictnam is not None and p.tsvcdref not in dictnam.submission_values:
            err(
                p.where,
                f"{key}.TSVCDREF",
                f"{p.tsvcdref!r} is not a term of DICTNAM (C66788) nor one of {', '.join(OTHER_REFERENCES)}",
                suggest(p.tsvcdref, sorted(dictnam.submission_values | set(OTHER_REFERENCES))),
            )
        if p.tsvcdref == CDISC_CT:
            codelist = summary_codelist(p, standards)
            if codelist is None:
                err(p.where, key, f"no CDISC codelist is known for {p.tsparmcd} values; name it with codelist: C-code")
                continue
            ct_term = codelist.term(p.tsval)
            if ct_term is None:
                err(
                    p.where,
                    f"{key}.TSVAL",
                    f"{p.tsval!r} is not a term of {codelist.submission_value} ({codelist.code})",
                    suggest(p.tsval, sorted(codelist.submission_values)),
                )
            elif p.tsvalcd and p.tsvalcd != ct_term.code:
                err(
                    p.where,
                    f"{key}.TSVALCD",
                    f"the NCI code of {p.tsval!r} in {codelist.submission_value} is {ct_term.code}, not {p.tsvalcd}",
                )
            if p.tsvcdver and p.tsvcdver != standards.ct_version:
                err(
                    p.where,
                    f"{key}.TSVCDVER",
                    f"the values are checked against CT {standards.ct_version}, "
                    f"not {p.tsvcdver}; leave TSVCDVER out to take the study's CT version",
                )
        elif p.tsvcdref == ISO_8601:
            pattern = DURATION_RE if p.tsval.startswith(("P", "-P")) else DATETIME_RE
            if not re.match(pattern, p.tsval):
                err(p.where, f"{key}.TSVAL", f"{p.tsval!r} is not an ISO 8601 date or duration")
            if p.tsvalcd:
                err(p.where, f"{key}.TSVALCD", "an ISO 8601 value has no code (TSVALCD stays blank)")
        elif p.tsvcdref == ISO_3166:
            country = standards.codelist("ISO3166")
            if country is not None and country.terms and p.tsval not in country.submission_values:
                err(p.where, f"{key}.TSVAL", f"{p.tsval!r} is not an ISO 3166-1 alpha-3 country code")
        elif not p.tsvalcd:
            err(p.where, f"{key}.TSVALCD", f"a value coded in {p.tsvcdref} needs its code in TSVALCD")
    seen_params: dict[tuple[str, str, str], Location] = {}
    for p in design.summary:
        key3 = (p.tsparmcd, p.tsgrpid, p.tsval)
        if p.tsval and key3 in seen_params:
            err(p.where, f"TS {p.tsparmcd}", f"value {p.tsval!r} is given twice (first at {seen_params[key3]})")
        seen_params.setdefault(key3, p.where)

    elements: dict[str, ElementSpec] = {}
    for e in design.elements:
        if not _ETCD.match(e.etcd) or len(e.etcd) > 8:
            err(e.where, "ETCD", f"{e.etcd!r}: ETCD holds 1 to 8 letters, digits, - or _")
        if e.etcd in elements:
            err(e.where, "ETCD", f"element {e.etcd} is declared twice")
        elements[e.etcd] = e
        for key, text in (("ELEMENT", e.element), ("TESTRL", e.testrl), ("TEENRL", e.teenrl)):
            if len(text) > MAX_TEXT or not text.isascii():
                err(e.where, key, f"{key} must be ASCII text of at most {MAX_TEXT} characters")
        if e.tedur and not re.match(DURATION_RE, e.tedur):
            err(e.where, "TEDUR", f"{e.tedur!r} is not an ISO 8601 duration (e.g. P21D)")
        if e.start is not None:
            if not _mapped(study, e.start.variable):
                err(e.start.where, f"{e.etcd}.start", f"{e.start.variable!r} is not a mapped DOMAIN.VARIABLE")
            dom = study.domain(e.start.variable.partition(".")[0])
            for filtered in e.start.filters:
                if dom is not None and dom.variable(filtered) is None:
                    err(e.start.where, f"{e.etcd}.start.where", f"{filtered} is not mapped in {dom.name}")
    if design.elements:
        dm = study.domain("DM")
        for need in ("USUBJID", "ACTARMCD"):
            if dm is None or dm.variable(need) is None:
                err(
                    design.where,
                    "elements",
                    f"subject elements (SE) follow each subject's DM.{need}, which is not mapped",
                )
        if not any(e.start is not None for e in design.elements):
            err(
                design.where,
                "elements",
                "no element says where its start is read (start:), so no subject has elements (SE)",
            )
    if study.arms and design.elements:
        for arm in study.arms:
            if not arm.elements:
                err(arm.where, arm.armcd, "the arm lists no elements")
            for ae in arm.elements:
                if ae.etcd not in elements:
                    err(
                        ae.where,
                        "ETCD",
                        f"element {ae.etcd!r} is not declared under trial_design: elements",
                        suggest(ae.etcd, list(elements)),
                    )
                if not ae.epoch or len(ae.epoch) > MAX_TEXT:
                    err(ae.where, "EPOCH", "give the element's EPOCH")
            if len({ae.etcd for ae in arm.elements}) != len(arm.elements):
                err(arm.where, arm.armcd, "an element appears twice in the arm; declare a second element for a repeat")
        epochs_of: dict[str, set[str]] = {}
        for arm in study.arms:
            for ae in arm.elements:
                epochs_of.setdefault(ae.etcd, set()).add(ae.epoch)
        for etcd, epochs in epochs_of.items():
            if len(epochs) > 1:
                err(
                    elements[etcd].where if etcd in elements else design.where,
                    etcd,
                    f"element {etcd} is in epochs {', '.join(sorted(epochs))}; an element belongs to one epoch",
                )
    elif design.elements and not study.arms:
        err(design.where, "arms", "declare the arms (trial_design: arms:) with their elements")

    arm_codes = {a.armcd for a in study.arms}
    numbers: dict[float, Location] = {}
    visit_names: dict[str, Location] = {}
    for v in design.visits:
        if v.visitnum in numbers:
            err(v.where, "VISITNUM", f"VISITNUM {v.visitnum:g} is given twice (first at {numbers[v.visitnum]})")
        numbers.setdefault(v.visitnum, v.where)
        if v.visit in visit_names:
            err(v.where, "VISIT", f"visit {v.visit!r} is given twice (first at {visit_names[v.visit]})")
        visit_names.setdefault(v.visit, v.where)
        if v.armcd and v.armcd not in arm_codes:
            err(v.where, "ARMCD", f"{v.armcd!r} is not one of the arms", suggest(v.armcd, sorted(arm_codes)))
        if len(v.visit) > MAX_TEXT or not (v.visit + v.tvstrl + v.tvenrl).isascii():
            err(v.where, "VISIT", f"VISIT, TVSTRL and TVENRL must be ASCII text of at most {MAX_TEXT} characters")
    windows = sorted(
        ((v.visitdy + v.window[0], v.visitdy + v.window[1], v) for v in design.visits if v.window and v.visitdy),
        key=lambda w: (w[0], w[1]),
    )
    for (_, end, first), (start, _, second) in pairwise(windows):
        if start <= end and (not first.armcd or not second.armcd or first.armcd == second.armcd):
            err(second.where, "window", f"the window of {second.visit!r} overlaps {first.visit!r}'s ({first.where})")

    iecat = standards.codelist("C66797")
    testcds: dict[str, Location] = {}
    for c in design.criteria:
        if not _CODE.match(c.ietestcd) or len(c.ietestcd) > 8:
            err(
                c.where,
                "IETESTCD",
                f"{c.ietestcd!r}: IETESTCD holds 1 to 8 upper-case letters, digits or _, starting with a letter",
            )
        if c.ietestcd in testcds:
            err(c.where, "IETESTCD", f"criterion {c.ietestcd} is given twice (first at {testcds[c.ietestcd]})")
        testcds.setdefault(c.ietestcd, c.where)
        if iecat is not None and c.iecat not in iecat.submission_values:
            err(
                c.where,
                "IECAT",
                f"{c.iecat!r} is not a term of IECAT (C66797)",
                suggest(c.iecat, sorted(iecat.submission_values)),
            )
        if len(c.ietest) > MAX_TEXT or not (c.ietest + c.tirl).isascii():
            err(
                c.where, "IETEST", f"IETEST must be ASCII text of at most {MAX_TEXT} characters (the rest goes to TIRL)"
            )

    for s in design.subject_visits:
        if not _mapped(study, s.variable):
            err(s.where, "subject_visits", f"{s.variable!r} is not a mapped DOMAIN.VARIABLE")
            continue
        dom = study.domain(s.variable.partition(".")[0])
        if s.visit:
            if design.visit(s.visit) is None:
                err(
                    s.where,
                    "subject_visits",
                    f"visit {s.visit!r} is not among trial_design: visits",
                    suggest(s.visit, list(visit_names)),
                )
            continue
        assert dom is not None
        for need in ("USUBJID", "VISITNUM", "VISIT"):
            if dom.variable(need) is None:
                err(s.where, "subject_visits", f"{dom.name} does not map {need}, which dates visits by its records")
        if s.end and (not _mapped(study, s.end) or s.end.partition(".")[0] != dom.name):
            err(s.where, "subject_visits.end", f"{s.end!r} is not a mapped variable of {dom.name}")
    if design.subject_visits and not design.visits:
        err(design.where, "visits", "subject visits (SV) need the planned visits (trial_design: visits:)")
    return errors
